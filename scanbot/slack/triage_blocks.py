"""Pure renderers of on-call triage: thread replies, risk and assign modals, `/scans triage`
and the App Home tab.

The rules of blocks.py hold here too: every string from HostedScan or a user is escaped
and cut (fallback text included), and no message or view exceeds a Slack limit. Mentions
and `<!date^…>` tokens are the bot's own; links are built only from Slack's permalinks,
never from API text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scanbot.alerts.model import Alert, EventKind, RiskDetail, ScanSummary
from scanbot.hostedscan.models import Risk
from scanbot.slack import actions, alert_blocks
from scanbot.slack.alert_blocks import (
    ACK_SYMBOL,
    ASSIGNEE_SYMBOL,
    MUTE_SYMBOL,
    SNOOZE_SYMBOL,
    THREAT_NAMES,
    THREAT_SYMBOLS,
    UNKNOWN_THREAT_SYMBOL,
    _packed,
    _ref,
    _risk_line,
    _risk_total,
    _room,
    _utc,
    slack_date,
)
from scanbot.slack.blocks import (
    FALLBACK_TEXT,
    ID_CHARS,
    NAME_CHARS,
    RESULT_KINDS,
    SECTION_TEXT,
    TARGET_CHARS,
    TEXT_BUDGET,
    Block,
    Message,
    _and_more,
    _button,
    _code,
    _context,
    _header,
    _message,
    _plain,
    _section,
    _shown,
    _state,
    _state_name,
    _type,
    _user,
    text_size,
)
from scanbot.slack.text import escape, plural, truncate
from scanbot.triage.model import SnoozeChoice, TriageView

MAX_VIEW_BLOCKS = 100  # a modal or the Home tab
VIEW_TITLE = 24  # a modal's title, submit and close
PRIVATE_METADATA = 3000
ASSIGN_METADATA_VERSION = 2  # 2: sealed (actions.seal); 1 was plain JSON, now refused
NOTE_CHARS = 500  # what the assign modal accepts
NOTE_SHOWN = 1500  # what a reply shows of a note from elsewhere
NOTE_LINES = 12

MAX_RISK_SECTIONS = 15  # risks with a View button in one message
MAX_HELD_PHRASES = 5  # distinct events named in a held summary
MAX_TRIAGE = 40  # threads in `/scans triage`
MAX_HOME = 40  # threads in each part of the Home tab
MAX_REFERENCES = 20
REFERENCE_CHARS = 300
LONG_TEXT = SECTION_TEXT - 40  # room for the section's own heading
COMMENT_CHARS = 300
LOADING_SYMBOL = "⏳"
UNDO_SYMBOL = "↩️"
UNSNOOZE_SYMBOL = "🔔"
UNMUTE_SYMBOL = "🔊"
REFRESH_SYMBOL = "🔄"
REPORT_SYMBOL = "📄"
HELD_SYMBOL = "📥"

# Slack channel ids (public C…, private G…); anything else is shown as text, not linked.
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,63}")
# A Slack permalink as chat.getPermalink answers it: https, no spaces or mrkdwn controls.
_PERMALINK = re.compile(r"https://[^\s<>|]{1,1000}")

# Most severe first: a level HostedScan did not document counts as most severe, as in alerts.
_SEVERITY_RANK = {"HIGH": 1, "MEDIUM": 2, "LOW": 3}


# --- Words ------------------------------------------------------------------------------


def channel_link(channel_id: str) -> str:
    """`<#C123>` for a real-looking channel id; anything else only as escaped text."""
    if _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return _shown(channel_id, NAME_CHARS, blank="an unknown channel")


def _thread_link(permalink: str | None) -> str:
    if permalink is None or not _PERMALINK.fullmatch(permalink):
        return "no link to the thread"
    return f"<{permalink.replace('&', '&amp;')}|thread>"


def _sentence_message(text: str) -> Message:
    """A reply of one section whose fallback says the same (`text` is safe mrkdwn)."""
    return _message(text, [_section(text)])


def _note(note: str) -> str:
    """A note someone typed, as a quote: line breaks kept, escaped, cut."""
    lines = [" ".join(line.split()) for line in note.splitlines()]
    kept = [line for line in lines if line]
    if not kept:
        return ""
    quoted = [f"> {escape(line)}" for line in kept[:NOTE_LINES]]
    if len(kept) > NOTE_LINES:
        quoted.append("> …")
    return truncate("\n".join(quoted), NOTE_SHOWN)


# --- Replies in an alert thread ---------------------------------------------------------


def acknowledged(user_id: str, at: datetime) -> Message:
    return _sentence_message(
        f"{ACK_SYMBOL} {_user(user_id)} acknowledged this at {slack_date(at)}."
    )


def unacknowledged(user_id: str) -> Message:
    return _sentence_message(f"{UNDO_SYMBOL} {_user(user_id)} took back their acknowledgement.")


def assigned(assignee: str | None, by: str, note: str = "") -> Message:
    """Who owns the scan now; the assignee is mentioned on purpose, so they hear of it."""
    if assignee is None:
        text = f"{ASSIGNEE_SYMBOL} {_user(by)} unassigned this scan."
    elif assignee == by:
        text = f"{ASSIGNEE_SYMBOL} {_user(by)} took this scan."
    else:
        text = f"{ASSIGNEE_SYMBOL} {_user(by)} assigned this scan to {_user(assignee)}."
    quoted = _note(note)
    blocks = [_section(text)]
    if quoted:
        blocks.append(_section(quoted))
    return _message(text, blocks)


def snoozed(by: str, choice: SnoozeChoice, until: datetime | None) -> Message:
    if choice.duration is None:
        how_long = f"until {choice.label}"
    elif until is not None:
        how_long = f"for {choice.label}, until {slack_date(until)}"
    else:
        how_long = f"for {choice.label}"
    return _sentence_message(
        f"{SNOOZE_SYMBOL} {_user(by)} snoozed this thread {how_long}. "
        "Its alerts wait, and arrive here as one summary when it wakes up."
    )


def unsnoozed(by: str) -> Message:
    return _sentence_message(
        f"{UNSNOOZE_SYMBOL} {_user(by)} unsnoozed this thread: its alerts come here again."
    )


def muted(by: str) -> Message:
    return _sentence_message(
        f"{MUTE_SYMBOL} {_user(by)} muted this scan in this channel: its alerts wait "
        "until someone unmutes it."
    )


def unmuted(by: str) -> Message:
    return _sentence_message(
        f"{UNMUTE_SYMBOL} {_user(by)} unmuted this scan: its alerts come here again."
    )


def refreshed(by: str) -> Message:
    """What the clicker of Refresh sees. Refresh edits the parent card in place; this is
    meant to be sent ephemerally (it then notifies no one), not as a thread reply.
    """
    return _sentence_message(
        f"{REFRESH_SYMBOL} {_user(by)}, the card above now shows the scan as HostedScan reports it."
    )


# --- What a snoozed or muted thread held ------------------------------------------------


def _severity(risk: RiskDetail) -> int:
    if not risk.threat_level.strip():
        return len(_SEVERITY_RANK) + 1
    return _SEVERITY_RANK.get(risk.threat_level, 0)


def _held_risks(alerts: Sequence[Alert]) -> tuple[int, list[RiskDetail]]:
    risky = [a for a in alerts if a.event.kind is EventKind.RISKS]
    total = sum(_risk_total(a) for a in risky)
    details = sorted((r for a in risky for r in a.risks), key=_severity)
    return total, details


def _held_phrase(alert: Alert) -> str:
    summary = alert.event.summary
    kind = alert.event.kind
    if kind is EventKind.STARTED:
        return "started"
    if kind is EventKind.FINISHED:
        return f"finished: {_state_name(summary.state)}"
    if kind is EventKind.UNKNOWN_STATE:
        return f"an unknown state “{_shown(summary.state, NAME_CHARS // 2)}”"
    if kind is EventKind.GONE:
        return "gone from HostedScan"
    return _shown(str(kind), NAME_CHARS)


def _held_sentence(alerts: Sequence[Alert], why: str) -> str:
    """What happened, each kind of event once, in the order it first happened."""
    reason = _shown(why, NAME_CHARS, blank="quiet")
    if not alerts:
        return f"While this thread was {reason}, nothing happened."
    total, details = _held_risks(alerts)
    high = Counter(r.threat_level for r in details)["HIGH"]
    risk_phrase = plural(total, "new risk") + (f" ({high:,} high)" if high else "")
    phrases = list(
        dict.fromkeys(
            risk_phrase if a.event.kind is EventKind.RISKS else _held_phrase(a) for a in alerts
        )
    )
    named = _and_more(phrases[:MAX_HELD_PHRASES], len(phrases), "; ")
    return f"While this thread was {reason}: {plural(len(alerts), 'alert')}: {named}"


def held_summary(alerts: Sequence[Alert], why: str) -> Message:
    """ONE reply for everything a snoozed or muted thread held: "While this thread was
    snoozed: 3 alerts: finished: failed; 12 new risks (2 high)", then the most severe risks.
    `why` is how the thread was quiet ("snoozed", "muted"), escaped like the rest.
    """
    sentence = _held_sentence(alerts, why)
    head = [_section(f"{HELD_SYMBOL} {sentence}")]
    total, details = _held_risks(alerts)
    lines = [_risk_line(risk) for risk in details[:MAX_RISK_SECTIONS]]
    listed = _packed(lines, max(total, len(details)), _room(head)) if lines else []
    return _message(sentence, head + listed)


# --- Risks ------------------------------------------------------------------------------


def risks_list(summary: ScanSummary, risks: Sequence[RiskDetail], total: int) -> Message:
    """The scan's new open risks in the order given (most severe first), each with a View
    button that opens its details; `total` counts all of them, shown or not.
    """
    total = max(total, len(risks))
    title = f"{_ref(summary)}: {plural(total, 'new open risk')}"
    fallback = f"{_ref(summary, plain=True)}: {plural(total, 'new open risk')}"
    if not total:
        text = f"{_ref(summary)} has no new open risks."
        return _message(f"{_ref(summary, plain=True)} has no new open risks.", [_section(text)])
    head = [_section(f"*{title}*")]
    room = _room(head) - 100  # 100: the closing "and N more"
    entries: list[Block] = []
    for n, risk in enumerate(risks[:MAX_RISK_SECTIONS]):
        value = actions.risk_value(risk.risk_id)
        button = _button("View", actions.RISK, n, value) if value else None
        entry = _section(_risk_line(risk), button)
        room -= text_size([entry])
        if room < 0:
            break
        entries.append(entry)
    more = [_context(f"and {total - len(entries):,} more")] if total > len(entries) else []
    return _message(fallback, head + entries + more)


def _modal(title: str, blocks: list[Block], **fields: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "title": _plain(truncate(title, VIEW_TITLE)),
        "close": _plain("Close"),
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }
    view.update(fields)
    return view


def risk_modal_loading(risk_id: str) -> dict[str, Any]:
    """Opened at once (a trigger_id lasts 3 seconds), then replaced by `risk_modal`."""
    text = f"{LOADING_SYMBOL} Loading risk {_code(risk_id, ID_CHARS)}…"
    return _modal("Risk details", [_section(text)])


def risk_modal_unavailable(risk_id: str, reason: str) -> dict[str, Any]:
    why = _shown(reason, SECTION_TEXT // 2, blank="HostedScan gave no reason")
    text = f"Could not load risk {_code(risk_id, ID_CHARS)}: {why}"
    return _modal("Risk details", [_section(text)])


def _long_text(value: str, limit: int = LONG_TEXT) -> str:
    """Paragraphs from outside: line breaks kept, everything else escaped, then cut."""
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    text = "\n".join(escape(line) for line in lines)
    return truncate(re.sub(r"\n{3,}", "\n\n", text), limit) if text.strip() else ""


def _detected(value: str | None) -> str:
    if value is None or not value.strip():
        return "not reported"
    try:
        return slack_date(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return _shown(value, NAME_CHARS)


def _level(threat_level: str) -> str:
    if not threat_level.strip():
        return "not reported"
    symbol = THREAT_SYMBOLS.get(threat_level, UNKNOWN_THREAT_SYMBOL)
    name = THREAT_NAMES.get(threat_level) or _shown(threat_level, NAME_CHARS)
    return f"{symbol} {name}"


def _references(references: Sequence[str]) -> str:
    """Bare, escaped lines: Slack links a bare URL itself, and a label from API text
    could lie about where a link goes. As many as fit one section, then "and N more".
    """
    lines = [_shown(ref, REFERENCE_CHARS) for ref in references if ref.strip()]
    shown: list[str] = []
    room = LONG_TEXT - 40  # 40: the closing "and N more"
    for line in lines[:MAX_REFERENCES]:
        room -= len(line) + 3
        if room < 0:
            break
        shown.append(f"• {line}")
    return _and_more(shown, len(lines), "\n")


def risk_modal(risk: Risk) -> dict[str, Any]:
    """A risk's details: level, CVSS, target, when detected, description, solution, references."""
    definition = risk.risk_definition
    cvss = definition.cvss
    target = risk.target or risk.target_label
    facts = {
        "Threat level": _level(definition.threat_level),
        "CVSS": _shown(cvss, NAME_CHARS) if cvss is not None and cvss.strip() else "not reported",
        "Target": _code(target, TARGET_CHARS) if target.strip() else "not reported",
        "Status": _shown(risk.status, NAME_CHARS, blank="not reported"),
        "First detected": _detected(risk.first_detected_at or definition.first_detected_at),
        "Last detected": _detected(risk.detected_at),
    }
    blocks = [
        _header(_shown(definition.title, NAME_CHARS * 3, blank="Untitled risk")),
        {"type": "section", "fields": [_section_field(k, v) for k, v in facts.items()]},
    ]
    for heading, text in (
        ("Description", _long_text(definition.description)),
        ("Solution", _long_text(definition.solution)),
        ("References", _references(definition.references)),
    ):
        blocks.append(_section(f"*{heading}*\n{text or '_none given_'}"))
    blocks.append(_context(f"Risk {_code(risk.id, ID_CHARS)}"))
    return _modal("Risk details", blocks)


