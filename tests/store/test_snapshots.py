"""Snapshots on SQLite and PostgreSQL: round trips, active scans, drops, chunked ids, and
the observation transaction (computed from what it read, serialised, all or nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from scanbot.domain.events import Alert, Snapshot
from scanbot.store import Store
from scanbot.store.state import CycleMark
from tests.store.values import (
    PLUS_FIVE,
    T0,
    alert,
    queue,
    snap,
    summary,
)


async def test_snapshots_round_trip(store: Store) -> None:
    written = [
        Snapshot(
            summary=summary(
                "scan-a",
                "PAUSED_BY_SUPPORT",  # a state HostedScan may add some day
                progress=None,
                targets=("a.example", "b.example"),
                target_count=7,
                new_open=3,
                still_open=2,
                closed=1,
            ),
            alerted_risks=frozenset({"risk-2", "risk-1"}),
            announced=True,
            last_seen=datetime(2026, 11, 1, 17, 0, tzinfo=PLUS_FIVE),
            missing_since=datetime(2026, 11, 1, 16, 30, tzinfo=PLUS_FIVE),
        ),
        snap("scan-b", "SUCCEEDED", progress=100.0),
    ]
    await store.snapshots.record(written, [])
    read = await store.snapshots.read(["scan-a", "scan-b", "never-seen"])
    assert read == {s.scan_id: s for s in written}
    a = read["scan-a"]
    assert a.alerted_risks == frozenset({"risk-1", "risk-2"})
    assert a.summary.progress is None
    assert a.last_seen == T0  # 17:00 at +05:00 is 12:00 UTC
    assert a.last_seen.tzinfo is not None
    assert a.missing_since is not None
    assert a.missing_since.tzinfo is not None
    assert a.missing_since == T0 - timedelta(minutes=30)
    assert await store.snapshots.count() == 2


async def test_recording_a_snapshot_again_replaces_it(store: Store) -> None:
    await store.snapshots.record([snap("scan-a", "QUEUED")], [])
    newer = snap("scan-a", "RUNNING", last_seen=T0 + timedelta(minutes=5), announced=True)
    await store.snapshots.record([newer], [])
    assert await store.snapshots.read(["scan-a"]) == {"scan-a": newer}
    assert await store.snapshots.count() == 1


async def test_active_scan_ids_are_the_scans_not_in_a_final_state(store: Store) -> None:
    states = ["QUEUED", "RUNNING", "SOMETHING_NEW", "SUCCEEDED", "FAILED", "OVER_LIMIT"]
    await store.snapshots.record([snap(f"scan-{state}", state) for state in states], [])
    active = await store.snapshots.active_ids()
    assert sorted(active) == ["scan-QUEUED", "scan-RUNNING", "scan-SOMETHING_NEW"]


async def test_dropped_ids_are_deleted(store: Store) -> None:
    await store.snapshots.record([snap("scan-a"), snap("scan-b"), snap("scan-c")], [])
    await store.snapshots.record([], [], dropped=["scan-a", "scan-c", "never-seen"])
    assert list(await store.snapshots.read(["scan-a", "scan-b", "scan-c"])) == ["scan-b"]


async def test_thousands_of_ids_in_one_record(store: Store) -> None:
    """More ids than one IN (...) list may hold: reads, parent refreshes and drops chunk."""
    ids = [f"scan-{n:05d}" for n in range(2_500)]
    await store.snapshots.record([snap(scan_id, "QUEUED") for scan_id in ids], [])
    assert await store.snapshots.count() == 2_500
    for scan_id in (ids[0], ids[-1]):
        row = (await queue(store, alert(scan_id)))[0]
        await store.threads.start(row.id, row.alert, f"ts-{scan_id}", "card")

    await store.snapshots.record([snap(scan_id, "RUNNING") for scan_id in ids], [])
    read = await store.snapshots.read(ids)
    assert len(read) == 2_500
    assert {s.summary.state for s in read.values()} == {"RUNNING"}
    assert {t.summary.state for t in await store.threads.all()} == {"RUNNING"}
    assert len(await store.snapshots.active_ids()) == 2_500

    await store.snapshots.record([], [], dropped=ids)
    assert await store.snapshots.count() == 0


async def test_apply_computes_from_the_snapshots_it_read(store: Store) -> None:
    await store.snapshots.record([snap("scan-a", "QUEUED"), snap("scan-b")], [])
    seen: list[Mapping[str, Snapshot]] = []

    def compute(
        current: Mapping[str, Snapshot],
    ) -> tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]:
        seen.append(dict(current))
        return [snap("scan-a", "SUCCEEDED"), snap("scan-new")], [alert("scan-a")], ["scan-b"]

    queued = await store.snapshots.observe(
        ["scan-a", "scan-new"], compute, mark=CycleMark(7, "2026-11-01T12:00:00+00:00")
    )
    assert queued == 1
    assert seen == [{"scan-a": snap("scan-a", "QUEUED")}]
    after = await store.snapshots.read(["scan-a", "scan-b", "scan-new"])
    assert after == {"scan-a": snap("scan-a", "SUCCEEDED"), "scan-new": snap("scan-new")}
    assert [row.alert for row in await store.outbox.due()] == [alert("scan-a")]
    state = await store.state.read()
    assert (state.baseline_done, state.cycles) == (True, 7)
    assert state.last_cycle_at == "2026-11-01T12:00:00+00:00"


async def test_concurrent_applies_each_see_the_others_writes(store: Store) -> None:
    """A webhook and a poll observing one scan at once: no write is lost."""
    await store.snapshots.record([snap("scan-a")], [])

    def add_risk(risk_id: str) -> Any:
        def compute(
            current: Mapping[str, Snapshot],
        ) -> tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]:
            before = current["scan-a"]
            risks = before.alerted_risks | {risk_id}
            return [before.model_copy(update={"alerted_risks": risks})], [], []

        return compute

    risk_ids = [f"risk-{n}" for n in range(8)]
    await asyncio.gather(*(store.snapshots.observe(["scan-a"], add_risk(r)) for r in risk_ids))
    assert (await store.snapshots.read(["scan-a"]))["scan-a"].alerted_risks == frozenset(risk_ids)


async def test_apply_writes_nothing_when_compute_fails(store: Store) -> None:
    await store.snapshots.record([snap("scan-a")], [])

    def compute(
        current: Mapping[str, Snapshot],
    ) -> tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]:
        raise RuntimeError("a bug in the diff")

    with pytest.raises(RuntimeError, match="a bug in the diff"):
        await store.snapshots.observe(["scan-a"], compute)
    assert await store.snapshots.read(["scan-a"]) == {"scan-a": snap("scan-a")}
    # and the store still writes afterwards (no lock left held)
    assert await store.snapshots.record([snap("scan-b")], [alert("scan-b")]) == 1


def test_the_active_index_condition_names_exactly_the_final_states() -> None:
    from scanbot.hostedscan.models import FINAL_STATES
    from scanbot.store.snapshots import NOT_FINAL_SQL

    named = NOT_FINAL_SQL.removeprefix("state NOT IN (").removesuffix(")").split(", ")
    assert {name.strip("'") for name in named} == {str(state) for state in FINAL_STATES}


async def test_nothing_stored_until_a_snapshot_or_a_thread_is(store: Store) -> None:
    assert await store.snapshots.nothing_stored()
    (row,) = await queue(store, alert("scan-t"))
    assert await store.snapshots.nothing_stored()  # an outbox row alone: still nothing
    await store.threads.start(row.id, row.alert, "ts-1", "card")
    assert not await store.snapshots.nothing_stored()  # a thread (its snapshot pruned)


async def test_nothing_stored_is_false_once_a_snapshot_is(store: Store) -> None:
    await store.snapshots.record([snap("scan-s")], [])
    assert not await store.snapshots.nothing_stored()
