"""The poll cycle: list what changed at HostedScan, diff it against the snapshots, and queue
the alerts in the outbox in the same transaction as the new snapshots.

A steady cycle lists only the active scans (QUEUED, RUNNING) and fetches by id the scans
that left the active set; every `full_sweep_every`-th cycle lists everything, to catch
scans that started and finished between two polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scanbot.alerts.diff import diff, missing
from scanbot.alerts.risks import RiskDetails
from scanbot.alerts.routing import route
from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent, Snapshot
from scanbot.domain.subscriptions import Subscription
from scanbot.hostedscan import HostedScanClient, NotFound, ScanHead
from scanbot.hostedscan.models import ACTIVE_STATES
from scanbot.store import Store
from scanbot.store.state import CycleMark

log = logging.getLogger(__name__)

ACTIVE_FILTER = {"state": sorted(str(state) for state in ACTIVE_STATES)}
# Scans observed per transaction: one API page.
BATCH = 500


@dataclass
class CycleReport:
    cycle: int = 0
    full_sweep: bool = False
    baseline: bool = False
    listed: int = 0
    departures: int = 0
    events: list[ScanEvent] = field(default_factory=list)
    queued: int = 0
    dropped: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        kind = "baseline" if self.baseline else "full sweep" if self.full_sweep else "steady"
        return (
            f"poll cycle {self.cycle} ({kind}): {self.listed} listed, {self.departures} fetched "
            f"by id, {len(self.events)} event(s), {self.queued} alert(s) queued, "
            f"{self.dropped} dropped, {self.seconds * 1000:.0f} ms"
        )


@dataclass
class _Observation:
    scans: dict[str, ScanHead] = field(default_factory=dict)
    not_found: set[str] = field(default_factory=set)


class Poller:
    def __init__(
        self,
        hostedscan: HostedScanClient,
        store: Store,
        *,
        risk_details: RiskDetails | None = None,
        full_sweep_every: int = 10,
        alert_existing: bool = False,
        concurrency: int = 8,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._hostedscan = hostedscan
        self._store = store
        self._risks = risk_details or RiskDetails(hostedscan)
        self._full_sweep_every = max(1, full_sweep_every)
        self._alert_existing = alert_existing
        self._concurrency = concurrency
        self._clock = clock

    async def run_cycle(
        self, *, steady_only: bool = False, also: Collection[str] = ()
    ) -> CycleReport:
        """One cycle. `steady_only` (webhooks): the active scans only, off the count; `also`:
        scans fetched by id besides, unless the listing or the departures had them."""
        async with collector_paused():
            return await self._cycle(steady_only=steady_only, also=also)

    async def _cycle(self, *, steady_only: bool, also: Collection[str]) -> CycleReport:
        started = time.perf_counter()
        state = await self._store.state.read()
        cycle = state.cycles + 1
        baseline = not state.baseline_done
        if steady_only and baseline:  # nothing to compare with yet: the first poll takes it in
            return CycleReport()
        full = not steady_only and (baseline or (cycle - 1) % self._full_sweep_every == 0)
        report = CycleReport(
            cycle=cycle, full_sweep=full, baseline=baseline and not self._alert_existing
        )

        # A baseline on a store with no snapshot and no thread has nothing to read or
        # refresh: each batch's reads (an IN of 500 ids, three times) were a quarter of its
        # CPU. Nothing else writes snapshots before the baseline is done (webhooks wait for
        # it), and a listing hands out each id once.
        fresh = baseline and await self._store.snapshots.nothing_stored()

        # The subscriptions as the cycle starts route all its batches (read once, not per batch).
        routes = await self._routes()

        # Page by page: memory follows the batch, not the account (100,000 scans on a sweep).
        listed: set[str] = set()
        batch = _Observation()
        async with contextlib.aclosing(
            self._hostedscan.list_scan_heads(None if full else ACTIVE_FILTER)
        ) as listing:
            async for scan in listing:
                listed.add(scan.id)
                batch.scans[scan.id] = scan
                if len(batch.scans) >= BATCH:
                    await self._observe(
                        batch, report, touch_all=full, mark=None, fresh=fresh, to=routes
                    )
                    batch = _Observation()
                    collect_young()
        report.listed = len(listed)
        departed = [i for i in await self._store.snapshots.active_ids() if i not in listed]
        departed += sorted(set(also) - listed - set(departed))
        report.departures = len(departed)
        for start in range(0, len(departed), BATCH):
            if batch.scans or batch.not_found:
                await self._observe(
                    batch, report, touch_all=full, mark=None, fresh=fresh, to=routes
                )
                batch = _Observation()
            await self._fetch_by_id(departed[start : start + BATCH], batch)

        mark = CycleMark() if steady_only else CycleMark(cycle, self._clock().isoformat())
        # writes the mark last
        await self._observe(batch, report, touch_all=full, mark=mark, fresh=fresh, to=routes)
        report.seconds = time.perf_counter() - started
        log.info("%s", report.line())
        return report

    async def refresh_scan(self, scan_id: str) -> CycleReport:
        """A webhook named this scan: look at it now, through the same diff and outbox."""
        return await self.refresh_scans([scan_id])

    async def refresh_scans(self, scan_ids: Collection[str]) -> CycleReport:
        """Webhooks named these scans: fetch each once now, through the same diff and outbox."""
        started = time.perf_counter()
        seen = _Observation()
        await self._fetch_by_id(sorted(set(scan_ids)), seen)
        report = CycleReport(listed=len(seen.scans))
        if not (
            await self._store.state.read()
        ).baseline_done:  # nothing to compare with yet: the first poll will take it in
            return report
        await self._observe(seen, report, touch_all=True, mark=None)
        report.seconds = time.perf_counter() - started
        log.info(
            "webhook refresh of %d scan(s): %d event(s), %d queued",
            len(seen.scans) + len(seen.not_found),
            len(report.events),
            report.queued,
        )
        return report

    async def _fetch_by_id(self, scan_ids: Collection[str], seen: _Observation) -> None:
        """Fetch scans by id with bounded concurrency. A 404 is recorded; other failures
        raise, so the cycle fails as a whole and the next one tries again."""
        limit = asyncio.Semaphore(self._concurrency)

        async def one(scan_id: str) -> None:
            async with limit:
                try:
                    seen.scans[scan_id] = await self._hostedscan.get_scan(scan_id)
                except NotFound:
                    seen.not_found.add(scan_id)

        await asyncio.gather(*(one(scan_id) for scan_id in scan_ids))

    async def _observe(
        self,
        seen: _Observation,
        report: CycleReport,
        *,
        touch_all: bool,
        mark: CycleMark | None,
        fresh: bool = False,
        to: list[Subscription] | None = None,
    ) -> None:
        """Diff each scan against its snapshot ONCE, outside the transaction (risk details
        are fetched between); inside it, only a scan whose snapshot changed meanwhile (a
        webhook's observation on another replica) is diffed again, against what the lock
        let through. `fresh`: a baseline on an empty store, nothing to read; `to`: the
        subscriptions to route to (read now if not given)."""
        now = self._clock()
        baseline = report.baseline
        subscriptions = to if to is not None else await self._routes()
        ids = list(seen.scans) + sorted(seen.not_found)
        previous = {} if fresh else await self._store.snapshots.read(ids)
        # The CPU work runs in a thread so that the event loop keeps acking Slack meanwhile.
        first = await asyncio.to_thread(
            _first_looks, ids, previous, seen, now, baseline=baseline, touch_all=touch_all
        )
        details = await self._risk_details(seen, first, subscriptions, baseline)

        def compute_now(
            snapshots: Mapping[str, Snapshot],
        ) -> tuple[list[Snapshot], list[Alert], list[str]]:
            looks = {
                scan_id: _settled(look, snapshots.get(scan_id), seen, scan_id, now, baseline)
                for scan_id, look in first.items()
            }
            kept = [look.after for look in looks.values() if look and look.after]
            dropped = [scan_id for scan_id, look in looks.items() if look and not look.after]
            events = [event for look in looks.values() if look for event in look.events]
            report.events += events
            report.dropped += len(dropped)
            targets = {  # only the scans with news: a baseline has 10,000 and none
                i: [t.target for t in seen.scans[i].requested_targets]
                for i in {event.summary.scan_id for event in events}
                if i in seen.scans
            }
            alerts = route(events, subscriptions, details, all_targets=targets)
            return kept, alerts, dropped

        async def compute(
            snapshots: Mapping[str, Snapshot],
        ) -> tuple[list[Snapshot], list[Alert], list[str]]:
            return await asyncio.to_thread(compute_now, snapshots)

        report.queued += await self._store.snapshots.observe(
            list(first), compute, mark=mark, read=not fresh
        )

    async def _routes(self) -> list[Subscription]:
        return await self._store.subscriptions.all(enabled_only=True)

    async def _risk_details(
        self,
        seen: _Observation,
        looks: Mapping[str, Look],
        subscriptions: list[Subscription],
        baseline: bool,
    ) -> dict[str, RiskDetail]:
        """Details of the risks the first looks found newly open, if anyone wants risks."""
        if baseline or not any("risks" in s.events for s in subscriptions):
            return {}
        wanted: dict[str, set[str]] = defaultdict(set)
        for scan_id, look in looks.items():
            scan = seen.scans.get(scan_id)
            if scan is None:
                continue
            for event in look.events:
                if event.kind is EventKind.RISKS:
                    wanted[scan.type] |= set(event.risk_ids)
        return await self._risks.fetch(wanted) if wanted else {}


_pauses = 0  # cycles under way with the cyclic collector paused (a webhook's and a poll's)


@contextlib.asynccontextmanager
async def collector_paused() -> AsyncIterator[None]:
    """Pause Python's cyclic garbage collector while a listing is parsed and diffed.

    A listing allocates hundreds of thousands of short-lived objects, none in reference
    cycles (reference counting frees them), yet each allocation burst makes the collector
    walk the young objects and, every so often, the whole heap: it took more CPU than the
    parsing (bench/poll.py: the 10,000-scan baseline 2.8 s CPU beside a naive full
    listing's 1.3 s). The collector runs as usual again when the last listing ends;
    meanwhile the poller calls `collect_young` after each batch, so the cyclic garbage a
    batch leaves (httpx's and asyncio's) is freed batch by batch.
    """
    global _pauses
    if _pauses == 0 and not gc.isenabled():  # someone else turned it off: leave it be
        yield
        return
    _pauses += 1
    gc.disable()
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0:
            gc.enable()


def collect_young() -> None:
    """While the collector is paused for a listing: collect the young generations, i.e.
    the objects allocated since the last call, once (not every 700 allocations)."""
    if _pauses:
        gc.collect(1)


@dataclass(frozen=True)
class Look:
    """One scan diffed against one snapshot: the events, and what to write (None: drop it)."""

    before: Snapshot | None
    events: list[ScanEvent]
    after: Snapshot | None


def look_at(
    before: Snapshot | None, seen: _Observation, scan_id: str, now: datetime, baseline: bool
) -> Look | None:
    """Diff the scan as seen against `before` (a 404 counts once, then drops it); None for
    a 404 of a scan scanbot never stored: nothing to look at."""
    scan = seen.scans.get(scan_id)
    if scan is not None:
        events, after = diff(before, scan, now, baseline=baseline)
        return Look(before, events, after)
    if before is None:
        return None
    events, gone_after = missing(before, now)
    return Look(before, events, gone_after)


def _first_looks(
    ids: list[str],
    previous: Mapping[str, Snapshot],
    seen: _Observation,
    now: datetime,
    *,
    baseline: bool,
    touch_all: bool,
) -> dict[str, Look]:
    """The looks of the scans whose snapshot must be written, in `ids`' order."""
    looks = {i: look_at(previous.get(i), seen, i, now, baseline) for i in ids}
    return {
        i: look
        for i, look in looks.items()
        if look and (i not in seen.scans or _worth_writing(look, now, touch_all))
    }


def _settled(
    look: Look,
    locked: Snapshot | None,
    seen: _Observation,
    scan_id: str,
    now: datetime,
    baseline: bool,
) -> Look | None:
    """The first look if the snapshot read under the lock is the one it diffed against;
    else the scan diffed again against the locked one."""
    return look if locked == look.before else look_at(locked, seen, scan_id, now, baseline)


def _worth_writing(look: Look, now: datetime, touch_all: bool) -> bool:
    """Whether a scan HostedScan answered for must have its snapshot written (a 404 always
    is: counted the first time, dropped the second)."""
    before, after = look.before, look.after
    if before is None or after is None:
        return True
    if look.events or after.summary != before.summary or after.announced != before.announced:
        return True
    if after.alerted_risks != before.alerted_risks or before.missing_since is not None:
        return True
    # Refresh last_seen now and then, so pruning can tell a live scan from a gone one.
    return touch_all and (now - before.last_seen).total_seconds() > 86_400
