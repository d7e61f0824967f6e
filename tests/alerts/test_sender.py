"""The sender's decisions, one typed Slack failure at a time: a fake notifier (no HTTP) and a
real store on SQLite and PostgreSQL. End to end (fake Slack, real client):
tests/e2e/test_alerts.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from scanbot.alerts.sender import Sender
from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert, EventKind, ScanEvent
from scanbot.domain.outbox import OutboxStatus
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import TriageView
from scanbot.slack.kit import Message
from scanbot.slack.notifier import (
    OutcomeUnknown,
    Parked,
    Paused,
    Refused,
    RetryLater,
    SlackFailure,
)
from scanbot.store import Store
from tests.store.conftest import database, store  # noqa: F401 - fixtures used by name
from tests.store.values import outbox_column, queue

C1, C2 = "C0ONE", "C0TWO"


@dataclass
class Call:
    method: str
    channel_id: str
    args: dict[str, Any]


@dataclass
class FakeNotifier:
    """Records what the sender asks of Slack; answers with scripted failures, else a ts."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[SlackFailure]] = field(default_factory=dict)
    count: int = 0
    in_slack: dict[str, str] = field(default_factory=dict)  # key -> ts, for find_posted

    def fail_next(self, method: str, *failures: SlackFailure) -> None:
        self.failures.setdefault(method, []).extend(failures)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def _answer(self, method: str, channel_id: str, **args: Any) -> str:
        self.calls.append(Call(method, channel_id, args))
        queued = self.failures.get(method)
        if queued:
            raise queued.pop(0)
        self.count += 1
        return f"1700000000.{self.count:06d}"

    async def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        return self._answer("post", channel_id, message=message, key=key)

    async def reply(
        self,
        channel_id: str,
        thread_ts: str,
        message: Message,
        *,
        broadcast: bool | None = None,
        key: str | None = None,
    ) -> str:
        return self._answer(
            "reply", channel_id, thread_ts=thread_ts, message=message, broadcast=broadcast, key=key
        )

    async def find_posted(
        self, channel_id: str, key: str, *, since: datetime, thread_ts: str | None = None
    ) -> str | None:
        self.calls.append(Call("find_posted", channel_id, {"key": key, "thread_ts": thread_ts}))
        queued = self.failures.get("find_posted")
        if queued:
            raise queued.pop(0)
        return self.in_slack.get(key)

    async def edit_parent(
        self, channel_id: str, ts: str, summary: ScanSummary, triage: TriageView
    ) -> None:
        self._answer("edit_parent", channel_id, ts=ts, summary=summary, triage=triage)

    async def check_auth(self) -> None:
        self._answer("check_auth", "")


class Clock:
    def __init__(self) -> None:
        # Rows are queued at the machine's time: the sender's clock starts just after it.
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    sender: Sender
    slack: FakeNotifier
    store: Store
    clock: Clock
    slept: list[float]
    ticks: list[float]

    async def statuses(self) -> dict[int, tuple[str, int, str | None]]:
        rows = {}
        for row_id in await self.row_ids():
            rows[row_id] = (
                str(await outbox_column(self.store, row_id, "status")),
                int(await outbox_column(self.store, row_id, "attempts")),
                await outbox_column(self.store, row_id, "last_error"),
            )
        return rows

    async def row_ids(self) -> list[int]:
        return sorted(self.ids)

    ids: list[int] = field(default_factory=list)

    async def queue(self, *alerts: Alert) -> list[int]:
        rows = await queue(self.store, *alerts)
        self.ids += [r.id for r in rows]
        return [r.id for r in rows]


@pytest.fixture
async def rig(store: Store) -> Rig:  # noqa: F811 - the store fixture
    slack = FakeNotifier()
    clock = Clock()
    slept: list[float] = []
    ticks = [1000.0]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        ticks[0] += seconds

    sender = Sender(
        slack,
        store,
        digest_threshold=3,
        clock=clock,
        sleep=sleep,
        monotonic=lambda: ticks[0],
        max_attempts=3,
    )
    return Rig(sender, slack, store, clock, slept, ticks)


