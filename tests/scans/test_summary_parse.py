"""`/scans summary …` and the quiet hours of `/scans subscribe`: every word and refusal."""

from __future__ import annotations

from datetime import time

import pytest

from scanbot.scans.parse import (
    OFF_REASON,
    QUIET_MISSING_REASON,
    QUIET_REASON,
    SUMMARY_REASON,
    TIME_REASON,
    TWO_QUIET_REASON,
    TWO_SEVERITIES_REASON,
    TWO_ZONES_REASON,
    WEEKDAY_REASON,
    ZONE_REASON,
    QuietHours,
    ScheduleSummary,
    StopSummary,
    Subscribe,
    SubscribeUsage,
    parse_clock,
    parse_quiet,
    parse_scans_command,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("summary daily 09:00", ScheduleSummary("daily", time(9, 0))),
        ("SUMMARY Daily 9:05", ScheduleSummary("daily", time(9, 5))),
        ("summary daily 17.30", ScheduleSummary("daily", time(17, 30))),
        ("summary weekly mon 09:00", ScheduleSummary("weekly", time(9, 0), weekday=0)),
        ("summary weekly Sunday 23:59", ScheduleSummary("weekly", time(23, 59), weekday=6)),
        (
            "summary weekly fri 08:00 severity:high openvas target:shop tz:Europe/Berlin",
            ScheduleSummary(
                "weekly",
                time(8, 0),
                weekday=4,
                types=("OPENVAS",),
                target_contains="shop",
                min_severity="HIGH",
                tz="Europe/Berlin",
            ),
        ),
        ("summary daily 00:00 tz:UTC", ScheduleSummary("daily", time(0, 0), tz="UTC")),
        ("summary off", StopSummary()),
        ("summary OFF", StopSummary()),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_summary_words(text: str, expected: object) -> None:
    assert parse_scans_command(text) == expected


@pytest.mark.parametrize(
    ("text", "unknown", "suggestion", "reason"),
    [
        ("summary", None, None, SUMMARY_REASON),
        ("summary help", None, None, SUMMARY_REASON),
        ("summary dayly 09:00", "dayly", "daily", SUMMARY_REASON),
        ("summary monthly 09:00", "monthly", None, SUMMARY_REASON),
        ("summary daily", None, None, TIME_REASON),
        ("summary daily 25:00", "25:00", None, TIME_REASON),
        ("summary daily 9am", "9am", None, TIME_REASON),
        ("summary weekly 09:00", "09:00", None, WEEKDAY_REASON),
        ("summary weekly", None, None, WEEKDAY_REASON),
        ("summary weekly mon", None, None, TIME_REASON),
        ("summary daily 09:00 tz:Mars/Olympus", "tz:Mars/Olympus", None, ZONE_REASON),
        ("summary daily 09:00 tz:../../etc/passwd", "tz:../../etc/passwd", None, ZONE_REASON),
        ("summary daily 09:00 tz:UTC tz:Europe/Paris", "tz:Europe/Paris", None, TWO_ZONES_REASON),
        (
            "summary daily 09:00 severity:high severity:low",
            "severity:low",
            None,
            TWO_SEVERITIES_REASON,
        ),
        ("summary daily 09:00 target=shop", "target=shop", "target:shop", SUMMARY_REASON),
        ("summary off now", "now", None, OFF_REASON),
    ],
)
def test_summary_refusals(
    text: str, unknown: str | None, suggestion: str | None, reason: str
) -> None:
    assert parse_scans_command(text) == SubscribeUsage(unknown, suggestion, reason)


def test_clock_and_window_words() -> None:
    assert parse_clock("7:00") == time(7, 0)
    assert parse_clock("24:00") is None
    assert parse_clock("") is None
    assert parse_quiet("22:00-07:00") == QuietHours(time(22, 0), time(7, 0))
    assert parse_quiet("12:00-13:30") == QuietHours(time(12, 0), time(13, 30))
    assert parse_quiet("22:00-22:00") is None  # a window of nothing, or of everything
    assert parse_quiet("22:00") is None
    assert QuietHours(time(22, 0), time(7, 5)).words() == "22:00-07:05"


def test_quiet_hours_on_subscribe() -> None:
    window = QuietHours(time(22, 0), time(7, 0))
    assert parse_scans_command("subscribe risks quiet:22:00-07:00") == Subscribe(
        events=("risks",), quiet=window
    )
    assert parse_scans_command("subscribe quiet:22:00-07:00 quiet-all tz:Asia/Tokyo") == (
        Subscribe(quiet=window, quiet_all=True, tz="Asia/Tokyo")
    )


@pytest.mark.parametrize(
    ("text", "unknown", "reason"),
    [
        ("subscribe quiet:late", "quiet:late", QUIET_REASON),
        ("subscribe quiet:22:00-07:00 quiet:12:00-13:00", "quiet:12:00-13:00", TWO_QUIET_REASON),
        ("subscribe quiet-all", "quiet-all", QUIET_MISSING_REASON),
        ("subscribe tz:UTC", "tz:UTC", QUIET_MISSING_REASON),
        ("subscribe quiet:22:00-07:00 tz:Nowhere", "tz:Nowhere", ZONE_REASON),
    ],
)
def test_quiet_refusals(text: str, unknown: str, reason: str) -> None:
    assert parse_scans_command(text) == SubscribeUsage(unknown=unknown, reason=reason)
