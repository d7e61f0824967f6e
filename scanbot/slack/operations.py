"""The Bolt listeners of the operations (`/scans run`, `targets`, `target add`, `report`,
`audit`, the run confirmation, Re-scan and the audit's Next). Registered before
`listeners.register`: the `/scans` listener here takes only the operation sub-commands (a
matcher), the general one the rest. Each acks first, then works."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.operations import sentences
from scanbot.operations.service import SLACK_FAILURES, Caller, Operations
from scanbot.scans.parse import OPERATION_COMMANDS, parse_scans_command
from scanbot.slack import actions, kit
from scanbot.slack.answers import Answers, Reply
from scanbot.slack.cards import operations as cards
from scanbot.slack.inflight import InFlight
from scanbot.slack.kit import Message
from scanbot.slack.responder import Responder

log = logging.getLogger(__name__)
Body = dict[str, Any]


@dataclass
class OperationsDeps:
    operations: Operations
    inflight: InFlight
    responder: Responder
    slack: AsyncWebClient
    answers: Answers


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _user(body: Body) -> str:
    return str(body.get("user_id") or _mapping(body.get("user")).get("id", ""))


def _team(body: Body) -> str:
    return str(body.get("team_id") or _mapping(body.get("team")).get("id", ""))


def _channel(body: Body) -> str:
    channel = body.get("channel_id") or _mapping(body.get("channel")).get("id")
    return str(channel or _mapping(body.get("container")).get("channel_id", ""))


def _caller(body: Body) -> Caller:
    return Caller(_user(body), _team(body), _channel(body), str(body.get("trigger_id", "")))


def _clicked(body: Body) -> str:
    return str(_mapping((body.get("actions") or [{}])[0]).get("value", ""))


def register_operations(app: AsyncApp, deps: OperationsDeps) -> None:
    operations = deps.operations

    async def reply(body: Body, message: Message, **options: Any) -> None:
        options.setdefault("response_type", "ephemeral")
        await deps.responder.send(str(body.get("response_url", "")), message, **options)

    async def is_operation(body: Body) -> bool:
        return isinstance(parse_scans_command(str(body.get("text", ""))), OPERATION_COMMANDS)

    @app.command("/scans", matchers=[is_operation])
    async def operation_command(ack: AsyncAck, body: Body) -> None:
        await ack()  # then open any modal at once: a trigger_id lasts 3 seconds
        async with deps.inflight.track():
            command = parse_scans_command(str(body.get("text", "")))
            if not isinstance(command, OPERATION_COMMANDS):
                return
            message = await operations.command(command, _caller(body))
            if message is not None:
                await reply(body, message)

    @app.view(actions.RUN_VIEW)
    async def run_submitted(ack: AsyncAck, body: Body) -> None:
        view = _mapping(body.get("view"))
        # The submission names no channel of its own: only a form scanbot sealed is believed,
        # and only its author confirms it. Checked before the ack, to answer in the form.
        form = operations.run_form(str(view.get("private_metadata", "")))
        if form is None or form.user_id != _user(body):
            why = sentences.RUN_FORM_NOT_SEALED if form is None else sentences.RUN_FORM_NOT_YOURS
            await ack(response_action="errors", errors={cards.AUTH_BLOCK: why})
            return
        await ack()  # closes the modal
        async with deps.inflight.track():
            values = _mapping(_mapping(view.get("state")).get("values"))
            chosen = _mapping(_mapping(values.get(cards.AUTH_BLOCK)).get(cards.AUTH_ACTION))
            options = chosen.get("selected_options") or []
            use_authentication = any(
                _mapping(option).get("value") == cards.AUTH_VALUE for option in options
            )
            message = await operations.confirm_run(
                form, _user(body), _team(body), use_authentication=use_authentication
            )
            await tell(deps.slack, form.channel_id, form.user_id, message)

    @app.action(actions.pattern(actions.RESCAN))
    async def rescan_button(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            message = await operations.rescan(_clicked(body), _caller(body))
            await reply(body, message, replace_original=False)

    @app.action(actions.pattern(actions.TARGETS_NEXT))
    async def targets_next(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            try:
                text, offset = cards.parse_targets_next_value(_clicked(body))
            except ValueError:
                await reply(body, kit.sentence(sentences.OLD_BUTTON), replace_original=False)
                return
            message = await operations.targets(text, offset, _caller(body))
            await reply(body, message, replace_original=True)

    @app.action(actions.pattern(actions.TARGET_UPSERT))
    async def target_upsert(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            message = await operations.upsert_target(_clicked(body), _caller(body))
            await reply(body, message, replace_original=False)

    @app.action(actions.pattern(actions.SCAN_RISKS))
    async def scan_risks(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            refusal = await operations.viewer_refusal(_caller(body))
            answer = (
                Reply.failure(refusal)
                if refusal is not None
                else await deps.answers.risks(_clicked(body))
            )
            await reply(body, answer.message, replace_original=False)

    @app.action(actions.pattern(actions.REPORT_TARGETS))
    async def report_targets(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            message = await operations.report_for_scan(_clicked(body), _caller(body))
            if message is not None:
                await reply(body, message, replace_original=False)

    @app.action(actions.pattern(actions.REPORT_RETRY))
    async def report_retry(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            message_ts = str(_mapping(body.get("container")).get("message_ts", ""))
            message = await operations.retry_report(_clicked(body), _caller(body), message_ts)
            if message is not None:
                await reply(body, message, replace_original=False)

    @app.action(actions.pattern(actions.AUDIT_NEXT))
    async def audit_next(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            value = _clicked(body)
            offset = int(value) if value.isascii() and value.isdigit() and len(value) < 9 else 0
            message = await operations.audit(offset, _caller(body))
            await reply(body, message, replace_original=True)


async def tell(slack: AsyncWebClient, channel_id: str, user_id: str, message: Message) -> None:
    """Say `message` to one person where they acted (privately), else in their DM."""
    try:
        await slack.chat_postEphemeral(
            channel=channel_id, user=user_id, text=message["text"], blocks=message["blocks"]
        )
        return
    except SLACK_FAILURES as exc:
        log.info("no ephemeral in %s (%s): telling the user in a DM", channel_id, exc)
    try:
        await slack.chat_postMessage(
            channel=user_id, text=message["text"], blocks=message["blocks"]
        )
    except SLACK_FAILURES as exc:
        log.warning("could not tell the user the answer: %s", exc.__class__.__name__)


__all__ = ["OperationsDeps", "register_operations", "tell"]
