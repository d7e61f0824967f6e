"""Alert threads: a scan's parent message in a channel, what the parent should show (its
summary, never going backwards) and shows now (its card key), and the triage views and
queries read from them. Triage's changes are in store/triage.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert, Snapshot
from scanbot.domain.operations import OperationKind, OperationStatus
from scanbot.domain.outbox import OutboxStatus
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import Acknowledgement, AlertThread, TriageView
from scanbot.store.database import OBSERVE_LOCK, Database, chunks
from scanbot.store.outbox import Outbox
from scanbot.store.schema import (
    acknowledgements,
    alert_threads,
    operations,
    outbox,
    scan_snapshots,
)

RESCAN_KEY = "rescan:"  # a Re-scan operation's once-only key: rescan:<old scan id>


class Threads:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self._db = db
        self._outbox = outbox

    # -- one thread -----------------------------------------------------------------------

    async def get(self, scan_id: str, channel_id: str) -> AlertThread | None:
        query = sa.select(alert_threads).where(is_thread(alert_threads, scan_id, channel_id))
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _thread(row) if row else None

    async def start(self, row_id: int, alert: Alert, parent_ts: str, shown: str) -> None:
        """The alert went out as a thread's parent: remember both, together. A second
        parent for the same scan and channel keeps the first thread.

        The thread's summary is the newest state known of its scan (its snapshot), not the
        alert's: an observation that saw the scan move on while this post was delayed found
        no thread to refresh, and the sender edits the parent when `shown` differs. The
        observe lock orders this with observations, so neither misses the other.
        """
        now = utcnow()
        summary = alert.event.summary
        async with self._db.transaction() as conn:
            await self._db.lock(conn, OBSERVE_LOCK)
            await conn.execute(
                self._db.insert(alert_threads)
                .values(
                    scan_id=summary.scan_id,
                    channel_id=alert.channel_id,
                    parent_ts=parent_ts,
                    summary=summary.model_dump_json(),
                    shown=shown,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["scan_id", "channel_id"])
            )
            latest = (
                await conn.execute(
                    sa.select(scan_snapshots.c.summary, scan_snapshots.c.last_seen).where(
                        scan_snapshots.c.scan_id == summary.scan_id
                    )
                )
            ).first()
            if latest is not None:
                known = ScanSummary.model_validate_json(latest.summary)
                await conn.execute(summary_update(known, latest.last_seen))
            await self._outbox.sent_in(conn, row_id, parent_ts, now)

    async def mark_shown(self, scan_id: str, channel_id: str, shown: str) -> None:
        """The parent now shows the card whose key is `shown`."""
        async with self._db.transaction() as conn:
            await conn.execute(
                alert_threads.update()
                .where(is_thread(alert_threads, scan_id, channel_id))
                .values(shown=shown, edited_at=utcnow())
            )

    # -- what parents should show ---------------------------------------------------------

    async def store_summary(self, summary: ScanSummary, fetched_at: datetime) -> int:
        """Put a summary fetched at `fetched_at` (a Refresh) on every thread of its scan that
        does not show a newer one (see `summary_update`). Returns the threads changed."""
        async with self._db.transaction() as conn:
            return (await conn.execute(summary_update(summary, fetched_at))).rowcount or 0

    async def refresh_in(self, conn: AsyncConnection, snapshots: Sequence[Snapshot]) -> None:
        """In an observation's transaction: threads' parents show the newest state of their
        scan (the sender edits them), unless a Refresh stored a newer one meanwhile."""
        by_id = {snapshot.scan_id: snapshot for snapshot in snapshots}
        threaded: set[str] = set()
        for chunk in chunks(list(by_id)):
            query = sa.select(alert_threads.c.scan_id).where(alert_threads.c.scan_id.in_(chunk))
            threaded |= set((await conn.execute(query)).scalars())
        for scan_id in threaded:
            snapshot = by_id[scan_id]
            await conn.execute(summary_update(snapshot.summary, snapshot.last_seen))

    # -- many threads ---------------------------------------------------------------------

    async def all(self) -> list[AlertThread]:
        return await self._threads(sa.select(alert_threads))

    async def unacknowledged(self, channel_id: str | None = None) -> list[AlertThread]:
        """Threads nobody acknowledged yet, oldest first (a channel's, or every channel's)."""
        acked = sa.select(acknowledgements.c.scan_id).where(
            acknowledgements.c.scan_id == alert_threads.c.scan_id,
            acknowledgements.c.channel_id == alert_threads.c.channel_id,
        )
        query = sa.select(alert_threads).where(~sa.exists(acked))
        if channel_id is not None:
            query = query.where(alert_threads.c.channel_id == channel_id)
        return await self._threads(
            query.order_by(alert_threads.c.created_at, alert_threads.c.scan_id)
        )

    async def assigned_to(self, user_id: str) -> list[AlertThread]:
        query = sa.select(alert_threads).where(alert_threads.c.assignee == user_id)
        return await self._threads(query.order_by(alert_threads.c.created_at))

    async def snoozed(self) -> list[AlertThread]:
        """Threads with a snooze stored, ended or not (few: people snooze by hand)."""
        c = alert_threads.c
        snoozed = sa.or_(c.snoozed_until.is_not(None), c.snoozed_in_state.is_not(None))
        return await self._threads(sa.select(alert_threads).where(snoozed))

    async def with_held_alerts(self) -> list[AlertThread]:
        held = sa.select(outbox.c.id).where(
            outbox.c.status == OutboxStatus.HELD,
            outbox.c.scan_id == alert_threads.c.scan_id,
            outbox.c.channel_id == alert_threads.c.channel_id,
        )
        return await self._threads(sa.select(alert_threads).where(sa.exists(held)))

    # -- triage views ---------------------------------------------------------------------

    async def view(self, thread: AlertThread) -> TriageView:
        (view,) = await self.views([thread])
        return view

    async def views(self, threads: Sequence[AlertThread]) -> list[TriageView]:
        """Each thread's triage view, reading the acknowledgements in one query, not one a
        thread (the sender looks at every thread each delivery round), and the scans re-run
        by these threads' scans."""
        if not threads:
            return []
        acks = await self._acknowledgements(threads[0] if len(threads) == 1 else None)
        reruns = await self._reruns({t.scan_id for t in threads})
        return [
            TriageView(
                acknowledgements=tuple(acks.get((t.scan_id, t.channel_id), ())),
                assignee=t.assignee,
                snoozed_until=t.snoozed_until,
                snoozed_in_state=t.snoozed_in_state,
                muted=t.muted,
                rerun_of=reruns.get(t.scan_id),
            )
            for t in threads
        ]

    async def _reruns(self, scan_ids: set[str]) -> dict[str, str]:
        """The scan each of these scans re-runs, by new scan id: from the Re-scan operations
        that started them (done, so the new scan id is recorded)."""
        c = operations.c
        found: dict[str, str] = {}
        async with self._db.read() as conn:
            for chunk in chunks(sorted(scan_ids)):
                query = sa.select(c.hostedscan_id, c.key, c.request).where(
                    c.kind == OperationKind.RESCAN.value,
                    c.status == OperationStatus.DONE.value,
                    c.hostedscan_id.in_(chunk),
                )
                for row in (await conn.execute(query.order_by(c.id))).mappings():
                    old_id = rerun_of(row["key"], row["request"])
                    if old_id:
                        found.setdefault(str(row["hostedscan_id"]), old_id)
        return found

    async def _acknowledgements(
        self, only: AlertThread | None
    ) -> dict[tuple[str, str], list[Acknowledgement]]:
        """Acknowledgements by thread, oldest first: one thread's, or every thread's."""
        query = sa.select(acknowledgements).order_by(
            acknowledgements.c.at, acknowledgements.c.user_id
        )
        if only is not None:
            query = query.where(is_thread(acknowledgements, only.scan_id, only.channel_id))
        acks: dict[tuple[str, str], list[Acknowledgement]] = {}
        async with self._db.read() as conn:
            for row in (await conn.execute(query)).mappings():
                key = (row["scan_id"], row["channel_id"])
                acks.setdefault(key, []).append(
                    Acknowledgement(user_id=row["user_id"], at=row["at"])
                )
        return acks

    async def _threads(self, query: sa.Select[Any]) -> list[AlertThread]:
        async with self._db.read() as conn:
            return [_thread(row) for row in (await conn.execute(query)).mappings()]


