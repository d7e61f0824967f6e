"""Help for `/scans`, `/scan` and the subscription sub-commands, written from the parser's
own tables (scans/parse.py): a new sub-command, filter word or event shows up in help by
itself.

Each text is mrkdwn of the bot's own words, `<` and `>` escaped.
"""

from __future__ import annotations

from collections.abc import Iterable

from scanbot.domain.events import DEFAULT_EVENTS
from scanbot.scans.parse import (
    ALL,
    BY_PREFIX,
    EVENT_NOTES,
    EVENT_WORDS,
    HELP,
    OPERATION_HELP,
    PERIOD_WORDS,
    QUIET_ALL,
    QUIET_PREFIX,
    SEVERITY_PREFIX,
    SEVERITY_WORDS,
    STATE_WORDS,
    SUBCOMMAND_HELP,
    SUBSCRIBE,
    SUBSCRIPTIONS,
    SUMMARY,
    TARGET_PREFIX,
    TYPE_WORDS,
    TZ_PREFIX,
    UNSUBSCRIBE,
)
from scanbot.slack.text import escape

SCANS_SYNTAX = f"/scans [state…] [type…] [{BY_PREFIX}someone]"
SCAN_SYNTAX = "/scan <scan id>"
SUBSCRIBE_SYNTAX = (
    f"/scans {SUBSCRIBE} [type…] [{TARGET_PREFIX}text] [{SEVERITY_PREFIX}level] [event…]"
)


def _words(values: Iterable[str]) -> str:
    """Words as they are typed, each in code style: "`queued` `running`"."""
    return " ".join(f"`{value}`" for value in values)


def _subcommand(word: str) -> str:
    """A sub-command as SUBCOMMAND_HELP says it: "`/scans triage` lists the alerts…"."""
    entry = SUBCOMMAND_HELP[word]
    usage = " ".join(part for part in ("/scans", word, entry.arguments) if part)
    return f"`{escape(usage)}` {entry.does.format(events=_words(EVENT_WORDS))}"


def _in_a_channel() -> str:
    described = [_subcommand(word) for word in SUBCOMMAND_HELP if word != HELP]
    return f"*In a channel:* {'; '.join(described)}."


def _operations() -> str:
    """The sub-commands that act on HostedScan, as OPERATION_HELP says them."""
    described = []
    for word, entry in OPERATION_HELP.items():
        usage = " ".join(part for part in ("/scans", word, entry.arguments) if part)
        described.append(f"`{escape(usage)}` {entry.does}")
    return f"*Acting on HostedScan (operators):* {'; '.join(described)}."


def _events() -> str:
    """The event words, the default ones, then what the less obvious ones cover."""
    notes = "".join(
        f"; `{word}` is {EVENT_NOTES[word]}" for word in EVENT_WORDS if word in EVENT_NOTES
    )
    return f"Events: {_words(EVENT_WORDS)} (none: {_words(DEFAULT_EVENTS)}){notes}."


USAGE = "\n".join(
    [
        f"*`{escape(SCANS_SYNTAX)}`* lists scans with their totals, a screen at a time.",
        f"States: {_words(STATE_WORDS)}",
        f"Types: {_words(TYPE_WORDS)}",
        f"Example: `/scans running openvas {BY_PREFIX}alice`; {_subcommand(HELP)}.",
        "",
        f"*`{escape(SCAN_SYNTAX)}`* shows one scan: its targets, risks and result files.",
        "",
        _in_a_channel(),
        "",
        _operations(),
    ]
)
USAGE_FALLBACK = escape(f"Usage: {SCANS_SYNTAX} or {SCAN_SYNTAX}")

SUBSCRIBE_USAGE = "\n".join(
    [
        f"*`{escape(SUBSCRIBE_SYNTAX)}`* sends alerts about scans to this channel, "
        "in one thread per scan.",
        f"Types: {_words(TYPE_WORDS)} (none: every type)",
        _events(),
        f"`{TARGET_PREFIX}shop` keeps scans with a target containing “shop”; "
        f"`{SEVERITY_PREFIX}{'|'.join(SEVERITY_WORDS)}` keeps risks of that level or higher.",
        f"Example: `/scans {SUBSCRIBE} openvas {TARGET_PREFIX}shop {SEVERITY_PREFIX}medium "
        "failed risks`",
        f"`{QUIET_PREFIX}22:00-07:00` holds alerts in that window (failed scans and high risks "
        f"still come, unless `{QUIET_ALL}`) and lists them when it ends; "
        f"`{TZ_PREFIX}Europe/Berlin` sets its time zone (else yours).",
        "",
        f"*`/scans {SUMMARY} {PERIOD_WORDS[0]} 09:00`* (or `{PERIOD_WORDS[1]} mon 09:00`, "
        f"with types, `{TARGET_PREFIX}`, `{SEVERITY_PREFIX}` and `{TZ_PREFIX}`) posts a summary "
        f"of open, new and overdue risks with a trend chart; `/scans {SUMMARY} off` stops it.",
        "",
        f"*`/scans {SUBSCRIPTIONS}`* lists this channel's subscriptions; "
        f"*`/scans {UNSUBSCRIBE} 3`* (or `{ALL}`) stops them.",
    ]
)
SUBSCRIBE_FALLBACK = escape(f"Usage: {SUBSCRIBE_SYNTAX}")
