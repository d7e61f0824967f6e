"""The database on SQLite and PostgreSQL: migrations (fresh, again, replicas at once, the
URL alone) and the public transaction."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from scanbot.store import Store, database_url
from scanbot.store.database import executemany
from scanbot.store.schema import metadata, scan_snapshots, webhook_events
from tests.databases import fresh_database
from tests.store.conftest import Database
from tests.store.values import T0


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", "scanbot.store:migrations")
    return ScriptDirectory.from_config(config).get_current_head()


async def schema_state(store: Store) -> tuple[set[str], list[str]]:
    """The tables and the alembic version rows the store sees."""
    async with store.db.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
        versions = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        return tables, list(versions.scalars())


async def test_a_fresh_database_migrates_to_head(store: Store) -> None:
    tables, versions = await schema_state(store)
    assert set(metadata.tables) | {"alembic_version"} == tables
    assert versions == [head_revision()]
    assert head_revision() is not None


async def test_migrating_again_is_a_no_op(store: Store, database: Database) -> None:
    added = await store.subscriptions.add("C1", events=["finished"])
    await store.db.migrate()
    again = await database.open()
    try:
        assert await again.subscriptions.all() == [added]
        assert await schema_state(again) == await schema_state(store)
    finally:
        await again.close()


async def test_replicas_migrating_one_fresh_schema_at_once_both_succeed(tmp_path: Path) -> None:
    async with fresh_database("postgres", tmp_path) as (url, connect_args):
        opening = [Store.open(database_url({}, url), connect_args=connect_args) for _ in range(3)]
        stores = await asyncio.gather(*opening)
        try:
            for store in stores:
                _, versions = await schema_state(store)
                assert versions == [head_revision()]
            added = await stores[0].subscriptions.add("C1", events=["finished"])
            assert await stores[2].subscriptions.all() == [added]
        finally:
            for store in stores:
                await store.close()


async def test_the_url_alone_leads_to_the_test_schema(tmp_path: Path) -> None:
    """What another process gets from SCANBOT_DATABASE_URL: the same schema, no connect_args."""
    async with fresh_database("postgres", tmp_path) as (url, connect_args):
        by_url = await Store.open(database_url({}, url))
        by_args = await Store.open(database_url({}, url), connect_args=connect_args)
        try:
            added = await by_url.subscriptions.add("C1", events=["finished"])
            assert await by_args.subscriptions.all() == [added]
            async with by_url.db.engine.connect() as conn:
                schema = (await conn.execute(sa.text("SELECT current_schema()"))).scalar_one()
            assert schema == connect_args["server_settings"]["search_path"]
        finally:
            await by_url.close()
            await by_args.close()


# -- the public transaction -----------------------------------------------------------------


async def test_a_transaction_commits_on_leaving(store: Store) -> None:
    async with store.db.transaction() as conn:
        await conn.execute(webhook_events.insert().values(event_id="evt-1", received_at=T0))
    async with store.db.read() as conn:
        ids = (await conn.execute(sa.select(webhook_events.c.event_id))).scalars().all()
    assert ids == ["evt-1"]


async def test_a_transaction_rolls_back_on_an_exception_and_frees_the_writer(
    store: Store,
) -> None:

    async def fails_halfway() -> None:
        async with store.db.transaction() as conn:
            await conn.execute(webhook_events.insert().values(event_id="evt-1", received_at=T0))
            raise RuntimeError("halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        await fails_halfway()
    assert await store.webhooks.first_delivery("evt-1") is True  # nothing was kept
    async with asyncio.timeout(10):  # and the next writer is not left waiting
        assert await store.webhooks.first_delivery("evt-2") is True


async def test_concurrent_transactions_all_commit(store: Store) -> None:
    """SQLite has one writer: writers queue in-process instead of failing "database is
    locked"; PostgreSQL runs them side by side."""

    async def write(n: int) -> None:
        async with store.db.transaction() as conn:
            await conn.execute(webhook_events.insert().values(event_id=f"e{n}", received_at=T0))
            await asyncio.sleep(0)  # let the others try to write meanwhile

    await asyncio.gather(*(write(n) for n in range(20)))
    async with store.db.read() as conn:
        count = (
            await conn.execute(sa.select(sa.func.count()).select_from(webhook_events))
        ).scalar()
    assert count == 20


async def test_an_upsert_in_the_dialect_of_the_database(store: Store) -> None:
    async with store.db.transaction() as conn:
        for _ in range(2):
            insert = store.db.insert(webhook_events).values(event_id="evt", received_at=T0)
            await conn.execute(insert.on_conflict_do_nothing(index_elements=["event_id"]))
    assert await store.webhooks.first_delivery("evt") is False


async def test_executemany_writes_what_sqlalchemy_writes(store: Store) -> None:
    """The same upsert through `executemany` and through `conn.execute`, on both databases:
    the rows read back equal, times at any offset stored as UTC, JSON lists, booleans, nulls,
    and the statement's own values (the ON CONFLICT branch's literals) included."""
    offset = datetime.timezone(datetime.timedelta(hours=-5))
    seen = datetime.datetime(2026, 11, 30, 7, 0, tzinfo=offset)

    def rows(prefix: str) -> list[dict[str, Any]]:
        return [
            {
                "scan_id": f"{prefix}{n}",
                "state": ("RUNNING", "SUCCEEDED", "PAUSED")[n % 3],
                "summary": f'{{"n": {n}, "note": "50% <!channel>"}}',
                "alerted_risks": [f"r{n}", "r0"] if n % 2 else [],
                "announced": bool(n % 2),
                "last_seen": seen + datetime.timedelta(seconds=n),
                "missing_since": seen if n == 4 else None,
                "final_at": None,
            }
            for n in range(6)
        ]

    def statement() -> Any:
        insert = store.db.insert(scan_snapshots)
        final = sa.or_(scan_snapshots.c.state == "SUCCEEDED", scan_snapshots.c.state == "FAILED")
        changes = {
            "state": insert.excluded.state,
            "final_at": sa.func.coalesce(
                scan_snapshots.c.final_at, sa.case((final, insert.excluded.last_seen))
            ),
        }
        return insert.on_conflict_do_update(index_elements=["scan_id"], set_=changes)

    async def written(prefix: str) -> list[tuple[Any, ...]]:
        query = (
            sa.select(scan_snapshots)
            .where(scan_snapshots.c.scan_id.like(f"{prefix}%"))
            .order_by(scan_snapshots.c.scan_id)
        )
        async with store.db.read() as conn:
            return [tuple(row)[1:] for row in (await conn.execute(query)).all()]

    for _ in range(2):  # inserted, then every row again: the ON CONFLICT branch
        async with store.db.transaction() as conn:
            await executemany(conn, statement(), rows("x"))
        async with store.db.transaction() as conn:
            await conn.execute(statement(), rows("y"))
    ours, theirs = await written("x"), await written("y")
    assert ours == theirs
    assert len(ours) == 6
    assert ours[1][4] == seen.astimezone(datetime.UTC) + datetime.timedelta(seconds=1)
    assert ours[1][2] == ["r1", "r0"]
    assert ours[1][6] is not None  # SUCCEEDED: final_at set by the statement's own branch
