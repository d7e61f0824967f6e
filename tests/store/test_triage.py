"""Triage records on SQLite and PostgreSQL: the snooze rule (the same snooze chosen again
changes nothing), snoozes ending once however many rounds race, and migration 0005."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from scanbot.domain.events import Alert, EventKind, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import AlertThread, SnoozeChoice
from scanbot.store import Store
from scanbot.store.schema import alert_threads
from scanbot.store.triage import TriageRecords
from tests.store.conftest import Database

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C1"
U1, U2 = "U0ALICE", "U0BOB"
HOUR, FOUR, NEXT = SnoozeChoice.HOUR, SnoozeChoice.FOUR_HOURS, SnoozeChoice.NEXT_STATE


async def a_thread(store: Store, state: str = "RUNNING", scan_id: str = "scan-a") -> AlertThread:
    summary = ScanSummary(scan_id=scan_id, type="NMAP", state=state)
    alert = Alert(channel_id=CHANNEL, event=ScanEvent(kind=EventKind.STARTED, summary=summary))
    assert await store.snapshots.record([], [alert]) == 1
    (row,) = [r for r in await store.outbox.due() if r.alert.key == alert.key]
    await store.threads.start(row.id, alert, f"ts-{scan_id}", "card")
    thread = await store.threads.get(scan_id, CHANNEL)
    assert thread is not None
    return thread


async def stored(store: Store, thread: AlertThread) -> AlertThread:
    fresh = await store.threads.get(thread.scan_id, thread.channel_id)
    assert fresh is not None
    return fresh


async def audit(triage: TriageRecords, thread: AlertThread) -> list[tuple[str, str, str]]:
    return [(e.user_id, e.action, e.detail) for e in await triage.audit(thread.scan_id, CHANNEL)]


async def snooze(
    triage: TriageRecords,
    thread: AlertThread,
    choice: SnoozeChoice,
    at: datetime,
    *,
    user: str = U1,
    state: str = "RUNNING",
) -> bool:
    return await triage.snooze(thread.scan_id, CHANNEL, user, at, choice, state=state)


# -- the snooze rule --------------------------------------------------------------------------


async def test_a_timed_snooze_chosen_again_while_on_changes_nothing(store: Store) -> None:
    triage = store.triage
    thread = await a_thread(store)
    assert await snooze(triage, thread, HOUR, T0)
    # A replay, a double click, someone else: the end is not pushed out.
    assert not await snooze(triage, thread, HOUR, T0 + timedelta(minutes=30))
    assert not await snooze(triage, thread, HOUR, T0 + timedelta(minutes=59), user=U2)
    after = await stored(store, thread)
    assert (after.snoozed_until, after.snooze_choice) == (T0 + timedelta(hours=1), "1h")
    assert await audit(triage, thread) == [(U1, "snooze", "1h")]


async def test_another_option_or_the_same_after_its_end_is_a_change(store: Store) -> None:
    triage = store.triage
    thread = await a_thread(store)
    assert await snooze(triage, thread, HOUR, T0)
    assert await snooze(triage, thread, FOUR, T0 + timedelta(minutes=10))
    after = await stored(store, thread)
    assert (after.snoozed_until, after.snooze_choice) == (
        T0 + timedelta(hours=4, minutes=10),
        "4h",
    )
    ended = T0 + timedelta(hours=4, minutes=10)  # the very end counts as ended
    assert await snooze(triage, thread, FOUR, ended)
    assert (await stored(store, thread)).snoozed_until == ended + timedelta(hours=4)
    assert [a for _, a, _ in await audit(triage, thread)] == ["snooze"] * 3


async def test_next_state_is_the_same_while_snoozed_in_that_state(store: Store) -> None:
    triage = store.triage
    thread = await a_thread(store, "QUEUED")
    assert await snooze(triage, thread, NEXT, T0, state="QUEUED")
    assert not await snooze(triage, thread, NEXT, T0 + timedelta(days=3), state="QUEUED")
    # The scan moved on: waiting out the new state is a change.
    assert await snooze(triage, thread, NEXT, T0 + timedelta(days=3), state="RUNNING")
    after = await stored(store, thread)
    assert (after.snoozed_in_state, after.snoozed_until, after.snooze_choice) == (
        "RUNNING",
        None,
        "next_state",
    )
    # A timed option replaces it, and next_state replaces that.
    assert await snooze(triage, thread, HOUR, T0 + timedelta(days=3), state="RUNNING")
    assert (await stored(store, thread)).snoozed_in_state is None
    assert await snooze(triage, thread, NEXT, T0 + timedelta(days=3), state="RUNNING")
    assert (await stored(store, thread)).snoozed_until is None
    assert len(await audit(triage, thread)) == 4


async def test_a_snooze_without_an_option_from_before_0005_yields_to_any(store: Store) -> None:
    triage = store.triage
    thread = await a_thread(store)
    async with store.db.engine.begin() as conn:
        await conn.execute(
            alert_threads.update().values(snoozed_until=T0 + timedelta(hours=1), snooze_choice=None)
        )
    assert await snooze(triage, thread, HOUR, T0)
    assert (await stored(store, thread)).snooze_choice == "1h"


@pytest.mark.parametrize("choice", list(SnoozeChoice), ids=str)
async def test_identical_snoozes_at_once_change_the_thread_once(
    store: Store, choice: SnoozeChoice
) -> None:
    triage = store.triage
    thread = await a_thread(store)
    at = [T0 + timedelta(milliseconds=n) for n in range(6)]
    changed = await asyncio.gather(*(snooze(triage, thread, choice, when) for when in at))
    assert changed.count(True) == 1
    assert await audit(triage, thread) == [(U1, "snooze", choice.value)]


async def test_unsnooze_clears_everything_once(store: Store) -> None:
    triage = store.triage
    thread = await a_thread(store)
    assert not await triage.unsnooze(thread.scan_id, CHANNEL, U1, T0)
    assert await snooze(triage, thread, NEXT, T0)
    results = await asyncio.gather(
        *(triage.unsnooze(thread.scan_id, CHANNEL, U2, T0) for _ in range(4))
    )
    assert results.count(True) == 1
    after = await stored(store, thread)
    assert (after.snoozed_until, after.snoozed_in_state, after.snooze_choice) == (None,) * 3
    assert await audit(triage, thread) == [(U1, "snooze", "next_state"), (U2, "unsnooze", "")]


# -- snoozes that end -----------------------------------------------------------------------


async def test_a_timed_snooze_expires_once_however_many_rounds_race(store: Store) -> None:
    triage = store.triage
    thread = await a_thread(store)
    await snooze(triage, thread, HOUR, T0)
    snoozed = await stored(store, thread)
    assert not await triage.expire_snooze(snoozed, T0 + timedelta(minutes=59), by="scanbot")
    end = T0 + timedelta(hours=1)
    rounds = await asyncio.gather(
        *(triage.expire_snooze(snoozed, end, by="scanbot") for _ in range(5))
    )
    assert rounds.count(True) == 1
    after = await stored(store, thread)
    assert (after.snoozed_until, after.snooze_choice) == (None, None)
    assert await audit(triage, thread) == [(U1, "snooze", "1h"), ("scanbot", "unsnooze", "expired")]


async def test_a_snooze_chosen_again_after_its_end_is_not_expired(store: Store) -> None:
    """A round that read the ended snooze must not clear the new one chosen meanwhile."""
    triage = store.triage
    thread = await a_thread(store)
    await snooze(triage, thread, HOUR, T0)
    read_by_the_round = await stored(store, thread)
    later = T0 + timedelta(hours=2)
    assert await snooze(triage, thread, HOUR, later)
    assert not await triage.expire_snooze(read_by_the_round, later, by="scanbot")
    assert (await stored(store, thread)).snoozed_until == later + timedelta(hours=1)


async def test_next_state_ends_when_the_scan_left_the_state(store: Store) -> None:
    triage = store.triage
    thread = await a_thread(store, "RUNNING")
    await snooze(triage, thread, NEXT, T0, state="RUNNING")
    still = await stored(store, thread)
    assert not await triage.expire_snooze(still, T0 + timedelta(days=9), by="scanbot")
    await store.threads.store_summary(ScanSummary(scan_id="scan-a", state="SUCCEEDED"), T0)
    moved_on = await stored(store, thread)
    assert [t.scan_id for t in await store.threads.snoozed()] == ["scan-a"]
    assert await triage.expire_snooze(moved_on, T0, by="scanbot")
    assert not await triage.expire_snooze(moved_on, T0, by="scanbot")
    assert await store.threads.snoozed() == []
    assert (await audit(triage, thread))[-1] == ("scanbot", "unsnooze", "expired")


async def test_snoozed_threads_are_those_with_a_snooze_stored(store: Store) -> None:
    triage = store.triage
    a = await a_thread(store, scan_id="scan-a")
    b = await a_thread(store, scan_id="scan-b")
    await a_thread(store, scan_id="scan-c")
    await snooze(triage, a, HOUR, T0)
    await snooze(triage, b, NEXT, T0)
    assert sorted(t.scan_id for t in await store.threads.snoozed()) == ["scan-a", "scan-b"]


# -- migration 0005 -------------------------------------------------------------------------


def _alembic(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", "scanbot.store:migrations")
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_migration_0005_backfills_next_state_and_downgrades(database: Database) -> None:
    store = await database.open(migrate=False)
    try:
        async with store.db.engine.begin() as conn:
            await conn.run_sync(_alembic, "0004")
            await conn.execute(
                sa.text(
                    "INSERT INTO alert_threads (scan_id, channel_id, parent_ts, summary, shown,"
                    " created_at, snoozed_until, snoozed_in_state, muted) VALUES"
                    " ('timed', 'C1', '1.1', :summary, 'card', :at, :at, NULL, false),"
                    " ('next', 'C1', '1.2', :summary, 'card', :at, NULL, 'RUNNING', false),"
                    " ('awake', 'C1', '1.3', :summary, 'card', :at, NULL, NULL, false)"
                ),
                {"summary": ScanSummary(scan_id="x").model_dump_json(), "at": T0},
            )
        await store.db.migrate()
        choices = {t.scan_id: (t.snooze_choice, t.summary_at) for t in await store.threads.all()}
        assert choices == {
            "timed": (None, None),  # its option is unknown: any choice changes it
            "next": ("next_state", None),
            "awake": (None, None),
        }
        async with store.db.engine.begin() as conn:
            await conn.run_sync(_alembic, "0004", down=True)
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("alert_threads")}
            )
        assert not columns & {"snooze_choice", "summary_at", "summary_stage"}
        assert "snoozed_in_state" in columns
        await store.db.migrate()
        assert len(await store.threads.all()) == 3
    finally:
        await store.close()
