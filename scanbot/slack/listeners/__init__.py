"""The only package that registers Bolt listeners: one module per group of them, each with
its own `register`. Every listener acks first, then works.

Slack waits 3 seconds for the ack; the answer follows through the request's
`response_url`, so it works in private channels and DMs without inviting the bot.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from scanbot.slack.listeners import commands, home, scan_cards, triage, unknown
from scanbot.slack.listeners.group import Deps

__all__ = ["Deps", "register"]


def register(app: AsyncApp, deps: Deps) -> None:
    commands.register(app, deps)
    scan_cards.register(app, deps)
    triage.register(app, deps)
    home.register(app, deps)
    unknown.register(app, deps)  # last: it answers any button no listener above claimed
