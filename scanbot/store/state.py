"""The bot's own state, one row per key in `bot_state`: every key is named here, and read
and written through typed methods (no caller spells a key)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from scanbot.store.database import Database
from scanbot.store.schema import bot_state


class StateKey(StrEnum):
    CYCLES = "cycles"  # poll cycles counted (steady and full sweeps; not webhook refreshes)
    BASELINE_DONE = "baseline_done"  # the first poll took in what existed: alerts may go out
    LAST_CYCLE_AT = "last_cycle_at"  # ISO time of the last counted cycle's end
    POLL_FAILURES = "poll_failures"  # failed poll cycles in a row
    POLL_DOWN_SINCE = "poll_down_since"  # ISO time polling was declared down (admin told)
    SENDING_PAUSED = "sending_paused"  # why Slack refused the app; None: sending
    # Why scanbot could not look for a post whose answer was lost (a history scope, not in
    # the channel), so it posted again; None: looking works (or was never needed).
    RESEND_CHECK = "resend_check_unavailable"


@dataclass(frozen=True)
class StateValues:
    """Every key's value at one moment; a key never written reads as its default."""

    cycles: int = 0
    baseline_done: bool = False
    last_cycle_at: str | None = None
    poll_failures: int = 0
    poll_down_since: str | None = None
    sending_paused: str | None = None
    resend_check_unavailable: str | None = None

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> StateValues:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in known and v is not None})


@dataclass(frozen=True)
class CycleMark:
    """What an observation writes with its snapshots: the baseline is done, and for a
    counted cycle its number and when it ended (None: a webhook's look, not counted)."""

    cycle: int | None = None
    at: str | None = None

    def changes(self) -> dict[StateKey, Any]:
        changes: dict[StateKey, Any] = {StateKey.BASELINE_DONE: True}
        if self.cycle is not None:
            changes[StateKey.CYCLES] = self.cycle
        if self.at is not None:
            changes[StateKey.LAST_CYCLE_AT] = self.at
        return changes


class BotState:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read(self) -> StateValues:
        """Every key in one query."""
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(bot_state.c.key, bot_state.c.value))).all()
        return StateValues.of({key: value for key, value in rows})

    async def set_sending_paused(self, reason: str | None) -> None:
        await self._set({StateKey.SENDING_PAUSED: reason})

    async def set_resend_check(self, unavailable: str | None) -> None:
        await self._set({StateKey.RESEND_CHECK: unavailable})

    async def set_poll_failures(self, count: int) -> None:
        await self._set({StateKey.POLL_FAILURES: count})

    async def set_poll_down_since(self, since: str | None) -> None:
        await self._set({StateKey.POLL_DOWN_SINCE: since})

    async def write_in(self, conn: AsyncConnection, changes: Mapping[StateKey, Any]) -> None:
        """Write `changes` in the caller's transaction (an observation's, see snapshots)."""
        for key, value in changes.items():
            statement = self._db.insert(bot_state).values(key=key.value, value=value)
            await conn.execute(
                statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
            )

    async def _set(self, changes: Mapping[StateKey, Any]) -> None:
        async with self._db.transaction() as conn:
            await self.write_in(conn, changes)
