"""When a summary is due, on an injected clock, in two time zones and across a DST change;
the period keys; one late period after downtime; the cron jobs APScheduler would run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from scanbot.domain.summaries import SummarySchedule
from scanbot.summaries.schedule import cron_fields, latest_due, pending, period_key

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MADE = datetime(2026, 10, 1, tzinfo=UTC)


def schedule(tz: str, period: str = "daily", **fields: object) -> SummarySchedule:
    values: dict[str, object] = {"id": 1, "channel_id": "C1", "period": period, "at": "09:00"}
    return SummarySchedule.model_validate({**values, "tz": tz, "created_at": MADE, **fields})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("tz", "now", "due_utc", "period"),
    [
        # Berlin: 09:00 is 07:00 UTC in summer (CEST) and 08:00 UTC in winter (CET);
        # DST ended on Sunday 25 October 2026.
        ("Europe/Berlin", utc(2026, 10, 24, 7, 0), utc(2026, 10, 24, 7, 0), "2026-10-24"),
        ("Europe/Berlin", utc(2026, 10, 24, 6, 59), utc(2026, 10, 23, 7, 0), "2026-10-23"),
        ("Europe/Berlin", utc(2026, 10, 25, 7, 30), utc(2026, 10, 24, 7, 0), "2026-10-24"),
        ("Europe/Berlin", utc(2026, 10, 25, 8, 0), utc(2026, 10, 25, 8, 0), "2026-10-25"),
        ("Europe/Berlin", utc(2026, 10, 26, 8, 0), utc(2026, 10, 26, 8, 0), "2026-10-26"),
        # New York: 09:00 is 13:00 UTC (EDT) until 1 November 2026, then 14:00 UTC (EST).
        ("America/New_York", utc(2026, 10, 31, 13, 0), utc(2026, 10, 31, 13, 0), "2026-10-31"),
        ("America/New_York", utc(2026, 11, 1, 13, 30), utc(2026, 10, 31, 13, 0), "2026-10-31"),
        ("America/New_York", utc(2026, 11, 1, 14, 0), utc(2026, 11, 1, 14, 0), "2026-11-01"),
        # Before local midnight in New York, it is already the next day in UTC.
        ("America/New_York", utc(2026, 11, 3, 2, 0), utc(2026, 11, 2, 14, 0), "2026-11-02"),
    ],
)
def test_a_daily_summary_is_due_at_its_wall_clock_time(
    tz: str, now: datetime, due_utc: datetime, period: str
) -> None:
    due = latest_due(schedule(tz), now)
    assert due is not None
    assert (due.at, due.period) == (due_utc, period)
    assert due.at.astimezone(ZoneInfo(tz)).strftime("%H:%M") == "09:00"


def test_a_weekly_summary_is_due_on_its_day() -> None:
    monday = schedule("Europe/Berlin", "weekly", weekday=0)
    due = latest_due(monday, utc(2026, 10, 28, 12, 0))  # a Wednesday
    assert due is not None
    assert (due.at, due.period) == (utc(2026, 10, 26, 8, 0), "2026-W44")
    before = latest_due(monday, utc(2026, 10, 26, 7, 59))
    assert before is not None
    assert (before.at, before.period) == (utc(2026, 10, 19, 7, 0), "2026-W43")  # summer time
    sunday = schedule("America/New_York", "weekly", weekday=6, at="23:30")
    due = latest_due(sunday, utc(2026, 11, 2, 5, 0))  # Monday 00:00 in New York
    assert due is not None
    assert due.at == utc(2026, 11, 2, 4, 30)
    assert due.period == "2026-W44"  # the ISO week of that Sunday


def test_nothing_is_due_before_the_schedule_was_made() -> None:
    made_at_ten = schedule("UTC", created_at=utc(2026, 11, 30, 10, 0))
    assert latest_due(made_at_ten, utc(2026, 11, 30, 10, 5)) is None
    assert latest_due(made_at_ten, utc(2026, 12, 1, 9, 0)) is not None


def test_after_downtime_only_the_latest_period_is_pending_and_once() -> None:
    daily = schedule("Europe/Berlin", last_period="2026-11-25")
    now = utc(2026, 11, 30, 12, 0)  # down since the 26th's summary was due
    due = pending(daily, now)
    assert due is not None
    assert due.period == "2026-11-30"
    assert due.late(now)
    assert not due.late(due.at + timedelta(minutes=10))
    assert pending(daily.model_copy(update={"last_period": "2026-11-30"}), now) is None


def test_period_keys_sort_in_time() -> None:
    daily, weekly = schedule("UTC"), schedule("UTC", "weekly", weekday=0)
    days = [utc(2026, 12, 28, 9), utc(2027, 1, 4, 9), utc(2027, 1, 11, 9)]
    assert [period_key(daily, d) for d in days] == sorted(period_key(daily, d) for d in days)
    weeks = [period_key(weekly, d) for d in days]
    assert weeks == ["2026-W53", "2027-W01", "2027-W02"]


@pytest.mark.parametrize(
    ("tz", "period", "weekday", "after", "fires"),
    [
        ("Europe/Berlin", "daily", None, utc(2026, 10, 24, 12), utc(2026, 10, 25, 8, 0)),
        ("Europe/Berlin", "daily", None, utc(2026, 10, 23, 12), utc(2026, 10, 24, 7, 0)),
        ("America/New_York", "weekly", 6, utc(2026, 10, 26), utc(2026, 11, 1, 14, 0)),
    ],
)
def test_the_cron_job_fires_at_the_same_time(
    tz: str, period: str, weekday: int | None, after: datetime, fires: datetime
) -> None:
    made = schedule(tz, period, weekday=weekday)
    trigger = CronTrigger(**cron_fields(made))  # type: ignore[arg-type]
    fire = trigger.get_next_fire_time(None, after)
    assert fire == fires
    due = latest_due(made, fire)
    assert due is not None
    assert due.at == fires
