"""The long-running commands: `scanbot serve` (HTTP) and `scanbot socket` (Socket Mode).

Both stop gracefully on SIGTERM or SIGINT and then exit 0. `cli` and `demo` run them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

from scanbot.app import Runtime, freeze_heap, open_runtime
from scanbot.serving import STOP_SIGNALS, Server, server_config
from scanbot.settings import ConfigError, Settings
from scanbot.socket_mode import SocketModeClient, TokenRefused

log = logging.getLogger(__name__)

# Seconds the Socket Mode client may take to close (its websocket waits 1 s at most).
CLOSE_SECONDS = 5.0

# Why Slack refused the app token, as the one sentence start-up ends with.
_WHERE = "under Basic Information > App-Level Tokens, with the connections:write scope"
_REFUSED = {
    "not_allowed_token_type": f"is not an app-level token: use the one starting xapp- {_WHERE}",
    "token_revoked": f"was revoked: generate a new one {_WHERE}",
}
_REFUSED_OTHERWISE = f"is not valid: copy the app-level token of this app {_WHERE}"


def refused_token_sentence(error: str) -> str:
    """One sentence for a refused SLACK_APP_TOKEN; names the variable, never its value."""
    why = _REFUSED.get(error, _REFUSED_OTHERWISE)
    return f"Slack refused SLACK_APP_TOKEN ({error}): it {why}."


async def serve_runtime(settings: Settings, host: str, port: int) -> None:
    from scanbot.web import create_web_app

    runtime = await open_runtime(settings)
    app = create_web_app(runtime)
    freeze_heap()
    config = server_config(
        app,
        host=host,
        port=port,
        log_config=None,  # keep our one logging style
        timeout_graceful_shutdown=10,
    )
    # SIGTERM and SIGINT shut down gracefully and exit 0 (see serving.Server).
    await Server(config, handle_signals=True).serve()


async def socket_runtime(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run in Socket Mode until SIGTERM or SIGINT (or `stop`), in whatever state the
    connection is: connected, retrying, or never yet connected. Raises ConfigError when
    Slack refuses SLACK_APP_TOKEN before a first connection."""
    stop = stop or asyncio.Event()
    with _stop_on_signals(stop):
        runtime = await open_runtime(settings, socket_mode=True)
        try:
            client = SocketModeClient(settings.secret("slack_app_token"), web_client=runtime.slack)
            client.dispatch_to(runtime.bolt)
            try:
                await _connected_until(stop, client, runtime)
            except TokenRefused as refused:
                raise ConfigError(refused_token_sentence(refused.error)) from None
            finally:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(CLOSE_SECONDS):
                        await client.close()
        finally:
            await runtime.aclose()
    log.info("Socket Mode stopped")


async def _connected_until(stop: asyncio.Event, client: SocketModeClient, runtime: Runtime) -> None:
    """Connect in a task, beside the stop event; start the alert jobs once the token is
    known good (or at least not refused); return when `stop` is set."""
    connecting = asyncio.create_task(client.connect())
    settled = asyncio.create_task(client.settled.wait())
    stopping = asyncio.create_task(stop.wait())
    pending: set[asyncio.Task[object]] = {connecting, settled, stopping}
    try:
        while not stopping.done():
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if connecting in done:
                connecting.result()  # TokenRefused
            if settled in done and not stopping.done():
                await runtime.start()
                freeze_heap()
    finally:
        for task in (connecting, settled, stopping):
            task.cancel()
        await asyncio.gather(connecting, settled, stopping, return_exceptions=True)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, _stopping, sig, stop)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _stopping(sig: signal.Signals, stop: asyncio.Event) -> None:
    if not stop.is_set():
        log.info("%s: stopping", sig.name)
    stop.set()
