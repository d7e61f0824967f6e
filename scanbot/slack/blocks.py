"""Pure renderers: HostedScan data in, Block Kit messages out, always within Slack's limits.

Every string from HostedScan or a user goes through `text.shown` (whitespace folded,
invisible characters made visible, cut), then reaches Slack only as a rich_text element
(`rich`), a plain_text object (escaped) or, in a fallback, escaped mrkdwn whose formatting
characters cannot format: a target named `*URGENT*` or `<!channel>` reads as typed, bold
and pinging no one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypedDict

from scanbot.hostedscan.models import Scan, ScanState
from scanbot.scans.listing import ScanListing
from scanbot.scans.query import ScanQuery, state_name, type_name
from scanbot.slack import actions, rich
from scanbot.slack.cards.help import USAGE, USAGE_FALLBACK
from scanbot.slack.rich import Line, bold
from scanbot.slack.text import (
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


class Message(TypedDict):
    """What chat.postMessage or a `respond()` takes: a plain fallback and the blocks."""

    text: str
    blocks: list[Block]


# Slack's limits (see slack-facts.md), and our share of the undocumented total.
MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
FALLBACK_TEXT = 300
TEXT_BUDGET = 9000  # Slack answers msg_blocks_too_long from about 11k characters

EN_DASH = "\N{EN DASH}"  # between the numbers of a range
TIMES = "\N{MULTIPLICATION SIGN}"  # a count of files of one kind

MAX_ENTRIES = 15  # scans in one list message
MAX_LISTED = 10  # targets of each kind in a detail card
MAX_RISK_IDS = 5
MAX_KINDS = 6  # states, types or file kinds named in one line

# How long one value from outside may get in each place.
ID_CHARS = 80
NAME_CHARS = 40
TARGET_CHARS = 100
REASON_CHARS = 150

RESULT_KINDS = {
    "application/pdf": "PDF",
    "text/html": "HTML",
    "application/xml": "XML",
    "text/xml": "XML",
    "application/json": "JSON",
    "text/csv": "CSV",
    "text/plain": "text",
}


# --- Block Kit building blocks ---------------------------------------------------------


def _plain(text: str) -> Block:
    """A plain_text object of the bot's own words (`:emoji:` codes allowed)."""
    return {"type": "plain_text", "text": text, "emoji": True}


def _outside_plain(text: str, limit: int) -> Block:
    """A plain_text object of words that hold values from outside (as `shown`, unescaped):
    escaped, cut, and with no `:emoji:` codes turned into pictures.
    """
    return {"type": "plain_text", "text": truncate(escape_plain(text), limit), "emoji": False}


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _header(text: str) -> Block:
    """A header of the bot's words and values from outside (as `shown`, unescaped)."""
    return {"type": "header", "text": _outside_plain(text, HEADER_TEXT)}


def _section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(truncate(text, SECTION_TEXT))}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(truncate(text, SECTION_TEXT))]}


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


def _button(label: str, kind: str, n: int, value: str) -> Block:
    return {
        "type": "button",
        "text": _plain(truncate(label, BUTTON_TEXT)),
        "action_id": actions.action_id(kind, n),
        "value": value,
    }


def _message(fallback: str, blocks: list[Block]) -> Message:
    """`fallback` is mrkdwn: the bot's words, and values from outside through `escape`."""
    return {"text": truncate(fallback, FALLBACK_TEXT), "blocks": blocks[:MAX_BLOCKS]}


def _plain_message(text: str) -> Message:
    """A sentence holding values from outside (as `shown`): a plain_text section."""
    return _message(escape(text), [plain_section(text)])


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


# --- Words for values from outside -----------------------------------------------------


# Values come out of these as `shown` (visible, cut, unescaped): the caller puts them in a
# rich_text element, or escapes them for plain_text (`escape_plain`) or mrkdwn (`escape`).


def _code(value: str, limit: int) -> str:
    """A value from outside as mrkdwn code; `escape` leaves no backtick to end it early."""
    return f"`{escape(shown(value, limit))}`" if value.strip() else "(blank)"


def _type(scan_type: str) -> str:
    return shown(type_name(scan_type), NAME_CHARS, blank="unknown type")


def _state_name(state: str) -> str:
    return shown(state_name(state), NAME_CHARS, blank="unknown state")


def _state(state: str) -> str:
    return f"{state_symbol(state)} {_state_name(state)}"


def _either(names: Sequence[str]) -> str:
    if len(names) > MAX_KINDS:
        names = [*names[: MAX_KINDS - 1], plural(len(names) - MAX_KINDS + 1, "other")]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _phrase(query: ScanQuery, count: int) -> str:
    """The query in words, as shown: "running or queued OpenVAS scans scheduled by alice"."""
    words = []
    if query.states:
        words.append(_either([shown(state_name(s), NAME_CHARS) for s in query.states]))
    if query.types:
        words.append(_either([shown(type_name(t), NAME_CHARS) for t in query.types]))
    words.append("scan" if count == 1 else "scans")
    if query.scheduled_by:
        words.append("scheduled by " + _either([shown(w, NAME_CHARS) for w in query.scheduled_by]))
    return " ".join(words)


