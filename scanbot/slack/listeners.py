"""The only module that registers Bolt listeners. Each one acks first, then works.

Slack waits 3 seconds for the ack; the answer follows through the request's
`response_url`, so it works in private channels and DMs without inviting the bot.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from scanbot.slack import actions
from scanbot.slack.answers import Answers, Reply
from scanbot.slack.inflight import InFlight
from scanbot.slack.responder import Responder

log = logging.getLogger(__name__)

OLD_BUTTON = (
    "This button is from another version of scanbot and no longer works. "
    "Run `/scans` or `/scan &lt;id&gt;` for a fresh card."
)


def _is_ephemeral(body: dict[str, Any]) -> bool:
    return bool(body.get("container", {}).get("is_ephemeral"))


def _clicked(body: dict[str, Any]) -> str:
    actions_list = body.get("actions") or [{}]
    return str(actions_list[0].get("value", ""))


def register(app: AsyncApp, answers: Answers, inflight: InFlight, responder: Responder) -> None:
    async def reply(body: dict[str, Any], answer: Reply, **options: Any) -> None:
        await responder.send(str(body.get("response_url", "")), answer.message, **options)

    @app.command("/scans")
    async def scans_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        async with inflight.track():
            answer = await answers.scans(
                body.get("text", ""),
                channel_id=body.get("channel_id", ""),
                user_id=body.get("user_id", ""),
            )
            await reply(body, answer, response_type="ephemeral")

    @app.command("/scan")
    async def scan_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        async with inflight.track():
            answer = await answers.scan(body.get("text", ""))
            await reply(body, answer, response_type="ephemeral")

    @app.action(actions.pattern(actions.DETAILS))
    async def details_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        # Always a new ephemeral card: it never replaces a list or a shared message.
        await ack()
        async with inflight.track():
            answer = await answers.details(_clicked(body))
            await reply(body, answer, response_type="ephemeral", replace_original=False)

    @app.action(actions.pattern(actions.REFRESH))
    async def refresh_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        async with inflight.track():
            answer = await answers.details(_clicked(body))
            # Replace the clicker's own ephemeral card; a shared card is never replaced.
            replace = _is_ephemeral(body)
            await reply(body, answer, response_type="ephemeral", replace_original=replace)

    @app.action(actions.pattern(actions.SHARE))
    async def share_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        async with inflight.track():
            user_id = str(body.get("user", {}).get("id", ""))
            answer = await answers.details(_clicked(body), shared_by=user_id)
            # Only the card goes to the channel; a failure stays with the person who clicked.
            response_type = "in_channel" if answer.ok else "ephemeral"
            await reply(body, answer, response_type=response_type, replace_original=False)

    @app.action(actions.pattern(actions.NEXT))
    async def next_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        async with inflight.track():
            answer = await answers.next_page(_clicked(body))
            await reply(body, answer, response_type="ephemeral", replace_original=True)

    @app.action(re.compile(".*"))
    async def unknown_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action_id = (body.get("actions") or [{}])[0].get("action_id", "")
        log.info("answered an old or unknown button (action_id %.80r)", action_id)
        async with inflight.track():
            await reply(
                body,
                Reply.failure(OLD_BUTTON),
                response_type="ephemeral",
                replace_original=False,
            )