def alert(scan_id: str, channel_id: str = C1, state: str = "SUCCEEDED", **kw: Any) -> Alert:
    kind = kw.pop("kind", EventKind.FINISHED)
    summary = ScanSummary(scan_id=scan_id, type="NMAP", state=state, **kw)
    return Alert(
        channel_id=channel_id, event=ScanEvent(kind=kind, summary=summary), created_at=utcnow()
    )


# -- sent ------------------------------------------------------------------------------------


async def test_a_first_alert_posts_a_parent_then_replies_in_its_thread(rig: Rig) -> None:
    [first] = await rig.queue(alert("scan-1", state="RUNNING", kind=EventKind.STARTED))
    report = await rig.sender.deliver()
    assert (report.sent, report.parked, report.retried) == (1, 0, 0)
    [post] = rig.slack.of("post")
    thread = await rig.store.threads.get("scan-1", C1)
    assert thread is not None
    assert thread.parent_ts == "1700000000.000001"
    assert post.channel_id == C1
    [second] = await rig.queue(alert("scan-1", state="FAILED"))
    await rig.sender.deliver()
    [reply] = rig.slack.of("reply")
    assert reply.args["thread_ts"] == thread.parent_ts
    assert reply.args["broadcast"] is True  # a failure is also shown in the channel
    statuses = await rig.statuses()
    assert statuses[first][0] == statuses[second][0] == "sent"


async def test_a_thread_card_that_changed_is_edited_once(rig: Rig) -> None:
    await rig.queue(alert("scan-1", state="RUNNING", kind=EventKind.STARTED, progress=10))
    await rig.sender.deliver()
    assert rig.slack.of("edit_parent") == []  # the card shows what was posted
    await rig.store.threads.store_summary(
        ScanSummary(scan_id="scan-1", type="NMAP", state="RUNNING", progress=60), rig.clock()
    )
    assert (await rig.sender.deliver()).edited == 1
    [edit] = rig.slack.of("edit_parent")
    assert edit.args["summary"].progress == 60
    assert (await rig.sender.deliver()).edited == 0  # marked shown: not again


# -- each typed failure ----------------------------------------------------------------------


async def test_paused_puts_the_rows_back_and_stops_until_slack_accepts_the_app(rig: Rig) -> None:
    [row] = await rig.queue(alert("scan-1"))
    rig.slack.fail_next("post", Paused("token_revoked", status=200))
    report = await rig.sender.deliver()
    assert report.paused == "token_revoked"
    assert (await rig.store.state.read()).sending_paused == "token_revoked"
    # Back to pending, due at once: not the row's fault (its attempt is the mark "sending").
    assert (await rig.statuses())[row] == ("pending", 1, "token_revoked")
    # Still refused: auth.test says why, nothing is posted.
    posts = len(rig.slack.of("post"))
    rig.slack.fail_next("check_auth", Paused("account_inactive", status=200))
    assert (await rig.sender.deliver()).paused == "account_inactive"
    # No answer at all: the reason it paused for still holds.
    rig.slack.fail_next("check_auth", RetryLater("no connection", wire="ClientConnectorError"))
    assert (await rig.sender.deliver()).paused == "token_revoked"
    assert len(rig.slack.of("post")) == posts
    # Accepted again: sending resumes and the row goes out.
    report = await rig.sender.deliver()
    assert report.paused is None
    assert (await rig.store.state.read()).sending_paused is None
    assert all(s[0] == "sent" for s in (await rig.statuses()).values())


async def test_a_channel_gone_parks_and_disables_its_subscriptions(rig: Rig) -> None:
    await rig.store.subscriptions.add(C1, events=["finished"])
    await rig.store.subscriptions.add(C2, events=["finished"])
    first, second = await rig.queue(alert("scan-1"), alert("scan-2"))
    rig.slack.fail_next("post", Refused("channel_not_found", status=200))
    report = await rig.sender.deliver()
    assert (report.parked, report.sent) == (1, 0)
    statuses = await rig.statuses()
    assert statuses[first] == ("parked", 1, "channel_not_found")
    assert statuses[second][0] == "pending"  # not tried: the channel is gone
    assert len(rig.slack.of("post")) == 1
    [gone] = await rig.store.subscriptions.all(C1)
    assert gone.disabled_reason == "channel_not_found"
    [kept] = await rig.store.subscriptions.all(C2)
    assert kept.disabled_reason is None


