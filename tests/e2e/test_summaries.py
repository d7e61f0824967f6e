"""Scheduled summaries end to end: signed `/scans summary …` in, the schedule stored in the
time zone Slack has for the person (or `tz:`), listed by `/scans subscriptions`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scanbot.app import build_poll_once
from scanbot.domain.clock import utcnow
from scanbot.sandbox.slack_user import view_submission
from scanbot.slack import actions
from scanbot.store import Store, database_url
from scanbot.summaries.service import SummaryService
from tests.databases import KINDS, fresh_database
from tests.e2e.conftest import Stack, frozen_world, running_stack, wait_until
from tests.e2e.test_triage import ALICE, BOB, CAROL, _alert_thread, _click, _settled
from tests.e2e.test_triage import CHANNEL as THREADS
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


async def test_without_the_persons_zone_a_summary_is_in_utc_and_says_so(stack: Stack) -> None:
    await stack.command("/scans", "subscriptions", channel_id=CHANNEL)  # the guest check, cached
    stack.slack.fail_next("users.info", error="user_not_found")
    answer = await stack.command("/scans", "summary daily 07:30", channel_id=CHANNEL)
    assert "daily at 07:30 (UTC)" in json.dumps(answer.body, ensure_ascii=False)


async def test_quiet_hours_are_stored_with_the_subscribers_zone(stack: Stack) -> None:
    answer = await stack.command("/scans", "subscribe risks quiet:22:00-07:00", channel_id=CHANNEL)
    assert "quiet 22:00-07:00 (Europe/London)" in json.dumps(answer.body, ensure_ascii=False)
    (subscription,) = await stack.runtime.store.subscriptions.all(CHANNEL)
    assert (subscription.quiet_start, subscription.quiet_end, subscription.tz) == (
        "22:00",
        "07:00",
        "Europe/London",
    )


# -- scheduled sending, on an injected clock ---------------------------------------------


class SetClock:
    """A clock a test sets: scanbot's summaries tell the time by it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def summaries_in(stack: Stack, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in stack.slack.channels.get(channel, [])
        if "security summary" in m.get("text", "") and m.get("thread_ts") in (None, m["ts"])
    ]


async def at(stack: Stack, clock: SetClock, now: datetime) -> int:
    clock.now = now
    assert stack.runtime.summaries is not None
    return await stack.runtime.summaries.tick()


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[Stack, SetClock]]:
    clock = SetClock(utc(2026, 10, 23, 12, 0))
    async with running_stack(frozen_world(backlog_risks=400), clock=clock) as stack:
        yield stack, clock


async def test_daily_and_weekly_summaries_fire_at_their_time_across_dst(
    clocked: tuple[Stack, SetClock],
) -> None:
    stack, clock = clocked
    await stack.command("/scans", "summary daily 09:00 tz:Europe/Berlin", channel_id="C0BERLIN")
    weekly = "summary weekly mon 09:00 tz:America/New_York"
    await stack.command("/scans", weekly, channel_id="C0NEWYORK")

    # Berlin, summer time (CEST): 09:00 is 07:00 UTC.
    assert await at(stack, clock, utc(2026, 10, 24, 6, 59)) == 0
    assert await at(stack, clock, utc(2026, 10, 24, 7, 0)) == 1
    assert await at(stack, clock, utc(2026, 10, 24, 7, 5)) == 0  # replayed: nothing more
    (first,) = summaries_in(stack, "C0BERLIN")
    assert_valid_message(first)
    shown = json.dumps(first, ensure_ascii=False)
    assert "Daily security summary" in shown
    assert "Sent late" not in shown
    assert "trend chart needs at least two days" in shown  # one day of counts so far
    # DST ended on 25 October: 09:00 is now 08:00 UTC.
    assert await at(stack, clock, utc(2026, 10, 25, 7, 0)) == 0
    assert await at(stack, clock, utc(2026, 10, 25, 8, 0)) == 1
    second = summaries_in(stack, "C0BERLIN")[1]
    assert "trend chart needs" not in json.dumps(second)
    (chart,) = [m for m in stack.slack.channels["C0BERLIN"] if m.get("files")]
    assert chart["thread_ts"] == second["ts"]
    (upload,) = [u for u in stack.slack.uploads.values() if u.content is not None]
    assert upload.content is not None
    assert upload.content.startswith(b"\x89PNG")

    # New York, weekly on Monday: 13:00 UTC in summer time, 14:00 UTC after 1 November.
    assert summaries_in(stack, "C0NEWYORK") == []
    for now, expected in [
        (utc(2026, 10, 26, 12, 59), 0),
        (utc(2026, 10, 26, 13, 0), 1),
        (utc(2026, 11, 2, 13, 30), 1),  # 08:30 in New York (EST)
        (utc(2026, 11, 2, 14, 0), 2),
        (utc(2026, 11, 2, 14, 5), 2),
    ]:
        await at(stack, clock, now)
        assert len(summaries_in(stack, "C0NEWYORK")) == expected, now
    assert "late" not in summaries_in(stack, "C0NEWYORK")[1]["text"]
    assert "Weekly security summary" in summaries_in(stack, "C0NEWYORK")[1]["text"]


