"""On-call triage end to end: signed block_actions, view_submission and app_home_opened
requests over HTTP to the real app; the fake Slack records what people would see."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from scanbot.demo import find_element
from scanbot.domain.clock import utcnow
from scanbot.domain.threads import SnoozeChoice
from scanbot.sandbox.slack_user import (
    block_action,
    event_callback,
    signed_headers,
    view_submission,
)
from scanbot.slack import actions
from tests.e2e.conftest import SIGNING_SECRET, Stack, frozen_world, running_stack, wait_until
from tests.slack.blockkit import assert_valid_message, parsed_payload

CHANNEL = "C0SECOPS"
OTHER = "C0OTHER"
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with running_stack(frozen_world(), settings={"full_sweep_every": 1}) as running:
        yield running


async def _alert_thread(stack: Stack, *, state: str = "SUCCEEDED", risks: int = 3) -> str:
    """Subscribe the channel and make one scan alert: returns its id (a parent exists)."""
    await stack.command("/scans", "subscribe started finished failed risks", channel_id=CHANNEL)
    await stack.runtime.alerts.tick()  # baseline
    scan_id = stack.world.add_scan(
        type="OPENVAS", state=state, targets=["shop.example.com"], risks=risks
    )
    await stack.runtime.alerts.tick()
    assert _parent(stack, scan_id) is not None
    return scan_id


def _parent(stack: Stack, scan_id: str) -> dict[str, Any]:
    (parent,) = [
        m
        for m in stack.slack.channels[CHANNEL]
        if scan_id in m.get("text", "") and m.get("thread_ts", m["ts"]) == m["ts"]
    ]
    return parent


def _replies(stack: Stack, scan_id: str) -> list[dict[str, Any]]:
    ts = _parent(stack, scan_id)["ts"]
    return [m for m in stack.slack.channels[CHANNEL] if m.get("thread_ts") == ts and m["ts"] != ts]


def _form(
    stack: Stack,
    scan_id: str,
    kind: str,
    *,
    user: str = ALICE,
    selected: str | None = None,
    parent: dict[str, Any] | None = None,
) -> tuple[dict[str, str], str]:
    """The form of a click on `kind` on the scan's parent (as it is now, or an old copy of
    it: `parent`) as `user`, and the click's response_url."""
    parent = parent or _parent(stack, scan_id)
    element, block_id = find_element(parent, kind)
    url = stack.slack.response_url(stack.slack_url)
    form = block_action(
        element["action_id"],
        str(element.get("value", "")),
        response_url=url,
        is_ephemeral=False,
        user_id=user,
        channel_id=CHANNEL,
        message_ts=parent["ts"],
        block_id=block_id,
        selected=selected,
    )
    return form, url


async def _click(
    stack: Stack, scan_id: str, kind: str, *, user: str = ALICE, selected: str | None = None
) -> str:
    """Click `kind` on the scan's parent as `user`; returns the click's response_url."""
    form, url = _form(stack, scan_id, kind, user=user, selected=selected)
    response = await stack.send(form)
    assert response.status_code == 200
    return url


async def _send_at_once(stack: Stack, forms: list[dict[str, str]]) -> None:
    """Signed requests sent together, as Slack sends clicks that come together."""
    responses = await asyncio.gather(*(stack.send(form) for form in forms))
    assert [r.status_code for r in responses] == [200] * len(forms)


async def _notices(stack: Stack, urls: list[str], count: int) -> list[str]:
    """Wait until `count` of these clicks were answered privately; their answers."""
    await wait_until(lambda: sum(len(stack.slack.responses_to(u)) for u in urls) >= count)
    await _settled(stack)
    return [json.dumps(p.body) for u in urls for p in stack.slack.responses_to(u)]


def _edits(stack: Stack, scan_id: str) -> int:
    ts = _parent(stack, scan_id)["ts"]
    return sum(call.body.get("ts") == ts for call in stack.slack.calls_to("chat.update"))


async def _settled(stack: Stack) -> None:
    """Wait for the replies under way (the listeners work after the ack)."""
    await wait_until(lambda: len(stack.runtime.inflight) == 0)


