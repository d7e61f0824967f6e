"""The composition root: the only place that builds I/O objects and wires them together."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.alerts.cycle import Poller
from scanbot.alerts.leader import Leadership, PostgresLeader, SoleInstance
from scanbot.alerts.risks import RiskDetails
from scanbot.alerts.sender import Sender
from scanbot.alerts.service import AlertService
from scanbot.domain.clock import utcnow
from scanbot.domain.events import DEFAULT_EVENTS, Alert
from scanbot.hostedscan import HostedScanClient
from scanbot.hostedscan.client import DEFAULT_LIMITS
from scanbot.hostedscan.limiter import FairLimiter
from scanbot.logs import silence_body_dumps
from scanbot.metrics import MeteredTransport, MeteredWebClient, Metrics
from scanbot.operations.service import Operations
from scanbot.settings import Settings
from scanbot.slack import actions, listeners
from scanbot.slack.answers import DEFAULT_DEADLINE, Answers
from scanbot.slack.cards import triage as triage_cards
from scanbot.slack.channel_commands import ChannelCommandHandler
from scanbot.slack.inflight import InFlight
from scanbot.slack.notifier import Notifier, notifier_for
from scanbot.slack.people import People
from scanbot.slack.permissions import Permissions
from scanbot.slack.responder import Responder, ResponseUrls
from scanbot.slack.retries import connection_retries
from scanbot.store import Store, database_url
from scanbot.summaries.commands import SummaryCommands
from scanbot.summaries.compute import DueDays
from scanbot.summaries.direct import DirectMessages
from scanbot.summaries.service import SummaryService
from scanbot.triage.service import Triage

log = logging.getLogger(__name__)

# How long a shutdown waits for replies already under way.
DRAIN_SECONDS = 8.0
# HostedScan requests in flight at once, shared fairly by commands and alerts; the rest
# wait in the limiter, not in httpx's pool (see hostedscan/limiter.py).
HOSTEDSCAN_CONCURRENCY = 10


@dataclass
class Runtime:
    settings: Settings
    hostedscan: HostedScanClient
    slack: AsyncWebClient
    bolt: AsyncApp
    answers: Answers
    inflight: InFlight
    store: Store
    alerts: AlertService
    responder: Responder
    schedule_alerts: bool = True
    metrics: Metrics = field(default_factory=Metrics)
    summaries: SummaryService | None = None

    async def start(self) -> None:
        """Apply SCANBOT_ALERT_CHANNEL and start the alert jobs (inside the running loop)."""
        for channel_id in self.settings.alert_channel_ids:
            if await self.store.subscriptions.ensure_env(channel_id, DEFAULT_EVENTS):
                log.info("subscribed %s to alerts (SCANBOT_ALERT_CHANNEL)", channel_id)
        if self.schedule_alerts:
            self.alerts.start()
            if self.summaries is not None:
                self.summaries.start()

    async def aclose(self) -> None:
        await self.alerts.stop()
        if self.summaries is not None:
            await self.summaries.stop()
        await self.inflight.drain(DRAIN_SECONDS)
        await self.responder.aclose()
        await self.hostedscan.aclose()
        await self.store.close()


def build_hostedscan(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    limiter: FairLimiter | None = None,
    metrics: Metrics | None = None,
) -> HostedScanClient:
    """The process's one HostedScan client (one connection pool), in the "commands" lane."""
    settings.require("hostedscan_api_key")
    limiter = limiter or FairLimiter(HOSTEDSCAN_CONCURRENCY)
    if metrics is not None:
        inner = transport or httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS)
        transport = MeteredTransport(inner, metrics)
    return HostedScanClient.create(
        settings.hostedscan_api_url,
        settings.secret("hostedscan_api_key"),
        transport=transport,
        limiter=limiter.lane("commands"),
    )


