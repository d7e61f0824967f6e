"""A scan as `GET /v1/scans` shows it, computed from its row at a moment."""

from __future__ import annotations

from scanbot.sandbox.world.results import result_id, result_indexes
from scanbot.sandbox.world.risks import Risks
from scanbot.sandbox.world.table import ScanTable
from scanbot.sandbox.world.vocabulary import JSON, OVER_LIMIT, QUEUED, RESULT_TYPES, SUCCEEDED


def scan_json(table: ScanTable, risks: Risks, seq: int, now: float) -> JSON:
    """The scan's JSON; an added scan's extra keys are merged in last, as given."""
    phase = table.phase(seq, now)
    override = table.overrides.get(seq)
    fixed = override.fixed if override is not None else None
    targets = table.targets(seq)
    skipped = table.skipped(seq, targets)
    started = phase.state not in (QUEUED, OVER_LIMIT)
    still_open: list[str] = []
    closed: list[str] = []
    if fixed is None and phase.state == SUCCEEDED:
        still_open, closed = risks.carried(seq, now)
    scan: JSON = {"id": table.scan_id(seq), "type": table.type_name(seq)}
    scan["state"] = phase.state
    if phase.progress is not None:
        scan["progress"] = phase.progress
    scan["risks"] = {
        "new_open": [{"risk_id": risks.risk_id(seq, k)} for k in range(phase.visible_risks)],
        "still_open": [{"risk_id": risk_id} for risk_id in still_open],
        "closed": [{"risk_id": risk_id} for risk_id in closed],
    }
    scan["results"] = [
        {"result_id": result_id(table.ids, seq, i), "content_type": RESULT_TYPES[i]}
        for i in result_indexes(phase.state)
    ]
    scan["requested_targets"] = [{"target_id": t.target_id, "target": t.target} for t in targets]
    scan["resolved_targets"] = [
        {"target_id": t.target_id, "resolved_target": t.resolved}
        for t in targets
        if started and t.target_id not in skipped
    ]
    scan["skipped_targets"] = [
        {"target_id": target_id, "skipped_reason": reason}
        for target_id, reason in skipped.items()
        if started or fixed is not None
    ]
    if fixed is not None:
        scan.update(fixed.extra)
    return scan
