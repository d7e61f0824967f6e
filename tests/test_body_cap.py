"""The body cap as ASGI middleware: what it reads, what it refuses, what the app gets.

End to end over loopback HTTP (every endpoint, chunked and endless bodies) in
tests/e2e/test_edges.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from starlette.types import Message

from scanbot.body_cap import BodyCap

CAP = 1_000


class Client:
    """The server's side of one request: the messages `receive` hands out, counted."""

    def __init__(self, chunks: Iterable[bytes], *, then_disconnect: bool = False) -> None:
        self.pending = list(chunks)
        self.then_disconnect = then_disconnect
        self.read = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if not self.pending:
            return {"type": "http.disconnect"}
        chunk = self.pending.pop(0)
        self.read += 1
        more = bool(self.pending) or self.then_disconnect
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None


class App:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        assert message["more_body"] is False
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def scope(content_length: int | None = None) -> dict[str, Any]:
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    return {"type": "http", "method": "POST", "path": "/x", "headers": headers}


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    app, client = App(), Client([b"x" * 10])
    await BodyCap(app, max_bytes=CAP)(scope(CAP + 1), client.receive, client.send)
    assert client.status == 413
    assert client.read == 0
    assert app.bodies == []
    assert (b"connection", b"close") in client.sent[0]["headers"]


async def test_a_streamed_body_is_refused_at_the_chunk_that_passes_the_cap() -> None:
    app, client = App(), Client([b"x" * 400] * 100)  # 40,000 bytes, announced as nothing
    await BodyCap(app, max_bytes=CAP)(scope(), client.receive, client.send)
    assert client.status == 413
    assert client.read == 3  # 400, 800, 1,200: stop there
    assert app.bodies == []


async def test_a_body_running_past_its_declared_length_is_refused() -> None:
    app, client = App(), Client([b"x" * 600, b"x" * 600])
    await BodyCap(app, max_bytes=CAP)(scope(10), client.receive, client.send)
    assert client.status == 413
    assert app.bodies == []


async def test_a_body_at_the_cap_reaches_the_app_whole_in_one_message() -> None:
    app, client = App(), Client([b"a" * 500, b"b" * 500])
    await BodyCap(app, max_bytes=CAP)(scope(CAP), client.receive, client.send)
    assert client.status == 200
    assert app.bodies == [b"a" * 500 + b"b" * 500]


async def test_a_client_gone_mid_body_gets_nothing_and_reaches_no_app() -> None:
    app, client = App(), Client([b"x" * 10], then_disconnect=True)
    await BodyCap(app, max_bytes=CAP)(scope(), client.receive, client.send)
    assert client.sent == []
    assert app.bodies == []


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    client = Client([])
    await BodyCap(app, max_bytes=CAP)({"type": "lifespan"}, client.receive, client.send)
    assert seen == ["lifespan"]


async def test_a_body_that_trickles_past_the_deadline_is_refused_with_408() -> None:
    """Headers done, then a byte now and then: the connection is not held for ever."""

    class Trickle(Client):
        async def receive(self) -> Message:
            await asyncio.sleep(0.02)
            self.read += 1
            return {"type": "http.request", "body": b"x", "more_body": True}

    app = App()
    client = Trickle([])
    await BodyCap(app, max_bytes=CAP, body_seconds=0.1)(scope(), client.receive, client.send)
    assert client.status == 408
    assert app.bodies == []
    assert 2 <= client.read < 50
