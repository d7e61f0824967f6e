"""Triage from an alert thread, over loopback: the fake Slack, the sandbox as HostedScan, and
the store on SQLite and PostgreSQL. A change speaks once in the thread and edits the parent;
a click that changes nothing says so to the clicker only; nothing raises."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from scanbot.alerts.risks import RiskDetails
from scanbot.domain.events import EventKind
from scanbot.domain.severity import severity_rank
from scanbot.domain.threads import AlertThread, card_key
from scanbot.sandbox.slack import FakeSlack
from scanbot.slack import actions
from scanbot.slack.kit import Message
from scanbot.slack.sentences import INTERNAL_ERROR, NOT_TRACKED, SNOOZE_CHOICES
from scanbot.store import Store
from scanbot.triage.service import Outcome, Triage
from tests.triage.conftest import (
    CHANNEL,
    T0,
    Harness,
    StubRenderer,
    wired,
)

U1, U2 = "U0ALICE", "U0BOB"


def slack_methods(h: Harness, since: int = 0) -> list[str]:
    return [call.method for call in h.slack.calls[since:]]


async def audit_actions(h: Harness, scan_id: str) -> list[tuple[str, str, str]]:
    entries = await h.store.triage.audit(scan_id, CHANNEL)
    return [(e.user_id, e.action, e.detail) for e in entries]


# -- acknowledging -------------------------------------------------------------------------


async def test_acknowledge_replies_once_and_edits_the_parent(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    outcome = await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(True)
    assert h.reply_texts(thread) == [f"acknowledged by {U1} at {T0.isoformat()}"]
    assert f"acks=[{U1}]" in h.parent(thread)["text"]
    assert await audit_actions(h, thread.scan_id) == [(U1, "acknowledge", "")]


async def test_a_parent_edit_is_marked_shown_so_the_sender_does_not_redo_it(
    harness: Harness,
) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    stored = await h.stored(thread)
    assert stored.shown == card_key(stored.summary, await h.store.threads.view(stored))


async def test_a_second_click_changes_nothing_and_posts_nothing(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    before = len(h.slack.calls)
    again = await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    assert again == Outcome(False, "You already acknowledged this alert.")
    assert slack_methods(h, before) == []
    assert len(h.replies(thread)) == 1
    assert len(await audit_actions(h, thread.scan_id)) == 1


async def test_a_replayed_click_on_another_replica_changes_nothing(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    other = h.another_triage()
    replayed = await other.acknowledge(thread.scan_id, CHANNEL, U1)
    assert not replayed.changed
    assert len(h.replies(thread)) == 1


async def test_the_same_person_clicking_twice_at_once_changes_once(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    outcomes = await asyncio.gather(
        *(h.triage.acknowledge(thread.scan_id, CHANNEL, U1) for _ in range(4))
    )
    assert [o.changed for o in outcomes].count(True) == 1
    assert len(h.replies(thread)) == 1
    assert await audit_actions(h, thread.scan_id) == [(U1, "acknowledge", "")]


async def test_two_people_clicking_at_once_are_both_recorded(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    outcomes = await asyncio.gather(
        h.triage.acknowledge(thread.scan_id, CHANNEL, U1),
        h.triage.acknowledge(thread.scan_id, CHANNEL, U2),
    )
    assert outcomes == [Outcome(True), Outcome(True)]
    assert sorted(h.reply_texts(thread)) == sorted(
        f"acknowledged by {u} at {T0.isoformat()}" for u in (U1, U2)
    )
    # Edits are serialised and render the view as it is then: the last one shows both.
    assert f"acks=[{U1},{U2}]" in h.parent(thread)["text"]
    view = await h.store.threads.view(thread)
    assert [a.user_id for a in view.acknowledgements] == [U1, U2]


async def test_undo_acknowledge(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    never = await h.triage.undo_acknowledge(thread.scan_id, CHANNEL, U1)
    assert never == Outcome(False, "You had not acknowledged this alert.")
    assert h.replies(thread) == []
    await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    assert await h.triage.undo_acknowledge(thread.scan_id, CHANNEL, U1) == Outcome(True)
    assert h.reply_texts(thread)[-1] == f"unacknowledged by {U1}"
    assert "acks=[]" in h.parent(thread)["text"]
    assert [a for _, a, _ in await audit_actions(h, thread.scan_id)] == [
        "acknowledge",
        "unacknowledge",
    ]


async def test_a_refused_reply_still_saves_and_says_so(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("chat.postMessage", error="not_in_channel")
    outcome = await h.triage.acknowledge(thread.scan_id, CHANNEL, U1)
    assert outcome.changed
    assert outcome.notice is not None
    assert outcome.notice.startswith("Saved, but Slack did not let scanbot reply in the thread")
    assert "/invite @scanbot" in outcome.notice
    assert f"acks=[{U1}]" in h.parent(thread)["text"]


async def test_a_refused_parent_edit_is_left_to_the_sender(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("chat.update", status=500)
    assert await h.triage.acknowledge(thread.scan_id, CHANNEL, U1) == Outcome(True)
    assert len(h.replies(thread)) == 1
    # Not marked shown: the sender's next round sees a stale card and edits it.
    assert (await h.stored(thread)).shown == "card"


async def test_nothing_escapes_a_method(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    class Broken(StubRenderer):
        def acknowledged(self, user_id: str, at: datetime) -> Message:
            raise RuntimeError("renderer bug")

    h = harness
    thread = await h.thread(h.scan())
    triage = h.another_triage(render=Broken())
    with caplog.at_level(logging.ERROR):
        outcome = await triage.acknowledge(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(False, INTERNAL_ERROR)
    assert "renderer bug" in caplog.text


# -- no such thread ------------------------------------------------------------------------

Action = Callable[[Triage, str], Awaitable[Outcome]]
THREAD_ACTIONS: dict[str, Action] = {
    "acknowledge": lambda t, s: t.acknowledge(s, CHANNEL, U1),
    "undo_acknowledge": lambda t, s: t.undo_acknowledge(s, CHANNEL, U1),
    "open_assign": lambda t, s: t.open_assign("trigger-1", s, CHANNEL, "1700000000.000100"),
    "assign": lambda t, s: t.assign(s, CHANNEL, U1, U2, "yours"),
    "snooze": lambda t, s: t.snooze(s, CHANNEL, U1, "1h"),
    "unsnooze": lambda t, s: t.unsnooze(s, CHANNEL, U1),
    "mute": lambda t, s: t.mute(s, CHANNEL, U1),
    "unmute": lambda t, s: t.unmute(s, CHANNEL, U1),
    "refresh": lambda t, s: t.refresh(s, CHANNEL, U1),
    "show_risks": lambda t, s: t.show_risks(s, CHANNEL, U1),
    "report": lambda t, s: t.report(s, CHANNEL, U1),
}


async def test_a_thread_no_longer_tracked_is_said_and_nothing_called(harness: Harness) -> None:
    h = harness
    scan_id = h.scan()  # HostedScan has it; scanbot has no thread for it
    await h.thread(h.scan())  # another thread exists
    before = len(h.slack.calls)
    for action in THREAD_ACTIONS.values():
        assert await action(h.triage, scan_id) == Outcome(False, NOT_TRACKED)
    assert NOT_TRACKED.startswith("This alert is no longer tracked: ")
    assert slack_methods(h, before) == []
    assert h.sandbox.count() == 0


# -- assigning -----------------------------------------------------------------------------


async def test_open_assign_opens_the_modal_with_the_current_assignee(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.assign(thread.scan_id, CHANNEL, U1, U2, "")
    outcome = await h.triage.open_assign("trigger-1", thread.scan_id, CHANNEL, thread.parent_ts)
    assert outcome == Outcome(True)
    (call,) = h.slack.calls_to("views.open")
    assert call.body["trigger_id"] == "trigger-1"
    text = call.body["view"]["blocks"][0]["text"]["text"]
    assert text == f"assign {thread.scan_id} {CHANNEL} {thread.parent_ts} current={U2}"


async def test_open_assign_with_an_expired_trigger_says_click_again(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("views.open", error="expired_trigger_id")
    outcome = await h.triage.open_assign("old", thread.scan_id, CHANNEL, thread.parent_ts)
    assert not outcome.changed
    assert outcome.notice is not None
    assert "click again" in outcome.notice


async def test_an_assign_form_is_believed_only_as_scanbot_sealed_it(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.open_assign("trigger-1", thread.scan_id, CHANNEL, thread.parent_ts)
    (call,) = h.slack.calls_to("views.open")
    sealed = call.body["view"]["private_metadata"]
    assert h.triage.assign_form(sealed) == (thread.scan_id, CHANNEL)
    forged = [
        sealed.replace(CHANNEL, "C0OTHER"),
        sealed[:-3],
        sealed.rpartition(".")[0],
        "garbage",
        "",
    ]
    for text in forged:
        with caplog.at_level(logging.WARNING):
            caplog.clear()
            assert h.triage.assign_form(text) is None
        (line,) = caplog.records
        assert "did not seal" in line.getMessage()
        assert "C0OTHER" not in line.getMessage()  # the form's content is not logged
    other_key = h.another_triage(seal_key=actions.seal_key("another secret"))
    assert other_key.assign_form(sealed) is None


async def test_assign_reassign_and_unassign(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.assign(thread.scan_id, CHANNEL, U1, U2, "please") == Outcome(True)
    assert h.reply_texts(thread) == [f"assigned to {U2} by {U1} note=please"]
    assert f"assignee={U2}" in h.parent(thread)["text"]
    same = await h.triage.assign(thread.scan_id, CHANNEL, U1, U2, "again")
    assert same == Outcome(False, f"<@{U2}> is already assigned to this alert.")
    assert len(h.replies(thread)) == 1
    assert await h.triage.assign(thread.scan_id, CHANNEL, U2, None, "") == Outcome(True)
    assert (await h.stored(thread)).assignee is None
    assert "assignee=None" in h.parent(thread)["text"]
    nobody = await h.triage.assign(thread.scan_id, CHANNEL, U2, "", "")
    assert nobody == Outcome(False, "Nobody is assigned to this alert.")
    assert [a for _, a, _ in await audit_actions(h, thread.scan_id)] == ["assign", "assign"]


# -- snoozing and muting -------------------------------------------------------------------


async def test_snooze_for_a_time_sets_until_from_the_clock(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.snooze(thread.scan_id, CHANNEL, U1, "4h") == Outcome(True)
    stored = await h.stored(thread)
    assert stored.snoozed_until == T0 + timedelta(hours=4)
    assert stored.snoozed_in_state is None
    assert h.reply_texts(thread) == [f"snoozed by {U1} for 4h until {T0 + timedelta(hours=4)}"]
    assert "snoozed=2026-11-01T16:00:00+00:00" in h.parent(thread)["text"]
    assert await audit_actions(h, thread.scan_id) == [(U1, "snooze", "4h")]


async def test_snooze_until_the_next_state_waits_out_the_current_one(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("RUNNING", progress=40))
    assert await h.triage.snooze(thread.scan_id, CHANNEL, U1, "next_state") == Outcome(True)
    stored = await h.stored(thread)
    assert (stored.snoozed_until, stored.snoozed_in_state) == (None, "RUNNING")
    again = await h.triage.snooze(thread.scan_id, CHANNEL, U1, "next_state")
    assert not again.changed
    assert again.notice == "This alert is already snoozed until the next state change."
    assert len(h.replies(thread)) == 1


def edits_of(h: Harness, thread: AlertThread) -> int:
    return sum(call.body.get("ts") == thread.parent_ts for call in h.slack.calls_to("chat.update"))


@pytest.mark.parametrize("choice", ["1h", "4h", "24h", "next_state"])
async def test_the_same_snooze_replayed_doubled_or_by_two_people_changes_nothing(
    harness: Harness, choice: str
) -> None:
    h = harness
    thread = await h.thread(h.scan("RUNNING", progress=40))
    first = await asyncio.gather(
        h.triage.snooze(thread.scan_id, CHANNEL, U1, choice),
        h.triage.snooze(thread.scan_id, CHANNEL, U2, choice),
        h.triage.snooze(thread.scan_id, CHANNEL, U1, choice),
    )
    assert [o.changed for o in first].count(True) == 1
    snoozed = await h.stored(thread)
    h.clock.advance(timedelta(minutes=50))  # an old message, replayed later
    before = len(h.slack.calls)
    replayed = await h.triage.snooze(thread.scan_id, CHANNEL, U2, choice)
    assert not replayed.changed
    assert replayed.notice is not None
    assert replayed.notice.startswith("This alert is already snoozed ")
    assert slack_methods(h, before) == []
    after = await h.stored(thread)
    assert (after.snoozed_until, after.snoozed_in_state) == (
        snoozed.snoozed_until,
        snoozed.snoozed_in_state,
    )
    assert len(h.replies(thread)) == 1
    assert edits_of(h, thread) == 1
    assert [(a, d) for _, a, d in await audit_actions(h, thread.scan_id)] == [("snooze", choice)]


async def test_the_same_timed_snooze_after_it_ended_is_a_new_one(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")
    h.clock.advance(timedelta(hours=1))
    assert await h.triage.snooze(thread.scan_id, CHANNEL, U2, "1h") == Outcome(True)
    assert (await h.stored(thread)).snoozed_until == T0 + timedelta(hours=2)
    assert len(h.replies(thread)) == 2


async def test_another_option_while_snoozed_is_a_change(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("RUNNING", progress=40))
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "24h")
    assert (await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")).changed
    assert (await h.stored(thread)).snoozed_until == T0 + timedelta(hours=1)
    assert (await h.triage.snooze(thread.scan_id, CHANNEL, U1, "next_state")).changed
    assert (await h.stored(thread)).snoozed_in_state == "RUNNING"
    assert [d for _, _, d in await audit_actions(h, thread.scan_id)] == ["24h", "1h", "next_state"]


async def test_next_state_chosen_again_after_the_scan_moved_on_waits_the_new_one_out(
    harness: Harness,
) -> None:
    h = harness
    scan_id = h.scan("QUEUED")
    thread = await h.thread(scan_id)
    await h.triage.snooze(scan_id, CHANNEL, U1, "next_state")
    h.world.set_state(scan_id, "RUNNING", progress=5)
    await h.store.snapshots.record([h.snapshot(scan_id)], [])  # the poller saw it start
    assert (await h.triage.snooze(scan_id, CHANNEL, U1, "next_state")).changed
    assert (await h.stored(thread)).snoozed_in_state == "RUNNING"


async def test_a_finished_scan_cannot_wait_for_its_next_state(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("SUCCEEDED"))
    outcome = await h.triage.snooze(thread.scan_id, CHANNEL, U1, "next_state")
    assert not outcome.changed
    assert outcome.notice is not None
    assert "finished" in outcome.notice
    assert (await h.stored(thread)).snoozed_in_state is None


async def test_an_unknown_snooze_choice_is_refused(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    before = len(h.slack.calls)
    for choice in ("2h", "", "NEXT_STATE", "1h; drop table"):
        outcome = await h.triage.snooze(thread.scan_id, CHANNEL, U1, choice)
        assert outcome == Outcome(False, SNOOZE_CHOICES), choice
    assert slack_methods(h, before) == []
    assert await audit_actions(h, thread.scan_id) == []


async def test_unsnooze(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.unsnooze(thread.scan_id, CHANNEL, U1) == Outcome(
        False, "This alert is not snoozed."
    )
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")
    assert await h.triage.unsnooze(thread.scan_id, CHANNEL, U2) == Outcome(True)
    stored = await h.stored(thread)
    assert (stored.snoozed_until, stored.snoozed_in_state) == (None, None)
    assert h.reply_texts(thread)[-1] == f"unsnoozed by {U2}"
    assert "snoozed=None" in h.parent(thread)["text"]


async def test_mute_and_unmute(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.unmute(thread.scan_id, CHANNEL, U1) == Outcome(
        False, "This alert is not muted."
    )
    assert await h.triage.mute(thread.scan_id, CHANNEL, U1) == Outcome(True)
    assert await h.triage.mute(thread.scan_id, CHANNEL, U2) == Outcome(
        False, "This alert is already muted."
    )
    assert "muted=True" in h.parent(thread)["text"]
    assert await h.triage.unmute(thread.scan_id, CHANNEL, U2) == Outcome(True)
    assert "muted=False" in h.parent(thread)["text"]
    assert h.reply_texts(thread) == [f"muted by {U1}", f"unmuted by {U2}"]
    assert [(u, a) for u, a, _ in await audit_actions(h, thread.scan_id)] == [
        (U1, "mute"),
        (U2, "unmute"),
    ]


# -- held alerts ---------------------------------------------------------------------------


async def test_release_held_after_a_snooze_expires(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")
    await h.held_alert(thread, EventKind.RISKS)
    await h.held_alert(thread, EventKind.GONE)
    assert await h.triage.release_held(T0 + timedelta(minutes=59)) == 0
    assert len(h.replies(thread)) == 1  # only the snooze's own reply
    h.clock.advance(timedelta(hours=1, minutes=1))
    assert await h.triage.release_held(h.clock()) == 1
    assert h.reply_texts(thread)[-1] == "held 2 while snoozed"
    assert await h.store.outbox.held(thread.scan_id, CHANNEL) == []
    stored = await h.stored(thread)
    assert stored.snoozed_until is None
    assert "snoozed=None" in h.parent(thread)["text"]
    assert (await audit_actions(h, thread.scan_id))[-1] == ("scanbot", "unsnooze", "expired")
    # Run again: nothing is held any more, nothing is said twice.
    assert await h.triage.release_held(h.clock()) == 0
    assert h.reply_texts(thread).count("held 2 while snoozed") == 1


async def test_a_snooze_that_ended_with_nothing_held_is_cleared_and_redrawn(
    harness: Harness,
) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.snooze(thread.scan_id, CHANNEL, U1, "1h")
    assert await h.triage.release_held() == 0
    assert "snoozed=2026-11-01T13:00:00+00:00" in h.parent(thread)["text"]
    h.clock.advance(timedelta(hours=1))
    edits = edits_of(h, thread)
    # Two rounds (or replicas) at once: one clears, audits and redraws.
    await asyncio.gather(h.triage.release_held(), h.triage.expire_snoozes())
    assert edits_of(h, thread) == edits + 1
    shown = h.parent(thread)["text"]
    assert "snoozed=None" in shown
    assert f"drawn={h.clock().isoformat()}" in shown  # drawn at the current time
    assert len(h.replies(thread)) == 1  # the snooze's own: nothing was held, nothing to say
    assert (await audit_actions(h, thread.scan_id))[1:] == [("scanbot", "unsnooze", "expired")]
    stored = await h.stored(thread)
    assert stored.shown == card_key(stored.summary, await h.store.threads.view(stored))
    assert await h.triage.expire_snoozes() == 0


async def test_a_snooze_for_the_next_state_ends_when_the_scan_moved_on(
    harness: Harness,
) -> None:
    h = harness
    scan_id = h.scan("RUNNING", progress=10)
    thread = await h.thread(scan_id)
    await h.triage.snooze(scan_id, CHANNEL, U1, "next_state")
    assert await h.triage.expire_snoozes() == 0
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    await h.store.snapshots.record([h.snapshot(scan_id)], [])
    assert await h.triage.expire_snoozes() == 1
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
    assert await h.triage.release_held() == 0
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    await h.store.snapshots.record([h.snapshot(scan_id)], [])  # the poller saw the new state
    assert await h.triage.release_held() == 1
    assert h.reply_texts(thread)[-1] == "held 1 while snoozed"
    assert (await h.stored(thread)).snoozed_in_state is None


async def test_unmute_releases_held_alerts_at_once(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.mute(thread.scan_id, CHANNEL, U1)
    row_id = await h.held_alert(thread)
    assert await h.triage.release_held() == 0  # still muted
    assert await h.triage.unmute(thread.scan_id, CHANNEL, U2) == Outcome(True)
    assert h.reply_texts(thread)[-2:] == [f"unmuted by {U2}", "held 1 while muted"]
    assert await h.store.outbox.held(thread.scan_id, CHANNEL) == []
    assert row_id not in [r.id for r in await h.store.outbox.due()]
    assert await h.triage.release_held() == 0


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
    assert await h.triage.release_held(T0 + timedelta(hours=2)) == 1
    assert h.reply_texts(thread)[-1] == "held 1 while snoozed"


async def test_a_release_slack_refused_is_tried_again(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.mute(thread.scan_id, CHANNEL, U1)
    await h.held_alert(thread)
    h.slack.fail_next("chat.postMessage", status=503, times=2)  # the unmute reply and summary
    assert (await h.triage.unmute(thread.scan_id, CHANNEL, U1)).changed
    assert len(await h.store.outbox.held(thread.scan_id, CHANNEL)) == 1
    assert await h.triage.release_held() == 1
    assert h.reply_texts(thread)[-1] == "held 1 while muted"  # from the audit: unmuted


# -- refresh -------------------------------------------------------------------------------


async def test_refresh_shows_the_scan_as_it_is_now(harness: Harness) -> None:
    h = harness
    scan_id = h.scan("RUNNING", progress=30)
    thread = await h.thread(scan_id)
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    assert await h.triage.refresh(scan_id, CHANNEL, U1) == Outcome(True)
    assert h.parent(thread)["text"].startswith(f"card {scan_id} SUCCEEDED")
    assert h.replies(thread) == []
    stored = await h.stored(thread)  # what every later redraw starts from
    assert (stored.summary.state, stored.summary_at) == ("SUCCEEDED", T0)
    # The poller's snapshot stays its own: it still sees the change and alerts it.
    assert (await h.store.snapshots.read([scan_id]))[scan_id].summary.state == "RUNNING"
    assert await audit_actions(h, scan_id) == [(U1, "refresh", "SUCCEEDED")]


async def test_refresh_then_acknowledge_does_not_take_the_card_backwards(
    harness: Harness,
) -> None:
    h = harness
    scan_id = h.scan("RUNNING", progress=30)
    thread = await h.thread(scan_id)
    h.world.set_state(scan_id, "RUNNING", progress=80)
    await h.triage.refresh(scan_id, CHANNEL, U1)
    assert "progress=80.0" in h.parent(thread)["text"]
    await h.triage.acknowledge(scan_id, CHANNEL, U2)
    shown = h.parent(thread)["text"]
    assert shown.startswith(f"card {scan_id} RUNNING acks=[{U2}]")
    assert "progress=80.0" in shown
    stored = await h.stored(thread)
    assert stored.shown == card_key(stored.summary, await h.store.threads.view(stored))


async def test_a_refresh_older_than_what_is_stored_draws_what_is_stored(
    harness: Harness,
) -> None:
    """A poll fetched later than this Refresh but wrote first: the card shows the poll's."""
    h = harness
    scan_id = h.scan("RUNNING", progress=30)
    thread = await h.thread(scan_id)
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    later = h.snapshot(scan_id).model_copy(update={"last_seen": T0 + timedelta(seconds=1)})
    await h.store.snapshots.record([later], [])
    h.world.set_state(scan_id, "RUNNING", progress=60)  # what the Refresh will fetch, at T0
    assert await h.triage.refresh(scan_id, CHANNEL, U1) == Outcome(True)
    assert h.parent(thread)["text"].startswith(f"card {scan_id} SUCCEEDED")
    assert (await h.stored(thread)).summary.state == "SUCCEEDED"


