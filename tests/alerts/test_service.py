"""AlertService on its own: what a tick, a delivery round and a webhook run, in which order,
only while leading; failures counted in the store (SQLite and PostgreSQL) and told to the
admin channel once; every job a boundary that logs and goes on. The poller, sender,
leadership and triage are recording fakes (their own tests: test_cycle.py, tests/e2e)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from scanbot.alerts import service
from scanbot.alerts.cycle import CycleReport, Poller
from scanbot.alerts.jobs import STOP_GRACE
from scanbot.alerts.leader import Leadership
from scanbot.alerts.sender import Sender, SendReport
from scanbot.alerts.service import STANDBY_WATCH, AlertService
from scanbot.hostedscan.webhooks import WebhookEvent
from scanbot.slack.notifier import Notifier
from scanbot.store import Store
from scanbot.triage.service import Triage
from tests.store.conftest import database, store  # noqa: F401 - fixtures used by name

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ADMIN = "C0ADMIN"


class Steps:
    """What the fakes were asked to do, in order, across all of them."""

    def __init__(self) -> None:
        self.done: list[str] = []


class FakePoller:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.errors: list[Exception | None] = []
        self.cycle = 0
        self.running = 0
        self.overlapped = False

    async def run_cycle(
        self, *, steady_only: bool = False, also: Collection[str] = ()
    ) -> CycleReport:
        self.steps.done.append("cycle (steady only)" if steady_only else "cycle")
        self.running += 1
        self.overlapped |= self.running > 1
        await asyncio.sleep(0.01)
        self.running -= 1
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        self.cycle += 1
        return CycleReport(cycle=self.cycle)

    async def refresh_scans(self, scan_ids: Collection[str]) -> None:
        self.steps.done += [f"refresh {scan_id}" for scan_id in scan_ids]
        if self.errors:
            error = self.errors.pop(0)
            if error is not None:
                raise error


class FakeSender:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.report = SendReport(sent=1)
        self.error: Exception | None = None

    async def send(self) -> SendReport:
        self.steps.done.append("send")
        return SendReport()

    async def edit_parents(self) -> SendReport:
        return SendReport()

    async def deliver(self) -> SendReport:
        self.steps.done.append("deliver")
        if self.error is not None:
            raise self.error
        return self.report


class FakeLeadership:
    def __init__(self) -> None:
        self.leading = True
        self.released = False

    async def ensure(self) -> bool:
        return self.leading

    async def release(self) -> None:
        self.released = True


class FakeTriage:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    async def release_held(self, now: datetime | None = None) -> int:
        self.steps.done.append(f"release held at {now}")
        return 0


class FakeSlack:
    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.error: str | None = None

    async def chat_postMessage(self, **kwargs: Any) -> AsyncSlackResponse:
        self.posted.append(kwargs)
        data = {"ok": self.error is None, "error": self.error}
        response = AsyncSlackResponse(
            client=None,
            http_verb="POST",
            api_url="chat.postMessage",
            req_args={},
            data=data,
            headers={},
            status_code=200,
        )
        if self.error:
            raise SlackApiError(self.error, response)
        return response


class Harness:
    def __init__(
        self, db: Store, *, admin_channel: str | None = ADMIN, poll_interval: float = 60.0
    ) -> None:
        self.steps = Steps()
        self.poller = FakePoller(self.steps)
        self.sender = FakeSender(self.steps)
        self.leadership = FakeLeadership()
        self.triage = FakeTriage(self.steps)
        self.slack = FakeSlack()
        self.store = db
        self.service = AlertService(
            cast(Poller, self.poller),
            cast(Sender, self.sender),
            db,
            cast(Leadership, self.leadership),
            Notifier(cast(AsyncWebClient, self.slack)),  # the real seam over a fake client
            admin_channel=admin_channel,
            poll_interval=poll_interval,
            failures_before_notice=3,
            triage=cast(Triage, self.triage),
            clock=lambda: NOW,
        )


@pytest.fixture
def h(store: Store) -> Harness:  # noqa: F811 - the store fixture, by name
    return Harness(store)


async def test_a_tick_polls_then_delivers_then_releases_held_alerts(h: Harness) -> None:
    report = await h.service.tick()
    assert report.leading
    assert report.cycle == CycleReport(cycle=1)
    assert report.sent == SendReport(sent=1)
    assert report.error is None
    assert h.steps.done == ["cycle", "deliver", f"release held at {NOW}"]


async def test_a_replica_that_does_not_lead_does_nothing(h: Harness) -> None:
    h.leadership.leading = False
    report = await h.service.tick()
    assert not report.leading
    assert report.cycle is None
    assert await h.service.deliver_tick() is None
    assert h.steps.done == []
    assert not h.service.leading


async def test_held_alerts_wait_while_slack_delivery_is_paused(h: Harness) -> None:
    h.sender.report = SendReport(paused="token_revoked")
    await h.service.tick()
    assert await h.service.deliver_tick() == SendReport(paused="token_revoked")
    assert h.steps.done == ["cycle", "deliver", "deliver"]


async def test_two_ticks_at_once_run_one_after_the_other(h: Harness) -> None:
    await asyncio.gather(h.service.tick(), h.service.tick())
    assert not h.poller.overlapped
    assert h.poller.cycle == 2


async def test_failed_polls_are_counted_told_once_then_the_recovery(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.poller.errors = [RuntimeError("HostedScan down")] * 4
    with caplog.at_level(logging.ERROR, logger="scanbot"):
        reports = [await h.service.tick() for _ in range(4)]
    assert [r.error for r in reports] == ["RuntimeError: HostedScan down"] * 4
    assert h.steps.done.count("deliver") == 4  # the outbox is delivered anyway
    state = await h.store.state.read()
    assert state.poll_failures == 4
    assert state.poll_down_since == NOW.isoformat()
    assert [r.notes for r in reports] == [[], [], [reports[2].notes[0]], []]
    (told,) = h.slack.posted
    assert told["channel"] == ADMIN
    assert (
        "could not poll HostedScan 3 times in a row (RuntimeError: HostedScan down)" in told["text"]
    )
    assert all(r.exc_info for r in caplog.records if r.getMessage().startswith("poll cycle"))

    recovered = await h.service.tick()
    assert recovered.error is None
    assert recovered.notes == [
        f"scanbot polls HostedScan again (it failed from {NOW.isoformat()})."
    ]
    assert len(h.slack.posted) == 2
    state = await h.store.state.read()
    assert (state.poll_failures, state.poll_down_since) == (0, None)


async def test_without_an_admin_channel_notes_are_only_logged(
    store: Store,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness(store, admin_channel=None)
    h.poller.errors = [RuntimeError("down")] * 3
    with caplog.at_level(logging.WARNING, logger="scanbot"):
        for _ in range(3):
            await h.service.tick()
    assert h.slack.posted == []
    assert any("could not poll HostedScan 3 times" in r.getMessage() for r in caplog.records)


async def test_an_admin_note_slack_refuses_is_logged_not_raised(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.slack.error = "channel_not_found"
    h.poller.errors = [RuntimeError("down")] * 3
    with caplog.at_level(logging.ERROR, logger="scanbot"):
        for _ in range(3):
            await h.service.tick()
    assert len(h.slack.posted) == 1
    assert "could not tell SCANBOT_ADMIN_CHANNEL: channel_not_found" in caplog.messages


async def test_a_failed_delivery_round_is_reported_and_the_next_goes_on(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.sender.error = RuntimeError("database is locked")
    with caplog.at_level(logging.ERROR, logger="scanbot"):
        report = await h.service.tick()
        assert await h.service.deliver_tick() is None
    assert report.cycle == CycleReport(cycle=1)
    assert report.error == "delivery failed: RuntimeError: database is locked"
    assert caplog.messages == ["delivery round failed: database is locked"] * 2
    h.sender.error = None
    assert await h.service.deliver_tick() == SendReport(sent=1)


async def test_old_rows_are_pruned_every_so_many_cycles(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.poller.cycle = service.PRUNE_EVERY - 2
    with caplog.at_level(logging.INFO, logger="scanbot.alerts.service"):
        await h.service.tick()
        assert not [m for m in caplog.messages if m.startswith("pruned")]
        await h.service.tick()
    assert [m[:16] for m in caplog.messages if m.startswith("pruned")] == ["pruned old rows:"]


@pytest.mark.parametrize(
    ("event", "steps"),
    [
        ({"type": "scan.succeeded", "data": {"id": "scan-1"}}, ["refresh scan-1", "deliver"]),
        ({"type": "risk.opened", "data": {"id": "risk-1"}}, ["cycle (steady only)", "deliver"]),
        ({"type": "scan.succeeded", "data": {"id": "<bad id>"}}, []),
        ({"type": "target.created", "data": {}}, []),
    ],
)
async def test_a_webhook_looks_at_what_it_names_then_delivers(
    h: Harness, event: dict[str, Any], steps: list[str]
) -> None:
    await h.service.on_webhook(WebhookEvent(id="ev-1", **event))
    assert h.steps.done == [*steps, *([f"release held at {NOW}"] if steps else [])]


async def test_a_webhook_that_fails_is_kept_for_a_retry_not_delivered(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # The retries themselves (back-off, kept until done, then polling): tests/alerts/test_inbox.
    h.poller.errors = [RuntimeError("HostedScan down")]
    with caplog.at_level(logging.ERROR, logger="scanbot"):
        await h.service.on_webhook(WebhookEvent(id="ev-9", type="scan.failed", data={"id": "s"}))
    await h.service.webhooks.aclose()
    assert h.steps.done == ["refresh s"]  # nothing delivered
    assert caplog.messages == ["webhook work not processed (will retry): HostedScan down"]


async def test_start_schedules_the_jobs_and_stop_releases_leadership(h: Harness) -> None:
    h.service.start()
    async with asyncio.timeout(10):  # the poll job runs at once (next_run_time=now)
        while "cycle" not in h.steps.done:  # noqa: ASYNC110 - the scheduler's task, not ours
            await asyncio.sleep(0.01)
    await h.service.stop()
    assert h.leadership.released


async def test_a_standby_that_takes_over_polls_at_once_not_at_the_next_interval(
    store: Store,  # noqa: F811 - the store fixture, by name
) -> None:
    """The leader died: the standby's posting round tries the lock every second, and on
    taking it the poll job runs at once (the interval here is a minute)."""
    h = Harness(store, poll_interval=60.0)
    h.leadership.leading = False
    h.service.start()
    try:
        await asyncio.sleep(1.5)  # the first poll ran (not leading: no cycle), rounds too
        assert "cycle" not in h.steps.done
        h.leadership.leading = True  # the leader's lock is free now
        taken = time.monotonic()
        async with asyncio.timeout(5):
            while "cycle" not in h.steps.done:  # noqa: ASYNC110 - the scheduler's task
                await asyncio.sleep(0.01)
        assert time.monotonic() - taken < STANDBY_WATCH + 3  # not the minute of the interval
        assert "send" in h.steps.done  # and what the dead leader left is sent
    finally:
        await h.service.stop()


# -- stopping: a job under way gets STOP_GRACE, then is cancelled without a traceback --


async def test_stop_cancels_a_job_under_way_after_its_grace_without_a_traceback(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    service = h.service
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def tick() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    service.poll = tick  # type: ignore[method-assign]
    service.start()  # the poll job runs at once
    await asyncio.wait_for(started.wait(), 5)
    began = time.monotonic()
    await service.stop()
    took = time.monotonic() - began
    assert cancelled.is_set()
    assert STOP_GRACE <= took < STOP_GRACE + 1
    await asyncio.sleep(0.05)  # the scheduler's executor sees the job's end
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("stopped tick under way" in r.getMessage() for r in caplog.records)


async def test_stop_lets_a_short_job_finish(h: Harness) -> None:
    service = h.service
    finished = asyncio.Event()

    async def tick() -> None:
        await asyncio.sleep(0.1)
        finished.set()

    service.poll = tick  # type: ignore[method-assign]
    service.start()
    await asyncio.sleep(0.02)
    await service.stop()
    assert finished.is_set()