async def test_acknowledge_is_recorded_shown_and_idempotent(stack: Stack) -> None:
    scan_id = await _alert_thread(stack)
    await _click(stack, scan_id, actions.ACK)
    await _settled(stack)
    replies = _replies(stack, scan_id)
    assert any("acknowledged" in r["text"].lower() for r in replies)
    parent = _parent(stack, scan_id)
    assert f"<@{ALICE}>" in json.dumps(parent["blocks"])
    dates = set(re.findall(r"<!date\^\d+\^[^|>]*\|[^>]*>", json.dumps(parent)))
    assert_valid_message(parent, allowed_mentions={f"<@{ALICE}>", *dates})

    count = len(replies)
    url = await _click(stack, scan_id, actions.ACK)  # a double click
    notice = await stack.answer_to(url)
    assert "already" in json.dumps(notice.body)
    assert len(_replies(stack, scan_id)) == count

    await _click(stack, scan_id, actions.ACK, user=BOB)  # everyone's acknowledgement counts
    await _settled(stack)
    shown = json.dumps(_parent(stack, scan_id)["blocks"])
    assert f"<@{ALICE}>" in shown
    assert f"<@{BOB}>" in shown
    audit = await _audit(stack, scan_id)
    assert [(a.user_id, a.action) for a in audit] == [(ALICE, "acknowledge"), (BOB, "acknowledge")]


async def test_undo_acknowledgement(stack: Stack) -> None:
    scan_id = await _alert_thread(stack)
    await _click(stack, scan_id, actions.ACK)
    await _settled(stack)
    await _click(stack, scan_id, actions.UNACK)
    await _settled(stack)
    assert f"<@{ALICE}>" not in json.dumps(_parent(stack, scan_id)["blocks"]).split("Undo")[0]
    assert [a.action for a in await _audit(stack, scan_id)] == ["acknowledge", "unacknowledge"]


async def test_assign_through_the_modal(stack: Stack) -> None:
    scan_id = await _alert_thread(stack)
    await _click(stack, scan_id, actions.ASSIGN)
    (opened,) = await stack.slack.wait_for_calls("views.open")
    view = opened.body["view"]
    assert view["callback_id"] == actions.ASSIGN_VIEW
    note = "<!channel> look at port 443"
    values = {
        "assignee": {"user": {"type": "users_select", "selected_user": BOB}},
        "note": {"text": {"type": "plain_text_input", "value": note}},
    }
    body = view_submission(actions.ASSIGN_VIEW, view["private_metadata"], values, user_id=ALICE)
    assert (await stack.send(body)).status_code == 200
    await wait_until(lambda: any(f"<@{BOB}>" in r["text"] for r in _replies(stack, scan_id)))
    await _settled(stack)
    reply = next(r for r in _replies(stack, scan_id) if f"<@{BOB}>" in r["text"])
    assert "<!channel>" not in parsed_payload(reply)  # nowhere Slack would parse it
    quote = {"type": "rich_text_quote", "elements": [{"type": "text", "text": note}]}
    assert {"type": "rich_text", "elements": [quote]} in reply["blocks"]  # shown as typed
    assert "Assigned to" in json.dumps(_parent(stack, scan_id)["blocks"])


async def test_snooze_until_the_next_state_holds_alerts_and_summarises_them(
    stack: Stack,
) -> None:
    await stack.command("/scans", "subscribe started finished failed risks", channel_id=CHANNEL)
    await stack.runtime.alerts.tick()  # baseline
    scan_id = _a_scan_that_finds_risks(stack)
    stack.world.set_state(scan_id, "RUNNING", progress=1)
    await stack.runtime.alerts.tick()  # started: the parent
    await _click(stack, scan_id, actions.SNOOZE, selected="next_state")
    await _settled(stack)
    before = len(_replies(stack, scan_id))
    stack.world.set_state(scan_id, "RUNNING", progress=90)  # new risks appear: held
    report = await stack.runtime.alerts.tick()
    assert report.sent is not None
    assert report.sent.held >= 1
    assert len(_replies(stack, scan_id)) == before
    stack.world.set_state(scan_id, "FAILED")  # the next state: the snooze ends
    await stack.runtime.alerts.tick()
    texts = [r["text"] for r in _replies(stack, scan_id)[before:]]
    assert any("failed" in t for t in texts)
    assert sum("while" in t.lower() for t in texts) == 1  # one summary of what was held


async def test_mute_then_unmute_releases_one_summary(stack: Stack) -> None:
    scan_id = await _alert_thread(stack, state="RUNNING", risks=0)
    await _click(stack, scan_id, actions.MUTE)
    await _settled(stack)
    before = len(_replies(stack, scan_id))
    stack.world.set_state(scan_id, "SUCCEEDED")
    await stack.runtime.alerts.tick()
    assert len(_replies(stack, scan_id)) == before  # held, not lost
    await _click(stack, scan_id, actions.UNMUTE)
    await _settled(stack)
    await stack.runtime.alerts.tick()
    new = [r["text"] for r in _replies(stack, scan_id)[before:]]
    assert sum("while" in t.lower() for t in new) == 1


