"""What every part of triage shares about one alert thread: the outcome of a click, the
boundary that turns whatever escapes into one sentence, the "thread or not tracked"
opening (written once, as `tracked`), and the thread's voice: a reply in it and a redraw
of its parent."""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from scanbot.domain.events import Alert, RiskDetail
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import AlertThread, SnoozeChoice, card_key
from scanbot.hostedscan import Risk
from scanbot.slack import sentences
from scanbot.slack.kit import Message
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.slack.sentences import INTERNAL_ERROR, NOT_TRACKED
from scanbot.store import Store

log = logging.getLogger(__name__)

View = dict[str, Any]
P = ParamSpec("P")


@dataclass(frozen=True)
class Outcome:
    """What a click did: `changed` the thread's state or what it shows; `notice`, when set,
    is an ephemeral sentence for the clicker (None when the thread itself shows it)."""

    changed: bool
    notice: str | None = None


class TriageRenderer(Protocol):
    """The messages and views triage shows (`scanbot.slack.cards.triage` is the real one)."""

    def acknowledged(self, user_id: str, at: datetime) -> Message: ...
    def unacknowledged(self, user_id: str) -> Message: ...
    def assigned(self, assignee: str | None, by: str, note: str = "") -> Message: ...
    def snoozed(self, by: str, choice: SnoozeChoice, until: datetime | None) -> Message: ...
    def unsnoozed(self, by: str) -> Message: ...
    def muted(self, by: str) -> Message: ...
    def unmuted(self, by: str) -> Message: ...
    def held_summary(self, alerts: Sequence[Alert], why: str) -> Message: ...
    def risks_list(
        self, summary: ScanSummary, risks: Sequence[RiskDetail], total: int
    ) -> Message: ...
    def risk_modal_loading(self, risk_id: str) -> View: ...
    def risk_modal(self, risk: Risk) -> View: ...
    def risk_modal_unavailable(self, risk_id: str, reason: str) -> View: ...
    def assign_modal(
        self, scan_id: str, channel_id: str, message_ts: str, current: str | None, *, key: bytes
    ) -> View: ...
    def parse_assign_metadata(self, text: str, *, key: bytes) -> tuple[str, str, str]: ...
    def report_missing(self, scan_id: str) -> Message: ...
    def report_comment(self, scan_id: str, content_type: str, by: str) -> str: ...


class ThreadVoice:
    """Speaks in alert threads for every part of triage: replies, and parent redraws that
    are serialised per thread, each drawing the thread as stored then."""

    def __init__(self, store: Store, slack: Notifier) -> None:
        self.store = store
        self.slack = slack
        # One parent edit per thread at a time, each rendering the view as it is then: two
        # clicks at once cannot leave the older view on the card.
        self._edit_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def reply(self, thread: AlertThread, message: Message) -> str:
        return await self.slack.reply(thread.channel_id, thread.parent_ts, message)

    async def edit_parent(self, thread: AlertThread) -> bool:
        """Edit the parent to show the thread as stored now (its summary and triage); the
        notifier draws it at the current time. False, logged, when Slack refused."""
        key = (thread.scan_id, thread.channel_id)
        lock = self._edit_locks.get(key)
        if lock is None:
            lock = self._edit_locks[key] = asyncio.Lock()
        async with lock:
            fresh = await self.store.threads.get(thread.scan_id, thread.channel_id) or thread
            view = await self.store.threads.view(fresh)
            try:
                await self.slack.edit_parent(fresh.channel_id, fresh.parent_ts, fresh.summary, view)
            except SlackFailure as failure:
                log.warning(
                    "could not edit the parent of %s in %s: %s",
                    fresh.scan_id,
                    fresh.channel_id,
                    failure.error,
                )
                return False
            # The sender edits parents whose key differs from the stored one: not this one.
            await self.store.threads.mark_shown(
                fresh.scan_id, fresh.channel_id, card_key(fresh.summary, view)
            )
        return True

    async def changed(self, thread: AlertThread, user_id: str, reply: Message) -> Outcome:
        """The store changed: say so in the thread and show it on the parent."""
        notice = None
        try:
            await self.reply(thread, reply)
        except SlackFailure as failure:
            notice = sentences.saved_but_slack_refused(failure.error, "reply in the thread")
        # A failed edit is left to the sender, which edits parents whose card is stale.
        await self.edit_parent(thread)
        log.info(
            "triage of %s in %s by %s: %.80s",
            thread.scan_id,
            thread.channel_id,
            user_id,
            reply["text"],
        )
        return Outcome(True, notice)


def slack_failed(failure: SlackFailure, doing: str) -> Outcome:
    """Slack refused what a click asked for: logged, and the clicker told."""
    log.warning("Slack refused to %s: %s", doing, failure.error)
    return Outcome(False, sentences.slack_refused(failure.error, doing))


S = TypeVar("S")


def boundary(
    method: Callable[Concatenate[S, P], Awaitable[Outcome]],
) -> Callable[Concatenate[S, P], Awaitable[Outcome]]:
    """Listeners call these after acking: whatever escapes is logged, the clicker told."""

    @functools.wraps(method)
    async def guarded(part: S, /, *args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            return await method(part, *args, **kwargs)
        except Exception:
            log.exception("triage %s failed", method.__name__)
            return Outcome(False, INTERNAL_ERROR)

    return guarded


class OnThreads(Protocol):
    """A part of triage whose buttons act on one thread."""

    @property
    def voice(self) -> ThreadVoice: ...


T = TypeVar("T", bound=OnThreads)


def tracked(
    method: Callable[Concatenate[T, AlertThread, P], Awaitable[Outcome]],
) -> Callable[Concatenate[T, str, str, P], Awaitable[Outcome]]:
    """A thread button's opening, written once: the method takes the thread, its callers
    give (scan id, channel id); a thread scanbot no longer tracks is said, nothing called.
    Guarded by `boundary`."""

    @functools.wraps(method)
    async def opened(
        part: T, scan_id: str, channel_id: str, /, *args: P.args, **kwargs: P.kwargs
    ) -> Outcome:
        thread = await part.voice.store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        return await method(part, thread, *args, **kwargs)

    return boundary(opened)
