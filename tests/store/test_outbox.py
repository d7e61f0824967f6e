"""The outbox on SQLite and PostgreSQL: queued once per key, due in order and in time, a
crash's "sending" row due again, done rows, held rows summarised once."""

from __future__ import annotations

from datetime import timedelta

from scanbot.domain.clock import utcnow
from scanbot.store import Store
from tests.store.values import T0, alert, outbox_column, queue


async def test_an_alert_is_never_queued_twice(store: Store) -> None:
    assert await store.snapshots.record([], [alert("scan-a")]) == 1
    assert await store.snapshots.record([], [alert("scan-a")]) == 0
    assert await store.snapshots.record([], [alert("scan-a"), alert("scan-a", "C2")]) == 1
    assert await store.outbox.counts() == {"pending": 2}


async def test_due_alerts_come_oldest_first_and_wait_for_their_time(store: Store) -> None:
    first, second, third = await queue(store, alert("scan-1"), alert("scan-2"), alert("scan-3"))
    assert first.id < second.id < third.id
    assert (first.status, first.attempts, first.last_error) == ("pending", 0, None)
    assert first.alert == alert("scan-1")

    later = utcnow() + timedelta(hours=1)
    await store.outbox.mark_retry(second.id, "rate limited", later)
    assert [r.id for r in await store.outbox.due()] == [first.id, third.id]
    assert [r.id for r in await store.outbox.due(later - timedelta(seconds=1))] == [
        first.id,
        third.id,
    ]
    due_later = await store.outbox.due(later)
    assert [r.id for r in due_later] == [first.id, second.id, third.id]
    assert due_later[1].last_error == "rate limited"
    assert [r.id for r in await store.outbox.due(later, limit=2)] == [first.id, second.id]


async def test_a_row_left_sending_by_a_crash_is_due_again(store: Store) -> None:
    (row,) = await queue(store, alert("scan-a"))
    await store.outbox.mark_retry(row.id, "timeout", utcnow() + timedelta(hours=1))
    await store.outbox.mark_sending(row.id)
    (again,) = await store.outbox.due()  # the process died here: the row stays due
    assert (again.id, again.status, again.attempts) == (row.id, "sending", 1)
    await store.outbox.mark_retry(row.id, "timeout", utcnow())
    await store.outbox.mark_sending(row.id)
    assert [(r.status, r.attempts) for r in await store.outbox.due()] == [("sending", 2)]


async def test_sent_parked_and_digested_rows_are_done(store: Store) -> None:
    rows = await queue(store, *(alert(f"scan-{n}") for n in range(5)))
    await store.outbox.mark_sending(rows[0].id)
    await store.outbox.mark_retry(rows[0].id, "timeout", utcnow())
    await store.outbox.mark_sent(rows[0].id, "1700000000.000100")
    await store.outbox.park(rows[1].id, "channel_not_found")
    await store.outbox.park(rows[2].id, "is_archived")
    await store.outbox.mark_digested([rows[3].id, rows[4].id], "1700000000.000200")

    assert await store.outbox.due() == []
    assert await store.outbox.counts() == {"sent": 1, "parked": 2, "digested": 2}
    assert await outbox_column(store, rows[0].id, "ts") == "1700000000.000100"
    assert await outbox_column(store, rows[0].id, "last_error") is None
    assert await outbox_column(store, rows[4].id, "ts") == "1700000000.000200"
    for row in rows:
        done_at = await outbox_column(store, row.id, "done_at")
        assert abs(done_at - utcnow()) < timedelta(minutes=1)

    parked = await store.outbox.parked()
    assert [(p.id, p.status, p.last_error) for p in parked] == [
        (rows[2].id, "parked", "is_archived"),
        (rows[1].id, "parked", "channel_not_found"),
    ]
    assert parked[0].alert == alert("scan-2")
    assert [p.id for p in await store.outbox.parked(limit=1)] == [rows[2].id]


async def test_outbox_counts_of_an_empty_outbox(store: Store) -> None:
    assert await store.outbox.counts() == {}
    assert await store.outbox.parked() == []


# -- held by a quiet thread -----------------------------------------------------------------


async def test_held_rows_wait_for_their_thread_and_are_summarised_once(store: Store) -> None:
    mine = await queue(store, alert("scan-a"), alert("scan-a", state="FAILED"))
    other_channel, other_scan, free = await queue(
        store, alert("scan-a", "C2"), alert("scan-b"), alert("scan-c")
    )
    for row in (*mine, other_channel, other_scan):
        await store.outbox.hold(row.id)

    assert [r.id for r in await store.outbox.due()] == [free.id]  # held rows are not due
    held = await store.outbox.held("scan-a", "C1")
    assert [(r.id, r.status) for r in held] == [(mine[0].id, "held"), (mine[1].id, "held")]
    assert await store.outbox.counts() == {"held": 4, "pending": 1}

    await store.outbox.mark_summarized([r.id for r in mine] + [free.id], "ts-9", T0)
    assert await store.outbox.held("scan-a", "C1") == []
    assert await outbox_column(store, mine[0].id, "ts") == "ts-9"
    assert await outbox_column(store, mine[1].id, "done_at") == T0
    # A row that was not held is left alone (another run got there, or it was never held).
    assert await store.outbox.counts() == {"summarized": 2, "held": 2, "pending": 1}
    assert [r.id for r in await store.outbox.held("scan-a", "C2")] == [other_channel.id]