async def test_show_risks_and_open_one(stack: Stack) -> None:
    scan_id = await _alert_thread(stack, risks=5)
    await _click(stack, scan_id, actions.RISKS)
    await _settled(stack)
    listing = _replies(stack, scan_id)[-1]
    assert_valid_message(listing)
    button, block_id = find_element(listing, actions.RISK)
    url = stack.slack.response_url(stack.slack_url)
    form = block_action(
        button["action_id"],
        button["value"],
        response_url=url,
        is_ephemeral=False,
        channel_id=CHANNEL,
        block_id=block_id,
    )
    await stack.send(form)
    (opened,) = await stack.slack.wait_for_calls("views.open")
    (updated,) = await stack.slack.wait_for_calls("views.update")
    assert opened.at <= updated.at
    title = stack.world.get_risk(button["value"])["risk_definition"]["title"]
    assert title.split()[0] in json.dumps(updated.body["view"])


async def test_report_is_uploaded_into_the_thread(stack: Stack) -> None:
    scan_id = await _alert_thread(stack)
    await _click(stack, scan_id, actions.REPORT)
    (complete,) = await stack.slack.wait_for_calls("files.completeUploadExternal")
    await _settled(stack)
    assert complete.body["channel_id"] == CHANNEL
    assert complete.body["thread_ts"] == _parent(stack, scan_id)["ts"]
    (upload,) = stack.slack.uploads.values()
    assert upload.content.startswith(b"%PDF")


async def test_a_click_on_a_thread_scanbot_no_longer_tracks(stack: Stack) -> None:
    url = stack.slack.response_url(stack.slack_url)
    form = block_action(
        f"{actions.ACK}:0",
        "no-such-scan",
        response_url=url,
        is_ephemeral=False,
        channel_id=CHANNEL,
    )
    await stack.send(form)
    notice = await stack.answer_to(url)
    assert "no longer tracked" in json.dumps(notice.body)


async def test_triage_lists_unacknowledged_alerts(stack: Stack) -> None:
    scan_id = await _alert_thread(stack)
    answer = await stack.command("/scans", "triage", channel_id=CHANNEL)
    assert scan_id in json.dumps(answer.body)
    await _click(stack, scan_id, actions.ACK)
    await _settled(stack)
    answer = await stack.command("/scans", "triage", channel_id=CHANNEL)
    assert scan_id not in json.dumps(answer.body)


async def test_home_tab_shows_what_is_assigned_and_waiting(stack: Stack) -> None:
    scan_id = await _alert_thread(stack)
    body = event_callback({"type": "app_home_opened", "user": ALICE, "tab": "home"})
    headers = signed_headers(SIGNING_SECRET, body)
    headers["Content-Type"] = "application/json"
    response = await stack.http.post(stack.events_url, content=body, headers=headers)
    assert response.status_code == 200
    (published,) = await stack.slack.wait_for_calls("views.publish")
    assert published.body["user_id"] == ALICE
    assert scan_id in json.dumps(published.body["view"])


async def test_triage_state_survives_a_restart() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        world = frozen_world()
        url = f"sqlite:///{scratch}/scanbot.sqlite3"
        options: dict[str, Any] = {"database_url": url, "settings": {"full_sweep_every": 1}}
        async with running_stack(world, **options) as first:
            scan_id = await _alert_thread(first)
            await _click(first, scan_id, actions.ACK)
            await _click(first, scan_id, actions.MUTE)
            await _settled(first)
            channel = first.slack.channels[CHANNEL]
        async with running_stack(world, **options) as second:
            second.slack.channels[CHANNEL] = channel  # the messages stay in Slack
            url_ = await _click(second, scan_id, actions.ACK)  # a replay from the old message
            notice = await second.answer_to(url_)
            assert "already" in json.dumps(notice.body)
            world.set_state(scan_id, "FAILED")
            report = await second.runtime.alerts.tick()
            assert report.sent is not None
            assert report.sent.held >= 1  # still muted after the restart


