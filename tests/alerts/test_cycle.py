"""The poll cycle against the sandbox in-process (ASGI transport) and a real store on SQLite
and PostgreSQL: the baseline, events queued once per channel, 404s, page-sized
transactions, and each scan diffed ONCE per cycle (a spy counts the diff calls) unless a
webhook changed its snapshot between the first look and the lock."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from scanbot.alerts import cycle
from scanbot.alerts.cycle import Poller
from scanbot.alerts.diff import diff
from scanbot.domain.events import EventKind, ScanEvent, Snapshot
from scanbot.hostedscan import HostedScanClient, Scan
from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.store import Store
from scanbot.store.snapshots import Compute
from scanbot.store.state import CycleMark, StateValues
from tests.store.conftest import Database, database, store  # noqa: F401 - fixtures used by name

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0ALERTS"


@dataclass
class Rig:
    poller: Poller
    store: Store
    world: SandboxWorld
    hostedscan: HostedScanClient

    def scan(self, state: str = "RUNNING", *, risks: int = 0, type: str = "OPENVAS") -> str:
        return self.world.add_scan(
            type=type, state=state, targets=["app.example.com"], risks=risks, progress=None
        )

    async def queued(self) -> list[tuple[str, EventKind]]:
        rows = await self.store.outbox.due()
        return [(r.alert.event.summary.scan_id, r.alert.event.kind) for r in rows]


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:  # noqa: F811 - the store fixture
    world = SandboxWorld(seed=5, scans=0, arrivals_per_hour=0, clock=SimClock(speed=0.0))
    transport = httpx.ASGITransport(app=create_sandbox_app(world))
    hostedscan = HostedScanClient.create(
        "http://sandbox.test", SANDBOX_API_KEY, transport=transport, max_attempts=1
    )
    await store.subscriptions.add(CHANNEL, events=["started", "finished", "failed", "risks"])
    try:
        yield Rig(Poller(hostedscan, store, clock=lambda: T0), store, world, hostedscan)
    finally:
        await hostedscan.aclose()


@pytest.fixture
def diffed(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times the cycle diffed each scan (by id): a spy around the real diff."""
    calls: Counter[str] = Counter()

    def counting(
        previous: Snapshot | None, current: Scan, now: datetime, *, baseline: bool = False
    ) -> tuple[list[ScanEvent], Snapshot]:
        calls[current.id] += 1
        return diff(previous, current, now, baseline=baseline)

    monkeypatch.setattr(cycle, "diff", counting)
    return calls


async def test_the_baseline_takes_in_every_scan_and_alerts_nothing(rig: Rig) -> None:
    ids = {rig.scan("RUNNING"), rig.scan("SUCCEEDED", risks=3), rig.scan("QUEUED")}
    report = await rig.poller.run_cycle()
    assert (report.cycle, report.baseline, report.full_sweep) == (1, True, True)
    assert (report.listed, report.events, report.queued) == (3, [], 0)
    assert set(await rig.store.snapshots.read(ids)) == ids
    state = await rig.store.state.read()
    assert (state.cycles, state.baseline_done, state.last_cycle_at) == (1, True, T0.isoformat())


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch, rig: Rig) -> list[str]:
    """The snapshot reads a cycle makes: "before" (the first look's), "locked" (observe's)."""
    made: list[str] = []
    snapshots = rig.store.snapshots
    read, observe = snapshots.read, snapshots.observe

    async def reading(scan_ids: Collection[str]) -> dict[str, Snapshot]:
        made.append("before")
        return await read(scan_ids)

    async def observing(
        scan_ids: Collection[str],
        compute: Compute,
        *,
        mark: CycleMark | None = None,
        read: bool = True,
    ) -> int:
        made.extend(["locked"] if read else [])
        return await observe(scan_ids, compute, mark=mark, read=read)

    monkeypatch.setattr(snapshots, "read", reading)
    monkeypatch.setattr(snapshots, "observe", observing)
    return made


