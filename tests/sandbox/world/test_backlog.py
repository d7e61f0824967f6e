"""The backlog: older findings with first detections spread over weeks, for due dates and trends."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from scanbot.hostedscan.models import Risk
from scanbot.sandbox.world import EPOCH, SandboxWorld
from scanbot.sandbox.world.backlog import DAY, OLDEST, WEEK, Backlog, last_detected
from scanbot.sandbox.world.catalogue import load_catalogue
from scanbot.sandbox.world.ids import IdCodec
from scanbot.sandbox.world.risks import BACKLOG_SEQ
from tests.sandbox.world.conftest import frozen

DUE_DAYS = {"CRITICAL": 7, "HIGH": 7, "MEDIUM": 30, "LOW": 90}


def backlog(seed: int = 1, count: int = 2000, window: int = 256) -> Backlog:
    return Backlog(IdCodec(seed), load_catalogue(), window, count)


def only_backlog(**options: Any) -> SandboxWorld:
    return frozen(scans=0, arrivals_per_hour=0, **options)


def test_a_finding_is_a_function_of_seed_and_index() -> None:
    assert backlog().finding(17) == backlog().finding(17)
    assert backlog().finding(17) != backlog(seed=2).finding(17)
    assert backlog().finding(17) != backlog().finding(18)


def test_first_detections_spread_over_sixteen_weeks_most_of_them_recent() -> None:
    ages = [-backlog().finding(i).first / DAY for i in range(2000)]
    assert min(ages) > 0
    assert max(ages) <= OLDEST / DAY
    buckets = Counter(
        "week" if age < 7 else "month" if age < 30 else "quarter" if age < 90 else "older"
        for age in ages
    )
    assert buckets["week"] > buckets["older"] > 100
    assert all(buckets[b] > 150 for b in ("week", "month", "quarter", "older"))


def test_some_close_some_are_accepted_and_never_both() -> None:
    findings = [backlog().finding(i) for i in range(2000)]
    closing = [f for f in findings if f.closes_at is not None]
    accepted = [f for f in findings if f.accepted_at is not None]
    assert 450 < len(closing) < 750  # about 30%
    assert 40 < len(accepted) < 110  # about 5% of the rest
    assert all(f.closes_at is None for f in accepted)
    assert all(f.closes_at > f.first for f in closing)
    assert all(f.accepted_at > f.first for f in accepted)
    assert any(f.closes_at > 0 for f in closing)  # some close later


def test_a_few_targets_gather_many_risks() -> None:
    per_target = Counter(backlog().finding(i).target.target_id for i in range(2000))
    top_five = sum(count for _, count in per_target.most_common(5))
    assert top_five > 2000 * 0.1
    assert len(per_target) > 100


def test_last_detected_is_the_last_weekly_scan_before_now_and_before_closing() -> None:
    for i in range(300):
        finding = backlog().finding(i)
        for now in (0.0, 3 * DAY, 40 * DAY):
            last = last_detected(finding, now)
            assert finding.first <= last <= max(now, finding.first)
            assert (last - finding.first) % WEEK == 0
            if finding.closes_at is not None:
                assert last < finding.closes_at
            assert now - last < WEEK or (finding.closes_at is not None)


def test_the_backlog_lists_after_the_scans_risks_and_answers_by_id() -> None:
    world = frozen(backlog_risks=300)
    plain = frozen()
    risks = world.list_risks(None)
    scan_risks = plain.list_risks(None)
    assert risks[: len(scan_risks)] == scan_risks  # the scans' risks come first, unchanged
    old = risks[len(scan_risks) :]
    assert len(old) == 300
    single = world.get_risk(old[0]["id"])
    assert single is not None
    assert single["first_detected_at"] == old[0]["risk_definition"]["first_detected_at"]
    assert "first_detected_at" not in single["risk_definition"]
    for raw in (old[0], single):
        assert Risk.model_validate(raw).first_detected is not None
    assert plain.get_risk(old[0]["id"]) is None  # a world without a backlog has no such risk


def test_pages_walk_from_the_scans_into_the_backlog() -> None:
    world = frozen(backlog_risks=120)
    everything = [r["id"] for r in world.list_risks(None)]
    walked: list[str] = []
    after = None
    while True:
        page, after = world.risk_page(None, after=after, limit=37)
        walked += [r["id"] for r in page]
        if after is None:
            break
    assert walked == everything
    assert len(set(walked)) == len(walked)


def test_filters_work_on_the_backlog() -> None:
    world = only_backlog(backlog_risks=800)
    risks = world.list_risks(None)
    high = world.list_risks({"risk_definition.threat_level": ["HIGH"], "status": ["OPEN"]})
    assert high == [
        r for r in risks if r["risk_definition"]["threat_level"] == "HIGH" and r["status"] == "OPEN"
    ]
    target_id = Counter(r["target_id"] for r in risks).most_common(1)[0][0]
    mine = world.list_risks({"target_id": [target_id]})
    assert len(mine) > 5
    assert {r["target_id"] for r in mine} == {target_id}
    for key, field in (
        ("risk_definition.scan_type", "scan_type"),
        ("risk_definition.title", "title"),
    ):
        value = risks[0]["risk_definition"][field]
        assert all(r["risk_definition"][field] == value for r in world.list_risks({key: [value]}))
    tag = next(t for r in risks for t in r["tags"])
    assert all(tag in r["tags"] for r in world.list_risks({"tags": [tag]}))
    assert world.list_risks({"id": [risks[3]["id"], risks[1]["id"]]}) == [risks[1], risks[3]]


def test_due_dates_fall_on_both_sides_for_every_level() -> None:
    """High is due 7 days after first detection, medium 30, low 90: each has both."""
    world = only_backlog(backlog_risks=3000)
    now = EPOCH
    sides: Counter[tuple[str, bool]] = Counter()
    for raw in world.list_risks({"status": ["OPEN"]}):
        risk = Risk.model_validate(raw)
        level = risk.risk_definition.threat_level
        assert risk.first_detected is not None
        if risk.accepted:
            continue
        overdue = now - risk.first_detected > timedelta(days=DUE_DAYS[level])
        sides[(level, overdue)] += 1
    for level in ("HIGH", "MEDIUM", "LOW"):
        assert sides[(level, True)] > 20, level
        assert sides[(level, False)] > 20, level


def test_accepted_risks_say_who_and_when() -> None:
    world = only_backlog(backlog_risks=3000)
    accepted = [Risk.model_validate(r) for r in world.list_risks(None) if r["is_accepted"]]
    assert len(accepted) > 50
    for risk in accepted:
        assert risk.is_open
        assert len(risk.accepted_by) == 1
        when = datetime.fromisoformat(risk.accepted_by[0].created_at or "")
        assert risk.first_detected is not None
        assert risk.first_detected < when <= EPOCH


def test_time_closes_and_accepts_risks_and_moves_last_detections() -> None:
    world = only_backlog(backlog_risks=2000)
    before = {r["id"]: r for r in world.list_risks(None)}
    world.clock.advance(60 * DAY)
    after = {r["id"]: r for r in world.list_risks(None)}
    assert before.keys() == after.keys()
    closed = [i for i in before if before[i]["status"] == "OPEN" != after[i]["status"]]
    accepted = [i for i in before if not before[i]["is_accepted"] and after[i]["is_accepted"]]
    reopened = [i for i in before if before[i]["status"] == "CLOSED" != after[i]["status"]]
    assert len(closed) > 50
    assert accepted
    assert reopened == []
    still_open = [i for i in after if after[i]["status"] == "OPEN"]
    moved = [
        i
        for i in still_open
        if after[i]["risk_definition"]["last_detected_at"]
        > before[i]["risk_definition"]["last_detected_at"]
    ]
    assert len(moved) == len(still_open)


def test_a_hundred_thousand_open_risks_page_without_being_held() -> None:
    """Issue 11 sums up 100,000 open risks: the sandbox pages them, holding none."""
    sizes = {}
    for count in (1_000, 120_000):
        tracemalloc.start()
        try:
            world = only_backlog(backlog_risks=count)
            world.risk_page({"status": ["OPEN"]}, limit=500)
            sizes[count] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert sizes[120_000] < sizes[1_000] * 1.2  # peak bytes for a page: no state per risk
    seen: set[str] = set()
    after = None
    pages = 0
    while True:
        page, after = world.risk_page({"status": ["OPEN"]}, after=after, limit=500)
        seen.update(r["id"] for r in page)
        pages += 1
        if after is None:
            break
    assert len(seen) >= 100_000
    assert pages == -(-len(seen) // 500)
    assert after is None
    last = page[-1]["id"]
    assert world.get_risk(last) is not None
    assert world.risk_page(None, after=(BACKLOG_SEQ, 119_999), limit=500) == ([], None)
