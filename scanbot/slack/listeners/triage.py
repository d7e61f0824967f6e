"""The buttons on an alert thread's parent and the assign window. Anyone in the channel may
triage; the buttons that show scan data check guests first."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from scanbot.slack import actions
from scanbot.slack.listeners.group import Deps, ListenerGroup
from scanbot.slack.payloads import AssignForm, Click, PayloadError
from scanbot.triage.service import Outcome

log = logging.getLogger(__name__)

Body = dict[str, Any]
# A Triage action on the thread a click names: (scan id, channel id, user id) -> Outcome.
ThreadAction = Callable[[str, str, str], Awaitable[Outcome]]


class TriageListeners(ListenerGroup):
    async def acknowledge(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.acknowledge)

    async def undo_acknowledge(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.undo_acknowledge)

    async def unsnooze(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.unsnooze)

    async def mute(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.mute)

    async def unmute(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.unmute)

    async def refresh(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.refresh, reveals_data=True)

    async def show_risks(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.show_risks, reveals_data=True)

    async def report(self, ack: AsyncAck, body: Body) -> None:
        await self.on_thread(ack, body, self.deps.triage.report, reveals_data=True)

    async def on_thread(
        self, ack: AsyncAck, body: Body, act: ThreadAction, *, reveals_data: bool = False
    ) -> None:
        """A button whose value names the thread's scan; the click's channel names the rest."""
        await ack()
        click = Click.of(body)
        async with self.deps.inflight.track():
            if reveals_data and await self.refused(click):
                return
            await self.notify(click, await act(click.scan_id, click.channel_id, click.user_id))

    async def snooze(self, ack: AsyncAck, body: Body) -> None:
        await ack()
        click = Click.of(body)
        async with self.deps.inflight.track():
            try:
                scan_id = click.snoozed_scan()
            except PayloadError as error:
                await self.unreadable(click, error)
                return
            outcome = await self.deps.triage.snooze(
                scan_id, click.channel_id, click.user_id, click.selected
            )
            await self.notify(click, outcome)

    async def assign(self, ack: AsyncAck, body: Body) -> None:
        await ack()  # then open the modal at once: a trigger_id lasts 3 seconds
        click = Click.of(body)
        async with self.deps.inflight.track():
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

    async def open_risk(self, ack: AsyncAck, body: Body) -> None:
        await ack()  # then open the modal at once: a trigger_id lasts 3 seconds
        click = Click.of(body)
        async with self.deps.inflight.track():
            if await self.refused(click):
                return
            await self.notify(
                click, await self.deps.triage.open_risk(click.trigger_id, click.risk_id)
            )


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
