"""The only module that registers Bolt listeners. Each one acks first, then works.

Slack waits 3 seconds for the ack; the answer follows through the request's
`response_url`, so it works in private channels and DMs without inviting the bot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.slack import actions, kit
from scanbot.slack.answers import Answers, Reply
from scanbot.slack.cards import home as home_cards
from scanbot.slack.inflight import InFlight
from scanbot.slack.people import People
from scanbot.slack.responder import Responder
from scanbot.triage.service import Outcome, Triage

log = logging.getLogger(__name__)

OLD_BUTTON = (
    "This button is from another version of scanbot and no longer works. "
    "Run `/scans` or `/scan &lt;id&gt;` for a fresh card."
)
FORM_NOT_SEALED = (
    "This form is out of date or was not made by scanbot, so nothing was changed: "
    "close it and press Assign… on the alert again."
)
Body = dict[str, Any]


@dataclass
class Deps:
    answers: Answers
    inflight: InFlight
    responder: Responder
    people: People
    triage: Triage
    slack: AsyncWebClient


def _is_ephemeral(body: Body) -> bool:
    return bool(body.get("container", {}).get("is_ephemeral"))


def _action(body: Body) -> dict[str, Any]:
    return dict((body.get("actions") or [{}])[0])


def _clicked(body: Body) -> str:
    return str(_action(body).get("value", ""))


def _user(body: Body) -> str:
    return str(body.get("user_id") or body.get("user", {}).get("id", ""))


def _team(body: Body) -> str:
    return str(body.get("team_id") or body.get("team", {}).get("id", ""))


def _channel(body: Body) -> str:
    return str(body.get("channel", {}).get("id") or body.get("container", {}).get("channel_id", ""))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _form_value(values: dict[str, Any], block: str, action: str, key: str) -> str | None:
    """One input's value from a view's state, None when absent or not a string."""
    value = _mapping(_mapping(values.get(block)).get(action)).get(key)
    return value if isinstance(value, str) else None


def _message_ts(body: Body) -> str:
    return str(body.get("container", {}).get("message_ts", ""))


def register(app: AsyncApp, deps: Deps) -> None:
    _register_commands(app, deps)
    _register_card_buttons(app, deps)
    _register_triage(app, deps)

    @app.action(re.compile(".*"))  # last: anything no listener above claimed
    async def unknown_button(ack: AsyncAck, body: Body) -> None:
        await ack()
        log.info(
            "answered an old or unknown button (action_id %.80r)", _action(body).get("action_id")
        )
        async with deps.inflight.track():
            await _reply(deps, body, Reply.failure(OLD_BUTTON), replace_original=False)


async def _reply(deps: Deps, body: Body, answer: Reply, **options: Any) -> None:
    options.setdefault("response_type", "ephemeral")
    async with deps.answers.drawing:  # a few at a time: acks first (see Answers)
        await deps.responder.send(str(body.get("response_url", "")), answer.message, **options)


async def _refused(deps: Deps, body: Body) -> bool:
    """Guests and external people get a polite refusal instead of scan data."""
    refusal = await deps.people.refusal(_user(body), _team(body))
    if refusal is None:
        return False
    await _reply(deps, body, Reply.failure(refusal), replace_original=False)
    return True


def _register_commands(app: AsyncApp, deps: Deps) -> None:
    @app.command("/scans")
    async def scans_command(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            if await _refused(deps, body):
                return
            answer = await deps.answers.scans(
                str(body.get("text", "")),
                channel_id=str(body.get("channel_id", "")),
                user_id=_user(body),
            )
            await _reply(deps, body, answer)

    @app.command("/scan")
    async def scan_command(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            if await _refused(deps, body):
                return
            await _reply(deps, body, await deps.answers.scan(str(body.get("text", ""))))


def _register_card_buttons(app: AsyncApp, deps: Deps) -> None:
    @app.action(actions.pattern(actions.DETAILS))
    async def details_button(ack: AsyncAck, body: Body) -> None:
        # Always a new ephemeral card: it never replaces a list or a shared message.
        await ack()
        async with deps.inflight.track():
            if await _refused(deps, body):
                return
            answer = await deps.answers.details(_clicked(body))
            await _reply(deps, body, answer, replace_original=False)

    @app.action(actions.pattern(actions.REFRESH))
    async def refresh_button(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            if await _refused(deps, body):
                return
            answer = await deps.answers.details(_clicked(body), fresh=True)
            # Replace the clicker's own ephemeral card; a shared card is never replaced.
            await _reply(deps, body, answer, replace_original=_is_ephemeral(body))

    @app.action(actions.pattern(actions.SHARE))
    async def share_button(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            if await _refused(deps, body):
                return
            answer = await deps.answers.details(_clicked(body), shared_by=_user(body))
            # Only the card goes to the channel; a failure stays with the person who clicked.
            response_type = "in_channel" if answer.ok else "ephemeral"
            await _reply(deps, body, answer, response_type=response_type, replace_original=False)

    @app.action(actions.pattern(actions.NEXT))
    async def next_button(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            if await _refused(deps, body):
                return
            answer = await deps.answers.next_page(_clicked(body))
            await _reply(deps, body, answer, replace_original=True)


ThreadAction = Callable[[str, str, str], Awaitable[Outcome]]


def _register_triage(app: AsyncApp, deps: Deps) -> None:
    """Buttons on alert parents. Anyone in the channel may triage; data buttons check guests."""
    triage = deps.triage

    def on_thread(kind: str, act: ThreadAction, *, reveals_data: bool = False) -> None:
        @app.action(actions.pattern(kind))
        async def thread_button(ack: AsyncAck, body: Body) -> None:
            await ack()
            async with deps.inflight.track():
                if reveals_data and await _refused(deps, body):
                    return
                outcome = await act(_clicked(body), _channel(body), _user(body))
                await _notify(deps, body, outcome)

    on_thread(actions.ACK, triage.acknowledge)
    on_thread(actions.UNACK, triage.undo_acknowledge)
    on_thread(actions.UNSNOOZE, triage.unsnooze)
    on_thread(actions.MUTE, triage.mute)
    on_thread(actions.UNMUTE, triage.unmute)
    on_thread(actions.THREAD_REFRESH, triage.refresh, reveals_data=True)
    on_thread(actions.RISKS, triage.show_risks, reveals_data=True)
    on_thread(actions.REPORT, triage.report, reveals_data=True)

    @app.action(actions.pattern(actions.SNOOZE))
    async def snooze_select(ack: AsyncAck, body: Body) -> None:
        await ack()
        async with deps.inflight.track():
            action = _action(body)
            choice = str((action.get("selected_option") or {}).get("value", ""))
            try:
                scan_id = actions.parse_triage_block_id(str(action.get("block_id", "")))
            except ValueError:
                await _reply(deps, body, Reply.failure(OLD_BUTTON), replace_original=False)
                return
            outcome = await triage.snooze(scan_id, _channel(body), _user(body), choice)
            await _notify(deps, body, outcome)

    @app.action(actions.pattern(actions.ASSIGN))
    async def assign_button(ack: AsyncAck, body: Body) -> None:
        await ack()  # then open the modal at once: a trigger_id lasts 3 seconds
        async with deps.inflight.track():
            outcome = await triage.open_assign(
                str(body.get("trigger_id", "")), _clicked(body), _channel(body), _message_ts(body)
            )
            await _notify(deps, body, outcome)

    @app.view(actions.ASSIGN_VIEW)
    async def assign_submitted(ack: AsyncAck, body: Body) -> None:
        view = _mapping(body.get("view"))
        # The submission names no channel of its own: only a form scanbot sealed is believed.
        # Checked before the ack, so that a refused form says why inside the form itself.
        thread = triage.assign_form(str(view.get("private_metadata", "")))
        if thread is None:
            await ack(response_action="errors", errors={"assignee": FORM_NOT_SEALED})
            return
        await ack()  # closes the modal
        async with deps.inflight.track():
            scan_id, channel_id = thread
            user_id = _user(body)
            values = _mapping(_mapping(view.get("state")).get("values"))
            assignee = _form_value(values, "assignee", "user", "selected_user")
            note = _form_value(values, "note", "text", "value") or ""
            outcome = await triage.assign(scan_id, channel_id, user_id, assignee, note)
            if outcome.notice:
                await _ephemeral(deps.slack, channel_id, user_id, outcome.notice)

    @app.action(actions.pattern(actions.RISK))
    async def risk_button(ack: AsyncAck, body: Body) -> None:
        await ack()  # then open the modal at once: a trigger_id lasts 3 seconds
        async with deps.inflight.track():
            refusal = await deps.people.refusal(_user(body), _team(body))
            if refusal is not None:
                await _reply(deps, body, Reply.failure(refusal), replace_original=False)
                return
            outcome = await triage.open_risk(str(body.get("trigger_id", "")), _clicked(body))
            await _notify(deps, body, outcome)

    @app.event("app_home_opened")
    async def home_opened(body: Body, event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user", ""))
        async with deps.inflight.track():
            if await deps.people.refusal(user_id, _team(body)) is not None:
                return
            assigned, waiting = await triage.home(user_id)
            view = home_cards.home_view(
                user_id,
                [(a.summary, a.channel_id, a.permalink) for a in assigned],
                [(w.summary, w.channel_id, w.permalink) for w in waiting],
            )
            try:
                await deps.slack.views_publish(user_id=user_id, view=view)
            except SlackApiError as exc:
                log.warning("could not publish the Home tab: %s", exc.response.get("error"))


async def _notify(deps: Deps, body: Body, outcome: Outcome) -> None:
    """Tell the clicker what the thread does not show (already done, gone, failed)."""
    if outcome.notice:
        sentence = Reply(kit.sentence(outcome.notice), ok=False)
        await _reply(deps, body, sentence, replace_original=False)


async def _ephemeral(slack: AsyncWebClient, channel_id: str, user_id: str, text: str) -> None:
    try:
        await slack.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
    except SlackApiError as exc:
        log.warning("could not tell the user privately: %s", exc.response.get("error"))
