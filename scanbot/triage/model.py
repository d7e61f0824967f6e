"""Triage state of one alert thread (a scan in a channel), as values. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SnoozeChoice(StrEnum):
    """A snooze's option. The same snooze chosen again (a replayed click, a double click, two
    people at once) changes nothing and posts nothing:

    - 1 h, 4 h, 24 h: the same while a snooze of this option is on (the thread's stored option
      is this one and its end is still ahead). Another option, or this one once its end has
      passed, is a change: a new end, counted from the click.
    - the next state change: the same while the thread is snoozed with this option in the
      scan's current state. Chosen again after the scan moved on, it is a change: it waits
      out the new state. A finished scan has no next state: refused.
    """

    HOUR = "1h"
    FOUR_HOURS = "4h"
    DAY = "24h"
    NEXT_STATE = "next_state"  # until the scan's state changes

    @property
    def duration(self) -> timedelta | None:
        hours = {"1h": 1, "4h": 4, "24h": 24}.get(self.value)
        return timedelta(hours=hours) if hours else None

    @property
    def label(self) -> str:
        return {"1h": "1 hour", "4h": "4 hours", "24h": "24 hours"}.get(
            self.value, "the next state change"
        )


class Acknowledgement(_Value):
    user_id: str
    at: datetime


class TriageView(_Value):
    """What the parent card shows besides the scan: who acknowledged, who owns it, quiet?"""

    acknowledgements: tuple[Acknowledgement, ...] = ()  # oldest first
    assignee: str | None = None
    snoozed_until: datetime | None = None  # a time-boxed snooze
    snoozed_in_state: str | None = None  # "until the next state change": the state it waits out
    muted: bool = False

    def is_quiet(self, now: datetime, state: str) -> bool:
        """Whether alerts for this thread are held (not lost) right now."""
        if self.muted:
            return True
        if self.snoozed_until is not None and now < self.snoozed_until:
            return True
        return self.snoozed_in_state is not None and state == self.snoozed_in_state

    @property
    def is_snoozed(self) -> bool:
        return self.snoozed_until is not None or self.snoozed_in_state is not None

    def key(self) -> str:
        """Part of the parent's card key: an edit is due when this changes."""
        acks = ",".join(a.user_id for a in self.acknowledgements)
        snooze = self.snoozed_until.isoformat() if self.snoozed_until else self.snoozed_in_state
        return f"{acks}|{self.assignee}|{snooze}|{self.muted}"


class AuditEntry(_Value):
    at: datetime
    user_id: str
    action: str  # acknowledge, unacknowledge, assign, snooze, unsnooze, mute, unmute, ...
    detail: str = ""
