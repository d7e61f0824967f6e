"""Scheduled summaries end to end: signed `/scans summary …` in, the schedule stored in the
time zone Slack has for the person (or `tz:`), listed by `/scans subscriptions`."""

from __future__ import annotations

import json

from tests.e2e.conftest import Stack
from tests.slack.blockkit import assert_valid_message

CHANNEL = "C0SUMMARY"


async def test_a_summary_is_scheduled_listed_and_stopped(stack: Stack) -> None:
    answer = await stack.command("/scans", "summary daily 09:00", channel_id=CHANNEL)
    assert_valid_message(answer.body)
    assert "daily at 09:00 (Europe/London)" in json.dumps(answer.body, ensure_ascii=False)
    weekly = "summary weekly mon 08:30 severity:high target:shop tz:America/New_York"
    await stack.command("/scans", weekly, channel_id=CHANNEL)
    (daily, week) = await stack.runtime.store.summaries.all(CHANNEL)
    assert (daily.tz, daily.at, daily.period) == ("Europe/London", "09:00", "daily")
    assert (week.tz, week.weekday, week.min_severity) == ("America/New_York", 0, "HIGH")

    listing = await stack.command("/scans", "subscriptions", channel_id=CHANNEL)
    assert_valid_message(listing.body)
    shown = json.dumps(listing.body, ensure_ascii=False)
    assert "weekly on Monday at 08:30 (America/New_York)" in shown

    refused = await stack.command("/scans", "summary weekly 09:00", channel_id=CHANNEL)
    assert "needs its day" in json.dumps(refused.body)
    stopped = await stack.command("/scans", "summary off", channel_id=CHANNEL)
    assert "Stopped 2 scheduled summaries" in stopped.body["text"]
    assert await stack.runtime.store.summaries.all(CHANNEL) == []


async def test_quiet_hours_are_stored_with_the_subscribers_zone(stack: Stack) -> None:
    answer = await stack.command("/scans", "subscribe risks quiet:22:00-07:00", channel_id=CHANNEL)
    assert "quiet 22:00-07:00 (Europe/London)" in json.dumps(answer.body, ensure_ascii=False)
    (subscription,) = await stack.runtime.store.subscriptions.all(CHANNEL)
    assert (subscription.quiet_start, subscription.quiet_end, subscription.tz) == (
        "22:00",
        "07:00",
        "Europe/London",
    )
