"""The ASGI app: Slack's request URL, HostedScan's webhook, a health check, a clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scanbot import __version__
from scanbot.app import Runtime
from scanbot.hostedscan.webhooks import WebhookEvent, WebhookRejected, verify
from scanbot.store.store import utcnow

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 1_000_000


def create_web_app(runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> Starlette:
    """`clock` judges webhook freshness; only tests replaying old signed events change it."""
    handler = AsyncSlackRequestHandler(runtime.bolt)
    background: set[asyncio.Task[None]] = set()

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def hostedscan_webhook(request: Request) -> Response:
        secret = runtime.settings.hostedscan_webhook_secret
        if secret is None:
            return JSONResponse({"error": "webhooks are not configured"}, status_code=404)
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            event = verify(secret.get_secret_value(), request.headers, body, now=clock)
        except WebhookRejected as exc:
            log.warning("refused a webhook: %s", exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=401)
        if not await runtime.store.first_delivery(event.id):
            return JSONResponse({"ok": True, "duplicate": True})
        # Answer at once; HostedScan retries anything slow. The work goes on here.
        task = asyncio.create_task(_process(event))
        background.add(task)
        task.add_done_callback(background.discard)
        return JSONResponse({"ok": True})

    async def _process(event: WebhookEvent) -> None:
        async with runtime.inflight.track():
            await runtime.alerts.on_webhook(event)

    async def healthz(request: Request) -> Response:
        alerts = await runtime.alerts.health()
        degraded = bool(alerts["sending_paused"] or alerts["polling_down_since"])
        return JSONResponse(
            {
                "status": "degraded" if degraded else "ok",
                "version": __version__,
                "replies_in_flight": len(runtime.inflight),
                "alerts": alerts,
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        yield
        # uvicorn has stopped taking requests: let the replies under way finish.
        await runtime.aclose()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/hostedscan/webhook", hostedscan_webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
