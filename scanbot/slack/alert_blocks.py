"""Pure renderers of channel alerts and subscriptions: alert data in, Block Kit messages out.

The rules of blocks.py hold here too: every string from HostedScan or a user is shown
literally (rich_text or plain_text) and cut, fallback text escaped so it neither pings
nor formats, and no message exceeds a Slack limit. An alert's plain `text` names its scan
first, because notifications and screen readers show only that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import Subscription
from scanbot.domain.threads import SnoozeChoice, TriageView
from scanbot.hostedscan.models import ScanState
from scanbot.scans.query import type_name
from scanbot.slack import actions, rich
from scanbot.slack.blocks import (
    BUTTON_TEXT,
    FALLBACK_TEXT,
    ID_CHARS,
    NAME_CHARS,
    REASON_CHARS,
    SECTION_TEXT,
    TARGET_CHARS,
    TEXT_BUDGET,
    Block,
    Message,
    _and_more,
    _button,
    _code,
    _context,
    _either,
    _header,
    _message,
    _section,
    _state,
    _state_name,
    _type,
    _user,
    plain_context,
    text_size,
)
from scanbot.slack.cards.help import SUBSCRIBE_FALLBACK, SUBSCRIBE_USAGE
from scanbot.slack.rich import Line, bold
from scanbot.slack.text import as_utc, escape, plural, progress_bar, shown, state_symbol, truncate

MAX_RISKS = 15  # risks listed in one alert
MAX_DIGEST = 40  # alerts listed in one digest
MAX_SUBSCRIPTIONS = 40  # subscriptions listed in one message
TITLE_CHARS = 150
CVSS_CHARS = 12
MORE_CHARS = 40  # room kept for the closing "and N more"

THREAT_SYMBOLS: dict[str, str] = {"HIGH": "🔴", "MEDIUM": "🟠", "LOW": "🟡"}
UNKNOWN_THREAT_SYMBOL = "🟣"  # a level HostedScan did not document counts as most severe
NO_THREAT_SYMBOL = "⚪"  # no level at all: its details could not be had
THREAT_NAMES: dict[str, str] = {"HIGH": "High", "MEDIUM": "Medium", "LOW": "Low"}
RISKS_SYMBOL = "🚨"
GONE_SYMBOL = "🚫"
NOTE_SYMBOL = "🛠️"

# How each kind reads in a digest's counts ("3 started · 2 with new risks"), in this order.
KIND_COUNTS: dict[str, str] = {
    EventKind.STARTED: "started",
    EventKind.FINISHED: "finished",
    EventKind.RISKS: "with new risks",
    EventKind.UNKNOWN_STATE: "in an unknown state",
    EventKind.GONE: "gone",
}
MAX_FALLBACK_IDS = 3  # scan ids a digest's plain text names

# Triage on the parent card.
MAX_ACKNOWLEDGERS = 10  # named on the card; the rest are "and N more"
DATE_FORMAT = "{date_short_pretty} at {time}"  # Slack renders it in each reader's time zone
ACK_SYMBOL = "✅"
ASSIGNEE_SYMBOL = "👤"
SNOOZE_SYMBOL = "💤"
MUTE_SYMBOL = "🔇"

ALERT_CHANNEL_SETTING = "SCANBOT_ALERT_CHANNEL"
HOW_TO_SUBSCRIBE = (
    "`/scans subscribe` sends finished scans and new risks to this channel; "
    "`/scans subscribe help` shows how to choose types, targets, severity and events."
)


# --- Words ------------------------------------------------------------------------------


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ref(summary: ScanSummary, *, plain: bool = False, start: bool = True) -> str:
    """ "Scan `abc` (OpenVAS)" in mrkdwn, for what stays mrkdwn (a file's comment, the assign
    modal); `plain` for fallback text, without the code span.
    """
    if plain:
        return escape(rich.plain(scan_reference(summary, start=start)))
    kind = f" ({escape(_type(summary.type))})" if summary.type.strip() else ""
    return f"{'Scan' if start else 'scan'} {_code(summary.scan_id, ID_CHARS)}{kind}"


def scan_reference(summary: ScanSummary, *, start: bool = True) -> Line:
    """ "Scan `abc` (OpenVAS)": the id in code style, as HostedScan spells it."""
    kind = [rich.text(f" ({_type(summary.type)})")] if summary.type.strip() else []
    scan_id = rich.value(summary.scan_id, ID_CHARS, code=True)
    return [rich.text("Scan " if start else "scan "), scan_id, *kind]


def _risk_total(alert: Alert) -> int:
    """How many new risks a RISKS alert is about; `risks` may list fewer (details or filter)."""
    return max(alert.risk_count, len(alert.risks)) or len(alert.event.risk_ids)


def _risk_counts(summary: ScanSummary) -> str:
    return (
        f"{summary.new_open:,} new · {summary.still_open:,} still open · {summary.closed:,} closed"
    )


def _symbol(event: ScanEvent) -> str:
    if event.kind is EventKind.RISKS:
        return RISKS_SYMBOL
    if event.kind is EventKind.GONE:
        return GONE_SYMBOL
    return state_symbol(event.summary.state)


def _sentence(alert: Alert) -> Line:
    """What happened, naming the scan: "Scan `abc` (OpenVAS) finished: failed"."""
    event, summary = alert.event, alert.event.summary
    ref = scan_reference(summary)
    if event.kind is EventKind.STARTED:
        return [*ref, rich.text(f" started: {plural(summary.target_count, 'target')}")]
    if event.kind is EventKind.FINISHED:
        return [*ref, rich.text(f" finished: {_state_name(summary.state)}")]
    if event.kind is EventKind.RISKS:
        return [*ref, rich.text(f": {plural(_risk_total(alert), 'new open risk')}")]
    if event.kind is EventKind.UNKNOWN_STATE:
        state = shown(summary.state, NAME_CHARS)
        return [*ref, rich.text(f" is in a state scanbot does not know: “{state}”")]
    if event.kind is EventKind.GONE:
        gone = scan_reference(summary, start=False)
        return [
            rich.text("HostedScan no longer has "),
            *gone,
            rich.text("; scanbot stops watching it"),
        ]
    return [*ref, rich.text(f": {shown(str(event.kind), NAME_CHARS)}")]  # a kind newer than this


def _fallback(line: Line) -> str:
    """A line as a message's plain `text`: escaped mrkdwn that neither pings nor formats."""
    return escape(rich.plain(line))


