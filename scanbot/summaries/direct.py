"""Direct messages: the person assigned an alert is told, with a link to its thread.

`conversations.open` (scope `im:write`) gives the bot's DM with them; a failure is logged
and never undoes the assignment, which the thread already shows.
"""

from __future__ import annotations

import logging

from scanbot.domain.threads import AlertThread
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.summaries.card import assigned_dm

log = logging.getLogger(__name__)


class DirectMessages:
    def __init__(self, slack: Notifier) -> None:
        self._slack = slack

    async def tell_assignee(self, thread: AlertThread, assignee: str, by: str) -> bool:
        """DM `assignee` a link to the thread (not when they assigned themselves)."""
        if assignee == by:
            return False
        try:
            channel = await self._slack.open_dm(assignee)
        except SlackFailure as failure:
            log.warning("could not open a DM with the assignee (%s)", failure.detail)
            return False
        if not channel:
            return False
        try:
            permalink = await self._slack.permalink(thread.channel_id, thread.parent_ts)
        except SlackFailure as failure:
            log.info("no permalink for the assignee's DM (%s)", failure.detail)
            permalink = None
        message = assigned_dm(thread.summary, thread.channel_id, by, permalink)
        try:
            await self._slack.notice(channel, message)
        except SlackFailure as failure:
            log.warning("could not DM the assignee of %s (%s)", thread.scan_id, failure.detail)
            return False
        log.info("told the assignee of %s in %s by DM", thread.scan_id, thread.channel_id)
        return True
