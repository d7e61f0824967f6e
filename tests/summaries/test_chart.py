"""The trend chart checked as an image: a PNG of the size set, not blank, each level's
colour present, and too little history refused."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import pytest
from matplotlib import colors
from matplotlib import image as mpimg

from scanbot.domain.summaries import DailyCount
from scanbot.summaries.chart import DPI, LEVEL_COLOURS, SIZE_INCHES, draw_trend, enough_history

TODAY = date(2026, 11, 30)


def history(days: int) -> list[DailyCount]:
    return [
        DailyCount(day=TODAY - timedelta(days=days - 1 - n), high=20 + n, medium=60 - n, low=90)
        for n in range(days)
    ]


def pixels(png: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(png), format="png")


def has_colour(image: np.ndarray, hex_colour: str, alpha: float = 0.9) -> int:
    """Pixels within a small distance of `hex_colour` drawn at `alpha` over white."""
    rgb = np.array(colors.to_rgb(hex_colour)) * alpha + (1 - alpha)
    distance = np.abs(image[:, :, :3] - rgb).max(axis=2)
    return int((distance < 0.03).sum())


def test_eight_weeks_draw_every_level() -> None:
    png = draw_trend(history(56))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = pixels(png)
    assert image.shape[:2] == (SIZE_INCHES[1] * DPI, SIZE_INCHES[0] * DPI)
    assert image[:, :, :3].std() > 0.05  # not blank
    for level, colour in LEVEL_COLOURS.items():
        assert has_colour(image, colour) > 2_000, f"{level} is not drawn"


def test_a_level_with_nothing_open_is_not_drawn() -> None:
    quiet = [d.model_copy(update={"low": 0}) for d in history(10)]
    image = pixels(draw_trend(quiet))
    assert has_colour(image, LEVEL_COLOURS["HIGH"]) > 2_000
    assert has_colour(image, LEVEL_COLOURS["LOW"]) < 300  # the legend's swatch only


def test_too_little_history_is_refused() -> None:
    assert not enough_history(history(1))
    assert enough_history(history(2))
    with pytest.raises(ValueError, match="2 days"):
        draw_trend(history(1))
    assert pixels(draw_trend(history(2))).shape[0] == SIZE_INCHES[1] * DPI
