"""Triage records: conditional updates, so double clicks, replays and two people clicking
at once leave one consistent state and report one change. Every change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from scanbot.domain.outbox import OutboxRow
from scanbot.domain.threads import (
    Acknowledgement,
    AlertThread,
    AuditEntry,
    SnoozeChoice,
    TriageView,
)
from scanbot.store.schema import acknowledgements, alert_threads, outbox, triage_audit
from scanbot.store.store import Store, _outbox_row, _thread

# What a thread holds when it is not snoozed.
NOT_SNOOZED = {"snoozed_until": None, "snoozed_in_state": None, "snooze_choice": None}


class TriageStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- reading --------------------------------------------------------------------------

    async def view(self, thread: AlertThread) -> TriageView:
        (view,) = await self.views([thread])
        return view

    async def views(self, threads: Sequence[AlertThread]) -> list[TriageView]:
        """Each thread's triage view, reading the acknowledgements in one query, not one a
        thread (the sender looks at every thread each delivery round)."""
        if not threads:
            return []
        query = sa.select(acknowledgements).order_by(
            acknowledgements.c.at, acknowledgements.c.user_id
        )
        if len(threads) == 1:
            query = query.where(
                _is_thread(acknowledgements, threads[0].scan_id, threads[0].channel_id)
            )
        acks: dict[tuple[str, str], list[Acknowledgement]] = {}
        async with self._store.engine.connect() as conn:
            for row in (await conn.execute(query)).mappings():
                key = (row["scan_id"], row["channel_id"])
                acks.setdefault(key, []).append(
                    Acknowledgement(user_id=row["user_id"], at=row["at"])
                )
        return [
            TriageView(
                acknowledgements=tuple(acks.get((t.scan_id, t.channel_id), ())),
                assignee=t.assignee,
                snoozed_until=t.snoozed_until,
                snoozed_in_state=t.snoozed_in_state,
                muted=t.muted,
            )
            for t in threads
        ]

    async def audit(self, scan_id: str, channel_id: str) -> list[AuditEntry]:
        query = (
            sa.select(triage_audit)
            .where(_is_thread(triage_audit, scan_id, channel_id))
            .order_by(triage_audit.c.id)
        )
        async with self._store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            AuditEntry(at=r["at"], user_id=r["user_id"], action=r["action"], detail=r["detail"])
            for r in rows
        ]

    async def unacknowledged(self, channel_id: str | None = None) -> list[AlertThread]:
        """Threads nobody acknowledged yet, oldest first (a channel's, or every channel's)."""
        acked = sa.select(acknowledgements.c.scan_id).where(
            acknowledgements.c.scan_id == alert_threads.c.scan_id,
            acknowledgements.c.channel_id == alert_threads.c.channel_id,
        )
        query = sa.select(alert_threads).where(~sa.exists(acked))
        if channel_id is not None:
            query = query.where(alert_threads.c.channel_id == channel_id)
        query = query.order_by(alert_threads.c.created_at, alert_threads.c.scan_id)
        async with self._store.engine.connect() as conn:
            return [_thread(row) for row in (await conn.execute(query)).mappings()]

    async def assigned_to(self, user_id: str) -> list[AlertThread]:
        query = (
            sa.select(alert_threads)
            .where(alert_threads.c.assignee == user_id)
            .order_by(alert_threads.c.created_at)
        )
        async with self._store.engine.connect() as conn:
            return [_thread(row) for row in (await conn.execute(query)).mappings()]

    # -- changing (each returns True only if it changed something) ------------------------

    async def acknowledge(self, scan_id: str, channel_id: str, user_id: str, at: datetime) -> bool:
        async with self._store._write() as conn:
            result = await conn.execute(
                self._store._insert(acknowledgements)
                .values(scan_id=scan_id, channel_id=channel_id, user_id=user_id, at=at)
                .on_conflict_do_nothing()
            )
            return await _audited(
                conn, result.rowcount, scan_id, channel_id, user_id, "acknowledge", "", at
            )

    async def unacknowledge(
        self, scan_id: str, channel_id: str, user_id: str, at: datetime
    ) -> bool:
        async with self._store._write() as conn:
            result = await conn.execute(
                acknowledgements.delete().where(
                    _is_thread(acknowledgements, scan_id, channel_id),
                    acknowledgements.c.user_id == user_id,
                )
            )
            return await _audited(
                conn, result.rowcount, scan_id, channel_id, user_id, "unacknowledge", "", at
            )

    async def assign(
        self, scan_id: str, channel_id: str, user_id: str, assignee: str | None, at: datetime
    ) -> bool:
        column = alert_threads.c.assignee
        return await self._set(
            scan_id,
            channel_id,
            user_id,
            "assign",
            assignee or "",
            at,
            {"assignee": assignee},
            column.is_distinct_from(assignee),
        )

    async def snooze(
        self,
        scan_id: str,
        channel_id: str,
        user_id: str,
        at: datetime,
        choice: SnoozeChoice,
        *,
        state: str,
    ) -> bool:
        """Snooze the thread with `choice` at `at`, the scan being in `state`, unless the same
        snooze is on already (the rule in `SnoozeChoice`): one conditional UPDATE, so two
        identical snoozes at once change the thread once."""
        c = alert_threads.c
        duration = choice.duration
        values: dict[str, Any]
        if duration is None:
            values = {"snoozed_until": None, "snoozed_in_state": state}
            same = sa.and_(
                c.snooze_choice.is_not_distinct_from(choice.value),
                c.snoozed_until.is_(None),
                c.snoozed_in_state.is_not_distinct_from(state),
            )
        else:
            values = {"snoozed_until": at + duration, "snoozed_in_state": None}
            same = sa.and_(
                c.snooze_choice.is_not_distinct_from(choice.value),
                c.snoozed_until.is_not(None),
                c.snoozed_until > at,
            )
        values |= {"snooze_choice": choice.value}
        return await self._set(
            scan_id, channel_id, user_id, "snooze", choice.value, at, values, sa.not_(same)
        )

    async def unsnooze(
        self, scan_id: str, channel_id: str, user_id: str, at: datetime, *, detail: str = ""
    ) -> bool:
        """Clear the thread's snooze, whatever it is; False when there was none."""
        c = alert_threads.c
        snoozed = sa.or_(
            c.snoozed_until.is_not(None),
            c.snoozed_in_state.is_not(None),
            c.snooze_choice.is_not(None),
        )
        return await self._set(
            scan_id, channel_id, user_id, "unsnooze", detail, at, NOT_SNOOZED, snoozed
        )

    async def expire_snooze(self, thread: AlertThread, at: datetime, *, by: str) -> bool:
        """Clear the thread's snooze if it has ended by `at`: its end has passed, or the scan
        left the state it waited out (`thread` as read: its summary's state). Audited once
        as `by`'s "unsnooze" with detail "expired", however many rounds race to it."""
        c = alert_threads.c
        ended = [sa.and_(c.snoozed_until.is_not(None), c.snoozed_until <= at)]
        waited = thread.snoozed_in_state
        if waited is not None and waited != thread.summary.state:
            ended.append(sa.and_(c.snoozed_until.is_(None), c.snoozed_in_state == waited))
        return await self._set(
            thread.scan_id,
            thread.channel_id,
            by,
            "unsnooze",
            "expired",
            at,
            NOT_SNOOZED,
            sa.or_(*ended),
        )

    async def snoozed_threads(self) -> list[AlertThread]:
        """Threads with a snooze stored, ended or not (few: people snooze by hand)."""
        c = alert_threads.c
        query = sa.select(alert_threads).where(
            sa.or_(c.snoozed_until.is_not(None), c.snoozed_in_state.is_not(None))
        )
        async with self._store.engine.connect() as conn:
            return [_thread(row) for row in (await conn.execute(query)).mappings()]

    async def set_muted(
        self, scan_id: str, channel_id: str, user_id: str, muted: bool, at: datetime
    ) -> bool:
        changed = alert_threads.c.muted.is_distinct_from(muted)
        action = "mute" if muted else "unmute"
        return await self._set(
            scan_id, channel_id, user_id, action, "", at, {"muted": muted}, changed
        )

    async def record(
        self, scan_id: str, channel_id: str, user_id: str, action: str, detail: str, at: datetime
    ) -> None:
        """Audit an action that changes no triage state (refresh, show risks, report)."""
        async with self._store._write() as conn:
            await _audited(conn, 1, scan_id, channel_id, user_id, action, detail, at)

    async def _set(
        self,
        scan_id: str,
        channel_id: str,
        user_id: str,
        action: str,
        detail: str,
        at: datetime,
        values: dict[str, Any],
        changed: sa.ColumnElement[bool],
    ) -> bool:
        async with self._store._write() as conn:
            result = await conn.execute(
                alert_threads.update()
                .where(_is_thread(alert_threads, scan_id, channel_id), changed)
                .values(**values)
            )
            return await _audited(
                conn, result.rowcount, scan_id, channel_id, user_id, action, detail, at
            )

    # -- held alerts (snoozed or muted threads) -------------------------------------------

    async def hold(self, row_id: int) -> None:
        async with self._store._write() as conn:
            await conn.execute(outbox.update().where(outbox.c.id == row_id).values(status="held"))

    async def held(self, scan_id: str, channel_id: str) -> list[OutboxRow]:
        query = (
            sa.select(outbox)
            .where(
                outbox.c.status == "held",
                outbox.c.scan_id == scan_id,
                outbox.c.channel_id == channel_id,
            )
            .order_by(outbox.c.id)
        )
        async with self._store.engine.connect() as conn:
            return [_outbox_row(row) for row in (await conn.execute(query)).mappings()]

    async def threads_with_held_alerts(self) -> list[AlertThread]:
        held = sa.select(outbox.c.id).where(
            outbox.c.status == "held",
            outbox.c.scan_id == alert_threads.c.scan_id,
            outbox.c.channel_id == alert_threads.c.channel_id,
        )
        query = sa.select(alert_threads).where(sa.exists(held))
        async with self._store.engine.connect() as conn:
            return [_thread(row) for row in (await conn.execute(query)).mappings()]

    async def mark_summarized(self, row_ids: Sequence[int], ts: str | None, at: datetime) -> None:
        async with self._store._write() as conn:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id.in_(list(row_ids)), outbox.c.status == "held")
                .values(status="summarized", ts=ts, done_at=at)
            )


def _is_thread(table: sa.Table, scan_id: str, channel_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.scan_id == scan_id, table.c.channel_id == channel_id)


async def _audited(
    conn: AsyncConnection,
    rowcount: int | None,
    scan_id: str,
    channel_id: str,
    user_id: str,
    action: str,
    detail: str,
    at: datetime,
) -> bool:
    """Write the audit line when the change happened; report whether it did."""
    if not rowcount:
        return False
    await conn.execute(
        triage_audit.insert().values(
            scan_id=scan_id,
            channel_id=channel_id,
            user_id=user_id,
            action=action,
            detail=detail[:500],
            at=at,
        )
    )
    return True
