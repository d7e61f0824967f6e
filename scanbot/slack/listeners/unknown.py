"""Any button no other listener claims (an older or newer scanbot's): one sentence, not
silence. Registered last."""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp

from scanbot.slack.answers import Reply
from scanbot.slack.listeners.group import Deps, ListenerGroup, acked
from scanbot.slack.payloads import OLD_BUTTON, Click

log = logging.getLogger(__name__)


class UnknownButtonListeners(ListenerGroup):
    @acked(Click.of, refuse_guests=False)
    async def unknown_button(self, click: Click) -> None:
        log.info("answered an old or unknown button (action_id %.80r)", click.action_id)
        await self.reply(click, Reply.failure(OLD_BUTTON), replace_original=False)


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(re.compile(".*"))(UnknownButtonListeners(deps).unknown_button)
