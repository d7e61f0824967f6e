"""The Socket Mode client in this process, against the fake Slack and its Socket Mode server
on loopback: envelopes to Bolt and acks, refreshes, refused tokens, problems logged once,
cancellation while retrying, and a dead link replaced. (`tests/e2e/test_socket_mode.py`
runs `scanbot socket` as a process.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from scanbot.runtimes import refused_token_sentence
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_socket import FakeSocketMode
from scanbot.serving import serve_in_background
from scanbot.socket_mode import (
    RETRY_DELAYS,
    SocketModeClient,
    TokenRefused,
    Trouble,
    describe,
    retry_delay,
)

APP_TOKEN = "xapp-1-unit-app-token-0123456789"
BOT_TOKEN = "xoxb-unit-bot-token-0123456789"


@dataclass
class Fakes:
    slack: FakeSlack
    server: FakeSocketMode
    web: AsyncWebClient
    sleeps: list[float]

    def client(self, token: str = APP_TOKEN, **options: Any) -> SocketModeClient:
        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            await asyncio.sleep(0.01)

        return SocketModeClient(token, web_client=self.web, sleep=sleep, **options)


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    server = FakeSocketMode()
    slack = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN, socket_mode=server)
    async with serve_in_background(slack.app) as url, server.serving():
        yield Fakes(slack, server, AsyncWebClient(token=BOT_TOKEN, base_url=f"{url}/api/"), [])


@contextlib.asynccontextmanager
async def connected(client: SocketModeClient) -> AsyncIterator[SocketModeClient]:
    try:
        await asyncio.wait_for(client.connect(), 10)
        yield client
    finally:
        await client.close()


def bolt_app(web: AsyncWebClient) -> AsyncApp:
    app = AsyncApp(client=web, signing_secret="", name="test")  # Socket Mode: unsigned

    @app.command("/echo")
    async def echo(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"echo: {command['text']}")

    return app


async def test_an_envelope_reaches_bolt_and_is_acked_with_its_answer(fakes: Fakes) -> None:
    client = fakes.client()
    client.dispatch_to(bolt_app(fakes.web))
    async with connected(client):
        connection = await fakes.server.wait_for_connections(1)
        envelope_id = await fakes.server.send_envelope(
            "slash_commands",
            {"command": "/echo", "text": "hi", "user_id": "U1", "team_id": "T0FAKE"},
            accepts_response_payload=True,
        )
        ack = await fakes.server.wait_for_ack(envelope_id)
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "echo: hi"}}
    assert connection.ticket == "ticket-1"
    (call,) = fakes.slack.calls_to("apps.connections.open")
    assert call.token == APP_TOKEN


async def test_a_refresh_opens_a_new_connection_with_a_new_url(fakes: Fakes) -> None:
    client = fakes.client()
    client.dispatch_to(bolt_app(fakes.web))
    async with connected(client):
        first = await fakes.server.wait_for_connections(1)
        await fakes.server.refresh()
        second = await fakes.server.wait_for_connections(2)
        await asyncio.wait_for(_until(lambda: first.closed_at is not None), 5)
        envelope_id = await fakes.server.send_envelope(
            "slash_commands", {"command": "/echo", "text": "again", "user_id": "U1"}
        )
        assert (await fakes.server.wait_for_ack(envelope_id))["envelope_id"] == envelope_id
    assert (first.ticket, second.ticket) == ("ticket-1", "ticket-2")
    assert len(fakes.slack.calls_to("apps.connections.open")) == 2


@pytest.mark.parametrize("error", ["invalid_auth", "not_allowed_token_type", "token_revoked"])
async def test_a_token_refused_before_a_first_connection_raises(fakes: Fakes, error: str) -> None:
    fakes.slack.fail_next("apps.connections.open", error=error)
    client = fakes.client()
    try:
        with pytest.raises(TokenRefused) as refused:
            await asyncio.wait_for(client.connect(), 10)
    finally:
        await client.close()
    assert refused.value.error == error
    assert fakes.sleeps == []  # not retried
    assert fakes.server.connections == []


async def test_a_token_refused_later_is_retried_and_logged_once(
    fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "scanbot.socket_mode")
    client = fakes.client()
    async with connected(client):
        fakes.slack.fail_next("apps.connections.open", error="token_revoked", times=4)
        await fakes.server.refresh()
        await fakes.server.wait_for_connections(2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "Socket Mode cannot connect: apps.connections.open answered token_revoked; "
        "retrying until it can"
    ]
    assert fakes.sleeps == list(RETRY_DELAYS)  # 1, 2, 5, 10 s (slept at once here)
    assert any("connected again" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)


async def test_connect_is_cancellable_while_it_retries(fakes: Fakes) -> None:
    fakes.slack.fail_next("apps.connections.open", status=503, times=1000)
    client = fakes.client()
    connecting = asyncio.create_task(client.connect())
    await asyncio.wait_for(client.settled.wait(), 5)  # a first failure: retrying now
    connecting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await connecting
    await asyncio.wait_for(client.close(), 5)
    assert client.trouble.current == "apps.connections.open answered internal_error"


async def test_a_dead_connection_is_replaced_within_one_and_a_half_ping_intervals(
    fakes: Fakes,
) -> None:
    ping = 0.4
    client = fakes.client(ping_interval=ping)
    async with connected(client):
        await fakes.server.wait_for_connections(1)
        fakes.server.go_silent()
        silent_at = time.monotonic()
        second = await fakes.server.wait_for_connections(2, timeout=5 * ping + 2)
    # aiohttp pings after `ping` s of silence and gives up `ping / 2` later; then at once.
    assert second.opened_at - silent_at < 1.5 * ping + 0.5


async def test_close_does_not_wait_for_a_dead_server(fakes: Fakes) -> None:
    client = fakes.client()
    await asyncio.wait_for(client.connect(), 10)
    await fakes.server.wait_for_connections(1)
    fakes.server.go_silent()
    started = time.monotonic()
    await client.close()
    assert time.monotonic() - started < 2.0  # CLOSE_TIMEOUT (1 s) at most


def test_trouble_is_logged_once_per_change_and_when_it_clears(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "scanbot.socket_mode")
    trouble = Trouble()
    for problem in ["a", "a", "a", "b", "b", "a"]:
        trouble.note(problem)
    trouble.clear()
    trouble.clear()
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(": ", 1)[1].split(";")[0] for line in lines[:3]] == ["a", "b", "a"]
    assert lines[3:] == ["Socket Mode connected again (the last problem was: a)"]


def _api_error(error: str, headers: dict[str, str] | None = None) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,  # type: ignore[arg-type]
        http_verb="POST",
        api_url="https://slack.com/api/apps.connections.open",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=429 if headers else 200,
    )
    return SlackApiError("refused", response)


def test_problems_are_described_without_urls_or_tokens() -> None:
    handshake = aiohttp.WSServerHandshakeError(
        aiohttp.RequestInfo(
            aiohttp.client_reqrep.URL("wss://wss.slack.com/link/?ticket=SECRET"),
            "GET",
            {},  # type: ignore[arg-type]
        ),
        (),
        status=403,
    )
    described = [
        describe(_api_error("invalid_auth")),
        describe(handshake),
        describe(TimeoutError()),
        describe(ValueError("wss://wss.slack.com/link/?ticket=SECRET")),
    ]
    assert described == [
        "apps.connections.open answered invalid_auth",
        "the websocket handshake was refused (HTTP 403)",
        "no answer within 10 s",
        "ValueError",
    ]


def test_retries_wait_longer_then_every_10_s_and_honour_retry_after() -> None:
    error = ValueError()
    assert [retry_delay(n, error) for n in range(6)] == [1.0, 2.0, 5.0, 10.0, 10.0, 10.0]
    assert retry_delay(0, _api_error("ratelimited", {"Retry-After": "30"})) == 30.0


@pytest.mark.parametrize(
    "error", ["invalid_auth", "not_allowed_token_type", "token_revoked", "account_inactive"]
)
def test_a_refused_token_is_one_sentence_naming_the_variable(error: str) -> None:
    sentence = refused_token_sentence(error)
    assert sentence.startswith(f"Slack refused SLACK_APP_TOKEN ({error}): ")
    assert sentence.endswith(".")
    assert ". " not in sentence
    assert "App-Level Tokens" in sentence


async def _until(condition: Any) -> None:
    while not condition():  # noqa: ASYNC110 - the fake server's own state
        await asyncio.sleep(0.01)
