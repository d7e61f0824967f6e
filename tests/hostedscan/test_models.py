"""The tolerant models: a risk's dates where either sample puts them, acceptance, targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from scanbot.hostedscan.client import encode_filters, risk_filters
from scanbot.hostedscan.models import Acceptance, Risk, Scan, Target, parse_time
from tests.hostedscan.fakes import FakeHostedScan, make_client, ok

LISTED = {
    "id": "r1",
    "target_id": "t1",
    "target": "shop.example.com",
    "tags": ["prod"],
    "status": "OPEN",
    "is_accepted": True,
    "accepted_by": [
        {
            "note": "behind the VPN",
            "created_at": "2025-01-03T10:00:00.000Z",
            "last_updated_at": "2025-01-04T10:00:00.000Z",
        }
    ],
    "risk_definition": {
        "scan_type": "OPENVAS",
        "title": "TLS 1.0",
        "threat_level": "HIGH",
        "first_detected_at": "2024-12-01T08:30:00.000Z",
        "last_detected_at": "2025-01-02T08:30:00.000Z",
    },
}
SINGLE = {
    **{k: v for k, v in LISTED.items() if k != "risk_definition"},
    "target_label": "Shop",
    "first_detected_at": "2024-12-01T08:30:00.000Z",
    "last_detected_at": "2025-01-02T08:30:00.000Z",
    "risk_definition": {"scan_type": "OPENVAS", "title": "TLS 1.0", "threat_level": "HIGH"},
}


@pytest.mark.parametrize("raw", [LISTED, SINGLE], ids=["listed", "single"])
def test_a_risk_reads_its_dates_wherever_they_are(raw: dict[str, Any]) -> None:
    risk = Risk.model_validate(raw)
    assert risk.first_detected == datetime(2024, 12, 1, 8, 30, tzinfo=UTC)
    assert risk.last_detected == datetime(2025, 1, 2, 8, 30, tzinfo=UTC)
    assert risk.detected_at == "2025-01-02T08:30:00.000Z"
    assert risk.is_open
    assert risk.accepted
    assert risk.accepted_by == [
        Acceptance(
            note="behind the VPN",
            created_at="2025-01-03T10:00:00.000Z",
            last_updated_at="2025-01-04T10:00:00.000Z",
        )
    ]
    assert (risk.target_id, risk.target, risk.tags) == ("t1", "shop.example.com", ["prod"])


def test_the_top_level_date_wins_over_the_definitions() -> None:
    raw = {**LISTED, "first_detected_at": "2024-11-01T00:00:00Z"}
    assert Risk.model_validate(raw).first_detected == datetime(2024, 11, 1, tzinfo=UTC)


def test_a_bare_risk_has_no_dates_and_is_not_accepted() -> None:
    risk = Risk.model_validate({"id": "r", "accepted_by": None, "status": "CLOSED"})
    assert risk.first_detected is None
    assert risk.last_detected is None
    assert not risk.accepted
    assert not risk.is_open
    assert risk.accepted_by == []


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2025-01-02T03:04:05.678Z", datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ("2025-01-02T03:04:05+02:00", datetime(2025, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2025-01-02T03:04:05", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2025-01-02", datetime(2025, 1, 2, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time_is_tolerant(text: str | None, moment: datetime | None) -> None:
    parsed = parse_time(text)
    assert parsed == moment
    if parsed is not None:
        assert parsed.utcoffset() is not None


def test_parse_time_keeps_the_given_zone() -> None:
    parsed = parse_time("2025-01-02T03:04:05+02:00")
    assert parsed is not None
    assert parsed.tzinfo == timezone(timedelta(hours=2))


def test_a_target_tolerates_nulls_and_extra_fields() -> None:
    target = Target.model_validate(
        {"id": "t", "target": "a.example.com", "label": None, "tags": None, "new": 1}
    )
    assert (target.label, target.tags) == ("", [])


@pytest.mark.parametrize("odd", [None, 5, ["RUNNING"], {"state": "RUNNING"}, True])
def test_text_that_is_null_or_not_text_reads_as_empty_and_keeps_the_scan(odd: Any) -> None:
    scan = Scan.model_validate(
        {"id": "s1", "type": odd, "state": odd, "requested_targets": [{"target": odd}]}
    )
    assert (scan.type, scan.state, scan.requested_targets[0].target) == ("", "", "")
    assert scan.known_state is None  # alerted as an unknown state, never dropped silently


def test_text_keeps_what_the_service_sent_when_it_is_text() -> None:
    scan = Scan.model_validate({"id": "s1", "type": "NEW_SCANNER", "state": "PAUSED"})
    assert (scan.type, scan.state) == ("NEW_SCANNER", "PAUSED")


def test_a_scan_without_an_id_is_still_refused() -> None:
    with pytest.raises(ValueError, match="id"):
        Scan.model_validate({"id": None, "state": "RUNNING"})


# --- risk filters -------------------------------------------------------------------------


def test_named_risk_filters_join_the_mapping() -> None:
    merged = risk_filters(
        {"status": ["OPEN"], "tags": ["prod"]},
        statuses=["CLOSED"],
        target_ids=["t1"],
        scan_types=["NMAP"],
        threat_levels=["HIGH", "MEDIUM"],
        titles=["TLS 1.0"],
    )
    assert merged == {
        "status": ["OPEN", "CLOSED"],
        "tags": ["prod"],
        "target_id": ["t1"],
        "risk_definition.scan_type": ["NMAP"],
        "risk_definition.threat_level": ["HIGH", "MEDIUM"],
        "risk_definition.title": ["TLS 1.0"],
    }
    assert risk_filters() == {}


@pytest.mark.parametrize(
    ("filters", "named"), [({"status": "OPEN"}, {}), (None, {"statuses": "OPEN"})]
)
def test_a_single_string_is_no_list_of_risk_filter_values(
    filters: dict[str, Any] | None, named: dict[str, Any]
) -> None:
    with pytest.raises(TypeError, match="status"):
        risk_filters(filters, **named)


async def test_list_risks_sends_the_named_filters() -> None:
    fake = FakeHostedScan(ok({"data": [{"id": "r1"}]}))
    async with make_client(fake) as client:
        listed = [r.id async for r in client.list_risks(statuses=["OPEN"], tags=["prod"])]
        page = await client.list_risks_page(threat_levels=["HIGH"], page_token="p2")
    assert listed == ["r1"]
    assert [r.id for r in page.risks] == ["r1"]
    assert fake.requests[0].url.params["filters"] == encode_filters(
        {"status": ["OPEN"], "tags": ["prod"]}
    )
    assert fake.requests[1].url.params["filters"] == '{"risk_definition.threat_level":["HIGH"]}'
    assert fake.requests[1].url.params["page_token"] == "p2"
