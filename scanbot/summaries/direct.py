"""Direct messages: the person assigned an alert is told, with a link to its thread.

`conversations.open` (scope `im:write`) gives the bot's DM with them; a failure is logged
and never undoes the assignment, which the thread already shows.
"""

from __future__ import annotations

import logging

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.domain.threads import AlertThread
from scanbot.summaries.card import assigned_dm

log = logging.getLogger(__name__)
FAILURES = (SlackApiError, ClientError, TimeoutError, OSError)


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown"))
    return exc.__class__.__name__


class DirectMessages:
    def __init__(self, slack: AsyncWebClient) -> None:
        self._slack = slack

    async def open(self, user_id: str) -> str | None:
        """The id of the bot's DM with `user_id`, or None if Slack would not open one."""
        try:
            response = await self._slack.conversations_open(users=user_id)
        except FAILURES as exc:
            log.warning("could not open a DM with a user (%s)", _reason(exc))
            return None
        channel = (response.get("channel") or {}).get("id")
        return channel if isinstance(channel, str) and channel else None

    async def tell_assignee(self, thread: AlertThread, assignee: str, by: str) -> bool:
        """DM `assignee` a link to the thread (not when they assigned themselves)."""
        if assignee == by:
            return False
        channel = await self.open(assignee)
        if channel is None:
            return False
        permalink: str | None = None
        try:
            link = await self._slack.chat_getPermalink(
                channel=thread.channel_id, message_ts=thread.parent_ts
            )
            permalink = link.get("permalink") if isinstance(link.get("permalink"), str) else None
        except FAILURES as exc:
            log.info("no permalink for the assignee's DM (%s)", _reason(exc))
        message = assigned_dm(thread.summary, thread.channel_id, by, permalink)
        try:
            await self._slack.chat_postMessage(
                channel=channel, text=message["text"], blocks=message["blocks"]
            )
        except FAILURES as exc:
            log.warning("could not DM the assignee of %s (%s)", thread.scan_id, _reason(exc))
            return False
        log.info("told the assignee of %s in %s by DM", thread.scan_id, thread.channel_id)
        return True
