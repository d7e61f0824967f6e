"""Run an ASGI app under uvicorn: `scanbot serve` in the foreground, and the sandbox, demo
and tests in the background of the current event loop.

Two things uvicorn does not do, done here: drop a client that has not finished its
request headers within HEADER_TIMEOUT seconds (uvicorn's keep-alive timer starts only
after a first response and is reset by every byte, so a client that opens a connection
and trickles a request line holds it for ever), and exit 0 after a graceful SIGTERM
(uvicorn re-raises the signal it caught once it has shut down: exit status -15).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# Seconds a client has from its first byte (or from connecting) to the end of its request
# headers. Slack sends a whole request at once; a few seconds is generous on any network.
HEADER_TIMEOUT = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's headers.

    The timer is armed when the connection is made and again when the first byte of a
    later request arrives (uvicorn's keep-alive timer covers the idle time between them),
    and is cancelled once h11 has parsed the request line and headers. It is never reset
    by more bytes: a request trickled one byte a second is dropped all the same.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is None and self.conn.their_state is h11.IDLE:
            self._arm_header_deadline()  # the first byte of a request after a keep-alive
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.debug("dropped a client that sent no complete request headers in time")
            self.transport.close()


class Server(uvicorn.Server):
    """uvicorn's server. With `handle_signals`, SIGTERM and SIGINT start the graceful
    shutdown (a second SIGINT forces it) and are not raised again afterwards, so a clean
    stop exits 0. Without it, the signals are left alone (a server in the background)."""

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool) -> None:
        super().__init__(config)
        self.handle_signals = handle_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self.handle_signals:
            yield
            return
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)


def server_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for every server scanbot runs: header deadline included."""
    return uvicorn.Config(app, host=host, port=port, http=HeaderTimeoutProtocol, **options)


@contextlib.asynccontextmanager
async def serve_in_background(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, **config: Any
) -> AsyncIterator[str]:
    """Start `app` on a loopback port (0 = any free one) and yield its base URL, no slash.

    The server shuts down gracefully when the block exits.
    """
    server = Server(
        server_config(app, host=host, port=port, log_level="warning", lifespan="on", **config),
        handle_signals=False,
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise why it could not start
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        bound_port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await task
