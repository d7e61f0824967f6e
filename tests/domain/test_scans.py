"""A scan's summary: what it keeps of a scan, and how far along its life the scan is."""

from __future__ import annotations

import pytest

from scanbot.domain.scans import SHOWN_TARGETS, ScanSummary
from scanbot.hostedscan.models import Scan


def test_a_summary_keeps_counts_and_the_first_targets() -> None:
    scan = Scan.model_validate(
        {
            "id": "s1",
            "type": "NMAP",
            "state": "RUNNING",
            "progress": 40,
            "requested_targets": [{"target": f"t{n}.example"} for n in range(8)],
            "risks": {
                "new_open": [{"risk_id": "a"}, {"risk_id": "b"}],
                "still_open": [{"risk_id": "c"}],
                "closed": [],
            },
        }
    )
    summary = ScanSummary.of(scan)
    assert summary.targets == tuple(f"t{n}.example" for n in range(SHOWN_TARGETS))
    assert (summary.target_count, summary.new_open, summary.still_open, summary.closed) == (
        8,
        2,
        1,
        0,
    )
    assert (summary.scan_id, summary.type, summary.state, summary.progress) == (
        "s1",
        "NMAP",
        "RUNNING",
        40,
    )


@pytest.mark.parametrize(
    ("state", "stage", "final", "failure"),
    [
        ("QUEUED", 0, False, False),
        ("RUNNING", 1, False, False),
        ("PAUSED_BY_SUPPORT", 1, False, False),
        ("", 1, False, False),
        ("SUCCEEDED", 2, True, False),
        ("FAILED", 2, True, True),
        ("OVER_LIMIT", 2, True, True),
    ],
)
def test_stage_final_and_failure(state: str, stage: int, final: bool, failure: bool) -> None:
    summary = ScanSummary(scan_id="s1", state=state)
    assert (summary.stage, summary.is_final, summary.is_failure) == (stage, final, failure)
