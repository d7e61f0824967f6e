"""The kit every card module builds on: Slack's limits, text objects, blocks and messages
that keep to them, and the words cards share (scan types and states, references to a scan,
dates, risk lines, symbols).

Every string from HostedScan or a user goes through `text.shown` (whitespace folded,
invisible characters made visible, cut), then reaches Slack only as a rich_text element
(`rich`), a plain_text object (escaped) or, in a fallback, escaped mrkdwn whose formatting
characters cannot format: a target named `*URGENT*` or `<!channel>` reads as typed, bold
and pinging no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict

from scanbot.domain.events import Alert, RiskDetail
from scanbot.domain.scans import ScanSummary
from scanbot.scans.query import state_name, type_name
from scanbot.slack import actions, rich
from scanbot.slack.rich import Line, bold
from scanbot.slack.text import (
    as_utc,
    escape,
    escape_plain,
    plural,
    progress_bar,
    shown,
    state_symbol,
    truncate,
    user_mention,
)

Block = dict[str, Any]
View = dict[str, Any]  # a modal or the Home tab


class Message(TypedDict):
    """What chat.postMessage or a `respond()` takes: a plain fallback and the blocks."""

    text: str
    blocks: list[Block]


# Slack's limits (see slack-facts.md), and our share of the undocumented total.
MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # a modal or the Home tab
MAX_ACTION_ELEMENTS = 25  # buttons and menus in one actions block
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
FALLBACK_TEXT = 300
TEXT_BUDGET = 9000  # Slack answers msg_blocks_too_long from about 11k characters
VIEW_TITLE = 24  # a modal's title, submit and close
PRIVATE_METADATA = 3000

# How long one value from outside may get in each place.
ID_CHARS = 80
NAME_CHARS = 40
TARGET_CHARS = 100
REASON_CHARS = 150
TITLE_CHARS = 150
CVSS_CHARS = 12

MAX_KINDS = 6  # states, types or file kinds named in one line
MORE_CHARS = 40  # room kept for a closing "and N more"

RESULT_KINDS = {
    "application/pdf": "PDF",
    "text/html": "HTML",
    "application/xml": "XML",
    "text/xml": "XML",
    "application/json": "JSON",
    "text/csv": "CSV",
    "text/plain": "text",
}

DATE_FORMAT = "{date_short_pretty} at {time}"  # Slack renders it in each reader's time zone

ACK_SYMBOL = "✅"
ASSIGNEE_SYMBOL = "👤"
SNOOZE_SYMBOL = "💤"
MUTE_SYMBOL = "🔇"
THREAT_SYMBOLS: dict[str, str] = {"HIGH": "🔴", "MEDIUM": "🟠", "LOW": "🟡"}
UNKNOWN_THREAT_SYMBOL = "🟣"  # a level HostedScan did not document counts as most severe
NO_THREAT_SYMBOL = "⚪"  # no level at all: its details could not be had
THREAT_NAMES: dict[str, str] = {"HIGH": "High", "MEDIUM": "Medium", "LOW": "Low"}


# --- Text objects and blocks -----------------------------------------------------------


def plain(text: str) -> Block:
    """A plain_text object of the bot's own words (`:emoji:` codes allowed)."""
    return {"type": "plain_text", "text": text, "emoji": True}


def _outside_plain(text: str, limit: int) -> Block:
    """A plain_text object of words that hold values from outside (as `shown`, unescaped):
    escaped, cut, and with no `:emoji:` codes turned into pictures.
    """
    return {"type": "plain_text", "text": truncate(escape_plain(text), limit), "emoji": False}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def header(text: str) -> Block:
    """A header of the bot's words and values from outside (as `shown`, unescaped)."""
    return {"type": "header", "text": _outside_plain(text, HEADER_TEXT)}


def section(text: str, accessory: Block | None = None) -> Block:
    """A section of safe mrkdwn (the bot's words, values from outside through `escape`)."""
    block: Block = {"type": "section", "text": mrkdwn(truncate(text, SECTION_TEXT))}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(text: str) -> Block:
    """A context line of safe mrkdwn."""
    return {"type": "context", "elements": [mrkdwn(truncate(text, SECTION_TEXT))]}