async def test_a_baseline_on_an_empty_store_reads_no_snapshot(rig: Rig, reads: list[str]) -> None:
    ids = {rig.scan("RUNNING"), rig.scan("QUEUED"), rig.scan("SUCCEEDED", risks=2)}
    report = await rig.poller.run_cycle()
    assert report.baseline
    assert reads == []
    assert set(await rig.store.snapshots.read(ids)) == ids  # all taken in all the same
    reads.clear()
    await rig.poller.run_cycle()  # the next cycle reads as usual
    assert "before" in reads
    assert "locked" in reads


async def test_a_baseline_left_half_done_reads_what_it_wrote(rig: Rig, reads: list[str]) -> None:
    """A baseline cut short (a crash after some batches) starts again on a store with rows:
    those are read, so a scan already announced stays announced."""
    queued = rig.scan("QUEUED")
    rig.world.set_state(queued, "RUNNING")
    await rig.store.snapshots.record(
        [diff(None, Scan.model_validate(rig.world.get_scan(queued)), T0, baseline=True)[1]], []
    )
    rig.world.set_state(queued, "QUEUED")  # HostedScan requeued it
    report = await rig.poller.run_cycle()
    assert report.baseline
    assert reads == ["before", "locked"]
    assert (await rig.store.snapshots.read([queued]))[queued].announced


async def test_changes_after_the_baseline_are_queued_once(rig: Rig) -> None:
    running, queued = rig.scan("RUNNING"), rig.scan("QUEUED")
    await rig.poller.run_cycle()
    rig.world.set_state(running, "FAILED")
    rig.world.set_state(queued, "RUNNING")
    fresh = rig.scan("RUNNING")
    report = await rig.poller.run_cycle()
    assert not report.baseline
    kinds = {(e.summary.scan_id, e.kind) for e in report.events}
    assert kinds == {
        (running, EventKind.FINISHED),
        (queued, EventKind.STARTED),
        (fresh, EventKind.STARTED),
    }
    assert sorted(await rig.queued()) == sorted(kinds)
    assert report.queued == 3
    again = await rig.poller.run_cycle()  # nothing changed since: nothing new
    assert (again.events, again.queued) == ([], 0)


async def test_each_changed_scan_is_diffed_once(rig: Rig, diffed: Counter[str]) -> None:
    ids = [rig.scan("RUNNING", risks=2) for _ in range(6)]
    await rig.poller.run_cycle()
    diffed.clear()
    for scan_id in ids[:4]:
        rig.world.set_state(scan_id, "SUCCEEDED")
    report = await rig.poller.run_cycle()
    assert {e.summary.scan_id for e in report.events} == set(ids[:4])
    assert report.queued == len(report.events) >= 4
    # Every listed scan is looked at once; none again in the transaction, none for details.
    assert diffed == Counter({scan_id: 1 for scan_id in ids})


async def test_a_snapshot_changed_before_the_lock_is_diffed_again(
    rig: Rig,
    diffed: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
    database: Database,  # noqa: F811
) -> None:
    """A webhook on another replica observes a scan between the cycle's first look and its
    transaction: the cycle diffs that scan again against the new snapshot, so the change
    is alerted once (by the webhook), and the others keep their first look."""
    webhooked, other = rig.scan("RUNNING"), rig.scan("RUNNING")
    await rig.poller.run_cycle()
    rig.world.set_state(webhooked, "FAILED")
    rig.world.set_state(other, "SUCCEEDED")
    replica_store = await database.open(migrate=False)  # another replica's own store
    replica = Poller(rig.hostedscan, replica_store, clock=lambda: T0 + timedelta(seconds=1))
    observe = rig.store.snapshots.observe

    async def webhook_first(
        scan_ids: Collection[str],
        compute: Compute,
        *,
        mark: CycleMark | None = None,
        read: bool = True,
    ) -> int:
        await replica.refresh_scan(webhooked)
        return await observe(scan_ids, compute, mark=mark, read=read)

    monkeypatch.setattr(rig.store.snapshots, "observe", webhook_first)
    diffed.clear()
    try:
        report = await rig.poller.run_cycle()
    finally:
        await replica_store.close()

    assert diffed == Counter({webhooked: 3, other: 1})  # first look, the webhook's, again
    assert [(e.summary.scan_id, e.kind) for e in report.events] == [(other, EventKind.FINISHED)]
    assert sorted(await rig.queued()) == sorted(
        [(webhooked, EventKind.FINISHED), (other, EventKind.FINISHED)]
    )
    snapshot = (await rig.store.snapshots.read([webhooked]))[webhooked]
    assert snapshot.summary.state == "FAILED"


