"""What the poller remembers per scan, and THE observation transaction: read the snapshots
under a lock, let the caller compute what changed, and write the new snapshots, the alerts
(outbox), the threads' summaries and the bot state together."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from scanbot.domain.events import Alert, Snapshot
from scanbot.domain.scans import FINAL_STATES, ScanSummary
from scanbot.failpoints import failpoint
from scanbot.store.database import OBSERVE_LOCK, Database, chunks, executemany
from scanbot.store.outbox import Outbox
from scanbot.store.schema import alert_threads, bot_state, scan_snapshots
from scanbot.store.state import BotState, CycleMark, StateKey
from scanbot.store.threads import Threads

# Matches migration 0003's partial index; FINAL_STATES spelled out as SQL literals.
NOT_FINAL_SQL = "state NOT IN ('SUCCEEDED', 'FAILED', 'OVER_LIMIT')"

# What an observation computes from the snapshots: new snapshots, alerts, dropped scan ids.
Computed = tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]
Compute = Callable[[Mapping[str, Snapshot]], Computed | Awaitable[Computed]]


class Snapshots:
    def __init__(self, db: Database, outbox: Outbox, threads: Threads, state: BotState) -> None:
        self._db = db
        self._outbox = outbox
        self._threads = threads
        self._state = state

    async def read(self, scan_ids: Collection[str]) -> dict[str, Snapshot]:
        """The snapshots of these scans that exist, by scan id."""
        async with self._db.read() as conn:
            return await _read(conn, list(scan_ids))

    async def active_ids(self) -> list[str]:
        """Scans last seen in a state that is not final: queued, running or unknown.

        The condition is literal SQL so both databases use the partial index that
        migration 0003 made with the very same condition.
        """
        query = sa.select(scan_snapshots.c.scan_id).where(sa.text(NOT_FINAL_SQL))
        async with self._db.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def nothing_stored(self) -> bool:
        """No snapshot and no thread yet: a baseline may fill the store without reading
        (`observe(read=False)`)."""
        query = sa.select(
            sa.exists(sa.select(scan_snapshots.c.scan_id)),
            sa.exists(sa.select(alert_threads.c.scan_id)),
        )
        async with self._db.read() as conn:
            snapshots, threads = (await conn.execute(query)).one()
        return not snapshots and not threads

    async def count(self) -> int:
        query = sa.select(sa.func.count()).select_from(scan_snapshots)
        async with self._db.read() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def observe(
        self,
        scan_ids: Collection[str],
        compute: Compute,
        *,
        mark: CycleMark | None = None,
        read: bool = True,
    ) -> int:
        """Read these scans' snapshots, let `compute` (pure, or a coroutine) turn them into
        new snapshots, alerts and dropped ids, and write it all in ONE transaction, with
        `mark` in the bot state. Returns rows queued. `read=False`: the caller knows the
        store holds nothing of these scans (a baseline on a store `nothing_stored`):
        `compute` gets no snapshots, and no thread is looked for to refresh.

        Observations are serialised (an advisory lock on PostgreSQL, the write lock on
        SQLite), so a webhook and a poll that look at the same scan never both alert.
        """
        async with self._db.transaction() as conn:
            await self._db.lock(conn, OBSERVE_LOCK)
            computed = compute(await _read(conn, list(scan_ids)) if read else {})
            if inspect.isawaitable(computed):  # e.g. the work handed to a thread
                computed = await computed
            queued = await self._write(conn, *computed, mark, threads=read)
            failpoint("cycle:before_commit")
        failpoint("cycle:after_commit")
        return queued

    async def record(
        self,
        snapshots: Sequence[Snapshot],
        alerts: Sequence[Alert],
        dropped: Sequence[str] = (),
        *,
        mark: CycleMark | None = None,
    ) -> int:
        """Write snapshots, alerts and dropped ids in ONE transaction (see `observe`)."""
        async with self._db.transaction() as conn:
            return await self._write(conn, snapshots, alerts, dropped, mark)

    async def _write(
        self,
        conn: AsyncConnection,
        snapshots: Sequence[Snapshot],
        alerts: Sequence[Alert],
        dropped: Sequence[str],
        mark: CycleMark | None,
        *,
        threads: bool = True,
    ) -> int:
        """Snapshots, new outbox rows, parents to refresh (unless `threads` is False: there
        are none), and the cycle's mark."""
        if snapshots:
            await self._upsert(conn, snapshots)
        for scan_ids in chunks(list(dropped)):
            await conn.execute(
                scan_snapshots.delete().where(scan_snapshots.c.scan_id.in_(scan_ids))
            )
        queued = await self._outbox.queue_in(conn, alerts)
        if threads:
            await self._threads.refresh_in(conn, snapshots)
        if mark is not None:
            await self._state.write_in(conn, mark.changes())
        return queued

    async def _upsert(self, conn: AsyncConnection, snapshots: Sequence[Snapshot]) -> None:
        # A scan that is finished when first seen counts as finished then (summaries count
        # scans per period), except at the baseline: those finished before scanbot came.
        baseline_done = sa.select(bot_state.c.key).where(
            bot_state.c.key == StateKey.BASELINE_DONE.value
        )
        counts = (await conn.execute(baseline_done)).first() is not None
        rows = [
            {
                "scan_id": snapshot.scan_id,
                "state": snapshot.summary.state[:64],
                "summary": snapshot.summary.model_dump_json(),
                "alerted_risks": sorted(snapshot.alerted_risks),
                "announced": snapshot.announced,
                "last_seen": snapshot.last_seen,
                "missing_since": snapshot.missing_since,
                "final_at": snapshot.last_seen if counts and snapshot.summary.is_final else None,
            }
            for snapshot in snapshots
        ]
        statement = self._db.insert(scan_snapshots)
        columns = [name for name in rows[0] if name not in ("scan_id", "final_at")]
        changes: dict[str, Any] = {c: statement.excluded[c] for c in columns}
        # When scanbot saw the scan finish (summaries count scans per period): set once,
        # by the first look that finds it finished after one that did not.
        # (ORs, not IN: an expanding IN cannot go into an executemany)
        was_final = sa.or_(*(scan_snapshots.c.state == s for s in sorted(FINAL_STATES)))
        finished_now = sa.case((was_final, None), else_=statement.excluded.final_at)
        changes["final_at"] = sa.func.coalesce(scan_snapshots.c.final_at, finished_now)
        statement = statement.on_conflict_do_update(index_elements=["scan_id"], set_=changes)
        await executemany(conn, statement, rows)


async def _read(conn: AsyncConnection, scan_ids: list[str]) -> dict[str, Snapshot]:
    found: dict[str, Snapshot] = {}
    for chunk in chunks(scan_ids):
        query = sa.select(scan_snapshots).where(scan_snapshots.c.scan_id.in_(chunk))
        for row in (await conn.execute(query)).mappings():
            found[row["scan_id"]] = Snapshot(
                summary=ScanSummary.model_validate_json(row["summary"]),
                alerted_risks=frozenset(row["alerted_risks"]),
                announced=row["announced"],
                last_seen=row["last_seen"],
                missing_since=row["missing_since"],
            )
    return found
