"""Delivery apart from polling, on SQLite and PostgreSQL: a slow Slack never holds up a
poll, wakes coalesce into one more round, parent edits draw only the newest state and are
paced per channel without one channel waiting for another (an injected clock and sleep)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.alerts.cycle import Poller
from scanbot.alerts.delivery import Rounds
from scanbot.alerts.leader import SoleInstance
from scanbot.alerts.sender import Sender
from scanbot.alerts.service import AlertService
from scanbot.domain.events import Snapshot
from scanbot.domain.scans import ScanSummary
from scanbot.hostedscan import HostedScanClient
from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background
from scanbot.store import Store
from tests.slack.blockkit import assert_valid_message
from tests.store.conftest import Database, database, store  # noqa: F401 - fixtures used by name
from tests.store.values import alert, queue

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0ALERTS"


@dataclass
class Rig:
    service: AlertService
    sender: Sender
    store: Store
    world: SandboxWorld
    slack: FakeSlack


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:  # noqa: F811 - the store fixture
    world = SandboxWorld(seed=5, scans=0, arrivals_per_hour=0, clock=SimClock(speed=0.0))
    transport = httpx.ASGITransport(app=create_sandbox_app(world))
    hostedscan = HostedScanClient.create(
        "http://sandbox.test", SANDBOX_API_KEY, transport=transport, max_attempts=1
    )
    fake = FakeSlack()
    await store.subscriptions.add(CHANNEL, events=["started", "finished", "failed", "risks"])
    async with serve_in_background(fake.app) as url:
        slack = AsyncWebClient(token=fake.bot_token, base_url=f"{url}/api/")
        sender = Sender(slack, store, channel_interval=0, edit_interval=0)
        poller = Poller(hostedscan, store, full_sweep_every=1)
        service = AlertService(poller, sender, store, SoleInstance(), slack, deliver_interval=30.0)
        try:
            yield Rig(service, sender, store, world, fake)
        finally:
            await service.posting.stop()
            await service.editing.stop()
            await hostedscan.aclose()


async def test_a_slow_slack_never_holds_up_the_next_poll(rig: Rig) -> None:
    await rig.service.poll()  # baseline
    rig.service.posting.start()
    slack_answers = asyncio.Event()
    rig.slack.fail_next("chat.postMessage", until=slack_answers)
    scan_id = rig.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["a.example"])

    first = await rig.service.poll()
    assert first.cycle is not None
    assert first.cycle.queued == 1
    await rig.slack.wait_for_calls("chat.postMessage")  # under way, Slack not answering
    second = await asyncio.wait_for(rig.service.poll(), timeout=5)
    assert second.cycle is not None
    assert second.cycle.cycle == first.cycle.cycle + 1
    assert not slack_answers.is_set()
    assert rig.slack.channels.get(CHANNEL) is None

    slack_answers.set()
    await _until(lambda: bool(rig.slack.channels.get(CHANNEL)))
    (message,) = rig.slack.channels[CHANNEL]
    assert scan_id in message["text"]
    assert_valid_message(message)


async def test_a_cycle_that_commits_rows_wakes_delivery_at_once(rig: Rig) -> None:
    """The round timer is 30 s: only the wake can deliver within the test."""
    await rig.service.poll()
    rig.service.posting.start()
    await _until(lambda: rig.service.posting.rounds == 0)
    rig.world.add_scan(type="NMAP", state="FAILED", targets=["a.example"])
    await rig.service.poll()
    await _until(lambda: len(rig.slack.channels.get(CHANNEL, [])) == 1)


async def test_a_post_slack_refused_is_retried_when_due_not_at_the_round_timer(
    rig: Rig,
) -> None:
    """Slack answers 500 once: the retry is due about a second later and the round runs then, with
    no wake and a 30 s round timer (the alert latency a fault costs is the back-off)."""
    await rig.service.poll()
    rig.service.posting.start()
    await _until(lambda: rig.service.posting.rounds == 0)
    rig.slack.fail_next("chat.postMessage", status=500, error="internal_error")
    rig.world.add_scan(type="NMAP", state="FAILED", targets=["a.example"])
    await rig.service.poll()
    await _until(lambda: len(rig.slack.calls_to("chat.postMessage")) == 1)
    refused_at = asyncio.get_running_loop().time()
    await _until(lambda: len(rig.slack.channels.get(CHANNEL, [])) == 1, seconds=5.0)
    waited = asyncio.get_running_loop().time() - refused_at
    assert 0.3 <= waited < 4.0, waited  # the back-off (0.5-2 s), not the 30 s timer
    assert rig.service.posting.rounds >= 2


async def test_edits_draw_only_the_newest_state_once(rig: Rig) -> None:
    (row,) = await queue(rig.store, alert("scan-a", CHANNEL, state="RUNNING"))
    await rig.store.threads.start(row.id, row.alert, "1700000000.000100", "shown-before")
    rig.slack.channels[CHANNEL] = [{"ts": "1700000000.000100", "text": "running"}]
    for progress in (20.0, 50.0, 90.0):  # three cycles while the edit step was busy
        moved = ScanSummary(scan_id="scan-a", type="NMAP", state="RUNNING", progress=progress)
        await rig.store.snapshots.record([Snapshot(summary=moved, last_seen=T0)], [])
    report = await rig.sender.edit_parents()
    assert report.edited == 1
    (update,) = rig.slack.calls_to("chat.update")
    assert "90" in str(update.body["blocks"])
    assert_valid_message(update.body)
    assert (await rig.sender.edit_parents()).edited == 0


async def test_edits_are_paced_per_channel_and_one_slow_channel_blocks_no_other(
    rig: Rig,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the clock stands still: waits add up
        slept.append(seconds)
        await asyncio.sleep(0)

    sender = Sender(
        rig.sender._slack,  # the rig's client, another pacing
        rig.store,
        edit_interval=1.2,
        sleep=sleep,
        monotonic=lambda: 100.0,
    )
    for channel in ("C0SLOW", "C0FAST"):
        rig.slack.channels[channel] = []
        for n in range(3):
            (row,) = await queue(rig.store, alert(f"scan-{n}", channel, state="RUNNING"))
            ts = f"1700000000.{n}{len(channel)}0100"
            rig.slack.channels[channel].append({"ts": ts, "text": "x"})
            await rig.store.threads.start(row.id, row.alert, ts, "shown-before")
    slow = asyncio.Event()
    rig.slack.fail_next("chat.update", until=slow, channel="C0SLOW")
    editing = asyncio.create_task(sender.edit_parents())

    def fast_edits() -> int:
        return sum(1 for c in rig.slack.calls_to("chat.update") if c.body["channel"] == "C0FAST")

    await _until(lambda: fast_edits() == 3)  # all three while the slow channel waits
    assert not editing.done()
    slow.set()
    report = await editing
    assert report.edited == 6
    # Each channel's own pace (one global pace would wait 1.2, 2.4, ... 6.0).
    assert sorted(slept) == pytest.approx([1.2, 1.2, 2.4, 2.4])


async def test_rounds_coalesce_wakes_and_outlive_a_failure() -> None:
    ran: list[int] = []
    gate = asyncio.Event()

    async def work() -> float | None:
        ran.append(len(ran))
        if len(ran) == 1:
            await gate.wait()
            raise RuntimeError("Slack is down")
        return None

    rounds = Rounds("test", work, interval=60.0)
    rounds.wake()
    rounds.start()
    await _until(lambda: len(ran) == 1)
    for _ in range(5):  # while the first round runs
        rounds.wake()
    gate.set()
    await _until(lambda: len(ran) == 2)
    await asyncio.sleep(0.05)
    assert len(ran) == 2  # five wakes, one more round
    await rounds.stop()


async def test_rounds_run_again_when_the_work_says_more_comes_due() -> None:
    ran: list[float] = []
    loop = asyncio.get_running_loop()

    async def work() -> float | None:
        ran.append(loop.time())
        return 0.2 if len(ran) == 1 else None  # then nothing known: the 60 s timer

    rounds = Rounds("test", work, interval=60.0)
    rounds.wake()
    rounds.start()
    await _until(lambda: len(ran) == 2)
    assert 0.15 <= ran[1] - ran[0] < 2.0
    await asyncio.sleep(0.3)
    assert len(ran) == 2  # None: no round before the timer or a wake
    await rounds.stop()


async def test_work_due_now_or_overdue_does_not_spin() -> None:
    ran: list[float] = []
    loop = asyncio.get_running_loop()

    async def work() -> float | None:
        ran.append(loop.time())
        return -5.0  # a row overdue (say, a clock behind): run again, but not at once

    rounds = Rounds("test", work, interval=60.0)
    rounds.wake()
    rounds.start()
    await asyncio.sleep(0.3)
    await rounds.stop()
    assert 2 <= len(ran) <= 8, len(ran)  # ~0.05 s apart, not thousands


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the fake Slack's state, no event to await
            await asyncio.sleep(0.01)
