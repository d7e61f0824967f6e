"""Slash commands: `/scans` (lists, help, the channel sub-commands) and `/scan <id>`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from scanbot.slack.listeners.group import Deps, ListenerGroup, acked
from scanbot.slack.payloads import Command


class CommandListeners(ListenerGroup):
    @acked(Command.of, refuse_guests=True)
    async def scans(self, command: Command) -> None:
        answer = await self.deps.answers.scans(
            command.text, channel_id=command.channel_id, user_id=command.user_id
        )
        await self.reply(command, answer)

    @acked(Command.of, refuse_guests=True)
    async def scan(self, command: Command) -> None:
        await self.reply(command, await self.deps.answers.scan(command.text))


def register(app: AsyncApp, deps: Deps) -> None:
    listeners = CommandListeners(deps)
    app.command("/scans")(listeners.scans)
    app.command("/scan")(listeners.scan)