async def test_refresh_of_a_scan_hostedscan_no_longer_has(harness: Harness) -> None:
    h = harness
    scan_id = h.scan()
    thread = await h.thread(scan_id)
    h.world.remove_scan(scan_id)
    before = len(h.slack.calls)
    outcome = await h.triage.refresh(scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False, f"HostedScan no longer has scan `{scan_id}`: it was deleted or never existed."
    )
    assert slack_methods(h, before) == []
    assert h.parent(thread)["text"] == f"parent {scan_id}"
    assert await audit_actions(h, scan_id) == []


@pytest.mark.parametrize(
    ("status", "says"),
    [(503, "could not give"), (401, "API key"), (429, "rate limiting")],
)
async def test_refresh_when_hostedscan_fails(harness: Harness, status: int, says: str) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.sandbox.add_fault(status)
    outcome = await h.triage.refresh(thread.scan_id, CHANNEL, U1)
    assert not outcome.changed
    assert outcome.notice is not None
    assert says in outcome.notice


async def test_refresh_when_slack_refuses_the_edit(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("chat.update", error="message_not_found")
    outcome = await h.triage.refresh(thread.scan_id, CHANNEL, U1)
    assert not outcome.changed
    assert outcome.notice is not None
    assert await audit_actions(h, thread.scan_id) == []


# -- risks ---------------------------------------------------------------------------------


async def test_show_risks_lists_the_new_risks_most_severe_first(harness: Harness) -> None:
    h = harness
    scan_id = h.scan(risks=12)
    thread = await h.thread(scan_id)
    assert await h.triage.show_risks(scan_id, CHANNEL, U1) == Outcome(True)
    (reply,) = h.reply_texts(thread)
    assert reply.startswith(f"risks of {scan_id} 12/12: ")
    shown = reply.split(": ", 1)[1].split(",")
    details = await RiskDetails(h.hostedscan).fetch({"OPENVAS": shown})
    ranks = [(severity_rank(details[r].threat_level), float(details[r].cvss or -1)) for r in shown]
    assert ranks == sorted(ranks, reverse=True)
    assert await audit_actions(h, scan_id) == [(U1, "risks", "12 new")]


async def test_show_risks_without_details_still_lists_the_ids(harness: Harness) -> None:
    h = harness
    scan_id = h.scan(risks=2)
    thread = await h.thread(scan_id)
    h.sandbox.add_fault(503, path_prefix="/v1/risks", times=2)
    assert await h.triage.show_risks(scan_id, CHANNEL, U1) == Outcome(True)
    assert h.reply_texts(thread)[0].startswith(f"risks of {scan_id} 2/2: ")


async def test_show_risks_of_a_scan_without_new_risks(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan(risks=0))
    outcome = await h.triage.show_risks(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(False, f"Scan `{thread.scan_id}` has no newly open risks.")
    assert h.replies(thread) == []


async def test_show_risks_when_slack_refuses(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("chat.postMessage", error="is_archived")
    outcome = await h.triage.show_risks(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False, "Slack did not let scanbot list the risks in the thread (the channel is archived)."
    )
    assert await audit_actions(h, thread.scan_id) == []


async def test_open_risk_opens_the_window_before_asking_hostedscan(harness: Harness) -> None:
    h = harness
    scan_id = h.scan(risks=1)
    scan = h.world.get_scan(scan_id)
    assert scan is not None
    risk_id = scan["risks"]["new_open"][0]["risk_id"]
    h.sandbox.gate.clear()  # HostedScan answers nothing until the test says so
    opening = asyncio.create_task(h.triage.open_risk("trigger-1", risk_id))
    (opened,) = await h.slack.wait_for_calls("views.open")
    async with asyncio.timeout(5):
        while h.sandbox.waiting == 0:  # noqa: ASYNC110 - the server's state, no event
            await asyncio.sleep(0.01)
    (request,) = h.sandbox.requests
    assert request.path == f"/v1/risks/{risk_id}"
    assert opened.at < request.time
    assert h.slack.calls_to("views.update") == []
    h.sandbox.gate.set()
    assert await opening == Outcome(True)
    (update,) = h.slack.calls_to("views.update")
    view_id = next(iter(h.slack.views))
    assert update.body["view_id"] == view_id
    assert h.slack.views[view_id]["title"]["text"] == "Risk"
    assert h.slack.views[view_id]["blocks"][0]["text"]["text"].startswith(f"risk {risk_id}: ")


async def test_open_risk_of_an_unknown_risk_says_so_in_the_window(harness: Harness) -> None:
    h = harness
    assert await h.triage.open_risk("trigger-1", "no-such-risk") == Outcome(True)
    (view,) = h.slack.views.values()
    assert view["title"]["text"] == "Unavailable"
    assert "HostedScan no longer has risk `no-such-risk`" in view["blocks"][0]["text"]["text"]


async def test_open_risk_with_an_expired_trigger_asks_hostedscan_nothing(
    harness: Harness,
) -> None:
    h = harness
    h.slack.fail_next("views.open", error="expired_trigger_id")
    outcome = await h.triage.open_risk("old", "some-risk")
    assert not outcome.changed
    assert outcome.notice is not None
    assert "click again" in outcome.notice
    assert h.sandbox.count() == 0


# -- reports -------------------------------------------------------------------------------


def result_of(h: Harness, scan_id: str, content_type: str) -> tuple[str, bytes]:
    scan = h.world.get_scan(scan_id)
    assert scan is not None
    result_id = next(r["result_id"] for r in scan["results"] if r["content_type"] == content_type)
    served = h.world.get_result(result_id)
    assert served is not None
    return result_id, served[0]


async def test_report_uploads_the_pdf_into_the_thread(harness: Harness) -> None:
    h = harness
    scan_id = h.scan("SUCCEEDED")  # results: HTML, PDF, XML and JSON
    thread = await h.thread(scan_id)
    assert await h.triage.report(scan_id, CHANNEL, U1) == Outcome(True)
    (upload,) = h.slack.uploads.values()
    assert upload.filename == f"scanbot-{scan_id}.pdf"
    assert upload.content == result_of(h, scan_id, "application/pdf")[1]
    (complete,) = h.slack.calls_to("files.completeUploadExternal")
    assert complete.body["channel_id"] == CHANNEL
    assert complete.body["thread_ts"] == thread.parent_ts
    (reply,) = h.replies(thread)
    assert reply["text"] == f"report of {scan_id} (application/pdf) for {U1}"
    assert reply["files"][0]["name"] == f"scanbot-{scan_id}.pdf"
    (entry,) = await audit_actions(h, scan_id)
    assert entry[:2] == (U1, "report")
    assert entry[2].startswith("PDF, ")


async def test_report_falls_back_to_html(harness: Harness) -> None:
    h = harness
    html_id, html = result_of(h, h.scan("SUCCEEDED"), "text/html")
    results = [
        {"result_id": html_id, "content_type": "text/html"},
        {"result_id": "json-result", "content_type": "application/json"},
    ]
    scan_id = h.scan("SUCCEEDED", results=results)
    await h.thread(scan_id)
    assert await h.triage.report(scan_id, CHANNEL, U1) == Outcome(True)
    (upload,) = h.slack.uploads.values()
    assert upload.filename == f"scanbot-{scan_id}.html"
    assert upload.content == html


async def test_report_of_a_scan_without_one_says_so_in_the_thread(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("FAILED"))  # only the scanner's JSON log
    assert await h.triage.report(thread.scan_id, CHANNEL, U1) == Outcome(True)
    assert h.reply_texts(thread) == [f"no report for {thread.scan_id}"]
    assert h.slack.uploads == {}
    assert await audit_actions(h, thread.scan_id) == [(U1, "report", "none")]


async def test_report_when_hostedscan_cannot_give_the_file(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("SUCCEEDED"))
    h.sandbox.add_fault(503, path_prefix="/v1/results")
    outcome = await h.triage.report(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False,
        f"HostedScan could not give the report of scan `{thread.scan_id}` right now; "
        "try again in a minute.",
    )
    assert h.slack.calls_to("files.getUploadURLExternal") == []
    assert await audit_actions(h, thread.scan_id) == []


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
async def test_report_when_slack_refuses_the_upload(harness: Harness, method: str) -> None:
    h = harness
    thread = await h.thread(h.scan("SUCCEEDED"))
    h.slack.fail_next(method, error="missing_scope")
    outcome = await h.triage.report(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False,
        "Slack did not let scanbot upload the report "
        "(scanbot lacks a Slack permission for this; ask an admin).",
    )
    assert h.replies(thread) == []
    assert await audit_actions(h, thread.scan_id) == []


# -- what waits ----------------------------------------------------------------------------


async def test_unacknowledged_lists_the_channels_waiting_alerts_oldest_first(
    store: Store,
) -> None:
    async with wired(store, FakeSlack()) as h:
        first = await h.thread(h.scan())
        acked = await h.thread(h.scan())
        last = await h.thread(h.scan())
        await h.thread(h.scan(), channel="C0OTHER")
        await h.triage.acknowledge(acked.scan_id, CHANNEL, U1)
        waiting = await h.triage.unacknowledged(CHANNEL)
        assert [w.summary.scan_id for w in waiting] == [first.scan_id, last.scan_id]
        link = f"https://fake-slack.example/archives/{CHANNEL}/p{first.parent_ts.replace('.', '')}"
        assert waiting[0].permalink == link
        assert waiting[0].created_at is not None
        assert waiting[0].summary == first.summary


async def test_unacknowledged_without_permalinks_when_slack_will_not_say(
    harness: Harness,
) -> None:
    h = harness
    h.slack.fail_next("chat.getPermalink", error="channel_not_found")
    thread = await h.thread(h.scan())
    (waiting,) = await h.triage.unacknowledged(CHANNEL)
    assert (waiting.summary.scan_id, waiting.permalink) == (thread.scan_id, None)


async def test_home_lists_assigned_and_unacknowledged_in_the_users_channels(
    store: Store,
) -> None:
    channels = ["C0A", "C0B", CHANNEL, "C0D", "C0E"]  # three pages of users.conversations
    slack = FakeSlack()
    slack.members = {U1: channels}
    async with wired(store, slack) as h:
        mine = await h.thread(h.scan(), channel="C0ELSEWHERE")
        await h.triage.assign(mine.scan_id, "C0ELSEWHERE", U2, U1, "")
        waiting = await h.thread(h.scan())
        in_e = await h.thread(h.scan(), channel="C0E")
        await h.thread(h.scan(), channel="C0NOTMINE")
        assigned, unacknowledged = await h.triage.home(U1)
        assert [a.summary.scan_id for a in assigned] == [mine.scan_id]
        assert [u.summary.scan_id for u in unacknowledged] == [waiting.scan_id, in_e.scan_id]
        assert all(u.permalink for u in unacknowledged)
        assert len(h.slack.calls_to("users.conversations")) == 3


async def test_home_without_the_users_channels_shows_only_assigned(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    h.slack.fail_next("users.conversations", error="missing_scope")
    mine = await h.thread(h.scan())
    await h.triage.assign(mine.scan_id, CHANNEL, U2, U1, "")
    with caplog.at_level(logging.WARNING):
        assigned, unacknowledged = await h.triage.home(U1)
    assert [a.summary.scan_id for a in assigned] == [mine.scan_id]
    assert unacknowledged == []
    assert "channels of U0ALICE unknown" in caplog.text
