"""Scheduled summaries and the daily risk counts: one schedule per (channel, period),
replaced when set again; each period claimed once (`claim`); one count per UTC day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert
from scanbot.domain.outbox import OutboxStatus
from scanbot.domain.summaries import DailyCount, QueuedSummary, SummarySchedule
from scanbot.store.database import Database
from scanbot.store.schema import outbox, risk_counts, scan_snapshots, summary_schedules

QUEUED, LEASED = OutboxStatus.SUMMARY_PENDING, OutboxStatus.SUMMARY_SENDING
QUIET, RELEASING = OutboxStatus.QUIET_HELD, OutboxStatus.QUIET_RELEASING


class Summaries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(
        self,
        channel_id: str,
        *,
        period: str,
        at: str,
        tz: str,
        weekday: int | None = None,
        types: Sequence[str] = (),
        target_contains: str | None = None,
        min_severity: str | None = None,
        created_by: str = "",
        now: datetime | None = None,
    ) -> SummarySchedule:
        """The channel's `period` summary, added or replaced (what was last sent is kept, so
        replacing a schedule never sends a period twice)."""
        values: dict[str, Any] = {
            "at": at,
            "tz": tz,
            "weekday": weekday,
            "types": list(types),
            "target_contains": target_contains,
            "min_severity": min_severity,
            "created_by": created_by,
        }
        insert = self._db.insert(summary_schedules).values(
            channel_id=channel_id, period=period, created_at=now or utcnow(), **values
        )
        # Replaced, it counts from now: a period due before the change is not sent late.
        replaced = {**values, "created_at": insert.excluded.created_at}
        upsert = insert.on_conflict_do_update(
            index_elements=["channel_id", "period"], set_=replaced
        ).returning(*summary_schedules.c)
        async with self._db.transaction() as conn:
            row = (await conn.execute(upsert)).mappings().one()
        return _schedule(row)

    async def all(self, channel_id: str | None = None) -> list[SummarySchedule]:
        """A channel's schedules (None: every channel's), oldest first."""
        query = sa.select(summary_schedules).order_by(summary_schedules.c.id)
        if channel_id is not None:
            query = query.where(summary_schedules.c.channel_id == channel_id)
        async with self._db.read() as conn:
            return [_schedule(row) for row in (await conn.execute(query)).mappings()]

    async def get(self, schedule_id: int) -> SummarySchedule | None:
        query = sa.select(summary_schedules).where(summary_schedules.c.id == schedule_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _schedule(row)

    async def remove(self, channel_id: str) -> int:
        """Stop every summary of the channel; how many there were."""
        statement = summary_schedules.delete().where(summary_schedules.c.channel_id == channel_id)
        async with self._db.transaction() as conn:
            return (await conn.execute(statement)).rowcount or 0

    async def queue(
        self, schedule: SummarySchedule, period: str, due_at: datetime, now: datetime
    ) -> bool:
        """Claim `period` and queue its summary in the outbox, in ONE transaction: True
        once per (channel, summary, period), whatever replicas, restarts or retries ask
        (the claim is a conditional update, the row's key unique)."""
        queued = QueuedSummary(
            schedule_id=schedule.id, channel_id=schedule.channel_id, period=period, due_at=due_at
        )
        insert = (
            self._db.insert(outbox)
            .values(
                alert_key=queued.key,
                channel_id=schedule.channel_id,
                scan_id="",
                alert=queued.model_dump_json(
                    include={"schedule_id", "channel_id", "period", "due_at"}
                ),
                status=QUEUED,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["alert_key"])
        )
        async with self._db.transaction() as conn:
            if not (await conn.execute(_claim(schedule, period))).rowcount:
                return False
            return bool((await conn.execute(insert)).rowcount)

    async def lease(self, now: datetime, lease: timedelta) -> list[QueuedSummary]:
        """Take the queued summaries due now (and any whose lease ran out: a replica died
        while sending) for `lease`; each is taken by one caller only."""
        c = outbox.c
        due = sa.or_(
            sa.and_(c.status == QUEUED, c.next_attempt_at <= now),
            sa.and_(c.status == LEASED, c.next_attempt_at <= now),
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(outbox).where(due).order_by(c.id))).mappings()
            candidates = [dict(row) for row in rows]
        taken: list[QueuedSummary] = []
        for row in candidates:
            statement = (
                outbox.update()
                .where(c.id == row["id"], c.status == row["status"])
                .where(c.next_attempt_at == row["next_attempt_at"])
                .values(status=LEASED, next_attempt_at=now + lease, attempts=c.attempts + 1)
            )
            async with self._db.transaction() as conn:
                if (await conn.execute(statement)).rowcount:
                    queued = QueuedSummary.model_validate_json(row["alert"])
                    taken.append(
                        queued.model_copy(
                            update={"row_id": row["id"], "attempts": row["attempts"] + 1}
                        )
                    )
        return taken

    async def sent(
        self, queued: QueuedSummary, ts: str | None, open_risks: int, at: datetime
    ) -> None:
        """The summary went out: its row is done, and the next one's change starts here."""
        async with self._db.transaction() as conn:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == queued.row_id)
                .values(status=OutboxStatus.SENT, ts=ts, done_at=at, last_error=None)
            )
            await conn.execute(
                summary_schedules.update()
                .where(summary_schedules.c.id == queued.schedule_id)
                .values(last_open=open_risks, last_at=at)
            )

    async def retry(self, queued: QueuedSummary, error: str, at: datetime) -> None:
        await self._finish(queued, status=QUEUED, last_error=error, next_attempt_at=at)

    async def park(self, queued: QueuedSummary, reason: str, at: datetime) -> None:
        await self._finish(queued, status=OutboxStatus.PARKED, last_error=reason, done_at=at)

    async def _finish(self, queued: QueuedSummary, **values: Any) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(outbox.update().where(outbox.c.id == queued.row_id).values(**values))

    # -- alerts held by quiet hours (rows of the alerts' outbox) ---------------------------

    async def hold_quiet(self, row_id: int) -> None:
        """An alert row waits for the end of its channel's quiet hours (kept across restarts)."""
        async with self._db.transaction() as conn:
            await conn.execute(outbox.update().where(outbox.c.id == row_id).values(status=QUIET))

    async def quiet_channels(self, now: datetime) -> list[str]:
        """Channels with alerts held by quiet hours (or left mid-release by a dead replica)."""
        c = outbox.c
        waiting = sa.or_(
            c.status == QUIET, sa.and_(c.status == RELEASING, c.next_attempt_at <= now)
        )
        query = sa.select(c.channel_id).where(waiting).distinct().order_by(c.channel_id)
        async with self._db.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def lease_quiet(
        self, channel_id: str, now: datetime, lease: timedelta
    ) -> list[tuple[int, Alert]]:
        """Take the channel's held alerts for `lease`, oldest first; one caller gets them."""
        c = outbox.c
        waiting = sa.or_(
            c.status == QUIET, sa.and_(c.status == RELEASING, c.next_attempt_at <= now)
        )
        statement = (
            outbox.update()
            .where(c.channel_id == channel_id, waiting)
            .values(status=RELEASING, next_attempt_at=now + lease)
            .returning(c.id, c.alert)
        )
        async with self._db.transaction() as conn:
            rows = (await conn.execute(statement)).all()
        return [(row_id, Alert.model_validate_json(alert)) for row_id, alert in sorted(rows)]

    async def released(self, row_ids: Sequence[int], ts: str | None, at: datetime) -> None:
        """Held alerts told in the one release message."""
        await self._set_rows(row_ids, status=OutboxStatus.SUMMARIZED, ts=ts, done_at=at)

    async def hold_again(self, row_ids: Sequence[int], error: str) -> None:
        """The release message failed: the alerts wait for the next try."""
        await self._set_rows(row_ids, status=QUIET, last_error=error)

    async def _set_rows(self, row_ids: Sequence[int], **values: Any) -> None:
        c = outbox.c
        statement = outbox.update().where(c.id.in_(list(row_ids)), c.status == RELEASING)
        async with self._db.transaction() as conn:
            await conn.execute(statement.values(**values))

    async def counted(self, schedule_id: int, open_risks: int, at: datetime) -> None:
        """What the summary just computed counted: the next one's change is from here."""
        statement = (
            summary_schedules.update()
            .where(summary_schedules.c.id == schedule_id)
            .values(last_open=open_risks, last_at=at)
        )
        async with self._db.transaction() as conn:
            await conn.execute(statement)

    async def record_count(self, count: DailyCount, at: datetime | None = None) -> bool:
        """The day's count, unless one was recorded that day already (True if written)."""
        insert = self._db.insert(risk_counts).values(
            **count.model_dump(), recorded_at=at or utcnow()
        )
        async with self._db.transaction() as conn:
            result = await conn.execute(insert.on_conflict_do_nothing(index_elements=["day"]))
            return bool(result.rowcount)

    async def has_count(self, day: date) -> bool:
        query = sa.select(risk_counts.c.day).where(risk_counts.c.day == day)
        async with self._db.read() as conn:
            return (await conn.execute(query)).first() is not None

    async def counts(self, since: date) -> list[DailyCount]:
        """The daily counts from `since` on, oldest first."""
        query = sa.select(risk_counts).where(risk_counts.c.day >= since).order_by(risk_counts.c.day)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings()
            return [DailyCount.model_validate(dict(row)) for row in rows]

    async def finished_scans(self, since: datetime, until: datetime) -> dict[str, int]:
        """Scans scanbot first saw finished in [since, until), counted by final state."""
        final_at = scan_snapshots.c.final_at
        query = (
            sa.select(scan_snapshots.c.state, sa.func.count())
            .where(final_at >= since, final_at < until)
            .group_by(scan_snapshots.c.state)
        )
        async with self._db.read() as conn:
            return {state: count for state, count in (await conn.execute(query)).all()}


def _claim(schedule: SummarySchedule, period: str) -> sa.Update:
    """The schedule's last period becomes `period`, unless it already is it or later."""
    column = summary_schedules.c.last_period
    return (
        summary_schedules.update()
        .where(summary_schedules.c.id == schedule.id)
        .where(sa.or_(column.is_(None), column < period))
        .values(last_period=period)
    )


def _schedule(row: Any) -> SummarySchedule:
    return SummarySchedule(
        id=row["id"],
        channel_id=row["channel_id"],
        period=row["period"],
        weekday=row["weekday"],
        at=row["at"],
        tz=row["tz"],
        types=tuple(row["types"]),
        target_contains=row["target_contains"],
        min_severity=row["min_severity"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_period=row["last_period"],
        last_open=row["last_open"],
        last_at=row["last_at"],
    )
