"""The data the alert pipeline passes around: what a card shows, what the poller remembers,
what changed, and what goes to which channel. Pure values; no I/O.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from scanbot.hostedscan.models import FINAL_STATES, Scan, ScanState

# How many requested targets a card (and so a snapshot) keeps.
SHOWN_TARGETS = 5


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class EventKind(StrEnum):
    STARTED = "started"
    FINISHED = "finished"  # SUCCEEDED, FAILED or OVER_LIMIT; failures are also broadcast
    RISKS = "risks"
    UNKNOWN_STATE = "unknown_state"
    GONE = "gone"  # HostedScan answers 404 for it now (confirmed twice)


# What `/scans subscribe` accepts as events; "failed" = FINISHED events of a failure.
SUBSCRIBABLE_EVENTS = ("started", "finished", "failed", "risks")
DEFAULT_EVENTS = ("finished", "risks")
# Subscriptions one channel may have (SCANBOT_ALERT_CHANNEL's may come on top): each one
# is a line of `/scans subscriptions` and a routing rule every alert is checked against.
MAX_SUBSCRIPTIONS_PER_CHANNEL = 25
FAILURE_STATES = frozenset({ScanState.FAILED, ScanState.OVER_LIMIT})


class ScanSummary(_Value):
    """What an alert card shows about a scan; small enough to store per scan and per alert."""

    scan_id: str
    type: str = ""
    state: str = ""
    progress: float | None = None
    targets: tuple[str, ...] = ()  # the first SHOWN_TARGETS requested targets
    target_count: int = 0
    new_open: int = 0
    still_open: int = 0
    closed: int = 0

    @classmethod
    def of(cls, scan: Scan) -> ScanSummary:
        return cls(
            scan_id=scan.id,
            type=scan.type,
            state=scan.state,
            progress=scan.progress,
            targets=tuple(t.target for t in scan.requested_targets[:SHOWN_TARGETS]),
            target_count=len(scan.requested_targets),
            new_open=len(scan.risks.new_open),
            still_open=len(scan.risks.still_open),
            closed=len(scan.risks.closed),
        )

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def is_failure(self) -> bool:
        return self.state in FAILURE_STATES

    @property
    def stage(self) -> int:
        """How far along its life the scan is: 0 queued, 1 running (or in a state scanbot
        does not know), 2 finished. Orders two summaries of one scan fetched out of order."""
        if self.state == ScanState.QUEUED:
            return 0
        return 2 if self.is_final else 1


class Snapshot(_Value):
    """What the poller remembers about one scan between cycles."""

    summary: ScanSummary
    alerted_risks: frozenset[str] = frozenset()  # new_open ids already alerted
    announced: bool = False  # a `started` alert went out, or the scan was past starting
    last_seen: datetime
    missing_since: datetime | None = None  # the first 404; a second one drops the scan

    @property
    def scan_id(self) -> str:
        return self.summary.scan_id


class ScanEvent(_Value):
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


class RiskDetail(_Value):
    """What a risk alert shows about one risk; `title` empty when details could not be had."""

    risk_id: str
    title: str = ""
    threat_level: str = ""  # LOW, MEDIUM, HIGH, or anything else (counts as most severe)
    target: str = ""
    cvss: str | None = None


class Subscription(_Value):
    id: int
    channel_id: str
    types: tuple[str, ...] = ()  # API spellings; empty = every type
    target_contains: str | None = None
    min_severity: str | None = None  # LOW, MEDIUM or HIGH; None = every risk
    events: tuple[str, ...] = DEFAULT_EVENTS
    created_by: str = ""
    from_env: bool = False  # added by SCANBOT_ALERT_CHANNEL at start-up
    disabled_reason: str | None = None


class Alert(_Value):
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
