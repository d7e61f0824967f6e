"""The store as the composition root hands it out: one database and an object per
aggregate on it (`store.snapshots`, `store.outbox`, `store.threads`, `store.triage`,
`store.subscriptions`, `store.state`, `store.webhooks`, `store.housekeeping`,
`store.operations`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL

from scanbot.domain.status import Status
from scanbot.store.database import Database
from scanbot.store.housekeeping import Housekeeping
from scanbot.store.operations import Operations
from scanbot.store.outbox import Outbox
from scanbot.store.snapshots import Snapshots
from scanbot.store.state import BotState
from scanbot.store.subscriptions import Subscriptions
from scanbot.store.summaries import Summaries
from scanbot.store.threads import Threads
from scanbot.store.triage import TriageRecords
from scanbot.store.webhooks import WebhookEvents


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.outbox = Outbox(db)
        self.threads = Threads(db, self.outbox)
        self.triage = TriageRecords(db)
        self.state = BotState(db)
        self.snapshots = Snapshots(db, self.outbox, self.threads, self.state)
        self.subscriptions = Subscriptions(db)
        self.summaries = Summaries(db)
        self.webhooks = WebhookEvents(db)
        self.housekeeping = Housekeeping(db)
        self.operations = Operations(db)

    @classmethod
    async def open(
        cls, url: URL | str, *, migrate: bool = True, connect_args: dict[str, Any] | None = None
    ) -> Store:
        return cls(await Database.open(url, migrate=migrate, connect_args=connect_args))

    async def close(self) -> None:
        await self.db.close()

    async def status(self, *, leading: bool = False, parked: int = 20) -> Status:
        """The pipeline's health, with at most `parked` parked alerts (newest first)."""
        state = await self.state.read()
        return Status(
            database=self.db.dialect,
            leading=leading,
            last_cycle_at=state.last_cycle_at,
            poll_failures=state.poll_failures,
            polling_down_since=state.poll_down_since,
            sending_paused=state.sending_paused,
            resend_check_unavailable=state.resend_check_unavailable,
            outbox=await self.outbox.counts(),
            parked=tuple(await self.outbox.parked(limit=parked)),
            subscriptions=tuple(await self.subscriptions.all()),
        )
