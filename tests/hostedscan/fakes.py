"""A fake HostedScan for the client's tests: queued replies over httpx.MockTransport, a
recording sleep, and the checks that the API key leaks nowhere."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from scanbot.hostedscan.client import HostedScanClient
from scanbot.hostedscan.errors import HostedScanError

KEY = "hs-live-7f3a9c-SECRET-do-not-log"
BASE_URL = "https://api.hostedscan.test"

Reply = httpx.Response | type[httpx.RequestError] | Callable[[httpx.Request], httpx.Response]


class FakeHostedScan:
    """Records every request and answers with the queued replies, repeating the last one.

    A reply is a response, an httpx exception class to raise, or a function of the request.
    """

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [ok({"data": []})]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        # A client that loops forever must fail the test, not hang it.
        assert len(self.requests) <= 50, "the client keeps asking"
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, type):
            raise reply("simulated failure", request=request)
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    @property
    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]

    def params(self, name: str) -> list[str | None]:
        return [request.url.params.get(name) for request in self.requests]


class Sleeps:
    """A fake `asyncio.sleep` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(
        code, text="no", headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def scan(scan_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": scan_id, "type": "OPENVAS", "state": "RUNNING", "progress": 40, **fields}


def make_client(
    fake: FakeHostedScan, sleeps: Sleeps | None = None, **options: Any
) -> HostedScanClient:
    options.setdefault("random", lambda: 1.0)
    options.setdefault("sleep", sleeps if sleeps is not None else Sleeps())
    return HostedScanClient.create(BASE_URL, KEY, transport=httpx.MockTransport(fake), **options)


async def collect(iterator: Any, into: list[Any] | None = None) -> list[Any]:
    """Every item of an async iterator; `into` keeps those seen before it raised."""
    items = [] if into is None else into
    async for item in iterator:
        items.append(item)
    return items


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]


def assert_key_absent(errors: list[HostedScanError], caplog: pytest.LogCaptureFixture) -> None:
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in repr(record.args)
    for error in errors:
        for link in exception_chain(error):
            assert KEY not in str(link)
            assert KEY not in repr(link)
            assert KEY not in repr(link.args)
            assert KEY not in repr(vars(link))
            if isinstance(link, httpx.RequestError):
                with pytest.raises(RuntimeError):
                    link.request  # noqa: B018  no request (and so no headers) is attached


def loud(caplog: pytest.LogCaptureFixture) -> None:
    for name in (None, "httpx", "httpcore", "scanbot.hostedscan"):
        caplog.set_level(logging.DEBUG, logger=name)


def free_port() -> int:
    """A loopback port nothing listens on (a connection to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
