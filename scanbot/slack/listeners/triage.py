"""The buttons on an alert thread's parent and the assign window. Anyone in the channel may
triage; the buttons that show scan data check guests first."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from scanbot.slack import actions
from scanbot.slack.listeners.group import Deps, ListenerGroup, acked
from scanbot.slack.payloads import AssignForm, Click, PayloadError
from scanbot.triage.service import Outcome

log = logging.getLogger(__name__)

Body = dict[str, Any]
# A Triage action on the thread a click names: (scan id, channel id, user id) -> Outcome.
ThreadAction = Callable[[str, str, str], Awaitable[Outcome]]


class TriageListeners(ListenerGroup):
    @acked(Click.of, refuse_guests=False)
    async def acknowledge(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.acknowledge)

    @acked(Click.of, refuse_guests=False)
    async def undo_acknowledge(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.undo_acknowledge)

    @acked(Click.of, refuse_guests=False)
    async def unsnooze(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.unsnooze)

    @acked(Click.of, refuse_guests=False)
    async def mute(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.mute)

    @acked(Click.of, refuse_guests=False)
    async def unmute(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.unmute)

    @acked(Click.of, refuse_guests=True)
    async def refresh(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.refresh)

    @acked(Click.of, refuse_guests=True)
    async def show_risks(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.show_risks)

    @acked(Click.of, refuse_guests=True)
    async def report(self, click: Click) -> None:
        await self.on_thread(click, self.deps.triage.report)

    async def on_thread(self, click: Click, act: ThreadAction) -> None:
        """A button whose value names the thread's scan; the click's channel names the rest."""
        await self.notify(click, await act(click.scan_id, click.channel_id, click.user_id))

    @acked(Click.of, refuse_guests=False)
    async def snooze(self, click: Click) -> None:
        try:
            scan_id = click.snoozed_scan()
        except PayloadError as error:
            await self.unreadable(click, error)
            return
        outcome = await self.deps.triage.snooze(
            scan_id, click.channel_id, click.user_id, click.selected
        )
        await self.notify(click, outcome)

    @acked(Click.of, refuse_guests=False)  # acked, then the modal at once: a trigger_id lasts 3 s
    async def assign(self, click: Click) -> None:
        outcome = await self.deps.triage.open_assign(
            click.trigger_id, click.scan_id, click.channel_id, click.message_ts
        )
        await self.notify(click, outcome)

    async def assign_submitted(self, ack: AsyncAck, body: Body) -> None:
        # The submission names no channel of its own: only a form scanbot sealed is believed.
        # Checked before the ack, so that a refused form says why inside the form itself.
        try:
            form = AssignForm.of(body, key=self.deps.seal_key)
        except PayloadError as error:
            log.warning("refused %s", error.reason)
            await ack(response_action="errors", errors={"assignee": error.sentence})
            return
        await ack()  # closes the modal
        async with self.deps.inflight.track():
            outcome = await self.deps.triage.assign(
                form.scan_id, form.channel_id, form.user_id, form.assignee, form.note
            )
            if outcome.notice:
                await self.tell_privately(form.channel_id, form.user_id, outcome.notice)

    @acked(Click.of, refuse_guests=True)  # acked, then the modal at once: a trigger_id lasts 3 s
    async def open_risk(self, click: Click) -> None:
        await self.notify(click, await self.deps.triage.open_risk(click.trigger_id, click.risk_id))


def register(app: AsyncApp, deps: Deps) -> None:
    listeners = TriageListeners(deps)
    app.action(actions.pattern(actions.ACK))(listeners.acknowledge)
    app.action(actions.pattern(actions.UNACK))(listeners.undo_acknowledge)
    app.action(actions.pattern(actions.UNSNOOZE))(listeners.unsnooze)
    app.action(actions.pattern(actions.MUTE))(listeners.mute)
    app.action(actions.pattern(actions.UNMUTE))(listeners.unmute)
    app.action(actions.pattern(actions.THREAD_REFRESH))(listeners.refresh)
    app.action(actions.pattern(actions.RISKS))(listeners.show_risks)
    app.action(actions.pattern(actions.REPORT))(listeners.report)
    app.action(actions.pattern(actions.SNOOZE))(listeners.snooze)
    app.action(actions.pattern(actions.ASSIGN))(listeners.assign)
    app.view(actions.ASSIGN_VIEW)(listeners.assign_submitted)
    app.action(actions.pattern(actions.RISK))(listeners.open_risk)
