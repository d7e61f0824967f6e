"""Channel alerts end to end: the sandbox's scans move, scanbot polls, the fake Slack sees
threads, replies, edits and digests: never twice, never lost."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanbot.alerts.sender import Sender
from scanbot.domain.clock import utcnow
from tests.databases import fresh_database
from tests.e2e.conftest import Stack, frozen_world, running_stack
from tests.slack.blockkit import assert_valid_message

CHANNEL = "C0SECOPS"


def _posts(stack: Stack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [
        c.body for c in stack.slack.calls_to("chat.postMessage") if c.body.get("channel") == channel
    ]


def _alerts(stack: Stack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """Alert messages (not subscription confirmations) as the fake Slack stored them."""
    return [
        m for m in stack.slack.channels.get(channel, []) if "subscribed" not in m.get("text", "")
    ]


async def _subscribe(stack: Stack, words: str = "started finished failed risks") -> None:
    answer = await stack.command("/scans", f"subscribe {words}", channel_id=CHANNEL)
    assert "Not subscribed" not in json.dumps(answer.body), answer.body


def _queued(stack: Stack) -> str:
    return str(stack.world.list_scans({"state": ["QUEUED"]})[0]["id"])


@pytest.fixture(params=["sqlite", "postgres"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """Every cycle a full sweep, so scans added already finished are seen at once; on each
    database scanbot supports."""
    async with (
        fresh_database(request.param, tmp_path) as (url, _),
        running_stack(
            frozen_world(), database_url=url, settings={"full_sweep_every": 1}
        ) as running,
    ):
        yield running


async def test_first_cycle_is_a_silent_baseline(stack: Stack) -> None:
    await _subscribe(stack)
    report = await stack.runtime.alerts.tick()
    assert report.cycle is not None
    assert report.cycle.baseline
    assert report.cycle.events == []
    assert _alerts(stack) == []
    assert await stack.runtime.store.snapshots.count() == len(stack.world.list_scans(None))


async def test_a_scan_gets_one_thread_with_replies_and_an_edited_parent(stack: Stack) -> None:
    await _subscribe(stack)
    await stack.runtime.alerts.tick()  # baseline
    scan_id = _queued(stack)

    stack.world.set_state(scan_id, "RUNNING", progress=10)
    await stack.runtime.alerts.tick()
    stack.world.set_state(scan_id, "RUNNING", progress=55)
    await stack.runtime.alerts.tick()
    stack.world.set_state(scan_id, "FAILED")
    await stack.runtime.alerts.tick()
    await stack.runtime.alerts.tick()  # nothing new: nothing posted

    posts = [p for p in _posts(stack) if scan_id in p["text"]]
    parent, *replies = posts
    assert "thread_ts" not in parent
    assert "started" in parent["text"]
    (failed,) = [r for r in replies if "failed" in r["text"]]  # the rest: its new risks
    assert all("started" not in r["text"] for r in replies)
    (parent_ts,) = [m["ts"] for m in _alerts(stack) if m.get("thread_ts", m["ts"]) == m["ts"]]
    assert failed["thread_ts"] == parent_ts
    assert failed["reply_broadcast"] is True
    edits = [c.body for c in stack.slack.calls_to("chat.update") if c.body["ts"] == parent_ts]
    assert edits, "the parent was never edited to show the newer state"
    assert "failed" in edits[-1]["text"].lower()
    for message in [*posts, *edits]:
        assert_valid_message(message)


async def test_new_risks_are_alerted_once_with_details(stack: Stack) -> None:
    await _subscribe(stack, "risks")
    await stack.runtime.alerts.tick()
    scan_id = stack.world.add_scan(
        type="OPENVAS", state="RUNNING", targets=["shop.example.com"], risks=0
    )
    await stack.runtime.alerts.tick()  # a new scan, no risks yet: risks-only channel hears nothing
    stack.world.remove_scan(scan_id)
    scan_id = stack.world.add_scan(
        type="OPENVAS", state="SUCCEEDED", targets=["shop.example.com"], risks=4
    )
    await stack.runtime.alerts.tick()
    await stack.runtime.alerts.tick()
    risk_posts = [p for p in _posts(stack) if scan_id in p["text"]]
    assert len(risk_posts) == 1
    text = json.dumps(risk_posts[0])
    risk = stack.world.get_scan(scan_id)["risks"]["new_open"][0]["risk_id"]
    title = stack.world.get_risk(risk)["risk_definition"]["title"]
    assert title.split()[0] in text
    assert_valid_message(risk_posts[0])


async def test_risks_accepted_in_hostedscan_are_not_alerted_as_new(stack: Stack) -> None:
    await _subscribe(stack, "risks")
    await stack.runtime.alerts.tick()
    scan_id = stack.world.add_scan(
        type="OPENVAS", state="SUCCEEDED", targets=["shop.example.com"], risks=60
    )
    await stack.runtime.alerts.tick()
    new_open = [r["risk_id"] for r in stack.world.get_scan(scan_id)["risks"]["new_open"]]
    accepted = {r for r in new_open if (stack.world.get_risk(r) or {}).get("is_accepted")}
    assert accepted, "the sandbox accepts one risk in 25: this scan should have some"
    assert len(accepted) < len(new_open)
    (post,) = [p for p in _posts(stack) if scan_id in p["text"]]
    text = json.dumps(post)
    assert not [r for r in accepted if r in text]
    assert str(len(new_open) - len(accepted)) in post["text"]


async def test_many_alerts_at_once_become_one_digest(stack: Stack) -> None:
    await _subscribe(stack, "finished")
    await stack.runtime.alerts.tick()
    ids = [
        stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=[f"h{i}.example"])
        for i in range(14)
    ]
    report = await stack.runtime.alerts.tick()
    assert report.sent is not None
    assert report.sent.digests == 1
    (digest,) = _alerts(stack)
    for scan_id in ids[:3]:
        assert scan_id in digest["text"] + json.dumps(digest["blocks"])
    assert_valid_message(digest)
    # A scan in the digest gets its own parent at its next event.
    stack.world.set_state(ids[0], "FAILED")
    await stack.runtime.alerts.tick()
    last = _alerts(stack)[-1]
    assert ids[0] in last["text"]
    assert "thread_ts" not in last


async def test_a_gone_scan_gets_one_note_in_its_thread(stack: Stack) -> None:
    await _subscribe(stack)
    await stack.runtime.alerts.tick()
    scan_id = _queued(stack)
    stack.world.set_state(scan_id, "RUNNING", progress=5)
    await stack.runtime.alerts.tick()
    stack.world.remove_scan(scan_id)
    await stack.runtime.alerts.tick()  # first 404: not yet
    await stack.runtime.alerts.tick()  # confirmed gone
    await stack.runtime.alerts.tick()
    notes = [p for p in _posts(stack) if scan_id in p["text"] and "thread_ts" in p]
    assert len(notes) == 1
    assert await stack.runtime.store.snapshots.read([scan_id]) == {}


async def test_permanent_failures_are_parked_and_reported(stack: Stack) -> None:
    await _subscribe(stack, "finished")
    await stack.runtime.alerts.tick()
    stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", error="invalid_blocks")
    report = await stack.runtime.alerts.tick()
    assert report.sent is not None
    assert report.sent.parked == 1
    health = await stack.health()
    assert health["alerts"]["parked"][0]["reason"] == "invalid_blocks"


def _sender_at(stack: Stack, when: datetime) -> Sender:
    """A sender whose clock reads `when`: rows due later are due now."""
    return Sender(stack.runtime.slack, stack.runtime.store, clock=lambda: when, channel_interval=0)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},
        {"error": "internal_error"},
        # slack_sdk itself retries a 429 twice (honouring Retry-After): fail more than that.
        {"retry_after": 1, "times": 3},
    ],
)
async def test_rate_limits_and_outages_are_retried_not_lost(
    stack: Stack, fault: dict[str, Any]
) -> None:
    await _subscribe(stack, "finished")
    await stack.runtime.alerts.tick()
    scan_id = stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", **fault)
    report = await stack.runtime.alerts.tick()
    assert report.sent is not None
    assert report.sent.retried == 1
    assert report.sent.sent == 0
    later = await _sender_at(stack, utcnow() + timedelta(minutes=10)).deliver()
    assert later.sent == 1
    assert len([m for m in _alerts(stack) if scan_id in m["text"]]) == 1


async def test_a_revoked_token_pauses_sending_and_resumes(stack: Stack) -> None:
    await _subscribe(stack, "finished")
    await stack.runtime.alerts.tick()
    stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", error="token_revoked")
    stack.slack.fail_next("auth.test", error="token_revoked")
    report = await stack.runtime.alerts.tick()
    assert report.sent is not None
    assert report.sent.paused == "token_revoked"
    health = await stack.health()
    assert health["status"] == "degraded"
    assert health["alerts"]["sending_paused"] == "token_revoked"
    public = await stack.http.get(f"{stack.app_url}/healthz")  # a monitor without the token
    assert public.json()["status"] == "degraded"
    assert "token_revoked" not in public.text
    assert (await stack.runtime.alerts.deliver_tick()).paused == "token_revoked"  # type: ignore[union-attr]
    resumed = await _sender_at(stack, utcnow() + timedelta(minutes=1)).deliver()
    assert resumed.sent == 1
    assert (await stack.runtime.store.state.read()).sending_paused is None


async def test_an_archived_channel_disables_its_subscriptions(stack: Stack) -> None:
    await _subscribe(stack, "finished")
    await stack.runtime.alerts.tick()
    stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", error="is_archived")
    await stack.runtime.alerts.tick()
    (subscription,) = await stack.runtime.store.subscriptions.all(CHANNEL)
    assert subscription.disabled_reason == "is_archived"
    answer = await stack.command("/scans", "subscriptions", channel_id=CHANNEL)
    assert "is_archived" in json.dumps(answer.body)


async def test_subscribing_where_scanbot_cannot_post_says_how_to_fix_it(stack: Stack) -> None:
    stack.slack.fail_next("chat.postMessage", error="not_in_channel")
    answer = await stack.command("/scans", "subscribe", channel_id="G0PRIVATE")
    text = json.dumps(answer.body)
    assert "/invite @scanbot" in text
    assert answer.body["response_type"] == "ephemeral"
    assert await stack.runtime.store.subscriptions.all("G0PRIVATE") == []


async def test_subscription_commands(stack: Stack) -> None:
    await _subscribe(stack, "openvas target:shop severity:high risks")
    await _subscribe(stack, "finished")
    listing = json.dumps((await stack.command("/scans", "subscriptions", channel_id=CHANNEL)).body)
    assert "#1" in listing
    assert "#2" in listing
    assert "shop" in listing
    await stack.command("/scans", "unsubscribe 1", channel_id=CHANNEL)
    (left,) = await stack.runtime.store.subscriptions.all(CHANNEL)
    assert left.id == 2  # ids do not shift when others are removed
    refused = await stack.command("/scans", "subscribe running", channel_id=CHANNEL)
    assert "started" in json.dumps(refused.body)
    await stack.command("/scans", "unsubscribe all", channel_id=CHANNEL)
    assert await stack.runtime.store.subscriptions.all(CHANNEL) == []


async def test_env_channels_are_subscribed_once_per_start() -> None:
    world = frozen_world()
    settings = {"alert_channels": "C0ENV1,C0ENV2"}
    async with running_stack(world, settings=settings) as stack:
        await stack.runtime.start()
        await stack.runtime.start()
        subscriptions = await stack.runtime.store.subscriptions.all()
    assert Counter(s.channel_id for s in subscriptions) == {"C0ENV1": 1, "C0ENV2": 1}


async def test_polling_failures_tell_the_admin_channel_once_each_way() -> None:
    settings = {"admin_channel": "C0ADMIN", "poll_failures_before_notice": 2}
    async with running_stack(frozen_world(), settings=settings, deadline=2.0) as stack:
        await stack.runtime.alerts.tick()
        stack.sandbox.add_fault(503, times=1000)
        for _ in range(4):
            report = await stack.runtime.alerts.tick()
            assert report.error is not None
        health = await stack.health()
        assert health["alerts"]["polling_down_since"]
        stack.sandbox.reset()
        await stack.runtime.alerts.tick()
        await stack.runtime.alerts.tick()
        notes = [
            c.body["text"]
            for c in stack.slack.calls_to("chat.postMessage")
            if c.body["channel"] == "C0ADMIN"
        ]
    assert len(notes) == 2
    assert "could not poll" in notes[0]
    assert "again" in notes[1]


async def test_a_steady_cycle_lists_only_active_scans() -> None:
    """Requests per steady cycle: ceil(active / 500) pages + the scans that left the active set."""
    async with running_stack(frozen_world()) as stack:
        await _steady_cycle_requests(stack)


async def _steady_cycle_requests(stack: Stack) -> None:
    await stack.runtime.alerts.tick()  # baseline: a full listing
    active = stack.world.list_scans({"state": ["QUEUED", "RUNNING"]})
    stack.world.set_state(active[0]["id"], "SUCCEEDED")
    stack.sandbox.requests.clear()
    await stack.runtime.alerts.tick()
    paths = [r.path for r in stack.sandbox.requests]
    assert paths.count("/v1/scans") == 1  # fewer than 500 active: one page
    assert paths.count(f"/v1/scans/{active[0]['id']}") == 1  # the one departure
    assert len(paths) == 2
