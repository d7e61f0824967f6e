"""What waits for people (`triage/home.py`): `/scans triage` and the Home tab, with
permalinks from the fake Slack; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest

from scanbot.sandbox.slack import FakeSlack
from scanbot.store import Store
from tests.triage.conftest import (
    CHANNEL,
    U1,
    U2,
    Harness,
    wired,
)

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
        waiting = await h.triage.home_tab.unacknowledged(CHANNEL)
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
    (waiting,) = await h.triage.home_tab.unacknowledged(CHANNEL)
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
        assigned, unacknowledged = await h.triage.home_tab.home(U1)
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
        assigned, unacknowledged = await h.triage.home_tab.home(U1)
    assert [a.summary.scan_id for a in assigned] == [mine.scan_id]
    assert unacknowledged == []
    assert "channels of U0ALICE unknown" in caplog.text