async def test_another_refusal_parks_only_that_alert(rig: Rig) -> None:
    await rig.store.subscriptions.add(C1, events=["finished"])
    first, second = await rig.queue(alert("scan-1"), alert("scan-2"))
    rig.slack.fail_next("post", Refused("msg_too_long", status=200))
    report = await rig.sender.deliver()
    assert (report.parked, report.sent) == (1, 1)
    statuses = await rig.statuses()
    assert statuses[first] == ("parked", 1, "msg_too_long")
    assert statuses[second][0] == "sent"
    [kept] = await rig.store.subscriptions.all(C1)
    assert kept.disabled_reason is None
    assert [r.id for r in await rig.store.outbox.parked()] == [first]


async def test_retry_later_honours_retry_after_and_paces_the_channel(rig: Rig) -> None:
    first, _second = await rig.queue(alert("scan-1"), alert("scan-2"))
    rig.slack.fail_next("post", RetryLater("ratelimited", after=30.0, status=429))
    report = await rig.sender.deliver()
    assert (report.retried, report.sent) == (1, 1)
    statuses = await rig.statuses()
    assert statuses[first] == ("pending", 1, "ratelimited")
    # The next post in that channel waited out the Retry-After.
    assert rig.slept
    assert rig.slept[-1] == pytest.approx(30.0)
    assert first not in [
        r.id for r in await rig.store.outbox.due(rig.clock() + timedelta(seconds=29))
    ]
    assert first in [r.id for r in await rig.store.outbox.due(rig.clock() + timedelta(seconds=31))]


async def test_retry_later_without_a_time_backs_off(rig: Rig) -> None:
    [row] = await rig.queue(alert("scan-1"))
    rig.slack.fail_next("post", RetryLater("internal_error", status=503))
    assert (await rig.sender.deliver()).retried == 1
    assert (await rig.statuses())[row] == ("pending", 1, "internal_error (HTTP 503)")
    assert rig.slept == []
    assert row not in [r.id for r in await rig.store.outbox.due(rig.clock())]
    later = rig.clock() + timedelta(minutes=10)
    assert row in [r.id for r in await rig.store.outbox.due(later)]


async def test_an_unknown_outcome_is_looked_for_then_sent_again_if_not_there(rig: Rig) -> None:
    [row] = await rig.queue(alert("scan-1"))
    rig.slack.fail_next("post", OutcomeUnknown("no answer in time", wire="TimeoutError"))
    assert (await rig.sender.deliver()).retried == 1
    assert (await rig.statuses())[row] == ("pending", 1, "connection: TimeoutError")
    rig.clock.now += timedelta(minutes=10)
    assert (await rig.sender.deliver()).sent == 1
    (looked,) = rig.slack.of("find_posted")
    assert looked.args == {"key": alert("scan-1").key, "thread_ts": None}
    assert [c.args["key"] for c in rig.slack.of("post")] == [alert("scan-1").key] * 2


async def test_an_unknown_outcome_found_in_slack_is_adopted(rig: Rig) -> None:
    [row] = await rig.queue(alert("scan-1"))
    rig.slack.fail_next("post", OutcomeUnknown("no connection", wire="ClientPayloadError"))
    await rig.sender.deliver()
    rig.slack.in_slack[alert("scan-1").key] = "1700000000.000777"
    rig.clock.now += timedelta(minutes=10)
    report = await rig.sender.deliver()
    assert (report.sent, report.adopted) == (0, 1)
    assert len(rig.slack.of("post")) == 1
    assert (await rig.statuses())[row][0] == "sent"
    thread = await rig.store.threads.get("scan-1", C1)
    assert thread is not None
    assert thread.parent_ts == "1700000000.000777"


async def test_a_look_that_fails_decides_nothing(rig: Rig) -> None:
    await rig.queue(alert("scan-1"))
    rig.slack.fail_next("post", OutcomeUnknown("no connection", wire="ClientPayloadError"))
    await rig.sender.deliver()
    rig.slack.fail_next("find_posted", RetryLater("ratelimited", after=3.0, status=429))
    rig.clock.now += timedelta(minutes=10)
    assert (await rig.sender.deliver()).retried == 1
    assert len(rig.slack.of("post")) == 1
    rig.clock.now += timedelta(minutes=10)
    assert (await rig.sender.deliver()).sent == 1  # still uncertain: looked again, not found
    assert len(rig.slack.of("find_posted")) == 2