async def test_risk_details_come_from_the_first_look(rig: Rig, diffed: Counter[str]) -> None:
    scan_id = rig.scan("RUNNING", risks=0)
    await rig.poller.run_cycle()
    rig.world.set_state(scan_id, "SUCCEEDED")
    risky = rig.scan("RUNNING", risks=4)
    diffed.clear()
    report = await rig.poller.run_cycle()
    (risks,) = [e for e in report.events if e.kind is EventKind.RISKS]
    assert risks.summary.scan_id == risky
    assert len(risks.risk_ids) == 4
    (row,) = [r for r in await rig.store.outbox.due() if r.alert.event.kind is EventKind.RISKS]
    assert row.alert.risk_count == 4
    assert all(detail.title and detail.threat_level for detail in row.alert.risks)
    assert diffed == Counter({scan_id: 1, risky: 1})


async def test_a_scan_gone_is_counted_once_then_dropped(rig: Rig) -> None:
    scan_id = rig.scan("RUNNING")
    await rig.poller.run_cycle()
    rig.world.remove_scan(scan_id)
    first = await rig.poller.run_cycle()  # a 404: maybe a blip
    assert (first.events, first.dropped) == ([], 0)
    snapshot = (await rig.store.snapshots.read([scan_id]))[scan_id]
    assert snapshot.missing_since == T0
    second = await rig.poller.run_cycle()
    assert [(e.summary.scan_id, e.kind) for e in second.events] == [(scan_id, EventKind.GONE)]
    assert second.dropped == 1
    assert await rig.store.snapshots.read([scan_id]) == {}


async def test_a_page_of_scans_per_transaction(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory follows the batch, not the account: a listing is observed a page at a time."""
    for _ in range(5):
        rig.scan("RUNNING")
    monkeypatch.setattr(cycle, "BATCH", 2)
    observed: list[int] = []
    observe = rig.store.snapshots.observe

    async def counting(scan_ids: Collection[str], compute: Compute, **options: Any) -> int:
        observed.append(len(scan_ids))
        return await observe(scan_ids, compute, **options)

    monkeypatch.setattr(rig.store.snapshots, "observe", counting)
    report = await rig.poller.run_cycle()
    assert report.listed == 5
    assert observed == [2, 2, 1]
    assert await rig.store.snapshots.count() == 5


async def test_a_webhook_before_the_baseline_changes_nothing(rig: Rig) -> None:
    scan_id = rig.scan("RUNNING")
    report = await rig.poller.refresh_scan(scan_id)
    assert (report.listed, report.events) == (1, [])
    assert await rig.store.snapshots.count() == 0
    assert await rig.store.state.read() == StateValues()


async def test_the_collector_is_paused_during_a_cycle_and_back_after(rig: Rig) -> None:
    seen: list[bool] = []
    original = rig.poller._observe  # a spy on the batches

    async def observe(*args: Any, **kwargs: Any) -> None:
        seen.append(gc.isenabled())
        await original(*args, **kwargs)

    rig.poller._observe = observe  # type: ignore[method-assign]
    rig.scan("RUNNING")
    assert gc.isenabled()
    await asyncio.gather(rig.poller.run_cycle(), rig.poller.run_cycle(steady_only=True))
    assert seen
    assert not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:
        async with cycle.collector_paused():
            pass
        assert not gc.isenabled()  # turned off by someone else: left off
    finally:
        gc.enable()
