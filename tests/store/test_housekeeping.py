"""Pruning on SQLite and PostgreSQL: old done rows, webhook ids and unseen scans go; the
rest stays."""

from __future__ import annotations

from datetime import timedelta

from scanbot.domain.clock import utcnow
from scanbot.store import Store
from scanbot.store.schema import outbox, webhook_events
from tests.store.values import (
    LONG_AGO,
    alert,
    backdate,
    queue,
    snap,
)


async def test_prune_deletes_what_is_old_and_keeps_the_rest(store: Store) -> None:
    now = utcnow()
    old = now - LONG_AGO
    await store.snapshots.record(
        [snap("scan-gone", last_seen=old), snap("scan-kept", last_seen=now)], []
    )
    for parent in await queue(store, alert("scan-gone", "C9"), alert("scan-kept", "C9")):
        await store.threads.start(parent.id, parent.alert, f"ts-{parent.id}", "card")

    rows = await queue(store, *(alert(f"scan-{n}") for n in range(7)))
    old_sent, old_parked, old_digested, new_sent, pending, sending, retrying = rows
    for row in (old_sent, new_sent):
        await store.outbox.mark_sent(row.id, "ts")
    await store.outbox.park(old_parked.id, "channel_not_found")
    await store.outbox.mark_digested([old_digested.id], "ts")
    await store.outbox.mark_sending(sending.id)
    await store.outbox.mark_retry(retrying.id, "timeout", now + timedelta(minutes=1))
    done_long_ago = outbox.c.id.in_([old_sent.id, old_parked.id, old_digested.id])
    await backdate(store, outbox, done_long_ago, done_at=old)
    await backdate(store, outbox, outbox.c.id.in_([r.id for r in rows]), created_at=old)
    await backdate(store, outbox, outbox.c.id.in_([pending.id, sending.id]), next_attempt_at=old)

    await store.webhooks.first_delivery("evt-old")
    await store.webhooks.first_delivery("evt-new")
    await backdate(store, webhook_events, webhook_events.c.event_id == "evt-old", received_at=old)

    pruned = await store.housekeeping.prune(now)

    assert pruned == {"outbox": 3, "webhook_events": 1, "scan_snapshots": 1}
    left = {row.id for row in await store.outbox.due(now + timedelta(hours=1))}
    assert left == {pending.id, sending.id, retrying.id}
    assert await store.outbox.counts() == {"sent": 3, "pending": 2, "sending": 1}
    assert await store.webhooks.first_delivery("evt-new") is False
    assert await store.webhooks.first_delivery("evt-old") is True  # forgotten, as intended
    assert list(await store.snapshots.read(["scan-gone", "scan-kept"])) == ["scan-kept"]
    assert [(t.scan_id, t.channel_id) for t in await store.threads.all()] == [("scan-kept", "C9")]


async def test_prune_of_an_empty_database(store: Store) -> None:
    assert await store.housekeeping.prune() == {
        "outbox": 0,
        "webhook_events": 0,
        "scan_snapshots": 0,
    }


async def test_prune_deletes_old_summarised_rows_and_keeps_held_ones(store: Store) -> None:
    """Held alerts told in a summary are done like sent ones; still held ones wait."""
    now = utcnow()
    summarised, held, recent = await queue(store, *(alert(f"scan-{n}") for n in range(3)))
    for row in (summarised, held, recent):
        await store.outbox.hold(row.id)
    await store.outbox.mark_summarized([summarised.id], "ts", now - LONG_AGO)
    await store.outbox.mark_summarized([recent.id], "ts", now)
    await backdate(store, outbox, outbox.c.id == held.id, created_at=now - LONG_AGO)

    assert (await store.housekeeping.prune(now))["outbox"] == 1
    assert await store.outbox.counts() == {"held": 1, "summarized": 1}
    assert [r.id for r in await store.outbox.held("scan-1", "C1")] == [held.id]