def _section_field(name: str, value: str) -> Block:
    return {"type": "mrkdwn", "text": f"*{name}*\n{value}"}


# --- Assigning --------------------------------------------------------------------------


def assign_modal(
    scan_id: str, channel_id: str, message_ts: str, current: str | None, *, key: bytes
) -> dict[str, Any]:
    """Who should own the scan, with an optional note. Submitting with nobody picked
    unassigns. private_metadata names the thread, sealed with `key` (`actions.seal`): the
    submission carries no channel of its own to check it against. ValueError if it cannot
    fit.
    """
    metadata = actions.seal(
        actions.compact_json(
            {"v": ASSIGN_METADATA_VERSION, "scan": scan_id, "channel": channel_id, "ts": message_ts}
        ),
        key,
    )
    if len(metadata) > PRIVATE_METADATA:
        raise ValueError("the scan id is too long to carry in a modal")
    select: Block = {
        "type": "users_select",
        "action_id": "user",
        "placeholder": _plain("Pick someone"),
    }
    if current is not None and re.fullmatch(r"[UW][A-Z0-9]+", current):
        select["initial_user"] = current
    note: Block = {
        "type": "plain_text_input",
        "action_id": "text",
        "multiline": True,
        "max_length": NOTE_CHARS,
        "placeholder": _plain("What should they know? Posted in the thread."),
    }
    blocks = [
        _section(f"Who should look into {_ref(ScanSummary(scan_id=scan_id), start=False)}?"),
        {
            "type": "input",
            "block_id": "assignee",
            "label": _plain("Assignee"),
            "element": select,
            "optional": True,
            "hint": _plain("Leave it empty to unassign."),
        },
        {
            "type": "input",
            "block_id": "note",
            "label": _plain("Note"),
            "element": note,
            "optional": True,
        },
    ]
    return _modal(
        "Assign scan",
        blocks,
        callback_id=actions.ASSIGN_VIEW,
        submit=_plain("Assign"),
        close=_plain("Cancel"),
        private_metadata=metadata,
    )


