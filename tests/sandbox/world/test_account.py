"""The simulation through its facade: determinism, scans moving on with the clock, the hooks."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from scanbot.hostedscan.models import Risk, Scan
from scanbot.sandbox.world import (
    HOSTILE_STRINGS,
    RESULT_TYPES,
    SCAN_STATES,
    SCAN_TYPES,
    SandboxWorld,
)
from tests.sandbox.world.conftest import dump, frozen

# --- Determinism -------------------------------------------------------------------


def test_same_seed_and_time_give_identical_answers() -> None:
    first, second = frozen(seed=7), frozen(seed=7)
    for each in (first, second):
        each.clock.advance(1234.5)
    assert dump(first.list_scans(None)) == dump(second.list_scans(None))
    assert dump(first.list_risks(None)) == dump(second.list_risks(None))
    scan = next(s for s in first.list_scans({"state": ["SUCCEEDED"]}) if s["results"])
    for result in scan["results"]:
        assert first.get_result(result["result_id"]) == second.get_result(result["result_id"])


def test_query_history_does_not_change_the_answer() -> None:
    """Asking often along the way gives what asking once at the end gives."""
    eager, lazy = frozen(seed=3), frozen(seed=3)
    for _ in range(20):
        eager.clock.advance(360.0)
        eager.list_scans({"state": ["RUNNING"]})
    lazy.clock.advance(7200.0)
    assert dump(eager.list_scans(None)) == dump(lazy.list_scans(None))


def test_another_seed_gives_another_world() -> None:
    assert dump(frozen(seed=1).list_scans(None)) != dump(frozen(seed=2).list_scans(None))


# --- The generated population ------------------------------------------------------


def test_default_population_has_every_type_and_state(world: SandboxWorld) -> None:
    scans = world.list_scans(None)
    assert len(scans) == 300
    assert set(Counter(s["type"] for s in scans)) == set(SCAN_TYPES)
    assert set(Counter(s["state"] for s in scans)) == set(SCAN_STATES)
    assert len({s["id"] for s in scans}) == 300


def test_active_fraction_is_queued_or_running_at_time_zero() -> None:
    scans = frozen(scans=1000, active_fraction=0.1).list_scans({"state": ["QUEUED", "RUNNING"]})
    assert len(scans) == 100


def test_every_scan_and_risk_parses_with_the_client_models(world: SandboxWorld) -> None:
    for scan in world.list_scans(None):
        parsed = Scan.model_validate(scan)
        assert parsed.known_type is not None
        assert parsed.known_state is not None
        assert "scheduled_by" not in scan
    risks = world.list_risks(None)
    assert risks
    for risk in risks:
        Risk.model_validate(risk)
    Risk.model_validate(world.get_risk(risks[0]["id"]))


def test_hostile_strings_appear_in_targets_reasons_and_titles(world: SandboxWorld) -> None:
    scans = world.list_scans(None)
    targets = {t["target"] for s in scans for t in s["requested_targets"]}
    reasons = {t["skipped_reason"] for s in scans for t in s["skipped_targets"]}
    titles = {r["risk_definition"]["title"] for r in world.list_risks(None)}
    assert set(HOSTILE_STRINGS) <= targets
    assert reasons & set(HOSTILE_STRINGS)
    assert titles & set(HOSTILE_STRINGS)
    assert any(len(h) == 300 for h in HOSTILE_STRINGS)
    hostile_share = sum(t in HOSTILE_STRINGS for t in targets) / len(targets)
    assert hostile_share < 0.1


# --- Time moves scans on -----------------------------------------------------------


def test_a_queued_scan_runs_with_rising_progress_then_finishes() -> None:
    world = frozen(seed=5)
    scan_id = world.list_scans({"state": ["QUEUED"]})[0]["id"]
    seen: list[dict[str, Any]] = []
    for _ in range(2000):
        scan = world.get_scan(scan_id)
        assert scan is not None
        seen.append(scan)
        if scan["state"] not in ("QUEUED", "RUNNING"):
            break
        world.clock.advance(30.0)
    states = [s["state"] for s in seen]
    assert states[0] == "QUEUED"
    assert "RUNNING" in states
    assert states[-1] in ("SUCCEEDED", "FAILED", "OVER_LIMIT")
    order = {"QUEUED": 0, "RUNNING": 1}
    assert [order.get(s, 2) for s in states] == sorted(order.get(s, 2) for s in states)
    progress = [s["progress"] for s in seen if s["state"] == "RUNNING"]
    assert progress == sorted(progress)
    assert all(0 <= p < 100 for p in progress)
    new_open = [len(s["risks"]["new_open"]) for s in seen]
    assert new_open == sorted(new_open)


def test_risks_appear_as_progress_rises_and_results_when_finished() -> None:
    world = frozen(seed=2, scans=0, arrivals_per_hour=0)
    scan_id = world.start_scan("OPENVAS", ["a.example.com", "b.example.com", "10.0.0.1"])
    world.set_state(scan_id, "RUNNING", 0)  # hold it still while the risks are counted
    counts = []
    for progress in (0, 30, 60, 90):
        world.set_state(scan_id, "RUNNING", progress)
        scan = world.get_scan(scan_id)
        assert scan is not None
        assert not scan["results"]
        counts.append(len(scan["risks"]["new_open"]))
    world.set_state(scan_id, "SUCCEEDED")
    scan = world.get_scan(scan_id)
    assert scan is not None
    assert scan["progress"] == 100
    counts.append(len(scan["risks"]["new_open"]))
    assert counts == sorted(counts)
    assert counts[0] == 0
    assert [r["content_type"] for r in scan["results"]] == list(RESULT_TYPES)


def test_new_scans_arrive_over_time() -> None:
    world = frozen(arrivals_per_hour=60.0)
    world.clock.advance(3600.0 * 5)
    arrived = len(world.list_scans(None)) - 300
    assert 200 < arrived < 400
    newest = world.list_scans(None)[0]
    assert newest["state"] in ("QUEUED", "RUNNING")
    still = frozen(arrivals_per_hour=0.0)
    still.clock.advance(3600.0 * 5)
    assert len(still.list_scans(None)) == 300


def test_started_scans_queue_then_move_on() -> None:
    world = frozen()
    scan_id = world.start_scan("NMAP", ["203.0.113.9"])
    scan = world.get_scan(scan_id)
    assert scan is not None
    assert scan["state"] == "QUEUED"
    assert [t["target"] for t in scan["requested_targets"]] == ["203.0.113.9"]
    assert world.list_scans(None)[0]["id"] == scan_id
    world.clock.advance(86400.0)
    assert (world.get_scan(scan_id) or {})["state"] in ("SUCCEEDED", "FAILED", "OVER_LIMIT")
    with pytest.raises(ValueError, match="type"):
        world.start_scan("NOPE", ["x"])


# --- Test hooks --------------------------------------------------------------------


def test_add_scan_keeps_whatever_it_is_given() -> None:
    world = frozen()
    scan_id = world.add_scan(
        type="NMAP_TCP_V2",
        state="PAUSED",
        targets=["a.example.com", "<!channel>"],
        progress=42.5,
        risks=3,
        skipped=[("<!channel>", "Not verified"), ("t-gone", "Removed")],
        id="custom-scan-1",
        extra_field={"new": True},
    )
    assert scan_id == "custom-scan-1"
    scan = world.get_scan(scan_id)
    assert scan is not None
    assert (scan["type"], scan["state"], scan["progress"]) == ("NMAP_TCP_V2", "PAUSED", 42.5)
    assert scan["extra_field"] == {"new": True}
    ids = {t["target"]: t["target_id"] for t in scan["requested_targets"]}
    assert scan["skipped_targets"] == [
        {"target_id": ids["<!channel>"], "skipped_reason": "Not verified"},
        {"target_id": "t-gone", "skipped_reason": "Removed"},
    ]
    assert len(scan["risks"]["new_open"]) == 3
    for ref in scan["risks"]["new_open"]:
        risk = world.get_risk(ref["risk_id"])
        assert risk is not None
        assert risk["risk_definition"]["scan_type"] == "NMAP_TCP_V2"
    world.clock.advance(86400.0)
    assert world.get_scan(scan_id) == scan  # fixed: time does not move it
    assert world.list_scans({"type": ["NMAP_TCP_V2"]}) == [scan]
    assert Scan.model_validate(scan).known_state is None
    with pytest.raises(ValueError, match="exists"):
        world.add_scan(type="NMAP", state="QUEUED", targets=[], id="custom-scan-1")


def test_add_scan_without_progress_leaves_it_out() -> None:
    world = frozen()
    scan = world.get_scan(world.add_scan(type="SSLYZE", state="RUNNING", targets=["x"]))
    assert scan is not None
    assert "progress" not in scan
    assert Scan.model_validate(scan).progress is None
    nulls = world.get_scan(world.add_scan(type="SSLYZE", state="RUNNING", targets=[], results=None))
    assert nulls is not None
    assert nulls["results"] is None
    assert Scan.model_validate(nulls).results == []


def test_remove_scan_answers_not_found_after() -> None:
    world = frozen()
    scan = world.list_scans({"state": ["SUCCEEDED"]})[0]
    world.remove_scan(scan["id"])
    assert world.get_scan(scan["id"]) is None
    assert world.get_result(scan["results"][0]["result_id"]) is None
    assert scan["id"] not in {s["id"] for s in world.list_scans(None)}
    with pytest.raises(KeyError):
        world.remove_scan(scan["id"])


def test_set_state_freezes_a_scan() -> None:
    world = frozen()
    scan_id = world.list_scans({"state": ["QUEUED"]})[0]["id"]
    world.set_state(scan_id, "RUNNING", 40)
    world.clock.advance(86400.0 * 10)
    scan = world.get_scan(scan_id)
    assert scan is not None
    assert (scan["state"], scan["progress"]) == ("RUNNING", 40)
    assert scan_id in {s["id"] for s in world.list_scans({"state": ["RUNNING"]})}
    world.set_state(scan_id, "FAILED")
    assert (world.get_scan(scan_id) or {})["progress"] == 40
    world.set_state(scan_id, "BROKEN")
    assert [s["id"] for s in world.list_scans({"state": ["BROKEN"]})] == [scan_id]
    with pytest.raises(KeyError):
        world.set_state("no-such-scan", "RUNNING")


def test_unknown_ids_are_none(world: SandboxWorld) -> None:
    real = world.list_scans(None)[0]["id"]
    forged = real[:-1] + ("0" if real[-1] != "0" else "1")
    for bad in ("", "nope", forged, "0" * 24, "g" * 24):
        assert world.get_scan(bad) is None
        assert world.get_risk(bad) is None
        assert world.get_result(bad) is None


# --- Scale -------------------------------------------------------------------------


def test_a_hundred_thousand_scans_list_with_a_filter_quickly() -> None:
    """A smoke check, not a benchmark: the bound is generous on purpose."""
    started = time.perf_counter()
    world = frozen(scans=100_000)
    running, cursor = world.scan_page({"state": ["RUNNING"]}, limit=500)
    count = world.count_scans({"state": ["RUNNING"], "type": ["OPENVAS", "NMAP"]})
    elapsed = time.perf_counter() - started
    assert len(running) == 500
    assert cursor is not None
    assert count > 0
    assert elapsed < 5.0
