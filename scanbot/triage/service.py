"""What on-call people do from an alert thread: acknowledge, assign, snooze, mute, refresh,
list risks, fetch the report; and what waits for them (`/scans triage`, the Home tab).

Each action changes the store conditionally and speaks in the thread only when something
changed, so double clicks and replays post nothing twice. Listeners call these after
acking: a method never raises, it answers an `Outcome` with one sentence for the clicker.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, NamedTuple, ParamSpec, Protocol

from scanbot.alerts.risks import RiskDetails
from scanbot.domain.clock import utcnow
from scanbot.domain.events import Alert, RiskDetail
from scanbot.domain.scans import ScanSummary
from scanbot.domain.severity import most_severe_first
from scanbot.domain.threads import AlertThread, SnoozeChoice, card_key
from scanbot.hostedscan import HostedScanClient, HostedScanError, Risk, Scan
from scanbot.slack import sentences
from scanbot.slack.kit import Message
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.slack.sentences import INTERNAL_ERROR, NOT_TRACKED, SNOOZE_CHOICES, code
from scanbot.slack.text import user_mention
from scanbot.store import Store

log = logging.getLogger(__name__)

View = dict[str, Any]
P = ParamSpec("P")

# Who the store's audit names for what scanbot does by itself (an expired snooze).
SCANBOT = "scanbot"
# Slack calls a listener's follow-up may make at once (permalinks for a list).
SLACK_CONCURRENCY = 8
# Report kinds, best first: what a person can open from Slack.
REPORT_KINDS = (("application/pdf", "pdf", "PDF"), ("text/html", "html", "HTML"))


@dataclass(frozen=True)
class Outcome:
    """What a click did: `changed` the thread's state or what it shows; `notice`, when set,
    is an ephemeral sentence for the clicker (None when the thread itself shows it)."""

    changed: bool
    notice: str | None = None


class WaitingAlert(NamedTuple):
    """An alert thread someone should look at: `/scans triage` and the Home tab list these."""

    summary: ScanSummary
    permalink: str | None  # None when Slack would not say
    created_at: datetime | None
    channel_id: str = ""


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


def _boundary(
    method: Callable[Concatenate[Triage, P], Awaitable[Outcome]],
) -> Callable[Concatenate[Triage, P], Awaitable[Outcome]]:
    """Listeners call these after acking: whatever escapes is logged, the clicker told."""

    @functools.wraps(method)
    async def guarded(triage: Triage, /, *args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            return await method(triage, *args, **kwargs)
        except Exception:
            log.exception("triage %s failed", method.__name__)
            return Outcome(False, INTERNAL_ERROR)

    return guarded


class Triage:
    def __init__(
        self,
        store: Store,
        slack: Notifier,
        hostedscan: HostedScanClient,
        risk_details: RiskDetails,
        *,
        clock: Callable[[], datetime] = utcnow,
        render: TriageRenderer,
        seal_key: bytes,
        assigned: Callable[[AlertThread, str, str], Awaitable[object]] | None = None,
    ) -> None:
        """`seal_key` seals what the assign window carries (`actions.seal_key` of a secret
        every replica holds): a form that comes back altered changes nothing."""
        self._store = store
        self._triage = store.triage
        self._slack = slack
        self._hostedscan = hostedscan
        self._risk_details = risk_details
        self._clock = clock
        self._render = render
        self._seal_key = seal_key
        self._assigned = assigned  # tells the assignee (thread, assignee, by whom)
        # One parent edit per thread at a time, each rendering the view as it is then: two
        # clicks at once cannot leave the older view on the card.
        self._edit_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Held alerts are summarised once, whether an unmute or the periodic run gets there.
        self._release_lock = asyncio.Lock()

    # -- acknowledging --------------------------------------------------------------------

    @_boundary
    async def acknowledge(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        now = self._clock()
        if not await self._triage.acknowledge(scan_id, channel_id, user_id, now):
            return Outcome(False, "You already acknowledged this alert.")
        return await self._changed(thread, user_id, self._render.acknowledged(user_id, now))

    @_boundary
    async def undo_acknowledge(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        if not await self._triage.unacknowledge(scan_id, channel_id, user_id, self._clock()):
            return Outcome(False, "You had not acknowledged this alert.")
        return await self._changed(thread, user_id, self._render.unacknowledged(user_id))

    # -- assigning ------------------------------------------------------------------------

    @_boundary
    async def open_assign(
        self, trigger_id: str, scan_id: str, channel_id: str, message_ts: str
    ) -> Outcome:
        # The trigger id lives 3 s: only the local read of the current assignee comes first.
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        view = self._render.assign_modal(
            scan_id, channel_id, message_ts, thread.assignee, key=self._seal_key
        )
        try:
            await self._slack.open_view(trigger_id, view)
        except SlackFailure as failure:
            return _slack_failed(failure, "open the assign window")
        return Outcome(True)

    def assign_form(self, private_metadata: str) -> tuple[str, str] | None:
        """The thread (scan id, channel id) a submitted assign form names, if scanbot sealed
        it; None, with one log line, for a form altered, forged, from an older scanbot or
        sealed with another secret."""
        try:
            scan_id, channel_id, _ts = self._render.parse_assign_metadata(
                private_metadata, key=self._seal_key
            )
        except ValueError as exc:
            log.warning(
                "refused an assign form whose metadata scanbot did not seal (%d chars): %s",
                len(private_metadata),
                str(exc)[:120],
            )
            return None
        return scan_id, channel_id

    @_boundary
    async def assign(
        self, scan_id: str, channel_id: str, user_id: str, assignee: str | None, note: str = ""
    ) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        assignee = assignee or None
        if not await self._triage.assign(scan_id, channel_id, user_id, assignee, self._clock()):
            if assignee is None:
                return Outcome(False, "Nobody is assigned to this alert.")
            return Outcome(False, f"{user_mention(assignee)} is already assigned to this alert.")
        outcome = await self._changed(
            thread, user_id, self._render.assigned(assignee, user_id, note)
        )
        if assignee is not None and self._assigned is not None:
            await self._assigned(thread, assignee, user_id)
        return outcome

    # -- snoozing and muting --------------------------------------------------------------

    @_boundary
    async def snooze(self, scan_id: str, channel_id: str, user_id: str, choice: str) -> Outcome:
        """Snooze the thread; the same snooze chosen again changes nothing and posts nothing
        (the rule in `SnoozeChoice`)."""
        try:
            snooze = SnoozeChoice(choice)
        except ValueError:
            return Outcome(False, SNOOZE_CHOICES)
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        if snooze.duration is None and thread.summary.is_final:
            return Outcome(False, sentences.FINISHED_CANNOT_WAIT)
        now = self._clock()
        state = thread.summary.state
        if not await self._triage.snooze(scan_id, channel_id, user_id, now, snooze, state=state):
            span = "until" if snooze.duration is None else "for"
            return Outcome(False, f"This alert is already snoozed {span} {snooze.label}.")
        until = now + snooze.duration if snooze.duration is not None else None
        return await self._changed(thread, user_id, self._render.snoozed(user_id, snooze, until))

    @_boundary
    async def unsnooze(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        if not await self._triage.unsnooze(scan_id, channel_id, user_id, self._clock()):
            return Outcome(False, "This alert is not snoozed.")
        outcome = await self._changed(thread, user_id, self._render.unsnoozed(user_id))
        await self._release_now(thread, "snoozed")
        return outcome

    @_boundary
    async def mute(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        if not await self._triage.set_muted(scan_id, channel_id, user_id, True, self._clock()):
            return Outcome(False, "This alert is already muted.")
        return await self._changed(thread, user_id, self._render.muted(user_id))

    @_boundary
    async def unmute(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        if not await self._triage.set_muted(scan_id, channel_id, user_id, False, self._clock()):
            return Outcome(False, "This alert is not muted.")
        outcome = await self._changed(thread, user_id, self._render.unmuted(user_id))
        await self._release_now(thread, "muted")
        return outcome

    # -- looking at the scan --------------------------------------------------------------

    @_boundary
    async def refresh(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        """Fetch the scan and store it as the threads' summary (unless a newer one is stored:
        `Threads.store_summary`), then redraw the parent from what is stored, so every later
        redraw starts from it and the card never goes backwards."""
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        scan = await self._scan(scan_id)
        if isinstance(scan, Outcome):
            return scan
        # Dated when the answer was in hand, as the poller dates what it observes.
        await self._store.threads.store_summary(ScanSummary.of(scan), self._clock())
        if not await self._edit_parent(thread):
            return Outcome(False, sentences.PARENT_NOT_UPDATED)
        await self._triage.record(
            scan_id, channel_id, user_id, "refresh", scan.state, self._clock()
        )
        return Outcome(True)

    @_boundary
    async def show_risks(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        scan = await self._scan(scan_id)
        if isinstance(scan, Outcome):
            return scan
        ids = [ref.risk_id for ref in scan.risks.new_open]
        if not ids:
            return Outcome(False, f"Scan {code(scan_id)} has no newly open risks.")
        details = await self._risk_details.fetch({scan.type: ids})
        risks = sorted(
            (details.get(risk_id) or RiskDetail(risk_id=risk_id) for risk_id in ids),
            key=most_severe_first,
        )
        message = self._render.risks_list(ScanSummary.of(scan), risks, len(ids))
        try:
            await self._reply(thread, message)
        except SlackFailure as failure:
            return _slack_failed(failure, "list the risks in the thread")
        now = self._clock()
        await self._triage.record(scan_id, channel_id, user_id, "risks", f"{len(ids)} new", now)
        return Outcome(True)

    @_boundary
    async def open_risk(self, trigger_id: str, risk_id: str) -> Outcome:
        # The trigger id lives 3 s, HostedScan may take longer: open a window first, fill later.
        try:
            view_id = await self._slack.open_view(
                trigger_id, self._render.risk_modal_loading(risk_id)
            )
        except SlackFailure as failure:
            return _slack_failed(failure, "open the risk window")
        try:
            view = self._render.risk_modal(await self._hostedscan.get_risk(risk_id))
        except HostedScanError as exc:
            log.warning("risk %.40s unavailable: %s", risk_id, exc)
            reason = sentences.lookup_failed(exc, f"risk {code(risk_id)}")
            view = self._render.risk_modal_unavailable(risk_id, reason)
        try:
            await self._slack.update_view(view_id, view)
        except SlackFailure as failure:
            return _slack_failed(failure, "show the risk")
        return Outcome(True)

    @_boundary
    async def report(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        thread = await self._store.threads.get(scan_id, channel_id)
        if thread is None:
            return Outcome(False, NOT_TRACKED)
        scan = await self._scan(scan_id)
        if isinstance(scan, Outcome):
            return scan
        now = self._clock()
        chosen = _report_file(scan)
        if chosen is None:
            try:
                await self._reply(thread, self._render.report_missing(scan_id))
            except SlackFailure as failure:
                return _slack_failed(failure, "reply in the thread")
            await self._triage.record(scan_id, channel_id, user_id, "report", "none", now)
            return Outcome(True)
        result_id, content_type, extension, kind = chosen
        try:
            result = await self._hostedscan.get_result(result_id)
        except HostedScanError as exc:
            log.warning("report of %s unavailable: %s", scan_id, exc)
            what = f"the report of scan {code(scan_id)}"
            return Outcome(False, sentences.lookup_failed(exc, what))
        try:
            await self._slack.upload_file(
                channel_id,
                result.content,
                filename=f"scanbot-{scan_id}.{extension}",
                title=f"HostedScan report of scan {scan_id} ({kind})",
                comment=self._render.report_comment(scan_id, content_type, user_id),
                thread_ts=thread.parent_ts,
            )
        except SlackFailure as failure:
            return _slack_failed(failure, "upload the report")
        detail = f"{kind}, {len(result.content)} bytes"
        await self._triage.record(scan_id, channel_id, user_id, "report", detail, now)
        log.info("uploaded the %s report of %s to %s (%s)", kind, scan_id, channel_id, detail)
        return Outcome(True)

    # -- held alerts ----------------------------------------------------------------------

    async def release_held(self, now: datetime | None = None) -> int:
        """Summarise the alerts held by threads that are no longer snoozed or muted, then
        clear the snoozes that ended (`expire_snoozes`). Returns how many threads were
        released."""
        now = now or self._clock()
        released = 0
        for thread in await self._store.threads.with_held_alerts():
            try:
                view = await self._store.threads.view(thread)
                if view.is_quiet(now, thread.summary.state):
                    continue
                why = "snoozed" if view.is_snoozed else await self._last_quiet(thread)
                if await self._release(thread, why, now):
                    released += 1
            except SlackFailure as failure:  # still held: the next run tries again
                log.warning("held alerts of %s not released yet: %s", thread.scan_id, failure)
            except Exception:  # one thread's failure must not keep the others held
                log.exception("could not release the held alerts of %s", thread.scan_id)
        if released:
            log.info("released the held alerts of %d thread(s)", released)
        await self.expire_snoozes(now)
        return released

    async def expire_snoozes(self, now: datetime | None = None) -> int:
        """Clear every snooze that ended (its time passed, or the scan left the state it
        waited out) and redraw its parent, held alerts or not. A conditional update: two
        rounds or replicas racing clear (and audit) each once. Returns how many."""
        now = now or self._clock()
        expired = 0
        for thread in await self._store.threads.snoozed():
            try:
                if await self._triage.expire_snooze(thread, now, by=SCANBOT):
                    expired += 1
                    # A failed edit is left to the sender: the card key changed with it.
                    await self._edit_parent(thread)
            except Exception:  # one thread's failure must not keep the others snoozed
                log.exception("could not end the snooze of %s", thread.scan_id)
        if expired:
            log.info("%d snooze(s) ended", expired)
        return expired

    async def _release_now(self, thread: AlertThread, why: str) -> None:
        """After an unmute or unsnooze: the held alerts at once, unless still quiet."""
        now = self._clock()
        fresh = await self._store.threads.get(thread.scan_id, thread.channel_id)
        if fresh is None or (await self._store.threads.view(fresh)).is_quiet(
            now, fresh.summary.state
        ):
            return
        try:
            await self._release(fresh, why, now)
        except SlackFailure as failure:  # the periodic run tries again
            log.warning("held alerts of %s not released yet: %s", thread.scan_id, failure)

    async def _release(self, thread: AlertThread, why: str, now: datetime) -> bool:
        async with self._release_lock:
            rows = await self._store.outbox.held(thread.scan_id, thread.channel_id)
            if not rows:
                return False  # another run got there first
            message = self._render.held_summary([row.alert for row in rows], why)
            ts = await self._reply(thread, message)
            await self._store.outbox.mark_summarized([row.id for row in rows], ts, now)
        log.info("summarised %d held alert(s) of %s (%s)", len(rows), thread.scan_id, why)
        return True

    async def _last_quiet(self, thread: AlertThread) -> str:
        """Why alerts were held, for a thread neither snoozed nor muted any more."""
        for entry in reversed(await self._triage.audit(thread.scan_id, thread.channel_id)):
            if entry.action in ("unmute", "unsnooze"):
                return "muted" if entry.action == "unmute" else "snoozed"
        return "muted"

    # -- what waits for people ------------------------------------------------------------

    async def unacknowledged(self, channel_id: str) -> list[WaitingAlert]:
        """The channel's alerts nobody acknowledged, oldest first (`/scans triage`)."""
        return await self._waiting(await self._store.threads.unacknowledged(channel_id))

    async def home(self, user_id: str) -> tuple[list[WaitingAlert], list[WaitingAlert]]:
        """The Home tab: alerts assigned to the user, and unacknowledged ones in their
        channels (none when Slack will not say which channels those are)."""
        assigned = await self._store.threads.assigned_to(user_id)
        channels = await self._channels_of(user_id)
        waiting = [
            t for t in await self._store.threads.unacknowledged() if t.channel_id in channels
        ]
        return await self._waiting(assigned), await self._waiting(waiting)

    async def _waiting(self, threads: Sequence[AlertThread]) -> list[WaitingAlert]:
        limit = asyncio.Semaphore(SLACK_CONCURRENCY)

        async def one(thread: AlertThread) -> WaitingAlert:
            async with limit:
                link = await self._permalink(thread)
            return WaitingAlert(thread.summary, link, thread.created_at, thread.channel_id)

        return list(await asyncio.gather(*(one(thread) for thread in threads)))

    async def _permalink(self, thread: AlertThread) -> str | None:
        try:
            return await self._slack.permalink(thread.channel_id, thread.parent_ts)
        except SlackFailure as failure:
            log.info("no permalink for %s in %s: %s", thread.scan_id, thread.channel_id, failure)
            return None

    async def _channels_of(self, user_id: str) -> set[str]:
        try:
            return await self._slack.channels_of(user_id)
        except SlackFailure as failure:
            log.warning("channels of %s unknown, Home shows none of theirs: %s", user_id, failure)
            return set()

    # -- speaking in the thread -----------------------------------------------------------

    async def _changed(self, thread: AlertThread, user_id: str, reply: Message) -> Outcome:
        """The store changed: say so in the thread and show it on the parent."""
        notice = None
        try:
            await self._reply(thread, reply)
        except SlackFailure as failure:
            notice = sentences.saved_but_slack_refused(failure.error, "reply in the thread")
        # A failed edit is left to the sender, which edits parents whose card is stale.
        await self._edit_parent(thread)
        log.info(
            "triage of %s in %s by %s: %.80s",
            thread.scan_id,
            thread.channel_id,
            user_id,
            reply["text"],
        )
        return Outcome(True, notice)

    async def _reply(self, thread: AlertThread, message: Message) -> str:
        return await self._slack.reply(thread.channel_id, thread.parent_ts, message)

    async def _edit_parent(self, thread: AlertThread) -> bool:
        """Edit the parent to show the thread as stored now (its summary and triage); the
        notifier draws it at the current time. False, logged, when Slack refused."""
        key = (thread.scan_id, thread.channel_id)
        lock = self._edit_locks.get(key)
        if lock is None:
            lock = self._edit_locks[key] = asyncio.Lock()
        async with lock:
            fresh = await self._store.threads.get(thread.scan_id, thread.channel_id) or thread
            view = await self._store.threads.view(fresh)
            try:
                await self._slack.edit_parent(
                    fresh.channel_id, fresh.parent_ts, fresh.summary, view
                )
            except SlackFailure as failure:
                log.warning(
                    "could not edit the parent of %s in %s: %s",
                    fresh.scan_id,
                    fresh.channel_id,
                    failure.error,
                )
                return False
            # The sender edits parents whose key differs from the stored one: not this one.
            await self._store.threads.mark_shown(
                fresh.scan_id, fresh.channel_id, card_key(fresh.summary, view)
            )
        return True

    async def _scan(self, scan_id: str) -> Scan | Outcome:
        try:
            return await self._hostedscan.get_scan(scan_id)
        except HostedScanError as exc:
            log.warning("scan %s unavailable: %s", scan_id, exc)
            return Outcome(False, sentences.lookup_failed(exc, f"scan {code(scan_id)}"))


# -- pure helpers --------------------------------------------------------------------------


def _report_file(scan: Scan) -> tuple[str, str, str, str] | None:
    """(result id, content type, file extension, kind) of the best report, or None."""
    for content_type, extension, kind in REPORT_KINDS:
        for result in scan.results:
            if result.content_type.split(";")[0].strip().lower() == content_type:
                return result.result_id, content_type, extension, kind
    return None


def _slack_failed(failure: SlackFailure, doing: str) -> Outcome:
    log.warning("Slack refused to %s: %s", doing, failure.error)
    return Outcome(False, sentences.slack_refused(failure.error, doing))
