"""One replica leads: the PostgreSQL advisory lock, handed over on release or on a dead holder."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

from scanbot.alerts.leader import LEADER_LOCK, PostgresLeader, SoleInstance, asyncpg_dsn
from scanbot.store import database_url
from tests.databases import admin_dsn, postgres_url_or_skip


@pytest.fixture
def server() -> URL:
    return database_url({}, postgres_url_or_skip())


@pytest.fixture
def key() -> int:
    """A lock of this test's own, so replicas other tests run on the server never interfere."""
    while (key := 1 + secrets.randbelow(2**31 - 1)) == LEADER_LOCK:
        pass
    return key


@pytest.fixture
async def admin() -> AsyncIterator[asyncpg.Connection]:
    """A third connection, as an operator's psql would be."""
    conn = await asyncpg.connect(admin_dsn(postgres_url_or_skip()))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def replicas(server: URL, key: int) -> AsyncIterator[tuple[PostgresLeader, PostgresLeader]]:
    first, second = PostgresLeader(server, key=key), PostgresLeader(server, key=key)
    try:
        yield first, second
    finally:
        await first.release()
        await second.release()


async def holder(admin: asyncpg.Connection, key: int) -> int | None:
    """The backend pid holding the lock, if any."""
    pid: int | None = await admin.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = 0 AND objid = $1",
        key,
    )
    return pid


async def wait_for_exit(admin: asyncpg.Connection, key: int, pid: int) -> None:
    """pg_terminate_backend only signals: the lock goes when the backend has exited."""
    for _ in range(250):
        if await holder(admin, key) != pid:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"backend {pid} still holds the lock 5 s after pg_terminate_backend")


async def test_exactly_one_replica_leads(replicas: tuple[PostgresLeader, PostgresLeader]) -> None:
    first, second = replicas
    leading = list(await asyncio.gather(first.ensure(), second.ensure()))
    assert sorted(leading) == [False, True]
    for _ in range(3):  # confirming keeps the roles
        assert [await first.ensure(), await second.ensure()] == leading


async def test_release_hands_over_on_the_next_ensure(
    replicas: tuple[PostgresLeader, PostgresLeader], admin: asyncpg.Connection, key: int
) -> None:
    first, second = replicas
    assert await first.ensure() is True
    assert await second.ensure() is False
    await first.release()
    assert await holder(admin, key) is None
    assert await second.ensure() is True
    assert await first.ensure() is False


async def test_a_dead_holder_is_replaced_and_steps_down_quietly(
    replicas: tuple[PostgresLeader, PostgresLeader],
    admin: asyncpg.Connection,
    key: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = replicas
    assert await first.ensure() is True
    assert await second.ensure() is False
    dead = await holder(admin, key)
    assert dead is not None
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", dead) is True
    await wait_for_exit(admin, key, dead)

    caplog.set_level(logging.INFO, logger="scanbot.alerts.leader")
    assert await second.ensure() is True
    assert await first.ensure() is False  # its connection is gone: it steps down
    assert "no longer runs the poller" in caplog.text
    assert await first.ensure() is False  # reconnected, and the other one leads
    assert await holder(admin, key) not in (None, dead)

    await second.release()
    assert await first.ensure() is True


async def test_a_holder_killed_at_any_moment_never_crashes(
    server: URL, admin: asyncpg.Connection, key: int
) -> None:
    """The server's goodbye and the socket's close race the next ensure(): asyncpg then
    raises one of several errors (InternalClientError among them). None may escape."""
    leader = PostgresLeader(server, key=key)
    try:
        for attempt in range(40):
            assert await leader.ensure() is True
            pid = await holder(admin, key)
            await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            await asyncio.sleep(0.001 * (attempt % 10))
            assert await leader.ensure() in (True, False)
    finally:
        await leader.release()


async def test_an_unreachable_server_means_not_leading(server: URL, key: int) -> None:
    nowhere = PostgresLeader(server.set(host="127.0.0.1", port=1), key=key, timeout=2.0)
    assert await nowhere.ensure() is False
    await nowhere.release()


async def test_a_url_with_libpq_parameters_reaches_the_server(key: int) -> None:
    """sslmode (asyncpg's ssl in the store's URL) and options go back to libpq spelling."""
    raw = make_url(postgres_url_or_skip()).update_query_dict(
        {"sslmode": "disable", "options": "-csearch_path=public"}
    )
    url = database_url({}, raw.render_as_string(hide_password=False))
    assert "sslmode=disable" in asyncpg_dsn(url)
    leader = PostgresLeader(url, key=key)
    try:
        assert await leader.ensure() is True
    finally:
        await leader.release()


async def test_a_sole_instance_always_leads() -> None:
    sole = SoleInstance()
    assert await sole.ensure() is True
    await sole.release()
    assert await sole.ensure() is True


def test_installs_in_different_schemas_of_one_database_do_not_share_a_leader_lock() -> None:
    from sqlalchemy.engine import make_url

    from scanbot.alerts.leader import leader_key

    base = "postgresql+asyncpg://postgres@127.0.0.1/test"
    one = make_url(f"{base}?options=-csearch_path%3Done")
    two = make_url(f"{base}?options=-csearch_path%3Dtwo")
    assert leader_key(one) != leader_key(two)
    assert leader_key(one) == leader_key(make_url(f"{base}?options=-csearch_path%3Done"))
    assert 0 <= leader_key(make_url(base)) < 2**31
