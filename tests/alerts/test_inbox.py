"""Webhook work on SQLite and PostgreSQL, the sandbox in-process counting requests: a
window's events make one look, failed looks are retried with back-off (an injected sleep)
and stay stored until done, a full queue leaves events to polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from scanbot.alerts.cycle import Poller
from scanbot.alerts.inbox import WebhookInbox
from scanbot.hostedscan import HostedScanClient
from scanbot.hostedscan.webhooks import WebhookEvent
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.store import Store
from tests.store.conftest import Database, database, store  # noqa: F401 - fixtures used by name

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0ALERTS"


@dataclass
class Rig:
    poller: Poller
    store: Store
    world: SandboxWorld
    sandbox: SandboxControls
    slept: list[float]
    looked: list[int]

    def inbox(self, **options: object) -> WebhookInbox:
        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)
            await asyncio.sleep(0)

        async def on_looked() -> None:
            self.looked.append(1)

        return WebhookInbox(
            self.poller,
            self.store,
            on_looked=on_looked,
            sleep=sleep,
            clock=lambda: T0,
            **options,  # type: ignore[arg-type]
        )

    async def event(self, event_id: str, type: str, scan_id: str | None = None) -> WebhookEvent:
        event = WebhookEvent(id=event_id, type=type, data={"id": scan_id} if scan_id else {})
        assert await self.store.webhooks.first_delivery(
            event.id, scan_id=event.scan_id, risks=event.is_risk_event
        )
        return event


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:  # noqa: F811 - the store fixture
    world = SandboxWorld(seed=5, scans=0, arrivals_per_hour=0, clock=SimClock(speed=0.0))
    app = create_sandbox_app(world)
    hostedscan = HostedScanClient.create(
        "http://sandbox.test",
        SANDBOX_API_KEY,
        transport=httpx.ASGITransport(app=app),
        max_attempts=1,
    )
    await store.subscriptions.add(CHANNEL, events=["started", "finished", "failed", "risks"])
    poller = Poller(hostedscan, store, clock=lambda: T0)
    try:
        yield Rig(poller, store, world, app.state.controls, [], [])
    finally:
        await hostedscan.aclose()


async def _baseline(rig: Rig) -> list[str]:
    ids = [
        rig.world.add_scan(type="NMAP", state="RUNNING", targets=[f"h{n}.example"], progress=10)
        for n in range(2)
    ]
    await rig.poller.run_cycle()
    rig.sandbox.reset()
    return ids


async def test_many_events_for_one_scan_make_one_fetch(rig: Rig) -> None:
    scan_id, _ = await _baseline(rig)
    rig.world.set_state(scan_id, "FAILED")
    inbox = rig.inbox()
    events = [await rig.event(f"e{n}", "scan.updated", scan_id) for n in range(20)]
    results = await asyncio.gather(*(inbox.submit(e) for e in events))
    assert all(results)
    assert rig.sandbox.count() == 1
    assert rig.sandbox.count(f"/v1/scans/{scan_id}") == 1
    assert rig.looked == [1]
    assert await _alerted(rig) == {scan_id}
    assert await rig.store.webhooks.pending(T0.replace(year=2000)) == []


async def test_risk_events_make_one_listing_per_window(rig: Rig) -> None:
    _, other = await _baseline(rig)
    inbox = rig.inbox()
    events = [await rig.event(f"r{n}", "risk.created") for n in range(30)]
    events.append(await rig.event("s1", "scan.updated", other))
    await asyncio.gather(*(inbox.submit(e) for e in events))
    # One listing page of the active scans; `other` is in it: no fetch by id.
    assert rig.sandbox.count() == 1
    assert rig.sandbox.count("/v1/scans") == 1
    assert inbox.counts.looks == 1


async def test_failed_work_is_retried_with_back_off_and_kept_until_done(rig: Rig) -> None:
    scan_id, _ = await _baseline(rig)
    rig.world.set_state(scan_id, "FAILED")
    rig.sandbox.add_fault(503, times=2)
    inbox = rig.inbox()
    event = await rig.event("e1", "scan.updated", scan_id)
    await inbox.submit(event)  # the first look failed: answered, retried in the background
    assert inbox.counts.failed == 1
    assert [w.event_id for w in await rig.store.webhooks.pending(T0.replace(year=2000))] == ["e1"]
    await asyncio.wait_for(inbox.idle(), 5)
    assert inbox.counts.failed == 2
    assert rig.slept == [2.0, 2.0, 4.0]  # the window, then two back-offs
    assert await _alerted(rig) == {scan_id}
    assert await rig.store.webhooks.pending(T0.replace(year=2000)) == []


async def test_work_a_restart_interrupted_is_taken_up(rig: Rig) -> None:
    scan_id, _ = await _baseline(rig)
    rig.world.set_state(scan_id, "FAILED")
    await rig.event("e1", "scan.updated", scan_id)  # recorded, then the process died
    inbox = rig.inbox()
    assert await inbox.resume() == 1
    await asyncio.wait_for(inbox.idle(), 5)
    assert await _alerted(rig) == {scan_id}
    assert await rig.store.webhooks.pending(T0.replace(year=2000)) == []


async def test_a_full_queue_leaves_events_to_polling(rig: Rig) -> None:
    scan_id, other = await _baseline(rig)
    inbox = rig.inbox(capacity=1)
    first = asyncio.create_task(inbox.submit(await rig.event("e1", "scan.updated", scan_id)))
    await asyncio.sleep(0)
    assert inbox.depth == 1
    assert not await inbox.submit(await rig.event("e2", "scan.updated", other))
    assert await first
    assert inbox.counts.dropped == 1
    assert rig.sandbox.count() == 1
    assert await rig.store.webhooks.pending(T0.replace(year=2000)) == []


async def test_an_event_with_nothing_to_look_at_is_not_queued(rig: Rig) -> None:
    inbox = rig.inbox()
    assert not await inbox.submit(WebhookEvent(id="x", type="target.created"))
    assert inbox.counts.received == 0


async def _alerted(rig: Rig) -> set[str]:
    return {row.alert.event.summary.scan_id for row in await rig.store.outbox.due()}
