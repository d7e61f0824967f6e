"""Pure renderers: HostedScan data in, Block Kit messages out, always within Slack's limits.

Every string from HostedScan or a user goes through `_shown` (whitespace folded, escaped,
then cut), so a target named `<!channel>` reads as text and pings no one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypedDict

from scanbot.hostedscan.models import Scan, ScanState
from scanbot.scans.listing import ScanListing
from scanbot.scans.parse import STATE_WORDS, TYPE_WORDS
from scanbot.scans.query import ScanQuery, state_name, type_name
from scanbot.slack import actions
from scanbot.slack.text import escape, plural, progress_bar, state_symbol, truncate, user_mention

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
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(truncate(text, HEADER_TEXT))}


def _section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(truncate(text, SECTION_TEXT))}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(truncate(text, SECTION_TEXT))]}


def _button(label: str, kind: str, n: int, value: str) -> Block:
    return {
        "type": "button",
        "text": _plain(truncate(label, BUTTON_TEXT)),
        "action_id": actions.action_id(kind, n),
        "value": value,
    }


def _message(fallback: str, blocks: list[Block]) -> Message:
    return {"text": truncate(fallback, FALLBACK_TEXT), "blocks": blocks[:MAX_BLOCKS]}


def text_size(blocks: Iterable[Block]) -> int:
    """Characters of every text object in `blocks`: what Slack's total-length check counts."""
    total = 0
    for block in blocks:
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


def _shown(value: str, limit: int, blank: str = "(blank)") -> str:
    """A value from outside, on one line, escaped and cut; `blank` (ours) when empty."""
    folded = " ".join(value.split())
    return truncate(escape(folded), limit) if folded else blank


def _code(value: str, limit: int) -> str:
    shown = _shown(value, limit)
    # A backtick inside would end the code span early; show such a value as plain text.
    return shown if "`" in shown or not value.strip() else f"`{shown}`"


def _type(scan_type: str) -> str:
    return _shown(type_name(scan_type), NAME_CHARS, blank="unknown type")


def _state_name(state: str) -> str:
    return _shown(state_name(state), NAME_CHARS, blank="unknown state")


def _state(state: str) -> str:
    return f"{state_symbol(state)} {_state_name(state)}"


def _either(names: Sequence[str]) -> str:
    if len(names) > MAX_KINDS:
        names = [*names[: MAX_KINDS - 1], plural(len(names) - MAX_KINDS + 1, "other")]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _phrase(query: ScanQuery, count: int) -> str:
    """The query in words, escaped: "running or queued OpenVAS scans scheduled by alice"."""
    words = []
    if query.states:
        words.append(_either([_shown(state_name(s), NAME_CHARS) for s in query.states]))
    if query.types:
        words.append(_either([_shown(type_name(t), NAME_CHARS) for t in query.types]))
    words.append("scan" if count == 1 else "scans")
    if query.scheduled_by:
        words.append("scheduled by " + _either([_shown(w, NAME_CHARS) for w in query.scheduled_by]))
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
    return _context("   |   ".join(parts)) if parts else None


def _risk_counts(scan: Scan) -> str:
    risks = scan.risks
    return (
        f"{len(risks.new_open):,} new · {len(risks.still_open):,} still open · "
        f"{len(risks.closed):,} closed"
    )


def _progress(scan: Scan) -> str:
    return progress_bar(scan.progress) if scan.progress is not None else "progress not reported"


def _entry(scan: Scan, n: int) -> Block:
    lines = [f"{_code(scan.id, ID_CHARS)} · {_type(scan.type)} · {_state(scan.state)}"]
    if scan.state == ScanState.RUNNING:
        lines.append(_progress(scan))
    targets = scan.requested_targets
    if targets:
        more = f" +{len(targets) - 1:,} more" if len(targets) > 1 else ""
        lines.append(f"Targets: {_code(targets[0].target, TARGET_CHARS)}{more}")
    else:
        lines.append("Targets: none")
    lines.append(f"Risks: {_risk_counts(scan)}")
    value = actions.scan_value(scan.id)
    button = _button("Details", actions.DETAILS, n, value) if value else None
    return _section("\n".join(lines), button)


def _no_scans(listing: ScanListing) -> Message:
    phrase = _phrase(listing.query, 0)
    if listing.total == 0:
        return sentence(f"There are no {phrase}.")
    return sentence(f"There are no more {phrase}: the list ends at {listing.total:,}.")


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
    return _message(fallback, head + entries + _footer(listing, end))


# --- /scan: one scan -------------------------------------------------------------------


