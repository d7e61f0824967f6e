"""Persistence for alerts behind one small class: snapshots, outbox, threads, subscriptions.

SQLAlchemy Core on an async engine: SQLite (aiosqlite) for a single install, PostgreSQL
(asyncpg) for several replicas. Every write that must happen together does.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from scanbot.alerts.failpoints import failpoint
from scanbot.domain.events import Alert, Snapshot
from scanbot.domain.outbox import OutboxRow, OutboxStatus
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import MAX_SUBSCRIPTIONS_PER_CHANNEL, Subscription
from scanbot.domain.threads import AlertThread
from scanbot.store.files import make_private
from scanbot.store.schema import (
    alert_threads,
    bot_state,
    outbox,
    scan_snapshots,
    subscriptions,
    webhook_events,
)

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key that serialises migrations of replicas starting together.
MIGRATION_LOCK = 0x5CA9B07
# pg_advisory_xact_lock key that serialises observations (poll cycles, webhook refreshes).
OBSERVE_LOCK = 0x5CA9B08
# pg_advisory_xact_lock(key, hashtext(channel)) that serialises adding to one channel's
# subscriptions: the cap holds under concurrent subscribes.
SUBSCRIBE_LOCK = 0x5CA9B09
# Matches migration 0003's partial index; FINAL_STATES spelled out as SQL literals.
NOT_FINAL_SQL = "state NOT IN ('SUCCEEDED', 'FAILED', 'OVER_LIMIT')"
# SQLite allows 32,766 bound variables; stay well under for IN (...) lists.
CHUNK = 900


def utcnow() -> datetime:
    return datetime.now().astimezone()


# What an observation computes from the snapshots: new snapshots, alerts, dropped scan ids.
Computed = tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]


class TooManySubscriptions(Exception):
    """The channel already has as many subscriptions as it may."""

    def __init__(self, channel_id: str, limit: int) -> None:
        super().__init__(f"channel {channel_id} already has {limit} subscriptions")
        self.limit = limit


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time; queue writers here instead of in "database is locked".
        self._sqlite_write = asyncio.Lock()

    @classmethod
    async def open(
        cls, url: URL | str, *, migrate: bool = True, connect_args: dict[str, Any] | None = None
    ) -> Store:
        make_private(url)  # before SQLite creates the file with its default mode
        engine = create_async_engine(url, pool_pre_ping=True, connect_args=connect_args or {})
        if engine.dialect.name == "postgresql":
            sa.event.listen(engine.sync_engine, "do_connect", _libpq_options)
        store = cls(engine)
        if migrate:
            await store.migrate()
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    # -- schema ---------------------------------------------------------------------------

    async def migrate(self) -> None:
        """Bring the schema to the newest revision. Safe when replicas start at once."""
        async with self.engine.begin() as conn:
            if self.is_postgres:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            await conn.run_sync(_upgrade)

    # -- transactions ---------------------------------------------------------------------

    def _write(self) -> _WriteTransaction:
        return _WriteTransaction(self)

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.is_postgres else sqlite.insert)(table)

    # -- snapshots ------------------------------------------------------------------------

    async def snapshots(self, scan_ids: Collection[str]) -> dict[str, Snapshot]:
        async with self.engine.connect() as conn:
            return await _read_snapshots(conn, list(scan_ids))

    async def active_scan_ids(self) -> list[str]:
        """Scans last seen in a state that is not final: queued, running or unknown.

        The condition is literal SQL so both databases use the partial index that
        migration 0003 made with the very same condition.
        """
        query = sa.select(scan_snapshots.c.scan_id).where(sa.text(NOT_FINAL_SQL))
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def snapshot_count(self) -> int:
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(scan_snapshots)
            return int((await conn.execute(query)).scalar_one())

    async def apply(
        self,
        scan_ids: Collection[str],
        compute: Callable[[Mapping[str, Snapshot]], Computed | Awaitable[Computed]],
        *,
        state: Mapping[str, Any] | None = None,
    ) -> int:
        """Read these scans' snapshots, let `compute` (pure, or a coroutine) turn them into
        new snapshots, alerts and dropped ids, and write it all in ONE transaction.
        Returns rows queued.

        Observations are serialised (an advisory lock on PostgreSQL, the write lock on
        SQLite), so a webhook and a poll that look at the same scan never both alert.
        """
        async with self._write() as conn:
            if self.is_postgres:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(OBSERVE_LOCK)))
            snapshots = await _read_snapshots(conn, list(scan_ids))
            computed = compute(snapshots)
            if inspect.isawaitable(computed):  # e.g. the work handed to a thread
                computed = await computed
            kept, alerts, dropped = computed
            queued = await self._record(conn, kept, alerts, dropped, state or {})
            failpoint("cycle:before_commit")
        failpoint("cycle:after_commit")
        return queued

    async def record(
        self,
        snapshots: Sequence[Snapshot],
        alerts: Sequence[Alert],
        dropped: Sequence[str] = (),
        *,
        state: Mapping[str, Any] | None = None,
    ) -> int:
        """Write snapshots, alerts and dropped ids in ONE transaction (see `apply`)."""
        async with self._write() as conn:
            return await self._record(conn, snapshots, alerts, dropped, state or {})

    async def _record(
        self,
        conn: AsyncConnection,
        snapshots: Sequence[Snapshot],
        alerts: Sequence[Alert],
        dropped: Sequence[str],
        state: Mapping[str, Any],
    ) -> int:
        """Snapshots, new outbox rows (an alert whose key is already queued is skipped),
        parents to refresh, and bot state."""
        now = utcnow()
        if snapshots:
            await self._upsert_snapshots(conn, snapshots)
        for scan_ids in _chunks(list(dropped)):
            await conn.execute(
                scan_snapshots.delete().where(scan_snapshots.c.scan_id.in_(scan_ids))
            )
        queued = 0
        for alert in alerts:
            result = await conn.execute(
                self._insert(outbox)
                .values(
                    alert_key=alert.key,
                    channel_id=alert.channel_id,
                    scan_id=alert.event.summary.scan_id,
                    alert=alert.model_dump_json(),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["alert_key"])
            )
            queued += result.rowcount or 0
        await self._refresh_parents(conn, snapshots)
        for key, value in state.items():
            await self._set_state(conn, key, value)
        return queued

    async def _upsert_snapshots(self, conn: AsyncConnection, snapshots: Sequence[Snapshot]) -> None:
        rows = [
            {
                "scan_id": snapshot.scan_id,
                "state": snapshot.summary.state[:64],
                "summary": snapshot.summary.model_dump_json(),
                "alerted_risks": sorted(snapshot.alerted_risks),
                "announced": snapshot.announced,
                "last_seen": snapshot.last_seen,
                "missing_since": snapshot.missing_since,
            }
            for snapshot in snapshots
        ]
        statement = self._insert(scan_snapshots)
        columns = [name for name in rows[0] if name != "scan_id"]
        statement = statement.on_conflict_do_update(
            index_elements=["scan_id"], set_={c: statement.excluded[c] for c in columns}
        )
        await conn.execute(statement, rows)

    async def _refresh_parents(self, conn: AsyncConnection, snapshots: Sequence[Snapshot]) -> None:
        """Threads' parents show the newest state of their scan (the sender edits them), unless
        a Refresh stored a newer one meanwhile (see `summary_update`)."""
        by_id = {snapshot.scan_id: snapshot for snapshot in snapshots}
        threaded: set[str] = set()
        for chunk in _chunks(list(by_id)):
            query = sa.select(alert_threads.c.scan_id).where(alert_threads.c.scan_id.in_(chunk))
            threaded |= set((await conn.execute(query)).scalars())
        for scan_id in threaded:
            snapshot = by_id[scan_id]
            await conn.execute(summary_update(snapshot.summary, snapshot.last_seen))

    # -- outbox ---------------------------------------------------------------------------

    async def due_alerts(self, now: datetime | None = None, limit: int = 500) -> list[OutboxRow]:
        """Rows to send now, oldest first. A row left "sending" by a crash is due again."""
        now = now or utcnow()
        query = (
            sa.select(outbox)
            .where(
                sa.or_(
                    sa.and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
                    outbox.c.status == "sending",
                )
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_outbox_row(row) for row in (await conn.execute(query)).mappings()]

    async def mark_sending(self, row_id: int) -> None:
        await self._update_outbox(row_id, status="sending", attempts=outbox.c.attempts + 1)

    async def mark_sent(self, row_id: int, ts: str | None) -> None:
        await self._update_outbox(row_id, status="sent", ts=ts, done_at=utcnow(), last_error=None)

    async def mark_retry(self, row_id: int, error: str, at: datetime) -> None:
        await self._update_outbox(row_id, status="pending", last_error=error, next_attempt_at=at)

    async def park(self, row_id: int, reason: str) -> None:
        await self._update_outbox(row_id, status="parked", last_error=reason, done_at=utcnow())

    async def mark_digested(self, row_ids: Sequence[int], ts: str | None) -> None:
        async with self._write() as conn:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id.in_(list(row_ids)))
                .values(status="digested", ts=ts, done_at=utcnow())
            )

    async def _update_outbox(self, row_id: int, **values: Any) -> None:
        async with self._write() as conn:
            await conn.execute(outbox.update().where(outbox.c.id == row_id).values(**values))

    async def parked(self, limit: int = 20) -> list[OutboxRow]:
        query = (
            sa.select(outbox)
            .where(outbox.c.status == "parked")
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_outbox_row(row) for row in (await conn.execute(query)).mappings()]

    async def outbox_counts(self) -> dict[str, int]:
        query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
        async with self.engine.connect() as conn:
            return {status: int(n) for status, n in (await conn.execute(query)).all()}

    # -- threads --------------------------------------------------------------------------

    async def thread(self, scan_id: str, channel_id: str) -> AlertThread | None:
        query = sa.select(alert_threads).where(
            alert_threads.c.scan_id == scan_id, alert_threads.c.channel_id == channel_id
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _thread(row) if row else None

    async def start_thread(self, row_id: int, alert: Alert, parent_ts: str, shown: str) -> None:
        """The alert went out as a thread's parent: remember both, together."""
        now = utcnow()
        summary = alert.event.summary
        async with self._write() as conn:
            await conn.execute(
                self._insert(alert_threads)
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
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == row_id)
                .values(status="sent", ts=parent_ts, done_at=now, last_error=None)
            )

    async def store_summary(self, summary: ScanSummary, fetched_at: datetime) -> int:
        """Put a summary fetched at `fetched_at` (a Refresh) on every thread of its scan that
        does not show a newer one (see `summary_update`). Returns the threads changed."""
        async with self._write() as conn:
            return (await conn.execute(summary_update(summary, fetched_at))).rowcount or 0

    async def threads(self) -> list[AlertThread]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(alert_threads))).mappings()
            return [_thread(row) for row in rows]

    async def mark_shown(self, scan_id: str, channel_id: str, shown: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                alert_threads.update()
                .where(alert_threads.c.scan_id == scan_id, alert_threads.c.channel_id == channel_id)
                .values(shown=shown, edited_at=utcnow())
            )

    # -- subscriptions --------------------------------------------------------------------

    async def add_subscription(
        self,
        channel_id: str,
        *,
        types: Sequence[str] = (),
        target_contains: str | None = None,
        min_severity: str | None = None,
        events: Sequence[str],
        created_by: str = "",
        from_env: bool = False,
        limit: int = MAX_SUBSCRIPTIONS_PER_CHANNEL,
    ) -> Subscription:
        """Add a subscription, unless the channel already has `limit` of them (any kind):
        then TooManySubscriptions. The count and the insert are one statement, and on
        PostgreSQL one channel's adds queue on an advisory lock, so concurrent adds never
        pass the limit. A `from_env` subscription is never refused.
        """
        values = {
            "channel_id": channel_id,
            "types": list(types),
            "target_contains": target_contains,
            "min_severity": min_severity,
            "events": list(events),
            "created_by": created_by,
            "from_env": from_env,
            "created_at": utcnow(),
        }
        row = sa.select(
            *(sa.literal(v, subscriptions.c[k].type).label(k) for k, v in values.items())
        )
        if not from_env:
            count = sa.select(sa.func.count()).where(subscriptions.c.channel_id == channel_id)
            row = row.where(count.scalar_subquery() < limit)
        insert = subscriptions.insert().from_select(list(values), row)
        async with self._write() as conn:
            if self.is_postgres:
                key = sa.func.hashtext(channel_id)
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SUBSCRIBE_LOCK, key)))
            added = (await conn.execute(insert.returning(*subscriptions.c))).mappings().first()
        if added is None:
            raise TooManySubscriptions(channel_id, limit)
        return _subscription(added)

    async def subscriptions(
        self, channel_id: str | None = None, *, enabled_only: bool = False
    ) -> list[Subscription]:
        query = sa.select(subscriptions).order_by(subscriptions.c.id)
        if channel_id is not None:
            query = query.where(subscriptions.c.channel_id == channel_id)
        if enabled_only:
            query = query.where(subscriptions.c.disabled_reason.is_(None))
        async with self.engine.connect() as conn:
            return [_subscription(row) for row in (await conn.execute(query)).mappings()]

    async def remove_subscriptions(self, channel_id: str, subscription_id: int | None) -> int:
        """Remove one subscription of the channel (by id), or all of them (None)."""
        statement = subscriptions.delete().where(subscriptions.c.channel_id == channel_id)
        if subscription_id is not None:
            statement = statement.where(subscriptions.c.id == subscription_id)
        async with self._write() as conn:
            return (await conn.execute(statement)).rowcount or 0

    async def ensure_env_subscription(self, channel_id: str, events: Sequence[str]) -> bool:
        """SCANBOT_ALERT_CHANNEL: one default subscription per channel, however many starts
        (a unique partial index, migration 0004, settles replicas starting together)."""
        try:
            async with self._write() as conn:
                query = sa.select(subscriptions.c.id).where(
                    subscriptions.c.channel_id == channel_id, subscriptions.c.from_env.is_(True)
                )
                if (await conn.execute(query)).first():
                    return False
                await conn.execute(
                    subscriptions.insert().values(
                        channel_id=channel_id,
                        types=[],
                        events=list(events),
                        created_by="SCANBOT_ALERT_CHANNEL",
                        from_env=True,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False  # another replica added it a moment ago
        return True

    async def disable_channel(self, channel_id: str, reason: str) -> int:
        async with self._write() as conn:
            result = await conn.execute(
                subscriptions.update()
                .where(subscriptions.c.channel_id == channel_id)
                .where(subscriptions.c.disabled_reason.is_(None))
                .values(disabled_reason=reason)
            )
            return result.rowcount or 0

    # -- webhooks and state ---------------------------------------------------------------

    async def first_delivery(self, event_id: str) -> bool:
        """Remember a webhook event id; False when it was seen before (a redelivery)."""
        async with self._write() as conn:
            result = await conn.execute(
                self._insert(webhook_events)
                .values(event_id=event_id[:255], received_at=utcnow())
                .on_conflict_do_nothing(index_elements=["event_id"])
            )
            return bool(result.rowcount)

    async def get_state(self, key: str, default: Any = None) -> Any:
        async with self.engine.connect() as conn:
            query = sa.select(bot_state.c.value).where(bot_state.c.key == key)
            value = (await conn.execute(query)).scalar_one_or_none()
        return default if value is None else value

    async def set_state(self, key: str, value: Any) -> None:
        async with self._write() as conn:
            await self._set_state(conn, key, value)

    async def _set_state(self, conn: AsyncConnection, key: str, value: Any) -> None:
        statement = self._insert(bot_state).values(key=key, value=value)
        await conn.execute(
            statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        )

    # -- housekeeping ---------------------------------------------------------------------

    async def prune(
        self,
        now: datetime | None = None,
        *,
        keep_done: timedelta = timedelta(days=14),
        keep_webhook_ids: timedelta = timedelta(days=2),
        keep_unseen: timedelta = timedelta(days=30),
    ) -> dict[str, int]:
        """Delete what no longer matters, so the database does not grow without bound.

        Webhook ids outlive HostedScan's 12 hours of redelivery; a scan unseen for
        `keep_unseen` (full sweeps refresh last_seen) is gone, and so is its thread.
        """
        now = now or utcnow()
        async with self._write() as conn:
            done = await conn.execute(
                outbox.delete().where(
                    outbox.c.status.in_(["sent", "digested", "parked"]),
                    outbox.c.done_at < now - keep_done,
                )
            )
            hooks = await conn.execute(
                webhook_events.delete().where(webhook_events.c.received_at < now - keep_webhook_ids)
            )
            unseen = sa.select(scan_snapshots.c.scan_id).where(
                scan_snapshots.c.last_seen < now - keep_unseen
            )
            await conn.execute(alert_threads.delete().where(alert_threads.c.scan_id.in_(unseen)))
            scans = await conn.execute(
                scan_snapshots.delete().where(scan_snapshots.c.last_seen < now - keep_unseen)
            )
        return {
            "outbox": done.rowcount or 0,
            "webhook_events": hooks.rowcount or 0,
            "scan_snapshots": scans.rowcount or 0,
        }


class _WriteTransaction:
    """`async with store._write() as conn`: one transaction; SQLite writers queue in-process."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._context: Any = None
        self._locked = False

    async def __aenter__(self) -> AsyncConnection:
        if not self._store.is_postgres:
            await self._store._sqlite_write.acquire()
            self._locked = True
        self._context = self._store.engine.begin()
        try:
            return await self._context.__aenter__()  # type: ignore[no-any-return]
        except BaseException:
            self._release()
            raise

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self._context.__aexit__(*exc)
        finally:
            self._release()

    def _release(self) -> None:
        if self._locked:
            self._store._sqlite_write.release()
            self._locked = False


async def _read_snapshots(conn: AsyncConnection, scan_ids: list[str]) -> dict[str, Snapshot]:
    found: dict[str, Snapshot] = {}
    for chunk in _chunks(scan_ids):
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


def _outbox_row(row: Any) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        alert=Alert.model_validate_json(row["alert"]),
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        ts=row["ts"],
    )


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


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row["id"],
        channel_id=row["channel_id"],
        types=tuple(row["types"]),
        target_contains=row["target_contains"],
        min_severity=row["min_severity"],
        events=tuple(row["events"]),
        created_by=row["created_by"],
        from_env=row["from_env"],
        disabled_reason=row["disabled_reason"],
    )


def _libpq_options(
    dialect: Any, record: Any, cargs: Sequence[Any], cparams: dict[str, Any]
) -> None:
    """A URL's libpq `options` (`?options=-csearch_path%3Dtenant`), which asyncpg has no
    argument for: PostgreSQL takes it as a startup setting, so send it as one."""
    options = cparams.pop("options", None)
    if options is not None:
        cparams["server_settings"] = {"options": options, **(cparams.get("server_settings") or {})}


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", "scanbot.store:migrations")
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    log.info("database schema is at the newest revision")
