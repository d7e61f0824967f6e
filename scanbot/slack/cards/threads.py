"""A scan's alert thread in a channel: the parent card (drawn in one place, at a given time),
the first message, event replies, and a digest when there are too many.

The kit's rules hold (`slack.kit`); an alert's plain `text` names its scan first, because
notifications and screen readers show only that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from scanbot.domain.events import Alert, EventKind, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import SnoozeChoice, TriageView
from scanbot.hostedscan.models import ScanState
from scanbot.slack import actions, kit, rich
from scanbot.slack.kit import (
    ACK_SYMBOL,
    ASSIGNEE_SYMBOL,
    BUTTON_TEXT,
    ID_CHARS,
    MUTE_SYMBOL,
    NAME_CHARS,
    SNOOZE_SYMBOL,
    TARGET_CHARS,
    Block,
    Message,
)
from scanbot.slack.rich import Line, bold
from scanbot.slack.text import as_utc, escape, plural, shown, state_symbol, truncate

MAX_RISKS = 15  # risks listed in one alert
MAX_DIGEST = 40  # alerts listed in one digest
MAX_FALLBACK_IDS = 3  # scan ids a digest's plain text names
MAX_ACKNOWLEDGERS = 10  # named on the card; the rest are "and N more"
RISKS_SYMBOL = "🚨"
GONE_SYMBOL = "🚫"

# How each kind reads in a digest's counts ("3 started · 2 with new risks"), in this order.
KIND_COUNTS: dict[str, str] = {
    EventKind.STARTED: "started",
    EventKind.FINISHED: "finished",
    EventKind.RISKS: "with new risks",
    EventKind.UNKNOWN_STATE: "in an unknown state",
    EventKind.GONE: "gone",
}


# --- Words ------------------------------------------------------------------------------


def _symbol(event: ScanEvent) -> str:
    if event.kind is EventKind.RISKS:
        return RISKS_SYMBOL
    if event.kind is EventKind.GONE:
        return GONE_SYMBOL
    return state_symbol(event.summary.state)


def _sentence(alert: Alert) -> Line:
    """What happened, naming the scan: "Scan `abc` (OpenVAS) finished: failed"."""
    event, summary = alert.event, alert.event.summary
    ref = kit.scan_reference(summary)
    if event.kind is EventKind.STARTED:
        return [*ref, rich.text(f" started: {plural(summary.target_count, 'target')}")]
    if event.kind is EventKind.FINISHED:
        return [*ref, rich.text(f" finished: {kit.shown_state_name(summary.state)}")]
    if event.kind is EventKind.RISKS:
        return [*ref, rich.text(f": {plural(kit.risk_total(alert), 'new open risk')}")]
    if event.kind is EventKind.UNKNOWN_STATE:
        state = shown(summary.state, NAME_CHARS)
        return [*ref, rich.text(f" is in a state scanbot does not know: “{state}”")]
    if event.kind is EventKind.GONE:
        gone = kit.scan_reference(summary, start=False)
        return [
            rich.text("HostedScan no longer has "),
            *gone,
            rich.text("; scanbot stops watching it"),
        ]
    return [*ref, rich.text(f": {shown(str(event.kind), NAME_CHARS)}")]  # a kind newer than this


def held_phrase(alert: Alert) -> str:
    """How a held alert reads in the summary a quiet thread posts when it wakes up (risk
    alerts are counted together there): "finished: failed"."""
    summary = alert.event.summary
    kind = alert.event.kind
    if kind is EventKind.STARTED:
        return "started"
    if kind is EventKind.FINISHED:
        return f"finished: {kit.shown_state_name(summary.state)}"
    if kind is EventKind.UNKNOWN_STATE:
        return f"an unknown state “{shown(summary.state, NAME_CHARS // 2)}”"
    if kind is EventKind.GONE:
        return "gone from HostedScan"
    return shown(str(kind), NAME_CHARS)


def _latest(event: ScanEvent) -> str:
    """The parent card's line about its newest event, as shown: "Finished: ❌ failed"."""
    summary = event.summary
    if event.kind is EventKind.STARTED:
        return f"Started: {plural(summary.target_count, 'target')}"
    if event.kind is EventKind.FINISHED:
        return f"Finished: {kit.shown_state(summary.state)}"
    if event.kind is EventKind.RISKS:
        return f"{RISKS_SYMBOL} New: {plural(len(event.risk_ids), 'open risk')}"
    if event.kind is EventKind.UNKNOWN_STATE:
        return f"Now in a state scanbot does not know: “{shown(summary.state, NAME_CHARS)}”"
    if event.kind is EventKind.GONE:
        return f"{GONE_SYMBOL} HostedScan no longer has this scan; scanbot stopped watching it"
    return f"Latest: {shown(str(event.kind), NAME_CHARS)}"