async def test_a_summary_missed_while_down_is_sent_once_late(
    clocked: tuple[Stack, SetClock],
) -> None:
    stack, clock = clocked
    await stack.command("/scans", "summary daily 09:00 tz:UTC", channel_id=CHANNEL)
    assert await at(stack, clock, utc(2026, 10, 24, 9, 0)) == 1
    # Down from before the 25th's summary until the 27th at noon: one summary, late.
    assert await at(stack, clock, utc(2026, 10, 27, 12, 0)) == 1
    late = summaries_in(stack, CHANNEL)[-1]
    assert "Sent late: it was due" in json.dumps(late, ensure_ascii=False)
    assert "(late)" in late["text"]
    # A restarted scanbot (a new service on the same database) sends nothing more.
    runtime = stack.runtime
    restarted = SummaryService(runtime.store, runtime.hostedscan, runtime.slack, clock=clock)
    assert await restarted.tick() == 0
    assert await at(stack, clock, utc(2026, 10, 27, 12, 30)) == 0
    assert len(summaries_in(stack, CHANNEL)) == 2


async def test_a_refused_post_is_retried_and_sent_once(clocked: tuple[Stack, SetClock]) -> None:
    stack, clock = clocked
    await stack.command("/scans", "summary daily 09:00 tz:UTC", channel_id=CHANNEL)
    stack.slack.fail_next("chat.postMessage", error="internal_error")
    assert await at(stack, clock, utc(2026, 10, 24, 9, 0)) == 0
    assert await at(stack, clock, utc(2026, 10, 24, 9, 4)) == 0  # waits for its retry
    assert await at(stack, clock, utc(2026, 10, 24, 9, 5)) == 1
    assert len(summaries_in(stack, CHANNEL)) == 1
    assert await at(stack, clock, utc(2026, 10, 24, 9, 30)) == 0


async def test_hostedscan_down_waits_and_a_channel_gone_parks(
    clocked: tuple[Stack, SetClock],
) -> None:
    stack, clock = clocked
    await stack.command("/scans", "summary daily 09:00 tz:UTC", channel_id=CHANNEL)
    await at(stack, clock, utc(2026, 10, 24, 8, 0))  # today's count taken
    stack.sandbox.add_fault(401, path_prefix="/v1/risks", times=1)  # HostedScan refuses
    assert await at(stack, clock, utc(2026, 10, 24, 9, 0)) == 0
    assert summaries_in(stack, CHANNEL) == []
    assert await at(stack, clock, utc(2026, 10, 24, 9, 5)) == 1  # retried, sent once, late
    assert len(summaries_in(stack, CHANNEL)) == 1

    stack.slack.fail_next("chat.postMessage", error="channel_not_found")
    assert await at(stack, clock, utc(2026, 10, 25, 9, 0)) == 0
    assert await at(stack, clock, utc(2026, 10, 25, 9, 30)) == 0  # parked, not retried
    assert (await stack.runtime.store.outbox.counts()).get("parked") == 1
    assert len(summaries_in(stack, CHANNEL)) == 1


async def test_a_stopped_summary_is_not_sent(clocked: tuple[Stack, SetClock]) -> None:
    stack, clock = clocked
    await stack.command("/scans", "summary daily 09:00 tz:UTC", channel_id=CHANNEL)
    await stack.command("/scans", "summary off", channel_id=CHANNEL)
    assert await at(stack, clock, utc(2026, 10, 24, 9, 0)) == 0
    assert summaries_in(stack, CHANNEL) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_two_replicas_send_each_period_once(kind: str, tmp_path: Path) -> None:
    clock = SetClock(utc(2026, 10, 23, 12, 0))
    async with (
        fresh_database(kind, tmp_path) as (url, connect_args),
        running_stack(frozen_world(backlog_risks=200), clock=clock, database_url=url) as stack,
    ):
        await stack.command("/scans", "summary daily 09:00 tz:UTC", channel_id=CHANNEL)
        other = await Store.open(database_url({}, url), connect_args=connect_args)
        try:
            runtime = stack.runtime
            replicas = [
                runtime.summaries,
                SummaryService(other, runtime.hostedscan, runtime.slack, clock=clock),
            ]
            for day in (24, 25):
                clock.now = utc(2026, 10, day, 9, 0)
                sent = await asyncio.gather(*(r.tick() for r in replicas if r is not None))
                assert sorted(sent) == [0, 1]
            assert len(summaries_in(stack, CHANNEL)) == 2
        finally:
            await other.close()