def _latest(event: ScanEvent) -> str:
    """The parent card's line about its newest event, as shown: "Finished: ❌ failed"."""
    summary = event.summary
    if event.kind is EventKind.STARTED:
        return f"Started: {plural(summary.target_count, 'target')}"
    if event.kind is EventKind.FINISHED:
        return f"Finished: {_state(summary.state)}"
    if event.kind is EventKind.RISKS:
        return f"{RISKS_SYMBOL} New: {plural(len(event.risk_ids), 'open risk')}"
    if event.kind is EventKind.UNKNOWN_STATE:
        return f"Now in a state scanbot does not know: “{shown(summary.state, NAME_CHARS)}”"
    if event.kind is EventKind.GONE:
        return f"{GONE_SYMBOL} HostedScan no longer has this scan; scanbot stopped watching it"
    return f"Latest: {shown(str(event.kind), NAME_CHARS)}"


def _packed(lines: Sequence[Line], total: int, room: int, *, bulleted: bool = False) -> list[Block]:
    """`lines` in as few rich_text blocks as fit, as far as `room` characters go; then how
    many of `total` were left out. Each line must be far shorter than a block.
    """
    groups: list[list[Line]] = [[]]
    size = used = 0
    for line in lines:
        cost = rich.size(line) + 1
        if used + cost > room - MORE_CHARS:
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
        blocks.append(_context(f"and {rest:,} more" if shown_count else f"{rest:,} not shown"))
    return blocks


def _room(*blocks: Sequence[Block]) -> int:
    return TEXT_BUDGET - FALLBACK_TEXT - sum(text_size(group) for group in blocks)


# --- Risks -------------------------------------------------------------------------------


def _risk_line(risk: RiskDetail) -> Line:
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


def _risk_list(alert: Alert, room: int) -> list[Block]:
    """At most MAX_RISKS lines, in the order given (most severe first), then "and N more"."""
    lines = [_risk_line(risk) for risk in alert.risks[:MAX_RISKS]]
    return _packed(lines, _risk_total(alert), room)


# --- Alerts ------------------------------------------------------------------------------


def _targets(summary: ScanSummary) -> Line:
    targets = [[rich.value(target, TARGET_CHARS, code=True)] for target in summary.targets]
    total = max(summary.target_count, len(targets))
    if not targets:
        return [rich.text(plural(total, "target") if total else "none")]
    more = [rich.text(f" +{total - len(targets):,} more")] if total > len(targets) else []
    return rich.joined(targets, ", ") + more


