"""Alerts held while a thread was snoozed or muted: one summary reply when it wakes up, and
the snoozes that ended cleared (each once, whichever round or replica gets there)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from scanbot.domain.clock import utcnow
from scanbot.domain.threads import AlertThread
from scanbot.slack.notifier import SlackFailure
from scanbot.triage.thread import ThreadVoice, TriageRenderer

log = logging.getLogger(__name__)

# Who the store's audit names for what scanbot does by itself (an expired snooze).
SCANBOT = "scanbot"


class HeldAlerts:
    def __init__(
        self,
        voice: ThreadVoice,
        *,
        render: TriageRenderer,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.voice = voice
        self._store = voice.store
        self._render = render
        self._clock = clock
        # Held alerts are summarised once, whether an unmute or the periodic run gets there.
        self._release_lock = asyncio.Lock()

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
                if await self._store.triage.expire_snooze(thread, now, by=SCANBOT):
                    expired += 1
                    # A failed edit is left to the sender: the card key changed with it.
                    await self.voice.edit_parent(thread)
            except Exception:  # one thread's failure must not keep the others snoozed
                log.exception("could not end the snooze of %s", thread.scan_id)
        if expired:
            log.info("%d snooze(s) ended", expired)
        return expired

    async def release_now(self, thread: AlertThread, why: str) -> None:
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
            ts = await self.voice.reply(thread, message)
            await self._store.outbox.mark_summarized([row.id for row in rows], ts, now)
        log.info("summarised %d held alert(s) of %s (%s)", len(rows), thread.scan_id, why)
        return True

    async def _last_quiet(self, thread: AlertThread) -> str:
        """Why alerts were held, for a thread neither snoozed nor muted any more."""
        for entry in reversed(await self._store.triage.audit(thread.scan_id, thread.channel_id)):
            if entry.action in ("unmute", "unsnooze"):
                return "muted" if entry.action == "unmute" else "snoozed"
        return "muted"
