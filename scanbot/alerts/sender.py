"""The sender: delivers outbox rows to Slack, threads them, paces them, and edits parents.

Each row is marked "sending" before its post and "sent" (with the message ts) right after;
every post carries its outbox key as message metadata. Slack's chat.postMessage has no
idempotency key, so a row whose earlier post may have reached Slack (its answer lost, or
left "sending" by a crash) is looked for by that key and adopted before it is posted again
(see README: "When Slack's answer is lost"); a row that would start its scan's thread
waits while an earlier row of that thread may be in Slack, since that post may be the
parent. Posting and parent edits are separate rounds (`send`, `edit_parents`), run apart
from polling by the alert service.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert, EventKind
from scanbot.domain.outbox import OutboxRow, SendOutcome
from scanbot.domain.threads import AlertThread, TriageView, card_key
from scanbot.failpoints import failpoint
from scanbot.slack import sentences
from scanbot.slack.cards import threads as thread_cards
from scanbot.slack.kit import Message
from scanbot.slack.notifier import (
    Notifier,
    OutcomeUnknown,
    Paused,
    Refused,
    RetryLater,
    SlackFailure,
    notifier_for,
)
from scanbot.store import Store

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

WAIT_FOR_EARLIER = 1.0  # s a row waits for an earlier one of its thread that may be in Slack


@dataclass
class SendReport:
    sent: int = 0
    digests: int = 0
    parked: int = 0
    retried: int = 0
    held: int = 0
    edited: int = 0
    paused: str | None = None
    adopted: int = 0  # posts whose answer was lost, found in Slack instead of posted again
    latencies: list[float] = field(default_factory=list)  # s from each alert's observation

    def line(self) -> str:
        paused = f", PAUSED: {self.paused}" if self.paused else ""
        return (
            f"sent {self.sent} alert(s), {self.digests} digest(s), {self.edited} parent edit(s), "
            f"{self.held} held (snoozed or muted), {self.retried} to retry, "
            f"{self.parked} parked{paused}"
        )


class Sender:
    def __init__(
        self,
        slack: Notifier | AsyncWebClient,
        store: Store,
        *,
        digest_threshold: int = 10,
        channel_interval: float = 1.0,
        edit_interval: float = 1.2,
        edits_per_round: int = 25,
        max_attempts: int = 10,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        quiet: Callable[[Alert], Awaitable[bool]] | None = None,
    ) -> None:
        """`slack`: the app's notifier (a bare client gets one on `clock`)."""
        self._slack = notifier_for(slack, clock=clock)
        self._quiet = quiet  # whether an alert waits for its channel's quiet hours to end
        self._store = store
        self._digest_threshold = digest_threshold
        self._channel_interval = channel_interval
        self._edit_interval = edit_interval
        self._edits_per_round = edits_per_round
        self._max_attempts = max_attempts
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._next_slot: dict[str, float] = defaultdict(float)
        self._next_edit: dict[str, float] = defaultdict(float)
        # One round of posts and one of edits at a time in this process; the two may overlap.
        self._send_lock = asyncio.Lock()
        self._edit_lock = asyncio.Lock()

    async def deliver(self) -> SendReport:
        """One whole round: the posts due, then the parents' edits."""
        report = await self.send()
        if not report.paused:
            edits = await self.edit_parents()
            report.edited, report.paused = edits.edited, edits.paused
        return report

    async def send(self) -> SendReport:
        """Post the rows due, per channel in parallel."""
        report = SendReport()
        async with self._send_lock:
            if not await self._may_send(report):
                return report
            rows = await self._store.outbox.due(self._clock())
            by_channel: dict[str, list[OutboxRow]] = defaultdict(list)
            for row in rows:
                by_channel[row.alert.channel_id].append(row)
            try:
                await asyncio.gather(
                    *(self._deliver_channel(c, r, report) for c, r in by_channel.items())
                )
            except Paused as paused:
                await self._pause(report, paused)
        if rows or report.paused:
            log.info("%s", report.line())
        return report

    async def edit_parents(self) -> SendReport:
        """Edit the parents whose card changed: per channel in parallel, each channel paced."""
        report = SendReport()
        async with self._edit_lock:
            if not await self._may_send(report):
                return report
            try:
                await self._edit_parents(report)
            except Paused as paused:
                await self._pause(report, paused)
        if report.edited:
            log.info("edited %d parent(s)", report.edited)
        return report

    async def _pause(self, report: SendReport, paused: Paused) -> None:
        report.paused = paused.error
        await self._store.state.set_sending_paused(paused.error)
        log.error(
            "sending paused: Slack refused the app (%s); fix the token or "
            "scopes, then scanbot resumes by itself",
            paused.error,
        )

    async def _may_send(self, report: SendReport) -> bool:
        paused = (await self._store.state.read()).sending_paused
        if not paused:
            return True
        try:
            await self._slack.check_auth()
        except SlackFailure as failure:
            # Slack's answer says why; without one, the reason sending paused still holds.
            report.paused = failure.error if failure.status is not None else str(paused)
            return False
        await self._store.state.set_sending_paused(None)
        log.info("Slack accepts the app again: sending resumes")
        return True

    async def _deliver_channel(
        self, channel_id: str, rows: list[OutboxRow], report: SendReport
    ) -> None:
        rows = [row for row in rows if not await self._held(row, report)]
        if len(rows) > self._digest_threshold:
            await self._send_digest(channel_id, rows, report)
            return
        for row in rows:
            if await self._send_one(row, report) is SendOutcome.CHANNEL_GONE:
                return

    async def _held(self, row: OutboxRow, report: SendReport) -> bool:
        """A snoozed or muted thread holds its alerts (summarised when it wakes up); so do
        a subscription's quiet hours (released in one message when they end)."""
        alert = row.alert
        if self._quiet is not None and await self._quiet(alert):
            await self._store.summaries.hold_quiet(row.id)
            report.held += 1
            return True
        thread = await self._store.threads.get(alert.event.summary.scan_id, alert.channel_id)
        if thread is None:
            return False
        view = await self._store.threads.view(thread)
        if not view.is_quiet(self._clock(), alert.event.summary.state):
            return False
        await self._store.outbox.hold(row.id)
        report.held += 1
        return True

    async def _send_one(self, row: OutboxRow, report: SendReport) -> SendOutcome:
        alert = row.alert
        thread = await self._store.threads.get(alert.event.summary.scan_id, alert.channel_id)
        if thread is None and alert.event.kind is EventKind.GONE:
            await self._store.outbox.mark_sent(row.id, None)  # no thread: nothing to say
            return SendOutcome.SENT
        if thread is None and await self._store.outbox.uncertain_before(row):
            # An earlier alert of this scan may be in Slack with its answer lost: that post
            # may be the thread's parent. Wait until it is found (or posted) rather than
            # start a second thread and then adopt the first post as well. Put off by a
            # second, no attempt counted: the delivery rounds do not spin on it meanwhile.
            waits = self._clock() + timedelta(seconds=WAIT_FOR_EARLIER)
            await self._store.outbox.mark_retry(row.id, "waits for an earlier post", waits)
            report.retried += 1
            return SendOutcome.RETRY
        await self._store.outbox.mark_sending(row.id)
        parent_ts = thread.parent_ts if thread is not None else None
        outcome, ts = SendOutcome.SENT, None
        if row.uncertain:  # an earlier post may be in Slack: adopt it rather than post again
            outcome, ts = await self._look_for([row], alert.key, parent_ts)
            if ts is not None:
                report.adopted += 1
            elif outcome is not SendOutcome.SENT:
                report.retried += 1
                return outcome
        posted = ts is None
        if thread is None:
            if ts is None:
                message = thread_cards.first_message(alert, triage=TriageView(), now=self._clock())
                outcome, ts = await self._post(row, alert.channel_id, message)
            if ts is not None:
                await self._store.threads.start(row.id, alert, ts, card_key(alert.event.summary))
                failpoint("send:after_mark")
        else:
            if ts is None:
                message = thread_cards.event_reply(alert)
                outcome, ts = await self._post(
                    row,
                    alert.channel_id,
                    message,
                    thread_ts=thread.parent_ts,
                    broadcast=alert.broadcast,
                )
            if ts is not None:
                await self._store.outbox.mark_sent(row.id, ts)
                failpoint("send:after_mark")
        if ts is not None and posted:
            report.sent += 1
            report.latencies.append((self._clock() - alert.created_at).total_seconds())
        elif ts is None:
            report.parked += outcome.is_parked
            report.retried += outcome is SendOutcome.RETRY
        return outcome

    async def _look_for(
        self, rows: list[OutboxRow], key: str, thread_ts: str | None
    ) -> tuple[SendOutcome, str | None]:
        """Find the post of `key` an earlier attempt may have made: (SENT, its ts) when
        found, (SENT, None) to post (not there, or Slack will not let scanbot look: the
        fallback, noted for `scanbot status`), (RETRY, None) when the look itself failed."""
        since = min((r.created_at for r in rows if r.created_at), default=None)
        since = since or self._clock() - timedelta(hours=1)
        try:
            ts = await self._slack.find_posted(
                rows[0].alert.channel_id, key, since=since, thread_ts=thread_ts
            )
        except (Paused, Refused) as cannot:
            if isinstance(cannot, Paused) and cannot.error != "missing_scope":
                raise
            reason = f"{cannot.error} ({rows[0].alert.channel_id})"
            log.warning(
                "could not look for a post whose answer was lost (%s): posting it again, "
                "it may show twice; grant channels:history and groups:history",
                reason,
            )
            await self._store.state.set_resend_check(reason)
            return SendOutcome.SENT, None
        except SlackFailure as failure:
            for row in rows:
                await self._uncertain(row, failure.detail)
            return SendOutcome.RETRY, None
        if ts is not None:
            log.info("found in Slack a post whose answer was lost (%s): adopted", key[:80])
        return SendOutcome.SENT, ts

    async def _uncertain(self, row: OutboxRow, error: str) -> None:
        backoff = min(300.0, 2.0 ** min(row.attempts, 8)) * (0.5 + random.random() / 2)
        at = self._clock() + timedelta(seconds=backoff)
        await self._store.outbox.mark_uncertain(row.id, error, at)

    async def _send_digest(
        self, channel_id: str, rows: list[OutboxRow], report: SendReport
    ) -> None:
        for row in rows:
            await self._store.outbox.mark_sending(row.id)
        key = digest_key(rows)
        ts = None
        if any(row.uncertain for row in rows):
            outcome, ts = await self._look_for(rows, key, None)
            if outcome is SendOutcome.RETRY:
                report.retried += len(rows)
                return
        if ts is None:
            message = thread_cards.digest([row.alert for row in rows])
            outcome, ts = await self._post(rows[0], channel_id, message, group=rows, key=key)
        if ts is None:
            report.parked += len(rows) if outcome.is_parked else 0
            report.retried += len(rows) if outcome is SendOutcome.RETRY else 0
            return
        await self._store.outbox.mark_digested([row.id for row in rows], ts)
        report.digests += 1
        report.sent += len(rows)
        now = self._clock()
        report.latencies += [(now - row.alert.created_at).total_seconds() for row in rows]
        log.info("%d alerts for %s went out as one digest", len(rows), channel_id)

    async def _post(
        self,
        row: OutboxRow,
        channel_id: str,
        message: Message,
        *,
        group: Sequence[OutboxRow] = (),
        thread_ts: str | None = None,
        broadcast: bool = False,
        key: str | None = None,
    ) -> tuple[SendOutcome, str | None]:
        """Post (a reply under `thread_ts` if given), paced per channel. Returns (outcome,
        ts); on failure the rows are updated."""
        rows = list(group) or [row]
        await self._wait_for_slot(channel_id)
        failpoint("send:before_post")
        try:
            key = key or row.alert.key  # metadata: found again if the answer is lost
            if thread_ts is None:
                ts = await self._slack.post(channel_id, message, key=key)
            else:
                ts = await self._slack.reply(
                    channel_id, thread_ts, message, broadcast=broadcast, key=key
                )
        except SlackFailure as failure:
            return await self._failed(rows, channel_id, failure), None
        failpoint("send:after_post")
        return SendOutcome.SENT, ts

    async def _failed(
        self, rows: list[OutboxRow], channel_id: str, failure: SlackFailure
    ) -> SendOutcome:
        """What a failed post means for its rows (Paused propagates: it stops the round)."""
        error = failure.error
        if isinstance(failure, Paused):
            for row in rows:  # not the rows' fault: back to pending, no attempt counted
                await self._store.outbox.mark_retry(row.id, error, self._clock())
            raise failure
        if isinstance(failure, Refused):
            for row in rows:
                await self._store.outbox.park(row.id, error)
            log.warning(
                "parked %d alert(s) for %s: %s", len(rows), channel_id, sentences.park_hint(error)
            )
            if failure.channel_gone:
                disabled = await self._store.subscriptions.disable_channel(channel_id, error)
                log.warning("disabled %d subscription(s) of %s: %s", disabled, channel_id, error)
                return SendOutcome.CHANNEL_GONE
            return SendOutcome.PARKED
        if isinstance(failure, RetryLater) and failure.after is not None:
            self._next_slot[channel_id] = self._monotonic() + failure.after
            await self._retry(rows, error, at_least=failure.after)
            return SendOutcome.RETRY
        if isinstance(failure, OutcomeUnknown):
            # The post may be in Slack: the next attempt looks for it before posting.
            for row in rows:
                await self._uncertain(row, failure.detail)
            return SendOutcome.RETRY
        if isinstance(failure, RetryLater):
            await self._retry(rows, failure.detail)
            return SendOutcome.RETRY
        # Parked: an answer the notifier does not know.
        for row in rows:  # an error this code does not know: retry a few times, then park
            if row.attempts + 1 >= self._max_attempts:
                await self._store.outbox.park(row.id, error)
            else:
                await self._retry([row], error)
        log.warning("Slack refused an alert for %s with %s", channel_id, error)
        return SendOutcome.RETRY

    async def _retry(self, rows: list[OutboxRow], error: str, *, at_least: float = 0.0) -> None:
        for row in rows:
            backoff = min(300.0, 2.0 ** min(row.attempts, 8)) * (0.5 + random.random() / 2)
            at = self._clock() + timedelta(seconds=max(at_least, backoff))
            await self._store.outbox.mark_retry(row.id, error, at)

    async def _wait_for_slot(self, channel_id: str) -> None:
        now = self._monotonic()
        slot = max(now, self._next_slot[channel_id])
        self._next_slot[channel_id] = slot + self._channel_interval
        if slot > now:
            await self._sleep(slot - now)

    async def _edit_parents(self, report: SendReport) -> None:
        """Edit parents whose card changed (coalesced: only the newest state is shown)."""
        threads = await self._store.threads.all()
        stale = [
            (thread, view)
            for thread, view in zip(threads, await self._store.threads.views(threads), strict=True)
            if card_key(thread.summary, view) != thread.shown
        ]
        by_channel: dict[str, list[tuple[AlertThread, TriageView]]] = defaultdict(list)
        for thread, view in stale:
            by_channel[thread.channel_id].append((thread, view))
        await asyncio.gather(
            *(
                self._edit_channel(channel, threads[: self._edits_per_round], report)
                for channel, threads in by_channel.items()
            )
        )

    async def _edit_channel(
        self, channel_id: str, stale: list[tuple[AlertThread, TriageView]], report: SendReport
    ) -> None:
        for thread, view in stale:
            now, slot = self._monotonic(), self._next_edit[channel_id]
            self._next_edit[channel_id] = max(now, slot) + self._edit_interval
            if slot > now:
                await self._sleep(slot - now)
                # Drawn from the newest summary: cycles may have moved it while this waited.
                latest = await self._store.threads.get(thread.scan_id, thread.channel_id)
                if latest is None:
                    continue
                thread, view = latest, await self._store.threads.view(latest)
                if card_key(thread.summary, view) == thread.shown:
                    continue
            try:
                await self._slack.edit_parent(
                    thread.channel_id, thread.parent_ts, thread.summary, view
                )
            except Paused:
                raise
            except Refused as refused:
                # The parent is gone or frozen: stop trying; replies still go to its thread.
                await self._store.threads.mark_shown(
                    thread.scan_id, thread.channel_id, card_key(thread.summary, view)
                )
                self._edit_failed(thread.scan_id, thread.channel_id, refused)
                continue
            except SlackFailure as failure:  # tried again next round: the key still differs
                self._edit_failed(thread.scan_id, thread.channel_id, failure)
                continue
            await self._store.threads.mark_shown(
                thread.scan_id, thread.channel_id, card_key(thread.summary, view)
            )
            report.edited += 1

    @staticmethod
    def _edit_failed(scan_id: str, channel_id: str, failure: SlackFailure) -> None:
        if failure.status is None:
            log.warning("could not edit a parent: %s", failure.wire)
        else:
            log.warning(
                "could not edit the parent of %s in %s: %s", scan_id, channel_id, failure.error
            )


def digest_key(rows: Sequence[OutboxRow]) -> str:
    """The key a digest is posted with (its first row's, marked as a digest's)."""
    return f"digest|{rows[0].alert.key}"