def slack_date(at: datetime, token_format: str = DATE_FORMAT) -> str:
    """Slack's `<!date^…>` token: each reader sees `at` in their own time zone; clients that
    cannot render it show the UTC fallback. A naive `at` is taken as UTC.
    """
    try:
        utc = as_utc(at).astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: no token can show it
        return escape(at.isoformat(sep=" ", timespec="minutes"))
    return f"<!date^{int(utc.timestamp())}^{token_format}|{utc:%Y-%m-%d %H:%M} UTC>"


def _snooze_line(triage: TriageView, state: str, now: datetime | None) -> str | None:
    """How the card says it is snoozed; None when not, or no longer (expired, or the scan
    left the state the snooze waits out).
    """
    if triage.snoozed_in_state is not None and triage.snoozed_in_state == state:
        return f"{SNOOZE_SYMBOL} Snoozed until the next state change"
    until = triage.snoozed_until
    if until is not None and (now is None or as_utc(now) < as_utc(until)):
        return f"{SNOOZE_SYMBOL} Snoozed until {slack_date(until)}"
    return None


def _triage_facts(summary: ScanSummary, triage: TriageView, now: datetime | None) -> list[Block]:
    """A context line per fact: who acknowledged (and when), the assignee, snooze, mute."""
    lines = []
    acks = triage.acknowledgements
    if acks:
        named = [f"{_user(a.user_id)} at {slack_date(a.at)}" for a in acks[:MAX_ACKNOWLEDGERS]]
        more = f" and {len(acks) - len(named):,} more" if len(acks) > len(named) else ""
        lines.append(f"{ACK_SYMBOL} Acknowledged by {', '.join(named)}{more}")
    if triage.assignee is not None:
        lines.append(f"{ASSIGNEE_SYMBOL} Assigned to {_user(triage.assignee)}")
    snooze = _snooze_line(triage, summary.state, now)
    if snooze is not None:
        lines.append(snooze)
    if triage.muted:
        lines.append(f"{MUTE_SYMBOL} Muted in this channel")
    return [_context(line) for line in lines]


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


def _triage_actions(summary: ScanSummary, triage: TriageView, now: datetime | None) -> list[Block]:
    """Two rows: what on-call does to the thread, then what they can look at (Details first).

    The Snooze select's options carry only a SnoozeChoice, so its actions block names the
    scan in its block_id; a scan id too long for one gets no select.
    """
    value = actions.scan_value(summary.scan_id)
    if value is None:
        return []
    triage_row = [_button("Acknowledge", actions.ACK, 0, value)]
    if triage.acknowledgements:
        triage_row.append(_button("Undo my acknowledgement", actions.UNACK, 0, value))
    triage_row.append(_button("Assign…", actions.ASSIGN, 0, value))
    block_id = actions.triage_block_id(summary.scan_id)
    if _snooze_line(triage, summary.state, now) is not None:
        triage_row.append(_button("Unsnooze", actions.UNSNOOZE, 0, value))
    elif block_id is not None:
        triage_row.append(_snooze_select())
    if triage.muted:
        triage_row.append(_button("Unmute", actions.UNMUTE, 0, value))
    else:
        triage_row.append(_button("Mute this scan here", actions.MUTE, 0, value))
    look_row = [
        _button("Details", actions.DETAILS, 0, value),
        _button("Refresh", actions.THREAD_REFRESH, 0, value),
        _button("Show risks", actions.RISKS, 0, value),
        _button("Report", actions.REPORT, 0, value),
    ]
    first: Block = {"type": "actions", "elements": triage_row}
    if block_id is not None:
        first["block_id"] = block_id
    return [first, {"type": "actions", "elements": look_row}]


def parent_card(
    summary: ScanSummary,
    *,
    latest: ScanEvent | None = None,
    triage: TriageView | None = None,
    now: datetime | None = None,
) -> Message:
    """The thread's parent: the scan as it is now, its newest event, and a Details button.

    With `triage`, also who acknowledged, the assignee, snooze and mute, and the triage
    buttons. `now` tells an expired snooze from a running one; without it a time-boxed
    snooze reads as running.
    """
    blocks = [
        _header(f"{_type(summary.type)} scan · {_state(summary.state)}"),
        rich.paragraph(*_card_lines(summary)),
    ]
    if latest is not None:
        blocks.append(plain_context(_latest(latest)))
    if triage is not None:
        blocks += _triage_facts(summary, triage, now)
        blocks += _triage_actions(summary, triage, now)
    else:
        blocks += _details_row(summary)
    fallback = f"{_ref(summary, plain=True)}: {escape(_state_name(summary.state))}"
    return _message(fallback, blocks)


