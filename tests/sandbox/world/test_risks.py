"""Risks: levels and statuses, carried risks, detection dates, when ids answer, filters."""

from __future__ import annotations

from collections import Counter

import pytest

from scanbot.hostedscan.models import Risk
from scanbot.sandbox.world import HOSTILE_STRINGS, FilterError, SandboxWorld
from scanbot.sandbox.world.catalogue import Catalogue
from scanbot.sandbox.world.ids import IdCodec
from scanbot.sandbox.world.population import ScanParams
from scanbot.sandbox.world.risks import Risks
from scanbot.sandbox.world.table import ScanTable
from tests.sandbox.world.conftest import frozen


def test_risks_cover_every_threat_level_and_status(world: SandboxWorld) -> None:
    risks = world.list_risks(None)
    levels = Counter(r["risk_definition"]["threat_level"] for r in risks)
    assert {"LOW", "MEDIUM", "HIGH", "CRITICAL"} <= set(levels)
    assert levels["CRITICAL"] < levels["HIGH"] / 10  # rare
    assert {r["status"] for r in risks} == {"OPEN", "CLOSED"}
    definition = next(r for r in risks if r["risk_definition"]["cvss"])["risk_definition"]
    assert definition["title"]
    assert definition["description"]
    assert definition["solution"]
    assert definition["references"]


def test_still_open_and_closed_point_at_real_risks(world: SandboxWorld) -> None:
    scans = world.list_scans({"state": ["SUCCEEDED"]})
    still = [r["risk_id"] for s in scans for r in s["risks"]["still_open"]]
    closed = [r["risk_id"] for s in scans for r in s["risks"]["closed"]]
    assert still
    assert closed
    for risk_id in still[:20]:
        risk = world.get_risk(risk_id)
        assert risk is not None
        assert risk["status"] == "OPEN"
    for risk_id in closed[:20]:
        risk = world.get_risk(risk_id)
        assert risk is not None
        assert risk["status"] == "CLOSED"


def test_detected_at_sits_where_the_service_samples_put_it(world: SandboxWorld) -> None:
    listed = world.list_risks(None)[0]
    single = world.get_risk(listed["id"])
    assert single is not None
    assert listed["risk_definition"]["last_detected_at"] == single["last_detected_at"]
    assert "last_detected_at" not in listed
    assert "last_detected_at" not in single["risk_definition"]
    assert Risk.model_validate(listed).detected_at == Risk.model_validate(single).detected_at


def test_risk_ids_only_answer_once_detected() -> None:
    world = frozen(seed=11)
    running = [s for s in world.list_scans({"state": ["RUNNING"]}) if s["progress"] < 50]
    before = {r["risk_id"] for s in running for r in s["risks"]["new_open"]}
    world.clock.advance(86400.0 * 3)
    after = {
        r["risk_id"] for s in running for r in (world.get_scan(s["id"]) or {})["risks"]["new_open"]
    }
    assert before < after
    for risk_id in after - before:
        assert world.get_risk(risk_id) is not None


def test_risk_filters(world: SandboxWorld) -> None:
    risks = world.list_risks(None)
    high = world.list_risks({"risk_definition.threat_level": ["HIGH"], "status": ["OPEN"]})
    assert high == [
        r for r in risks if r["risk_definition"]["threat_level"] == "HIGH" and r["status"] == "OPEN"
    ]
    target_id = risks[0]["target_id"]
    assert all(r["target_id"] == target_id for r in world.list_risks({"target_id": [target_id]}))
    zap = world.list_risks({"risk_definition.scan_type": ["OWASP_ZAP"]})
    assert zap
    assert all(r["risk_definition"]["scan_type"] == "OWASP_ZAP" for r in zap)
    wanted = [r["id"] for r in risks[::50]]
    by_id = world.list_risks({"id": [*wanted, "not-a-risk"]})
    assert [r["id"] for r in by_id] == wanted
    with pytest.raises(FilterError):
        world.list_risks({"severity": ["HIGH"]})


# --- Risks over a small table and catalogue ----------------------------------------------

ONLY = {
    "title": "The only finding",
    "threat_level": "MEDIUM",
    "cvss": "5.0",
    "description": "d",
    "solution": "s",
    "references": ["https://example.com/ref"],
    "additional_info": {"port": "22/tcp"},
}


def small_world() -> tuple[ScanTable, Risks]:
    """Two NMAP scans of 3 targets with 40 risks each: one finished, one half-way at t=0."""
    table = ScanTable(IdCodec(5))
    params = ScanParams(0, 0, 10.0, 100.0, 50, 3, 0, 0, 40)
    table.append(params, -1000.0)
    table.append(params, -60.0)
    catalogue = Catalogue.model_validate({"by_scan_type": {"NMAP": [ONLY]}, "critical": {}})
    return table, Risks(table, catalogue)


def test_a_risk_is_drawn_from_its_scan_types_definitions() -> None:
    table, risks = small_world()
    facts = [risks.facts(0, k, 0.0) for k in range(40)]
    assert {f.definition.title for f in facts} == {"The only finding"}
    assert set(f.title for f in facts) <= {"The only finding", *HOSTILE_STRINGS}
    assert {f.target.target_id for f in facts} <= {t.target_id for t in table.targets(0)}
    assert any(f.closed for f in facts)
    assert not any(f.closed and f.accepted for f in facts)
    risk = risks.to_json(facts[0], listed=False)
    assert risk["risk_definition"]["additional_info"] == {"port": "22/tcp"}
    assert risk["risk_definition"]["scan_type"] == "NMAP"


def test_a_running_scans_risks_are_open_and_answer_once_detected() -> None:
    _, risks = small_world()
    found = [risks.facts(1, k, 0.0) for k in range(20)]  # half-way: 20 of 40
    assert not any(f.closed for f in found)
    assert risks.position(risks.risk_id(1, 19), 0.0) == (1, 19)
    assert risks.position(risks.risk_id(1, 20), 0.0) is None
    assert risks.position(risks.risk_id(1, 0), -61.0) is None  # before the scan existed
    firsts = [risks.detected_at(f)[0] for f in found]
    assert firsts == sorted(firsts)


def test_pages_walk_every_risk_once_newest_scan_first() -> None:
    _, risks = small_world()
    everything, cursor = risks.page(None, 0.0, after=None, limit=None)
    assert cursor is None
    assert len(everything) == 60
    walked: list[str] = []
    after = None
    while True:
        page, after = risks.page(None, 0.0, after=after, limit=7)
        walked += [r["id"] for r in page]
        if after is None:
            break
    assert walked == [r["id"] for r in everything]
    assert walked[0] == risks.risk_id(1, 0)
