"""Exactly one replica polls and sends: the one holding a PostgreSQL advisory lock.

The lock lives on a dedicated asyncpg connection outside SQLAlchemy's pool (a pooled
connection could be handed back and the lock with it). Server-side TCP keepalives make
PostgreSQL notice a holder that was cut off and free its lock; the holder re-checks the
lock every cycle and steps down the moment its connection fails. It does not work through
PgBouncer in transaction-pooling mode: point scanbot at PostgreSQL directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from typing import Protocol

import asyncpg
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

# Everything a dead or cut-off lock connection raises. InternalClientError too: when the
# server terminates the backend, asyncpg may fail the next query with "another operation
# is in progress" instead of a connection error.
CONNECTION_LOST = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)

LEADER_LOCK = 0x5CA9B01  # < 2**31, so pg_locks shows it as classid 0, objid LEADER_LOCK
KEEPALIVES = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
    "application_name": "scanbot-leader",
}


class Leadership(Protocol):
    async def ensure(self) -> bool:
        """Acquire or confirm leadership; False while another replica leads."""
        ...

    async def release(self) -> None: ...


class SoleInstance:
    """SQLite: one process owns the file, so it always leads."""

    async def ensure(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def asyncpg_dsn(url: URL) -> str:
    """A libpq-style DSN for asyncpg from the SQLAlchemy URL (ssl= back to sslmode=)."""
    query = dict(url.query)
    if "ssl" in query:
        query["sslmode"] = query.pop("ssl")
    plain = url.set(drivername="postgresql", query=query)
    return plain.render_as_string(hide_password=False)


def leader_key(url: URL) -> int:
    """The lock key for this install: advisory locks are per database, so two installs in
    different schemas (search_path) of one database must not share a key."""
    place = f"{url.database}|{url.query.get('options', '')}".encode()
    return (LEADER_LOCK ^ zlib.crc32(place)) & 0x7FFFFFFF


class PostgresLeader:
    def __init__(self, url: URL, *, key: int | None = None, timeout: float = 5.0) -> None:
        self._dsn = asyncpg_dsn(url)
        self._key = leader_key(url) if key is None else key
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._held = False

    async def ensure(self) -> bool:
        was_held = self._held
        try:
            async with asyncio.timeout(self._timeout):
                if self._conn is None or self._conn.is_closed():
                    self._held = False
                    self._conn = await asyncpg.connect(self._dsn, server_settings=KEEPALIVES)
                if self._held:
                    self._held = await self._still_held(self._conn)
                if not self._held:
                    self._held = bool(
                        await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
                    )
        except CONNECTION_LOST as exc:
            log.warning("leader lock connection failed (%s): not leading", exc.__class__.__name__)
            await self._drop()
        if self._held != was_held:
            log.info("this replica %s the poller", "now runs" if self._held else "no longer runs")
        return self._held

    async def _still_held(self, conn: asyncpg.Connection) -> bool:
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND classid = 0 AND objid = $1",
            self._key,
        )
        return bool(count)

    async def release(self) -> None:
        if self._conn is not None and not self._conn.is_closed() and self._held:
            # If this fails, closing the connection frees the lock anyway.
            with contextlib.suppress(*CONNECTION_LOST):
                await self._conn.execute("SELECT pg_advisory_unlock($1)", self._key)
        await self._drop()

    async def _drop(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
