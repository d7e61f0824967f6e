"""The summaries' trend chart: open risks by threat level per day, as a PNG.

Drawn with matplotlib's object API on the Agg canvas (no pyplot: no global figure state,
no display, safe in a worker thread). Levels are stacked areas in the colours of the
cards' symbols: high red, medium orange, low yellow.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from scanbot.domain.summaries import DailyCount

WINDOW_DAYS = 56  # 8 weeks
MIN_DAYS = 2  # a trend needs two points
LEVEL_COLOURS: dict[str, str] = {"HIGH": "#d93025", "MEDIUM": "#f28b00", "LOW": "#f6c026"}
SIZE_INCHES = (8.0, 3.6)
DPI = 100  # 800 x 360 pixels: sharp in Slack's preview, a few tens of kB


def window_start(today: date) -> date:
    """The first day the chart shows (inclusive)."""
    return today - timedelta(days=WINDOW_DAYS - 1)


def enough_history(history: Sequence[DailyCount]) -> bool:
    return len(history) >= MIN_DAYS


def draw_trend(history: Sequence[DailyCount]) -> bytes:
    """A PNG of `history` (one count a day, oldest first; days missing are drawn straight
    across). ValueError with fewer than MIN_DAYS counts."""
    if not enough_history(history):
        raise ValueError(f"a trend needs {MIN_DAYS} days of counts, not {len(history)}")
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    first = history[0].day
    days = [(count.day - first).days for count in history]  # x: days since the first
    levels = ("HIGH", "MEDIUM", "LOW")
    series = [[count.level(level) for count in history] for level in levels]
    axes.stackplot(
        days,
        *series,
        labels=[level.title() for level in levels],
        colors=[LEVEL_COLOURS[level] for level in levels],
        alpha=0.9,
    )
    axes.set_title("Open risks by threat level", loc="left", fontsize=11)
    axes.set_xlim(days[0], days[-1])
    axes.set_ylim(bottom=0)
    step = 1 if days[-1] <= 14 else 7
    ticks = list(range(0, days[-1] + 1, step))
    axes.set_xticks(ticks, [f"{first + timedelta(days=t):%d %b}" for t in ticks], fontsize=8)
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    handles, labels = axes.get_legend_handles_labels()
    axes.legend(
        handles[::-1], labels[::-1], loc="lower right", bbox_to_anchor=(1, 1), ncols=3,
        frameon=False, fontsize=9,
    )  # fmt: skip
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
