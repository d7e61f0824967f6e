"""The store on SQLite and PostgreSQL: migrations, snapshots, outbox, threads, subscriptions,
webhook ids, bot state and pruning, through the public interface of `Store`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from scanbot.domain.events import Alert, EventKind, ScanEvent, Snapshot
from scanbot.domain.outbox import OutboxRow
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import MAX_SUBSCRIPTIONS_PER_CHANNEL
from scanbot.store import Store, TooManySubscriptions, database_url
from scanbot.store.schema import metadata, outbox, webhook_events
from scanbot.store.store import utcnow
from tests.databases import fresh_database
from tests.store.conftest import Database

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PLUS_FIVE = timezone(timedelta(hours=5))  # not the machine's zone, whatever that is
LONG_AGO = timedelta(days=90)


def summary(scan_id: str, state: str = "RUNNING", **fields: Any) -> ScanSummary:
    return ScanSummary(scan_id=scan_id, type="NMAP", state=state, **fields)


def snap(
    scan_id: str, state: str = "RUNNING", *, last_seen: datetime = T0, **fields: Any
) -> Snapshot:
    return Snapshot(summary=summary(scan_id, state), last_seen=last_seen, **fields)


def alert(scan_id: str, channel_id: str = "C1", state: str = "SUCCEEDED") -> Alert:
    event = ScanEvent(kind=EventKind.FINISHED, summary=summary(scan_id, state))
    return Alert(channel_id=channel_id, event=event, created_at=T0)


async def queue(store: Store, *alerts: Alert) -> list[OutboxRow]:
    """Queue alerts; their outbox rows, in order."""
    assert await store.record([], alerts) == len(alerts)
    rows = {row.alert.key: row for row in await store.due_alerts()}
    return [rows[a.key] for a in alerts]


async def outbox_column(store: Store, row_id: int, column: str) -> Any:
    async with store.engine.connect() as conn:
        query = sa.select(outbox.c[column]).where(outbox.c.id == row_id)
        return (await conn.execute(query)).scalar_one()


async def backdate(store: Store, table: sa.Table, where: Any, **values: datetime) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(table.update().where(where).values(**values))


# -- migrations ---------------------------------------------------------------------------


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", "scanbot.store:migrations")
    return ScriptDirectory.from_config(config).get_current_head()


async def schema_state(store: Store) -> tuple[set[str], list[str]]:
    """The tables and the alembic version rows the store sees."""
    async with store.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
        versions = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        return tables, list(versions.scalars())


async def test_a_fresh_database_migrates_to_head(store: Store) -> None:
    tables, versions = await schema_state(store)
    assert set(metadata.tables) | {"alembic_version"} == tables
    assert versions == [head_revision()]
    assert head_revision() is not None


async def test_migrating_again_is_a_no_op(store: Store, database: Database) -> None:
    added = await store.add_subscription("C1", events=["finished"])
    await store.migrate()
    again = await database.open()
    try:
        assert await again.subscriptions() == [added]
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
            added = await stores[0].add_subscription("C1", events=["finished"])
            assert await stores[2].subscriptions() == [added]
        finally:
            for store in stores:
                await store.close()


async def test_the_url_alone_leads_to_the_test_schema(tmp_path: Path) -> None:
    """What another process gets from SCANBOT_DATABASE_URL: the same schema, no connect_args."""
    async with fresh_database("postgres", tmp_path) as (url, connect_args):
        by_url = await Store.open(database_url({}, url))
        by_args = await Store.open(database_url({}, url), connect_args=connect_args)
        try:
            added = await by_url.add_subscription("C1", events=["finished"])
            assert await by_args.subscriptions() == [added]
            async with by_url.engine.connect() as conn:
                schema = (await conn.execute(sa.text("SELECT current_schema()"))).scalar_one()
            assert schema == connect_args["server_settings"]["search_path"]
        finally:
            await by_url.close()
            await by_args.close()


# -- snapshots ----------------------------------------------------------------------------


async def test_snapshots_round_trip(store: Store) -> None:
    written = [
        Snapshot(
            summary=summary(
                "scan-a",
                "PAUSED_BY_SUPPORT",  # a state HostedScan may add some day
                progress=None,
                targets=("a.example", "b.example"),
                target_count=7,
                new_open=3,
                still_open=2,
                closed=1,
            ),
            alerted_risks=frozenset({"risk-2", "risk-1"}),
            announced=True,
            last_seen=datetime(2026, 11, 1, 17, 0, tzinfo=PLUS_FIVE),
            missing_since=datetime(2026, 11, 1, 16, 30, tzinfo=PLUS_FIVE),
        ),
        snap("scan-b", "SUCCEEDED", progress=100.0),
    ]
    await store.record(written, [])
    read = await store.snapshots(["scan-a", "scan-b", "never-seen"])
    assert read == {s.scan_id: s for s in written}
    a = read["scan-a"]
    assert a.alerted_risks == frozenset({"risk-1", "risk-2"})
    assert a.summary.progress is None
    assert a.last_seen == T0  # 17:00 at +05:00 is 12:00 UTC
    assert a.last_seen.tzinfo is not None
    assert a.missing_since is not None
    assert a.missing_since.tzinfo is not None
    assert a.missing_since == T0 - timedelta(minutes=30)
    assert await store.snapshot_count() == 2


async def test_recording_a_snapshot_again_replaces_it(store: Store) -> None:
    await store.record([snap("scan-a", "QUEUED")], [])
    newer = snap("scan-a", "RUNNING", last_seen=T0 + timedelta(minutes=5), announced=True)
    await store.record([newer], [])
    assert await store.snapshots(["scan-a"]) == {"scan-a": newer}
    assert await store.snapshot_count() == 1


async def test_active_scan_ids_are_the_scans_not_in_a_final_state(store: Store) -> None:
    states = ["QUEUED", "RUNNING", "SOMETHING_NEW", "SUCCEEDED", "FAILED", "OVER_LIMIT"]
    await store.record([snap(f"scan-{state}", state) for state in states], [])
    active = await store.active_scan_ids()
    assert sorted(active) == ["scan-QUEUED", "scan-RUNNING", "scan-SOMETHING_NEW"]


async def test_dropped_ids_are_deleted(store: Store) -> None:
    await store.record([snap("scan-a"), snap("scan-b"), snap("scan-c")], [])
    await store.record([], [], dropped=["scan-a", "scan-c", "never-seen"])
    assert list(await store.snapshots(["scan-a", "scan-b", "scan-c"])) == ["scan-b"]


async def test_thousands_of_ids_in_one_record(store: Store) -> None:
    """More ids than one IN (...) list may hold: reads, parent refreshes and drops chunk."""
    ids = [f"scan-{n:05d}" for n in range(2_500)]
    await store.record([snap(scan_id, "QUEUED") for scan_id in ids], [])
    assert await store.snapshot_count() == 2_500
    for scan_id in (ids[0], ids[-1]):
        row = (await queue(store, alert(scan_id)))[0]
        await store.start_thread(row.id, row.alert, f"ts-{scan_id}", "card")

    await store.record([snap(scan_id, "RUNNING") for scan_id in ids], [])
    read = await store.snapshots(ids)
    assert len(read) == 2_500
    assert {s.summary.state for s in read.values()} == {"RUNNING"}
    assert {t.summary.state for t in await store.threads()} == {"RUNNING"}
    assert len(await store.active_scan_ids()) == 2_500

    await store.record([], [], dropped=ids)
    assert await store.snapshot_count() == 0


async def test_apply_computes_from_the_snapshots_it_read(store: Store) -> None:
    await store.record([snap("scan-a", "QUEUED"), snap("scan-b")], [])
    seen: list[Mapping[str, Snapshot]] = []

    def compute(
        current: Mapping[str, Snapshot],
    ) -> tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]:
        seen.append(dict(current))
        return [snap("scan-a", "SUCCEEDED"), snap("scan-new")], [alert("scan-a")], ["scan-b"]

    queued = await store.apply(["scan-a", "scan-new"], compute, state={"last_poll": "12:00"})
    assert queued == 1
    assert seen == [{"scan-a": snap("scan-a", "QUEUED")}]
    after = await store.snapshots(["scan-a", "scan-b", "scan-new"])
    assert after == {"scan-a": snap("scan-a", "SUCCEEDED"), "scan-new": snap("scan-new")}
    assert [row.alert for row in await store.due_alerts()] == [alert("scan-a")]
    assert await store.get_state("last_poll") == "12:00"


async def test_concurrent_applies_each_see_the_others_writes(store: Store) -> None:
    """A webhook and a poll observing one scan at once: no write is lost."""
    await store.record([snap("scan-a")], [])

    def add_risk(risk_id: str) -> Any:
        def compute(
            current: Mapping[str, Snapshot],
        ) -> tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]:
            before = current["scan-a"]
            risks = before.alerted_risks | {risk_id}
            return [before.model_copy(update={"alerted_risks": risks})], [], []

        return compute

    risk_ids = [f"risk-{n}" for n in range(8)]
    await asyncio.gather(*(store.apply(["scan-a"], add_risk(r)) for r in risk_ids))
    assert (await store.snapshots(["scan-a"]))["scan-a"].alerted_risks == frozenset(risk_ids)


async def test_apply_writes_nothing_when_compute_fails(store: Store) -> None:
    await store.record([snap("scan-a")], [])

    def compute(
        current: Mapping[str, Snapshot],
    ) -> tuple[Sequence[Snapshot], Sequence[Alert], Sequence[str]]:
        raise RuntimeError("a bug in the diff")

    with pytest.raises(RuntimeError, match="a bug in the diff"):
        await store.apply(["scan-a"], compute)
    assert await store.snapshots(["scan-a"]) == {"scan-a": snap("scan-a")}
    # and the store still writes afterwards (no lock left held)
    assert await store.record([snap("scan-b")], [alert("scan-b")]) == 1


# -- outbox -------------------------------------------------------------------------------


async def test_an_alert_is_never_queued_twice(store: Store) -> None:
    assert await store.record([], [alert("scan-a")]) == 1
    assert await store.record([], [alert("scan-a")]) == 0
    assert await store.record([], [alert("scan-a"), alert("scan-a", "C2")]) == 1
    assert await store.outbox_counts() == {"pending": 2}


async def test_due_alerts_come_oldest_first_and_wait_for_their_time(store: Store) -> None:
    first, second, third = await queue(store, alert("scan-1"), alert("scan-2"), alert("scan-3"))
    assert first.id < second.id < third.id
    assert (first.status, first.attempts, first.last_error) == ("pending", 0, None)
    assert first.alert == alert("scan-1")

    later = utcnow() + timedelta(hours=1)
    await store.mark_retry(second.id, "rate limited", later)
    assert [r.id for r in await store.due_alerts()] == [first.id, third.id]
    assert [r.id for r in await store.due_alerts(later - timedelta(seconds=1))] == [
        first.id,
        third.id,
    ]
    due_later = await store.due_alerts(later)
    assert [r.id for r in due_later] == [first.id, second.id, third.id]
    assert due_later[1].last_error == "rate limited"
    assert [r.id for r in await store.due_alerts(later, limit=2)] == [first.id, second.id]


async def test_a_row_left_sending_by_a_crash_is_due_again(store: Store) -> None:
    (row,) = await queue(store, alert("scan-a"))
    await store.mark_retry(row.id, "timeout", utcnow() + timedelta(hours=1))
    await store.mark_sending(row.id)
    (again,) = await store.due_alerts()  # the process died here: the row stays due
    assert (again.id, again.status, again.attempts) == (row.id, "sending", 1)
    await store.mark_retry(row.id, "timeout", utcnow())
    await store.mark_sending(row.id)
    assert [(r.status, r.attempts) for r in await store.due_alerts()] == [("sending", 2)]


async def test_sent_parked_and_digested_rows_are_done(store: Store) -> None:
    rows = await queue(store, *(alert(f"scan-{n}") for n in range(5)))
    await store.mark_sending(rows[0].id)
    await store.mark_retry(rows[0].id, "timeout", utcnow())
    await store.mark_sent(rows[0].id, "1700000000.000100")
    await store.park(rows[1].id, "channel_not_found")
    await store.park(rows[2].id, "is_archived")
    await store.mark_digested([rows[3].id, rows[4].id], "1700000000.000200")

    assert await store.due_alerts() == []
    assert await store.outbox_counts() == {"sent": 1, "parked": 2, "digested": 2}
    assert await outbox_column(store, rows[0].id, "ts") == "1700000000.000100"
    assert await outbox_column(store, rows[0].id, "last_error") is None
    assert await outbox_column(store, rows[4].id, "ts") == "1700000000.000200"
    for row in rows:
        done_at = await outbox_column(store, row.id, "done_at")
        assert abs(done_at - utcnow()) < timedelta(minutes=1)

    parked = await store.parked()
    assert [(p.id, p.status, p.last_error) for p in parked] == [
        (rows[2].id, "parked", "is_archived"),
        (rows[1].id, "parked", "channel_not_found"),
    ]
    assert parked[0].alert == alert("scan-2")
    assert [p.id for p in await store.parked(limit=1)] == [rows[2].id]


async def test_outbox_counts_of_an_empty_outbox(store: Store) -> None:
    assert await store.outbox_counts() == {}
    assert await store.parked() == []


# -- threads ------------------------------------------------------------------------------


async def test_starting_a_thread_stores_the_parent_and_sends_the_row(store: Store) -> None:
    first, second = await queue(store, alert("scan-a"), alert("scan-a", state="FAILED"))
    await store.mark_sending(first.id)
    await store.start_thread(first.id, first.alert, "1700000000.000100", "card-1")

    thread = await store.thread("scan-a", "C1")
    assert thread is not None
    assert (thread.parent_ts, thread.shown, thread.edited_at) == (
        "1700000000.000100",
        "card-1",
        None,
    )
    assert thread.summary == first.alert.event.summary
    assert [r.id for r in await store.due_alerts()] == [second.id]
    assert await outbox_column(store, first.id, "status") == "sent"
    assert await outbox_column(store, first.id, "ts") == "1700000000.000100"

    # A second parent for the same scan and channel keeps the first thread.
    await store.start_thread(second.id, second.alert, "1700000000.000200", "card-2")
    assert await store.thread("scan-a", "C1") == thread
    assert await store.outbox_counts() == {"sent": 2}
    assert await store.thread("scan-a", "C2") is None
    assert await store.thread("scan-b", "C1") is None


async def test_record_refreshes_the_summary_of_every_thread_of_its_scan(store: Store) -> None:
    rows = await queue(store, alert("scan-a", "C1"), alert("scan-a", "C2"), alert("scan-b"))
    for row in rows:
        await store.start_thread(row.id, row.alert, f"ts-{row.id}", "card")

    progressed = summary("scan-a", "RUNNING", progress=80.0)
    await store.record([Snapshot(summary=progressed, last_seen=T0)], [])

    by_key = {(t.scan_id, t.channel_id): t for t in await store.threads()}
    assert set(by_key) == {("scan-a", "C1"), ("scan-a", "C2"), ("scan-b", "C1")}
    assert by_key["scan-a", "C1"].summary == progressed
    assert by_key["scan-a", "C2"].summary == progressed
    assert by_key["scan-b", "C1"].summary == summary("scan-b", "SUCCEEDED")
    assert {t.shown for t in by_key.values()} == {"card"}  # the sender still has to edit


async def test_a_thread_summary_is_never_replaced_by_an_older_one(store: Store) -> None:
    """A Refresh stored what it fetched at T0+10s; a poll that fetched at T0+5s (its write
    came later) must not put the older summary back; one fetched later does."""
    (row,) = await queue(store, alert("scan-a", state="RUNNING"))
    await store.start_thread(row.id, row.alert, "ts-1", "card")
    refreshed = summary("scan-a", "RUNNING", progress=70.0)
    assert await store.store_summary(refreshed, T0 + timedelta(seconds=10)) == 1

    older = summary("scan-a", "RUNNING", progress=40.0)
    await store.record([Snapshot(summary=older, last_seen=T0 + timedelta(seconds=5))], [])
    thread = await store.thread("scan-a", "C1")
    assert thread is not None
    assert (thread.summary, thread.summary_at) == (refreshed, T0 + timedelta(seconds=10))
    assert (await store.snapshots(["scan-a"]))["scan-a"].summary == older  # the poller's own
    assert await store.store_summary(older, T0 + timedelta(seconds=9)) == 0

    same_time = summary("scan-a", "RUNNING", progress=75.0)
    assert await store.store_summary(same_time, T0 + timedelta(seconds=10)) == 1
    later = Snapshot(summary=summary("scan-a", progress=90.0), last_seen=T0 + timedelta(seconds=60))
    await store.record([later], [])
    thread = await store.thread("scan-a", "C1")
    assert thread is not None
    assert (thread.summary, thread.summary_at) == (later.summary, later.last_seen)


async def test_a_summary_further_along_wins_whatever_its_time(store: Store) -> None:
    """Clocks of two replicas a little apart: a finished scan is never drawn as running
    because its poll's clock was behind the Refresh's."""
    (row,) = await queue(store, alert("scan-a", state="QUEUED"))
    await store.start_thread(row.id, row.alert, "ts-1", "card")
    assert await store.store_summary(summary("scan-a", "RUNNING", progress=99.0), T0) == 1
    assert await store.store_summary(summary("scan-a", "QUEUED"), T0 - timedelta(seconds=2)) == 0
    finished = snap("scan-a", "SUCCEEDED", last_seen=T0 - timedelta(seconds=2))
    await store.record([finished], [])
    thread = await store.thread("scan-a", "C1")
    assert thread is not None
    assert (thread.summary.state, thread.summary_at) == ("SUCCEEDED", finished.last_seen)


async def test_store_summary_reaches_every_thread_of_the_scan_only(store: Store) -> None:
    rows = await queue(store, alert("scan-a", "C1"), alert("scan-a", "C2"), alert("scan-b"))
    for row in rows:
        await store.start_thread(row.id, row.alert, f"ts-{row.id}", "card")
    fetched = summary("scan-a", "FAILED")
    assert await store.store_summary(fetched, T0) == 2
    by_key = {(t.scan_id, t.channel_id): t.summary for t in await store.threads()}
    assert by_key == {
        ("scan-a", "C1"): fetched,
        ("scan-a", "C2"): fetched,
        ("scan-b", "C1"): summary("scan-b", "SUCCEEDED"),
    }
    assert await store.store_summary(summary("scan-z", "FAILED"), T0) == 0  # no thread


async def test_mark_shown_records_what_the_parent_shows(store: Store) -> None:
    (row,) = await queue(store, alert("scan-a"))
    await store.start_thread(row.id, row.alert, "ts-1", "card-1")
    await store.mark_shown("scan-a", "C1", "card-2")
    thread = await store.thread("scan-a", "C1")
    assert thread is not None
    assert thread.shown == "card-2"
    assert thread.edited_at is not None
    assert abs(thread.edited_at - utcnow()) < timedelta(minutes=1)


# -- subscriptions ------------------------------------------------------------------------


async def test_a_subscription_round_trips(store: Store) -> None:
    added = await store.add_subscription(
        "C1",
        types=["NMAP", "OWASP_ZAP"],
        target_contains="example.com",
        min_severity="HIGH",
        events=["finished", "risks"],
        created_by="U123",
    )
    assert (added.channel_id, added.types, added.events) == (
        "C1",
        ("NMAP", "OWASP_ZAP"),
        ("finished", "risks"),
    )
    assert (added.target_contains, added.min_severity, added.created_by) == (
        "example.com",
        "HIGH",
        "U123",
    )
    assert (added.from_env, added.disabled_reason) == (False, None)
    assert await store.subscriptions() == [added]


async def test_subscription_ids_increase_and_never_change(store: Store) -> None:
    a = await store.add_subscription("C1", events=["finished"])
    b = await store.add_subscription("C2", events=["finished"])
    c = await store.add_subscription("C1", events=["risks"])
    assert a.id < b.id < c.id
    assert await store.remove_subscriptions("C2", b.id) == 1
    assert await store.remove_subscriptions("C1", c.id) == 1
    d = await store.add_subscription("C1", events=["started"])
    assert d.id > c.id  # a removed number is never handed out again
    assert [s.id for s in await store.subscriptions()] == [a.id, d.id]


async def test_subscriptions_per_channel_and_enabled_only(store: Store) -> None:
    a = await store.add_subscription("C1", events=["finished"])
    b = await store.add_subscription("C2", events=["finished"])
    c = await store.add_subscription("C1", events=["risks"])
    assert await store.subscriptions("C1") == [a, c]
    assert await store.subscriptions("C2") == [b]
    assert await store.subscriptions("C3") == []

    assert await store.disable_channel("C1", "channel_not_found") == 2
    assert await store.disable_channel("C1", "again") == 0  # the first reason stays
    disabled = await store.subscriptions("C1")
    assert [s.disabled_reason for s in disabled] == ["channel_not_found"] * 2
    assert await store.subscriptions(enabled_only=True) == [b]
    assert await store.subscriptions("C1", enabled_only=True) == []


async def test_removing_touches_only_that_channel(store: Store) -> None:
    a = await store.add_subscription("C1", events=["finished"])
    b = await store.add_subscription("C2", events=["finished"])
    c = await store.add_subscription("C1", events=["risks"])
    assert await store.remove_subscriptions("C2", a.id) == 0  # another channel's id
    assert await store.remove_subscriptions("C1", 10_000) == 0
    assert await store.remove_subscriptions("C1", None) == 2
    assert await store.subscriptions() == [b]
    assert c not in await store.subscriptions()


async def test_the_env_subscription_is_added_once_however_many_starts(store: Store) -> None:
    results = [await store.ensure_env_subscription("C1", ["finished", "risks"]) for _ in range(5)]
    results += await asyncio.gather(
        *(store.ensure_env_subscription("C1", ["finished"]) for _ in range(5))
    )
    assert results == [True] + [False] * 9
    (env,) = await store.subscriptions("C1")
    assert (env.from_env, env.events, env.types, env.created_by) == (
        True,
        ("finished", "risks"),
        (),
        "SCANBOT_ALERT_CHANNEL",
    )
    await store.add_subscription("C2", events=["finished"])
    assert await store.ensure_env_subscription("C2", ["finished"]) is True


async def test_a_channel_takes_at_most_the_limit_of_subscriptions(store: Store) -> None:
    for _ in range(MAX_SUBSCRIPTIONS_PER_CHANNEL):
        await store.add_subscription("C1", events=["finished"])
    with pytest.raises(TooManySubscriptions) as refused:
        await store.add_subscription("C1", events=["risks"])
    assert refused.value.limit == MAX_SUBSCRIPTIONS_PER_CHANNEL
    assert len(await store.subscriptions("C1")) == MAX_SUBSCRIPTIONS_PER_CHANNEL
    await store.add_subscription("C2", events=["finished"])  # another channel is not full
    # Removing one makes room for one.
    first = (await store.subscriptions("C1"))[0]
    assert await store.remove_subscriptions("C1", first.id) == 1
    await store.add_subscription("C1", events=["risks"])
    with pytest.raises(TooManySubscriptions):
        await store.add_subscription("C1", events=["risks"])


async def test_the_env_subscription_is_never_refused_by_the_limit(store: Store) -> None:
    for channel_id in ("C1", "C2"):
        for _ in range(MAX_SUBSCRIPTIONS_PER_CHANNEL):
            await store.add_subscription(channel_id, events=["finished"])
    assert await store.ensure_env_subscription("C1", ["finished", "risks"]) is True
    env = await store.add_subscription("C2", events=["risks"], from_env=True)
    assert env.from_env
    for channel_id in ("C1", "C2"):
        assert len(await store.subscriptions(channel_id)) == MAX_SUBSCRIPTIONS_PER_CHANNEL + 1


async def test_concurrent_subscribes_never_pass_the_limit(store: Store, database: Database) -> None:
    """Two processes' stores (separate engines and connections) subscribing one channel at
    once, at one below the limit: exactly one more gets in."""
    for _ in range(MAX_SUBSCRIPTIONS_PER_CHANNEL - 1):
        await store.add_subscription("C1", events=["finished"])
    others = [await database.open(migrate=False) for _ in range(3)]
    try:
        await asyncio.gather(*(other.subscriptions("C1") for other in others))  # connected
        stores = (store, *others)
        adds = [s.add_subscription("C1", events=["risks"]) for s in stores * 4]
        results = await asyncio.gather(*adds, return_exceptions=True)
    finally:
        for other in others:
            await other.close()
    added = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, TooManySubscriptions)]
    assert (len(added), len(refused)) == (1, len(adds) - 1), results
    assert len(await store.subscriptions("C1")) == MAX_SUBSCRIPTIONS_PER_CHANNEL


# -- webhooks and state -------------------------------------------------------------------


async def test_a_webhook_event_is_first_delivered_once(store: Store) -> None:
    assert await store.first_delivery("evt-1") is True
    assert await store.first_delivery("evt-1") is False
    assert await store.first_delivery("evt-2") is True


async def test_bot_state_holds_json_values(store: Store) -> None:
    assert await store.get_state("cursor") is None
    assert await store.get_state("cursor", {"page": 0}) == {"page": 0}
    await store.set_state("cursor", {"page": 3, "ids": ["a", "b"], "done": False})
    await store.set_state("count", 7)
    assert await store.get_state("cursor") == {"page": 3, "ids": ["a", "b"], "done": False}
    await store.set_state("cursor", ["replaced"])
    assert await store.get_state("cursor", "unused") == ["replaced"]
    assert await store.get_state("count") == 7
    await store.record([], [], state={"count": 8, "text": "é and ü"})
    assert (await store.get_state("count"), await store.get_state("text")) == (8, "é and ü")


# -- prune --------------------------------------------------------------------------------


async def test_prune_deletes_what_is_old_and_keeps_the_rest(store: Store) -> None:
    now = utcnow()
    old = now - LONG_AGO
    await store.record([snap("scan-gone", last_seen=old), snap("scan-kept", last_seen=now)], [])
    for parent in await queue(store, alert("scan-gone", "C9"), alert("scan-kept", "C9")):
        await store.start_thread(parent.id, parent.alert, f"ts-{parent.id}", "card")

    rows = await queue(store, *(alert(f"scan-{n}") for n in range(7)))
    old_sent, old_parked, old_digested, new_sent, pending, sending, retrying = rows
    for row in (old_sent, new_sent):
        await store.mark_sent(row.id, "ts")
    await store.park(old_parked.id, "channel_not_found")
    await store.mark_digested([old_digested.id], "ts")
    await store.mark_sending(sending.id)
    await store.mark_retry(retrying.id, "timeout", now + timedelta(minutes=1))
    done_long_ago = outbox.c.id.in_([old_sent.id, old_parked.id, old_digested.id])
    await backdate(store, outbox, done_long_ago, done_at=old)
    await backdate(store, outbox, outbox.c.id.in_([r.id for r in rows]), created_at=old)
    await backdate(store, outbox, outbox.c.id.in_([pending.id, sending.id]), next_attempt_at=old)

    await store.first_delivery("evt-old")
    await store.first_delivery("evt-new")
    await backdate(store, webhook_events, webhook_events.c.event_id == "evt-old", received_at=old)

    pruned = await store.prune(now)

    assert pruned == {"outbox": 3, "webhook_events": 1, "scan_snapshots": 1}
    left = {row.id for row in await store.due_alerts(now + timedelta(hours=1))}
    assert left == {pending.id, sending.id, retrying.id}
    assert await store.outbox_counts() == {"sent": 3, "pending": 2, "sending": 1}
    assert await store.first_delivery("evt-new") is False
    assert await store.first_delivery("evt-old") is True  # forgotten, as intended
    assert list(await store.snapshots(["scan-gone", "scan-kept"])) == ["scan-kept"]
    assert [(t.scan_id, t.channel_id) for t in await store.threads()] == [("scan-kept", "C9")]


async def test_prune_of_an_empty_database(store: Store) -> None:
    assert await store.prune() == {"outbox": 0, "webhook_events": 0, "scan_snapshots": 0}


def test_the_active_index_condition_names_exactly_the_final_states() -> None:
    from scanbot.hostedscan.models import FINAL_STATES
    from scanbot.store.store import NOT_FINAL_SQL

    named = NOT_FINAL_SQL.removeprefix("state NOT IN (").removesuffix(")").split(", ")
    assert {name.strip("'") for name in named} == {str(state) for state in FINAL_STATES}


async def test_replicas_starting_together_add_one_env_subscription(store: Store) -> None:
    import asyncio

    added = await asyncio.gather(
        *(store.ensure_env_subscription("C0ENV", ["finished"]) for _ in range(5))
    )
    assert added.count(True) == 1
    assert len(await store.subscriptions("C0ENV")) == 1
