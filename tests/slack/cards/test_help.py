"""Help texts: the same words as before they were generated, and every word of the parser's
tables in them, so that a new sub-command, filter word or event shows up by itself."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from scanbot.domain.events import DEFAULT_EVENTS
from scanbot.scans.parse import (
    EVENT_NOTES,
    EVENT_WORDS,
    HELP,
    OPERATION_HELP,
    SEVERITY_WORDS,
    STATE_WORDS,
    SUBCOMMAND_HELP,
    TYPE_WORDS,
    ListScans,
    Subscribe,
    parse_scans_command,
)
from scanbot.slack.cards.help import (
    SUBSCRIBE_FALLBACK,
    SUBSCRIBE_USAGE,
    USAGE,
    USAGE_FALLBACK,
)
from scanbot.slack.text import escape

# What help said when it was written by hand: generating it from the tables changed no word.
WRITTEN_USAGE = (
    "*`/scans [state…] [type…] [by:someone]`* lists scans with their totals, a screen at a "
    "time.\n"
    "States: `queued` `running` `succeeded` `failed` `over_limit` `over-limit` `active` "
    "`finished` `problems`\n"
    "Types: `nmap` `nmap_udp` `openvas` `zap` `owasp_zap` `zap_active` `owasp_zap_active` "
    "`sslyze`\n"
    "Example: `/scans running openvas by:alice`; `/scans help` shows this.\n"
    "\n"
    "*`/scan &lt;scan id&gt;`* shows one scan: its targets, risks and result files.\n"
    "\n"
    "*In a channel:* `/scans subscribe [types] [target:…] [severity:…] [events] "
    "[quiet:22:00-07:00]` sends this channel alerts (`started` `finished` `failed` `risks`); "
    "`/scans subscriptions` lists them; `/scans unsubscribe &lt;number&gt;|all` stops them; "
    "`/scans summary daily 09:00|weekly mon 09:00|off` posts a summary of open risks on a "
    "schedule; `/scans triage` lists the alerts nobody acknowledged yet."
)
WRITTEN_SUBSCRIBE_USAGE = (
    "*`/scans subscribe [type…] [target:text] [severity:level] [event…]`* sends alerts about "
    "scans to this channel, in one thread per scan.\n"
    "Types: `nmap` `nmap_udp` `openvas` `zap` `owasp_zap` `zap_active` `owasp_zap_active` "
    "`sslyze` (none: every type)\n"
    "Events: `started` `finished` `failed` `risks` (none: `finished` `risks`); `failed` is a "
    "finish that failed or went over its limit.\n"
    "`target:shop` keeps scans with a target containing “shop”; `severity:high|medium|low` "
    "keeps risks of that level or higher.\n"
    "Example: `/scans subscribe openvas target:shop severity:medium failed risks`\n"
    "`quiet:22:00-07:00` holds alerts in that window (failed scans and high risks still come, "
    "unless `quiet-all`) and lists them when it ends; `tz:Europe/Berlin` sets its time zone "
    "(else yours).\n"
    "\n"
    "*`/scans summary daily 09:00`* (or `weekly mon 09:00`, with types, `target:`, "
    "`severity:` and `tz:`) posts a summary of open, new and overdue risks with a trend chart; "
    "`/scans summary off` stops it.\n"
    "\n"
    "*`/scans subscriptions`* lists this channel's subscriptions; *`/scans unsubscribe 3`* "
    "(or `all`) stops them."
)


def test_usage_reads_as_it_was_written() -> None:
    # Then the operations paragraph, generated from OPERATION_HELP (checked below).
    assert USAGE.startswith(WRITTEN_USAGE + "\n\n*Acting on HostedScan (operators):*")
    assert USAGE_FALLBACK == "Usage: /scans [state…] [type…] [by:someone] or /scan &lt;scan id&gt;"


def test_subscribe_usage_reads_as_it_was_written() -> None:
    assert SUBSCRIBE_USAGE == WRITTEN_SUBSCRIBE_USAGE
    assert SUBSCRIBE_FALLBACK == (
        "Usage: /scans subscribe [type…] [target:text] [severity:level] [event…]"
    )


@pytest.mark.parametrize("word", list(OPERATION_HELP))
def test_usage_names_every_operation(word: str) -> None:
    entry = OPERATION_HELP[word]
    usage = " ".join(part for part in ("/scans", word, entry.arguments) if part)
    assert f"`{escape(usage)}` {entry.does}" in USAGE.splitlines()[-1]


def code_words(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


@pytest.mark.parametrize(
    ("label", "table"), [("States", STATE_WORDS), ("Types", TYPE_WORDS)], ids=["states", "types"]
)
def test_usage_names_every_filter_word_in_the_tables_order(
    label: str, table: Mapping[str, object]
) -> None:
    line = next(line for line in USAGE.splitlines() if line.startswith(f"{label}: "))
    assert code_words(line) == list(table)


def test_usage_names_every_subcommand_with_what_it_does() -> None:
    channel_line = next(line for line in USAGE.splitlines() if line.startswith("*In a channel"))
    assert re.findall(r"`/scans (\w+)", channel_line) == [w for w in SUBCOMMAND_HELP if w != HELP]
    events = " ".join(f"`{event}`" for event in EVENT_WORDS)
    for word, entry in SUBCOMMAND_HELP.items():
        usage = escape(" ".join(part for part in ("/scans", word, entry.arguments) if part))
        assert f"`{usage}` {entry.does.format(events=events)}" in USAGE


def test_subscribe_usage_names_every_word_the_subscribe_parser_takes() -> None:
    lines = SUBSCRIBE_USAGE.splitlines()
    assert code_words(lines[1]) == list(TYPE_WORDS)
    assert code_words(lines[2])[: len(EVENT_WORDS)] == list(EVENT_WORDS)
    assert f"(none: {' '.join(f'`{e}`' for e in DEFAULT_EVENTS)})" in lines[2]
    for event, note in EVENT_NOTES.items():
        assert f"; `{event}` is {note}" in lines[2]
    assert "|".join(SEVERITY_WORDS) in lines[3]


def test_the_examples_are_what_the_parser_takes() -> None:
    scans_example = re.search(r"Example: `/scans ([^`]+)`", USAGE)
    subscribe_example = re.search(r"Example: `/scans ([^`]+)`", SUBSCRIBE_USAGE)
    assert scans_example is not None
    assert subscribe_example is not None
    assert isinstance(parse_scans_command(scans_example.group(1)), ListScans)
    assert isinstance(parse_scans_command(subscribe_example.group(1)), Subscribe)
