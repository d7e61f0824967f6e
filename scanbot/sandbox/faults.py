"""Faults in front of a stand-in (the sandbox as HostedScan, the fake Slack): an ASGI
middleware failing a share of the HTTP requests, for soaks (bench/soak.py,
tests/e2e/test_soak.py).

Whether a request fails is drawn from a seeded `random.Random`; which fault it gets is
dealt from a shuffled deck of its path's kinds (seeded too, refilled when empty), so every
kind fires once in each `len(kinds)` faults on those paths. The kinds:

- "500", "503": that status, `{"ok": false, "error": "internal_error"}`;
- "429": `ratelimited` with `Retry-After: 1`;
- "stall": the request waits `stall` seconds, then is served as usual;
- "drop": the request is served (the fake Slack stores the post), then the answer is cut
  after its status line: the caller cannot know it went through.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KINDS = frozenset({"500", "503", "429", "stall", "drop"})
# Path ending ("" for any other path) -> the kinds of fault its requests may get.
HOSTEDSCAN_FAULTS: Mapping[str, Sequence[str]] = {"": ("503", "429", "stall")}
SLACK_FAULTS: Mapping[str, Sequence[str]] = {
    "": ("500", "429"),
    "chat.postMessage": ("500", "429", "drop"),
}


class Faults:
    """Fails `rate` of the HTTP requests to `app` (0 until set: `faults.rate = 0.15`), and
    counts what it injected per kind in `injected`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        seed: int,
        kinds: Mapping[str, Sequence[str]],
        rate: float = 0.0,
        stall: float = 2.0,
    ) -> None:
        unknown = {k for ks in kinds.values() for k in ks} - KINDS
        if unknown or "" not in kinds:
            raise ValueError(f"kinds need a '' entry and only {sorted(KINDS)}: {dict(kinds)}")
        self.app = app
        self.rate = rate
        self.stall = stall
        self.injected: Counter[str] = Counter()
        self._kinds = {end: tuple(ks) for end, ks in kinds.items()}
        self._rng = random.Random(seed)
        self._decks: dict[str, list[str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or self._rng.random() >= self.rate:
            await self.app(scope, receive, send)
            return
        kind = self._deal(str(scope["path"]))
        self.injected[kind] += 1
        if kind == "stall":
            await asyncio.sleep(self.stall)
            await self.app(scope, receive, send)
        elif kind == "drop":
            await self._drop(scope, receive, send)
        else:
            await _fail(int(kind), send)

    def _deal(self, path: str) -> str:
        end = next((e for e in self._kinds if e and path.endswith(e)), "")
        deck = self._decks.setdefault(end, [])
        if not deck:
            deck.extend(self._kinds[end])
            self._rng.shuffle(deck)
        return deck.pop()

    async def _drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then answer a status line and half a body and stop."""

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"512")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"ok": tr', "more_body": True})


async def _fail(status: int, send: Send) -> None:
    headers = [(b"content-type", b"application/json")]
    if status == 429:
        headers.append((b"retry-after", b"1"))
    error = "ratelimited" if status == 429 else "internal_error"
    body = json.dumps({"ok": False, "error": error}).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
