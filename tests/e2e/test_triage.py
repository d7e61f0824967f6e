"""On-call triage end to end: signed block_actions, view_submission and app_home_opened
requests over HTTP to the real app; the fake Slack records what people would see."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scanbot.demo import find_element
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


async def _click(
    stack: Stack, scan_id: str, kind: str, *, user: str = ALICE, selected: str | None = None
) -> str:
    """Click `kind` on the scan's parent as `user`; returns the click's response_url."""
    parent = _parent(stack, scan_id)
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
    response = await stack.send(form)
    assert response.status_code == 200
    return url


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
        assert await stack.runtime.store.subscriptions(CHANNEL) == []
        await stack.command("/scans", "subscribe", channel_id=CHANNEL, user_id="U0ADMIN")
        assert len(await stack.runtime.store.subscriptions(CHANNEL)) == 1
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
    from scanbot.store.triage import TriageStore

    return await TriageStore(stack.runtime.store).audit(scan_id, CHANNEL)
