"""What scanbot answers to a command or a click: HostedScan data in, a Block Kit message out.

Every failure becomes one sentence (worded in `slack.sentences`); the log gets the cause.
Nothing in this module talks to Slack: listeners and the CLI send or print what it returns.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from scanbot.hostedscan import (
    HostedScanClient,
    HostedScanError,
    InvalidScanId,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    validate_scan_id,
)
from scanbot.scans.listing import collect_listing
from scanbot.scans.parse import (
    ChannelCommand,
    ListScans,
    ShowScan,
    ShowUsage,
    parse_list_command,
    parse_scan_command,
    parse_scans_command,
)
from scanbot.slack import kit, sentences
from scanbot.slack.cards import scans as scan_cards
from scanbot.slack.kit import Message
from scanbot.slack.payloads import NextPage
from scanbot.slack.text import escape, truncate

log = logging.getLogger(__name__)

# Slack shows its own error after 3 s; we ack at once, then the user waits for this at most.
DEFAULT_DEADLINE = 12.0


def error_reference() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True)
class Reply:
    """A message to show, and whether it is the card asked for (False: it explains a failure)."""

    message: Message
    ok: bool = True

    @classmethod
    def failure(cls, sentence: str) -> Reply:
        return cls(kit.sentence(sentence), ok=False)


class ChannelCommands(Protocol):
    """The `/scans` subcommands that act on a channel (subscribe, triage, ...)."""

    async def handle(self, command: ChannelCommand, channel_id: str, user_id: str) -> Reply: ...


class Answers:
    def __init__(
        self,
        hostedscan: HostedScanClient,
        *,
        deadline: float = DEFAULT_DEADLINE,
        channel_commands: ChannelCommands | None = None,
    ) -> None:
        self._hostedscan = hostedscan
        self._deadline = deadline
        self._channel_commands = channel_commands

    async def scans(self, text: str, *, channel_id: str = "", user_id: str = "") -> Reply:
        """`/scans [words]`: a list card, usage, or a channel subcommand (subscribe, triage)."""
        command = parse_scans_command(text)
        if isinstance(command, ShowUsage):
            return Reply(scan_cards.usage(command.unknown, command.suggestion))
        if isinstance(command, ListScans):
            return await self._list(command.query.words(), command.offset)
        if self._channel_commands is None or not channel_id:
            return Reply.failure(sentences.NEEDS_A_CHANNEL)
        channel_commands = self._channel_commands

        async def handle() -> Reply:
            return await channel_commands.handle(command, channel_id, user_id)

        return await self._guarded(handle)

    async def scan(self, text: str) -> Reply:
        """`/scan <id>`: a detail card, or usage, or why the id is not one."""
        command = parse_scan_command(text)
        if not isinstance(command, ShowScan):
            return Reply(scan_cards.usage(command.unknown, command.suggestion))
        return await self.details(command.scan_id)

    async def details(self, scan_id: str, *, shared_by: str | None = None) -> Reply:
        """The detail card of one scan (the public copy when `shared_by` is a user id)."""

        async def fetch() -> Reply:
            scan = await self._hostedscan.get_scan(validate_scan_id(scan_id))
            return Reply(scan_cards.scan_detail(scan, shared_by=shared_by))

        return await self._guarded(fetch, scan_id=scan_id)

    async def next_page(self, page: NextPage) -> Reply:
        """The "Next" button: the same query, the following screen."""
        return await self._list(page.words, page.offset)

    async def _list(self, words: str, offset: int) -> Reply:
        command = parse_list_command(words)  # never a subcommand, whatever the button says
        if not isinstance(command, ListScans):  # a button made by an older, different parser
            return Reply.failure(sentences.BUTTON_UNREADABLE)
        query = command.query

        async def fetch() -> Reply:
            scans = self._hostedscan.list_scans(query.filters())
            return Reply(scan_cards.scan_list(await collect_listing(scans, query, offset=offset)))

        return await self._guarded(fetch)

    async def _guarded(
        self, fetch: Callable[[], Awaitable[Reply]], *, scan_id: str | None = None
    ) -> Reply:
        """Run `fetch` within the deadline; turn every failure into one sentence."""
        try:
            async with asyncio.timeout(self._deadline):
                return await fetch()
        except Exception as exc:  # the boundary of one user request: never let it escape
            return self._explain(exc, scan_id)

    def _explain(self, exc: Exception, scan_id: str | None) -> Reply:
        """One sentence for the person (`sentences.command_failed`); the cause for the log,
        with an error reference both name when the log is where the answer is."""
        reference = error_reference()
        if isinstance(exc, InvalidScanId | NotFound):
            pass  # the person's id: the sentence says everything
        elif isinstance(exc, Unauthorized):
            log.error("HostedScan rejected the API key: %s", exc)
        elif isinstance(exc, RateLimited | Unavailable | TimeoutError):
            log.warning("HostedScan did not answer in time: %s", exc.__class__.__name__)
        elif isinstance(exc, HostedScanError):
            log.error("HostedScan answer not usable (error reference %s)", reference, exc_info=exc)
        else:
            log.error("unexpected error (error reference %s)", reference, exc_info=exc)
        shown_id = truncate(escape(scan_id or ""), 80)
        return Reply.failure(sentences.command_failed(exc, shown_id, reference))