def _card_lines(summary: ScanSummary) -> list[Line]:
    """*Scan* `abc` · OpenVAS, *State:*, the progress bar while running, *Targets:*, *Risks:*."""
    scan_id = rich.value(summary.scan_id, ID_CHARS, code=True)
    lines = [
        [bold("Scan"), rich.text(" "), scan_id, rich.text(f" · {_type(summary.type)}")],
        rich.fact("State", rich.text(_state(summary.state))),
    ]
    if summary.state == ScanState.RUNNING:
        progress = summary.progress
        bar = progress_bar(progress) if progress is not None else "progress not reported"
        lines.append([rich.text(bar)])
    lines.append(rich.fact("Targets", *_targets(summary)))
    lines.append(rich.fact("Risks", rich.text(_risk_counts(summary))))
    return lines


def _details_row(summary: ScanSummary) -> list[Block]:
    value = actions.scan_value(summary.scan_id)
    if value is None:
        return []
    return [{"type": "actions", "elements": [_button("Details", actions.DETAILS, 0, value)]}]


def _event_blocks(alert: Alert, room: int) -> list[Block]:
    """What a reply says beyond the parent card: risk counts, or the new risks."""
    if alert.event.kind is EventKind.FINISHED:
        return [_context(f"Risks: {_risk_counts(alert.event.summary)}")]
    if alert.event.kind is EventKind.RISKS:
        return _risk_list(alert, room)
    return []


def event_reply(alert: Alert) -> Message:
    """A reply in the scan's thread: one event, in a sentence naming the scan."""
    sentence = _sentence(alert)
    head = [rich.paragraph([rich.text(f"{_symbol(alert.event)} "), *sentence])]
    blocks = head + _event_blocks(alert, _room(head))
    return _message(_fallback(sentence), blocks)


def first_message(
    alert: Alert, *, triage: TriageView | None = None, now: datetime | None = None
) -> Message:
    """The first message about a scan in a channel: the parent card, showing this event."""
    card = parent_card(alert.event.summary, latest=alert.event, triage=triage, now=now)["blocks"]
    extra = _risk_list(alert, _room(card)) if alert.event.kind is EventKind.RISKS else []
    return _message(_fallback(_sentence(alert)), card + extra)


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
        return _message("No new scan alerts.", [_section("No new scan alerts.")])
    title = plural(len(alerts), "scan alert")
    counts = _kind_counts(alerts)
    head = [_header(title), plain_context(counts)]
    lines = [[rich.text(f"{_symbol(a.event)} "), *_sentence(a)] for a in alerts[:MAX_DIGEST]]
    ids = [shown(a.event.summary.scan_id, ID_CHARS) for a in alerts[:MAX_FALLBACK_IDS]]
    fallback = f"{title} ({counts}): scans " + _and_more(ids, len(alerts), ", ")
    return _message(escape(fallback), head + _packed(lines, len(alerts), _room(head)))


def admin_note(text: str) -> Message:
    """A notice for the admin channel, e.g. polling failing or recovered; `text` may hold
    words from outside (an error from HostedScan), so it is shown literally.
    """
    note = truncate(text.strip(), SECTION_TEXT - 10) if text.strip() else ""
    line = [rich.text(f"{NOTE_SYMBOL} {note or '(no details)'}")]
    blocks = [rich.paragraph(line), _context("scanbot notice for admins")]
    return _message(f"scanbot: {escape(note or '(no details)')}", blocks)


# --- Subscriptions -----------------------------------------------------------------------


def describe_subscription(subscription: Subscription) -> str:
    """The subscription in words, as shown (not escaped: a rich_text element takes it as it
    is, mrkdwn needs `escape`): "#3: finished and risks of OpenVAS scans with a target
    containing “shop”, risks of medium severity or higher".
    """
    events = [shown(event, NAME_CHARS) for event in subscription.events]
    types = [shown(type_name(t), NAME_CHARS) for t in subscription.types]
    text = f"#{subscription.id}: {_and(events) if events else 'no events'} of "
    text += f"{_either(types) if types else 'all'} scans"
    if subscription.target_contains is not None:
        target = shown(subscription.target_contains, TARGET_CHARS)
        text += f" with a target containing “{target}”"
    if subscription.min_severity is not None:
        level = shown(subscription.min_severity.lower(), NAME_CHARS)
        text += f", risks of {level} severity or higher"
    return text


