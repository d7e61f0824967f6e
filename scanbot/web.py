"""The ASGI app: Slack's request URL, HostedScan's webhook, a health check, a clean shutdown.

Every request passes the body cap first (body_cap.py). Slack's requests are verified on
their raw bytes before anything reads them (slack/inbound.py); HostedScan's too
(hostedscan/webhooks.py). A refusal is a 4xx and one short log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from scanbot import __version__
from scanbot.app import Runtime
from scanbot.body_cap import BodyCap
from scanbot.domain.clock import utcnow
from scanbot.domain.outbox import OutboxStatus
from scanbot.domain.status import Status
from scanbot.hostedscan.webhooks import WebhookEvent, WebhookRejected, verify
from scanbot.metrics import CONTENT_TYPE
from scanbot.slack.inbound import SlackRequestRefused, SlackRequests

log = logging.getLogger(__name__)

# Parked alerts /healthz names (with its token): the newest few.
HEALTH_PARKED = 5


def create_web_app(runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> ASGIApp:
    """`clock` judges webhook freshness; only tests replaying old signed events change it."""
    settings = runtime.settings
    slack_requests = SlackRequests(settings.secret("slack_signing_secret"))
    background: set[asyncio.Task[None]] = set()

    async def slack_events(request: Request) -> Response:
        body = await request.body()  # at most SCANBOT_MAX_BODY_BYTES: BodyCap saw to it
        try:
            slack_requests.verify(request.headers, body)
            bolt_request = slack_requests.bolt_request(body, request.headers, request.query_params)
        except SlackRequestRefused as exc:
            log.warning("refused a Slack request: %s", exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        return to_starlette_response(await runtime.bolt.async_dispatch(bolt_request))

    async def hostedscan_webhook(request: Request) -> Response:
        secret = settings.hostedscan_webhook_secret
        if secret is None:
            return JSONResponse({"error": "webhooks are not configured"}, status_code=404)
        body = await request.body()  # at most SCANBOT_MAX_BODY_BYTES: BodyCap saw to it
        try:
            event = verify(secret.get_secret_value(), request.headers, body, now=clock)
        except WebhookRejected as exc:
            log.warning("refused a webhook: %s", exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        first = await runtime.store.webhooks.first_delivery(
            event.id, scan_id=event.scan_id, risks=event.is_risk_event
        )
        if not first:
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
        access = _health_access(request, settings.health_token)
        if access is None:
            return JSONResponse({"error": "wrong health token"}, status_code=401)
        status = await runtime.store.status(leading=runtime.alerts.leading, parked=HEALTH_PARKED)
        inbox = runtime.alerts.webhooks
        webhooks = {"waiting": inbox.depth, "left_to_polling": inbox.counts.dropped}
        if not access:
            return JSONResponse(_counts(status, len(runtime.inflight)) | {"webhooks": webhooks})
        return JSONResponse(_details(status, len(runtime.inflight)) | {"webhooks": webhooks})

    async def metrics(request: Request) -> Response:
        """Prometheus' text format, for the same bearer token as /healthz's details."""
        if _health_access(request, settings.health_token) is not True:
            return JSONResponse({"error": "metrics need the health token"}, status_code=401)
        await _refresh_gauges(runtime)
        return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        yield
        # uvicorn has stopped taking requests: let the replies under way finish.
        await runtime.aclose()

    app = Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/hostedscan/webhook", hostedscan_webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    return BodyCap(app, max_bytes=settings.max_body_bytes)


async def _refresh_gauges(runtime: Runtime) -> None:
    """The gauges read at scrape time: the outbox, the webhook queue, shared reads."""
    metrics = runtime.metrics
    counts = await runtime.store.outbox.counts()
    for status in OutboxStatus:
        metrics.outbox.labels(status.value).set(counts.get(status.value, 0))
    oldest = await runtime.store.outbox.oldest_waiting()
    age = 0.0 if oldest is None else (utcnow() - oldest).total_seconds()
    metrics.outbox_oldest.set(max(0.0, age))
    inbox = runtime.alerts.webhooks
    for what, value in (
        ("waiting", inbox.depth),
        ("received", inbox.counts.received),
        ("looks", inbox.counts.looks),
        ("left_to_polling", inbox.counts.dropped),
        ("failed", inbox.counts.failed),
    ):
        metrics.webhooks.labels(what).set(value)
    reads = (runtime.answers.scans_read, runtime.answers.listings_read)
    metrics.reads_shared.labels("fetched").set(sum(r.fetched for r in reads))
    metrics.reads_shared.labels("shared").set(sum(r.shared for r in reads))


def _health_access(request: Request, token: SecretStr | None) -> bool | None:
    """True: the details; False: counts only (no Authorization header); None: refuse (a
    header that is not the bearer token, or any header while no token is configured)."""
    header = request.headers.get("authorization")
    if header is None:
        return False
    scheme, _, presented = header.partition(" ")
    if token is None or scheme.lower() != "bearer":
        return None
    # Starlette decodes headers as latin-1: encoding back gives the bytes as sent.
    expected = token.get_secret_value().encode()
    return hmac.compare_digest(presented.strip().encode("latin-1"), expected) or None


def _counts(status: Status, replies_in_flight: int) -> dict[str, Any]:
    """What anyone may see: the status and numbers, nothing naming a channel, scan or reason."""
    return {
        "status": status.health,
        "replies_in_flight": replies_in_flight,
        "poll_failures": status.poll_failures,
        "outbox": dict(status.outbox),
    }


def _details(status: Status, replies_in_flight: int) -> dict[str, Any]:
    """What the health token shows besides: the pipeline's state and the parked alerts."""
    return {
        "status": status.health,
        "version": __version__,
        "replies_in_flight": replies_in_flight,
        "alerts": {
            "leading": status.leading,
            "last_cycle_at": status.last_cycle_at,
            "poll_failures": status.poll_failures,
            "polling_down_since": status.polling_down_since,
            "sending_paused": status.sending_paused,
            "outbox": dict(status.outbox),
            "parked": [
                {
                    "channel": row.alert.channel_id,
                    "scan": row.alert.event.summary.scan_id,
                    "reason": row.last_error,
                }
                for row in status.parked
            ],
        },
    }
