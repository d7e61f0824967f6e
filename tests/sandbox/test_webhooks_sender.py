"""The sandbox's webhook sender: what it posts for a world's changes, and how it signs them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scanbot.hostedscan.webhooks import WebhookEvent, WebhookRejected, verify
from scanbot.sandbox.webhooks import WebhookSender
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background

SECRET = "sender-test-secret"
URL = "http://scanbot.test/hostedscan/webhook"
NOW_MS = 1_767_225_600_000  # 2026-01-01


@dataclass
class Receiver:
    """A webhook endpoint that records each request and answers `status`."""

    status: int = 200
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={"ok": self.status < 300})

    def verified(self) -> list[WebhookEvent]:
        """Every body received, checked as scanbot checks it: signature, freshness, shape."""
        at = datetime.fromtimestamp(NOW_MS / 1000, UTC)
        return [verify(SECRET, r.headers, r.content, now=lambda: at) for r in self.requests]


@dataclass
class Rig:
    world: SandboxWorld
    receiver: Receiver
    http: httpx.AsyncClient

    def sender(self, **options: object) -> WebhookSender:
        return WebhookSender(
            self.world,
            URL,
            SECRET,
            http=self.http,
            clock_ms=lambda: NOW_MS,
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    receiver = Receiver()
    transport = httpx.MockTransport(receiver.handle)
    async with httpx.AsyncClient(transport=transport) as http:
        yield Rig(SandboxWorld(seed=3, scans=20, clock=SimClock(speed=0.0)), receiver, http)


def _types(events: list[dict[str, object]]) -> list[object]:
    return [event["type"] for event in events]


def _queued(world: SandboxWorld) -> str:
    return str(world.list_scans({"state": ["QUEUED"]})[0]["id"])


async def test_the_first_call_only_records(rig: Rig) -> None:
    sender = rig.sender()
    assert await sender.emit_changes() == []
    assert rig.receiver.requests == []
    assert await sender.emit_changes() == []  # and nothing changed since
    assert rig.receiver.requests == []


async def test_a_new_scan_is_created_with_its_risks(rig: Rig) -> None:
    sender = rig.sender()
    await sender.emit_changes()
    scan_id = rig.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["a.example"], risks=3)

    events = await sender.emit_changes()

    assert _types(events) == ["scan.created", "risk.created", "risk.created", "risk.created"]
    assert events[0]["data"] == rig.world.get_scan(scan_id)
    risk_ids = [r["risk_id"] for r in rig.world.get_scan(scan_id)["risks"]["new_open"]]  # type: ignore[index]
    assert [e["data"] for e in events[1:]] == [rig.world.get_risk(r) for r in risk_ids]
    assert await sender.emit_changes() == []  # each is sent once


@pytest.mark.parametrize(
    ("state", "progress"), [("RUNNING", 40), ("FAILED", None), ("OVER_LIMIT", None)]
)
async def test_a_state_or_progress_change_is_an_update(
    rig: Rig, state: str, progress: float | None
) -> None:
    scan_id = _queued(rig.world)
    sender = rig.sender()
    await sender.emit_changes()

    rig.world.set_state(scan_id, state, progress)
    events = await sender.emit_changes()

    updates = [e for e in events if e["type"] == "scan.updated"]
    assert [e["data"]["id"] for e in updates] == [scan_id]
    assert updates[0]["data"]["state"] == state
    assert await sender.emit_changes() == []


async def test_progress_alone_is_an_update_and_new_risks_follow_it(rig: Rig) -> None:
    scan_id = _queued(rig.world)
    sender = rig.sender()
    rig.world.set_state(scan_id, "RUNNING", progress=10)
    await sender.emit_changes()
    seen = {r["risk_id"] for r in rig.world.get_scan(scan_id)["risks"]["new_open"]}  # type: ignore[index]

    rig.world.set_state(scan_id, "RUNNING", progress=100)
    events = await sender.emit_changes()

    assert events[0]["type"] == "scan.updated"
    now_open = [r["risk_id"] for r in rig.world.get_scan(scan_id)["risks"]["new_open"]]  # type: ignore[index]
    assert [e["data"]["id"] for e in events[1:]] == [r for r in now_open if r not in seen]
    assert set(_types(events[1:])) <= {"risk.created"}


async def test_every_post_is_signed_and_verifies(rig: Rig) -> None:
    sender = rig.sender()
    await sender.emit_changes()
    rig.world.add_scan(type="OPENVAS", state="SUCCEEDED", targets=["b.example"], risks=2)
    rig.world.set_state(_queued(rig.world), "RUNNING", progress=5)

    events = await sender.emit_changes()

    assert len(events) == len(rig.receiver.requests) == 4
    received = rig.receiver.verified()
    assert [e.id for e in received] == [e["id"] for e in events]
    assert [e.type for e in received] == _types(events)
    assert len({e.id for e in received}) == len(received)
    for request, event in zip(rig.receiver.requests, events, strict=True):
        assert request.method == "POST"
        assert str(request.url) == URL
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-hostedscan-timestamp"] == str(NOW_MS)
        assert json.loads(request.content) == event


async def test_a_signature_fails_with_another_secret_or_body(rig: Rig) -> None:
    sender = rig.sender()
    await sender.emit_changes()
    rig.world.add_scan(type="NMAP", state="RUNNING", targets=["c.example"])
    await sender.emit_changes()
    (request,) = rig.receiver.requests
    at = datetime.fromtimestamp(NOW_MS / 1000, UTC)
    with pytest.raises(WebhookRejected, match="bad signature"):
        verify("another-secret", request.headers, request.content, now=lambda: at)
    with pytest.raises(WebhookRejected, match="bad signature"):
        verify(SECRET, request.headers, request.content + b" ", now=lambda: at)


async def test_event_ids_are_unique_across_senders(rig: Rig) -> None:
    first, second = rig.sender(), rig.sender()
    await first.emit_changes()
    await second.emit_changes()
    rig.world.add_scan(type="NMAP", state="RUNNING", targets=["d.example"])
    ids = [e["id"] for e in await first.emit_changes() + await second.emit_changes()]
    assert len(ids) == len(set(ids)) == 2


async def test_only_the_subscribed_types_are_sent(rig: Rig) -> None:
    sender = rig.sender(types={"risk.created"})
    await sender.emit_changes()
    rig.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["e.example"], risks=2)
    events = await sender.emit_changes()
    assert _types(events) == ["risk.created", "risk.created"]
    assert len(rig.receiver.requests) == 2


@pytest.mark.parametrize("status", [401, 500])
async def test_a_refused_delivery_is_not_returned_nor_resent(rig: Rig, status: int) -> None:
    sender = rig.sender()
    await sender.emit_changes()
    rig.world.add_scan(type="NMAP", state="RUNNING", targets=["f.example"])
    rig.receiver.status = status
    assert await sender.emit_changes() == []
    assert len(rig.receiver.requests) == 1
    rig.receiver.status = 200
    assert await sender.emit_changes() == []  # HostedScan's retries are not simulated
    assert len(rig.receiver.requests) == 1


async def test_an_unreachable_endpoint_does_not_stop_the_others() -> None:
    calls: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(204)

    world = SandboxWorld(seed=3, scans=20, clock=SimClock(speed=0.0))
    async with httpx.AsyncClient(transport=httpx.MockTransport(flaky)) as http:
        sender = WebhookSender(world, URL, SECRET, http=http)
        await sender.emit_changes()
        world.add_scan(type="NMAP", state="SUCCEEDED", targets=["g.example"], risks=1)
        events = await sender.emit_changes()
    assert len(calls) == 2
    assert _types(events) == ["risk.created"]


async def test_the_real_clock_is_the_default() -> None:
    received: list[httpx.Request] = []
    world = SandboxWorld(seed=3, scans=5, clock=SimClock(speed=0.0))

    def record(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        sender = WebhookSender(world, URL, SECRET, http=http)
        await sender.emit_changes()
        world.add_scan(type="NMAP", state="RUNNING", targets=["h.example"])
        await sender.emit_changes()
    (request,) = received
    verify(SECRET, request.headers, request.content)  # fresh by the real clock


async def test_run_keeps_emitting_until_cancelled(rig: Rig) -> None:
    sender = rig.sender()
    await sender.emit_changes()  # the first look, taken before the loop starts
    task = asyncio.create_task(sender.run(every=0.01))
    rig.world.add_scan(type="NMAP", state="RUNNING", targets=["i.example"])
    await _wait(lambda: len(rig.receiver.requests) == 1)
    scan_id = rig.world.add_scan(type="NMAP", state="RUNNING", targets=["j.example"])
    rig.world.set_state(scan_id, "FAILED")
    await _wait(lambda: len(rig.receiver.requests) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [e.type for e in rig.receiver.verified()] == ["scan.created", "scan.created"]


async def test_run_without_a_client_posts_over_http_through_its_own() -> None:
    bodies: list[bytes] = []

    async def endpoint(request: Request) -> Response:
        bodies.append(await request.body())
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", endpoint, methods=["POST"])])
    world = SandboxWorld(seed=3, scans=5, clock=SimClock(speed=0.0))
    async with serve_in_background(app) as url:
        sender = WebhookSender(world, f"{url}/hook", SECRET, clock_ms=lambda: NOW_MS)
        await sender.emit_changes()
        world.add_scan(type="NMAP", state="RUNNING", targets=["k.example"])
        assert _types(await sender.emit_changes()) == ["scan.created"]  # a client per call
        task = asyncio.create_task(sender.run(every=0.01))
        world.add_scan(type="NMAP", state="RUNNING", targets=["l.example"])
        await _wait(lambda: len(bodies) == 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [json.loads(b)["type"] for b in bodies] == ["scan.created", "scan.created"]


def test_an_empty_secret_is_refused() -> None:
    world = SandboxWorld(seed=3, scans=1, clock=SimClock(speed=0.0))
    with pytest.raises(ValueError, match="secret"):
        WebhookSender(world, URL, "")


async def _wait(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the sender's loop has no event to await
            await asyncio.sleep(0.005)