def parse_assign_metadata(text: str, *, key: bytes) -> tuple[str, str, str]:
    """`(scan_id, channel_id, message_ts)` from the assign modal, if scanbot sealed it with
    `key`; ValueError on anything else (the seal is checked before anything is parsed)."""
    if len(text) > PRIVATE_METADATA:
        raise ValueError("assign metadata is longer than any private_metadata")
    text = actions.unseal(text, key)
    try:
        payload = json.loads(text)
    except RecursionError as exc:  # deeply nested arrays: not ours
        raise ValueError("assign metadata is not scanbot's") from exc
    if not isinstance(payload, dict) or set(payload) != {"v", "scan", "channel", "ts"}:
        raise ValueError("assign metadata does not have the keys v, scan, channel and ts")
    version = payload["v"]
    if type(version) is not int or version != ASSIGN_METADATA_VERSION:
        raise ValueError(f"assign metadata has an unknown version: {version!r:.20}")
    fields = (payload["scan"], payload["channel"], payload["ts"])
    if not all(isinstance(field, str) and field.strip() for field in fields):
        raise ValueError("assign metadata's scan, channel and ts must be non-empty strings")
    scan_id, channel_id, message_ts = fields
    return scan_id, channel_id, message_ts


# --- Lists of threads: `/scans triage` and the Home tab ---------------------------------


