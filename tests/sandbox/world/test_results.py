"""Result files: which a scan has in each state, and that each is a real file."""

from __future__ import annotations

import json

from scanbot.sandbox.world import RESULT_TYPES, SandboxWorld


def test_finished_scans_have_results_of_every_type(world: SandboxWorld) -> None:
    succeeded = world.list_scans({"state": ["SUCCEEDED"]})
    assert all([r["content_type"] for r in s["results"]] == list(RESULT_TYPES) for s in succeeded)
    for state in ("QUEUED", "RUNNING", "OVER_LIMIT"):
        assert all(not s["results"] for s in world.list_scans({"state": [state]}))


def test_results_are_real_files(world: SandboxWorld) -> None:
    scan = world.list_scans({"state": ["SUCCEEDED"]})[0]
    files = {}
    for result in scan["results"]:
        found = world.get_result(result["result_id"])
        assert found is not None
        content, content_type = found
        assert content_type == result["content_type"]
        files[content_type] = content
    pdf = files["application/pdf"]
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    xref_at = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[xref_at:].startswith(b"xref")
    assert files["text/html"].startswith(b"<!DOCTYPE html>")
    assert files["application/xml"].startswith(b"<?xml")
    assert json.loads(files["application/json"])["scan_id"] == scan["id"]
