"""The HTTP edge over loopback, as an attacker meets it: bodies over the cap (declared,
chunked, endless), junk that is unsigned or signed, and clients that never finish their
headers. Each is refused with a 4xx and at most one short log line, never a 500.

Requests here go over raw sockets: no client library logs, so every captured log record
is the server's, and bodies can be malformed in ways a client library would refuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest

from scanbot.hostedscan.webhooks import signed_headers as hostedscan_headers
from scanbot.sandbox.slack_user import signed_headers, slash_command
from scanbot.serving import HEADER_TIMEOUT
from scanbot.settings import MAX_BODY_BYTES
from tests.e2e.conftest import SIGNING_SECRET, Stack, frozen_world, running_stack

WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef"
FORM = "application/x-www-form-urlencoded"
ENDPOINTS = ["/slack/events", "/hostedscan/webhook", "/healthz", "/no-such-path"]


@pytest.fixture
async def edge() -> AsyncIterator[Stack]:
    settings = {"hostedscan_webhook_secret": WEBHOOK_SECRET}
    async with running_stack(frozen_world(), settings=settings) as stack:
        yield stack


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record at DEBUG, the libraries' too: the most a server could say."""
    caplog.set_level(logging.DEBUG)
    for name in ("scanbot", "slack_bolt", "slack_sdk", "uvicorn", "uvicorn.error"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


# -- raw HTTP -----------------------------------------------------------------------------


@dataclass
class Raw:
    status: int | None  # None: the connection ended without a response
    body: bytes


async def _connect(stack: Stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(stack.app_url)
    assert url.hostname is not None
    assert url.port is not None
    return await asyncio.open_connection(url.hostname, url.port)


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: scanbot"]
    lines += [f"{name}: {value}" for name, value in {"Connection": "close", **headers}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _response(reader: asyncio.StreamReader) -> Raw:
    try:
        data = await reader.read()  # the server closes: Connection: close
    except ConnectionResetError:
        return Raw(None, b"")
    if not data:
        return Raw(None, b"")
    head, _, body = data.partition(b"\r\n\r\n")
    return Raw(int(head.split(b" ", 2)[1]), body)


async def _send(stack: Stack, method: str, path: str, headers: dict[str, str], body: bytes) -> Raw:
    reader, writer = await _connect(stack)
    try:
        writer.write(_head(method, path, {"Content-Length": str(len(body)), **headers}) + body)
        await writer.drain()
        return await _response(reader)
    finally:
        writer.close()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# -- bodies over the cap ------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_declared_body_over_the_cap_is_refused_before_a_byte_is_sent(
    edge: Stack, path: str
) -> None:
    reader, writer = await _connect(edge)
    try:
        # 50 MB announced, not one byte of it sent: the answer cannot wait for the body.
        writer.write(_head("POST", path, {"Content-Length": str(50_000_000)}))
        async with asyncio.timeout(10):
            refused = await _response(reader)
    finally:
        writer.close()
    assert refused.status == 413
    assert json.loads(refused.body) == {"error": f"request body over {MAX_BODY_BYTES} bytes"}
    assert not edge.sandbox.requests


async def test_a_chunked_body_is_refused_once_it_passes_the_cap(edge: Stack) -> None:
    reader, writer = await _connect(edge)
    try:
        headers = signed_headers(SIGNING_SECRET, "x" * (MAX_BODY_BYTES + 1))
        writer.write(_head("POST", "/slack/events", {**headers, "Transfer-Encoding": "chunked"}))
        piece = b"x" * 50_000
        for _ in range(MAX_BODY_BYTES // len(piece)):
            writer.write(_chunk(piece))
        writer.write(_chunk(b"x"))  # one byte past the cap; no end of the body
        await writer.drain()
        async with asyncio.timeout(10):
            refused = await _response(reader)
    finally:
        writer.close()
    assert refused.status == 413
    assert not edge.slack.responses


async def test_an_endless_chunked_body_is_cut_off_near_the_cap(edge: Stack) -> None:
    _, writer = await _connect(edge)
    piece = _chunk(b"x" * 65_536)
    sent = 0
    try:
        writer.write(_head("POST", "/hostedscan/webhook", {"Transfer-Encoding": "chunked"}))
        async with asyncio.timeout(30):
            # Far past any socket buffer: a server that kept reading would take it all.
            while sent < 200 * MAX_BODY_BYTES:
                writer.write(piece)
                await writer.drain()
                sent += len(piece)
    except (ConnectionError, OSError):
        pass  # the server hung up: that is the refusal
    finally:
        writer.close()
    assert sent < 200 * MAX_BODY_BYTES, "the server read 200 MB without refusing"
    # What got through is what loopback's socket buffers hold, not what the client sent.
    assert sent < 40 * MAX_BODY_BYTES, sent  # about 5.5 MB on Linux
    assert (await _send(edge, "GET", "/healthz", {}, b"")).status == 200  # still serving


async def test_a_body_at_the_cap_is_taken_whole(edge: Stack) -> None:
    url = edge.slack.response_url(edge.slack_url)
    form = slash_command("/scans", "", response_url=url)
    body = urlencode(form)
    body += "&pad=" + "x" * (MAX_BODY_BYTES - len(body) - len("&pad="))
    assert len(body) == MAX_BODY_BYTES
    answered = await _send(
        edge, "POST", "/slack/events", signed_headers(SIGNING_SECRET, body), body.encode()
    )
    assert answered.status == 200
    assert (await edge.answer_to(url)).body["blocks"]


# -- junk -----------------------------------------------------------------------------


def _raw_slack_signature(body: bytes) -> dict[str, str]:
    """Slack's signature over exactly these bytes (slack_sdk's signer takes text only)."""
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
        "Content-Type": FORM,
    }


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


SLACK_JUNK = {
    "bad-utf8": (b"payload=\xff\xfe\xfd", FORM),
    "payload-not-json": (b"payload=%7Bnot+json", FORM),
    "payload-an-array": (b"payload=%5B1%2C2%5D", FORM),
    "json-array": (b"[1, 2, 3]", "application/json"),
    "deep-nesting": (_deep(200_000).encode(), "application/json"),
    "deep-payload": (urlencode({"payload": '{"a":' * 50_000 + "1" + "}" * 50_000}).encode(), FORM),
}


@dataclass(frozen=True)
class Case:
    body: bytes
    content_type: str
    signed: bool


def _slack_cases() -> list[object]:
    cases = []
    for name, (body, content_type) in SLACK_JUNK.items():
        for signed in (False, True):
            case = Case(body, content_type, signed)
            cases.append(pytest.param(case, id=f"{name}-{'signed' if signed else 'unsigned'}"))
    return cases


def _assert_one_short_line(records: list[logging.LogRecord], body: bytes) -> None:
    assert len(records) <= 1, [r.getMessage() for r in records]
    for record in records:
        assert record.levelno < logging.ERROR
        assert record.exc_info is None
        assert "\n" not in record.getMessage()
        assert len(record.getMessage()) < 120
        assert body[:40].decode(errors="ignore") not in record.getMessage()


@pytest.mark.parametrize("case", _slack_cases())
async def test_junk_to_slack_events_gets_a_4xx_and_at_most_one_line(
    edge: Stack, every_log: pytest.LogCaptureFixture, case: Case
) -> None:
    headers = {"Content-Type": case.content_type}
    if case.signed:
        headers = {**_raw_slack_signature(case.body), **headers}
    every_log.clear()
    refused = await _send(edge, "POST", "/slack/events", headers, case.body)
    # Signed junk is ours to refuse as malformed; but a body that is not UTF-8 cannot carry
    # Slack's signature (slack_sdk signs text), so it is refused as unsigned.
    expected = 400 if case.signed and b"\xff" not in case.body else 401
    assert refused.status == expected, refused.body
    _assert_one_short_line(every_log.records, case.body)
    assert not edge.sandbox.requests


WEBHOOK_JUNK = {
    "not-json": b"{not json",
    "an-array": b"[1, 2, 3]",
    "deep-nesting": _deep(200_000).encode(),
    "bad-utf8": b'{"id": "\xff\xfe"}',
}


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("body", WEBHOOK_JUNK.values(), ids=WEBHOOK_JUNK.keys())
async def test_junk_to_the_webhook_gets_a_4xx_and_at_most_one_line(
    edge: Stack, every_log: pytest.LogCaptureFixture, body: bytes, signed: bool
) -> None:
    headers = {"Content-Type": "application/json"}
    if signed:
        headers |= hostedscan_headers(WEBHOOK_SECRET, body)
    every_log.clear()
    refused = await _send(edge, "POST", "/hostedscan/webhook", headers, body)
    assert refused.status == (400 if signed else 401), refused.body
    _assert_one_short_line(every_log.records, body)
    assert not edge.sandbox.requests


# -- clients that never finish their headers -------------------------------------------


async def _dropped_after(
    stack: Stack, *, first: bytes, trickle: bytes = b"", answered_first: bool = False
) -> float:
    """Seconds until the server closes a connection that sent `first`, then `trickle` a
    byte every 0.5 s: the request's headers never end. With `answered_first`, a whole
    request is answered on the connection before (the clock starts after its answer)."""
    reader, writer = await _connect(stack)
    try:
        if answered_first:
            writer.write(_head("GET", "/healthz", {"Connection": "keep-alive"}))
            await _read_one_answer(reader)
        started = time.monotonic()
        writer.write(first)
        await writer.drain()
        async with asyncio.timeout(HEADER_TIMEOUT + 15):
            for byte in trickle:
                with contextlib.suppress(ConnectionError):
                    writer.write(bytes([byte]))
                    await writer.drain()
                if reader.at_eof():
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await reader.read(1)  # returns at once if the server has closed
            with contextlib.suppress(ConnectionError):
                await reader.read()
        return time.monotonic() - started
    finally:
        writer.close()


async def _read_one_answer(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)


async def test_clients_that_do_not_finish_their_headers_are_dropped(edge: Stack) -> None:
    probes = {
        "half a request line": _dropped_after(edge, first=b"POST /slack/ev"),
        "a trickle": _dropped_after(edge, first=b"P", trickle=b"OST /slack/events HTTP/1.1" * 4),
        # uvicorn's keep-alive timer stops at the first byte of the next request: ours starts.
        "half of a second request": _dropped_after(edge, first=b"GET /hea", answered_first=True),
    }
    running = {name: asyncio.create_task(probe) for name, probe in probes.items()}
    # Meanwhile a normal request is answered as usual.
    assert (await _send(edge, "GET", "/healthz", {}, b"")).status == 200
    for name, task in running.items():
        seconds = await task
        assert HEADER_TIMEOUT * 0.9 <= seconds <= HEADER_TIMEOUT + 5, (name, seconds)
