"""What changed about a scan and who hears of it: events, the poller's snapshots, risk
details, alerts (one event for one channel), and the table of the words people subscribe
with."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from scanbot.domain.scans import ScanSummary
from scanbot.domain.value import Value


class EventKind(StrEnum):
    STARTED = "started"
    FINISHED = "finished"  # SUCCEEDED, FAILED or OVER_LIMIT; failures are also broadcast
    RISKS = "risks"
    UNKNOWN_STATE = "unknown_state"
    GONE = "gone"  # HostedScan answers 404 for it now (confirmed twice)


# What `/scans subscribe` accepts as events; "failed" = FINISHED events of a failure.
SUBSCRIBABLE_EVENTS = ("started", "finished", "failed", "risks")
DEFAULT_EVENTS = ("finished", "risks")
FAILED = "failed"

# Which subscribed event words let each kind of event through. FINISHED is special-cased
# (a failure also passes FAILED), and GONE only posts into an existing thread, so every
# subscription that passes the filters gets it (see `subscribed`).
EVENT_TABLE: Mapping[EventKind, frozenset[str]] = {
    EventKind.STARTED: frozenset({"started"}),
    EventKind.FINISHED: frozenset({"finished"}),
    EventKind.RISKS: frozenset({"risks"}),
    EventKind.UNKNOWN_STATE: frozenset({"started", "finished", "failed"}),
}


class Snapshot(Value):
    """What the poller remembers about one scan between cycles."""

    summary: ScanSummary
    alerted_risks: frozenset[str] = frozenset()  # new_open ids already alerted
    announced: bool = False  # a `started` alert went out, or the scan was past starting
    last_seen: datetime
    missing_since: datetime | None = None  # the first 404; a second one drops the scan

    @property
    def scan_id(self) -> str:
        return self.summary.scan_id


class ScanEvent(Value):
    """One change worth telling a channel about."""

    kind: EventKind
    summary: ScanSummary  # the scan as of this event
    previous_state: str | None = None
    risk_ids: tuple[str, ...] = ()  # RISKS: the newly open ids, sorted

    @property
    def detail(self) -> str:
        """What makes this event unique for its scan and kind (part of the alert key)."""
        if self.kind is EventKind.RISKS:
            return hashlib.sha256(",".join(self.risk_ids).encode()).hexdigest()[:16]
        if self.kind in (EventKind.FINISHED, EventKind.UNKNOWN_STATE):
            return self.summary.state
        return ""


def subscribed(words: Collection[str], event: ScanEvent) -> bool:
    """Whether a subscription to these event words hears of `event` (`EVENT_TABLE`)."""
    if event.kind is EventKind.GONE:
        return True
    if event.kind is EventKind.FINISHED and event.summary.is_failure and FAILED in words:
        return True
    return not EVENT_TABLE.get(event.kind, frozenset()).isdisjoint(words)


class RiskDetail(Value):
    """What a risk alert shows about one risk; `title` empty when details could not be had."""

    risk_id: str
    title: str = ""
    threat_level: str = ""  # LOW, MEDIUM, HIGH, or anything else (see domain.severity)
    target: str = ""
    cvss: str | None = None
    accepted: bool = False  # accepted in HostedScan: never alerted as new


class Alert(Value):
    """One event for one channel: a row of the outbox, unique by `key`."""

    channel_id: str
    event: ScanEvent
    risks: tuple[RiskDetail, ...] = ()  # RISKS: passing the channel's severity, most severe first
    risk_count: int = 0  # RISKS: how many new risks the alert is about (risks may be fewer)
    created_at: datetime = Field(default_factory=lambda: datetime.now().astimezone())

    @property
    def key(self) -> str:
        event = self.event
        return f"{self.channel_id}|{event.summary.scan_id}|{event.kind.value}|{event.detail}"

    @property
    def broadcast(self) -> bool:
        return self.event.kind is EventKind.FINISHED and self.event.summary.is_failure