def _thread_line(summary: ScanSummary, *extra: str) -> str:
    parts = [_code(summary.scan_id, ID_CHARS), _type(summary.type), _state(summary.state)]
    return "• " + " · ".join([*parts, *extra])


def _oldest_first(
    threads: Sequence[tuple[ScanSummary, str | None, datetime | None]],
) -> list[tuple[ScanSummary, str | None, datetime | None]]:
    def key(thread: tuple[ScanSummary, str | None, datetime | None]) -> tuple[bool, float]:
        at = thread[2]  # unknown start times go last; naive ones are UTC, as everywhere
        return (True, 0.0) if at is None else (False, _utc(at).timestamp())

    return sorted(threads, key=key)


def triage_list(
    channel_id: str, threads: Sequence[tuple[ScanSummary, str | None, datetime | None]]
) -> Message:
    """`/scans triage`: this channel's alert threads nobody acknowledged, oldest first.

    Each thread is (scan, permalink of its parent or None, when the thread started or None).
    """
    where = channel_link(channel_id)
    if not threads:
        text = f"Nothing waiting for acknowledgement in {where}."
        return _message("Nothing waiting for acknowledgement in this channel.", [_section(text)])
    title = f"{plural(len(threads), 'alert thread')} waiting for acknowledgement"
    head = [_header(title), _context(f"In {where}, oldest first")]
    lines = []
    for summary, permalink, started in _oldest_first(threads)[:MAX_TRIAGE]:
        age = f"since {slack_date(started, '{ago}')}" if started is not None else "age unknown"
        lines.append(_thread_line(summary, age, _thread_link(permalink)))
    return _message(title, head + _packed(lines, len(threads), _room(head)))


