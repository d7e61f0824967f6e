"""What people change from an alert thread: acknowledge, assign, snooze, mute (and undo).

Each action changes the store conditionally and speaks in the thread only when something
changed, so double clicks and replays post nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from scanbot.domain.clock import utcnow
from scanbot.domain.threads import AlertThread, SnoozeChoice
from scanbot.slack import sentences
from scanbot.slack.notifier import SlackFailure
from scanbot.slack.sentences import SNOOZE_CHOICES
from scanbot.slack.text import user_mention
from scanbot.triage.held import HeldAlerts
from scanbot.triage.thread import (
    Outcome,
    ThreadVoice,
    TriageRenderer,
    boundary,
    slack_failed,
    tracked,
)

log = logging.getLogger(__name__)


# Told of a new assignee: (the thread, the assignee, who assigned).
Assigned = Callable[[AlertThread, str, str], Awaitable[object]]


class Actions:
    def __init__(
        self,
        voice: ThreadVoice,
        held: HeldAlerts,
        *,
        render: TriageRenderer,
        seal_key: bytes,
        clock: Callable[[], datetime] = utcnow,
        assigned: Assigned | None = None,
    ) -> None:
        """`seal_key` seals what the assign window carries (`actions.seal_key` of a secret
        every replica holds): a form that comes back altered changes nothing. `assigned`
        is told of each new assignee (thread, assignee, by whom)."""
        self.voice = voice
        self._assigned = assigned
        self._triage = voice.store.triage
        self._held = held
        self._render = render
        self._seal_key = seal_key
        self._clock = clock

    # -- acknowledging --------------------------------------------------------------------

    @tracked
    async def acknowledge(self, thread: AlertThread, user_id: str) -> Outcome:
        now = self._clock()
        if not await self._triage.acknowledge(thread.scan_id, thread.channel_id, user_id, now):
            return Outcome(False, sentences.ALREADY_ACKNOWLEDGED)
        return await self.voice.changed(thread, user_id, self._render.acknowledged(user_id, now))

    @tracked
    async def undo_acknowledge(self, thread: AlertThread, user_id: str) -> Outcome:
        if not await self._triage.unacknowledge(
            thread.scan_id, thread.channel_id, user_id, self._clock()
        ):
            return Outcome(False, sentences.NOT_ACKNOWLEDGED)
        return await self.voice.changed(thread, user_id, self._render.unacknowledged(user_id))

    # -- assigning ------------------------------------------------------------------------

    @tracked
    async def open_assign(self, thread: AlertThread, trigger_id: str, message_ts: str) -> Outcome:
        # The trigger id lives 3 s: only the local read of the current assignee comes first.
        view = self._render.assign_modal(
            thread.scan_id, thread.channel_id, message_ts, thread.assignee, key=self._seal_key
        )
        try:
            await self.voice.slack.open_view(trigger_id, view)
        except SlackFailure as failure:
            return slack_failed(failure, "open the assign window")
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

    @tracked
    async def assign(
        self, thread: AlertThread, user_id: str, assignee: str | None, note: str = ""
    ) -> Outcome:
        assignee = assignee or None
        if not await self._triage.assign(
            thread.scan_id, thread.channel_id, user_id, assignee, self._clock()
        ):
            if assignee is None:
                return Outcome(False, sentences.NOBODY_ASSIGNED)
            return Outcome(False, sentences.already_assigned(user_mention(assignee)))
        message = self._render.assigned(assignee, user_id, note)
        outcome = await self.voice.changed(thread, user_id, message)
        if assignee is not None and self._assigned is not None:
            await self._assigned(thread, assignee, user_id)
        return outcome

    # -- snoozing and muting --------------------------------------------------------------

    @boundary
    async def snooze(self, scan_id: str, channel_id: str, user_id: str, choice: str) -> Outcome:
        """Snooze the thread; the same snooze chosen again changes nothing and posts nothing
        (the rule in `SnoozeChoice`). An unknown choice is refused before anything is read."""
        try:
            snooze = SnoozeChoice(choice)
        except ValueError:
            return Outcome(False, SNOOZE_CHOICES)
        return await self._snooze(scan_id, channel_id, user_id, snooze)

    @tracked
    async def _snooze(self, thread: AlertThread, user_id: str, snooze: SnoozeChoice) -> Outcome:
        if snooze.duration is None and thread.summary.is_final:
            return Outcome(False, sentences.FINISHED_CANNOT_WAIT)
        now = self._clock()
        state = thread.summary.state
        if not await self._triage.snooze(
            thread.scan_id, thread.channel_id, user_id, now, snooze, state=state
        ):
            return Outcome(
                False,
                sentences.already_snoozed(snooze.label, until_a_change=snooze.duration is None),
            )
        until = now + snooze.duration if snooze.duration is not None else None
        message = self._render.snoozed(user_id, snooze, until)
        return await self.voice.changed(thread, user_id, message)

    @tracked
    async def unsnooze(self, thread: AlertThread, user_id: str) -> Outcome:
        if not await self._triage.unsnooze(
            thread.scan_id, thread.channel_id, user_id, self._clock()
        ):
            return Outcome(False, sentences.NOT_SNOOZED)
        outcome = await self.voice.changed(thread, user_id, self._render.unsnoozed(user_id))
        await self._held.release_now(thread, "snoozed")
        return outcome

    @tracked
    async def mute(self, thread: AlertThread, user_id: str) -> Outcome:
        if not await self._triage.set_muted(
            thread.scan_id, thread.channel_id, user_id, True, self._clock()
        ):
            return Outcome(False, sentences.ALREADY_MUTED)
        return await self.voice.changed(thread, user_id, self._render.muted(user_id))

    @tracked
    async def unmute(self, thread: AlertThread, user_id: str) -> Outcome:
        if not await self._triage.set_muted(
            thread.scan_id, thread.channel_id, user_id, False, self._clock()
        ):
            return Outcome(False, sentences.NOT_MUTED)
        outcome = await self.voice.changed(thread, user_id, self._render.unmuted(user_id))
        await self._held.release_now(thread, "muted")
        return outcome