@pytest.mark.parametrize(
    ("failure", "posted", "paused"),
    [
        (Paused("missing_scope", status=200), True, None),
        (Refused("not_in_channel", status=200), True, None),
        (Paused("token_revoked", status=200), False, "token_revoked"),
    ],
    ids=lambda v: getattr(v, "error", str(v)),
)
async def test_a_look_slack_does_not_allow(
    rig: Rig, failure: SlackFailure, posted: bool, paused: str | None
) -> None:
    await rig.queue(alert("scan-1"))
    rig.slack.fail_next("post", OutcomeUnknown("no connection", wire="ClientPayloadError"))
    await rig.sender.deliver()
    rig.slack.fail_next("find_posted", failure)
    rig.clock.now += timedelta(minutes=10)
    report = await rig.sender.deliver()
    assert (report.sent, report.paused) == (int(posted), paused)
    unavailable = (await rig.store.state.read()).resend_check_unavailable
    assert unavailable == (f"{failure.error} ({C1})" if posted else None)


async def test_a_row_left_sending_by_a_crash_is_looked_for(rig: Rig) -> None:
    [row] = await rig.queue(alert("scan-1"))
    await rig.store.outbox.mark_sending(row)
    rig.slack.in_slack[alert("scan-1").key] = "1700000000.000888"
    report = await rig.sender.deliver()
    assert (report.sent, report.adopted) == (0, 1)
    assert rig.slack.of("post") == []


async def test_a_later_alert_waits_for_a_lost_answer_that_may_be_its_threads_parent(
    rig: Rig,
) -> None:
    """The start's answer was lost (its post is in Slack); the finish must not become a
    second parent: it waits until the start is found and adopted, then replies to it."""
    started = alert("scan-1", state="RUNNING", kind=EventKind.STARTED)
    await rig.queue(started)
    rig.slack.fail_next("post", OutcomeUnknown("no connection", wire="ClientPayloadError"))
    await rig.sender.deliver()
    rig.slack.in_slack[started.key] = "1700000000.000001"  # the post went through
    [finished] = await rig.queue(alert("scan-1", state="SUCCEEDED"))
    report = await rig.sender.deliver()  # the start waits for its next try: so does this
    assert (report.sent, len(rig.slack.of("post")), rig.slack.of("reply")) == (0, 1, [])
    assert (await rig.statuses())[finished][:2] == ("pending", 0)
    assert (await rig.store.outbox.due(rig.clock.now)) == []  # put off: no spinning round
    rig.clock.now += timedelta(minutes=10)
    report = await rig.sender.deliver()
    assert (report.adopted, report.sent) == (1, 1)
    assert len(rig.slack.of("post")) == 1
    [reply] = rig.slack.of("reply")
    assert reply.args["thread_ts"] == "1700000000.000001"


async def test_a_later_alert_waits_while_a_crashed_post_cannot_be_looked_for(rig: Rig) -> None:
    started = alert("scan-1", state="RUNNING", kind=EventKind.STARTED)
    [first, second] = await rig.queue(started, alert("scan-1", state="FAILED"))
    await rig.store.outbox.mark_sending(first)  # the process died during its post
    rig.slack.fail_next("find_posted", RetryLater("internal_error", status=500))
    report = await rig.sender.deliver()
    assert (report.sent, rig.slack.of("post"), rig.slack.of("reply")) == (0, [], [])
    assert (await rig.statuses())[second][:2] == ("pending", 0)
    rig.clock.now += timedelta(minutes=10)
    assert (await rig.sender.deliver()).sent == 2  # not found: posted, then the reply
    [post] = rig.slack.of("post")
    assert post.args["key"] == started.key
    assert len(rig.slack.of("reply")) == 1