async def test_guests_and_external_people_see_no_scan_data(stack: Stack) -> None:
    stack.slack.guests.add("U0GUEST")
    stack.slack.external.add("U0PARTNER")
    for user in ("U0GUEST", "U0PARTNER"):
        answer = await stack.command("/scans", user_id=user)
        assert "guests" in json.dumps(answer.body)
        answer = await stack.command("/scan", stack.world.list_scans(None)[0]["id"], user_id=user)
        assert "guests" in json.dumps(answer.body)
    member = await stack.command("/scans", user_id=ALICE)
    assert "guests" not in json.dumps(member.body)


async def test_guests_may_see_scans_when_allowed() -> None:
    async with running_stack(frozen_world(), settings={"allow_guests": True}) as stack:
        stack.slack.guests.add("U0GUEST")
        answer = await stack.command("/scans", user_id="U0GUEST")
        assert "guests" not in json.dumps(answer.body)


async def test_only_admins_change_subscriptions_when_admins_are_set() -> None:
    async with running_stack(frozen_world(), settings={"admins": "U0ADMIN"}) as stack:
        refused = await stack.command("/scans", "subscribe", channel_id=CHANNEL, user_id=ALICE)
        assert "<@U0ADMIN>" in json.dumps(refused.body)
        assert await stack.runtime.store.subscriptions.all(CHANNEL) == []
        await stack.command("/scans", "subscribe", channel_id=CHANNEL, user_id="U0ADMIN")
        assert len(await stack.runtime.store.subscriptions.all(CHANNEL)) == 1
        listing = await stack.command("/scans", "subscriptions", channel_id=CHANNEL, user_id=ALICE)
        assert "#1" in json.dumps(listing.body)  # anyone may look


def _a_scan_that_finds_risks(stack: Stack) -> str:
    """A generated queued scan whose risks appear as it runs (its new_open grows)."""
    for scan in stack.world.list_scans({"state": ["QUEUED"]}):
        stack.world.set_state(scan["id"], "RUNNING", progress=95)
        if stack.world.get_scan(scan["id"])["risks"]["new_open"]:
            stack.world.set_state(scan["id"], "QUEUED")
            return str(scan["id"])
        stack.world.set_state(scan["id"], "QUEUED")
    raise AssertionError("no queued scan in this world finds risks")


async def _audit(stack: Stack, scan_id: str) -> list[Any]:
    return await stack.runtime.store.triage.audit(scan_id, CHANNEL)


# -- idempotence: replayed, doubled and concurrent clicks ----------------------------------


@pytest.mark.parametrize("choice", [choice.value for choice in SnoozeChoice])
async def test_a_snooze_chosen_again_changes_nothing_and_posts_nothing(
    stack: Stack, choice: str
) -> None:
    """Three clicks at once (a double click, and someone else), then a replay from the old
    message: one change, one audit line, one reply, one parent edit."""
    scan_id = await _alert_thread(stack, state="RUNNING", risks=0)
    old = copy.deepcopy(_parent(stack, scan_id))  # Slack edits the message in place
    replies, edits = len(_replies(stack, scan_id)), _edits(stack, scan_id)
    clicks = [
        _form(stack, scan_id, actions.SNOOZE, user=user, selected=choice, parent=old)
        for user in (ALICE, BOB, ALICE)
    ]
    await _send_at_once(stack, [form for form, _ in clicks])
    notices = await _notices(stack, [url for _, url in clicks], 2)
    assert all("already snoozed" in notice for notice in notices)
    assert "Snoozed until" in json.dumps(_parent(stack, scan_id)["blocks"])

    replay, url = _form(stack, scan_id, actions.SNOOZE, selected=choice, parent=old)
    assert (await stack.send(replay)).status_code == 200
    assert "already snoozed" in json.dumps((await stack.answer_to(url)).body)
    await _settled(stack)
    assert len(_replies(stack, scan_id)) == replies + 1
    assert _edits(stack, scan_id) == edits + 1
    assert [(a.action, a.detail) for a in await _audit(stack, scan_id)] == [("snooze", choice)]


# (what is done first, the click, who clicks, the audit action it leaves)
TRIAGE_CLICKS = {
    "acknowledge": ((), actions.ACK, (ALICE, ALICE, ALICE), "acknowledge"),
    "undo": ((actions.ACK,), actions.UNACK, (ALICE, ALICE, ALICE), "unacknowledge"),
    "mute": ((), actions.MUTE, (ALICE, BOB, CAROL), "mute"),
    "unmute": ((actions.MUTE,), actions.UNMUTE, (ALICE, BOB, CAROL), "unmute"),
    "unsnooze": ((actions.SNOOZE,), actions.UNSNOOZE, (ALICE, BOB, CAROL), "unsnooze"),
}


