"""The pipeline's status read from the store on SQLite and PostgreSQL: what `scanbot status`
and /healthz both render."""

from __future__ import annotations

from scanbot.domain.status import DEGRADED, OK, Status
from scanbot.store import Store
from scanbot.store.state import CycleMark
from tests.store.values import alert, queue


async def test_a_fresh_store_is_ok_and_empty(store: Store) -> None:
    assert await store.status() == Status(database=store.db.dialect)
    assert (await store.status()).health == OK


async def test_the_status_gathers_state_outbox_parked_and_subscriptions(store: Store) -> None:
    await store.snapshots.record([], [], mark=CycleMark(3, "2026-11-01T12:00:00+00:00"))
    await store.state.set_poll_failures(4)
    await store.state.set_poll_down_since("2026-11-01T11:00:00+00:00")
    await store.state.set_sending_paused("token_revoked")
    rows = await queue(store, *(alert(f"scan-{n}") for n in range(4)))
    for row in rows[:3]:
        await store.outbox.park(row.id, f"reason {row.id}")
    kept = await store.subscriptions.add("C1", events=["finished"])
    gone = await store.subscriptions.add("C2", events=["risks"])
    await store.subscriptions.disable_channel("C2", "is_archived")

    status = await store.status(leading=True, parked=2)
    assert status.database in ("sqlite", "postgresql")
    assert (status.leading, status.last_cycle_at) == (True, "2026-11-01T12:00:00+00:00")
    assert (status.poll_failures, status.polling_down_since) == (4, "2026-11-01T11:00:00+00:00")
    assert (status.sending_paused, status.health) == ("token_revoked", DEGRADED)
    assert status.outbox == {"parked": 3, "pending": 1}
    assert [row.id for row in status.parked] == [rows[2].id, rows[1].id]  # newest first
    assert [s.id for s in status.subscriptions] == [kept.id, gone.id]
    assert [(s.id, s.disabled_reason) for s in status.disabled] == [(gone.id, "is_archived")]
