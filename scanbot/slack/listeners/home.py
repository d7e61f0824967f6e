"""The Home tab: drawn for the person who opens it (their assigned and waiting alerts)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from scanbot.slack.cards import home as home_cards
from scanbot.slack.listeners.group import Deps, ListenerGroup
from scanbot.slack.notifier import SlackFailure
from scanbot.slack.payloads import HomeOpened

log = logging.getLogger(__name__)


class HomeListeners(ListenerGroup):
    async def opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        opened = HomeOpened.of(body, event)
        if not opened.is_home:
            return
        async with self.deps.inflight.track():
            if await self.deps.people.refusal(opened.user_id, opened.team_id) is not None:
                return
            assigned, waiting = await self.deps.triage.home(opened.user_id)
            view = home_cards.home_view(
                opened.user_id,
                [(a.summary, a.channel_id, a.permalink) for a in assigned],
                [(w.summary, w.channel_id, w.permalink) for w in waiting],
            )
            try:
                await self.deps.slack.publish_view(opened.user_id, view)
            except SlackFailure as failure:
                log.warning("could not publish the Home tab: %s", failure.error)


def register(app: AsyncApp, deps: Deps) -> None:
    app.event("app_home_opened")(HomeListeners(deps).opened)