@pytest.mark.parametrize("name", list(TRIAGE_CLICKS))
async def test_every_triage_click_doubled_concurrent_or_replayed_changes_once(
    stack: Stack, name: str
) -> None:
    before, kind, users, action = TRIAGE_CLICKS[name]
    scan_id = await _alert_thread(stack, state="RUNNING", risks=0)
    for first in before:
        await _click(stack, scan_id, first, selected="4h" if first == actions.SNOOZE else None)
        await _settled(stack)
    old = copy.deepcopy(_parent(stack, scan_id))  # Slack edits the message in place
    replies, edits = len(_replies(stack, scan_id)), _edits(stack, scan_id)
    audit = len(await _audit(stack, scan_id))
    clicks = [_form(stack, scan_id, kind, user=user, parent=old) for user in users]
    await _send_at_once(stack, [form for form, _ in clicks])
    await _notices(stack, [url for _, url in clicks], 2)

    replay, url = _form(stack, scan_id, kind, parent=old)
    assert (await stack.send(replay)).status_code == 200
    await stack.answer_to(url)  # "already ..." or "not ...": said to the clicker only
    await _settled(stack)
    assert len(_replies(stack, scan_id)) == replies + 1
    assert _edits(stack, scan_id) == edits + 1
    assert [a.action for a in (await _audit(stack, scan_id))[audit:]] == [action]


async def test_an_assign_form_submitted_twice_at_once_and_replayed_assigns_once(
    stack: Stack,
) -> None:
    scan_id = await _alert_thread(stack)
    await _click(stack, scan_id, actions.ASSIGN)
    (opened,) = await stack.slack.wait_for_calls("views.open")
    metadata = opened.body["view"]["private_metadata"]
    values = {"assignee": {"user": {"type": "users_select", "selected_user": BOB}}}
    forms = [
        view_submission(actions.ASSIGN_VIEW, metadata, values, user_id=user)
        for user in (ALICE, ALICE, CAROL)
    ]
    replies, edits = len(_replies(stack, scan_id)), _edits(stack, scan_id)
    await _send_at_once(stack, forms)
    await wait_until(lambda: len(stack.slack.calls_to("chat.postEphemeral")) == 2)
    assert (await stack.send(forms[0])).status_code == 200  # a replay
    await wait_until(lambda: len(stack.slack.calls_to("chat.postEphemeral")) == 3)
    await _settled(stack)
    for call in stack.slack.calls_to("chat.postEphemeral"):
        assert call.body["channel"] == CHANNEL
        assert "already assigned" in call.body["text"]
    assert len(_replies(stack, scan_id)) == replies + 1
    assert _edits(stack, scan_id) == edits + 1
    assert [(a.action, a.detail) for a in await _audit(stack, scan_id)] == [("assign", BOB)]


# -- the card never goes backwards; a snooze that ended is drawn as ended ------------------


async def test_refresh_then_acknowledge_keeps_what_refresh_showed(stack: Stack) -> None:
    scan_id = await _alert_thread(stack, state="RUNNING", risks=0)
    stack.world.set_state(scan_id, "RUNNING", progress=10)
    await stack.runtime.alerts.tick()
    assert "10%" in json.dumps(_parent(stack, scan_id)["blocks"])
    stack.world.set_state(scan_id, "RUNNING", progress=80)  # the poller has not looked yet
    await _click(stack, scan_id, actions.THREAD_REFRESH)
    await _settled(stack)
    assert "80%" in json.dumps(_parent(stack, scan_id)["blocks"])

    await _click(stack, scan_id, actions.ACK)
    await _settled(stack)
    card = json.dumps(_parent(stack, scan_id)["blocks"])
    assert "80%" in card  # not back at 10%
    assert f"<@{ALICE}>" in card
    edits = _edits(stack, scan_id)
    await stack.runtime.alerts.tick()  # the poller catches up: nothing older is drawn
    assert "80%" in json.dumps(_parent(stack, scan_id)["blocks"])
    assert _edits(stack, scan_id) == edits  # it shows what the poller saw already