async def test_the_cron_jobs_are_rebuilt_from_the_database_at_start(stack: Stack) -> None:
    await stack.command("/scans", "summary daily 09:00 tz:Europe/Berlin", channel_id=CHANNEL)
    await stack.command("/scans", "summary weekly mon 09:00 tz:Asia/Tokyo", channel_id="C0TOKYO")
    service = SummaryService(stack.runtime.store, stack.runtime.hostedscan, stack.runtime.slack)
    service.start()
    try:
        async with asyncio.timeout(5):
            while len(service.cron_jobs()) < 2:  # noqa: ASYNC110 - the scheduler's own job
                await asyncio.sleep(0.02)
        schedules = {s.channel_id: s for s in await stack.runtime.store.summaries.all()}
        jobs = service.cron_jobs()
        berlin = jobs[f"summary:{schedules[CHANNEL].id}"]
        tokyo = jobs[f"summary:{schedules['C0TOKYO'].id}"]
        assert berlin is not None
        assert tokyo is not None
        assert berlin.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "09:00"
        assert tokyo.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%a %H:%M") == "Mon 09:00"
        await stack.runtime.store.summaries.remove("C0TOKYO")
        assert await service.sync() == 1
        assert list(service.cron_jobs()) == [f"summary:{schedules[CHANNEL].id}"]
    finally:
        await service.stop()


# -- quiet hours ---------------------------------------------------------------------------


