"""Channels' subscriptions: added under a per-channel cap that holds under concurrency,
listed, removed, SCANBOT_ALERT_CHANNEL's added once, and disabled when a channel is gone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scanbot.domain.clock import utcnow
from scanbot.domain.subscriptions import MAX_SUBSCRIPTIONS_PER_CHANNEL, Subscription
from scanbot.store.database import Database
from scanbot.store.schema import subscriptions

# pg_advisory_xact_lock(key, hashtext(channel)) that serialises adding to one channel's
# subscriptions: the cap holds under concurrent subscribes.
SUBSCRIBE_LOCK = 0x5CA9B09
ENV_CREATOR = "SCANBOT_ALERT_CHANNEL"


class TooManySubscriptions(Exception):
    """The channel already has as many subscriptions as it may."""

    def __init__(self, channel_id: str, limit: int) -> None:
        super().__init__(f"channel {channel_id} already has {limit} subscriptions")
        self.limit = limit


class Subscriptions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        channel_id: str,
        *,
        types: Sequence[str] = (),
        target_contains: str | None = None,
        min_severity: str | None = None,
        events: Sequence[str],
        created_by: str = "",
        from_env: bool = False,
        limit: int = MAX_SUBSCRIPTIONS_PER_CHANNEL,
        quiet: tuple[str, str] | None = None,
        quiet_all: bool = False,
        tz: str | None = None,
    ) -> Subscription:
        """Add a subscription, unless the channel already has `limit` of them (any kind):
        then TooManySubscriptions. The count and the insert are one statement, and on
        PostgreSQL one channel's adds queue on an advisory lock, so concurrent adds never
        pass the limit. A `from_env` subscription is never refused.
        """
        values = {
            "channel_id": channel_id,
            "types": list(types),
            "target_contains": target_contains,
            "min_severity": min_severity,
            "events": list(events),
            "created_by": created_by,
            "from_env": from_env,
            "created_at": utcnow(),
            "quiet_start": quiet[0] if quiet else None,
            "quiet_end": quiet[1] if quiet else None,
            "quiet_all": quiet_all,
            "tz": tz,
        }
        row = sa.select(
            *(sa.literal(v, subscriptions.c[k].type).label(k) for k, v in values.items())
        )
        if not from_env:
            count = sa.select(sa.func.count()).where(subscriptions.c.channel_id == channel_id)
            row = row.where(count.scalar_subquery() < limit)
        insert = subscriptions.insert().from_select(list(values), row)
        async with self._db.transaction() as conn:
            await self._db.lock(conn, SUBSCRIBE_LOCK, sa.func.hashtext(channel_id))
            added = (await conn.execute(insert.returning(*subscriptions.c))).mappings().first()
        if added is None:
            raise TooManySubscriptions(channel_id, limit)
        return _subscription(added)

    async def all(
        self, channel_id: str | None = None, *, enabled_only: bool = False
    ) -> list[Subscription]:
        """A channel's subscriptions (None: every channel's), oldest first."""
        query = sa.select(subscriptions).order_by(subscriptions.c.id)
        if channel_id is not None:
            query = query.where(subscriptions.c.channel_id == channel_id)
        if enabled_only:
            query = query.where(subscriptions.c.disabled_reason.is_(None))
        async with self._db.read() as conn:
            return [_subscription(row) for row in (await conn.execute(query)).mappings()]

    async def remove(self, channel_id: str, subscription_id: int | None) -> int:
        """Remove one subscription of the channel (by id), or all of them (None)."""
        statement = subscriptions.delete().where(subscriptions.c.channel_id == channel_id)
        if subscription_id is not None:
            statement = statement.where(subscriptions.c.id == subscription_id)
        async with self._db.transaction() as conn:
            return (await conn.execute(statement)).rowcount or 0

    async def ensure_env(self, channel_id: str, events: Sequence[str]) -> bool:
        """SCANBOT_ALERT_CHANNEL: one default subscription per channel, however many starts
        (a unique partial index, migration 0004, settles replicas starting together)."""
        try:
            async with self._db.transaction() as conn:
                query = sa.select(subscriptions.c.id).where(
                    subscriptions.c.channel_id == channel_id, subscriptions.c.from_env.is_(True)
                )
                if (await conn.execute(query)).first():
                    return False
                await conn.execute(
                    subscriptions.insert().values(
                        channel_id=channel_id,
                        types=[],
                        events=list(events),
                        created_by=ENV_CREATOR,
                        from_env=True,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False  # another replica added it a moment ago
        return True

    async def disable_channel(self, channel_id: str, reason: str) -> int:
        """Disable the channel's enabled subscriptions (the first reason stays)."""
        async with self._db.transaction() as conn:
            result = await conn.execute(
                subscriptions.update()
                .where(subscriptions.c.channel_id == channel_id)
                .where(subscriptions.c.disabled_reason.is_(None))
                .values(disabled_reason=reason)
            )
            return result.rowcount or 0


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row["id"],
        channel_id=row["channel_id"],
        types=tuple(row["types"]),
        target_contains=row["target_contains"],
        min_severity=row["min_severity"],
        events=tuple(row["events"]),
        created_by=row["created_by"],
        from_env=row["from_env"],
        disabled_reason=row["disabled_reason"],
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        quiet_all=row["quiet_all"],
        tz=row["tz"],
    )