class MovableClock:
    """Real time plus an offset a test moves forward (rows the store dates by real time
    stay due)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


async def test_a_snooze_that_ends_with_nothing_held_is_redrawn_as_ended() -> None:
    clock = MovableClock()
    options: dict[str, Any] = {"settings": {"full_sweep_every": 1}, "clock": clock}
    async with running_stack(frozen_world(), **options) as stack:
        scan_id = await _alert_thread(stack, state="RUNNING", risks=0)
        await _click(stack, scan_id, actions.SNOOZE, selected="1h")
        await _settled(stack)
        snoozed = _parent(stack, scan_id)
        assert "Snoozed until" in json.dumps(snoozed["blocks"])
        find_element(snoozed, actions.UNSNOOZE)
        with pytest.raises(LookupError):
            find_element(snoozed, actions.SNOOZE)

        clock.offset = timedelta(minutes=59)
        await stack.runtime.alerts.deliver_tick()
        assert "Snoozed until" in json.dumps(_parent(stack, scan_id)["blocks"])

        clock.offset = timedelta(hours=1, seconds=1)
        # Two delivery rounds at once (a webhook's and the scheduled one): one ending.
        await asyncio.gather(
            stack.runtime.alerts.deliver_tick(), stack.runtime.alerts.deliver_tick()
        )
        ended = _parent(stack, scan_id)
        assert "Snoozed until" not in json.dumps(ended["blocks"])
        find_element(ended, actions.SNOOZE)  # the menu is back
        with pytest.raises(LookupError):
            find_element(ended, actions.UNSNOOZE)
        audit = [(a.user_id, a.action, a.detail) for a in await _audit(stack, scan_id)]
        assert audit == [(ALICE, "snooze", "1h"), ("scanbot", "unsnooze", "expired")]
        assert len(_replies(stack, scan_id)) == 1  # the snooze's own; nothing was held
        edits = _edits(stack, scan_id)
        await stack.runtime.alerts.tick()
        assert _edits(stack, scan_id) == edits  # the card is what the store says


# -- forged assign forms ------------------------------------------------------------------


async def test_a_forged_assign_form_changes_nothing(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    for channel in (CHANNEL, OTHER):
        await stack.command("/scans", "subscribe finished", channel_id=channel)
    await stack.runtime.alerts.tick()  # baseline
    scan_id = stack.world.add_scan(
        type="OPENVAS", state="SUCCEEDED", targets=["shop.example.com"], risks=1
    )
    await stack.runtime.alerts.tick()  # a thread in each channel
    await _click(stack, scan_id, actions.ASSIGN)
    (opened,) = await stack.slack.wait_for_calls("views.open")
    sealed = opened.body["view"]["private_metadata"]
    named, _, seal = sealed.rpartition(".")
    forged = {
        "another channel's thread": f"{named.replace(CHANNEL, OTHER)}.{seal}",
        "an altered seal": f"{named}.{seal[::-1]}",
        "no seal": named,
        "the old unsealed format": json.dumps(
            {"v": 1, "scan": scan_id, "channel": OTHER, "ts": "1.2"}, separators=(",", ":")
        ),
        "sealed with another secret": actions.seal(named, actions.seal_key("not scanbot's")),
        "garbage": "\x00<!channel>" + "[" * 2000,
    }
    values = {"assignee": {"user": {"type": "users_select", "selected_user": CAROL}}}
    messages = {c: len(stack.slack.channels[c]) for c in (CHANNEL, OTHER)}
    calls = len(stack.slack.calls)
    for what, metadata in forged.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="scanbot"):
            form = view_submission(actions.ASSIGN_VIEW, metadata, values, user_id=BOB)
            response = await stack.send(form)
        assert response.status_code == 200, what
        answer = response.json()
        assert answer["response_action"] == "errors", what
        assert "nothing was changed" in answer["errors"]["assignee"], what
        assert [r.getMessage()[:40] for r in caplog.records] == [
            "refused an assign form whose metadata sc"
        ], what
    await _settled(stack)
    assert len(stack.slack.calls) == calls  # no reply, no edit, no ephemeral anywhere
    assert {c: len(stack.slack.channels[c]) for c in (CHANNEL, OTHER)} == messages
    for channel in (CHANNEL, OTHER):
        thread = await stack.runtime.store.threads.get(scan_id, channel)
        assert thread is not None
        assert thread.assignee is None
    assert await _audit(stack, scan_id) == []

    genuine = view_submission(actions.ASSIGN_VIEW, sealed, values, user_id=BOB)
    assert (await stack.send(genuine)).status_code == 200
    await wait_until(lambda: any(f"<@{CAROL}>" in r["text"] for r in _replies(stack, scan_id)))
    await _settled(stack)
    assert [(a.user_id, a.action) for a in await _audit(stack, scan_id)] == [(BOB, "assign")]
