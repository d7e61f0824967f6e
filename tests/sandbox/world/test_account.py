"""The simulation through its facade: determinism, scans moving on with the clock, the hooks."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from scanbot.hostedscan.models import Risk, Scan
from scanbot.sandbox.world import (
    HOSTILE_STRINGS,
    REPORT_ROWS,
    RESULT_TYPES,
    SCAN_STATES,
    SCAN_TYPES,
    ReportAnswer,
    RequestError,
    SandboxWorld,
    TargetExists,
)
from scanbot.sandbox.world.targets import PRIVATE_REASON
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


# --- Writes: scans started through the API -----------------------------------------


def quiet(**options: Any) -> SandboxWorld:
    """A world where only what the test starts happens."""
    return frozen(seed=4, scans=40, arrivals_per_hour=0, **options)


def run_out(world: SandboxWorld, scan_id: str) -> list[str]:
    """The states a scan goes through until it ends, a minute at a time."""
    states: list[str] = []
    for _ in range(5000):
        scan = world.get_scan(scan_id)
        assert scan is not None
        if not states or states[-1] != scan["state"]:
            states.append(scan["state"])
        if scan["state"] not in ("QUEUED", "RUNNING"):
            return states
        world.clock.advance(60.0)
    raise AssertionError("the scan never ended")


def test_a_posted_scan_runs_its_life_and_finds_risks_on_its_targets() -> None:
    world = quiet()
    scan_id = world.start_scan("OPENVAS", ["shop.example.com", "203.0.113.7"])
    assert run_out(world, scan_id) in (
        ["QUEUED", "RUNNING", "SUCCEEDED"],
        ["QUEUED", "RUNNING", "FAILED"],
    )
    found = [world.start_scan("OPENVAS", ["shop.example.com"]) for _ in range(6)]
    world.clock.advance(86400.0)
    scans = [world.get_scan(s) or {} for s in found]
    assert any(s["risks"]["new_open"] for s in scans)
    targets = {t["target_id"] for s in scans for t in s["requested_targets"]}
    assert len(targets) == 1  # the same name is the same target every time
    for scan in scans:
        for ref in scan["risks"]["new_open"]:
            assert (world.get_risk(ref["risk_id"]) or {})["target_id"] in targets
        assert Scan.model_validate(scan).known_state is not None


def test_a_private_address_is_taken_and_skipped_with_a_reason() -> None:
    world = quiet()
    scan_id = world.start_scan("NMAP", ["10.0.0.1", "127.0.0.1", "shop.example.com"])
    queued = world.get_scan(scan_id)
    assert queued is not None
    assert (queued["state"], queued["skipped_targets"], queued["resolved_targets"]) == (
        "QUEUED",
        [],
        [],
    )
    world.clock.advance(86400.0)
    scan = world.get_scan(scan_id)
    assert scan is not None
    ids = {t["target"]: t["target_id"] for t in scan["requested_targets"]}
    assert scan["skipped_targets"] == [
        {"target_id": ids[host], "skipped_reason": PRIVATE_REASON}
        for host in ("10.0.0.1", "127.0.0.1")
    ]
    assert scan["resolved_targets"] == [
        {"target_id": ids["shop.example.com"], "resolved_target": "shop.example.com"}
    ]
    for ref in scan["risks"]["new_open"]:
        assert (world.get_risk(ref["risk_id"]) or {})["target"] == "shop.example.com"
    only_private = world.start_scan("OPENVAS", ["192.168.1.1"])
    world.clock.advance(86400.0)
    assert (world.get_scan(only_private) or {})["risks"]["new_open"] == []


def test_a_scan_by_target_ids_or_tags_scans_the_accounts_targets() -> None:
    world = quiet()
    listed = world.list_targets()
    by_ids = world.get_scan(world.start_scan("NMAP", target_ids=[listed[3]["id"], listed[0]["id"]]))
    assert by_ids is not None
    assert [t["target_id"] for t in by_ids["requested_targets"]] == [
        listed[3]["id"],
        listed[0]["id"],
    ]
    tagged = world.get_scan(world.start_scan("SSLYZE", tags=["pci"]))
    assert tagged is not None
    expected = {t["id"] for t in listed if "pci" in t["tags"]}
    assert {t["target_id"] for t in tagged["requested_targets"]} == expected
    with pytest.raises(RequestError, match="Unknown target id: nope"):
        world.start_scan("NMAP", target_ids=["nope"])
    with pytest.raises(RequestError, match="No target has the tag nothing-has-this"):
        world.start_scan("NMAP", tags=["nothing-has-this"])


def test_a_scan_of_a_new_name_adds_it_to_the_targets() -> None:
    world = quiet()
    before = len(world.list_targets())
    world.start_scan("NMAP", ["brand-new.example.com", "brand-new.example.com"])
    listed = world.list_targets()
    assert len(listed) == before + 1
    assert listed[0]["target"] == "brand-new.example.com"
    world.start_scan("NMAP", target_ids=[listed[0]["id"]])
    assert len(world.list_targets()) == before + 1


def test_use_authentication_is_recorded() -> None:
    world = quiet()
    with_auth = world.start_scan("OWASP_ZAP", ["https://a.example.com/"], use_authentication=True)
    without = world.start_scan("OWASP_ZAP", ["https://a.example.com/"])
    generated = world.list_scans(None)[-1]["id"]
    assert world.uses_authentication(with_auth)
    assert not world.uses_authentication(without)
    assert not world.uses_authentication(generated)
    assert "use_authentication" not in (world.get_scan(with_auth) or {})
    with pytest.raises(KeyError):
        world.uses_authentication("nope")


def test_a_refused_scan_changes_nothing() -> None:
    world = quiet(quota=1)
    before = world.list_scans(None)
    for call in (
        lambda: world.start_scan("NOPE", ["a.example.com"]),
        lambda: world.start_scan("NMAP", ["not a host"]),
        lambda: world.start_scan("NMAP", target_ids=["nope"]),
        lambda: world.post_scan({"type": "NMAP", "targets": ["a.example.com"], "extra": 1}),
    ):
        with pytest.raises(RequestError):
            call()
    assert world.list_scans(None) == before
    assert world.quota_used() == 0


def test_scans_beyond_the_quota_end_over_limit() -> None:
    world = quiet(quota=2, quota_period=3600.0)
    first, second, third = (world.start_scan("SSLYZE", ["a.example.com"]) for _ in range(3))
    assert world.quota_used() == 2
    assert (world.get_scan(third) or {})["state"] == "QUEUED"  # accepted, as the service does
    assert run_out(world, third) == ["QUEUED", "OVER_LIMIT"]
    over = world.get_scan(third) or {}
    assert (over["progress"], over["risks"]["new_open"], over["results"]) == (0, [], [])
    assert run_out(world, first)[-1] in ("SUCCEEDED", "FAILED")
    assert run_out(world, second)[-1] in ("SUCCEEDED", "FAILED")
    world.clock.advance(3600.0)
    assert run_out(world, world.start_scan("SSLYZE", ["a.example.com"]))[-1] != "OVER_LIMIT"
    world.set_quota(0)
    assert run_out(world, world.start_scan("NMAP", ["a.example.com"])) == ["QUEUED", "OVER_LIMIT"]
    world.set_quota(None)
    assert run_out(world, world.start_scan("NMAP", ["a.example.com"]))[-1] != "OVER_LIMIT"


def test_posted_scans_are_deterministic() -> None:
    def story() -> str:
        world = quiet(quota=3)
        ids = [world.start_scan(t, ["a.example.com", "10.0.0.2"]) for t in SCAN_TYPES]
        world.clock.advance(7200.0)
        return dump([world.get_scan(i) for i in ids] + world.list_risks(None))

    assert story() == story()


# --- Writes: targets and reports ------------------------------------------------------


def test_created_targets_show_in_the_list_and_their_labels_in_risks() -> None:
    world = quiet()
    created = world.create_target("pay.example.com", "Payments", ["pci", "prod"])
    assert created == world.get_target(created["id"])
    assert world.list_targets({"tags": ["pci"]})[0] == created
    with pytest.raises(TargetExists, match="already exists"):
        world.create_target("pay.example.com")
    scan_id = world.start_scan("OPENVAS", target_ids=[created["id"]])
    world.clock.advance(86400.0)
    refs = (world.get_scan(scan_id) or {})["risks"]["new_open"]
    updated = world.create_target("pay.example.com", "Card payments", upsert=True)
    assert (updated["label"], updated["tags"]) == ("Card payments", ["pci", "prod"])
    for ref in refs:
        risk = world.get_risk(ref["risk_id"]) or {}
        assert (risk["target_label"], risk["tags"]) == ("Card payments", ["pci", "prod"])


def test_an_added_scans_targets_are_the_accounts() -> None:
    world = quiet()
    scan_id = world.add_scan(type="NMAP", state="FAILED", targets=["old.example.com", "<!here>"])
    scan = world.get_scan(scan_id) or {}
    ids = [t["target_id"] for t in scan["requested_targets"]]
    assert [world.get_target(i) for i in ids] == [
        {"id": ids[0], "target": "old.example.com", "label": "", "tags": []},
        {"id": ids[1], "target": "<!here>", "label": "", "tags": []},
    ]
    rerun = world.get_scan(world.start_scan("NMAP", target_ids=ids))  # a re-scan, by ids
    assert rerun is not None
    assert [t["target_id"] for t in rerun["requested_targets"]] == ids


def ready(world: SandboxWorld, report_id: str) -> ReportAnswer:
    for _ in range(10):
        answer = world.get_report(report_id)
        assert answer is not None
        if answer.ready:
            return answer
    raise AssertionError("the report never came")


def test_a_report_is_not_ready_once_then_a_real_pdf_or_html() -> None:
    world = frozen(backlog_risks=200)
    pdf_id = world.create_report("PDF", risks_filter={"risk_definition.threat_level": ["HIGH"]})
    assert world.get_report(pdf_id) == ReportAnswer(ready=False)
    answer = world.get_report(pdf_id)
    assert answer is not None
    assert answer.content_type == "application/pdf"
    assert answer.content.startswith(b"%PDF-1.")
    assert answer.content.rstrip().endswith(b"%%EOF")
    xref_at = int(answer.content.rsplit(b"startxref", 1)[1].split()[0])
    assert answer.content[xref_at:].startswith(b"xref")
    high = world.list_risks({"risk_definition.threat_level": ["HIGH"]})
    assert f"{len(high)} risks matched".encode() in answer.content
    html = ready(world, world.create_report("HTML"))
    assert html.content_type == "text/html"
    page = html.content.decode()
    assert page.startswith("<!DOCTYPE html>")
    everything = world.list_risks(None)
    assert f"{len(everything)} risks matched; the worst {REPORT_ROWS} listed" in page
    assert page.count("<tr>") == REPORT_ROWS + 1
    levels = [row.split("<td>", 2)[1].split("<")[0] for row in page.split("<tr>")[2:]]
    rank = {level: i for i, level in enumerate(("CRITICAL", "HIGH", "MEDIUM", "LOW"))}
    assert [rank[level] for level in levels] == sorted(rank[level] for level in levels)
    assert levels[0] == "CRITICAL"
    assert "<!channel>" not in page  # hostile titles and targets are escaped


def test_a_report_lists_what_matched_when_it_was_made() -> None:
    world = frozen()
    tag = next(t["tags"][0] for t in world.list_targets() if t["tags"])
    report_id = world.create_report(
        "HTML", targets_filter={"tag": [tag]}, risks_filter={"status": ["OPEN"]}
    )
    matched = world.list_risks({"tags": [tag], "status": ["OPEN"]})
    world.clock.advance(86400.0)
    page = ready(world, report_id).content.decode()
    assert f"{len(matched)} risks matched" in page
    assert f"Targets (tag): {tag}" in page
    assert page.count("<td>OPEN</td>") == min(len(matched), REPORT_ROWS)
    target_id = world.list_targets()[5]["id"]
    by_id = ready(world, world.create_report("PDF", targets_filter={"target_ids": [target_id]}))
    assert b"Targets \\(target_ids\\): " + target_id.encode() in by_id.content


def test_report_controls_make_one_slow_and_one_never_ready() -> None:
    world = quiet()
    world.time_next_report(polls=4)
    world.time_next_report(never=True)
    slow, never, usual = (world.create_report("PDF") for _ in range(3))
    answers = [world.get_report(slow) for _ in range(5)]
    assert [a.ready for a in answers if a] == [False] * 4 + [True]
    assert not any((world.get_report(never) or ReportAnswer(True)).ready for _ in range(20))
    world.release_report(never)
    assert (world.get_report(never) or ReportAnswer(False)).ready
    world.hold_report(usual)
    assert not any((world.get_report(usual) or ReportAnswer(True)).ready for _ in range(5))
    world.set_report_timing(polls=0, delay=600.0)
    later = world.create_report("HTML")
    assert not (world.get_report(later) or ReportAnswer(True)).ready
    world.clock.advance(600.0)
    assert (world.get_report(later) or ReportAnswer(False)).ready
    assert world.get_report("nope") is None


def test_a_report_on_unknown_targets_is_refused() -> None:
    world = quiet()
    with pytest.raises(RequestError, match="Unknown target id: t-404"):
        world.create_report("PDF", targets_filter={"target_ids": ["t-404"]})
    with pytest.raises(RequestError, match="No target has the tag"):
        world.create_report("PDF", targets_filter={"tag": ["nothing-has-this"]})
    with pytest.raises(RequestError, match="PDF or HTML"):
        world.create_report("DOCX")