def _and_more(shown: list[str], total: int, separator: str) -> str:
    rest = f"and {total - len(shown):,} more" if total > len(shown) else ""
    return separator.join([*shown, rest] if rest else shown)


# --- /scans: a list --------------------------------------------------------------------


def _tally(counts: dict[str, int], label: Callable[[str, int], str], kinds: str) -> str:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = [label(key, n) for key, n in ranked[:MAX_KINDS]]
    return _and_more(shown, len(ranked), " · ") + (f" {kinds}" if len(ranked) > MAX_KINDS else "")


def _state_count(state: str, n: int) -> str:
    return f"{state_symbol(state)} {n:,} {_state_name(state)}"


def _summary(listing: ScanListing) -> Block | None:
    parts = []
    if listing.by_state:
        parts.append(_tally(listing.by_state, _state_count, "states"))
    if listing.by_type:
        parts.append(_tally(listing.by_type, lambda t, n: f"{n:,} {_type(t)}", "types"))
    return plain_context("   |   ".join(parts)) if parts else None


def _risk_counts(scan: Scan) -> str:
    risks = scan.risks
    return (
        f"{len(risks.new_open):,} new · {len(risks.still_open):,} still open · "
        f"{len(risks.closed):,} closed"
    )


def _progress(scan: Scan) -> str:
    return progress_bar(scan.progress) if scan.progress is not None else "progress not reported"


def _entry(scan: Scan, n: int) -> Block:
    """A scan in a list: plain text beside its Details button."""
    lines = [f"{shown(scan.id, ID_CHARS)} · {_type(scan.type)} · {_state(scan.state)}"]
    if scan.state == ScanState.RUNNING:
        lines.append(_progress(scan))
    targets = scan.requested_targets
    if targets:
        more = f" +{len(targets) - 1:,} more" if len(targets) > 1 else ""
        lines.append(f"Targets: {shown(targets[0].target, TARGET_CHARS)}{more}")
    else:
        lines.append("Targets: none")
    lines.append(f"Risks: {_risk_counts(scan)}")
    value = actions.scan_value(scan.id)
    button = _button("Details", actions.DETAILS, n, value) if value else None
    return plain_section("\n".join(lines), button)


def _no_scans(listing: ScanListing) -> Message:
    phrase = _phrase(listing.query, 0)
    if listing.total == 0:
        return _plain_message(f"There are no {phrase}.")
    return _plain_message(f"There are no more {phrase}: the list ends at {listing.total:,}.")


def _footer(listing: ScanListing, end: int) -> list[Block]:
    footer = []
    if end < listing.total:
        value = actions.next_value(listing.query.words(), end)
        if value is not None:
            button = _button("Next", actions.NEXT, 0, value)
            footer.append({"type": "actions", "elements": [button]})
    if listing.offset > 0 or end < listing.total:
        total = max(listing.total, end)
        footer.append(_context(f"Showing {listing.offset + 1:,}{EN_DASH}{end:,} of {total:,}"))
    return footer


def scan_list(listing: ScanListing) -> Message:
    """One screen of `/scans`: totals, a line per scan with a Details button, then "Next"."""
    if not listing.entries:
        return _no_scans(listing)
    title = f"{listing.total:,} {_phrase(listing.query, listing.total)}"
    head = [_header(title)]
    summary = _summary(listing)
    if summary is not None:
        head.append(summary)
    # Whatever does not fit (count or characters) waits for the Next button.
    room = TEXT_BUDGET - FALLBACK_TEXT - text_size(head) - 200  # 200: the footer's text
    entries: list[Block] = []
    for n, scan in enumerate(listing.entries[:MAX_ENTRIES]):
        entry = _entry(scan, n)
        room -= text_size([entry])
        if room < 0 and entries:
            break
        entries.append(entry)
    end = listing.offset + len(entries)
    paged = listing.offset > 0 or end < listing.total
    fallback = f"{title} (showing {listing.offset + 1:,}{EN_DASH}{end:,})" if paged else title
    return _message(escape(fallback), head + entries + _footer(listing, end))


# --- /scan: one scan -------------------------------------------------------------------


def _results(scan: Scan) -> str:
    if not scan.results:
        return "none yet"
    kinds = Counter(
        RESULT_KINDS.get(r.content_type.lower(), shown(r.content_type, NAME_CHARS, "unknown"))
        for r in scan.results
    )
    named = [kind if n == 1 else f"{kind} {TIMES}{n}" for kind, n in kinds.most_common(MAX_KINDS)]
    return f"{plural(len(scan.results), 'file')}: " + _and_more(named, len(kinds), ", ")


def _more(shown_count: int, total: int) -> Line:
    return [rich.text(f"and {total - shown_count:,} more")] if total > shown_count else []