class OffsetClock:
    """Real time plus an offset the test moves (rows the store dates by real time stay due)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


def quiet_words(now: datetime) -> str:
    """A quiet window around `now` (UTC) that ends two hours later."""
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    return f"quiet:{start:%H:%M}-{end:%H:%M} tz:UTC"


async def test_a_poll_run_by_hand_holds_alerts_in_quiet_hours_too() -> None:
    """`scanbot poll --once` builds its alert service with `build_poll_once`: the same hold."""
    clock = OffsetClock()
    async with running_stack(
        frozen_world(), clock=clock, settings={"full_sweep_every": 1}
    ) as stack:
        words = f"subscribe finished failed {quiet_words(clock())}"
        await stack.command("/scans", words, channel_id=CHANNEL)
        runtime = stack.runtime
        once = build_poll_once(
            runtime.settings, runtime.hostedscan, runtime.store, slack=runtime.slack, clock=clock
        )
        try:
            await once.tick()  # the baseline
            posted = len(stack.slack.channels.get(CHANNEL, []))
            stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["a.example.com"])
            failed = stack.world.add_scan(type="NMAP", state="FAILED", targets=["c.example.com"])
            await once.tick()
        finally:
            await once.stop()
        new = stack.slack.channels[CHANNEL][posted:]
        assert [failed in json.dumps(m) for m in new] == [True]  # only the failure goes out
        assert (await runtime.store.outbox.counts()).get("quiet_held") == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_quiet_hours_hold_alerts_across_a_restart_and_release_them_once(
    kind: str, tmp_path: Path
) -> None:
    clock = OffsetClock()
    async with (
        fresh_database(kind, tmp_path) as (url, connect_args),
        running_stack(
            frozen_world(),
            clock=clock,
            database_url=url,
            settings={"full_sweep_every": 1},
        ) as stack,
    ):
        words = f"subscribe finished failed risks {quiet_words(clock())}"
        answer = await stack.command("/scans", words, channel_id=CHANNEL)
        assert "quiet" in json.dumps(answer.body)
        await stack.runtime.alerts.tick()  # the baseline
        posted = len(stack.slack.channels.get(CHANNEL, []))
        stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["a.example.com"])
        stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["b.example.com"])
        failed = stack.world.add_scan(type="NMAP", state="FAILED", targets=["c.example.com"])
        await stack.runtime.alerts.tick()
        new = stack.slack.channels[CHANNEL][posted:]
        assert [failed in json.dumps(m) for m in new] == [True]  # only the failure goes out
        assert (await stack.runtime.store.outbox.counts()).get("quiet_held") == 2

        # Restarted: a new store and service on the same database still hold them.
        other = await Store.open(database_url({}, url), connect_args=connect_args)
        try:
            restarted = SummaryService(
                other, stack.runtime.hostedscan, stack.runtime.slack, clock=clock
            )
            assert await restarted.release_quiet(clock()) == 0  # still quiet
            assert (await other.outbox.counts()).get("quiet_held") == 2

            clock.offset = timedelta(hours=2, minutes=1)  # the window has ended
            released = await asyncio.gather(
                restarted.release_quiet(clock()),
                stack.runtime.summaries.release_quiet(clock()),  # type: ignore[union-attr]
            )
            assert sorted(released) == [0, 1]  # two replicas: one message
        finally:
            await other.close()
        (release,) = stack.slack.channels[CHANNEL][posted + 1 :]
        assert_valid_message(release)
        shown = json.dumps(release, ensure_ascii=False)
        assert "Quiet hours" in shown
        assert "2 scan alerts" in shown
        assert (await stack.runtime.store.outbox.counts()).get("summarized") == 2
        assert await stack.runtime.summaries.release_quiet(clock()) == 0  # type: ignore[union-attr]
        await stack.runtime.alerts.tick()
        assert len(stack.slack.channels[CHANNEL]) == posted + 2


# -- direct messages -----------------------------------------------------------------------


async def _assign(stack: Stack, scan_id: str, assignee: str, *, by: str = ALICE) -> None:
    await _click(stack, scan_id, actions.ASSIGN, user=by)
    opened = await stack.slack.wait_for_calls("views.open")
    values = {"assignee": {"user": {"type": "users_select", "selected_user": assignee}}}
    metadata = opened[-1].body["view"]["private_metadata"]
    form = view_submission(actions.ASSIGN_VIEW, metadata, values, user_id=by)
    assert (await stack.send(form)).status_code == 200
    await _settled(stack)


def _dms(stack: Stack, user: str) -> list[dict[str, Any]]:
    return stack.slack.channels.get(f"D{user.lstrip('U')}", [])


@pytest.fixture
async def sweeping() -> AsyncIterator[Stack]:
    """Every cycle a full sweep, so a scan added already finished is seen at once."""
    async with running_stack(frozen_world(), settings={"full_sweep_every": 1}) as running:
        yield running


async def test_the_assignee_is_told_by_dm_with_a_link_to_the_thread(sweeping: Stack) -> None:
    stack = sweeping
    scan_id = await _alert_thread(stack)
    await _assign(stack, scan_id, BOB)
    await wait_until(lambda: len(_dms(stack, BOB)) == 1)
    (dm,) = _dms(stack, BOB)
    permalink = "<https://fake-slack.example/archives/"
    assert_valid_message(dm, allowed_mentions=[f"<@{ALICE}>", f"<#{THREADS}>", permalink])
    shown = json.dumps(dm)
    assert scan_id in shown
    assert "assigned you" in shown
    link = stack.slack.calls_to("chat.getPermalink")[-1].body
    assert link["channel"] == THREADS
    assert f"archives/{THREADS}/p" in shown
    (opened,) = stack.slack.calls_to("conversations.open")
    assert opened.body["users"] == BOB

    await _assign(stack, scan_id, ALICE, by=ALICE)  # assigning yourself: no DM
    assert _dms(stack, ALICE) == []
    stack.slack.external.add(CAROL)  # Slack will not open this DM: the assignment stands
    await _assign(stack, scan_id, CAROL)
    assert await stack.runtime.store.threads.get(scan_id, THREADS) is not None
    thread = await stack.runtime.store.threads.get(scan_id, THREADS)
    assert thread is not None
    assert thread.assignee == CAROL
    assert len(_dms(stack, BOB)) == 1


async def test_a_subscription_made_in_a_dm_is_delivered_by_dm(sweeping: Stack) -> None:
    stack = sweeping
    dm = "D0ALICE"
    answer = await stack.command("/scans", "subscribe finished", channel_id=dm, user_id=ALICE)
    assert "Subscribed" in answer.body["text"]
    (subscription,) = await stack.runtime.store.subscriptions.all(dm)
    assert subscription.created_by == ALICE
    await stack.runtime.alerts.tick()  # the baseline
    scan_id = stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["dm.example.com"])
    await stack.runtime.alerts.tick()
    assert any(scan_id in json.dumps(m) for m in stack.slack.channels[dm])
    assert not any(scan_id in json.dumps(m) for m in stack.slack.channels.get(CHANNEL, []))


async def test_a_summary_scheduled_in_a_dm_is_delivered_by_dm(
    clocked: tuple[Stack, SetClock],
) -> None:
    stack, clock = clocked
    dm = "D0BOB"
    await stack.command("/scans", "summary daily 08:00 tz:UTC", channel_id=dm, user_id=BOB)
    assert await at(stack, clock, utc(2026, 10, 24, 8, 0)) == 1
    (summary,) = summaries_in(stack, dm)
    assert "Daily security summary" in summary["text"]
