"""What every listener group is built on: the objects it works with (`Deps`) and the ways
it answers the person who typed or clicked."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck

from scanbot.slack import kit
from scanbot.slack.answers import Answers, Reply
from scanbot.slack.inflight import InFlight
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.slack.payloads import Click, Command, PayloadError
from scanbot.slack.people import People
from scanbot.slack.responder import Responder
from scanbot.triage.service import Outcome, Triage

log = logging.getLogger(__name__)

Body = dict[str, Any]
G = TypeVar("G", bound="ListenerGroup")
R = TypeVar("R", Command, Click)
# What a listener does once acked, and the handler Bolt calls (it names `ack` and `body`).
Work = Callable[[G, R], Awaitable[None]]
Handler = Callable[[G, AsyncAck, Body], Awaitable[None]]


@dataclass
class Deps:
    answers: Answers
    inflight: InFlight
    responder: Responder
    people: People
    triage: Triage
    slack: Notifier  # the one Slack seam: whispers and the Home tab
    seal_key: bytes  # what the assign window's private_metadata is sealed with


class ListenerGroup:
    """A group of listeners; its methods are the handlers its `register` hands to Bolt."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def reply(self, to: Command | Click, answer: Reply, **options: Any) -> None:
        """Answer through the request's response_url (ephemeral unless told otherwise)."""
        options.setdefault("response_type", "ephemeral")
        await self.deps.responder.send(to.response_url, answer.message, **options)

    async def refused(self, request: Command | Click) -> bool:
        """Guests and external people get a polite refusal instead of scan data."""
        refusal = await self.deps.people.refusal(request.user_id, request.team_id)
        if refusal is None:
            return False
        await self.reply(request, Reply.failure(refusal), replace_original=False)
        return True

    async def unreadable(self, click: Click, error: PayloadError, **options: Any) -> None:
        """A click carrying what scanbot did not write: its sentence to the clicker."""
        log.warning("refused %s", error.reason)
        options.setdefault("replace_original", False)
        await self.reply(click, Reply.failure(error.sentence), **options)

    async def notify(self, click: Click, outcome: Outcome) -> None:
        """Tell the clicker what the thread does not show (already done, gone, failed)."""
        if outcome.notice:
            sentence = Reply(kit.sentence(outcome.notice), ok=False)
            await self.reply(click, sentence, replace_original=False)

    async def tell_privately(self, channel_id: str, user_id: str, text: str) -> None:
        """An ephemeral message, for a request that has no response_url (a form)."""
        try:
            await self.deps.slack.whisper(channel_id, user_id, text)
        except SlackFailure as failure:
            log.warning("could not tell the user privately: %s", failure.error)


def acked(read: Callable[[Body], R], *, refuse_guests: bool) -> Callable[[Work[G, R]], Handler[G]]:
    """A handler that acks at once, reads the request (`Command.of`, `Click.of`), then does
    `work` as a reply under way (`InFlight`), after refusing guests when it shows scan data."""

    def handler_of(work: Work[G, R]) -> Handler[G]:
        async def handler(group: G, ack: AsyncAck, body: Body) -> None:
            await ack()
            request = read(body)
            async with group.deps.inflight.track():
                if refuse_guests and await group.refused(request):
                    return
                await work(group, request)

        handler.__name__ = handler.__qualname__ = work.__name__
        handler.__doc__ = work.__doc__
        return handler

    return handler_of
