"""Acting on HostedScan: `/scans run`, `targets`, `target add`, `report` and `audit`, the
run confirmation, and the buttons on their cards (Re-scan, Show risks, a report of a scan's
targets, Retry, the targets' and the audit's Next, Update the existing target).

Registered first: its `/scans` listener takes only the operation sub-commands (a matcher),
the general one in `commands` the rest. Who may act is the operations service's to decide
(`Permissions`); the listeners here refuse guests only where they show scan data."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from scanbot.operations.service import Caller
from scanbot.scans.parse import OPERATION_COMMANDS, parse_scans_command
from scanbot.slack import actions
from scanbot.slack.answers import Reply
from scanbot.slack.cards.operations import AUTH_BLOCK
from scanbot.slack.kit import Message
from scanbot.slack.listeners.group import Deps, ListenerGroup, acked
from scanbot.slack.notifier import SlackFailure
from scanbot.slack.payloads import Click, Command, PayloadError, RunSubmission

log = logging.getLogger(__name__)

Body = dict[str, Any]


def caller(request: Command | Click) -> Caller:
    """Who acted, from where (Slack's fields, never a button's value)."""
    return Caller(request.user_id, request.team_id, request.channel_id, request.trigger_id)


async def is_operation(body: Body) -> bool:
    """The `/scans` matcher: an operation sub-command (the rest goes to `commands`)."""
    return isinstance(parse_scans_command(str(body.get("text", ""))), OPERATION_COMMANDS)


class OperationListeners(ListenerGroup):
    async def answer(self, to: Command | Click, message: Message | None, **options: Any) -> None:
        """The service's answer, if any (None: a modal opened, or a report went to the channel)."""
        if message is not None:
            await self.reply(to, Reply(message), **options)

    @acked(Command.of, refuse_guests=False)  # then any modal at once: a trigger_id lasts 3 s
    async def command(self, command: Command) -> None:
        parsed = parse_scans_command(command.text)
        if isinstance(parsed, OPERATION_COMMANDS):
            await self.answer(command, await self.deps.operations.command(parsed, caller(command)))

    async def run_submitted(self, ack: AsyncAck, body: Body) -> None:
        # The submission names no channel of its own: only a form scanbot sealed is believed,
        # and only its author confirms it. Checked before the ack, to answer in the form.
        try:
            submitted = RunSubmission.of(body, key=self.deps.seal_key)
        except PayloadError as error:
            log.warning("refused %s", error.reason)
            await ack(response_action="errors", errors={AUTH_BLOCK: error.sentence})
            return
        await ack()  # closes the modal
        async with self.deps.inflight.track():
            form = submitted.form
            message = await self.deps.operations.confirm_run(
                form,
                submitted.user_id,
                submitted.team_id,
                use_authentication=submitted.use_authentication,
            )
            await self.tell(form.channel_id, form.user_id, message)

    async def tell(self, channel_id: str, user_id: str, message: Message) -> None:
        """Say `message` to one person where they acted (privately), else in their DM."""
        try:
            await self.deps.slack.whisper_message(channel_id, user_id, message)
            return
        except SlackFailure as failure:
            log.info("no ephemeral in %s (%s): telling the user in a DM", channel_id, failure.error)
        try:
            await self.deps.slack.direct(user_id, message)
        except SlackFailure as failure:
            log.warning("could not tell the user the answer: %s", failure.error)

    @acked(Click.of, refuse_guests=False)
    async def rescan(self, click: Click) -> None:
        message = await self.deps.operations.rescan(click.scan_id, caller(click))
        await self.answer(click, message, replace_original=False)

    @acked(Click.of, refuse_guests=False)
    async def targets_next(self, click: Click) -> None:
        try:
            text, offset = click.targets_page()
        except PayloadError as error:
            await self.unreadable(click, error)
            return
        message = await self.deps.operations.targets(text, offset, caller(click))
        await self.answer(click, message, replace_original=True)

    @acked(Click.of, refuse_guests=False)
    async def target_upsert(self, click: Click) -> None:
        try:
            target = click.upsert_target()
        except PayloadError as error:
            await self.unreadable(click, error)
            return
        message = await self.deps.operations.upsert_target(target, caller(click))
        await self.answer(click, message, replace_original=False)

    @acked(Click.of, refuse_guests=True)
    async def scan_risks(self, click: Click) -> None:
        await self.reply(
            click, await self.deps.answers.risks(click.scan_id), replace_original=False
        )

    @acked(Click.of, refuse_guests=False)
    async def report_targets(self, click: Click) -> None:
        message = await self.deps.operations.report_for_scan(click.scan_id, caller(click))
        await self.answer(click, message, replace_original=False)

    @acked(Click.of, refuse_guests=False)
    async def report_retry(self, click: Click) -> None:
        try:
            report_id, report_format = click.report_retry()
        except PayloadError as error:
            await self.unreadable(click, error)
            return
        message = await self.deps.operations.retry_report(
            report_id, report_format, caller(click), click.message_ts
        )
        await self.answer(click, message, replace_original=False)

    @acked(Click.of, refuse_guests=False)
    async def audit_next(self, click: Click) -> None:
        message = await self.deps.operations.audit(click.audit_offset, caller(click))
        await self.answer(click, message, replace_original=True)


def register(app: AsyncApp, deps: Deps) -> None:
    listeners = OperationListeners(deps)
    # Before `commands`: Bolt runs the first listener whose matchers pass.
    app.command("/scans", matchers=[is_operation])(listeners.command)
    app.view(actions.RUN_VIEW)(listeners.run_submitted)
    app.action(actions.pattern(actions.RESCAN))(listeners.rescan)
    app.action(actions.pattern(actions.TARGETS_NEXT))(listeners.targets_next)
    app.action(actions.pattern(actions.TARGET_UPSERT))(listeners.target_upsert)
    app.action(actions.pattern(actions.SCAN_RISKS))(listeners.scan_risks)
    app.action(actions.pattern(actions.REPORT_TARGETS))(listeners.report_targets)
    app.action(actions.pattern(actions.REPORT_RETRY))(listeners.report_retry)
    app.action(actions.pattern(actions.AUDIT_NEXT))(listeners.audit_next)
