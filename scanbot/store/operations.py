"""The audit of operations (scans started, re-run, targets added, reports): each recorded
before HostedScan is asked, under a once-only key and the per-user run limit, then closed
with HostedScan's answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from scanbot.domain.operations import (
    SCAN_KINDS,
    Begun,
    Operation,
    OperationKind,
    OperationStatus,
    OverRunLimit,
)
from scanbot.store.database import Database
from scanbot.store.schema import operations

# pg_advisory_xact_lock(key, hashtext(user)) that serialises one person's scan starts, so
# the run limit holds when they confirm twice at once.
RUN_LIMIT_LOCK = 0x5CA9B0A
RUN_WINDOW = timedelta(hours=1)
# Scans the finish check looks at in one go.
WATCH_LIMIT = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Operations:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(
        self,
        *,
        key: str | None,
        user_id: str,
        kind: OperationKind,
        channel_id: str,
        request: Mapping[str, Any],
        at: datetime,
        run_limit: int | None = None,
    ) -> Begun | OverRunLimit:
        """Record an operation about to be done, PENDING. With a `key` already recorded,
        the earlier operation (`created` False): the caller must not do it again, whoever
        asks and however often. A scan start beyond `run_limit` in the last hour is not
        recorded: OverRunLimit says when the oldest counted one leaves the window."""
        async with self._db.transaction() as conn:
            await self._db.lock(conn, RUN_LIMIT_LOCK, sa.func.hashtext(user_id))
            if key is not None:
                earlier = await _by_key(conn, key)
                if earlier is not None:
                    return Begun(operation=earlier, created=False)
            if run_limit is not None and kind in SCAN_KINDS:
                over = await _over_limit(conn, user_id, at, run_limit)
                if over is not None:
                    return over
            insert = (
                self._db.insert(operations)
                .values(
                    key=key,
                    user_id=user_id,
                    kind=kind.value,
                    channel_id=channel_id,
                    request=dict(request),
                    status=OperationStatus.PENDING.value,
                    at=at,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(*operations.c)
            )
            row = (await conn.execute(insert)).mappings().first()
        if row is not None:
            return Begun(operation=_operation(row), created=True)
        # Another replica recorded the same key between our look and our insert.
        async with self._db.read() as conn:
            earlier = await _by_key(conn, key or "")
        assert earlier is not None  # the conflict was on this key
        return Begun(operation=earlier, created=False)

    async def run_limit_reached(
        self, user_id: str, at: datetime, run_limit: int
    ) -> OverRunLimit | None:
        """Whether `begin` would refuse this person's next scan start now (a look only)."""
        async with self._db.read() as conn:
            return await _over_limit(conn, user_id, at, run_limit)

    async def finish(
        self,
        operation_id: int,
        status: OperationStatus,
        *,
        at: datetime,
        answer: str = "",
        hostedscan_id: str | None = None,
    ) -> None:
        """Close an operation with HostedScan's answer (or what is known of it)."""
        statement = (
            operations.update()
            .where(operations.c.id == operation_id)
            .values(status=status.value, answer=answer, hostedscan_id=hostedscan_id, done_at=at)
        )
        async with self._db.transaction() as conn:
            await conn.execute(statement)

    async def get(self, operation_id: int) -> Operation | None:
        async with self._db.read() as conn:
            query = sa.select(operations).where(operations.c.id == operation_id)
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _operation(row)

    async def page(self, *, offset: int = 0, limit: int = 20) -> tuple[list[Operation], int]:
        """Newest first: one page of the audit, and how many there are in all."""
        query = sa.select(operations).order_by(operations.c.id.desc()).offset(offset).limit(limit)
        async with self._db.read() as conn:
            rows = [_operation(row) for row in (await conn.execute(query)).mappings()]
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(operations))
            ).scalar_one()
        return rows, int(total)

    async def started_by_scan(self, scan_ids: Sequence[str]) -> dict[str, Operation]:
        """The scan starts (done) that made these scans, by scan id."""
        if not scan_ids:
            return {}
        query = sa.select(operations).where(
            operations.c.hostedscan_id.in_(list(scan_ids)),
            operations.c.kind.in_([kind.value for kind in SCAN_KINDS]),
            operations.c.status == OperationStatus.DONE.value,
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {str(row["hostedscan_id"]): _operation(row) for row in rows}

    async def awaiting_finish(
        self, *, since: datetime | None = None, limit: int = WATCH_LIMIT
    ) -> list[Operation]:
        """Scans started here (after `since`) whose starter has not been told they finished,
        oldest first."""
        return await self._done_not_yet(SCAN_KINDS, operations.c.notified_at, since, limit)

    async def mark_notified(self, operation_id: int, at: datetime) -> bool:
        """True for the one caller that marks it (a conditional UPDATE): only it speaks."""
        return await self._mark(operation_id, operations.c.notified_at, at)

    async def awaiting_link(
        self, *, since: datetime | None = None, limit: int = WATCH_LIMIT
    ) -> list[Operation]:
        """Re-runs started here (after `since`) whose new thread has not been told what it
        re-runs."""
        return await self._done_not_yet(
            (OperationKind.RESCAN,), operations.c.linked_at, since, limit
        )

    async def mark_linked(self, operation_id: int, at: datetime) -> bool:
        """True for the one caller that marks it: only it posts the link."""
        return await self._mark(operation_id, operations.c.linked_at, at)

    async def _done_not_yet(
        self,
        kinds: Iterable[OperationKind],
        unmarked: sa.Column[Any],
        since: datetime | None,
        limit: int,
    ) -> list[Operation]:
        """Done operations of `kinds` with a HostedScan id whose `unmarked` column is still
        empty, started after `since`, oldest first."""
        query = (
            sa.select(operations)
            .where(
                operations.c.kind.in_([kind.value for kind in kinds]),
                operations.c.status == OperationStatus.DONE.value,
                unmarked.is_(None),
                operations.c.hostedscan_id.is_not(None),
                operations.c.at > (since or _EPOCH),
            )
            .order_by(operations.c.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [_operation(row) for row in (await conn.execute(query)).mappings()]

    async def _mark(self, operation_id: int, column: sa.Column[Any], at: datetime) -> bool:
        statement = (
            operations.update()
            .where(operations.c.id == operation_id, column.is_(None))
            .values({column.name: at})
        )
        async with self._db.transaction() as conn:
            return ((await conn.execute(statement)).rowcount or 0) == 1


async def _by_key(conn: AsyncConnection, key: str) -> Operation | None:
    query = sa.select(operations).where(operations.c.key == key)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _operation(row)


async def _over_limit(
    conn: AsyncConnection, user_id: str, at: datetime, limit: int
) -> OverRunLimit | None:
    """The user's scan starts in the window, counted; None while under `limit`."""
    since = at - RUN_WINDOW
    query = (
        sa.select(operations.c.at)
        .where(
            operations.c.user_id == user_id,
            operations.c.kind.in_([kind.value for kind in SCAN_KINDS]),
            operations.c.at > since,
        )
        .order_by(operations.c.at.desc())
        .limit(limit)
    )
    times = list((await conn.execute(query)).scalars())
    if len(times) < limit:
        return None
    return OverRunLimit(limit=limit, resets_at=min(times) + RUN_WINDOW)


def _operation(row: sa.RowMapping) -> Operation:
    return Operation(
        id=row["id"],
        key=row["key"],
        user_id=row["user_id"],
        kind=OperationKind(row["kind"]),
        channel_id=row["channel_id"],
        request=dict(row["request"] or {}),
        status=OperationStatus(row["status"]),
        answer=row["answer"] or "",
        hostedscan_id=row["hostedscan_id"],
        at=row["at"],
        done_at=row["done_at"],
    )