def _summary_risk_counts(summary: ScanSummary) -> str:
    return kit.risk_counts(summary.new_open, summary.still_open, summary.closed)


def _risk_list(alert: Alert, room: int) -> list[Block]:
    """At most MAX_RISKS lines, in the order given (most severe first), then "and N more"."""
    lines = [kit.risk_line(risk) for risk in alert.risks[:MAX_RISKS]]
    return kit.packed(lines, kit.risk_total(alert), room)


# --- The parent card ---------------------------------------------------------------------


def _targets(summary: ScanSummary) -> Line:
    targets = [[rich.value(target, TARGET_CHARS, code=True)] for target in summary.targets]
    total = max(summary.target_count, len(targets))
    if not targets:
        return [rich.text(plural(total, "target") if total else "none")]
    more = [rich.text(f" +{total - len(targets):,} more")] if total > len(targets) else []
    return rich.joined(targets, ", ") + more


def _snooze_line(triage: TriageView, state: str, now: datetime) -> str | None:
    """How the card says it is snoozed; None when not, or no longer (expired, or the scan
    left the state the snooze waits out).
    """
    if triage.snoozed_in_state is not None and triage.snoozed_in_state == state:
        return f"{SNOOZE_SYMBOL} Snoozed until the next state change"
    until = triage.snoozed_until
    if until is not None and as_utc(now) < as_utc(until):
        return f"{SNOOZE_SYMBOL} Snoozed until {kit.slack_date(until)}"
    return None


def _triage_facts(summary: ScanSummary, triage: TriageView, now: datetime) -> list[Block]:
    """A context line per fact: who acknowledged (and when), the assignee, snooze, mute."""
    lines = []
    acks = triage.acknowledgements
    if acks:
        named = [
            f"{kit.mention(a.user_id)} at {kit.slack_date(a.at)}" for a in acks[:MAX_ACKNOWLEDGERS]
        ]
        more = f" and {len(acks) - len(named):,} more" if len(acks) > len(named) else ""
        lines.append(f"{ACK_SYMBOL} Acknowledged by {', '.join(named)}{more}")
    if triage.assignee is not None:
        lines.append(f"{ASSIGNEE_SYMBOL} Assigned to {kit.mention(triage.assignee)}")
    snooze = _snooze_line(triage, summary.state, now)
    if snooze is not None:
        lines.append(snooze)
    if triage.muted:
        lines.append(f"{MUTE_SYMBOL} Muted in this channel")
    return [kit.context(line) for line in lines]


def _snooze_select() -> Block:
    options = [
        {
            "text": {"type": "plain_text", "text": _snooze_label(choice), "emoji": True},
            "value": choice.value,
        }
        for choice in SnoozeChoice
    ]
    return {
        "type": "static_select",
        "action_id": actions.action_id(actions.SNOOZE, 0),
        "placeholder": {"type": "plain_text", "text": "Snooze…", "emoji": True},
        "options": options,
    }


def _snooze_label(choice: SnoozeChoice) -> str:
    label = f"Until {choice.label}" if choice.duration is None else f"For {choice.label}"
    return truncate(label, BUTTON_TEXT)


def _triage_row(summary: ScanSummary, triage: TriageView, now: datetime, value: str) -> Block:
    """What on-call does to the thread. The Snooze select's options carry only a
    SnoozeChoice, so its actions block names the scan in its block_id; a scan id too long
    for one gets no select.
    """
    row = [kit.button("Acknowledge", actions.ACK, 0, value)]
    if triage.acknowledgements:
        row.append(kit.button("Undo my acknowledgement", actions.UNACK, 0, value))
    row.append(kit.button("Assign…", actions.ASSIGN, 0, value))
    block_id = actions.triage_block_id(summary.scan_id)
    if _snooze_line(triage, summary.state, now) is not None:
        row.append(kit.button("Unsnooze", actions.UNSNOOZE, 0, value))
    elif block_id is not None:
        row.append(_snooze_select())
    if triage.muted:
        row.append(kit.button("Unmute", actions.UNMUTE, 0, value))
    else:
        row.append(kit.button("Mute this scan here", actions.MUTE, 0, value))
    block = kit.actions_row(*row)
    if block_id is not None:
        block["block_id"] = block_id
    return block


def _triage_actions(summary: ScanSummary, triage: TriageView, now: datetime) -> list[Block]:
    """Two rows: what on-call does to the thread, then what they can look at (Details first)."""
    value = actions.scan_value(summary.scan_id)
    if value is None:
        return []
    look_row = kit.actions_row(
        kit.button("Details", actions.DETAILS, 0, value),
        kit.button("Refresh", actions.THREAD_REFRESH, 0, value),
        kit.button("Show risks", actions.RISKS, 0, value),
        kit.button("Report", actions.REPORT, 0, value),
    )
    return [_triage_row(summary, triage, now, value), look_row]


