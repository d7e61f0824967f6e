"""Result files: which a scan has in each state, and that each is a real file."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from scanbot.sandbox.world import FAILED, RESULT_TYPES, RUNNING, SUCCEEDED, SandboxWorld
from scanbot.sandbox.world.ids import SCAN_ID, IdCodec
from scanbot.sandbox.world.results import (
    Finding,
    Report,
    pdf,
    render_result,
    result_id,
    result_indexes,
    result_position,
)


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


# --- Rendering on its own ----------------------------------------------------------------

HOSTILE = Report(
    scan_id="abc",
    scan_type="OWASP_ZAP",
    state=SUCCEEDED,
    targets=["<!channel>", 'a"b&c.example'],
    findings=[Finding("HIGH", "<script>alert(1)</script>", "x & <y>")],
)


@pytest.mark.parametrize(
    ("state", "types"),
    [
        pytest.param(SUCCEEDED, list(RESULT_TYPES), id="succeeded-has-all"),
        pytest.param(FAILED, ["application/json"], id="failed-has-the-log"),
        pytest.param(RUNNING, [], id="running-has-none"),
        pytest.param("PAUSED", [], id="unknown-has-none"),
    ],
)
def test_which_results_a_scan_has(state: str, types: list[str]) -> None:
    assert [RESULT_TYPES[i] for i in result_indexes(state)] == types


def test_result_ids_name_a_scan_and_a_file() -> None:
    ids = IdCodec(3)
    assert result_position(ids, result_id(ids, 12, 2)) == (12, 2)
    assert result_position(ids, ids.encode(SCAN_ID, 12 * 4 + 2)) is None
    assert result_position(ids, "not-an-id") is None


def test_html_and_xml_escape_what_they_quote() -> None:
    page = render_result("text/html", HOSTILE).decode()
    assert "<!channel>" not in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    root = ElementTree.fromstring(render_result("application/xml", HOSTILE))  # noqa: S314
    assert [t.text for t in root.iter("target")] == HOSTILE.targets
    risk = next(root.iter("risk"))
    assert (risk.get("target"), risk.text) == ("x & <y>", "<script>alert(1)</script>")


def test_the_json_report_says_why_a_scan_failed() -> None:
    done = json.loads(render_result("application/json", HOSTILE))
    assert done["risks"] == [
        {"title": "<script>alert(1)</script>", "threat_level": "HIGH", "target": "x & <y>"}
    ]
    assert "error" not in done
    failed = json.loads(render_result("application/json", HOSTILE._replace(state=FAILED)))
    assert failed["error"]


def test_a_pdf_has_a_true_cross_reference_table() -> None:
    document = pdf(["plain", "(brackets) and \\ back", "déjà 🔥"])
    xref_at = int(document.rsplit(b"startxref", 1)[1].split()[0])
    rows = document[xref_at:].split(b"\n")[3:8]
    offsets = [int(r.split()[0]) for r in rows]
    for number, offset in enumerate(offsets, start=1):
        assert document[offset:].startswith(f"{number} 0 obj".encode())
    stream = document.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert f"/Length {len(stream)}".encode() in document
    assert b"(\\(brackets\\) and \\\\ back) '" in stream
    assert b"(d?j? ?) '" in stream  # a standard font has no such letters


def test_a_pdf_report_lists_at_most_forty_findings() -> None:
    many = HOSTILE._replace(findings=[Finding("LOW", f"risk {i}", "t") for i in range(45)])
    document = render_result("application/pdf", many)
    assert b"Risks: 45" in document
    assert b"risk 39" in document
    assert b"risk 40" not in document
