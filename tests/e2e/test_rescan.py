"""Re-scan from an alert thread end to end: Slack's confirm dialog on the button, one POST
for a double click, a replayed click and two people at once (the database decides), an
answer lost after the POST never followed by a second one, the two threads linked, and the
new scan's parent saying which scan it re-runs."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scanbot.domain.operations import OperationStatus
from scanbot.operations import sentences
from scanbot.sandbox.slack_user import block_action, event_callback, signed_headers
from scanbot.slack import actions
from scanbot.slack.permissions import NOT_AN_OPERATOR
from tests.e2e.conftest import SIGNING_SECRET, Stack, frozen_world, running_stack, wait_until
from tests.slack.blockkit import assert_valid_message, assert_valid_view, readable

CHANNEL = "C0SECOPS"
ALICE, BOB, CAROL, ADMIN = "U0ALICE", "U0BOB", "U0CAROL", "U0ADMIN"
Json = dict[str, Any]


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    settings = {"operators": f"{ALICE},{CAROL}", "admins": ADMIN, "full_sweep_every": 1}
    async with running_stack(frozen_world(), settings=settings) as running:
        yield running


async def _thread_of_a_finished_scan(stack: Stack, state: str = "FAILED") -> str:
    await stack.command("/scans", "subscribe started finished failed", user_id=ADMIN)
    await stack.runtime.alerts.tick()  # baseline
    scan_id = stack.world.add_scan(type="OPENVAS", state=state, targets=["shop.example.com"])
    await stack.runtime.alerts.tick()
    return scan_id


def _parent(stack: Stack, scan_id: str) -> Json:
    return next(
        m
        for m in stack.slack.channels[CHANNEL]
        if scan_id in m.get("text", "") and m.get("thread_ts", m["ts"]) == m["ts"]
    )


def _replies(stack: Stack, scan_id: str) -> list[Json]:
    ts = _parent(stack, scan_id)["ts"]
    return [m for m in stack.slack.channels[CHANNEL] if m.get("thread_ts") == ts and m["ts"] != ts]


def _rescan_button(stack: Stack, scan_id: str) -> Json:
    for block in _parent(stack, scan_id)["blocks"]:
        for element in block.get("elements", []):
            if str(element.get("action_id", "")).startswith(actions.RESCAN):
                return dict(element)
    raise AssertionError("no Re-scan button on the parent")


def _click_form(stack: Stack, scan_id: str, user: str) -> tuple[dict[str, str], str]:
    button = _rescan_button(stack, scan_id)
    url = stack.slack.response_url(stack.slack_url)
    form = block_action(
        button["action_id"],
        button["value"],
        response_url=url,
        user_id=user,
        channel_id=CHANNEL,
        message_ts=_parent(stack, scan_id)["ts"],
        is_ephemeral=False,
    )
    return form, url


async def _click(stack: Stack, scan_id: str, user: str = ALICE) -> Json:
    form, url = _click_form(stack, scan_id, user)
    assert (await stack.send(form)).status_code == 200
    return (await stack.answer_to(url)).body


def _posts(stack: Stack) -> list[Any]:
    return stack.sandbox.write_bodies("/v1/scans")


async def test_rescan_starts_the_same_scan_and_links_the_threads(stack: Stack) -> None:
    old_id = await _thread_of_a_finished_scan(stack)
    button = _rescan_button(stack, old_id)
    assert button["confirm"]["title"]["text"] == "Re-run this scan?"
    answer = await _click(stack, old_id)
    old = stack.world.get_scan(old_id)
    assert old is not None
    assert _posts(stack) == [
        {
            "type": "OPENVAS",
            "target_ids": [t["target_id"] for t in old["requested_targets"]],
            "use_authentication": False,
        }
    ]
    (row,), _ = await stack.runtime.store.operations.page()
    new_id = row.hostedscan_id
    assert new_id is not None
    assert row.status is OperationStatus.DONE
    assert new_id in json.dumps(answer["blocks"])
    assert old_id in json.dumps(answer["blocks"])  # "a re-run of"
    assert_valid_message(answer)
    (link,) = [r for r in _replies(stack, old_id) if new_id in json.dumps(r["blocks"])]
    assert_valid_message(link, allowed_mentions={f"<@{ALICE}>"})
    await stack.runtime.alerts.tick()  # the new scan's thread appears, and is linked
    await stack.runtime.alerts.tick()  # once
    back = [r for r in _replies(stack, new_id) if "re-runs" in r["text"]]
    assert len(back) == 1
    assert old_id in json.dumps(back[0]["blocks"])


async def test_double_replayed_and_concurrent_clicks_start_one_scan(stack: Stack) -> None:
    old_id = await _thread_of_a_finished_scan(stack, state="OVER_LIMIT")
    forms = [_click_form(stack, old_id, user) for user in (ALICE, ALICE, CAROL, CAROL)]
    responses = await asyncio.gather(*(stack.send(form) for form, _ in forms))
    assert all(r.status_code == 200 for r in responses)
    answers = [await stack.answer_to(url) for _, url in forms]
    replay, url = forms[0][0], forms[0][1]  # the very same request, later
    assert (await stack.send(replay)).status_code == 200
    await wait_until(lambda: len(stack.slack.responses_to(url)) == 2)
    assert len(_posts(stack)) == 1
    (row,), total = await stack.runtime.store.operations.page()
    assert total == 1
    for answer in [*answers, *stack.slack.responses_to(url)]:
        text = json.dumps(answer.body)
        assert (row.hostedscan_id or "?") in text or sentences.ALREADY_UNDER_WAY in text
    links = [r for r in _replies(stack, old_id) if "re-ran this scan" in r["text"]]
    assert len(links) == 1


async def test_a_lost_answer_is_never_followed_by_a_second_post(stack: Stack) -> None:
    old_id = await _thread_of_a_finished_scan(stack)
    stack.sandbox.fail_next_write(502, processed=True, path_prefix="/v1/scans")
    first = await _click(stack, old_id)
    assert first["text"] == sentences.OUTCOME_UNKNOWN
    second = await _click(stack, old_id, user=CAROL)
    assert second["text"] == sentences.OUTCOME_UNKNOWN
    assert len(_posts(stack)) == 1
    assert stack.world.quota_used() == 1  # HostedScan did start it, once
    (row,), _ = await stack.runtime.store.operations.page()
    assert row.status is OperationStatus.UNKNOWN


async def test_only_operators_rescan(stack: Stack) -> None:
    old_id = await _thread_of_a_finished_scan(stack)
    answer = await _click(stack, old_id, user=BOB)
    assert answer["text"] == NOT_AN_OPERATOR
    assert _posts(stack) == []


async def test_a_scan_still_running_is_not_rerun(stack: Stack) -> None:
    old_id = await _thread_of_a_finished_scan(stack)
    stack.world.set_state(old_id, "RUNNING", progress=10)  # a click from an old card
    answer = await _click(stack, old_id)
    assert answer["text"] == sentences.RESCAN_NOT_FINISHED
    assert _posts(stack) == []


async def test_the_run_limit_counts_rescans() -> None:
    settings = {"operators": ALICE, "admins": ADMIN, "run_limit": 1, "full_sweep_every": 1}
    async with running_stack(frozen_world(), settings=settings) as stack:
        first = await _thread_of_a_finished_scan(stack)
        second = stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["a.example.com"])
        await stack.runtime.alerts.tick()
        await _click(stack, first)
        answer = await _click(stack, second)
        assert "SCANBOT_RUN_LIMIT" in answer["text"]
        assert len(_posts(stack)) == 1


def _reads(message: Json) -> str:
    return "\n".join(readable(message["blocks"]))


async def test_the_new_parent_says_which_scan_it_reruns(stack: Stack) -> None:
    old_id = await _thread_of_a_finished_scan(stack)
    await _click(stack, old_id)
    (row,), _ = await stack.runtime.store.operations.page()
    new_id = row.hostedscan_id or "?"
    await stack.runtime.alerts.tick()  # the new scan's first alert: its parent, as posted
    await stack.runtime.alerts.tick()  # the following round edits it: the card key differs
    parent = _parent(stack, new_id)
    assert "edited" in parent
    assert f"Re-run of scan `{old_id}`" in _reads(parent)
    assert_valid_message(parent)
    old_parent = _parent(stack, old_id)  # a scan nobody re-ran says nothing of the kind
    assert "Re-run of" not in _reads(old_parent)
    assert "Re-run of" not in json.dumps(old_parent)
    await stack.runtime.alerts.tick()
    assert _parent(stack, new_id)["edited"] == parent["edited"]  # drawn once, not every round

    # The triage list and the Home tab list both threads as before.
    answer = await stack.command("/scans", "triage", channel_id=CHANNEL)
    listed = json.dumps(answer.body)
    assert old_id in listed
    assert new_id in listed
    assert "Re-run of" not in listed
    body = event_callback({"type": "app_home_opened", "user": ALICE, "tab": "home"})
    headers = signed_headers(SIGNING_SECRET, body)
    headers["Content-Type"] = "application/json"
    assert (await stack.http.post(stack.events_url, content=body, headers=headers)).is_success
    (published,) = await stack.slack.wait_for_calls("views.publish")
    view = published.body["view"]
    dates = set(re.findall(r"<!date\^[^>]*>", json.dumps(view)))
    links = {f"<{url}" for url in re.findall(r'"url": "([^"]+/archives/[^"]+)"', json.dumps(view))}
    assert_valid_view(view, allowed_mentions={f"<#{CHANNEL}>", f"<@{ALICE}>", *dates, *links})
    assert new_id in json.dumps(view)