async def test_an_unknown_error_is_retried_then_parked(rig: Rig) -> None:
    [row] = await rig.queue(alert("scan-1"))
    for attempt in (1, 2):
        rig.slack.fail_next("post", Parked("something_new", status=200))
        assert (await rig.sender.deliver()).retried == 1
        assert (await rig.statuses())[row] == ("pending", attempt, "something_new")
        rig.clock.now += timedelta(minutes=10)
    rig.slack.fail_next("post", Parked("something_new", status=200))
    await rig.sender.deliver()
    assert (await rig.statuses())[row] == ("parked", 3, "something_new")


# -- digests ----------------------------------------------------------------------------------


async def test_many_alerts_go_as_one_digest(rig: Rig) -> None:
    ids = await rig.queue(*(alert(f"scan-{n}") for n in range(4)))
    report = await rig.sender.deliver()
    assert (report.digests, report.sent) == (1, 4)
    assert len(rig.slack.of("post")) == 1
    assert {s[0] for s in (await rig.statuses()).values()} == {OutboxStatus.DIGESTED.value}
    assert len(ids) == 4


async def test_a_refused_digest_parks_every_row(rig: Rig) -> None:
    await rig.queue(*(alert(f"scan-{n}") for n in range(4)))
    rig.slack.fail_next("post", Refused("invalid_blocks", status=200))
    report = await rig.sender.deliver()
    assert (report.parked, report.sent) == (4, 0)
    assert {s for s in (await rig.statuses()).values()} == {("parked", 1, "invalid_blocks")}


async def test_a_digest_to_retry_retries_every_row(rig: Rig) -> None:
    await rig.queue(*(alert(f"scan-{n}") for n in range(4)))
    rig.slack.fail_next("post", RetryLater("ratelimited", after=5.0, status=429))
    assert (await rig.sender.deliver()).retried == 4
    assert {s for s in (await rig.statuses()).values()} == {("pending", 1, "ratelimited")}


# -- parent edits -----------------------------------------------------------------------------


async def _stale_card(rig: Rig) -> None:
    await rig.queue(alert("scan-1", state="RUNNING", kind=EventKind.STARTED, progress=10))
    await rig.sender.deliver()
    await rig.store.threads.store_summary(
        ScanSummary(scan_id="scan-1", type="NMAP", state="RUNNING", progress=60), rig.clock()
    )


@pytest.mark.parametrize(
    ("failure", "tried_again"),
    [
        (Refused("message_not_found", status=200), False),  # gone: never again
        (Refused("cant_update_message", status=200), False),
        (RetryLater("ratelimited", after=3.0, status=429), True),
        (RetryLater("internal_error", status=500), True),
        (OutcomeUnknown("no connection", wire="ServerDisconnectedError"), True),
        (Parked("something_new", status=200), True),
    ],
    ids=lambda f: f"{type(f).__name__}-{f.error}" if isinstance(f, SlackFailure) else str(f),
)
async def test_a_failed_edit(rig: Rig, failure: SlackFailure, tried_again: bool) -> None:
    await _stale_card(rig)
    rig.slack.fail_next("edit_parent", failure)
    assert (await rig.sender.deliver()).edited == 0
    assert (await rig.sender.deliver()).edited == (1 if tried_again else 0)
    assert len(rig.slack.of("edit_parent")) == (2 if tried_again else 1)


async def test_paused_while_editing_pauses_sending(rig: Rig) -> None:
    await _stale_card(rig)
    rig.slack.fail_next("edit_parent", Paused("token_revoked", status=200))
    assert (await rig.sender.deliver()).paused == "token_revoked"
    assert (await rig.store.state.read()).sending_paused == "token_revoked"


# -- held -------------------------------------------------------------------------------------


async def test_a_muted_threads_alerts_are_held_not_posted(rig: Rig) -> None:
    await rig.queue(alert("scan-1", state="RUNNING", kind=EventKind.STARTED))
    await rig.sender.deliver()
    await rig.store.triage.set_muted("scan-1", C1, "U0ALICE", True, rig.clock())
    [row] = await rig.queue(alert("scan-1", state="SUCCEEDED"))
    report = await rig.sender.deliver()
    assert (report.held, report.sent) == (1, 0)
    assert rig.slack.of("reply") == []
    assert (await rig.statuses())[row][0] == "held"
