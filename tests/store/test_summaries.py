"""Scheduled summaries and daily counts on SQLite and PostgreSQL: set replaces, each period
claimed once (doubled and concurrent), one count a day, and migration 0007 both ways."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from scanbot.domain.summaries import DailyCount
from scanbot.store import Store
from scanbot.store.state import CycleMark
from tests.store.conftest import Database
from tests.store.values import T0, snap


async def test_a_schedule_round_trips_and_is_replaced_per_period(store: Store) -> None:
    daily = await store.summaries.set(
        "C1", period="daily", at="09:00", tz="Europe/Berlin", types=["OPENVAS"],
        target_contains="shop", min_severity="HIGH", created_by="U1",
    )  # fmt: skip
    assert (daily.period, daily.at, daily.tz, daily.types) == (
        "daily", "09:00", "Europe/Berlin", ("OPENVAS",)
    )  # fmt: skip
    assert (daily.target_contains, daily.min_severity, daily.created_by) == ("shop", "HIGH", "U1")
    weekly = await store.summaries.set("C1", period="weekly", weekday=0, at="08:00", tz="UTC")
    assert await store.summaries.queue(daily, "2026-11-30", T0, T0)
    again = await store.summaries.set("C1", period="daily", at="10:00", tz="UTC")
    assert again.id == daily.id
    assert again.at == "10:00"
    assert again.types == ()
    assert again.last_period == "2026-11-30"  # replacing never sends a period again
    assert [s.id for s in await store.summaries.all("C1")] == [daily.id, weekly.id]
    assert await store.summaries.get(weekly.id) == weekly
    assert await store.summaries.all("C2") == []
    assert await store.summaries.remove("C1") == 2
    assert await store.summaries.all() == []
    assert await store.summaries.get(weekly.id) is None


async def test_a_period_is_claimed_once_and_never_an_earlier_one(store: Store) -> None:
    schedule = await store.summaries.set("C1", period="daily", at="09:00", tz="UTC")
    assert await store.summaries.queue(schedule, "2026-11-30", T0, T0)
    assert not await store.summaries.queue(schedule, "2026-11-30", T0, T0)  # replayed
    assert not await store.summaries.queue(schedule, "2026-11-29", T0, T0)  # a late older one
    assert await store.summaries.queue(schedule, "2026-12-01", T0, T0)


async def test_concurrent_claims_of_one_period_let_one_through(store: Store) -> None:
    schedule = await store.summaries.set("C1", period="daily", at="09:00", tz="UTC")
    results = await asyncio.gather(
        *(store.summaries.queue(schedule, "2026-11-30", T0, T0) for _ in range(8))
    )
    assert sorted(results) == [False] * 7 + [True]


async def test_a_queued_summary_is_leased_by_one_caller_then_sent(store: Store) -> None:
    schedule = await store.summaries.set("C1", period="daily", at="09:00", tz="UTC")
    assert await store.summaries.queue(schedule, "2026-11-30", T0, T0)
    lease = timedelta(minutes=5)
    early = await store.summaries.lease(T0 - timedelta(seconds=1), lease)
    assert early == []
    takers = await asyncio.gather(*(store.summaries.lease(T0, lease) for _ in range(6)))
    taken = [q for batch in takers for q in batch]
    assert len(taken) == 1
    (queued,) = taken
    assert (queued.channel_id, queued.period, queued.due_at, queued.attempts) == (
        "C1", "2026-11-30", T0, 1
    )  # fmt: skip
    assert queued.key == f"summary|C1|{schedule.id}|2026-11-30"
    assert await store.summaries.lease(T0 + timedelta(minutes=4), lease) == []
    # The lease ran out (the replica died mid-send): another caller takes it, once.
    again = await store.summaries.lease(T0 + lease, lease)
    assert [q.attempts for q in again] == [2]
    await store.summaries.sent(again[0], "1.000100", 321, T0 + lease)
    assert await store.summaries.lease(T0 + 3 * lease, lease) == []
    stored = await store.summaries.get(schedule.id)
    assert stored is not None
    assert (stored.last_open, stored.last_at) == (321, T0 + lease)
    assert (await store.outbox.counts()).get("sent") == 1


async def test_a_failed_summary_is_retried_later_or_parked(store: Store) -> None:
    schedule = await store.summaries.set("C1", period="daily", at="09:00", tz="UTC")
    await store.summaries.queue(schedule, "2026-11-30", T0, T0)
    (queued,) = await store.summaries.lease(T0, timedelta(minutes=5))
    await store.summaries.retry(queued, "ratelimited", T0 + timedelta(minutes=1))
    assert await store.summaries.lease(T0 + timedelta(seconds=59), timedelta(minutes=5)) == []
    (again,) = await store.summaries.lease(T0 + timedelta(minutes=1), timedelta(minutes=5))
    await store.summaries.park(again, "channel_not_found", T0)
    assert await store.summaries.lease(T0 + timedelta(days=1), timedelta(minutes=5)) == []
    assert (await store.outbox.counts()).get("parked") == 1
    assert await store.outbox.due(T0 + timedelta(days=1)) == []  # the alert sender never sees it


async def test_counted_keeps_what_the_last_summary_saw(store: Store) -> None:
    schedule = await store.summaries.set("C1", period="daily", at="09:00", tz="UTC")
    await store.summaries.counted(schedule.id, 1234, T0)
    stored = await store.summaries.get(schedule.id)
    assert stored is not None
    assert (stored.last_open, stored.last_at) == (1234, T0)


async def test_one_count_a_day(store: Store) -> None:
    day = date(2026, 11, 30)
    first = DailyCount(day=day, high=3, medium=2, low=1, other=0, accepted=4)
    assert await store.summaries.record_count(first, T0)
    assert not await store.summaries.record_count(first.model_copy(update={"high": 99}), T0)
    assert await store.summaries.has_count(day)
    assert not await store.summaries.has_count(day + timedelta(days=1))
    earlier = DailyCount(day=day - timedelta(days=1), high=1)
    assert await store.summaries.record_count(earlier, T0)
    assert await store.summaries.counts(day - timedelta(days=7)) == [earlier, first]
    assert await store.summaries.counts(day) == [first]


async def test_quiet_hours_round_trip_on_a_subscription(store: Store) -> None:
    added = await store.subscriptions.add(
        "C1", events=["risks"], quiet=("22:00", "07:00"), quiet_all=True, tz="Asia/Tokyo"
    )
    assert (added.quiet_start, added.quiet_end, added.quiet_all, added.tz) == (
        "22:00", "07:00", True, "Asia/Tokyo"
    )  # fmt: skip
    plain = await store.subscriptions.add("C1", events=["risks"])
    assert (plain.quiet_start, plain.quiet_all, plain.tz) == (None, False, None)
    assert await store.subscriptions.all("C1") == [added, plain]


def _alembic(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", "scanbot.store:migrations")
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_migration_0007_keeps_subscriptions_and_downgrades(database: Database) -> None:
    store = await database.open(migrate=False)
    try:
        async with store.db.engine.begin() as conn:
            await conn.run_sync(_alembic, "0005")
            await conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (channel_id, types, events, created_by, from_env,"
                    " created_at) VALUES ('C1', '[]', '[\"risks\"]', 'U1', false, :at)"
                ),
                {"at": T0},
            )
        await store.db.migrate()
        (old,) = await store.subscriptions.all()
        assert (old.events, old.quiet_start, old.quiet_all) == (("risks",), None, False)
        await store.subscriptions.remove("C1", old.id)
        assert (await store.subscriptions.add("C1", events=["risks"])).id > old.id
        async with store.db.engine.begin() as conn:
            await conn.run_sync(_alembic, "0005", down=True)
            tables = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("subscriptions")}
            )
        assert not tables & {"summary_schedules", "risk_counts"}
        assert not columns & {"quiet_start", "quiet_end", "quiet_all", "tz"}
        await store.db.migrate()
        assert len(await store.subscriptions.all()) == 1
    finally:
        await store.close()


async def test_finished_scans_count_when_first_seen_finished(store: Store) -> None:
    hour = timedelta(hours=1)
    # The baseline: a scan finished before scanbot came is never counted.
    await store.snapshots.record([snap("old", "SUCCEEDED", last_seen=T0)], [], mark=CycleMark())
    await store.snapshots.record(
        [
            snap("run", "RUNNING", last_seen=T0),
            snap("ok", "SUCCEEDED", last_seen=T0),
            snap("bad", "FAILED", last_seen=T0),
        ],
        [],
    )
    await store.snapshots.record(
        [
            snap("run", "OVER_LIMIT", last_seen=T0 + hour),
            snap("ok", "SUCCEEDED", last_seen=T0 + 5 * hour),
            snap("old", "SUCCEEDED", last_seen=T0 + hour),
        ],
        [],
    )
    assert await store.summaries.finished_scans(T0, T0 + hour) == {"SUCCEEDED": 1, "FAILED": 1}
    # Seen again later, "ok" still counts when it was first seen finished.
    assert await store.summaries.finished_scans(T0 + hour, T0 + 2 * hour) == {"OVER_LIMIT": 1}
    assert await store.summaries.finished_scans(T0 - hour, T0) == {}