def _bullets(title: str, items: Sequence[Line], total: int) -> Block:
    """A bold title with the count, a bulleted item per line, then how many were left out."""
    if not total:
        return rich.paragraph(rich.fact(title, rich.text("none")))
    parts = [rich.section([bold(f"{title} ({total:,}):")]), rich.bullets(items)]
    more = _more(len(items), total)
    if more:
        parts.append(rich.section(more))
    return rich.block(*parts)


def _codes(values: Sequence[str], total: int, limit: int) -> Line:
    """Values from outside in code style, comma-separated, then "and N more"."""
    codes = [[rich.value(v, limit, code=True)] for v in values]
    return rich.joined([*codes, _more(len(values), total)] if total > len(values) else codes, ", ")


def _risks(scan: Scan) -> Block:
    lines = [rich.fact("Risks", rich.text(_risk_counts(scan)))]
    new = scan.risks.new_open
    if new:
        ids = [risk.risk_id for risk in new[:MAX_RISK_IDS]]
        lines.append(rich.fact("New", *_codes(ids, len(new), ID_CHARS)))
    return rich.paragraph(*lines)


def _skipped(scan: Scan) -> Block:
    names = {t.target_id: t.target for t in scan.requested_targets if t.target_id}
    lines = [
        [
            rich.value(names.get(t.target_id, t.target_id), TARGET_CHARS, code=True),
            rich.text(": "),
            rich.value(t.skipped_reason, REASON_CHARS)
            if t.skipped_reason.strip()
            else rich.text("no reason given", italic=True),
        ]
        for t in scan.skipped_targets[:MAX_LISTED]
    ]
    return _bullets("Skipped targets", lines, len(scan.skipped_targets))


def _detail_actions(scan: Scan, *, shared: bool) -> list[Block]:
    value = actions.scan_value(scan.id)
    if value is None:
        return []
    buttons = [_button("Refresh", actions.REFRESH, 0, value)]
    if not shared:
        buttons.append(_button("Share in channel", actions.SHARE, 1, value))
    return [{"type": "actions", "elements": buttons}]


def _user(user_id: str) -> str:
    """A user in mrkdwn: a mention of a real-looking id, else the value escaped."""
    mention = user_mention(user_id)
    if mention.startswith("<@"):
        return mention
    return escape(shown(user_id, NAME_CHARS, blank="someone"))


def _targets(values: Sequence[str]) -> list[Line]:
    return [[rich.value(v, TARGET_CHARS, code=True)] for v in values[:MAX_LISTED]]


def scan_detail(scan: Scan, *, shared_by: str | None = None) -> Message:
    """The card of one scan; with `shared_by` (a Slack user id), its public copy."""
    facts = rich.paragraph(
        rich.fact("Scan ID", rich.value(scan.id, ID_CHARS, code=True)),
        rich.fact("State", rich.text(_state(scan.state))),
        rich.fact("Type", rich.text(_type(scan.type))),
        rich.fact("Progress", rich.text(_progress(scan))),
        rich.fact("Result files", rich.text(_results(scan))),
    )
    requested = _targets([t.target for t in scan.requested_targets])
    resolved = _targets([t.resolved_target for t in scan.resolved_targets])
    blocks = [
        _header(f"{_type(scan.type)} scan · {_state(scan.state)}"),
        facts,
        _risks(scan),
        _bullets("Requested targets", requested, len(scan.requested_targets)),
    ]
    if scan.resolved_targets:
        blocks.append(_bullets("Resolved targets", resolved, len(scan.resolved_targets)))
    if scan.skipped_targets:
        blocks.append(_skipped(scan))
    if shared_by is not None:
        blocks.append(_context(f"Shared by {_user(shared_by)}"))
    blocks += _detail_actions(scan, shared=shared_by is not None)
    fallback = f"{_type(scan.type)} scan {shown(scan.id, ID_CHARS)}: {_state_name(scan.state)}"
    return _message(escape(fallback), blocks)


# --- Help and sentences ----------------------------------------------------------------


def _word(typed: str) -> rich.Element:
    """A word someone typed, in code style, as typed."""
    return rich.value(typed, NAME_CHARS, code=True)


def usage(unknown: str | None = None, suggestion: str | None = None) -> Message:
    """Help for `/scans` and `/scan`, after what was not understood if anything."""
    blocks = []
    fallback = USAGE_FALLBACK
    if unknown is not None:
        problem = [rich.text("scanbot does not know "), _word(unknown), rich.text(".")]
        plain = f"scanbot does not know “{shown(unknown, NAME_CHARS)}”."
        if suggestion:
            problem += [rich.text(" Did you mean "), _word(suggestion), rich.text("?")]
            plain += f" Did you mean “{shown(suggestion, NAME_CHARS)}”?"
        blocks.append(rich.paragraph(problem))
        fallback = f"{escape(plain)} {fallback}"
    blocks.append(_section(USAGE))
    return _message(fallback, blocks)


def sentence(text: str) -> Message:
    """A message of one sentence; `text` must already be safe mrkdwn (escaped by the caller)."""
    if not text.strip():
        raise ValueError("a sentence needs some text")
    return _message(text, [_section(text)])
