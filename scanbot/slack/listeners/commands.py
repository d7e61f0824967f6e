"""Slash commands: `/scans` (lists, help, the channel sub-commands) and `/scan <id>`."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from scanbot.slack.listeners.group import Deps, ListenerGroup
from scanbot.slack.payloads import Command


class CommandListeners(ListenerGroup):
    async def scans(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        command = Command.of(body)
        async with self.deps.inflight.track():
            if await self.refused(command):
                return
            answer = await self.deps.answers.scans(
                command.text, channel_id=command.channel_id, user_id=command.user_id
            )
            await self.reply(command, answer)

    async def scan(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        command = Command.of(body)
        async with self.deps.inflight.track():
            if await self.refused(command):
                return
            await self.reply(command, await self.deps.answers.scan(command.text))


def register(app: AsyncApp, deps: Deps) -> None:
    listeners = CommandListeners(deps)
    app.command("/scans")(listeners.scans)
    app.command("/scan")(listeners.scan)
