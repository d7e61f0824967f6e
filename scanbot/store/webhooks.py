"""HostedScan webhook event ids already seen, so a redelivery is processed once."""

from __future__ import annotations

from scanbot.domain.clock import utcnow
from scanbot.store.database import Database
from scanbot.store.schema import webhook_events


class WebhookEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_delivery(self, event_id: str) -> bool:
        """Remember a webhook event id; False when it was seen before (a redelivery)."""
        async with self._db.transaction() as conn:
            result = await conn.execute(
                self._db.insert(webhook_events)
                .values(event_id=event_id[:255], received_at=utcnow())
                .on_conflict_do_nothing(index_elements=["event_id"])
            )
            return bool(result.rowcount)
