"""Runs the alert pipeline: on a schedule, on a webhook, and once from the command line.

Only the replica that leads (see leader.py) polls and sends; any replica may take a
webhook, since observations are serialised in the store and alerts are unique by key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scanbot.alerts.cycle import CycleReport, Poller
from scanbot.alerts.leader import Leadership
from scanbot.alerts.sender import Sender, SendReport
from scanbot.domain.clock import utcnow
from scanbot.hostedscan.webhooks import WebhookEvent
from scanbot.slack.cards import admin as admin_cards
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.store import Store
from scanbot.triage.service import Triage

log = logging.getLogger(__name__)

PRUNE_EVERY = 60  # cycles
# Seconds a stop lets a scheduled job under way finish before cancelling it (a cycle cut
# short is safe: its observation is one transaction, its sends are keyed).
STOP_GRACE = 1.0


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
        clock: Callable[[], datetime] = utcnow,
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
        self._scheduler: AsyncIOScheduler | None = None
        self._tick_lock = asyncio.Lock()
        self._jobs: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.leading = False

    # -- the jobs -------------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """One poll cycle and one delivery round, if this replica leads."""
        async with self._tick_lock:
            self.leading = await self._leadership.ensure()
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
            try:
                report.sent = await self._deliver()
            except Exception as exc:  # a job run is a boundary; the outbox keeps the rows
                report.error = report.error or f"delivery failed: {exc.__class__.__name__}: {exc}"
                log.error("delivery round failed: %s", exc, exc_info=exc)
            return report

    async def deliver_tick(self) -> SendReport | None:
        """Deliver what webhooks (or a crash) left in the outbox, between poll cycles."""
        self.leading = await self._leadership.ensure()
        if not self.leading:
            return None
        try:
            return await self._deliver()
        except Exception as exc:  # a job run is a boundary; the outbox keeps the rows
            log.error("delivery round failed: %s", exc, exc_info=exc)
            return None

    async def _deliver(self) -> SendReport:
        report = await self.sender.deliver()
        if self._triage is not None and not report.paused:
            # Snoozes that ended and threads unmuted: one summary reply each; every snooze
            # that ended is cleared and its parent redrawn, held alerts or not.
            await self._triage.release_held(self._clock())
        return report

    async def on_webhook(self, event: WebhookEvent) -> None:
        """A verified, first-seen webhook event: look at what it names now."""
        try:
            if event.is_scan_event and event.scan_id:
                await self.poller.refresh_scan(event.scan_id)
            elif event.is_risk_event:  # names a risk, not a scan: look at the active scans
                await self.poller.run_cycle(steady_only=True)
            else:
                log.info("ignored webhook event of type %.60r", event.type)
                return
        except Exception as exc:  # the poll that follows catches up on whatever this missed
            log.error("webhook %s not processed: %s", event.id[:64], exc, exc_info=exc)
            return
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

    async def _scheduled(self, job: Callable[[], Awaitable[object]]) -> None:
        """A job as the scheduler runs it: stop() may cancel it, without a traceback."""
        task = asyncio.current_task()
        assert task is not None  # the scheduler runs each job in a task of its own
        self._jobs.add(task)
        try:
            await job()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            log.info("stopped %s under way: shutting down", getattr(job, "__name__", "a job"))
        finally:
            self._jobs.discard(task)

    def start(self) -> None:
        """Start the jobs; call inside the running event loop (APScheduler 3 needs it)."""
        self._stopping = False
        scheduler = AsyncIOScheduler()
        jitter = max(1, int(self._poll_interval / 10))
        scheduler.add_job(
            self._scheduled,
            "interval",
            args=[self.tick],
            seconds=self._poll_interval,
            jitter=jitter,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(self._poll_interval),
            next_run_time=self._clock(),
            id="poll",
        )
        scheduler.add_job(
            self._scheduled,
            "interval",
            args=[self.deliver_tick],
            seconds=self._deliver_interval,
            max_instances=1,
            coalesce=True,
            id="deliver",
        )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        """Stop the jobs: one under way gets STOP_GRACE seconds, then is cancelled (the
        scheduler's shutdown cancels what still runs)."""
        self._stopping = True
        if self._scheduler is not None:
            self._scheduler.pause()
            running = [task for task in self._jobs if not task.done()]
            if running:
                await asyncio.wait(running, timeout=STOP_GRACE)
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            await asyncio.gather(*self._jobs, return_exceptions=True)
        await self._leadership.release()