def is_thread(table: sa.Table, scan_id: str, channel_id: str) -> sa.ColumnElement[bool]:
    """The rows of `table` that belong to one thread (scan, channel)."""
    return sa.and_(table.c.scan_id == scan_id, table.c.channel_id == channel_id)


def summary_update(summary: ScanSummary, fetched_at: datetime) -> sa.Update:
    """The UPDATE that puts `summary`, fetched at `fetched_at`, on its scan's threads.

    The rule that keeps a card from going backwards: a thread's stored summary is replaced
    by one fetched (its answer in hand: a Refresh's, or a poll's observation time) at the
    same time or later, or by one further along the scan's life
    (`ScanSummary.stage`: queued, running, finished) whatever its time, so that clocks a
    little apart on two replicas cannot keep a finished scan drawn as running. A summary
    with no fetched time (the alert's own, stored when the thread started) yields to any.
    """
    c = alert_threads.c
    newer = sa.or_(
        c.summary_at.is_(None), c.summary_at <= fetched_at, c.summary_stage < summary.stage
    )
    return (
        alert_threads.update()
        .where(c.scan_id == summary.scan_id, newer)
        .values(
            summary=summary.model_dump_json(), summary_at=fetched_at, summary_stage=summary.stage
        )
    )


def rerun_of(key: str | None, request: Any) -> str | None:
    """The old scan a Re-scan operation re-ran: its request's `rescan_of`, else its
    once-only key `rescan:<old scan id>`."""
    if isinstance(request, dict) and isinstance(request.get("rescan_of"), str):
        return request["rescan_of"] or None
    if key is not None and key.startswith(RESCAN_KEY):
        return key.removeprefix(RESCAN_KEY) or None
    return None


def _thread(row: Any) -> AlertThread:
    return AlertThread(
        scan_id=row["scan_id"],
        channel_id=row["channel_id"],
        parent_ts=row["parent_ts"],
        summary=ScanSummary.model_validate_json(row["summary"]),
        shown=row["shown"],
        edited_at=row["edited_at"],
        created_at=row["created_at"],
        assignee=row["assignee"],
        snoozed_until=row["snoozed_until"],
        snoozed_in_state=row["snoozed_in_state"],
        muted=bool(row["muted"]),
        snooze_choice=row["snooze_choice"],
        summary_at=row["summary_at"],
    )