def _results(scan: Scan) -> str:
    if not scan.results:
        return "none yet"
    kinds = Counter(
        RESULT_KINDS.get(r.content_type.lower(), _shown(r.content_type, NAME_CHARS, "unknown"))
        for r in scan.results
    )
    named = [kind if n == 1 else f"{kind} {TIMES}{n}" for kind, n in kinds.most_common(MAX_KINDS)]
    return f"{plural(len(scan.results), 'file')}: " + _and_more(named, len(kinds), ", ")


def _bullets(title: str, items: Sequence[str], total: int) -> Block:
    if not total:
        return _section(f"*{title}:* none")
    lines = [f"• {item}" for item in items]
    return _section(f"*{title} ({total:,}):*\n" + _and_more(lines, total, "\n"))


def _risks(scan: Scan) -> Block:
    text = f"*Risks:* {_risk_counts(scan)}"
    new = scan.risks.new_open
    if new:
        ids = [_code(risk.risk_id, ID_CHARS) for risk in new[:MAX_RISK_IDS]]
        text += "\n*New:* " + _and_more(ids, len(new), ", ")
    return _section(text)


def _skipped(scan: Scan) -> Block:
    names = {t.target_id: t.target for t in scan.requested_targets if t.target_id}
    lines = [
        f"{_code(names.get(t.target_id, t.target_id), TARGET_CHARS)}: "
        f"{_shown(t.skipped_reason, REASON_CHARS, blank='_no reason given_')}"
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
    mention = user_mention(user_id)
    return mention if mention.startswith("<@") else _shown(user_id, NAME_CHARS, blank="someone")


def scan_detail(scan: Scan, *, shared_by: str | None = None) -> Message:
    """The card of one scan; with `shared_by` (a Slack user id), its public copy."""
    facts = {
        "Scan ID": _code(scan.id, ID_CHARS),
        "State": _state(scan.state),
        "Type": _type(scan.type),
        "Progress": _progress(scan),
        "Result files": _results(scan),
    }
    requested = [_code(t.target, TARGET_CHARS) for t in scan.requested_targets[:MAX_LISTED]]
    resolved = [_code(t.resolved_target, TARGET_CHARS) for t in scan.resolved_targets[:MAX_LISTED]]
    blocks = [
        _header(f"{_type(scan.type)} scan · {_state(scan.state)}"),
        {"type": "section", "fields": [_mrkdwn(f"*{k}*\n{v}") for k, v in facts.items()]},
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
    fallback = f"{_type(scan.type)} scan {_shown(scan.id, ID_CHARS)}: {_state_name(scan.state)}"
    return _message(fallback, blocks)


# --- Help and sentences ----------------------------------------------------------------


def _words(values: Iterable[str]) -> str:
    return " ".join(f"`{value}`" for value in values)


USAGE = "\n".join(
    [
        "*`/scans [state…] [type…] [by:someone]`* lists scans with their totals, "
        "a screen at a time.",
        f"States: {_words(STATE_WORDS)}",
        f"Types: {_words(TYPE_WORDS)}",
        "Example: `/scans running openvas by:alice`; `/scans help` shows this.",
        "",
        f"*`{escape('/scan <scan id>')}`* shows one scan: its targets, risks and result files.",
        "",
        "*In a channel:* `/scans subscribe [types] [target:…] [severity:…] [events]` sends "
        "this channel alerts (`started` `finished` `failed` `risks`); `/scans subscriptions` "
        f"lists them; `{escape('/scans unsubscribe <number>|all')}` stops them; "
        "`/scans triage` lists the alerts nobody acknowledged yet.",
    ]
)
USAGE_FALLBACK = escape("Usage: /scans [state…] [type…] [by:someone] or /scan <scan id>")


def usage(unknown: str | None = None, suggestion: str | None = None) -> Message:
    """Help for `/scans` and `/scan`, after what was not understood if anything."""
    blocks = []
    fallback = USAGE_FALLBACK
    if unknown is not None:
        problem = f"scanbot does not know {_code(unknown, NAME_CHARS)}."
        plain = f"scanbot does not know “{_shown(unknown, NAME_CHARS)}”."
        if suggestion:
            problem += f" Did you mean {_code(suggestion, NAME_CHARS)}?"
            plain += f" Did you mean “{_shown(suggestion, NAME_CHARS)}”?"
        blocks.append(_section(problem))
        fallback = f"{plain} {fallback}"
    blocks.append(_section(USAGE))
    return _message(fallback, blocks)


def sentence(text: str) -> Message:
    """A message of one sentence; `text` must already be safe mrkdwn (escaped by the caller)."""
    if not text.strip():
        raise ValueError("a sentence needs some text")
    return _message(text, [_section(text)])
