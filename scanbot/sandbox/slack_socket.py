"""Slack's Socket Mode on loopback: the websocket end of the fake Slack.

`FakeSlack`'s apps.connections.open hands out `ws://127.0.0.1:PORT/link/?ticket=N` from
here. A client that connects gets `hello`; a test then sends envelopes (slash commands,
events, interactivity) and reads the acks, asks for a refresh (`disconnect`), or makes the
current connection go silent: no frame and no pong any more, but no FIN and no RST either,
which is how a dead link (a NAT that forgot it, a host gone) looks to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

Json = dict[str, Any]
APP_ID = "A0SCANBOT"


@dataclass
class SocketConnection:
    """One websocket connection; times are `time.monotonic()`."""

    ticket: str
    ws: web.WebSocketResponse
    opened_at: float
    closed_at: float | None = None
    silenced: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def open(self) -> bool:
        return self.closed_at is None and not self.ws.closed


class FakeSocketMode:
    """The Socket Mode server: `serving()` starts it; `connections` and `acks` record."""

    def __init__(self) -> None:
        self.connections: list[SocketConnection] = []
        self.acks: dict[str, Json] = {}  # envelope_id -> the whole ack
        self.url: str | None = None
        self._tickets = itertools.count(1)
        self._issued: set[str] = set()
        self._envelopes = itertools.count(1)
        self._stopping = asyncio.Event()

    def new_url(self) -> str:
        """A fresh websocket URL, as apps.connections.open answers it."""
        if self.url is None:
            raise RuntimeError("the Socket Mode server is not serving")
        ticket = f"ticket-{next(self._tickets)}"
        self._issued.add(ticket)
        return f"{self.url}/link/?ticket={ticket}&app_id={APP_ID}"

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve on a loopback port; yield `ws://127.0.0.1:PORT`."""
        app = web.Application()
        app.router.add_get("/link/", self._connect)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(runner, sock)
        await site.start()
        self.url = f"ws://127.0.0.1:{sock.getsockname()[1]}"
        try:
            yield self.url
        finally:
            self._stopping.set()
            for connection in self.connections:
                if not connection.ws.closed:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.ws.close(), 0.5)
            await runner.cleanup()

    # What tests do.

    @property
    def current(self) -> SocketConnection:
        """The newest open connection."""
        for connection in reversed(self.connections):
            if connection.open:
                return connection
        raise LookupError("no open Socket Mode connection")

    async def send_envelope(
        self, kind: str, payload: Json, *, accepts_response_payload: bool = False
    ) -> str:
        """Send an envelope ("slash_commands", "events_api", "interactive") on the current
        connection; return its envelope_id."""
        envelope_id = f"envelope-{next(self._envelopes)}"
        await self.current.ws.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": accepts_response_payload,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    async def refresh(self, reason: str = "refresh_requested") -> None:
        """Slack's notice that the client should reconnect (it closes the link soon after)."""
        await self.current.ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
        )

    def go_silent(self) -> SocketConnection:
        """From now on the current connection sends nothing and answers nothing."""
        connection = self.current
        connection.silenced.set()
        return connection

    # ASYNC109: `timeout=` as in FakeSlack's waiters.
    async def wait_for_connections(
        self,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> SocketConnection:
        """The `count`th connection, once it is open."""
        async with asyncio.timeout(timeout):
            while len(self.connections) < count:  # noqa: ASYNC110 - the server's own state
                await asyncio.sleep(0.01)
        return self.connections[count - 1]

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Json:
        async with asyncio.timeout(timeout):
            while envelope_id not in self.acks:  # noqa: ASYNC110 - the server's own state
                await asyncio.sleep(0.01)
        return self.acks[envelope_id]

    # The server side.

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._issued:
            return web.Response(status=401, text="invalid ticket")
        self._issued.discard(ticket)  # single use, as Slack's
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = SocketConnection(ticket, ws, time.monotonic())
        self.connections.append(connection)
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": sum(c.open for c in self.connections),
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
            reading = asyncio.create_task(self._read(connection))
            silenced = asyncio.create_task(connection.silenced.wait())
            await asyncio.wait({reading, silenced}, return_when=asyncio.FIRST_COMPLETED)
            if silenced.done() and not reading.done():
                # Stop reading (so no pong goes out) and keep the TCP connection open.
                reading.cancel()
                await self._stopping.wait()
            silenced.cancel()
        finally:
            connection.closed_at = time.monotonic()
        return ws

    async def _read(self, connection: SocketConnection) -> None:
        async for message in connection.ws:  # pings are answered inside this iteration
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
                self.acks[data["envelope_id"]] = data
