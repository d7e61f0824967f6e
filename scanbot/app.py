"""The composition root: the only place that builds I/O objects and wires them together."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.hostedscan import HostedScanClient
from scanbot.settings import Settings
from scanbot.slack import listeners
from scanbot.slack.answers import DEFAULT_DEADLINE, Answers
from scanbot.slack.inflight import InFlight

# How long a shutdown waits for replies already under way.
DRAIN_SECONDS = 8.0


@dataclass
class Runtime:
    settings: Settings
    hostedscan: HostedScanClient
    slack: AsyncWebClient
    bolt: AsyncApp
    answers: Answers
    inflight: InFlight

    async def aclose(self) -> None:
        await self.inflight.drain(DRAIN_SECONDS)
        await self.hostedscan.aclose()


def build_hostedscan(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> HostedScanClient:
    settings.require("hostedscan_api_key")
    return HostedScanClient.create(
        settings.hostedscan_api_url, settings.secret("hostedscan_api_key"), transport=transport
    )


def build_slack_client(settings: Settings) -> AsyncWebClient:
    settings.require("slack_bot_token")
    client = AsyncWebClient(
        token=settings.secret("slack_bot_token"), base_url=settings.slack_api_url, timeout=10
    )
    # slack_sdk retries only connection errors by default; honour Retry-After on 429 too.
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def build_runtime(
    settings: Settings,
    *,
    socket_mode: bool = False,
    hostedscan_transport: httpx.AsyncBaseTransport | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> Runtime:
    """Everything `serve` and `socket` run on. Refuses missing settings with a sentence."""
    settings.require("slack_bot_token", "hostedscan_api_key")
    if socket_mode:
        settings.require("slack_app_token")
        signing_secret = ""  # Socket Mode requests are not signed: they come over our socket
    else:
        settings.require("slack_signing_secret")
        signing_secret = settings.secret("slack_signing_secret")
    hostedscan = build_hostedscan(settings, transport=hostedscan_transport)
    slack = build_slack_client(settings)
    bolt = AsyncApp(client=slack, signing_secret=signing_secret, name="scanbot")
    answers = Answers(hostedscan, deadline=deadline)
    inflight = InFlight()
    listeners.register(bolt, answers, inflight)
    return Runtime(settings, hostedscan, slack, bolt, answers, inflight)
