"""The database every aggregate shares: the engine, migrations, and one public way to write
(`transaction()`), with the dialect's upsert (`insert()`) and PostgreSQL's advisory locks.

SQLAlchemy Core on an async engine: SQLite (aiosqlite) for a single install, PostgreSQL
(asyncpg) for several replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from scanbot.store.files import make_private

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key that serialises migrations of replicas starting together.
MIGRATION_LOCK = 0x5CA9B07
# pg_advisory_xact_lock key that serialises observations (poll cycles, webhook refreshes)
# with the start of a thread, so a thread never misses the state an observation wrote.
OBSERVE_LOCK = 0x5CA9B08
# SQLite allows 32,766 bound variables; stay well under for IN (...) lists.
CHUNK = 900


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    """`items` in slices small enough for one IN (...) list on either database."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def executemany(
    conn: AsyncConnection, statement: sa.Insert, rows: Sequence[Mapping[str, Any]]
) -> None:
    """`await conn.execute(statement, rows)` for many rows of the same keys, with less CPU
    per row: the statement is compiled once, each parameter's bind processor is taken once
    from its type for this dialect, and the rows reach the driver's executemany as tuples.
    SQLAlchemy builds, checks and processes a parameter dict per row: writing a 10,000-scan
    baseline's snapshots took 0.60 s of CPU that way, about 0.45 s this way (SQLite's own
    work included). Dialects with named parameters (neither SQLite's nor asyncpg's) take
    the usual way."""
    if not rows:
        return
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
    order = compiled.positiontup
    if order is None:
        await conn.execute(statement, list(rows))
        return
    given = dict(rows[0])
    fixed = compiled.construct_params(given)  # the statement's own values, by bind name
    steps: list[tuple[str, bool, Callable[[Any], Any] | None, Any]] = []
    for name in order:
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        steps.append((name, name in given, processor, fixed[name]))
    last: dict[str, tuple[Any, Any]] = {}  # per column: the last value and what it became
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = []
        for name, per_row, process, own in steps:
            raw = row[name] if per_row else own
            if process is None or raw is None:
                values.append(raw)
                continue
            seen = last.get(name)
            if seen is None or seen[0] is not raw:  # rows often share one value (a time)
                seen = last[name] = (raw, process(raw))
            values.append(seen[1])
        params.append(tuple(values))
    await conn.exec_driver_sql(compiled.string, params)


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time; queue writers here instead of in "database is locked".
        self._sqlite_write = asyncio.Lock()

    @classmethod
    async def open(
        cls, url: URL | str, *, migrate: bool = True, connect_args: dict[str, Any] | None = None
    ) -> Database:
        make_private(url)  # before SQLite creates the file with its default mode
        engine = create_async_engine(url, pool_pre_ping=True, connect_args=connect_args or {})
        if engine.dialect.name == "postgresql":
            sa.event.listen(engine.sync_engine, "do_connect", _libpq_options)
        database = cls(engine)
        if migrate:
            await database.migrate()
        return database

    async def close(self) -> None:
        await self.engine.dispose()

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    async def migrate(self) -> None:
        """Bring the schema to the newest revision. Safe when replicas start at once."""
        async with self.engine.begin() as conn:
            await self.lock(conn, MIGRATION_LOCK)
            await conn.run_sync(_upgrade)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """`async with db.transaction() as conn`: one transaction, committed on leaving,
        rolled back on an exception. SQLite's writers queue in-process first."""
        queue = contextlib.nullcontext() if self.is_postgres else self._sqlite_write
        async with queue, self.engine.begin() as conn:
            yield conn

    def read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """`async with db.read() as conn`: a connection for queries that write nothing."""
        return self.engine.connect()

    def insert(self, table: sa.Table) -> Any:
        """An INSERT with the dialect's ON CONFLICT (`on_conflict_do_nothing`/`_do_update`)."""
        return (postgresql.insert if self.is_postgres else sqlite.insert)(table)

    async def lock(self, conn: AsyncConnection, key: int, *more: Any) -> None:
        """PostgreSQL: a transaction-scoped advisory lock on `key` (and `more`, e.g. a
        `hashtext`), released at commit. SQLite: nothing; its one writer is the lock."""
        if self.is_postgres:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key, *more)))


def _libpq_options(
    dialect: Any, record: Any, cargs: Sequence[Any], cparams: dict[str, Any]
) -> None:
    """A URL's libpq `options` (`?options=-csearch_path%3Dtenant`), which asyncpg has no
    argument for: PostgreSQL takes it as a startup setting, so send it as one."""
    options = cparams.pop("options", None)
    if options is not None:
        cparams["server_settings"] = {"options": options, **(cparams.get("server_settings") or {})}


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", "scanbot.store:migrations")
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    log.info("database schema is at the newest revision")
