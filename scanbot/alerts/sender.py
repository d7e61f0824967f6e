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
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert, EventKind
from scanbot.domain.outbox import OutboxRow, SendOutcome
from scanbot.domain.threads import TriageView, card_key
from scanbot.failpoints import failpoint
from scanbot.slack.cards import threads as thread_cards
from scanbot.slack.kit import Message
from scanbot.store import Store

log = logging.getLogger(__name__)

# Errors no retry will fix: the row is parked with the reason for an admin to see.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "cannot_reply_to_message",
        "thread_not_found",
    }
)
# Errors that stop every channel at once: pause sending until auth.test passes again.
APP_WIDE_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
# A channel that is gone: its subscriptions are disabled, with a log line.
CHANNEL_GONE_ERRORS = frozenset({"channel_not_found", "is_archived"})
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SendingPaused(Exception):
    """Slack refused the app itself (token revoked, ...): nothing can be sent until fixed."""


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
        slack: AsyncWebClient,
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
        self._slack = slack
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
            except SendingPaused as exc:
                report.paused = str(exc)
                await self._store.state.set_sending_paused(str(exc))
                log.error(
                    "sending paused: Slack refused the app (%s); fix the token or "
                    "scopes, then scanbot resumes by itself",
                    exc,
                )
        if rows or report.edited or report.paused:
            log.info("%s", report.line())
        return report

    async def _may_send(self, report: SendReport) -> bool:
        paused = (await self._store.state.read()).sending_paused
        if not paused:
            return True
        try:
            await self._slack.auth_test()
        except SlackApiError as exc:
            report.paused = str(exc.response.get("error", paused))
            return False
        except (ClientError, TimeoutError, OSError):
            report.paused = str(paused)
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
                reply_broadcast=alert.broadcast,
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
        **options: Any,
    ) -> tuple[SendOutcome, str | None]:
        """Post, paced per channel. Returns (outcome, ts); on failure the rows are updated."""
        rows = list(group) or [row]
        await self._wait_for_slot(channel_id)
        failpoint("send:before_post")
        try:
            response = await self._slack.chat_postMessage(
                channel=channel_id,
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
                unfurl_media=False,
                **options,
            )
        except SlackApiError as exc:
            return await self._failed(rows, channel_id, exc), None
        except (ClientError, TimeoutError, OSError) as exc:
            await self._retry(rows, f"connection: {exc.__class__.__name__}")
            return SendOutcome.RETRY, None
        failpoint("send:after_post")
        return SendOutcome.SENT, str(response["ts"])

    async def _failed(
        self, rows: list[OutboxRow], channel_id: str, exc: SlackApiError
    ) -> SendOutcome:
        error = str(exc.response.get("error", "unknown"))
        status = exc.response.status_code
        if error in APP_WIDE_ERRORS:
            for row in rows:  # not the rows' fault: back to pending, no attempt counted
                await self._store.outbox.mark_retry(row.id, error, self._clock())
            raise SendingPaused(error)
        if error in PERMANENT_ERRORS:
            for row in rows:
                await self._store.outbox.park(row.id, error)
            log.warning("parked %d alert(s) for %s: %s", len(rows), channel_id, _hint(error))
            if error in CHANNEL_GONE_ERRORS:
                disabled = await self._store.subscriptions.disable_channel(channel_id, error)
                log.warning("disabled %d subscription(s) of %s: %s", disabled, channel_id, error)
                return SendOutcome.CHANNEL_GONE
            return SendOutcome.PARKED
        if status == 429 or error == "ratelimited":
            retry_after = float(exc.response.headers.get("Retry-After", 1) or 1)
            self._next_slot[channel_id] = self._monotonic() + retry_after
            await self._retry(rows, error, at_least=retry_after)
            return SendOutcome.RETRY
        if status >= 500 or error in TRANSIENT_ERRORS:
            await self._retry(rows, f"{error} (HTTP {status})")
            return SendOutcome.RETRY
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
            message = thread_cards.parent_card(thread.summary, triage=view, now=self._clock())
            try:
                await self._slack.chat_update(
                    channel=thread.channel_id,
                    ts=thread.parent_ts,
                    text=message["text"],
                    blocks=message["blocks"],
                )
            except SlackApiError as exc:
                error = str(exc.response.get("error", "unknown"))
                if error in APP_WIDE_ERRORS:
                    raise SendingPaused(error) from exc
                if error in PERMANENT_ERRORS | {"message_not_found", "cant_update_message"}:
                    # The parent is gone or frozen: stop trying; replies still go to its thread.
                    await self._store.threads.mark_shown(
                        thread.scan_id, thread.channel_id, card_key(thread.summary, view)
                    )
                log.warning(
                    "could not edit the parent of %s in %s: %s",
                    thread.scan_id,
                    thread.channel_id,
                    error,
                )
                continue
            except (ClientError, TimeoutError, OSError) as exc:
                log.warning("could not edit a parent: %s", exc.__class__.__name__)
                continue
            await self._store.threads.mark_shown(
                thread.scan_id, thread.channel_id, card_key(thread.summary, view)
            )
            report.edited += 1


def _hint(error: str) -> str:
    hints = {
        "not_in_channel": "not_in_channel: invite scanbot to the channel (/invite @scanbot), "
        "or grant the chat:write.public scope",
        "channel_not_found": "channel_not_found: the channel was deleted, or is private and "
        "scanbot is not in it",
        "is_archived": "is_archived: the channel is archived",
    }
    return hints.get(error, error)
