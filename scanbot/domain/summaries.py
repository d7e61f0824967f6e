"""Scheduled posture summaries: a channel's schedule, and the daily count of open risks that
scanbot records itself (HostedScan keeps no history) so a summary can draw a trend."""

from __future__ import annotations

from datetime import date, datetime

from scanbot.domain.value import Value

DAILY = "daily"
WEEKLY = "weekly"
# The threat levels a summary counts, highest first; anything else is counted as "other".
LEVELS: tuple[str, ...] = ("HIGH", "MEDIUM", "LOW")


class SummarySchedule(Value):
    """`/scans summary daily 09:00` (or weekly on `weekday`) for one channel or DM."""

    id: int
    channel_id: str
    period: str  # DAILY or WEEKLY
    weekday: int | None = None  # WEEKLY: 0 Monday .. 6 Sunday
    at: str  # "09:00", in `tz`
    tz: str  # an IANA name
    types: tuple[str, ...] = ()
    target_contains: str | None = None
    min_severity: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
    last_period: str | None = None  # the key of the last period queued (see schedule.py)
    last_open: int | None = None  # open risks the last summary counted
    last_at: datetime | None = None  # when the last summary was computed


class DailyCount(Value):
    """Open risks by threat level on one day (UTC), as scanbot counted them that day."""

    day: date
    high: int = 0
    medium: int = 0
    low: int = 0
    other: int = 0
    accepted: int = 0

    def level(self, level: str) -> int:
        return {"HIGH": self.high, "MEDIUM": self.medium, "LOW": self.low}.get(level, self.other)


class QueuedSummary(Value):
    """A period of a schedule queued in the outbox (its `alert` column, as JSON)."""

    row_id: int = 0
    schedule_id: int
    channel_id: str
    period: str
    due_at: datetime
    attempts: int = 0

    @property
    def key(self) -> str:
        """The outbox's unique key: one row per (channel, summary, period), ever."""
        return f"summary|{self.channel_id}|{self.schedule_id}|{self.period}"
