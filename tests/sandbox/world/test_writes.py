"""The write bodies, checked as the service checks them: one sentence per refusal."""

from __future__ import annotations

from typing import Any

import pytest

from scanbot.sandbox.world.writes import (
    MAX_SCAN_TARGETS,
    ReportRequest,
    RequestError,
    ScanRequest,
    TargetRequest,
    report_request,
    scan_request,
    target_request,
)

# --- POST /v1/scans -------------------------------------------------------------------

SCAN_REFUSALS = [
    pytest.param([1], "must be a JSON object", id="not-an-object"),
    pytest.param("NMAP", "must be a JSON object", id="a-string"),
    pytest.param(None, "must be a JSON object", id="null"),
    pytest.param({"targets": ["a.com"]}, "type is required", id="no-type"),
    pytest.param({"type": "NOPE", "targets": ["a.com"]}, "Unknown scan type: NOPE", id="bad-type"),
    pytest.param({"type": "nmap", "targets": ["a.com"]}, "Unknown scan type: nmap", id="lowercase"),
    pytest.param({"type": 7, "targets": ["a.com"]}, "Unknown scan type: 7", id="type-not-text"),
    pytest.param({"type": "NMAP"}, "exactly one of targets", id="no-targets"),
    pytest.param(
        {"type": "NMAP", "targets": ["a.com"], "tags": ["prod"]},
        "exactly one of targets",
        id="two-kinds",
    ),
    pytest.param(
        {"type": "NMAP", "targets": ["a.com"], "target_ids": ["t"], "tags": ["x"]},
        "exactly one of targets",
        id="three-kinds",
    ),
    pytest.param({"type": "NMAP", "targets": []}, "targets must not be empty", id="empty"),
    pytest.param({"type": "NMAP", "tags": []}, "tags must not be empty", id="empty-tags"),
    pytest.param(
        {"type": "NMAP", "targets": "a.com"}, "list of non-empty strings", id="targets-a-string"
    ),
    pytest.param(
        {"type": "NMAP", "target_ids": [1, 2]}, "list of non-empty strings", id="ids-numbers"
    ),
    pytest.param({"type": "NMAP", "tags": [""]}, "list of non-empty strings", id="empty-tag"),
    pytest.param(
        {"type": "NMAP", "targets": ["a.com", "exa mple.com"]},
        "Invalid target: exa mple.com",
        id="bad-host",
    ),
    pytest.param(
        {"type": "NMAP", "targets": ["ftp://a.com/"]}, "Invalid target: ftp://a.com/", id="ftp"
    ),
    pytest.param(
        {"type": "NMAP", "targets": ["<!channel>"]}, "Invalid target: <!channel>", id="hostile"
    ),
    pytest.param(
        {"type": "NMAP", "targets": ["a.com"] * (MAX_SCAN_TARGETS + 1)},
        "at most 1000 values",
        id="too-many",
    ),
    pytest.param(
        {"type": "NMAP", "targets": ["a.com"], "use_authentication": "yes"},
        "use_authentication must be true or false",
        id="auth-not-bool",
    ),
    pytest.param(
        {"type": "NMAP", "targets": ["a.com"], "taget_ids": ["t"]},
        "Unknown field: taget_ids",
        id="typo",
    ),
]


