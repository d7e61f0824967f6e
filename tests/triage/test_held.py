"""Held alerts (`triage/held.py`): one summary when a thread wakes up, snoozes that ended
cleared once and redrawn at the current time; over loopback on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from scanbot.domain.events import EventKind
from scanbot.domain.threads import card_key
from scanbot.triage.service import Outcome
from tests.triage.conftest import (
    CHANNEL,
    T0,
    U1,
    U2,
    Harness,
    audit_actions,
    edits_of,
)

# -- held alerts ---------------------------------------------------------------------------


async def test_release_held_after_a_snooze_expires(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")
    await h.held_alert(thread, EventKind.RISKS)
    await h.held_alert(thread, EventKind.GONE)
    assert await h.triage.held.release_held(T0 + timedelta(minutes=59)) == 0
    assert len(h.replies(thread)) == 1  # only the snooze's own reply
    h.clock.advance(timedelta(hours=1, minutes=1))
    assert await h.triage.held.release_held(h.clock()) == 1
    assert h.reply_texts(thread)[-1] == "held 2 while snoozed"
    assert await h.store.outbox.held(thread.scan_id, CHANNEL) == []
    stored = await h.stored(thread)
    assert stored.snoozed_until is None
    assert "snoozed=None" in h.parent(thread)["text"]
    assert (await audit_actions(h, thread.scan_id))[-1] == ("scanbot", "unsnooze", "expired")
    # Run again: nothing is held any more, nothing is said twice.
    assert await h.triage.held.release_held(h.clock()) == 0
    assert h.reply_texts(thread).count("held 2 while snoozed") == 1


async def test_a_snooze_that_ended_with_nothing_held_is_cleared_and_redrawn(
    harness: Harness,
) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")
    assert await h.triage.held.release_held() == 0
    assert "snoozed=2026-11-01T13:00:00+00:00" in h.parent(thread)["text"]
    h.clock.advance(timedelta(hours=1))
    edits = edits_of(h, thread)
    # Two rounds (or replicas) at once: one clears, audits and redraws.
    await asyncio.gather(h.triage.held.release_held(), h.triage.held.expire_snoozes())
    assert edits_of(h, thread) == edits + 1
    shown = h.parent(thread)["text"]
    assert "snoozed=None" in shown
    assert f"drawn={h.clock().isoformat()}" in shown  # drawn at the current time
    assert len(h.replies(thread)) == 1  # the snooze's own: nothing was held, nothing to say
    assert (await audit_actions(h, thread.scan_id))[1:] == [("scanbot", "unsnooze", "expired")]
    stored = await h.stored(thread)
    assert stored.shown == card_key(stored.summary, await h.store.threads.view(stored))
    assert await h.triage.held.expire_snoozes() == 0


async def test_a_snooze_for_the_next_state_ends_when_the_scan_moved_on(
    harness: Harness,
) -> None:
    h = harness
    scan_id = h.scan("RUNNING", progress=10)
    thread = await h.thread(scan_id)
    await h.triage.snooze(scan_id, CHANNEL, U1, "next_state")
    assert await h.triage.held.expire_snoozes() == 0
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    await h.store.snapshots.record([h.snapshot(scan_id)], [])
    assert await h.triage.held.expire_snoozes() == 1
    assert (await h.stored(thread)).snoozed_in_state is None
    assert "snoozed=None" in h.parent(thread)["text"]


async def test_every_redraw_is_drawn_at_the_current_time(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.clock.advance(timedelta(hours=3))
    await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    assert f"drawn={(T0 + timedelta(hours=3)).isoformat()}" in h.parent(thread)["text"]


async def test_release_held_when_the_awaited_state_came(harness: Harness) -> None:
    h = harness
    scan_id = h.scan("RUNNING", progress=10)
    thread = await h.thread(scan_id)
    await h.triage.snooze(scan_id, CHANNEL, U1, "next_state")
    await h.held_alert(thread)
    assert await h.triage.held.release_held() == 0
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    await h.store.snapshots.record([h.snapshot(scan_id)], [])  # the poller saw the new state
    assert await h.triage.held.release_held() == 1
    assert h.reply_texts(thread)[-1] == "held 1 while snoozed"
    assert (await h.stored(thread)).snoozed_in_state is None


async def test_unmute_releases_held_alerts_at_once(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.mute(thread.scan_id, CHANNEL, U1)
    row_id = await h.held_alert(thread)
    assert await h.triage.held.release_held() == 0  # still muted
    assert await h.triage.unmute(thread.scan_id, CHANNEL, U2) == Outcome(True)
    assert h.reply_texts(thread)[-2:] == [f"unmuted by {U2}", "held 1 while muted"]
    assert await h.store.outbox.held(thread.scan_id, CHANNEL) == []
    assert row_id not in [r.id for r in await h.store.outbox.due()]
    assert await h.triage.held.release_held() == 0


async def test_unsnooze_releases_held_alerts_at_once(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "24h")
    await h.held_alert(thread)
    await h.triage.unsnooze(thread.scan_id, CHANNEL, U1)
    assert h.reply_texts(thread)[-1] == "held 1 while snoozed"


async def test_unmuting_a_snoozed_thread_keeps_its_alerts_held(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.mute(thread.scan_id, CHANNEL, U1)
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")
    await h.held_alert(thread)
    await h.triage.unmute(thread.scan_id, CHANNEL, U1)
    assert len(await h.store.outbox.held(thread.scan_id, CHANNEL)) == 1
    assert await h.triage.held.release_held(T0 + timedelta(hours=2)) == 1
    assert h.reply_texts(thread)[-1] == "held 1 while snoozed"


async def test_a_release_slack_refused_is_tried_again(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.mute(thread.scan_id, CHANNEL, U1)
    await h.held_alert(thread)
    h.slack.fail_next("chat.postMessage", status=503, times=2)  # the unmute reply and summary
    assert (await h.triage.unmute(thread.scan_id, CHANNEL, U1)).changed
    assert len(await h.store.outbox.held(thread.scan_id, CHANNEL)) == 1
    assert await h.triage.held.release_held() == 1
    assert h.reply_texts(thread)[-1] == "held 1 while muted"  # from the audit: unmuted
