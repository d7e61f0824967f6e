"""Triage actions (`triage/actions.py`): acknowledge, assign, snooze, mute and their undo,
over loopback (fake Slack, sandbox, store on SQLite and PostgreSQL). A change speaks once in
the thread and edits the parent; a click that changes nothing says so to the clicker only;
nothing raises."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import pytest

from scanbot.domain.threads import card_key
from scanbot.slack import actions
from scanbot.slack.kit import Message
from scanbot.slack.sentences import INTERNAL_ERROR, SNOOZE_CHOICES
from scanbot.triage.service import Outcome
from tests.triage.conftest import (
    CHANNEL,
    T0,
    U1,
    U2,
    Harness,
    StubRenderer,
    audit_actions,
    edits_of,
    slack_methods,
)

# -- acknowledging -------------------------------------------------------------------------


async def test_acknowledge_replies_once_and_edits_the_parent(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    outcome = await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(True)
    assert h.reply_texts(thread) == [f"acknowledged by {U1} at {T0.isoformat()}"]
    assert f"acks=[{U1}]" in h.parent(thread)["text"]
    assert await audit_actions(h, thread.scan_id) == [(U1, "acknowledge", "")]


async def test_a_parent_edit_is_marked_shown_so_the_sender_does_not_redo_it(
    harness: Harness,
) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1)
    stored = await h.stored(thread)
    assert stored.shown == card_key(stored.summary, await h.store.threads.view(stored))


async def test_a_second_click_changes_nothing_and_posts_nothing(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1)
    before = len(h.slack.calls)
    again = await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1)
    assert again == Outcome(False, "You already acknowledged this alert.")
    assert slack_methods(h, before) == []
    assert len(h.replies(thread)) == 1
    assert len(await audit_actions(h, thread.scan_id)) == 1


async def test_a_replayed_click_on_another_replica_changes_nothing(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1)
    other = h.another_triage()
    replayed = await other.acknowledge(thread.scan_id, CHANNEL, U1)
    assert not replayed.changed
    assert len(h.replies(thread)) == 1


async def test_the_same_person_clicking_twice_at_once_changes_once(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    outcomes = await asyncio.gather(
        *(h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1) for _ in range(4))
    )
    assert [o.changed for o in outcomes].count(True) == 1
    assert len(h.replies(thread)) == 1
    assert await audit_actions(h, thread.scan_id) == [(U1, "acknowledge", "")]


async def test_two_people_clicking_at_once_are_both_recorded(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    outcomes = await asyncio.gather(
        h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1),
        h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U2),
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
    never = await h.triage.actions.undo_acknowledge(thread.scan_id, CHANNEL, U1)
    assert never == Outcome(False, "You had not acknowledged this alert.")
    assert h.replies(thread) == []
    await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1)
    assert await h.triage.actions.undo_acknowledge(thread.scan_id, CHANNEL, U1) == Outcome(True)
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
    outcome = await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1)
    assert outcome.changed
    assert outcome.notice is not None
    assert outcome.notice.startswith("Saved, but Slack did not let scanbot reply in the thread")
    assert "/invite @scanbot" in outcome.notice
    assert f"acks=[{U1}]" in h.parent(thread)["text"]


async def test_a_refused_parent_edit_is_left_to_the_sender(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("chat.update", status=500)
    assert await h.triage.actions.acknowledge(thread.scan_id, CHANNEL, U1) == Outcome(True)
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


# -- assigning -----------------------------------------------------------------------------


async def test_open_assign_opens_the_modal_with_the_current_assignee(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.actions.assign(thread.scan_id, CHANNEL, U1, U2, "")
    outcome = await h.triage.actions.open_assign(
        thread.scan_id, CHANNEL, "trigger-1", thread.parent_ts
    )
    assert outcome == Outcome(True)
    (call,) = h.slack.calls_to("views.open")
    assert call.body["trigger_id"] == "trigger-1"
    text = call.body["view"]["blocks"][0]["text"]["text"]
    assert text == f"assign {thread.scan_id} {CHANNEL} {thread.parent_ts} current={U2}"


async def test_open_assign_with_an_expired_trigger_says_click_again(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("views.open", error="expired_trigger_id")
    outcome = await h.triage.actions.open_assign(thread.scan_id, CHANNEL, "old", thread.parent_ts)
    assert not outcome.changed
    assert outcome.notice is not None
    assert "click again" in outcome.notice


async def test_an_assign_form_is_believed_only_as_scanbot_sealed_it(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    thread = await h.thread(h.scan())
    await h.triage.actions.open_assign(thread.scan_id, CHANNEL, "trigger-1", thread.parent_ts)
    (call,) = h.slack.calls_to("views.open")
    sealed = call.body["view"]["private_metadata"]
    assert h.triage.actions.assign_form(sealed) == (thread.scan_id, CHANNEL)
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
            assert h.triage.actions.assign_form(text) is None
        (line,) = caplog.records
        assert "did not seal" in line.getMessage()
        assert "C0OTHER" not in line.getMessage()  # the form's content is not logged
    other_key = h.another_triage(seal_key=actions.seal_key("another secret"))
    assert other_key.assign_form(sealed) is None


async def test_assign_reassign_and_unassign(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.actions.assign(thread.scan_id, CHANNEL, U1, U2, "please") == Outcome(True)
    assert h.reply_texts(thread) == [f"assigned to {U2} by {U1} note=please"]
    assert f"assignee={U2}" in h.parent(thread)["text"]
    same = await h.triage.actions.assign(thread.scan_id, CHANNEL, U1, U2, "again")
    assert same == Outcome(False, f"<@{U2}> is already assigned to this alert.")
    assert len(h.replies(thread)) == 1
    assert await h.triage.actions.assign(thread.scan_id, CHANNEL, U2, None, "") == Outcome(True)
    assert (await h.stored(thread)).assignee is None
    assert "assignee=None" in h.parent(thread)["text"]
    nobody = await h.triage.actions.assign(thread.scan_id, CHANNEL, U2, "", "")
    assert nobody == Outcome(False, "Nobody is assigned to this alert.")
    assert [a for _, a, _ in await audit_actions(h, thread.scan_id)] == ["assign", "assign"]


# -- snoozing and muting -------------------------------------------------------------------


async def test_snooze_for_a_time_sets_until_from_the_clock(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "4h") == Outcome(True)
    stored = await h.stored(thread)
    assert stored.snoozed_until == T0 + timedelta(hours=4)
    assert stored.snoozed_in_state is None
    assert h.reply_texts(thread) == [f"snoozed by {U1} for 4h until {T0 + timedelta(hours=4)}"]
    assert "snoozed=2026-11-01T16:00:00+00:00" in h.parent(thread)["text"]
    assert await audit_actions(h, thread.scan_id) == [(U1, "snooze", "4h")]


async def test_snooze_until_the_next_state_waits_out_the_current_one(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("RUNNING", progress=40))
    assert await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "next_state") == Outcome(True)
    stored = await h.stored(thread)
    assert (stored.snoozed_until, stored.snoozed_in_state) == (None, "RUNNING")
    again = await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "next_state")
    assert not again.changed
    assert again.notice == "This alert is already snoozed until the next state change."
    assert len(h.replies(thread)) == 1


@pytest.mark.parametrize("choice", ["1h", "4h", "24h", "next_state"])
async def test_the_same_snooze_replayed_doubled_or_by_two_people_changes_nothing(
    harness: Harness, choice: str
) -> None:
    h = harness
    thread = await h.thread(h.scan("RUNNING", progress=40))
    first = await asyncio.gather(
        h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, choice),
        h.triage.actions.snooze(thread.scan_id, CHANNEL, U2, choice),
        h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, choice),
    )
    assert [o.changed for o in first].count(True) == 1
    snoozed = await h.stored(thread)
    h.clock.advance(timedelta(minutes=50))  # an old message, replayed later
    before = len(h.slack.calls)
    replayed = await h.triage.actions.snooze(thread.scan_id, CHANNEL, U2, choice)
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
    await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "1h")
    h.clock.advance(timedelta(hours=1))
    assert await h.triage.actions.snooze(thread.scan_id, CHANNEL, U2, "1h") == Outcome(True)
    assert (await h.stored(thread)).snoozed_until == T0 + timedelta(hours=2)
    assert len(h.replies(thread)) == 2


async def test_another_option_while_snoozed_is_a_change(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("RUNNING", progress=40))
    await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "24h")
    assert (await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "1h")).changed
    assert (await h.stored(thread)).snoozed_until == T0 + timedelta(hours=1)
    assert (await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "next_state")).changed
    assert (await h.stored(thread)).snoozed_in_state == "RUNNING"
    assert [d for _, _, d in await audit_actions(h, thread.scan_id)] == ["24h", "1h", "next_state"]


async def test_next_state_chosen_again_after_the_scan_moved_on_waits_the_new_one_out(
    harness: Harness,
) -> None:
    h = harness
    scan_id = h.scan("QUEUED")
    thread = await h.thread(scan_id)
    await h.triage.actions.snooze(scan_id, CHANNEL, U1, "next_state")
    h.world.set_state(scan_id, "RUNNING", progress=5)
    await h.store.snapshots.record([h.snapshot(scan_id)], [])  # the poller saw it start
    assert (await h.triage.actions.snooze(scan_id, CHANNEL, U1, "next_state")).changed
    assert (await h.stored(thread)).snoozed_in_state == "RUNNING"


async def test_a_finished_scan_cannot_wait_for_its_next_state(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("SUCCEEDED"))
    outcome = await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "next_state")
    assert not outcome.changed
    assert outcome.notice is not None
    assert "finished" in outcome.notice
    assert (await h.stored(thread)).snoozed_in_state is None


async def test_an_unknown_snooze_choice_is_refused(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    before = len(h.slack.calls)
    for choice in ("2h", "", "NEXT_STATE", "1h; drop table"):
        outcome = await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, choice)
        assert outcome == Outcome(False, SNOOZE_CHOICES), choice
    assert slack_methods(h, before) == []
    assert await audit_actions(h, thread.scan_id) == []


async def test_unsnooze(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.actions.unsnooze(thread.scan_id, CHANNEL, U1) == Outcome(
        False, "This alert is not snoozed."
    )
    await h.triage.actions.snooze(thread.scan_id, CHANNEL, U1, "1h")
    assert await h.triage.actions.unsnooze(thread.scan_id, CHANNEL, U2) == Outcome(True)
    stored = await h.stored(thread)
    assert (stored.snoozed_until, stored.snoozed_in_state) == (None, None)
    assert h.reply_texts(thread)[-1] == f"unsnoozed by {U2}"
    assert "snoozed=None" in h.parent(thread)["text"]


async def test_mute_and_unmute(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    assert await h.triage.actions.unmute(thread.scan_id, CHANNEL, U1) == Outcome(
        False, "This alert is not muted."
    )
    assert await h.triage.actions.mute(thread.scan_id, CHANNEL, U1) == Outcome(True)
    assert await h.triage.actions.mute(thread.scan_id, CHANNEL, U2) == Outcome(
        False, "This alert is already muted."
    )
    assert "muted=True" in h.parent(thread)["text"]
    assert await h.triage.actions.unmute(thread.scan_id, CHANNEL, U2) == Outcome(True)
    assert "muted=False" in h.parent(thread)["text"]
    assert h.reply_texts(thread) == [f"muted by {U1}", f"unmuted by {U2}"]
    assert [(u, a) for u, a, _ in await audit_actions(h, thread.scan_id)] == [
        (U1, "mute"),
        (U2, "unmute"),
    ]