def plain_section(text: str, accessory: Block | None = None) -> Block:
    """A section whose text holds values from outside (as `shown`): plain_text, so it can
    still carry an accessory, which a rich_text block cannot.
    """
    block: Block = {"type": "section", "text": _outside_plain(text, SECTION_TEXT)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def plain_context(text: str) -> Block:
    """A context line holding values from outside (as `shown`)."""
    return {"type": "context", "elements": [_outside_plain(text, SECTION_TEXT)]}


def button(label: str, kind: str, n: int, value: str) -> Block:
    """A button of the bot's own label, its action id versioned (`actions.action_id`)."""
    return {
        "type": "button",
        "text": plain(truncate(label, BUTTON_TEXT)),
        "action_id": actions.action_id(kind, n),
        "value": value,
    }


def rescan_button(scan_id_value: str) -> Block:
    """Re-scan, behind Slack's confirm dialog: it spends the customer's HostedScan plan."""
    block = button("Re-scan", actions.RESCAN, 0, scan_id_value)
    block["confirm"] = {
        "title": plain("Re-run this scan?"),
        "text": plain(
            "HostedScan starts a new scan of the same type on the same targets. It counts "
            "against the plan and cannot be cancelled."
        ),
        "confirm": plain("Re-scan"),
        "deny": plain("Cancel"),
    }
    return block


def actions_row(*elements: Block) -> Block:
    """One actions block; Slack refuses more than MAX_ACTION_ELEMENTS in it."""
    return {"type": "actions", "elements": list(elements[:MAX_ACTION_ELEMENTS])}


def message(fallback: str, blocks: list[Block]) -> Message:
    """`fallback` is mrkdwn: the bot's words, and values from outside through `escape`."""
    return {"text": truncate(fallback, FALLBACK_TEXT), "blocks": blocks[:MAX_BLOCKS]}


def sentence(text: str) -> Message:
    """A message of one sentence; `text` must already be safe mrkdwn (escaped by the caller)."""
    if not text.strip():
        raise ValueError("a sentence needs some text")
    return message(text, [section(text)])


def fallback(line: Line) -> str:
    """A rich_text line as a message's plain `text`: escaped mrkdwn that neither pings nor
    formats."""
    return escape(rich.plain(line))


# --- Fitting into Slack's limits -------------------------------------------------------


def text_size(blocks: Iterable[Block]) -> int:
    """Characters of every text object and rich_text element in `blocks`: what Slack's
    total-length check counts.
    """
    total = 0
    for block in blocks:
        if block.get("type") == "rich_text":
            total += rich.size(block)
            continue
        for value in block.values():
            if isinstance(value, dict):
                total += _object_size(value)
            elif isinstance(value, list):
                total += sum(_object_size(item) for item in value if isinstance(item, dict))
    return total


def _object_size(obj: Block) -> int:
    if obj.get("type") in ("plain_text", "mrkdwn"):
        return len(obj["text"])
    return text_size([obj])


def room(*blocks: Sequence[Block]) -> int:
    """Characters a message has left for more once it holds `blocks`."""
    return TEXT_BUDGET - FALLBACK_TEXT - sum(text_size(group) for group in blocks)


def packed(lines: Sequence[Line], total: int, space: int, *, bulleted: bool = False) -> list[Block]:
    """`lines` in as few rich_text blocks as fit, as far as `space` characters go; then how
    many of `total` were left out. Each line must be far shorter than a block.
    """
    groups: list[list[Line]] = [[]]
    size = used = 0
    for line in lines:
        cost = rich.size(line) + 1
        if used + cost > space - MORE_CHARS:
            break
        if size + cost > rich.BLOCK_TEXT:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += cost
        used += cost
    shown_count = sum(len(group) for group in groups)
    blocks = [
        rich.block(rich.bullets(group)) if bulleted else rich.paragraph(*group)
        for group in groups
        if group
    ]
    if total > shown_count:
        rest = total - shown_count
        blocks.append(context(f"and {rest:,} more" if shown_count else f"{rest:,} not shown"))
    return blocks


# --- Words -----------------------------------------------------------------------------

# Values come out of these as `shown` (visible, cut, unescaped) unless they say otherwise:
# the caller puts them in a rich_text element, or escapes them for plain_text
# (`escape_plain`) or mrkdwn (`escape`).


def code(value: str, limit: int) -> str:
    """A value from outside as mrkdwn code; `escape` leaves no backtick to end it early."""
    return f"`{escape(shown(value, limit))}`" if value.strip() else "(blank)"


def shown_type(scan_type: str) -> str:
    """A scan type as people call it: "OpenVAS"."""
    return shown(type_name(scan_type), NAME_CHARS, blank="unknown type")


def shown_state_name(state: str) -> str:
    """A scan state in words: "over limit"."""
    return shown(state_name(state), NAME_CHARS, blank="unknown state")


def shown_state(state: str) -> str:
    """A scan state with its symbol: "❌ failed"."""
    return f"{state_symbol(state)} {shown_state_name(state)}"


def either(names: Sequence[str]) -> str:
    """ "a, b or c", at most MAX_KINDS names."""
    if len(names) > MAX_KINDS:
        names = [*names[: MAX_KINDS - 1], plural(len(names) - MAX_KINDS + 1, "other")]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def and_more(names: list[str], total: int, separator: str) -> str:
    """`names`, then "and N more" if `total` counts more of them."""
    rest = f"and {total - len(names):,} more" if total > len(names) else ""
    return separator.join([*names, rest] if rest else names)


def progress(value: float | None) -> str:
    return progress_bar(value) if value is not None else "progress not reported"


def risk_counts(new_open: int, still_open: int, closed: int) -> str:
    return f"{new_open:,} new · {still_open:,} still open · {closed:,} closed"


def mention(user_id: str) -> str:
    """A user in mrkdwn: a mention of a real-looking id, else the value escaped."""
    mentioned = user_mention(user_id)
    if mentioned.startswith("<@"):
        return mentioned
    return escape(shown(user_id, NAME_CHARS, blank="someone"))


def slack_date(at: datetime, token_format: str = DATE_FORMAT) -> str:
    """Slack's `<!date^…>` token: each reader sees `at` in their own time zone; clients that
    cannot render it show the UTC fallback. A naive `at` is taken as UTC.
    """
    try:
        utc = as_utc(at).astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: no token can show it
        return escape(at.isoformat(sep=" ", timespec="minutes"))
    return f"<!date^{int(utc.timestamp())}^{token_format}|{utc:%Y-%m-%d %H:%M} UTC>"


# --- A scan and its risks --------------------------------------------------------------


def scan_reference(summary: ScanSummary, *, start: bool = True) -> Line:
    """ "Scan `abc` (OpenVAS)": the id in code style, as HostedScan spells it."""
    kind = [rich.text(f" ({shown_type(summary.type)})")] if summary.type.strip() else []
    scan_id = rich.value(summary.scan_id, ID_CHARS, code=True)
    return [rich.text("Scan " if start else "scan "), scan_id, *kind]


def scan_reference_mrkdwn(summary: ScanSummary, *, start: bool = True) -> str:
    """ "Scan `abc` (OpenVAS)" in mrkdwn, for what stays mrkdwn (a file's comment, the
    assign modal)."""
    kind = f" ({escape(shown_type(summary.type))})" if summary.type.strip() else ""
    return f"{'Scan' if start else 'scan'} {code(summary.scan_id, ID_CHARS)}{kind}"


def risk_total(alert: Alert) -> int:
    """How many new risks a RISKS alert is about; `risks` may list fewer (details or filter)."""
    return max(alert.risk_count, len(alert.risks)) or len(alert.event.risk_ids)


def risk_line(risk: RiskDetail) -> Line:
    """`🔴 *High* Title · `target` · CVSS 9.8`; without details, the id and that."""
    symbol = THREAT_SYMBOLS.get(risk.threat_level, UNKNOWN_THREAT_SYMBOL)
    if not risk.threat_level.strip():
        symbol = NO_THREAT_SYMBOL
    if not risk.title.strip():
        risk_id = rich.value(risk.risk_id, ID_CHARS, code=True)
        return [rich.text(f"{symbol} "), risk_id, rich.text(" · details unavailable")]
    level = THREAT_NAMES.get(risk.threat_level) or shown(
        risk.threat_level, NAME_CHARS, blank="Unknown level"
    )
    parts: list[Line] = [
        [rich.text(f"{symbol} "), bold(level), rich.text(" "), rich.value(risk.title, TITLE_CHARS)]
    ]
    if risk.target.strip():
        parts.append([rich.value(risk.target, TARGET_CHARS, code=True)])
    if risk.cvss is not None and risk.cvss.strip():
        parts.append([rich.text(f"CVSS {shown(risk.cvss, CVSS_CHARS)}")])
    return rich.joined(parts, " · ")
