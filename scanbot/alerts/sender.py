"""The sender: delivers outbox rows to Slack, threads them, paces them, and edits parents.

Each row is marked "sending" before its post and "sent" (with the message ts) right after,
so a crash leaves at most the one row whose post was under way to be sent again: Slack's
chat.postMessage has no idempotency key, and that is the only window (see README).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert, EventKind
from scanbot.domain.outbox import OutboxRow, SendOutcome
from scanbot.domain.threads import TriageView, card_key
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


@dataclass
class SendReport:
    sent: int = 0
    digests: int = 0
    parked: int = 0
    retried: int = 0
    held: int = 0
    edited: int = 0
    paused: str | None = None

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
        self._next_edit = 0.0
        self._lock = asyncio.Lock()  # one delivery round at a time in this process

    async def deliver(self) -> SendReport:
        report = SendReport()
        async with self._lock:
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
                await self._edit_parents(report)
            except Paused as paused:
                report.paused = paused.error
                await self._store.state.set_sending_paused(paused.error)
                log.error(
                    "sending paused: Slack refused the app (%s); fix the token or "
                    "scopes, then scanbot resumes by itself",
                    paused.error,
                )
        if rows or report.edited or report.paused:
            log.info("%s", report.line())
        return report

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
        await self._store.outbox.mark_sending(row.id)
        if thread is None:
            message = thread_cards.first_message(alert, triage=TriageView(), now=self._clock())
            outcome, ts = await self._post(row, alert.channel_id, message)
            if ts is not None:
                await self._store.threads.start(row.id, alert, ts, card_key(alert.event.summary))
                failpoint("send:after_mark")
        else:
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
        if ts is not None:
            report.sent += 1
        else:
            report.parked += outcome.is_parked
            report.retried += outcome is SendOutcome.RETRY
        return outcome

    async def _send_digest(
        self, channel_id: str, rows: list[OutboxRow], report: SendReport
    ) -> None:
        for row in rows:
            await self._store.outbox.mark_sending(row.id)
        message = thread_cards.digest([row.alert for row in rows])
        outcome, ts = await self._post(rows[0], channel_id, message, group=rows)
        if ts is None:
            report.parked += len(rows) if outcome.is_parked else 0
            report.retried += len(rows) if outcome is SendOutcome.RETRY else 0
            return
        await self._store.outbox.mark_digested([row.id for row in rows], ts)
        report.digests += 1
        report.sent += len(rows)
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
    ) -> tuple[SendOutcome, str | None]:
        """Post (a reply under `thread_ts` if given), paced per channel. Returns (outcome,
        ts); on failure the rows are updated."""
        rows = list(group) or [row]
        await self._wait_for_slot(channel_id)
        failpoint("send:before_post")
        try:
            if thread_ts is None:
                ts = await self._slack.post(channel_id, message)
            else:
                ts = await self._slack.reply(channel_id, thread_ts, message, broadcast=broadcast)
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
        if isinstance(failure, RetryLater | OutcomeUnknown):
            # OutcomeUnknown: the post may have shown; sent again, it may show twice (the one
            # window of the outbox's exactly-once, see README).
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
        for thread, view in stale[: self._edits_per_round]:
            now = self._monotonic()
            if self._next_edit > now:
                await self._sleep(self._next_edit - now)
            self._next_edit = max(now, self._next_edit) + self._edit_interval
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