def _card_lines(summary: ScanSummary) -> list[Line]:
    """*Scan* `abc` · OpenVAS, *State:*, the progress bar while running, *Targets:*, *Risks:*."""
    scan_id = rich.value(summary.scan_id, ID_CHARS, code=True)
    lines = [
        [bold("Scan"), rich.text(" "), scan_id, rich.text(f" · {kit.shown_type(summary.type)}")],
        rich.fact("State", rich.text(kit.shown_state(summary.state))),
    ]
    if summary.state == ScanState.RUNNING:
        lines.append([rich.text(kit.progress(summary.progress))])
    lines.append(rich.fact("Targets", *_targets(summary)))
    lines.append(rich.fact("Risks", rich.text(_summary_risk_counts(summary))))
    return lines


def _details_row(summary: ScanSummary) -> list[Block]:
    value = actions.scan_value(summary.scan_id)
    if value is None:
        return []
    return [kit.actions_row(kit.button("Details", actions.DETAILS, 0, value))]


def parent_card(
    summary: ScanSummary,
    *,
    now: datetime,
    triage: TriageView | None = None,
    latest: ScanEvent | None = None,
) -> Message:
    """The thread's parent as it is at `now`: the scan, its newest event if given, and with
    `triage`, who acknowledged, the assignee, snooze (one that ended by `now` is not shown)
    and mute, and the triage buttons; without `triage`, only a Details button. The sender
    and triage both draw the parent with this.
    """
    blocks = [
        kit.header(f"{kit.shown_type(summary.type)} scan · {kit.shown_state(summary.state)}"),
        rich.paragraph(*_card_lines(summary)),
    ]
    if latest is not None:
        blocks.append(kit.plain_context(_latest(latest)))
    if triage is not None:
        blocks += _triage_facts(summary, triage, now)
        blocks += _triage_actions(summary, triage, now)
    else:
        blocks += _details_row(summary)
    fallback = kit.fallback(kit.scan_reference(summary))
    return kit.message(f"{fallback}: {escape(kit.shown_state_name(summary.state))}", blocks)


# --- Messages in the thread --------------------------------------------------------------


def _event_blocks(alert: Alert, room: int) -> list[Block]:
    """What a reply says beyond the parent card: risk counts, or the new risks."""
    if alert.event.kind is EventKind.FINISHED:
        return [kit.context(f"Risks: {_summary_risk_counts(alert.event.summary)}")]
    if alert.event.kind is EventKind.RISKS:
        return _risk_list(alert, room)
    return []


def event_reply(alert: Alert) -> Message:
    """A reply in the scan's thread: one event, in a sentence naming the scan."""
    sentence = _sentence(alert)
    head = [rich.paragraph([rich.text(f"{_symbol(alert.event)} "), *sentence])]
    blocks = head + _event_blocks(alert, kit.room(head))
    return kit.message(kit.fallback(sentence), blocks)


def first_message(alert: Alert, *, now: datetime, triage: TriageView | None = None) -> Message:
    """The first message about a scan in a channel: the parent card, showing this event."""
    card = parent_card(alert.event.summary, latest=alert.event, triage=triage, now=now)["blocks"]
    extra = _risk_list(alert, kit.room(card)) if alert.event.kind is EventKind.RISKS else []
    return kit.message(kit.fallback(_sentence(alert)), card + extra)


def _kind_counts(alerts: Sequence[Alert]) -> str:
    """ "2 started · 3 finished (1 failed) · 1 with new risks", kinds in KIND_COUNTS' order."""
    counts = Counter(str(alert.event.kind) for alert in alerts)
    failed = sum(a.broadcast for a in alerts)
    parts = []
    order = {kind: n for n, kind in enumerate(KIND_COUNTS)}
    for kind in sorted(counts, key=lambda k: (order.get(k, len(order)), k)):
        label = KIND_COUNTS.get(kind) or shown(kind, NAME_CHARS)
        if kind == EventKind.FINISHED and failed:
            label += f" ({failed:,} failed)"
        parts.append(f"{counts[kind]:,} {label}")
    return " · ".join(parts)


def digest(alerts: Sequence[Alert]) -> Message:
    """Many alerts in one message instead of a flood: counts by kind, then a line each,
    in the order given.
    """
    if not alerts:
        return kit.sentence("No new scan alerts.")
    title = plural(len(alerts), "scan alert")
    counts = _kind_counts(alerts)
    head = [kit.header(title), kit.plain_context(counts)]
    lines = [[rich.text(f"{_symbol(a.event)} "), *_sentence(a)] for a in alerts[:MAX_DIGEST]]
    ids = [shown(a.event.summary.scan_id, ID_CHARS) for a in alerts[:MAX_FALLBACK_IDS]]
    fallback = f"{title} ({counts}): scans " + kit.and_more(ids, len(alerts), ", ")
    return kit.message(escape(fallback), head + kit.packed(lines, len(alerts), kit.room(head)))
