"""Runs the alert pipeline: on a schedule, on a webhook, and once from the command line.

Only the replica that leads (see leader.py) polls and sends; any replica may take a
webhook, since observations are serialised in the store and alerts are unique by key.
Scheduled, polling and delivery run apart (delivery.py): a cycle that commits rows wakes
the senders, and neither waits for the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scanbot.alerts.cycle import CycleReport, Poller
from scanbot.alerts.delivery import Rounds
from scanbot.alerts.inbox import WebhookInbox
from scanbot.alerts.jobs import Jobs
from scanbot.alerts.leader import Leadership
from scanbot.alerts.sender import Sender, SendReport
from scanbot.domain.clock import utcnow
from scanbot.hostedscan.webhooks import WebhookEvent
from scanbot.metrics import Metrics
from scanbot.slack.cards import admin as admin_cards
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.store import Store
from scanbot.triage.service import Triage

log = logging.getLogger(__name__)

PRUNE_EVERY = 60  # cycles
# A standby tries the leader lock this often (in its posting round), and on taking over
# polls at once: a killed leader's alerts wait about a second for a successor, not a poll
# interval.
STANDBY_WATCH = 1.0
# Seconds a stop lets a scheduled job under way finish before cancelling it (a cycle cut
# short is safe: its observation is one transaction, its sends are keyed).


@dataclass
class TickReport:
    leading: bool
    cycle: CycleReport | None = None
    sent: SendReport | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


class AlertService:
    def __init__(
        self,
        poller: Poller,
        sender: Sender,
        store: Store,
        leadership: Leadership,
        slack: Notifier,
        *,
        poll_interval: float = 60.0,
        deliver_interval: float = 5.0,
        admin_channel: str | None = None,
        failures_before_notice: int = 3,
        triage: Triage | None = None,
        after_delivery: Callable[[], Awaitable[int]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.poller = poller
        self.sender = sender
        self.store = store
        self._leadership = leadership
        self._slack = slack
        self._poll_interval = poll_interval
        self._deliver_interval = deliver_interval
        self._admin_channel = admin_channel
        self._failures_before_notice = failures_before_notice
        self._clock = clock
        self._triage = triage
        self.metrics = metrics
        # Run after each delivery round (the operations tell starters their scan finished).
        self._after_delivery = after_delivery
        self._scheduler: AsyncIOScheduler | None = None
        self._tick_lock = asyncio.Lock()
        self._jobs = Jobs()
        self._leader_lock = asyncio.Lock()  # one question to the lock's connection at a time
        self.leading = False
        self.skipped_runs = 0  # APScheduler runs skipped: a poll still running at the next
        # Delivery apart from polling, once `start` runs: posts, and parent edits.
        self.posting = Rounds("delivery", self._post_round, interval=deliver_interval)
        self.editing = Rounds("parent edit", self._edit_round, interval=deliver_interval)
        self._rounds_running = False
        self.webhooks = WebhookInbox(poller, store, on_looked=self._after_webhook)
        self._resuming: asyncio.Future[int] | None = None

    # -- the jobs -------------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """One poll cycle and one delivery round, if this replica leads (`poll --once`)."""
        report = await self.poll()
        if not report.leading:
            return report
        try:
            report.sent = await self._deliver()
        except Exception as exc:  # a job run is a boundary; the outbox keeps the rows
            report.error = report.error or f"delivery failed: {exc.__class__.__name__}: {exc}"
            log.error("delivery round failed: %s", exc, exc_info=exc)
        return report

    def _count_sends(self, report: SendReport) -> None:
        if self.metrics is None:
            return
        alerts = self.metrics.alerts
        for event, count in (
            ("sent", report.sent),
            ("parked", report.parked),
            ("retried", report.retried),
            ("held", report.held),
            ("adopted", report.adopted),
        ):
            if count:
                alerts.labels(event).inc(count)
        if report.edited:
            self.metrics.parent_edits.inc(report.edited)
        for seconds in report.latencies:
            self.metrics.alert_latency.observe(max(0.0, seconds))

    def _count_cycle(self, report: TickReport) -> None:
        if self.metrics is None:
            return
        self.metrics.poll_cycles.labels("failed" if report.cycle is None else "ok").inc()
        if report.cycle is not None:
            self.metrics.poll_seconds.observe(report.cycle.seconds)
            if report.cycle.queued:
                self.metrics.alerts.labels("queued").inc(report.cycle.queued)

    async def poll(self) -> TickReport:
        """One poll cycle, if this replica leads; then the senders are woken (scheduled)."""
        async with self._tick_lock:
            self.leading = await self._ensure_leading()
            report = TickReport(leading=self.leading)
            if not self.leading:
                return report
            try:
                report.cycle = await self.poller.run_cycle()
            except Exception as exc:  # a job run is a boundary: log, count, go on next time
                report.error = f"{exc.__class__.__name__}: {exc}"
                log.error("poll cycle failed: %s", report.error, exc_info=exc)
                await self._count_failure(report)
            else:
                await self._count_success(report)
                if report.cycle.cycle % PRUNE_EVERY == 0:
                    log.info("pruned old rows: %s", await self.store.housekeeping.prune())
                self.wake_senders()
            self._count_cycle(report)
            return report

    def wake_senders(self) -> None:
        """Rows or thread summaries were committed: deliver and redraw now."""
        self.posting.wake()
        self.editing.wake()

    async def _ensure_leading(self) -> bool:
        async with self._leader_lock:
            return await self._leadership.ensure()

    async def _post_round(self) -> float | None:
        """One round of posts; the seconds until a row waiting for a retry comes due (a
        standby: until it tries the lock again)."""
        was_leading = self.leading
        self.leading = await self._ensure_leading()
        if not self.leading:
            return STANDBY_WATCH
        if not was_leading:
            self._poll_soon()  # took over: what changed while nobody led, now
        report = await self.sender.send()
        self._count_sends(report)
        if report.paused:
            return None
        if report.sent:
            self.editing.wake()  # new threads: their parents may need a redraw already
        if self._triage is not None:
            await self._triage.release_held(self._clock())
        due = await self.store.outbox.next_due()
        return None if due is None else (due - self._clock()).total_seconds()

    async def _edit_round(self) -> None:
        if self.leading:
            self._count_sends(await self.sender.edit_parents())

    async def deliver_tick(self) -> SendReport | None:
        """Deliver what webhooks (or a crash) left in the outbox, between poll cycles."""
        self.leading = await self._ensure_leading()
        if not self.leading:
            return None
        try:
            return await self._deliver()
        except Exception as exc:  # a job run is a boundary; the outbox keeps the rows
            log.error("delivery round failed: %s", exc, exc_info=exc)
            return None

    async def _deliver(self) -> SendReport:
        report = await self.sender.deliver()
        self._count_sends(report)
        if self._triage is not None and not report.paused:
            # Snoozes that ended and threads unmuted: one summary reply each; every snooze
            # that ended is cleared and its parent redrawn, held alerts or not.
            await self._triage.release_held(self._clock())
        if self._after_delivery is not None and not report.paused:
            await self._after_delivery()
        return report

    async def on_webhook(self, event: WebhookEvent) -> None:
        """A verified, first-seen webhook event: looked at with the others of its window."""
        if not await self.webhooks.submit(event):
            log.info("webhook event of type %.60r left to polling", event.type)

    async def _after_webhook(self) -> None:
        if self._rounds_running:
            self.wake_senders()
        else:
            await self.deliver_tick()

    # -- failures and admin notes ---------------------------------------------------------

    async def _count_failure(self, report: TickReport) -> None:
        failures = (await self.store.state.read()).poll_failures + 1
        await self.store.state.set_poll_failures(failures)
        if failures == self._failures_before_notice:
            await self.store.state.set_poll_down_since(self._clock().isoformat())
            note = (
                f"scanbot could not poll HostedScan {failures} times in a row "
                f"({report.error}). Alerts will be late until it recovers."
            )
            report.notes.append(note)
            await self._tell_admin(note)

    async def _count_success(self, report: TickReport) -> None:
        state = await self.store.state.read()
        if state.poll_failures:
            await self.store.state.set_poll_failures(0)
        down_since = state.poll_down_since
        if down_since:
            await self.store.state.set_poll_down_since(None)
            note = f"scanbot polls HostedScan again (it failed from {down_since})."
            report.notes.append(note)
            await self._tell_admin(note)

    async def _tell_admin(self, note: str) -> None:
        log.warning("%s", note)
        if not self._admin_channel:
            return
        message = admin_cards.admin_note(note)
        try:
            await self._slack.notice(self._admin_channel, message)
        except SlackFailure as failure:
            log.error("could not tell SCANBOT_ADMIN_CHANNEL: %s", failure.error)

    # -- scheduling -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the jobs; call inside the running event loop (APScheduler 3 needs it)."""
        self._jobs.stopping = False
        scheduler = AsyncIOScheduler()
        jitter = max(1, int(self._poll_interval / 10))
        scheduler.add_job(
            self._jobs.run,
            "interval",
            args=[self.poll],
            seconds=self._poll_interval,
            jitter=jitter,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(self._poll_interval),
            next_run_time=utcnow(),  # the scheduler runs on the wall clock, not an injected one
            id="poll",
        )
        scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        scheduler.start()
        self._scheduler = scheduler
        self.posting.start()
        self.editing.start()
        self.posting.wake()  # what a restart left in the outbox goes now; a standby watches
        self._rounds_running = True
        self._resuming = asyncio.ensure_future(self.webhooks.resume())

    def _poll_soon(self) -> None:
        """Run the poll job now, unless one is under way (it would count as skipped)."""
        if self._scheduler is None or self._tick_lock.locked():
            return
        job = self._scheduler.get_job("poll")
        if job is not None:
            job.modify(next_run_time=utcnow())  # the scheduler's time is the wall clock

    def _skipped(self, event: JobExecutionEvent) -> None:
        self.skipped_runs += 1
        if self.metrics is not None:
            self.metrics.skipped_runs.inc()

    async def stop(self) -> None:
        """Stop the jobs: one under way gets STOP_GRACE seconds, then is cancelled (the
        scheduler's shutdown cancels what still runs)."""
        if self._scheduler is not None:
            await self._jobs.stop(self._scheduler)
            self._scheduler = None
        self._rounds_running = False
        await self.webhooks.aclose()
        await self.posting.stop()
        await self.editing.stop()
        await self._leadership.release()
