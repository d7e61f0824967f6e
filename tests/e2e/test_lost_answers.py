"""Exactly once when Slack's answer is lost (issue 8, item 3): the fake Slack stores a post
and drops the connection before answering. The sender must not post it again blindly: it
looks for the post's metadata key in the channel or the thread and adopts what it finds.
Crashes between Slack's accepting and the ts being stored are in test_crash.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanbot.alerts.sender import Sender, SendReport
from scanbot.cli import status_lines
from scanbot.domain.clock import utcnow
from tests.databases import fresh_database
from tests.e2e.conftest import Stack, frozen_world, running_stack
from tests.slack.blockkit import assert_valid_message

CHANNEL = "C0SECOPS"


@pytest.fixture(params=["sqlite", "postgres"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    async with (
        fresh_database(request.param, tmp_path) as (url, _),
        running_stack(
            frozen_world(), database_url=url, settings={"full_sweep_every": 1}
        ) as running,
    ):
        await running.runtime.store.subscriptions.add(CHANNEL, events=["finished", "risks"])
        await running.runtime.alerts.tick()  # baseline
        yield running


def _messages(stack: Stack, scan_id: str) -> list[dict[str, Any]]:
    """What people see about `scan_id` in the channel: parents and replies."""
    return [m for m in stack.slack.channels.get(CHANNEL, []) if scan_id in m.get("text", "")]


async def _round(stack: Stack, minutes: int) -> SendReport:
    """A delivery round as if `minutes` had passed: rows retried later are due."""
    later: datetime = utcnow() + timedelta(minutes=minutes)
    sender = Sender(stack.runtime.slack, stack.runtime.store, clock=lambda: later)
    return await sender.deliver()


async def test_a_parent_whose_answer_was_lost_is_found_not_posted_again(stack: Stack) -> None:
    scan_id = stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", drop=True)
    first = await stack.runtime.alerts.tick()
    assert first.sent is not None
    assert (first.sent.sent, first.sent.retried) == (0, 1)
    (posted,) = _messages(stack, scan_id)  # Slack has it; scanbot does not know
    assert posted["metadata"]["event_type"] == "scanbot_alert"
    assert_valid_message(posted)

    again = await _round(stack, 10)
    assert (again.sent, again.adopted) == (0, 1)
    assert _messages(stack, scan_id) == [posted]
    (looked,) = stack.slack.calls_to("conversations.history")
    assert looked.body["channel"] == CHANNEL
    thread = await stack.runtime.store.threads.get(scan_id, CHANNEL)
    assert thread is not None
    assert thread.parent_ts == posted["ts"]
    assert (await stack.runtime.store.outbox.counts()).get("pending") is None
    assert (await _round(stack, 60)).sent == 0


async def test_two_drops_in_a_row_still_leave_one_message(stack: Stack) -> None:
    """The post's answer is lost, then the look's answer too: one message, found later."""
    scan_id = stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", drop=True)
    stack.slack.fail_next("conversations.history", drop=True)
    await stack.runtime.alerts.tick()
    undecided = await _round(stack, 10)
    assert (undecided.sent, undecided.adopted, undecided.retried) == (0, 0, 1)
    found = await _round(stack, 60)
    assert (found.sent, found.adopted) == (0, 1)
    assert len(_messages(stack, scan_id)) == 1


async def test_a_reply_whose_answer_was_lost_is_found_in_its_thread(stack: Stack) -> None:
    scan_id = stack.world.add_scan(
        type="OPENVAS", state="RUNNING", progress=50, targets=["x.example"], risks=1
    )
    await stack.runtime.alerts.tick()  # its new risk: the parent
    stack.world.remove_scan(scan_id)
    (parent,) = _messages(stack, scan_id)
    parent_ts = parent["ts"]
    await stack.runtime.alerts.tick()  # the first 404
    stack.slack.fail_next("chat.postMessage", drop=True)
    await stack.runtime.alerts.tick()  # gone: a note in the thread, answer lost
    assert len(_messages(stack, scan_id)) == 2
    report = await _round(stack, 10)
    assert report.adopted == 1
    replies = stack.slack.calls_to("conversations.replies")
    assert [c.body["ts"] for c in replies] == [parent_ts]
    assert len(_messages(stack, scan_id)) == 2


async def test_without_the_history_scope_it_posts_again_and_says_so(stack: Stack) -> None:
    stack.slack.missing_scopes = {"channels:history"}
    scan_id = stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", drop=True)
    await stack.runtime.alerts.tick()
    report = await _round(stack, 10)
    assert (report.sent, report.paused) == (1, None)  # today's behaviour: posted again
    assert len(_messages(stack, scan_id)) == 2
    status = await stack.runtime.store.status()
    assert status.resend_check_unavailable == f"missing_scope ({CHANNEL})"
    assert any("NOT checked" in line for line in status_lines(status))
    assert status.health == "ok"
