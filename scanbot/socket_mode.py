"""Socket Mode: slack_sdk's aiohttp client with the connection policy `scanbot socket` needs.

slack_sdk's own `connect()` retries for ever before it returns (so a stop signal waits on
it), logs a traceback on every retry and cannot tell a refused token from a network fault;
a dead connection (no FIN, no RST) is replaced only at the monitor's next round, 15-25 s
after it went quiet. Here `connect()` is one attempt loop that:

- raises `TokenRefused` when Slack refuses the app token before a first connection
  (start-up stops with a sentence instead of retrying a token that will never work);
- logs each problem once per change of the problem (and once when it clears), never a
  traceback; a websocket URL that failed is never retried (Slack's tickets are single use);
- is cancellable at every await (the runtime runs it in a task beside its stop event).

The connection's keep-alive: aiohttp pings after PING_INTERVAL seconds without a frame and
closes the connection when no pong came PING_INTERVAL / 2 seconds later; that close is
replaced at once (not at the monitor's next round): a dead link is gone within ~6 s.
Imports nothing of scanbot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import aiohttp as sdk_aiohttp
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# Seconds without a frame before aiohttp pings; no pong within half of it closes the link.
PING_INTERVAL = 4.0
# Seconds an attempt may take (apps.connections.open has its own 10 s HTTP timeout).
CONNECT_TIMEOUT = 10.0
# Seconds a websocket close waits for the server's close frame (a dead server sends none).
CLOSE_TIMEOUT = 1.0
# Seconds between failed attempts: growing, then every 10 s (a 429's Retry-After wins).
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0)
# apps.connections.open's answers that no retry will change: the token itself is wrong.
TOKEN_REFUSALS = frozenset(
    {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked", "account_inactive"}
)

Sleep = Callable[[float], Awaitable[None]]


class TokenRefused(Exception):
    """Slack refused the app-level token before scanbot ever connected with it."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def slack_error(exc: BaseException) -> str | None:
    """The `error` of a Web API answer with `ok: false`, if `exc` is one."""
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if exc.response is not None else None
        return str(error) if error else "unknown_error"
    return None


def describe(exc: BaseException) -> str:
    """A connection problem in a few words: no URL (a websocket URL holds a ticket), no token."""
    error = slack_error(exc)
    if error is not None:
        return f"apps.connections.open answered {error}"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"the websocket handshake was refused (HTTP {exc.status})"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} from Slack"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot reach {exc.host}:{exc.port} ({exc.os_error.strerror or 'refused'})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:g} s"
    return type(exc).__name__


def retry_delay(attempt: int, exc: BaseException) -> float:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        retry_after = exc.response.headers.get("Retry-After") if exc.response.headers else None
        if retry_after is not None and str(retry_after).isdigit():
            return float(retry_after)
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]


class Trouble:
    """The connection's current problem, logged once per change and once when it clears."""

    def __init__(self) -> None:
        self.current: str | None = None

    def note(self, problem: str) -> None:
        if problem != self.current:
            log.warning("Socket Mode cannot connect: %s; retrying until it can", problem)
        self.current = problem

    def clear(self) -> None:
        if self.current is not None:
            log.info("Socket Mode connected again (the last problem was: %s)", self.current)
        self.current = None


