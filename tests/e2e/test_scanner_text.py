"""Text from HostedScan end to end: a target named `*URGENT*` with a right-to-left override
reaches the fake Slack, over loopback HTTP, with its asterisks and the override shown; and
a channel's subscriptions stop at the limit with one sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from scanbot.domain.subscriptions import MAX_SUBSCRIPTIONS_PER_CHANNEL
from scanbot.slack.terminal import render_text
from scanbot.slack.text import INVISIBLE_MARK
from tests.e2e.conftest import Stack, frozen_world, running_stack
from tests.slack.blockkit import assert_valid_message, parsed_payload, rich_text_elements

CHANNEL = "C0SECOPS"
TARGET = "*URGENT*\u202e"  # reads bold in mrkdwn; the override reverses what follows it
SHOWN = f"*URGENT*{INVISIBLE_MARK}"


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with running_stack(frozen_world(), settings={"full_sweep_every": 1}) as running:
        yield running


def shows_the_target_literally(message: dict[str, Any]) -> None:
    """The target is a rich_text text element of its own, as typed (the override shown);
    nowhere Slack reads mrkdwn does it appear with its asterisks or the override."""
    shown = {"type": "text", "text": SHOWN, "style": {"code": True}}
    assert shown in list(rich_text_elements(message["blocks"]))
    parsed = parsed_payload(message)
    assert "*URGENT*" not in parsed
    assert "\u202e" not in str(message)
    assert SHOWN in render_text(message)  # and so in the terminal, the demo's and `scan`'s


async def test_the_scan_card_shows_the_target_as_typed(stack: Stack) -> None:
    scan_id = stack.world.add_scan(type="OPENVAS", state="SUCCEEDED", targets=[TARGET])
    answer = await stack.command("/scan", scan_id)
    assert_valid_message(answer.body)
    shows_the_target_literally(answer.body)


async def test_an_alert_parent_and_its_risks_show_the_target_as_typed(stack: Stack) -> None:
    answer = await stack.command("/scans", "subscribe finished risks", channel_id=CHANNEL)
    assert "Subscribed" in answer.body["text"]
    await stack.runtime.alerts.tick()  # the silent baseline
    scan_id = stack.world.add_scan(type="OPENVAS", state="SUCCEEDED", targets=[TARGET], risks=3)
    await stack.runtime.alerts.tick()
    (parent,) = [
        m
        for m in stack.slack.channels[CHANNEL]
        if m.get("thread_ts", m["ts"]) == m["ts"] and scan_id in m.get("text", "")
    ]
    replies = stack.slack.thread(CHANNEL, parent["ts"])[1:]
    (risks,) = [r for r in replies if "new open risk" in r["text"]]
    for message in (parent, risks):
        assert_valid_message(message)
        shows_the_target_literally(message)


async def test_a_channel_stops_at_the_subscription_limit(stack: Stack) -> None:
    for n in range(MAX_SUBSCRIPTIONS_PER_CHANNEL):
        answer = await stack.command("/scans", f"subscribe target:host{n}", channel_id=CHANNEL)
        assert answer.body["text"].startswith("Subscribed"), answer.body["text"]
    refused = await stack.command("/scans", "subscribe risks", channel_id=CHANNEL)
    assert_valid_message(refused.body)
    assert refused.body["text"] == (
        f"This channel already has {MAX_SUBSCRIPTIONS_PER_CHANNEL} alert subscriptions, the "
        "most it can have: remove one with `/scans unsubscribe &lt;n&gt;` (`/scans "
        "subscriptions` lists their numbers), then subscribe again."
    )
    subscriptions = await stack.runtime.store.subscriptions.all(CHANNEL)
    assert len(subscriptions) == MAX_SUBSCRIPTIONS_PER_CHANNEL
    answer = await stack.command("/scans", f"unsubscribe {subscriptions[0].id}", channel_id=CHANNEL)
    assert answer.body["text"].startswith("Unsubscribed")
    again = await stack.command("/scans", "subscribe risks", channel_id=CHANNEL)
    assert again.body["text"].startswith("Subscribed")


async def test_the_alert_channel_setting_is_not_refused_by_the_limit(tmp_path: Path) -> None:
    """A channel full of subscriptions that SCANBOT_ALERT_CHANNEL names at the next start
    still gets its default subscription."""
    database_url = f"sqlite:///{tmp_path}/scanbot.sqlite3"
    async with running_stack(frozen_world(), database_url=database_url) as stack:
        for n in range(MAX_SUBSCRIPTIONS_PER_CHANNEL):
            await stack.command("/scans", f"subscribe target:host{n}", channel_id=CHANNEL)
    settings = {"alert_channels": CHANNEL}
    async with running_stack(frozen_world(), database_url=database_url, settings=settings) as stack:
        subscriptions = await stack.runtime.store.subscriptions.all(CHANNEL)
        assert len(subscriptions) == MAX_SUBSCRIPTIONS_PER_CHANNEL + 1
        assert subscriptions[-1].from_env
        listed = await stack.command("/scans", "subscriptions", channel_id=CHANNEL)
        assert_valid_message(listed.body)
        assert "set by" in render_text(listed.body)
