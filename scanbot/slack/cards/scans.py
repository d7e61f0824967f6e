"""`/scans` and `/scan`: a screen of a scan list with its totals, and one scan's card.

The kit's rules hold (`slack.kit`): values from HostedScan or a user are shown literally
(rich_text or plain_text) and cut, fallback text escaped, no Slack limit exceeded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from scanbot.domain.events import RiskDetail
from scanbot.domain.severity import most_severe_first
from scanbot.hostedscan.models import FINAL_STATES, Scan, ScanState
from scanbot.scans.listing import ScanListing
from scanbot.scans.query import ScanQuery, state_name, type_name
from scanbot.slack import actions, kit, rich
from scanbot.slack.cards.help import USAGE, USAGE_FALLBACK
from scanbot.slack.kit import (
    FALLBACK_TEXT,
    ID_CHARS,
    MAX_KINDS,
    NAME_CHARS,
    REASON_CHARS,
    RESULT_KINDS,
    TARGET_CHARS,
    TEXT_BUDGET,
    Block,
    Message,
)
from scanbot.slack.rich import Line, bold
from scanbot.slack.text import escape, plural, shown, state_symbol

EN_DASH = "\N{EN DASH}"  # between the numbers of a range
TIMES = "\N{MULTIPLICATION SIGN}"  # a count of files of one kind

MAX_ENTRIES = 15  # scans in one list message
MAX_LISTED = 10  # targets of each kind in a detail card
MAX_RISK_IDS = 5
MAX_RISK_LINES = 10


def _phrase(query: ScanQuery, count: int) -> str:
    """The query in words, as shown: "running or queued OpenVAS scans scheduled by alice"."""
    words = []
    if query.states:
        words.append(kit.either([shown(state_name(s), NAME_CHARS) for s in query.states]))
    if query.types:
        words.append(kit.either([shown(type_name(t), NAME_CHARS) for t in query.types]))
    words.append("scan" if count == 1 else "scans")
    if query.scheduled_by:
        by = kit.either([shown(w, NAME_CHARS) for w in query.scheduled_by])
        words.append(f"scheduled by {by}")
    return " ".join(words)


def _plain_message(text: str) -> Message:
    """A sentence holding values from outside (as `shown`): a plain_text section."""
    return kit.message(escape(text), [kit.plain_section(text)])


# --- /scans: a list --------------------------------------------------------------------


def _tally(counts: dict[str, int], label: Callable[[str, int], str], kinds: str) -> str:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    named = [label(key, n) for key, n in ranked[:MAX_KINDS]]
    return kit.and_more(named, len(ranked), " · ") + (
        f" {kinds}" if len(ranked) > MAX_KINDS else ""
    )


def _state_count(state: str, n: int) -> str:
    return f"{state_symbol(state)} {n:,} {kit.shown_state_name(state)}"


def _summary(listing: ScanListing) -> Block | None:
    parts = []
    if listing.by_state:
        parts.append(_tally(listing.by_state, _state_count, "states"))
    if listing.by_type:
        parts.append(_tally(listing.by_type, lambda t, n: f"{n:,} {kit.shown_type(t)}", "types"))
    return kit.plain_context("   |   ".join(parts)) if parts else None


def _risk_counts(scan: Scan) -> str:
    risks = scan.risks
    return kit.risk_counts(len(risks.new_open), len(risks.still_open), len(risks.closed))


def _entry(scan: Scan, n: int) -> Block:
    """A scan in a list: plain text beside its Details button."""
    kind, state = kit.shown_type(scan.type), kit.shown_state(scan.state)
    lines = [f"{shown(scan.id, ID_CHARS)} · {kind} · {state}"]
    if scan.state == ScanState.RUNNING:
        lines.append(kit.progress(scan.progress))
    targets = scan.requested_targets
    if targets:
        more = f" +{len(targets) - 1:,} more" if len(targets) > 1 else ""
        lines.append(f"Targets: {shown(targets[0].target, TARGET_CHARS)}{more}")
    else:
        lines.append("Targets: none")
    lines.append(f"Risks: {_risk_counts(scan)}")
    value = actions.scan_value(scan.id)
    button = kit.button("Details", actions.DETAILS, n, value) if value else None
    return kit.plain_section("\n".join(lines), button)


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
            footer.append(kit.actions_row(kit.button("Next", actions.NEXT, 0, value)))
    if listing.offset > 0 or end < listing.total:
        total = max(listing.total, end)
        footer.append(kit.context(f"Showing {listing.offset + 1:,}{EN_DASH}{end:,} of {total:,}"))
    return footer


def scan_list(listing: ScanListing) -> Message:
    """One screen of `/scans`: totals, a line per scan with a Details button, then "Next"."""
    if not listing.entries:
        return _no_scans(listing)
    title = f"{listing.total:,} {_phrase(listing.query, listing.total)}"
    head = [kit.header(title)]
    summary = _summary(listing)
    if summary is not None:
        head.append(summary)
    # Whatever does not fit (count or characters) waits for the Next button.
    room = TEXT_BUDGET - FALLBACK_TEXT - kit.text_size(head) - 200  # 200: the footer's text
    entries: list[Block] = []
    for n, scan in enumerate(listing.entries[:MAX_ENTRIES]):
        entry = _entry(scan, n)
        room -= kit.text_size([entry])
        if room < 0 and entries:
            break
        entries.append(entry)
    end = listing.offset + len(entries)
    paged = listing.offset > 0 or end < listing.total
    fallback = f"{title} (showing {listing.offset + 1:,}{EN_DASH}{end:,})" if paged else title
    return kit.message(escape(fallback), head + entries + _footer(listing, end))


# --- /scan: one scan -------------------------------------------------------------------


def _results(scan: Scan) -> str:
    if not scan.results:
        return "none yet"
    kinds = Counter(
        RESULT_KINDS.get(r.content_type.lower(), shown(r.content_type, NAME_CHARS, "unknown"))
        for r in scan.results
    )
    named = [kind if n == 1 else f"{kind} {TIMES}{n}" for kind, n in kinds.most_common(MAX_KINDS)]
    return f"{plural(len(scan.results), 'file')}: " + kit.and_more(named, len(kinds), ", ")


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


def _risks(scan: Scan, new_risks: Sequence[RiskDetail] | None) -> Block:
    lines = [rich.fact("Risks", rich.text(_risk_counts(scan)))]
    new = scan.risks.new_open
    if new and new_risks is not None:
        return _new_risks(lines, new_risks, len(new))
    if new:
        ids = [risk.risk_id for risk in new[:MAX_RISK_IDS]]
        lines.append(rich.fact("New", *_codes(ids, len(new), ID_CHARS)))
    return rich.paragraph(*lines)


def _new_risks(lines: list[Line], details: Sequence[RiskDetail], total: int) -> Block:
    """The new risks by threat level and title, worst first (`domain.severity`), at most
    MAX_RISK_LINES of them: a risk without details shows its id."""
    ordered = sorted(details, key=most_severe_first)[:MAX_RISK_LINES]
    parts = [rich.section(*lines, [bold("New:")]), rich.bullets(kit.risk_line(r) for r in ordered)]
    if total > len(ordered):
        parts.append(rich.section([rich.text(f"and {total - len(ordered)} more")]))
    return rich.block(*parts)


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
    buttons = [kit.button("Refresh", actions.REFRESH, 0, value)]
    if not shared:
        buttons.append(kit.button("Share in channel", actions.SHARE, 1, value))
    if scan.risks.new_open:
        buttons.append(kit.button("Show risks", actions.SCAN_RISKS, 0, value))
    if scan.requested_targets:
        buttons.append(kit.button("Report for these targets", actions.REPORT_TARGETS, 0, value))
    if scan.state in FINAL_STATES:
        buttons.append(kit.rescan_button(value))
    return [kit.actions_row(*buttons)]


def _targets(values: Sequence[str]) -> list[Line]:
    return [[rich.value(v, TARGET_CHARS, code=True)] for v in values[:MAX_LISTED]]


def scan_detail(
    scan: Scan,
    *,
    shared_by: str | None = None,
    new_risks: Sequence[RiskDetail] | None = None,
) -> Message:
    """The card of one scan; with `shared_by` (a Slack user id), its public copy. With
    `new_risks` (details of its new risks, as many as could be had), they are listed by
    threat level and title, worst first; without, by id."""
    facts = rich.paragraph(
        rich.fact("Scan ID", rich.value(scan.id, ID_CHARS, code=True)),
        rich.fact("State", rich.text(kit.shown_state(scan.state))),
        rich.fact("Type", rich.text(kit.shown_type(scan.type))),
        rich.fact("Progress", rich.text(kit.progress(scan.progress))),
        rich.fact("Result files", rich.text(_results(scan))),
    )
    requested = _targets([t.target for t in scan.requested_targets])
    resolved = _targets([t.resolved_target for t in scan.resolved_targets])
    blocks = [
        kit.header(f"{kit.shown_type(scan.type)} scan · {kit.shown_state(scan.state)}"),
        facts,
        _risks(scan, new_risks),
        _bullets("Requested targets", requested, len(scan.requested_targets)),
    ]
    if scan.resolved_targets:
        blocks.append(_bullets("Resolved targets", resolved, len(scan.resolved_targets)))
    if scan.skipped_targets:
        blocks.append(_skipped(scan))
    if shared_by is not None:
        blocks.append(kit.context(f"Shared by {kit.mention(shared_by)}"))
    blocks += _detail_actions(scan, shared=shared_by is not None)
    fallback = f"{kit.shown_type(scan.type)} scan {shown(scan.id, ID_CHARS)}: "
    fallback += kit.shown_state_name(scan.state)
    return kit.message(escape(fallback), blocks)


# --- Help ------------------------------------------------------------------------------


def _word(typed: str) -> rich.Element:
    """A word someone typed, in code style, as typed."""
    return rich.value(typed, NAME_CHARS, code=True)


def usage(unknown: str | None = None, suggestion: str | None = None) -> Message:
    """Help for `/scans` and `/scan` (`help.USAGE`), after what was not understood if anything."""
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
    blocks.append(kit.section(USAGE))
    return kit.message(fallback, blocks)
