"""When a summary is due: pure, on an injected `now`.

A schedule fires at its wall-clock time in its own time zone (`zoneinfo`), so 09:00
Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer. Each firing belongs to a
period with a key that sorts in time: the local date for a daily summary, the ISO week for
a weekly one. Only the latest period due is ever sent: after downtime, one late summary,
never a backlog of them. A period due before the schedule was made is not due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from scanbot.domain.summaries import DAILY, SummarySchedule

# A summary sent this long after its time says it is late.
LATE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Due:
    """One period of a schedule, due at `at` (aware, in the schedule's zone)."""

    period: str
    at: datetime

    def late(self, now: datetime) -> bool:
        return now - self.at > LATE_AFTER


def clock_time(schedule: SummarySchedule) -> time:
    hours, minutes = schedule.at.split(":")
    return time(int(hours), int(minutes))


def period_key(schedule: SummarySchedule, at: datetime) -> str:
    """`2026-11-30` (daily) or `2026-W49` (weekly), of `at` in the schedule's zone."""
    local = at.astimezone(ZoneInfo(schedule.tz))
    if schedule.period == DAILY:
        return local.date().isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def latest_due(schedule: SummarySchedule, now: datetime) -> Due | None:
    """The latest firing at or before `now` (and after the schedule was made), if any."""
    zone = ZoneInfo(schedule.tz)
    local_now = now.astimezone(zone)
    wall = clock_time(schedule)
    day = local_now.date()
    for _ in range(8):
        fits = schedule.period == DAILY or day.weekday() == schedule.weekday
        # A wall time skipped by a DST change resolves as zoneinfo does (fold=0).
        at = datetime.combine(day, wall, tzinfo=zone)
        if fits and at <= now:
            break
        day -= timedelta(days=1)
    else:  # pragma: no cover - a week always holds the weekday
        return None
    if schedule.created_at is not None and at < schedule.created_at:
        return None
    return Due(period_key(schedule, at), at)


def pending(schedule: SummarySchedule, now: datetime) -> Due | None:
    """The period to send now: the latest due one, unless it (or a later one) was taken."""
    due = latest_due(schedule, now)
    if due is None or (schedule.last_period is not None and schedule.last_period >= due.period):
        return None
    return due


def cron_fields(schedule: SummarySchedule) -> dict[str, object]:
    """APScheduler CronTrigger's fields for the schedule (its own time zone)."""
    wall = clock_time(schedule)
    fields: dict[str, object] = {"hour": wall.hour, "minute": wall.minute, "timezone": schedule.tz}
    if schedule.period != DAILY:
        fields["day_of_week"] = schedule.weekday
    return fields
