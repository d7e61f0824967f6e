"""Pure ASGI middleware in front of the web app: a request body over the cap is refused
with 413 before the app sees a byte of it.

A declared Content-Length over the cap is refused before anything is read. A chunked body
(or one that runs past its Content-Length) is counted as it streams and refused as soon
as it passes the cap: an endless one costs at most the cap plus one read. A body that
trickles in slower than `body_seconds` allows is refused with 408. Bodies within the cap
are read whole here and handed on, so no endpoint can read more than the cap.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class _ClientGone(Exception):
    """The client disconnected before its body was complete: nobody to answer."""


class _TooLarge(Exception):
    pass


# Slack's requests are a few KB sent at once; a client still sending after this holds a
# connection (and up to the cap in memory) for nothing.
BODY_SECONDS = 10.0


class BodyCap:
    def __init__(self, app: ASGIApp, *, max_bytes: int, body_seconds: float = BODY_SECONDS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if _declared_length(scope) > self.max_bytes:
                raise _TooLarge
            async with asyncio.timeout(self.body_seconds):
                body = await self._read(receive)
        except _TooLarge:
            await self._refuse(scope, send, 413, f"request body over {self.max_bytes} bytes")
            return
        except TimeoutError:
            await self._refuse(
                scope, send, 408, f"request body not sent in {self.body_seconds:g} s"
            )
            return
        except _ClientGone:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope: Scope, send: Send, status: int, reason: str) -> None:
        log.warning("refused %s %.100r: %s", scope["method"], scope["path"], reason)
        body = json.dumps({"error": reason}).encode()
        # Connection: close: the rest of the body is never read, so the connection cannot
        # carry another request.
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int:
    """The Content-Length header's value, 0 without one (uvicorn's parser has refused a
    malformed or contradictory one already; a chunked body is counted as it comes)."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then the server's own
    messages (a disconnect) from there on."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
