"""What people do to HostedScan through scanbot (start a scan, re-run one, add a target, ask
for a report): one audited record each, and what the per-user run limit answered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from scanbot.domain.value import Value


class OperationKind(StrEnum):
    RUN = "run"
    RESCAN = "rescan"
    TARGET_ADD = "target_add"
    REPORT = "report"


# The kinds that start a scan: these count against SCANBOT_RUN_LIMIT.
SCAN_KINDS = (OperationKind.RUN, OperationKind.RESCAN)


class OperationStatus(StrEnum):
    PENDING = "pending"  # recorded, HostedScan not asked yet or not answered yet
    DONE = "done"  # HostedScan did it; `hostedscan_id` names what it made
    REFUSED = "refused"  # HostedScan said no (a 400): `answer` says what it refused
    FAILED = "failed"  # certainly not done (a 429, nothing sent, not ready in time)
    UNKNOWN = "unknown"  # sent, no answer: it may have been done


class Operation(Value):
    """One audited action: who, what, from which channel, and HostedScan's answer."""

    id: int
    key: str | None = None  # the once-only key: a second action with it is the same one
    user_id: str
    kind: OperationKind
    channel_id: str
    request: dict[str, Any] = Field(default_factory=dict)
    status: OperationStatus
    answer: str = ""
    hostedscan_id: str | None = None
    at: datetime
    done_at: datetime | None = None


class Begun(Value):
    """`created`: this call recorded the operation and should do it; otherwise `operation`
    is the one recorded before under the same key (done, under way, or failed)."""

    operation: Operation
    created: bool


class OverRunLimit(Value):
    """The user started as many scans as SCANBOT_RUN_LIMIT allows in the window."""

    limit: int
    resets_at: datetime


class RunTarget(Value):
    """A target a scan will cover, as the confirmation shows it."""

    target: str
    label: str = ""


class RunPlan(Value):
    """What `/scans run` will ask HostedScan for, once confirmed: `field` is the POST body's
    field (`targets`, `target_ids` or `tags`) and `values` its list, as typed; `shown` the
    targets resolved for the form, `missing` the ids or tags that matched none."""

    scan_type: str
    field: str
    values: tuple[str, ...]
    shown: tuple[RunTarget, ...] = ()
    missing: tuple[str, ...] = ()


class TargetRow(Value):
    """A target as `/scans targets` lists it: HostedScan's fields and what its risks say."""

    target_id: str
    target: str
    label: str = ""
    tags: tuple[str, ...] = ()
    open_risks: int = 0
    last_detected: datetime | None = None  # the newest detection of any of its risks