def _subscription_line(subscription: Subscription) -> Line:
    line = [rich.text(describe_subscription(subscription))]
    if subscription.from_env:
        line += [
            rich.text(" (set by "),
            rich.text(ALERT_CHANNEL_SETTING, code=True),
            rich.text(")"),
        ]
    if subscription.disabled_reason is not None:
        reason = shown(subscription.disabled_reason, REASON_CHARS, blank="no reason given")
        line.append(rich.text(f"\n⏸️ Disabled: {reason}"))
    return line


def subscriptions_list(subscriptions: Sequence[Subscription]) -> Message:
    """This channel's subscriptions, each with its number; with none, how to subscribe."""
    if not subscriptions:
        text = f"This channel has no alert subscriptions. {HOW_TO_SUBSCRIBE}"
        return _message("This channel has no alert subscriptions.", [_section(text)])
    title = f"{plural(len(subscriptions), 'alert subscription')} in this channel"
    foot = [_context("`/scans unsubscribe 3` stops #3; `/scans unsubscribe all` stops them all.")]
    head = [_header(title)]
    lines = [_subscription_line(s) for s in subscriptions[:MAX_SUBSCRIPTIONS]]
    listed = _packed(lines, len(subscriptions), _room(head, foot), bulleted=True)
    numbers = _and([f"#{s.id}" for s in subscriptions[:10]])
    more = f" and {len(subscriptions) - 10:,} more" if len(subscriptions) > 10 else ""
    return _message(f"{title}: {numbers}{more}", head + listed + foot)


def subscribed(subscription: Subscription) -> Message:
    """The answer to `/scans subscribe`: what this channel will now hear about."""
    words = describe_subscription(subscription)
    lines = [
        [rich.text(f"✅ Subscribed {words}.")],
        [
            rich.text("Alerts go to this channel; "),
            rich.text(f"/scans unsubscribe {subscription.id}", code=True),
            rich.text(" stops them."),
        ],
    ]
    return _message(escape(f"Subscribed {words}."), [rich.paragraph(*lines)])


def subscription_announcement(subscription: Subscription, user_id: str) -> Message:
    """What the channel itself is told when someone subscribes it (which also proves that
    scanbot can post there)."""
    words = describe_subscription(subscription)
    line = [rich.user(user_id), rich.text(f" subscribed this channel to scan alerts: {words}.")]
    fallback = f"{_user(user_id)} subscribed this channel to scan alerts: {escape(words)}."
    return _message(fallback, [rich.paragraph(line)])


def unsubscribed(count: int, subscription_id: int | None) -> Message:
    """The answer to `/scans unsubscribe <number>|all`, given how many were removed."""
    if subscription_id is not None and count > 0:
        text = f"Unsubscribed #{subscription_id}: no more of its alerts in this channel."
    elif subscription_id is not None:
        text = (
            f"This channel has no subscription #{subscription_id}. "
            "`/scans subscriptions` lists them."
        )
    elif count > 1:
        text = f"Unsubscribed all {count:,} subscriptions: this channel gets no more scan alerts."
    elif count == 1:
        text = "Unsubscribed this channel's only subscription: no more scan alerts here."
    else:
        text = "This channel had no subscriptions: there was nothing to stop."
    return _message(text, [_section(text)])


def subscribe_usage(
    unknown: str | None = None, suggestion: str | None = None, reason: str | None = None
) -> Message:
    """Help for the subscription subcommands, after what was refused (as typed) and why.

    The arguments are a `SubscribeUsage`'s fields; `reason` is shown literally like the rest.
    """
    problem: list[Line] = []
    plain: list[str] = []
    if unknown is not None:
        typed = rich.value(unknown, NAME_CHARS, code=True)
        problem.append([rich.text("scanbot cannot use "), typed, rich.text(" here.")])
        plain.append(f"scanbot cannot use “{shown(unknown, NAME_CHARS)}” here.")
    if suggestion:
        typed = rich.value(suggestion, NAME_CHARS, code=True)
        problem.append([rich.text("Did you mean "), typed, rich.text("?")])
        plain.append(f"Did you mean “{shown(suggestion, NAME_CHARS)}”?")
    if reason:
        problem.append([rich.value(reason, SECTION_TEXT // 2)])
        plain.append(shown(reason, SECTION_TEXT // 2))
    blocks = [rich.paragraph(rich.joined(problem, " "))] if problem else []
    blocks.append(_section(SUBSCRIBE_USAGE))
    return _message(" ".join([escape(" ".join(plain)), SUBSCRIBE_FALLBACK]).strip(), blocks)
