"""What scanbot answers to a command or a click: HostedScan data in, a Block Kit message out.

Every failure becomes one sentence (worded in `slack.sentences`); the log gets the cause.
Nothing in this module talks to Slack: listeners and the CLI send or print what it returns.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from scanbot.domain.events import RiskDetail
from scanbot.domain.scans import ScanSummary
from scanbot.domain.severity import most_severe_first
from scanbot.hostedscan import (
    HostedScanClient,
    HostedScanError,
    InvalidScanId,
    NotFound,
    RateLimited,
    Scan,
    Unauthorized,
    Unavailable,
    validate_scan_id,
)
from scanbot.hostedscan.shared import SharedReads
from scanbot.scans.listing import ScanListing, collect_listing
from scanbot.scans.parse import (
    OPERATION_COMMANDS,
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
from scanbot.slack.cards import triage as triage_cards
from scanbot.slack.kit import Message
from scanbot.slack.payloads import NextPage
from scanbot.slack.text import escape, truncate

log = logging.getLogger(__name__)

# Slack shows its own error after 3 s; we ack at once, then the user waits for this at most.
DEFAULT_DEADLINE = 12.0
# How long a read answers identical requests (Refresh asks again whatever its age).
SHARED_FOR = 5.0
# Answers drawn and sent at once (`Answers.drawing`, held by the listeners' replies too).
DRAWING_AT_ONCE = 4
# New risks whose details the /scan card fetches (the worst of these are listed, ten at
# most; a scan with more says how many more), and how long it waits for them: past that,
# the card lists the ids, so a slow HostedScan delays the card by at most this much
# (bench/commands.py: fetching 50 without a budget pushed a third of the cards past the
# deadline at 0.2 s a call).
MAX_NEW_RISKS = 20
RISK_DETAILS_SECONDS = 2.0


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


class RiskLookup(Protocol):
    """Details of risks by id (alerts.risks.RiskDetails): as many as can be had, never raising
    for an API failure."""

    async def fetch(
        self, ids_by_scan_type: Mapping[str, Collection[str]]
    ) -> dict[str, RiskDetail]: ...


class Answers:
    def __init__(
        self,
        hostedscan: HostedScanClient,
        *,
        deadline: float = DEFAULT_DEADLINE,
        channel_commands: ChannelCommands | None = None,
        shared_for: float = SHARED_FOR,
        queued: Callable[[], int] = lambda: 0,
        risk_details: RiskLookup | None = None,
    ) -> None:
        """`queued`: HostedScan requests waiting for scanbot's own limit (the limiter's)."""
        self._hostedscan = hostedscan
        self._deadline = deadline
        self._channel_commands = channel_commands
        self._queued = queued
        # Cards drawn and sent a few at a time: a shared read answers many requests at once,
        # and drawn and posted all together their CPU held the loop that acks Slack
        # (bench/commands.py, 1,000 commands: ack p99 0.5-1 s; a few at a time: ~0.1 s).
        self.drawing = asyncio.Semaphore(DRAWING_AT_ONCE)
        # Identical reads at once share one request, and its answer for a few seconds.
        self.scans_read: SharedReads[Scan] = SharedReads(ttl=shared_for)
        self.listings_read: SharedReads[ScanListing] = SharedReads(ttl=shared_for)
        self._risk_details = risk_details

    async def scans(self, text: str, *, channel_id: str = "", user_id: str = "") -> Reply:
        """`/scans [words]`: a list card, usage, or a channel subcommand (subscribe, triage)."""
        command = parse_scans_command(text)
        if isinstance(command, ShowUsage):
            return Reply(scan_cards.usage(command.unknown, command.suggestion))
        if isinstance(command, ListScans):
            return await self._list(command.query.words(), command.offset)
        if isinstance(command, OPERATION_COMMANDS):  # Slack's operations listener takes these
            return Reply.failure("That acts on HostedScan for a person in Slack: run it in Slack.")
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

    async def details(
        self, scan_id: str, *, shared_by: str | None = None, fresh: bool = False
    ) -> Reply:
        """The detail card of one scan (the public copy when `shared_by` is a user id);
        `fresh` (Refresh) asks HostedScan again rather than take an answer seconds old."""

        async def fetch() -> Reply:
            valid = validate_scan_id(scan_id)
            scan = await self.scans_read.get(
                valid, lambda: self._hostedscan.get_scan(valid), fresh=fresh
            )
            new_risks = await self._new_risks(scan)
            async with self.drawing:
                return Reply(scan_cards.scan_detail(scan, shared_by=shared_by, new_risks=new_risks))

        return await self._guarded(fetch, scan_id=scan_id)

    async def risks(self, scan_id: str) -> Reply:
        """Show risks on a scan's card: its new risks, worst first, each with View."""

        async def fetch() -> Reply:
            scan = await self._hostedscan.get_scan(validate_scan_id(scan_id))
            details = await self._new_risks(scan)
            if details is None:  # no lookup, or not in time: the ids, each still viewable
                ids = scan.risks.new_open[:MAX_NEW_RISKS]
                details = [RiskDetail(risk_id=risk.risk_id) for risk in ids]
            ordered = sorted(details, key=most_severe_first)
            total = len(scan.risks.new_open)
            return Reply(triage_cards.risks_list(ScanSummary.of(scan), ordered, total))

        return await self._guarded(fetch, scan_id=scan_id)

    async def _new_risks(self, scan: Scan) -> list[RiskDetail] | None:
        """The scan's new risks with their titles and levels (the first MAX_NEW_RISKS ids);
        a risk whose details could not be had keeps only its id."""
        ids = [risk.risk_id for risk in scan.risks.new_open[:MAX_NEW_RISKS]]
        if self._risk_details is None or not ids:
            return None
        try:
            async with asyncio.timeout(RISK_DETAILS_SECONDS):
                found = await self._risk_details.fetch({scan.type: ids})
        except TimeoutError:
            log.info("risk details of scan %s not in time: the card lists ids", scan.id[:64])
            return None
        return [found.get(risk_id) or RiskDetail(risk_id=risk_id) for risk_id in ids]

    async def next_page(self, page: NextPage) -> Reply:
        """The "Next" button: the same query, the following screen."""
        return await self._list(page.words, page.offset)

    async def _list(self, words: str, offset: int) -> Reply:
        command = parse_list_command(words)  # never a subcommand, whatever the button says
        if not isinstance(command, ListScans):  # a button made by an older, different parser
            return Reply.failure(sentences.BUTTON_UNREADABLE)
        query = command.query

        async def listing() -> ScanListing:
            scans = self._hostedscan.list_scans(query.filters())
            return await collect_listing(scans, query, offset=offset)

        async def fetch() -> Reply:
            key = (query.words(), offset)
            found = await self.listings_read.get(key, listing)
            async with self.drawing:
                return Reply(scan_cards.scan_list(found))

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
        queued = isinstance(exc, TimeoutError) and self._queued() > 0
        return Reply.failure(sentences.command_failed(exc, shown_id, reference, queued=queued))
