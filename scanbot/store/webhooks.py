"""HostedScan webhook events already seen (so a redelivery is processed once), and the
work each asks for until it is done (so processing that failed is retried)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from scanbot.domain.clock import utcnow
from scanbot.store.database import Database
from scanbot.store.schema import webhook_events


@dataclass(frozen=True)
class WebhookWork:
    """What an event asks to look at: a scan, or (a risk event) the active scans."""

    event_id: str
    scan_id: str | None = None
    risks: bool = False


class WebhookEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_delivery(
        self, event_id: str, *, scan_id: str | None = None, risks: bool = False
    ) -> bool:
        """Remember a webhook event id, with its work still to do (none: done at once);
        False when it was seen before (a redelivery)."""
        now = utcnow()
        pending = scan_id is not None or risks
        async with self._db.transaction() as conn:
            result = await conn.execute(
                self._db.insert(webhook_events)
                .values(
                    event_id=event_id[:255],
                    received_at=now,
                    scan_id=scan_id,
                    risks=risks,
                    done_at=None if pending else now,
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
            )
            return bool(result.rowcount)

    async def done(self, event_ids: Sequence[str]) -> None:
        """Their work is done (or left to polling)."""
        c = webhook_events.c
        async with self._db.transaction() as conn:
            for start in range(0, len(event_ids), 500):
                chunk = [e[:255] for e in event_ids[start : start + 500]]
                await conn.execute(
                    webhook_events.update()
                    .where(c.event_id.in_(chunk), c.done_at.is_(None))
                    .values(done_at=utcnow())
                )

    async def pending(self, since: datetime, limit: int = 5_000) -> list[WebhookWork]:
        """Work received since `since` and not done yet, oldest first (after a restart)."""
        c = webhook_events.c
        query = (
            sa.select(c.event_id, c.scan_id, c.risks)
            .where(c.done_at.is_(None), c.received_at >= since)
            .order_by(c.received_at)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [WebhookWork(r.event_id, r.scan_id, bool(r.risks)) for r in rows]
