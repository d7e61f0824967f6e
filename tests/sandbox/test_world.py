"""The simulation itself: determinism, scans moving on with the clock, the test hooks."""

from __future__ import annotations

import json
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
    FilterError,
    SandboxWorld,
    SimClock,
)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def frozen(**options: Any) -> SandboxWorld:
    return SandboxWorld(clock=SimClock(speed=0.0), **options)


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    """The default population, read-only: tests that change things build their own."""
    return frozen()


# --- The clock -------------------------------------------------------------------------


def test_clock_runs_at_its_speed_from_its_start() -> None:
    real = FakeMonotonic()
    clock = SimClock(start=50.0, speed=10.0, monotonic=real)
    assert clock.now() == 50.0
    real.value += 2.0
    assert clock.now() == 70.0
    clock.advance(5.0)
    assert clock.now() == 75.0


def test_changing_speed_does_not_make_time_jump() -> None:
    real = FakeMonotonic()
    clock = SimClock(speed=10.0, monotonic=real)
    real.value += 3.0
    clock.speed = 1000.0
    assert clock.now() == 30.0
    real.value += 1.0
    assert clock.now() == 1030.0
    clock.speed = 0.0
    real.value += 50.0
    assert clock.now() == 1030.0
    assert clock.speed == 0.0


def test_clock_refuses_to_go_back() -> None:
    clock = SimClock()
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="negative"):
        clock.speed = -1.0


# --- Determinism -----------------------------------------------------------------------


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


# --- The generated population ----------------------------------------------------------


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


def test_targets_are_varied_and_some_scans_are_huge(world: SandboxWorld) -> None:
    scans = world.list_scans(None)
    counts = [len(s["requested_targets"]) for s in scans]
    assert min(counts) == 1
    assert max(counts) >= 100
    targets = [t["target"] for s in scans for t in s["requested_targets"]]
    assert any(t.startswith("https://") for t in targets)
    assert any(t.count(".") == 3 and t.replace(".", "").isdigit() for t in targets)
    assert any(t.endswith(".example.com") for t in targets)
    skipped = [t for s in scans for t in s["skipped_targets"]]
    assert skipped
    assert all(t["skipped_reason"] for t in skipped)


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


# --- Time moves scans on ---------------------------------------------------------------


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


# --- Filters ---------------------------------------------------------------------------


def test_filters_or_within_a_key_and_across_keys(world: SandboxWorld) -> None:
    scans = world.list_scans(None)
    got = world.list_scans({"state": ["SUCCEEDED", "FAILED"], "type": ["NMAP"]})
    expected = [s for s in scans if s["state"] in ("SUCCEEDED", "FAILED") and s["type"] == "NMAP"]
    assert got == expected
    assert got
    assert world.list_scans({"state": ["succeeded"]}) == []  # spelled as the API spells it
    assert world.list_scans({"state": []}) == []


def test_scheduled_by_filters_without_being_shown() -> None:
    world = frozen()
    mine = world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x"], scheduled_by="bot")
    assert [s["id"] for s in world.list_scans({"scheduled_by": ["bot"]})] == [mine]
    by_schedule = world.list_scans({"scheduled_by": ["schedule"]})
    by_api = world.list_scans({"scheduled_by": ["api"]})
    assert by_schedule
    assert by_api
    both = world.list_scans({"scheduled_by": ["schedule", "api"]})
    assert len(both) == len(by_schedule) + len(by_api)


@pytest.mark.parametrize(
    "filters",
    [{"colour": ["red"]}, {"state": "RUNNING"}, {"state": [1]}, ["state"]],
)
def test_bad_filters_are_refused(world: SandboxWorld, filters: Any) -> None:
    with pytest.raises(FilterError):
        world.list_scans(filters)


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


# --- Test hooks ------------------------------------------------------------------------


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


# --- Scale -----------------------------------------------------------------------------


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