@pytest.mark.parametrize(("body", "message"), SCAN_REFUSALS)
def test_a_bad_scan_body_is_refused_with_one_sentence(body: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        scan_request(body)


def test_a_good_scan_body_keeps_its_targets_once_in_order() -> None:
    request = scan_request(
        {
            "type": "OPENVAS",
            "targets": ["b.example.com", "10.0.0.1", "b.example.com", "https://a.example.com/"],
            "use_authentication": True,
        }
    )
    assert request == ScanRequest(
        "OPENVAS", "targets", ("b.example.com", "10.0.0.1", "https://a.example.com/"), True
    )
    assert scan_request({"type": "NMAP", "tags": ["prod"]}).use_authentication is False


def test_a_long_value_is_cut_short_in_the_refusal() -> None:
    with pytest.raises(RequestError) as raised:
        scan_request({"type": "X" * 500, "targets": ["a.com"]})
    assert len(str(raised.value)) < 120


# --- POST /v1/targets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({}, "target is required", id="no-target"),
        pytest.param({"target": 7}, "Invalid target: 7", id="not-text"),
        pytest.param({"target": "not a host"}, "Invalid target", id="spaces"),
        pytest.param({"target": "a.com", "label": 5}, "label must be text", id="label-number"),
        pytest.param({"target": "a.com", "label": "x" * 257}, "at most 256", id="label-long"),
        pytest.param({"target": "a.com", "tags": "prod"}, "list of non-empty", id="tags-string"),
        pytest.param(
            {"target": "a.com", "tags": [f"t{i}" for i in range(11)]}, "at most 10", id="11-tags"
        ),
        pytest.param({"target": "a.com", "tags": ["x" * 65]}, "at most 64", id="tag-long"),
        pytest.param({"target": "a.com", "owner": "me"}, "Unknown field: owner", id="extra"),
        pytest.param(["a.com"], "must be a JSON object", id="a-list"),
    ],
)
def test_a_bad_target_body_is_refused(body: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        target_request(body)


def test_a_target_body_tells_given_from_not_given() -> None:
    assert target_request({"target": "a.com"}) == TargetRequest("a.com", None, None)
    assert target_request({"target": "a.com", "label": "", "tags": []}) == TargetRequest(
        "a.com", "", ()
    )
    assert target_request({"target": "a.com", "tags": ["x", "x", "y"]}).tags == ("x", "y")


# --- POST /v1/reports -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({}, "report_format must be PDF or HTML", id="no-format"),
        pytest.param({"report_format": "pdf"}, "not pdf", id="lowercase"),
        pytest.param({"report_format": ["PDF"]}, "PDF or HTML", id="a-list"),
        pytest.param(
            {"report_format": "PDF", "targets_filter": ["t"]}, "object of lists", id="tf-list"
        ),
        pytest.param(
            {"report_format": "PDF", "targets_filter": {"tags": ["x"]}},
            "Unknown targets_filter key: tags",
            id="tf-key",
        ),
        pytest.param(
            {"report_format": "PDF", "targets_filter": {"tag": ["x"], "target_ids": ["t"]}},
            "one of target_ids or tag",
            id="tf-both",
        ),
        pytest.param(
            {"report_format": "PDF", "targets_filter": {}}, "one of target_ids or tag", id="tf-{}"
        ),
        pytest.param(
            {"report_format": "PDF", "targets_filter": {"tag": []}}, "must not be empty", id="tf-[]"
        ),
        pytest.param(
            {"report_format": "PDF", "risks_filter": {"severity": ["HIGH"]}},
            "Unknown risks_filter key: severity",
            id="rf-key",
        ),
        pytest.param(
            {"report_format": "PDF", "risks_filter": {"status": ["open"]}},
            "risks_filter status cannot be open",
            id="rf-status",
        ),
        pytest.param(
            {"report_format": "PDF", "risks_filter": {"risk_definition.threat_level": ["BAD"]}},
            "cannot be BAD",
            id="rf-level",
        ),
        pytest.param(
            {"report_format": "PDF", "risks_filter": {"risk_definition.scan_type": "NMAP"}},
            "list of non-empty strings",
            id="rf-string",
        ),
        pytest.param({"report_format": "PDF", "risks_filter": 3}, "object of lists", id="rf-3"),
        pytest.param({"report_format": "PDF", "format": "A4"}, "Unknown field", id="extra"),
    ],
)
def test_a_bad_report_body_is_refused(body: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        report_request(body)


def test_a_report_body_maps_its_filters() -> None:
    request = report_request(
        {
            "report_format": "HTML",
            "targets_filter": {"tag": ["prod", "pci"]},
            "risks_filter": {"status": ["OPEN"], "risk_definition.title": ["Anything at all"]},
        }
    )
    assert request == ReportRequest(
        "HTML",
        "tag",
        ("prod", "pci"),
        {"status": ["OPEN"], "risk_definition.title": ["Anything at all"]},
    )
    assert report_request({"report_format": "PDF", "targets_filter": None}).targets_key is None
    assert report_request({"report_format": "PDF", "targets_filter": {"id": ["t"]}}).targets == (
        "t",
    )
