"""Values and steps the store tests share: summaries, snapshots, alerts, queueing, and
reading or backdating a row behind the store's back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from scanbot.domain.events import Alert, EventKind, ScanEvent, Snapshot
from scanbot.domain.outbox import OutboxRow
from scanbot.domain.scans import ScanSummary
from scanbot.store import Store
from scanbot.store.schema import outbox

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PLUS_FIVE = timezone(timedelta(hours=5))  # not the machine's zone, whatever that is
LONG_AGO = timedelta(days=90)


def summary(scan_id: str, state: str = "RUNNING", **fields: Any) -> ScanSummary:
    return ScanSummary(scan_id=scan_id, type="NMAP", state=state, **fields)


def snap(
    scan_id: str, state: str = "RUNNING", *, last_seen: datetime = T0, **fields: Any
) -> Snapshot:
    return Snapshot(summary=summary(scan_id, state), last_seen=last_seen, **fields)


def alert(scan_id: str, channel_id: str = "C1", state: str = "SUCCEEDED") -> Alert:
    event = ScanEvent(kind=EventKind.FINISHED, summary=summary(scan_id, state))
    return Alert(channel_id=channel_id, event=event, created_at=T0)


async def queue(store: Store, *alerts: Alert) -> list[OutboxRow]:
    """Queue alerts; their outbox rows, in order."""
    assert await store.snapshots.record([], alerts) == len(alerts)
    rows = {row.alert.key: row for row in await store.outbox.due()}
    return [rows[a.key] for a in alerts]


async def outbox_column(store: Store, row_id: int, column: str) -> Any:
    async with store.db.engine.connect() as conn:
        query = sa.select(outbox.c[column]).where(outbox.c.id == row_id)
        return (await conn.execute(query)).scalar_one()


async def backdate(store: Store, table: sa.Table, where: Any, **values: datetime) -> None:
    async with store.db.engine.begin() as conn:
        await conn.execute(table.update().where(where).values(**values))
