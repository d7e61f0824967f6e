"""The outbox: alerts queued with the snapshots that caused them, and each row's delivery
state (`OutboxStatus`) as the sender and the held-alert release move it along."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert
from scanbot.domain.outbox import OutboxRow, OutboxStatus
from scanbot.store.database import Database
from scanbot.store.schema import outbox

PENDING, SENDING, SENT = OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT
HELD = OutboxStatus.HELD


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- queueing (inside an observation's transaction) -----------------------------------

    async def queue_in(self, conn: AsyncConnection, alerts: Sequence[Alert]) -> int:
        """Queue alerts in the caller's transaction; an alert whose key is already queued is
        skipped. Returns rows queued."""
        now = utcnow()
        queued = 0
        for alert in alerts:
            result = await conn.execute(
                self._db.insert(outbox)
                .values(
                    alert_key=alert.key,
                    channel_id=alert.channel_id,
                    scan_id=alert.event.summary.scan_id,
                    alert=alert.model_dump_json(),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["alert_key"])
            )
            queued += result.rowcount or 0
        return queued

    # -- delivering -----------------------------------------------------------------------

    async def due(self, now: datetime | None = None, limit: int = 500) -> list[OutboxRow]:
        """Rows to send now, oldest first. A row left "sending" by a crash is due again."""
        now = now or utcnow()
        waited = sa.and_(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now)
        query = (
            sa.select(outbox)
            .where(sa.or_(waited, outbox.c.status == SENDING))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return await self._rows(query)

    async def next_due(self) -> datetime | None:
        """When the earliest row waiting for a retry comes due (None: none waits)."""
        query = sa.select(sa.func.min(outbox.c.next_attempt_at)).where(outbox.c.status == PENDING)
        async with self._db.read() as conn:
            due: datetime | None = (await conn.execute(query)).scalar_one()
        return due

    async def uncertain_before(self, row: OutboxRow) -> bool:
        """Whether an earlier row of `row`'s scan and channel may be in Slack already (its
        answer lost, or left "sending" by a crash) and is not settled yet."""
        c = outbox.c
        may_be_posted = sa.or_(c.status == SENDING, sa.and_(c.status == PENDING, c.maybe_sent))
        query = (
            sa.select(c.id)
            .where(
                c.scan_id == row.alert.event.summary.scan_id,
                c.channel_id == row.alert.channel_id,
                c.id < row.id,
                may_be_posted,
            )
            .limit(1)
        )
        async with self._db.read() as conn:
            return (await conn.execute(query)).first() is not None

    async def mark_sending(self, row_id: int) -> None:
        await self._update([row_id], status=SENDING, attempts=outbox.c.attempts + 1)

    async def mark_sent(self, row_id: int, ts: str | None) -> None:
        await self._update([row_id], status=SENT, ts=ts, done_at=utcnow(), last_error=None)

    async def mark_retry(self, row_id: int, error: str, at: datetime) -> None:
        await self._update([row_id], status=PENDING, last_error=error, next_attempt_at=at)

    async def mark_uncertain(self, row_id: int, error: str, at: datetime) -> None:
        """The post's answer was lost: it may be in Slack. Retried at `at`, looked for first."""
        await self._update(
            [row_id], status=PENDING, last_error=error, next_attempt_at=at, maybe_sent=True
        )

    async def park(self, row_id: int, reason: str) -> None:
        await self._update(
            [row_id], status=OutboxStatus.PARKED, last_error=reason, done_at=utcnow()
        )

    async def mark_digested(self, row_ids: Sequence[int], ts: str | None) -> None:
        await self._update(row_ids, status=OutboxStatus.DIGESTED, ts=ts, done_at=utcnow())

    async def sent_in(self, conn: AsyncConnection, row_id: int, ts: str, at: datetime) -> None:
        """Mark the row sent in the caller's transaction (a thread's parent, see threads)."""
        await conn.execute(
            outbox.update()
            .where(outbox.c.id == row_id)
            .values(status=SENT, ts=ts, done_at=at, last_error=None)
        )

    # -- held by a quiet thread -----------------------------------------------------------

    async def hold(self, row_id: int) -> None:
        await self._update([row_id], status=HELD)

    async def held(self, scan_id: str, channel_id: str) -> list[OutboxRow]:
        """A thread's held rows, oldest first."""
        c = outbox.c
        query = (
            sa.select(outbox)
            .where(c.status == HELD, c.scan_id == scan_id, c.channel_id == channel_id)
            .order_by(c.id)
        )
        return await self._rows(query)

    async def mark_summarized(self, row_ids: Sequence[int], ts: str | None, at: datetime) -> None:
        """Held rows told in one summary reply; a row no longer held is left alone."""
        async with self._db.transaction() as conn:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id.in_(list(row_ids)), outbox.c.status == HELD)
                .values(status=OutboxStatus.SUMMARIZED, ts=ts, done_at=at)
            )

    # -- looking ---------------------------------------------------------------------------

    async def parked(self, limit: int = 20) -> list[OutboxRow]:
        """Parked rows, newest first."""
        query = (
            sa.select(outbox)
            .where(outbox.c.status == OutboxStatus.PARKED)
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
        return await self._rows(query)

    async def oldest_waiting(self) -> datetime | None:
        """When the oldest row still to be sent (pending or sending) was queued."""
        query = sa.select(sa.func.min(outbox.c.created_at)).where(
            outbox.c.status.in_([PENDING, SENDING])
        )
        async with self._db.read() as conn:
            oldest: datetime | None = (await conn.execute(query)).scalar_one()
        return oldest

    async def counts(self) -> dict[str, int]:
        """Rows per status (statuses with none left out)."""
        query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
        async with self._db.read() as conn:
            return {status: int(n) for status, n in (await conn.execute(query)).all()}

    async def _rows(self, query: sa.Select[Any]) -> list[OutboxRow]:
        async with self._db.read() as conn:
            return [_outbox_row(row) for row in (await conn.execute(query)).mappings()]

    async def _update(self, row_ids: Sequence[int], **values: Any) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                outbox.update().where(outbox.c.id.in_(list(row_ids))).values(**values)
            )


def _outbox_row(row: Any) -> OutboxRow:
    """An outbox table row as the domain's value."""
    return OutboxRow(
        id=row["id"],
        alert=Alert.model_validate_json(row["alert"]),
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        ts=row["ts"],
        maybe_sent=bool(row["maybe_sent"]),
        created_at=row["created_at"],
    )
