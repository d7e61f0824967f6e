"""The summaries' job: record the day's risk counts, queue each due period once, deliver.

`tick` is the whole round and is safe to run anywhere, any number of times, on any number
of replicas: a period is queued by a conditional claim and a unique outbox key in one
transaction (`Summaries.queue`), and a queued summary is sent by whichever replica leases
its row. APScheduler runs `tick` at each schedule's cron time (in its time zone; the jobs
are rebuilt from the database at start and after each change), and every few minutes as a
safety net that also sends, late and once, a period missed while scanbot was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.alerts.jobs import Jobs
from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert
from scanbot.domain.summaries import DAILY, DailyCount, QueuedSummary, SummarySchedule
from scanbot.hostedscan import HostedScanClient, HostedScanError
from scanbot.slack.notifier import Notifier, Refused, SlackFailure, notifier_for
from scanbot.slack.text import escape
from scanbot.store import Store
from scanbot.summaries.card import NOT_ENOUGH_HISTORY, posture_summary, quiet_release
from scanbot.summaries.chart import draw_trend, enough_history, window_start
from scanbot.summaries.compute import (
    OTHER,
    DueDays,
    Posture,
    PostureCounter,
    RiskFilter,
    ScanTally,
)
from scanbot.summaries.quiet import holds, quiet_now
from scanbot.summaries.schedule import LATE_AFTER, cron_fields, pending

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a replica that dies mid-send gives its summary up after this
RETRY_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 6
SAFETY_NET_MINUTES = 1  # also how soon held alerts go out after quiet hours end
JOB_PREFIX = "summary:"
CHART_TITLE = "Open risks by threat level, last 8 weeks"


async def compute_posture(
    hostedscan: HostedScanClient,
    now: datetime,
    *,
    risk_filter: RiskFilter | None = None,
    since: datetime | None = None,
    previous_open: int | None = None,
    scans: ScanTally | None = None,
    due: DueDays | None = None,
) -> Posture:
    """The posture of every open risk matching `risk_filter`, page by page: the types go
    to the API's filter, the target text and severity are checked here (the API has no
    substring or minimum-level filter)."""
    wanted = risk_filter or RiskFilter()
    counter = PostureCounter(now, since=since, due=due, risk_filter=wanted)
    listing = hostedscan.list_risks(statuses=["OPEN"], scan_types=list(wanted.types))
    async with contextlib.aclosing(listing) as risks:
        async for risk in risks:
            counter.add(risk)
    return counter.posture(previous_open=previous_open, scans=scans)


def daily_count(posture: Posture) -> DailyCount:
    levels = posture.open_by_level
    return DailyCount(
        day=posture.at.astimezone(UTC).date(),
        high=levels.get("HIGH", 0),
        medium=levels.get("MEDIUM", 0),
        low=levels.get("LOW", 0),
        other=levels.get(OTHER, 0),
        accepted=posture.accepted,
    )


class SummaryService:
    def __init__(
        self,
        store: Store,
        hostedscan: HostedScanClient,
        slack: Notifier | AsyncWebClient,
        *,
        due: DueDays | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._hostedscan = hostedscan
        self._slack = notifier_for(slack, clock=clock)
        self._due = due or DueDays()
        self._clock = clock
        self._scheduler: AsyncIOScheduler | None = None
        self._jobs = Jobs()
        self._round = asyncio.Lock()  # one round at a time in this process
        self.last_chart: bytes | None = None  # the last chart drawn (the demo saves it)

    # -- the round ------------------------------------------------------------------------

    async def tick(self) -> int:
        """Record today's counts, queue what is due, deliver; returns summaries sent."""
        async with self._round:
            now = self._clock()
            try:
                await self.record_today(now)
            except HostedScanError as exc:
                log.warning("daily risk count not recorded: %s", exc)
            await self.queue_due(now)
            sent = await self.deliver(now)
            await self.release_quiet(now)
            return sent

    async def record_today(self, now: datetime) -> bool:
        """The day's count of open risks by level (UTC day), once a day."""
        if await self._store.summaries.has_count(now.astimezone(UTC).date()):
            return False
        posture = await compute_posture(self._hostedscan, now, due=self._due)
        recorded = await self._store.summaries.record_count(daily_count(posture), now)
        if recorded:
            log.info("recorded today's open risks: %d", posture.open_total)
        return recorded

    async def queue_due(self, now: datetime) -> int:
        queued = 0
        for schedule in await self._store.summaries.all():
            due = pending(schedule, now)
            if due is not None and await self._store.summaries.queue(
                schedule, due.period, due.at, now
            ):
                queued += 1
        return queued

    async def deliver(self, now: datetime) -> int:
        sent = 0
        for queued in await self._store.summaries.lease(now, LEASE):
            sent += await self._send(queued, now)
        return sent

    async def _send(self, queued: QueuedSummary, now: datetime) -> int:
        schedule = await self._store.summaries.get(queued.schedule_id)
        if schedule is None:
            await self._store.summaries.park(queued, "the summary was stopped", now)
            return 0
        try:
            posture = await self._posture(schedule, queued, now)
        except HostedScanError as exc:
            return await self._failed(queued, f"HostedScan: {exc}", now, permanent=False)
        history = await self._store.summaries.counts(window_start(now.astimezone(UTC).date()))
        chart = enough_history(history)
        message = posture_summary(
            posture,
            schedule,
            due_at=queued.due_at,
            late=now - queued.due_at > LATE_AFTER,
            chart_note=None if chart else NOT_ENOUGH_HISTORY,
        )
        try:
            ts: str | None = await self._slack.notice(schedule.channel_id, message) or None
        except SlackFailure as failure:
            refused = isinstance(failure, Refused)
            return await self._failed(queued, failure.detail, now, permanent=refused)
        await self._store.summaries.sent(queued, ts, posture.open_total, now)
        log.info(
            "sent the %s summary %s to %s", schedule.period, queued.period, schedule.channel_id
        )
        if chart and ts is not None:
            await self._upload_chart(schedule, history, ts, now)
        return 1

    async def _posture(
        self, schedule: SummarySchedule, queued: QueuedSummary, now: datetime
    ) -> Posture:
        length = timedelta(days=1 if schedule.period == DAILY else 7)
        start = schedule.last_at or (queued.due_at - length)
        scans = ScanTally.of(await self._store.summaries.finished_scans(start, now))
        risk_filter = RiskFilter(schedule.types, schedule.target_contains, schedule.min_severity)
        return await compute_posture(
            self._hostedscan,
            now,
            risk_filter=risk_filter,
            since=schedule.last_at,
            previous_open=schedule.last_open,
            scans=scans,
            due=self._due,
        )

    async def _upload_chart(
        self, schedule: SummarySchedule, history: list[DailyCount], ts: str, now: datetime
    ) -> None:
        png = await asyncio.to_thread(draw_trend, history)
        self.last_chart = png
        try:
            await self._slack.upload_file(
                schedule.channel_id,
                png,
                filename=f"scanbot-trend-{now.astimezone(UTC):%Y-%m-%d}.png",
                title=CHART_TITLE,
                comment=f"📈 {CHART_TITLE}",
                thread_ts=ts,
            )
        except SlackFailure as failure:  # the summary itself went out: the chart is extra
            log.warning("trend chart not uploaded (%s)", failure.detail)

    async def _failed(
        self, queued: QueuedSummary, error: str, now: datetime, *, permanent: bool
    ) -> int:
        if permanent or queued.attempts >= MAX_ATTEMPTS:
            log.warning("summary %s parked: %s", queued.key, escape(error))
            await self._store.summaries.park(queued, error, now)
        else:
            log.warning("summary %s not sent (%s): retrying", queued.key, escape(error))
            await self._store.summaries.retry(queued, error, now + RETRY_AFTER)
        return 0

    # -- quiet hours ----------------------------------------------------------------------

    async def holds(self, alert: Alert) -> bool:
        """For the alert sender: whether this alert waits for its channel's quiet hours."""
        subscriptions = await self._store.subscriptions.all(alert.channel_id, enabled_only=True)
        return holds(alert, subscriptions, self._clock())

    async def release_quiet(self, now: datetime) -> int:
        """Each channel whose quiet hours ended: ONE message listing what they held."""
        released = 0
        for channel_id in await self._store.summaries.quiet_channels(now):
            subscriptions = await self._store.subscriptions.all(channel_id)
            if quiet_now(channel_id, subscriptions, now):
                continue
            rows = await self._store.summaries.lease_quiet(channel_id, now, LEASE)
            if not rows:
                continue  # another replica is releasing them
            ids = [row_id for row_id, _ in rows]
            message = quiet_release([alert for _, alert in rows], subscriptions)
            try:
                ts = await self._slack.notice(channel_id, message) or None
            except SlackFailure as failure:
                log.warning("held alerts of %s not released (%s)", channel_id, failure.detail)
                await self._store.summaries.hold_again(ids, failure.detail)
                continue
            await self._store.summaries.released(ids, ts, now)
            log.info("released %d alert(s) held by quiet hours in %s", len(ids), channel_id)
            released += 1
        return released

    # -- the jobs -------------------------------------------------------------------------

    def start(self) -> None:
        """Cron jobs rebuilt from the database, the safety net, and a round now (which
        sends, late, a period missed while scanbot was down)."""
        self._jobs.stopping = False
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._jobs.run, "interval", args=[self.tick], minutes=SAFETY_NET_MINUTES,
            id="summaries", next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
        )  # fmt: skip
        scheduler.start()
        self._scheduler = scheduler
        scheduler.add_job(
            self._jobs.run, args=[self.sync], id="summaries:sync", next_run_time=datetime.now(UTC)
        )

    async def sync(self) -> int:
        """One cron job per schedule, as the database has them now; returns how many."""
        return self.rebuild(self._scheduler, await self._store.summaries.all())

    def rebuild(self, scheduler: AsyncIOScheduler | None, schedules: list[SummarySchedule]) -> int:
        if scheduler is None:
            return 0
        for job in scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX):
                job.remove()
        for schedule in schedules:
            scheduler.add_job(
                self._jobs.run, CronTrigger(**cron_fields(schedule)), args=[self.tick],
                id=f"{JOB_PREFIX}{schedule.id}", coalesce=True, max_instances=1,
                misfire_grace_time=None,
            )  # fmt: skip
        return len(schedules)

    def cron_jobs(self) -> dict[str, datetime | None]:
        """The schedules' jobs running now: job id -> next fire time (for status and tests)."""
        if self._scheduler is None:
            return {}
        jobs = self._scheduler.get_jobs()
        return {j.id: j.next_run_time for j in jobs if j.id.startswith(JOB_PREFIX)}

    async def stop(self) -> None:
        """Stop the jobs: one under way gets STOP_GRACE seconds, then is cancelled."""
        if self._scheduler is not None:
            await self._jobs.stop(self._scheduler)
            self._scheduler = None
