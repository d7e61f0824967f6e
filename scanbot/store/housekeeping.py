"""Pruning: delete what no longer matters, so the database does not grow without bound."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from scanbot.domain.clock import utcnow
from scanbot.domain.outbox import DONE_STATUSES
from scanbot.store.database import Database
from scanbot.store.schema import alert_threads, outbox, scan_snapshots, webhook_events


class Housekeeping:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def prune(
        self,
        now: datetime | None = None,
        *,
        keep_done: timedelta = timedelta(days=14),
        keep_webhook_ids: timedelta = timedelta(days=2),
        keep_unseen: timedelta = timedelta(days=30),
    ) -> dict[str, int]:
        """Delete outbox rows done for `keep_done`, webhook ids older than
        `keep_webhook_ids` (they outlive HostedScan's 12 hours of redelivery), and scans
        unseen for `keep_unseen` (full sweeps refresh last_seen: such a scan is gone) with
        their threads. Returns rows deleted per table."""
        now = now or utcnow()
        async with self._db.transaction() as conn:
            done = await conn.execute(
                outbox.delete().where(
                    outbox.c.status.in_(sorted(DONE_STATUSES)),
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