def build_slack_client(settings: Settings, metrics: Metrics | None = None) -> AsyncWebClient:
    settings.require("slack_bot_token")
    client = MeteredWebClient(
        token=settings.secret("slack_bot_token"), base_url=settings.slack_api_url, timeout=10
    )
    client.metrics = metrics
    # slack_sdk retries connection errors by default: not for posts (a lost answer would
    # show twice; the sender looks before posting again). Honour Retry-After on 429 too.
    client.retry_handlers = [
        *connection_retries(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
    ]
    return client


async def open_store(settings: Settings) -> Store:
    """The database from the settings, migrated to the newest schema."""
    return await Store.open(database_url(os.environ, settings.database_url))


def build_leadership(store: Store) -> Leadership:
    if store.db.is_postgres:
        return PostgresLeader(store.db.engine.url)
    return SoleInstance()


def build_alerts(
    settings: Settings,
    hostedscan: HostedScanClient,
    slack: Notifier | AsyncWebClient,
    store: Store,
    *,
    triage: Triage | None = None,
    clock: Callable[[], datetime] = utcnow,
    metrics: Metrics | None = None,
    after_delivery: Callable[[], Awaitable[int]] | None = None,
    quiet: Callable[[Alert], Awaitable[bool]] | None = None,
) -> AlertService:
    """The alert jobs; `slack` is the app's notifier (a bare client gets one on `clock`)."""
    notifier = notifier_for(slack, clock=clock)
    poller = Poller(
        hostedscan,
        store,
        full_sweep_every=settings.full_sweep_every,
        alert_existing=settings.alert_existing,
        clock=clock,
    )
    sender = Sender(
        notifier, store, digest_threshold=settings.digest_threshold, clock=clock, quiet=quiet
    )
    return AlertService(
        poller,
        sender,
        store,
        build_leadership(store),
        notifier,
        poll_interval=settings.poll_interval,
        admin_channel=settings.admin_channel,
        failures_before_notice=settings.poll_failures_before_notice,
        triage=triage,
        clock=clock,
        metrics=metrics,
        after_delivery=after_delivery,
    )


def build_poll_once(
    settings: Settings,
    hostedscan: HostedScanClient,
    store: Store,
    *,
    slack: AsyncWebClient | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> AlertService:
    """`scanbot poll --once`: the alert jobs as `serve` runs them, quiet hours included (a
    hand-run poll must not post what a subscription's quiet hours hold)."""
    client = slack if slack is not None else build_slack_client(settings)
    summaries = SummaryService(
        store, hostedscan, client, due=DueDays.parse(settings.due_days), clock=clock
    )
    return build_alerts(settings, hostedscan, client, store, clock=clock, quiet=summaries.holds)


async def open_runtime(
    settings: Settings,
    *,
    socket_mode: bool = False,
    hostedscan_transport: httpx.AsyncBaseTransport | None = None,
    deadline: float = DEFAULT_DEADLINE,
    schedule_alerts: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> Runtime:
    """Everything `serve` and `socket` run on. Refuses missing settings with a sentence.
    `clock` is what alerts and triage tell the time by (tests move it)."""
    settings.require("slack_bot_token", "hostedscan_api_key")
    if socket_mode:
        settings.require("slack_app_token")
        signing_secret = ""  # Socket Mode requests are not signed: they come over our socket
        seal_key = actions.seal_key(settings.secret("slack_app_token"))
    else:
        settings.require("slack_signing_secret")
        signing_secret = settings.secret("slack_signing_secret")
        seal_key = actions.seal_key(signing_secret)
    store = await open_store(settings)
    limiter = FairLimiter(HOSTEDSCAN_CONCURRENCY)
    metrics = Metrics()
    hostedscan = build_hostedscan(
        settings, transport=hostedscan_transport, limiter=limiter, metrics=metrics
    )
    slack = build_slack_client(settings, metrics)
    bolt = AsyncApp(client=slack, signing_secret=signing_secret, name="scanbot")
    silence_body_dumps()
    alerts_hostedscan = hostedscan.sharing(limiter=limiter.lane("alerts"))
    # The one Slack notifier: the sender, triage and channel commands all speak through it.
    notifier = Notifier(slack, clock=clock)
    triage = Triage(
        store,
        notifier,
        hostedscan,
        RiskDetails(hostedscan),
        clock=clock,
        render=triage_cards,
        seal_key=seal_key,
        assigned=DirectMessages(notifier).tell_assignee,
    )
    summaries = SummaryService(
        store, alerts_hostedscan, notifier, due=DueDays.parse(settings.due_days), clock=clock
    )
    summary_commands = SummaryCommands(store, notifier, changed=summaries.sync, clock=clock)
    channel_commands = ChannelCommandHandler(
        store, notifier, triage, admins=settings.admin_ids, summary_commands=summary_commands
    )
    answers = Answers(
        hostedscan,
        deadline=deadline,
        channel_commands=channel_commands,
        queued=lambda: limiter.waiting,
        risk_details=RiskDetails(hostedscan),
    )
    inflight = InFlight()
    responder = Responder.create(ResponseUrls(settings.slack_api_url))
    people = People(notifier, allow_guests=settings.allow_guests)
    permissions = Permissions(
        notifier, people, operators=settings.operator_ids, admins=settings.admin_ids
    )
    operations = Operations(
        store,
        notifier,
        hostedscan,
        permissions,
        seal_key=seal_key,
        run_limit=settings.run_limit,
        clock=clock,
        deadline=deadline,
        report_wait=settings.report_wait,
    )
    deps = listeners.Deps(
        answers, inflight, responder, people, triage, notifier, seal_key, operations
    )
    listeners.register(bolt, deps)
    alerts = build_alerts(
        settings,
        alerts_hostedscan,
        notifier,
        store,
        triage=triage,
        clock=clock,
        metrics=metrics,
        after_delivery=operations.notify_finished,
        quiet=summaries.holds,
    )
    return Runtime(
        settings,
        hostedscan,
        slack,
        bolt,
        answers,
        inflight,
        store,
        alerts,
        responder,
        schedule_alerts,
        metrics,
        summaries,
    )


def log_masks(settings: Settings) -> list[Callable[[str], str]]:
    """What the log redactor hides besides the secret settings: response_url paths (httpx
    names every URL it posts to, at DEBUG)."""
    return [ResponseUrls(settings.slack_api_url).mask]


def freeze_heap() -> None:
    """Everything alive at start-up (modules, the app, its caches) lives as long as the
    process: keep the cyclic collector from rescanning it, or each full collection pauses
    the event loop for tens of ms while Slack waits for an ack (bench/commands.py measured
    an ack p99 of 62-70 ms without this, 22-25 ms with it). Only for long-lived servers."""
    gc.collect()
    gc.freeze()
