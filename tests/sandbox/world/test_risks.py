"""Risks: levels and statuses, carried risks, detection dates, when ids answer, filters."""

from __future__ import annotations

from collections import Counter

import pytest

from scanbot.hostedscan.models import Risk
from scanbot.sandbox.world import FilterError, SandboxWorld
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
