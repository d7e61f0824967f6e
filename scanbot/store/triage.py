"""Triage records of alert threads: conditional updates, so double clicks, replays and two
people clicking at once leave one consistent state and report one change. Every change
is audited in its own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from scanbot.domain.threads import AlertThread, AuditEntry, SnoozeChoice
from scanbot.store.database import Database
from scanbot.store.schema import acknowledgements, alert_threads, triage_audit
from scanbot.store.threads import is_thread

# What a thread holds when it is not snoozed.
NOT_SNOOZED = {"snoozed_until": None, "snoozed_in_state": None, "snooze_choice": None}


@dataclass(frozen=True)
class Act:
    """Who did what to which thread, when: one audit line if it changed anything."""

    scan_id: str
    channel_id: str
    user_id: str
    at: datetime


class TriageRecords:
    """Each change returns True only if it changed something (and then audits it)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def acknowledge(self, scan_id: str, channel_id: str, user_id: str, at: datetime) -> bool:
        act = Act(scan_id, channel_id, user_id, at)
        insert = (
            self._db.insert(acknowledgements)
            .values(scan_id=scan_id, channel_id=channel_id, user_id=user_id, at=at)
            .on_conflict_do_nothing()
        )
        return await self._audited(act, "acknowledge", "", insert)

    async def unacknowledge(
        self, scan_id: str, channel_id: str, user_id: str, at: datetime
    ) -> bool:
        act = Act(scan_id, channel_id, user_id, at)
        delete = acknowledgements.delete().where(
            is_thread(acknowledgements, scan_id, channel_id),
            acknowledgements.c.user_id == user_id,
        )
        return await self._audited(act, "unacknowledge", "", delete)

    async def assign(
        self, scan_id: str, channel_id: str, user_id: str, assignee: str | None, at: datetime
    ) -> bool:
        changed = alert_threads.c.assignee.is_distinct_from(assignee)
        act = Act(scan_id, channel_id, user_id, at)
        return await self._set(act, "assign", assignee or "", {"assignee": assignee}, changed)

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
                c.snoozed_until.is_(None), c.snoozed_in_state.is_not_distinct_from(state)
            )
        else:
            values = {"snoozed_until": at + duration, "snoozed_in_state": None}
            same = sa.and_(c.snoozed_until.is_not(None), c.snoozed_until > at)
        same = sa.and_(c.snooze_choice.is_not_distinct_from(choice.value), same)
        values |= {"snooze_choice": choice.value}
        act = Act(scan_id, channel_id, user_id, at)
        return await self._set(act, "snooze", choice.value, values, sa.not_(same))

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
        act = Act(scan_id, channel_id, user_id, at)
        return await self._set(act, "unsnooze", detail, NOT_SNOOZED, snoozed)

    async def expire_snooze(self, thread: AlertThread, at: datetime, *, by: str) -> bool:
        """Clear the thread's snooze if it has ended by `at`: its end has passed, or the scan
        left the state it waited out (`thread` as read: its summary's state). Audited once
        as `by`'s "unsnooze" with detail "expired", however many rounds race to it."""
        c = alert_threads.c
        ended = [sa.and_(c.snoozed_until.is_not(None), c.snoozed_until <= at)]
        waited = thread.snoozed_in_state
        if waited is not None and waited != thread.summary.state:
            ended.append(sa.and_(c.snoozed_until.is_(None), c.snoozed_in_state == waited))
        act = Act(thread.scan_id, thread.channel_id, by, at)
        return await self._set(act, "unsnooze", "expired", NOT_SNOOZED, sa.or_(*ended))

    async def set_muted(
        self, scan_id: str, channel_id: str, user_id: str, muted: bool, at: datetime
    ) -> bool:
        changed = alert_threads.c.muted.is_distinct_from(muted)
        act = Act(scan_id, channel_id, user_id, at)
        return await self._set(act, "mute" if muted else "unmute", "", {"muted": muted}, changed)

    async def record(
        self, scan_id: str, channel_id: str, user_id: str, action: str, detail: str, at: datetime
    ) -> None:
        """Audit an action that changes no triage state (refresh, show risks, report)."""
        async with self._db.transaction() as conn:
            await _audit(conn, Act(scan_id, channel_id, user_id, at), action, detail)

    async def audit(self, scan_id: str, channel_id: str) -> list[AuditEntry]:
        """The thread's audit trail, oldest first."""
        query = (
            sa.select(triage_audit)
            .where(is_thread(triage_audit, scan_id, channel_id))
            .order_by(triage_audit.c.id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            AuditEntry(at=r["at"], user_id=r["user_id"], action=r["action"], detail=r["detail"])
            for r in rows
        ]

    async def _set(
        self,
        act: Act,
        action: str,
        detail: str,
        values: Mapping[str, Any],
        changed: sa.ColumnElement[bool],
    ) -> bool:
        update = (
            alert_threads.update()
            .where(is_thread(alert_threads, act.scan_id, act.channel_id), changed)
            .values(**values)
        )
        return await self._audited(act, action, detail, update)

    async def _audited(self, act: Act, action: str, detail: str, statement: Any) -> bool:
        """Run `statement`; if it changed a row, audit it in the same transaction."""
        async with self._db.transaction() as conn:
            if not (await conn.execute(statement)).rowcount:
                return False
            await _audit(conn, act, action, detail)
        return True


async def _audit(conn: AsyncConnection, act: Act, action: str, detail: str) -> None:
    await conn.execute(
        triage_audit.insert().values(
            scan_id=act.scan_id,
            channel_id=act.channel_id,
            user_id=act.user_id,
            action=action,
            detail=detail[:500],
            at=act.at,
        )
    )
