"""HostedScan's webhooks end to end: signed events over real HTTP into the running app, which
checks them, answers at once and alerts without waiting for a poll: never twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanbot.hostedscan.webhooks import WebhookEvent, signed_headers
from scanbot.sandbox.webhooks import WebhookSender
from scanbot.sandbox.world import SandboxWorld
from tests.e2e.conftest import Stack, frozen_world, running_stack, wait_until

CHANNEL = "C0SECOPS"
SECRET = "e2e-webhook-secret-0123456789abcdef"
VECTORS = sorted((Path(__file__).parents[1] / "data" / "hostedscan-webhook-vectors").glob("*.json"))
VECTOR_SECRET = "example-secret"
VECTOR_SENT_AT = datetime.fromtimestamp(1676612345678 / 1000, UTC)
VECTOR_EVENT_ID = "an-event-id"
CHANNEL_PACING = 1.05  # seconds: the alert sender's channel_interval, and a little more


def _url(stack: Stack) -> str:
    return f"{stack.app_url}/hostedscan/webhook"


def _vector(path: Path) -> tuple[bytes, dict[str, str]]:
    raw = json.loads(path.read_text())
    return raw["body"].encode(), raw["headers"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _event_body(scan_id: str, event_id: str = "evt-e2e-1") -> bytes:
    event = {"id": event_id, "type": "scan.updated", "data": {"id": scan_id}}
    return json.dumps(event).encode()


@contextlib.asynccontextmanager
async def _webhook_stack(
    world: SandboxWorld | None = None, *, secret: str | None = SECRET, **options: Any
) -> AsyncIterator[Stack]:
    settings = {} if secret is None else {"hostedscan_webhook_secret": secret}
    async with running_stack(world or frozen_world(), settings=settings, **options) as stack:
        yield stack


def _processed(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the events the app has finished processing, in order (a spy, not a fake)."""
    done: list[str] = []
    original = stack.runtime.alerts.on_webhook

    async def on_webhook(event: WebhookEvent) -> None:
        try:
            await original(event)
        finally:
            done.append(event.id)

    monkeypatch.setattr(stack.runtime.alerts, "on_webhook", on_webhook)
    return done


def _sender(stack: Stack, **options: Any) -> WebhookSender:
    return WebhookSender(stack.world, _url(stack), SECRET, http=stack.http, **options)


async def _subscribe(stack: Stack, words: str) -> None:
    answer = await stack.command("/scans", f"subscribe {words}", channel_id=CHANNEL)
    assert "Not subscribed" not in json.dumps(answer.body), answer.body


def _alerts_about(stack: Stack, scan_id: str) -> list[dict[str, Any]]:
    return [
        c.body
        for c in stack.slack.calls_to("chat.postMessage")
        if c.body.get("channel") == CHANNEL and scan_id in c.body.get("text", "")
    ]


def _alerted(stack: Stack, scan_id: str) -> Callable[[], bool]:
    return lambda: bool(_alerts_about(stack, scan_id))


def _arrival(stack: Stack, scan_id: str) -> float:
    """When the first alert about `scan_id` reached the fake Slack (time.monotonic())."""
    return min(
        c.at for c in stack.slack.calls_to("chat.postMessage") if scan_id in c.body.get("text", "")
    )


def _queued(stack: Stack, count: int = 1) -> list[str]:
    """`count` scans not yet finished, so a change to FAILED is news."""
    scans = stack.world.list_scans({"state": ["QUEUED", "RUNNING"]})[:count]
    assert len(scans) == count, "too few active scans in this world"
    return [str(scan["id"]) for scan in scans]


async def _settled(stack: Stack, seconds: float = 10.0) -> None:
    """Wait for the webhook work under way. A delivery's task runs its first step (and joins
    `inflight`) before the client can read the 2xx, so an answered post is tracked or done."""
    await wait_until(lambda: len(stack.runtime.inflight) == 0, seconds)