class SocketModeClient(sdk_aiohttp.SocketModeClient):
    """slack_sdk's aiohttp Socket Mode client with scanbot's connect policy (module doc).

    Must be built inside the running event loop (the SDK starts a task and a session)."""

    def __init__(
        self,
        app_token: str,
        *,
        web_client: AsyncWebClient,
        ping_interval: float = PING_INTERVAL,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(
            app_token,
            logger=logging.getLogger(f"{__name__}.sdk"),
            web_client=web_client,
            ping_interval=ping_interval,
        )
        self.trouble = Trouble()
        # Set by the first connection, or by the first failure that is not a refused token:
        # from then on, the token is taken as good and problems are retried.
        self.settled = asyncio.Event()
        self.connected_once = False
        self._sleep = sleep
        self._replacing: asyncio.Future[None] | None = None
        self.on_error_listeners.append(self._replace_broken)

    def dispatch_to(self, app: AsyncApp) -> None:
        """Hand each envelope to Bolt and ack it (with Bolt's answer), as slack_bolt's
        AsyncSocketModeHandler does."""

        async def handle(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
            started = time.time()
            response = await run_async_bolt_app(app, request)
            await send_async_response(client, request, response, started)

        self.socket_mode_request_listeners.append(handle)

    async def issue_new_wss_url(self) -> str:
        # The SDK's version logs each failure and sleeps on a 429 itself; connect() decides.
        response = await self.web_client.apps_connections_open(app_token=self.app_token)
        return str(response["url"])

    async def connect(self) -> None:
        """Connect, retrying until connected or closed. Raises TokenRefused (see the module)."""
        attempt = 0
        while not self.closed:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self._open_session()
            except Exception as exc:  # every failure is retried, or TokenRefused
                if self.closed:
                    return
                self.wss_uri = None  # a new ticket next time
                error = slack_error(exc)
                if error in TOKEN_REFUSALS and not self.connected_once:
                    raise TokenRefused(error) from None
                self.trouble.note(describe(exc))
                self.settled.set()
                await self._sleep(retry_delay(attempt, exc))
                attempt += 1
            else:
                self.connected_once = True
                self.trouble.clear()
                self.settled.set()
                return

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """A refresh (`disconnect` from Slack, or a link found dead): a new URL, a new
        connection. One at a time: a second caller finds the link already replaced."""
        acquired: bool
        try:
            acquired = await asyncio.wait_for(self.connect_operation_lock.acquire(), timeout=5)
        except TimeoutError:
            acquired = False
        try:
            if force or (acquired and not await self.is_connected()):
                self.wss_uri = None
                await self.connect()
        finally:
            if acquired:
                self.connect_operation_lock.release()

    async def close(self) -> None:
        if self._replacing is not None:
            self._replacing.cancel()
        await super().close()  # type: ignore[no-untyped-call]

    async def _open_session(self) -> None:
        # slack_sdk's connect() body, less its retry loop and logging (slack_sdk 3.48).
        self.auto_reconnect_enabled = False
        old = self.current_session
        if old is not None and not old.closed:
            with contextlib.suppress(Exception):  # a broken link may fail to close: it is gone
                await old.close()
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        if self.wss_uri is None:
            self.wss_uri = await self.issue_new_wss_url()
        session = await self.aiohttp_client_session.ws_connect(
            self.wss_uri,
            autoping=False,
            heartbeat=self.ping_interval,
            proxy=self.proxy,
            ssl=self.web_client.ssl if self.web_client.ssl is not None else True,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
        )
        self.current_session = session
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        self.stale = False
        self.last_ping_pong_time = None  # the old link's pongs say nothing of this one
        log.info("Socket Mode connected")
        await session.ping(f"sdk-ping-pong:{time.time()}".encode())
        # The SDK's monitor and receiver follow the current session; start new ones.
        # (This may cancel the task running this code: nothing is awaited after it.)
        if self.current_session_monitor is not None:
            self.current_session_monitor.cancel()
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        if self.message_receiver is not None:
            self.message_receiver.cancel()
        self.message_receiver = asyncio.ensure_future(self.receive_messages())

    async def _replace_broken(self, message: Any) -> None:
        """aiohttp closed the link (no pong in time, or a protocol error): replace it now,
        in a task of its own (this runs in the receiver, which the new link replaces)."""
        if self.closed or (self._replacing is not None and not self._replacing.done()):
            return
        log.warning("Socket Mode connection lost (%s); reconnecting", _reason(message))
        self._replacing = asyncio.ensure_future(self.connect_to_new_endpoint())


def _reason(message: Any) -> str:
    data = getattr(message, "data", None)
    return type(data).__name__ if isinstance(data, BaseException) else "error"
