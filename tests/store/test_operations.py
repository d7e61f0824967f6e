"""The operations audit: a once-only key under replays and concurrency, the run limit under
concurrency, closing with HostedScan's answer, paging, the finish notice, migration 0006."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from scanbot.domain.operations import Begun, OperationKind, OperationStatus, OverRunLimit
from scanbot.store import Store
from tests.store.conftest import Database

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
RUN = OperationKind.RUN


async def begin(
    store: Store,
    key: str | None = "k1",
    *,
    user: str = "U1",
    at: datetime = T0,
    limit: int | None = None,
    kind: OperationKind = RUN,
) -> Begun | OverRunLimit:
    return await store.operations.begin(
        key=key,
        user_id=user,
        kind=kind,
        channel_id="C1",
        request={"type": "NMAP", "targets": ["example.com"]},
        at=at,
        run_limit=limit,
    )


async def test_an_operation_is_recorded_then_closed(store: Store) -> None:
    begun = await begin(store)
    assert isinstance(begun, Begun)
    assert begun.created
    assert begun.operation.status is OperationStatus.PENDING
    assert begun.operation.request == {"type": "NMAP", "targets": ["example.com"]}
    later = T0 + timedelta(seconds=2)
    await store.operations.finish(
        begun.operation.id, OperationStatus.DONE, at=later, answer="QUEUED", hostedscan_id="s1"
    )
    done = await store.operations.get(begun.operation.id)
    assert done is not None
    assert (done.status, done.hostedscan_id, done.answer, done.done_at) == (
        OperationStatus.DONE,
        "s1",
        "QUEUED",
        later,
    )


async def test_a_replayed_key_finds_the_first_operation(store: Store) -> None:
    first = await begin(store)
    again = await begin(store, user="U2")
    assert isinstance(first, Begun)
    assert isinstance(again, Begun)
    assert not again.created
    assert again.operation.id == first.operation.id
    assert again.operation.user_id == "U1"


async def test_concurrent_begins_with_one_key_create_one(store: Store) -> None:
    results = await asyncio.gather(*(begin(store, user=f"U{n}") for n in range(8)))
    created = [r for r in results if isinstance(r, Begun) and r.created]
    assert len(created) == 1
    assert {r.operation.id for r in results if isinstance(r, Begun)} == {created[0].operation.id}
    _rows, total = await store.operations.page()
    assert total == 1


async def test_operations_without_a_key_are_each_recorded(store: Store) -> None:
    for _ in range(3):
        begun = await begin(store, None, kind=OperationKind.REPORT)
        assert isinstance(begun, Begun)
        assert begun.created
    assert (await store.operations.page())[1] == 3


async def test_the_run_limit_counts_the_last_hour_and_says_when_it_resets(store: Store) -> None:
    for n in range(3):
        assert isinstance(await begin(store, f"k{n}", at=T0 + timedelta(minutes=n), limit=3), Begun)
    over = await begin(store, "k3", at=T0 + timedelta(minutes=10), limit=3)
    assert over == OverRunLimit(limit=3, resets_at=T0 + timedelta(hours=1))
    # another person, and other kinds of operation, are not limited by U1's scans
    assert isinstance(await begin(store, "k4", user="U2", limit=3), Begun)
    assert isinstance(await begin(store, None, kind=OperationKind.REPORT, limit=3), Begun)
    # an hour after the first, one more fits
    assert isinstance(
        await begin(store, "k5", at=T0 + timedelta(hours=1, seconds=1), limit=3), Begun
    )
    # a replay of a recorded key is its operation, even when over the limit
    replay = await begin(store, "k1", at=T0 + timedelta(minutes=11), limit=3)
    assert isinstance(replay, Begun)
    assert not replay.created


async def test_the_run_limit_holds_under_concurrency(store: Store) -> None:
    results = await asyncio.gather(*(begin(store, f"k{n}", limit=3) for n in range(8)))
    assert sum(isinstance(r, Begun) and r.created for r in results) == 3
    assert sum(isinstance(r, OverRunLimit) for r in results) == 5


async def test_the_audit_pages_newest_first(store: Store) -> None:
    for n in range(5):
        await begin(store, f"k{n}", at=T0 + timedelta(minutes=n))
    rows, total = await store.operations.page(offset=1, limit=2)
    assert total == 5
    assert [r.key for r in rows] == ["k3", "k2"]


async def test_the_finish_notice_is_marked_once(store: Store) -> None:
    begun = await begin(store)
    assert isinstance(begun, Begun)
    assert await store.operations.awaiting_finish() == []  # not started yet
    await store.operations.finish(
        begun.operation.id, OperationStatus.DONE, at=T0, hostedscan_id="s1"
    )
    waiting = await store.operations.awaiting_finish()
    assert [o.hostedscan_id for o in waiting] == ["s1"]
    assert await store.operations.awaiting_finish(since=T0) == []  # started before: not watched
    assert (await store.operations.started_by_scan(["s1", "s2"])).keys() == {"s1"}
    marks = await asyncio.gather(
        *(store.operations.mark_notified(begun.operation.id, T0) for _ in range(4))
    )
    assert sorted(marks) == [False, False, False, True]
    assert await store.operations.awaiting_finish() == []


def _alembic(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", "scanbot.store:migrations")
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_migration_0006_up_and_down(database: Database) -> None:
    store = await database.open(migrate=False)
    try:
        async with store.db.engine.begin() as conn:
            await conn.run_sync(_alembic, "0005")
        await store.db.migrate()
        assert isinstance(await begin(store), Begun)
        async with store.db.engine.begin() as conn:
            await conn.run_sync(_alembic, "0005", down=True)
            tables = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
        assert "operations" not in tables
        await store.db.migrate()
        assert (await store.operations.page())[1] == 0
    finally:
        await store.close()


async def test_a_rerun_is_linked_once(store: Store) -> None:
    begun = await begin(store, "rescan:s0", kind=OperationKind.RESCAN)
    assert isinstance(begun, Begun)
    await store.operations.finish(
        begun.operation.id, OperationStatus.DONE, at=T0, hostedscan_id="s1"
    )
    assert [o.id for o in await store.operations.awaiting_link()] == [begun.operation.id]
    assert await store.operations.awaiting_link(since=T0 + timedelta(days=1)) == []
    marks = await asyncio.gather(
        *(store.operations.mark_linked(begun.operation.id, T0) for _ in range(3))
    )
    assert sorted(marks) == [False, False, True]
    assert await store.operations.awaiting_link() == []