# -- HostedScan's own signed vectors ------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=lambda path: path.stem)
async def test_hostedscans_vectors_are_accepted_once_by_a_clock_near_2023(
    vector: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, headers = _vector(vector)
    # All four share one event id: each gets a fresh stack, so a fresh store.
    async with _webhook_stack(
        frozen_world(scans=5),
        secret=VECTOR_SECRET,
        web_clock=lambda: VECTOR_SENT_AT + timedelta(seconds=40),
    ) as stack:
        processed = _processed(stack, monkeypatch)

        first = await stack.http.post(_url(stack), content=body, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json() == {"ok": True}
        await wait_until(lambda: processed == [VECTOR_EVENT_ID])

        again = await stack.http.post(_url(stack), content=body, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json() == {"ok": True, "duplicate": True}
        await asyncio.sleep(0.1)  # time for a second processing, were one started
        assert processed == [VECTOR_EVENT_ID]
        assert not await stack.runtime.store.webhooks.first_delivery(VECTOR_EVENT_ID)


async def test_hostedscans_vectors_are_stale_by_the_production_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _webhook_stack(frozen_world(scans=5), secret=VECTOR_SECRET) as stack:
        processed = _processed(stack, monkeypatch)
        for vector in VECTORS:
            body, headers = _vector(vector)
            response = await stack.http.post(_url(stack), content=body, headers=headers)
            assert response.status_code == 401, vector.name
            assert response.json() == {"error": "stale timestamp"}
        assert processed == []
        assert await stack.runtime.store.webhooks.first_delivery(VECTOR_EVENT_ID)  # never recorded


# -- refused deliveries -------------------------------------------------------------------


def _unsigned(body: bytes) -> dict[str, str]:
    return {}


def _forged(body: bytes) -> dict[str, str]:
    return signed_headers("not-the-secret", body)


def _tampered(body: bytes) -> dict[str, str]:
    return signed_headers(SECRET, body.replace(b"evt-e2e-1", b"evt-e2e-2"))


def _stale(body: bytes) -> dict[str, str]:
    return signed_headers(SECRET, body, timestamp_ms=_now_ms() - 6 * 60 * 1000)


def _from_the_future(body: bytes) -> dict[str, str]:
    return signed_headers(SECRET, body, timestamp_ms=_now_ms() + 6 * 60 * 1000)


def _timestamp_only(body: bytes) -> dict[str, str]:
    headers = signed_headers(SECRET, body)
    del headers["X-HOSTEDSCAN-SIGNATURE"]
    return headers


@pytest.mark.parametrize(
    "sign", [_unsigned, _forged, _tampered, _stale, _from_the_future, _timestamp_only]
)
async def test_a_delivery_not_genuine_and_fresh_is_refused_and_not_processed(
    sign: Callable[[bytes], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _webhook_stack() as stack:
        processed = _processed(stack, monkeypatch)
        # A genuine one of these would make the app fetch the scan at once.
        body = _event_body(_queued(stack)[0])
        requests_before = stack.sandbox.count()

        headers = sign(body) | {"Content-Type": "application/json"}
        response = await stack.http.post(_url(stack), content=body, headers=headers)

        assert response.status_code == 401, response.text
        await asyncio.sleep(0.1)  # time for background work, were any started
        assert processed == []
        assert stack.sandbox.count() == requests_before
        assert await stack.runtime.store.snapshots.count() == 0
        assert await stack.runtime.store.webhooks.first_delivery("evt-e2e-1")  # never recorded


async def test_the_same_event_genuinely_signed_is_processed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control for the test above: what it does not see, it would see."""
    async with _webhook_stack() as stack:
        processed = _processed(stack, monkeypatch)
        scan_id = _queued(stack)[0]
        body = _event_body(scan_id)
        headers = signed_headers(SECRET, body) | {"Content-Type": "application/json"}
        response = await stack.http.post(_url(stack), content=body, headers=headers)
        assert response.status_code == 200, response.text
        await wait_until(lambda: processed == ["evt-e2e-1"])
        assert stack.sandbox.count(f"/v1/scans/{scan_id}") == 1


async def test_webhooks_not_configured_are_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    async with _webhook_stack(secret=None) as stack:
        processed = _processed(stack, monkeypatch)
        body = _event_body(_queued(stack)[0])
        headers = signed_headers(SECRET, body) | {"Content-Type": "application/json"}
        response = await stack.http.post(_url(stack), content=body, headers=headers)
        assert response.status_code == 404
        await asyncio.sleep(0.1)
        assert processed == []
        assert stack.sandbox.count() == 0


# -- alerts through webhooks --------------------------------------------------------------


async def test_a_scan_change_reaches_slack_through_its_webhook_without_a_poll() -> None:
    async with _webhook_stack() as stack:
        sender = _sender(stack)
        await sender.emit_changes()  # the sender's first look
        await stack.runtime.alerts.tick()  # scanbot's baseline
        await _subscribe(stack, "failed")
        (scan_id,) = _queued(stack)
        cycles = (await stack.runtime.store.state.read()).cycles

        stack.world.set_state(scan_id, "FAILED")
        events = await sender.emit_changes()

        assert [(e["type"], e["data"]["id"]) for e in events] == [("scan.updated", scan_id)]
        await wait_until(lambda: len(_alerts_about(stack, scan_id)) == 1, seconds=10)
        assert (await stack.runtime.store.state.read()).cycles == cycles, "a poll ran"
        assert "failed" in _alerts_about(stack, scan_id)[0]["text"].lower()

        # HostedScan redelivers (no 2xx seen in time): the same event id is a duplicate.
        body = json.dumps(events[0]).encode()
        headers = signed_headers(SECRET, body) | {"Content-Type": "application/json"}
        again = await stack.http.post(_url(stack), content=body, headers=headers)
        assert again.json() == {"ok": True, "duplicate": True}

        await _settled(stack)
        await stack.runtime.alerts.tick()
        await stack.runtime.alerts.tick()
        assert len(_alerts_about(stack, scan_id)) == 1
        assert stack.sandbox.count(f"/v1/scans/{scan_id}") == 1  # one webhook refresh


async def test_a_change_the_poll_saw_first_is_not_alerted_again_by_its_webhook() -> None:
    async with _webhook_stack() as stack:
        sender = _sender(stack)
        await sender.emit_changes()
        await stack.runtime.alerts.tick()
        await _subscribe(stack, "failed")
        (scan_id,) = _queued(stack)

        stack.world.set_state(scan_id, "FAILED")
        await stack.runtime.alerts.tick()
        assert len(_alerts_about(stack, scan_id)) == 1
        fetched = stack.sandbox.count(f"/v1/scans/{scan_id}")
        events = await sender.emit_changes()

        assert [e["type"] for e in events] == ["scan.updated"]
        await wait_until(lambda: stack.sandbox.count(f"/v1/scans/{scan_id}") == fetched + 1)
        await _settled(stack)
        assert len(_alerts_about(stack, scan_id)) == 1


async def test_a_webhook_racing_a_poll_alerts_once() -> None:
    async with _webhook_stack(frozen_world(active_fraction=0.5)) as stack:
        sender = _sender(stack)
        await sender.emit_changes()
        await stack.runtime.alerts.tick()
        await _subscribe(stack, "failed")
        scan_ids = _queued(stack, 3)

        for scan_id in scan_ids:
            stack.world.set_state(scan_id, "FAILED")
        await asyncio.gather(stack.runtime.alerts.tick(), sender.emit_changes())
        await _settled(stack)
        await stack.runtime.alerts.tick()

        for scan_id in scan_ids:
            assert len(_alerts_about(stack, scan_id)) == 1, scan_id


def _scan_that_gains_risks(world_options: dict[str, Any]) -> str:
    """A queued scan that shows new risks once running at 95%, found in a twin world."""
    twin = frozen_world(**world_options)
    for scan in twin.list_scans({"state": ["QUEUED"]}):
        twin.set_state(scan["id"], "RUNNING", progress=95)
        if twin.get_scan(scan["id"])["risks"]["new_open"]:  # type: ignore[index]
            return str(scan["id"])
    raise AssertionError("no queued scan with risks in this world")


async def test_a_risk_event_looks_at_the_active_scans_and_alerts_once() -> None:
    scan_id = _scan_that_gains_risks({})
    async with _webhook_stack() as stack:
        # An endpoint subscribed to risk events only: the scan's own event never comes.
        sender = _sender(stack, types={"risk.created"})
        await sender.emit_changes()
        await stack.runtime.alerts.tick()
        await _subscribe(stack, "risks")
        cycles = (await stack.runtime.store.state.read()).cycles

        stack.world.set_state(scan_id, "RUNNING", progress=95)
        events = await sender.emit_changes()

        assert events
        assert {e["type"] for e in events} == {"risk.created"}
        new_open = stack.world.get_scan(scan_id)["risks"]["new_open"]  # type: ignore[index]
        assert [e["data"]["id"] for e in events] == [r["risk_id"] for r in new_open]
        await wait_until(lambda: len(_alerts_about(stack, scan_id)) == 1, seconds=10)
        assert (await stack.runtime.store.state.read()).cycles == cycles, "a poll ran"
        assert stack.sandbox.count(f"/v1/scans/{scan_id}") == 0  # seen in the active listing

        await _settled(stack)  # every risk event made its own look
        await stack.runtime.alerts.tick()
        assert len(_alerts_about(stack, scan_id)) == 1


# -- latency ------------------------------------------------------------------------------


async def _past_pacing(stack: Stack) -> None:
    """Wait out the one-message-a-second pacing per channel, so it does not count as latency."""
    last = max((c.at for c in stack.slack.calls_to("chat.postMessage")), default=0.0)
    await asyncio.sleep(max(0.0, last + CHANNEL_PACING - time.monotonic()))


async def test_alert_latency_with_webhooks_and_with_a_poll_tick() -> None:
    """Printed, not asserted tightly: world change -> message at the fake Slack."""
    rounds = 5
    async with _webhook_stack(frozen_world(active_fraction=0.5)) as stack:
        sender = _sender(stack)
        await sender.emit_changes()
        await stack.runtime.alerts.tick()
        await _subscribe(stack, "failed")
        scan_ids = _queued(stack, 2 * rounds)
        by_webhook: list[float] = []
        by_poll: list[float] = []

        for pushed, polled in zip(scan_ids[::2], scan_ids[1::2], strict=True):
            await _past_pacing(stack)
            changed = time.monotonic()
            stack.world.set_state(pushed, "FAILED")
            await sender.emit_changes()
            await wait_until(_alerted(stack, pushed))
            by_webhook.append(_arrival(stack, pushed) - changed)
            await _settled(stack)

            await _past_pacing(stack)
            changed = time.monotonic()
            stack.world.set_state(polled, "FAILED")
            await stack.runtime.alerts.tick()
            by_poll.append(_arrival(stack, polled) - changed)
            await sender.emit_changes()  # its webhook: a duplicate of what the poll sent
            await _settled(stack)

        poll_interval = stack.runtime.settings.poll_interval
        print(
            f"\nalert latency, world change -> fake Slack, median of {rounds} "
            f"(loopback, SQLite): webhook {statistics.median(by_webhook) * 1000:.0f} ms, "
            f"poll tick {statistics.median(by_poll) * 1000:.0f} ms once the tick runs; "
            f"a scheduled poll first waits up to {poll_interval:.0f} s for it "
            f"(webhook samples {[round(s * 1000) for s in by_webhook]} ms, "
            f"poll samples {[round(s * 1000) for s in by_poll]} ms)"
        )
        assert max(by_webhook) < 10.0
        for scan_id in scan_ids:
            assert len(_alerts_about(stack, scan_id)) == 1, scan_id


# -- bursts ---------------------------------------------------------------------------------


async def _post_signed(stack: Stack, event: dict[str, Any]) -> None:
    body = json.dumps(event).encode()
    headers = signed_headers(SECRET, body) | {"Content-Type": "application/json"}
    response = await stack.http.post(_url(stack), content=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_a_burst_of_events_costs_far_fewer_requests_than_events() -> None:
    """Issue 8, item 4: 10 scans fail, each named by 10 `scan.updated` events, and 40
    `risk.created` events come with them: 140 signed events, a window or two of looks."""
    async with _webhook_stack(frozen_world(active_fraction=0.5)) as stack:
        await stack.runtime.alerts.tick()
        await _subscribe(stack, "failed")
        scan_ids = _queued(stack, 10)
        for scan_id in scan_ids:
            stack.world.set_state(scan_id, "FAILED")
        events = [
            {"id": f"evt-burst-{scan_id}-{n}", "type": "scan.updated", "data": {"id": scan_id}}
            for n in range(10)
            for scan_id in scan_ids
        ] + [{"id": f"evt-risk-{n}", "type": "risk.created", "data": {}} for n in range(40)]
        before = stack.sandbox.count()
        await asyncio.gather(*(_post_signed(stack, event) for event in events))
        # Ten alerts in one channel go out paced at Slack's 1 post/s: about 10 s of delivery.
        await _settled(stack, seconds=30.0)
        await wait_until(lambda: all(_alerts_about(stack, s) for s in scan_ids))

        requests = stack.sandbox.count() - before
        looks = stack.runtime.alerts.webhooks.counts.looks
        # Each look (a window of about a second of arrivals): one listing page of the
        # active scans plus, at most, the 10 scans that left it.
        assert looks <= 10
        assert requests <= looks * (1 + len(scan_ids))
        assert requests / len(events) < 0.25
        for scan_id in scan_ids:
            assert len(_alerts_about(stack, scan_id)) == 1, scan_id
        health = (await stack.http.get(f"{stack.app_url}/healthz")).json()
        assert health["webhooks"] == {"waiting": 0, "left_to_polling": 0}