def _home_part(
    title: str, threads: Sequence[tuple[ScanSummary, str, str | None]], empty: str, room: int
) -> list[Block]:
    head = [_section(f"*{title}* ({len(threads):,})" if threads else f"*{title}*")]
    if not threads:
        return [*head, _context(empty)]
    lines = [
        _thread_line(summary, channel_link(channel_id), _thread_link(permalink))
        for summary, channel_id, permalink in threads[:MAX_HOME]
    ]
    return head + _packed(lines, len(threads), room)


def home_view(
    user_id: str,
    assigned: Sequence[tuple[ScanSummary, str, str | None]],
    unacknowledged: Sequence[tuple[ScanSummary, str, str | None]],
) -> dict[str, Any]:
    """The App Home tab: scans assigned to `user_id`, then threads waiting for
    acknowledgement in their channels. Each thread is (scan, channel id, permalink or None).
    """
    head = [
        _header("Scan triage"),
        _context(f"For {_user(user_id)}. `/scans triage` lists a channel's waiting threads."),
    ]
    # The Home tab has no documented total; each part keeps to a message's budget.
    room = TEXT_BUDGET - FALLBACK_TEXT
    blocks = head + _home_part("Assigned to you", assigned, "Nothing is assigned to you.", room)
    blocks.append({"type": "divider"})
    blocks += _home_part(
        "Waiting for acknowledgement in your channels",
        unacknowledged,
        "Nothing is waiting for acknowledgement.",
        room,
    )
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


# --- Reports ----------------------------------------------------------------------------


def report_missing(scan_id: str) -> Message:
    ref = _ref(ScanSummary(scan_id=scan_id))
    plain = _ref(ScanSummary(scan_id=scan_id), plain=True)
    text = f"{REPORT_SYMBOL} {ref} has no result files yet: HostedScan adds them as it finishes."
    return _message(f"{plain} has no result files yet.", [_section(text)])


def report_comment(scan_id: str, content_type: str, by: str) -> str:
    """The initial_comment of an uploaded result file (mrkdwn, escaped, short)."""
    kind = RESULT_KINDS.get(content_type.lower()) or _shown(content_type, NAME_CHARS, "Result")
    ref = _ref(ScanSummary(scan_id=scan_id), start=False)
    return truncate(
        f"{REPORT_SYMBOL} {kind} report of {ref}, asked for by {_user(by)}", COMMENT_CHARS
    )


def parent_card(summary: ScanSummary, *, triage: TriageView, now: datetime) -> Message:
    """The thread's parent with its triage facts and buttons (what the service edits in),
    drawn at `now`: a snooze that ended by then is not shown."""
    return alert_blocks.parent_card(summary, triage=triage, now=now)
