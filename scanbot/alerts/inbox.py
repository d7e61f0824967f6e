"""Webhook work, coalesced: the events that arrive within one window become one look.

A window opens with its first event and closes `window` seconds later. Its `scan.*`
events fetch each scan they name once; a `risk.*` event (or more scans than
`fetch_limit`) makes it one listing of the active scans instead, with the named scans
that listing does not cover fetched by id. Work that fails is retried with back-off in the
background and stays stored until done, so a restart takes it up again. Past `capacity`
events waiting, an event is left to polling (answered 200, counted).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scanbot.alerts.cycle import Poller
from scanbot.domain.clock import utcnow
from scanbot.hostedscan.webhooks import WebhookEvent
from scanbot.store import Store
from scanbot.store.webhooks import WebhookWork

log = logging.getLogger(__name__)

# Work a restart takes up again: HostedScan stops redelivering after 12 hours, and polling
# has long caught up with anything older than this.
RESUME_WITHIN = timedelta(hours=1)


@dataclass
class InboxCounts:
    received: int = 0  # events queued
    looks: int = 0  # windows processed (each one listing, or fetches by id)
    dropped: int = 0  # events left to polling: the queue was full
    failed: int = 0  # looks that failed (each retried)
    given_up: int = 0  # looks left to polling after every retry failed


@dataclass
class _Window:
    scan_ids: set[str] = field(default_factory=set)
    risks: bool = False
    event_ids: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, work: WebhookWork) -> None:
        self.event_ids.append(work.event_id)
        self.risks |= work.risks
        if work.scan_id is not None:
            self.scan_ids.add(work.scan_id)


class WebhookInbox:
    def __init__(
        self,
        poller: Poller,
        store: Store,
        *,
        on_looked: Callable[[], Awaitable[None]],
        window: float = 2.0,
        capacity: int = 10_000,
        fetch_limit: int = 3,
        max_attempts: int = 6,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._poller = poller
        self._store = store
        self._on_looked = on_looked
        self._window = window
        self._capacity = capacity
        self._fetch_limit = fetch_limit
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._open: _Window | None = None
        self._waiting = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.counts = InboxCounts()

    @property
    def depth(self) -> int:
        """Events waiting for their window to close."""
        return self._waiting

    async def submit(self, event: WebhookEvent) -> bool:
        """Queue a first-seen event and wait for its window's look (not for its retries).
        False: nothing to look at, or the queue is full (polling catches up)."""
        work = WebhookWork(event.id, event.scan_id, event.is_risk_event)
        if work.scan_id is None and not work.risks:
            return False
        if self._waiting >= self._capacity:
            self.counts.dropped += 1
            await self._store.webhooks.done([event.id])
            log.warning("webhook queue full (%d): event left to polling", self._waiting)
            return False
        window = self._add(work)
        self._waiting += 1
        try:
            await window.done.wait()
        finally:
            self._waiting -= 1
        return True

    async def resume(self) -> int:
        """Take up the work a restart interrupted. Returns the events queued."""
        pending = await self._store.webhooks.pending(self._clock() - RESUME_WITHIN)
        for work in pending:
            self._add(work)
        if pending:
            log.info("taking up %d webhook event(s) not processed before", len(pending))
        return len(pending)

    async def idle(self) -> None:
        """Wait until no window is open and no retry is waiting."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _add(self, work: WebhookWork) -> _Window:
        self.counts.received += 1
        if self._open is None:
            self._open = _Window()
            self._spawn(self._close_window(self._open))
        self._open.add(work)
        return self._open

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_window(self, window: _Window) -> None:
        try:
            await self._sleep(self._window)
            self._open = None  # events from now on open the next window
            if not await self._look(window):
                self._spawn(self._retry(window))
        finally:
            window.done.set()

    async def _retry(self, window: _Window) -> None:
        for attempt in range(1, self._max_attempts):
            await self._sleep(min(60.0, 2.0**attempt))
            if await self._look(window):
                return
        self.counts.given_up += 1
        log.error(
            "webhook work for %d event(s) failed %d times: left to polling",
            len(window.event_ids),
            self._max_attempts,
        )
        await self._store.webhooks.done(window.event_ids)

    async def _look(self, window: _Window) -> bool:
        """One look for a whole window; True when done (and recorded as done)."""
        self.counts.looks += 1
        try:
            if window.risks or len(window.scan_ids) > self._fetch_limit:
                await self._poller.run_cycle(steady_only=True, also=window.scan_ids)
            else:
                await self._poller.refresh_scans(window.scan_ids)
        except Exception as exc:  # a boundary: retried with back-off; polling is the net
            self.counts.failed += 1
            log.error("webhook work not processed (will retry): %s", exc, exc_info=exc)
            return False
        await self._store.webhooks.done(window.event_ids)
        await self._on_looked()
        return True
