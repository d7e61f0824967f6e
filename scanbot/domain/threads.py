"""An alert thread (a scan's parent message in a channel) and its triage: who acknowledged,
who owns it, whether it is quiet, what was done; and the key of what its parent shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from scanbot.domain.scans import ScanSummary
from scanbot.domain.value import Value


@dataclass(frozen=True)
class AlertThread:
    scan_id: str
    channel_id: str
    parent_ts: str
    summary: ScanSummary  # what the parent should show
    shown: str  # the card key it shows now
    edited_at: datetime | None
    created_at: datetime | None = None
    assignee: str | None = None
    snoozed_until: datetime | None = None
    snoozed_in_state: str | None = None
    muted: bool = False
    snooze_choice: str | None = None  # the SnoozeChoice value of the snooze on now
    summary_at: datetime | None = None  # when `summary` was fetched; None: unknown


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


class Acknowledgement(Value):
    user_id: str
    at: datetime


class TriageView(Value):
    """What the parent card shows besides the scan: who acknowledged, who owns it, quiet?
    And the scan it re-runs, when a Re-scan started it."""

    acknowledgements: tuple[Acknowledgement, ...] = ()  # oldest first
    assignee: str | None = None
    snoozed_until: datetime | None = None  # a time-boxed snooze
    snoozed_in_state: str | None = None  # "until the next state change": the state it waits out
    muted: bool = False
    rerun_of: str | None = None  # the old scan's id, when this scan is its Re-scan

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
        # A re-run's part only when there is one: the keys parents already show stay true.
        rerun = "" if self.rerun_of is None else f"|rerun:{self.rerun_of}"
        return f"{acks}|{self.assignee}|{snooze}|{self.muted}{rerun}"


class AuditEntry(Value):
    at: datetime
    user_id: str
    action: str  # acknowledge, unacknowledge, assign, snooze, unsnooze, mute, unmute, ...
    detail: str = ""


def card_key(summary: ScanSummary, triage: TriageView | None = None) -> str:
    """What a parent card shows, coarsely: an edit is due only when this changes."""
    bucket = -1 if summary.progress is None else int(max(0.0, min(summary.progress, 100.0)) // 10)
    parts = (summary.state, bucket, summary.new_open, summary.still_open, summary.closed)
    return "|".join(map(str, parts)) + "#" + (triage or TriageView()).key()
