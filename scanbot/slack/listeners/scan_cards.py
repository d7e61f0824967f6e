"""The buttons on `/scans` and `/scan` cards: Details, Refresh, Share, Next."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from scanbot.slack import actions
from scanbot.slack.listeners.group import Deps, ListenerGroup, acked
from scanbot.slack.payloads import Click, PayloadError


class ScanCardListeners(ListenerGroup):
    @acked(Click.of, refuse_guests=True)
    async def details(self, click: Click) -> None:
        # Always a new ephemeral card: it never replaces a list or a shared message.
        answer = await self.deps.answers.details(click.scan_id)
        await self.reply(click, answer, replace_original=False)

    @acked(Click.of, refuse_guests=True)
    async def refresh(self, click: Click) -> None:
        answer = await self.deps.answers.details(click.scan_id)
        # Replace the clicker's own ephemeral card; a shared card is never replaced.
        await self.reply(click, answer, replace_original=click.is_ephemeral)

    @acked(Click.of, refuse_guests=True)
    async def share(self, click: Click) -> None:
        answer = await self.deps.answers.details(click.scan_id, shared_by=click.user_id)
        # Only the card goes to the channel; a failure stays with the person who clicked.
        response_type = "in_channel" if answer.ok else "ephemeral"
        await self.reply(click, answer, response_type=response_type, replace_original=False)

    @acked(Click.of, refuse_guests=True)
    async def next(self, click: Click) -> None:
        try:
            page = click.next_page()
        except PayloadError as error:
            await self.unreadable(click, error, replace_original=True)
            return
        await self.reply(click, await self.deps.answers.next_page(page), replace_original=True)


def register(app: AsyncApp, deps: Deps) -> None:
    listeners = ScanCardListeners(deps)
    app.action(actions.pattern(actions.DETAILS))(listeners.details)
    app.action(actions.pattern(actions.REFRESH))(listeners.refresh)
    app.action(actions.pattern(actions.SHARE))(listeners.share)
    app.action(actions.pattern(actions.NEXT))(listeners.next)
