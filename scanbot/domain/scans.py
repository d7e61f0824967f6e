"""What scanbot keeps of a scan: the summary a card shows, and the state sets it judges by."""

from __future__ import annotations

from scanbot.domain.value import Value
from scanbot.hostedscan.models import ACTIVE_STATES, FINAL_STATES, ScanHead, ScanState

__all__ = [
    "ACTIVE_STATES",
    "FAILURE_STATES",
    "FINAL_STATES",
    "SHOWN_TARGETS",
    "ScanState",
    "ScanSummary",
]

# How many requested targets a card (and so a snapshot) keeps.
SHOWN_TARGETS = 5
FAILURE_STATES = frozenset({ScanState.FAILED, ScanState.OVER_LIMIT})


class ScanSummary(Value):
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
    def of(cls, scan: ScanHead) -> ScanSummary:
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
