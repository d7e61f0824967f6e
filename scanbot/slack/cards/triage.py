"""On-call triage in an alert thread: the replies to each action, what a quiet thread held,
the risk list and risk modal, the assign modal, and the report's messages.

The kit's rules hold (`slack.kit`): every string from HostedScan or a user is shown
literally and cut, fallback text escaped, and no message or view exceeds a Slack limit.
Mentions and dates are the bot's own; links are built only from references that are plain
http(s) URLs, shown as themselves.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from scanbot.domain.events import Alert, EventKind, RiskDetail
from scanbot.domain.scans import ScanSummary
from scanbot.domain.severity import most_severe_first
from scanbot.domain.threads import SnoozeChoice
from scanbot.hostedscan.models import Risk
from scanbot.slack import actions, kit, payloads, rich
from scanbot.slack.cards import threads
from scanbot.slack.cards.threads import parent_card as parent_card
from scanbot.slack.kit import (
    ACK_SYMBOL,
    ASSIGNEE_SYMBOL,
    DATE_FORMAT,
    ID_CHARS,
    MAX_VIEW_BLOCKS,
    MUTE_SYMBOL,
    NAME_CHARS,
    PRIVATE_METADATA,
    RESULT_KINDS,
    SECTION_TEXT,
    SNOOZE_SYMBOL,
    TARGET_CHARS,
    THREAT_NAMES,
    THREAT_SYMBOLS,
    UNKNOWN_THREAT_SYMBOL,
    VIEW_TITLE,
    Block,
    Message,
    View,
)
from scanbot.slack.rich import Line, bold
from scanbot.slack.text import escape, plural, shown, truncate, visible

NOTE_CHARS = 500  # what the assign modal accepts
NOTE_SHOWN = 1500  # what a reply shows of a note from elsewhere
NOTE_LINES = 12

MAX_RISK_SECTIONS = 15  # risks with a View button in one message
MAX_HELD_PHRASES = 5  # distinct events named in a held summary
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

# A reference worth a link: an http(s) URL of the characters RFC 3986 allows, which reads
# as where it goes.
_REFERENCE_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]{1,300}")

# The thread's parent card is `threads.parent_card`, imported above: the triage service
# redraws parents with the very function the sender draws them with (TriageRenderer).


def _note(note: str) -> str:
    """A note someone typed, as shown: line breaks kept, blank lines dropped, cut."""
    lines = [" ".join(line.split()) for line in note.splitlines()]
    kept = [line for line in lines if line]
    if len(kept) > NOTE_LINES:
        kept = [*kept[:NOTE_LINES], "…"]
    return truncate(visible("\n".join(kept)), NOTE_SHOWN) if kept else ""


# --- Replies in an alert thread ---------------------------------------------------------


def _did(symbol: str, user_id: str, what: str) -> str:
    """ "🔇 @alice muted this scan…": who did what, in safe mrkdwn."""
    return f"{symbol} {kit.mention(user_id)} {what}"


def acknowledged(user_id: str, at: datetime) -> Message:
    return kit.sentence(_did(ACK_SYMBOL, user_id, f"acknowledged this at {kit.slack_date(at)}."))


def unacknowledged(user_id: str) -> Message:
    return kit.sentence(_did(UNDO_SYMBOL, user_id, "took back their acknowledgement."))


def assigned(assignee: str | None, by: str, note: str = "") -> Message:
    """Who owns the scan now; the assignee is mentioned on purpose, so they hear of it."""
    if assignee is None:
        text = _did(ASSIGNEE_SYMBOL, by, "unassigned this scan.")
    elif assignee == by:
        text = _did(ASSIGNEE_SYMBOL, by, "took this scan.")
    else:
        text = _did(ASSIGNEE_SYMBOL, by, f"assigned this scan to {kit.mention(assignee)}.")
    quoted = _note(note)
    blocks = [kit.section(text)]
    if quoted:
        blocks.append(rich.block(rich.quote([[rich.text(quoted)]])))
    return kit.message(text, blocks)


def snoozed(by: str, choice: SnoozeChoice, until: datetime | None) -> Message:
    if choice.duration is None:
        how_long = f"until {choice.label}"
    elif until is not None:
        how_long = f"for {choice.label}, until {kit.slack_date(until)}"
    else:
        how_long = f"for {choice.label}"
    what = f"snoozed this thread {how_long}. "
    what += "Its alerts wait, and arrive here as one summary when it wakes up."
    return kit.sentence(_did(SNOOZE_SYMBOL, by, what))


def unsnoozed(by: str) -> Message:
    return kit.sentence(
        _did(UNSNOOZE_SYMBOL, by, "unsnoozed this thread: its alerts come here again.")
    )


def muted(by: str) -> Message:
    what = "muted this scan in this channel: its alerts wait until someone unmutes it."
    return kit.sentence(_did(MUTE_SYMBOL, by, what))


def unmuted(by: str) -> Message:
    return kit.sentence(_did(UNMUTE_SYMBOL, by, "unmuted this scan: its alerts come here again."))


def refreshed(by: str) -> Message:
    """What the clicker of Refresh sees. Refresh edits the parent card in place; this is
    meant to be sent ephemerally (it then notifies no one), not as a thread reply.
    """
    return kit.sentence(
        f"{REFRESH_SYMBOL} {kit.mention(by)}, the card above now shows the scan as "
        "HostedScan reports it."
    )


# --- What a snoozed or muted thread held ------------------------------------------------


def _held_risks(alerts: Sequence[Alert]) -> tuple[int, list[RiskDetail]]:
    risky = [a for a in alerts if a.event.kind is EventKind.RISKS]
    total = sum(kit.risk_total(a) for a in risky)
    details = sorted((r for a in risky for r in a.risks), key=most_severe_first)
    return total, details


def _held_sentence(alerts: Sequence[Alert], why: str) -> str:
    """What happened, each kind of event once, in the order it first happened (as shown)."""
    reason = shown(why, NAME_CHARS, blank="quiet")
    if not alerts:
        return f"While this thread was {reason}, nothing happened."
    total, details = _held_risks(alerts)
    high = Counter(r.threat_level for r in details)["HIGH"]
    risk_phrase = plural(total, "new risk") + (f" ({high:,} high)" if high else "")
    phrases = list(
        dict.fromkeys(
            risk_phrase if a.event.kind is EventKind.RISKS else threads.held_phrase(a)
            for a in alerts
        )
    )
    named = kit.and_more(phrases[:MAX_HELD_PHRASES], len(phrases), "; ")
    return f"While this thread was {reason}: {plural(len(alerts), 'alert')}: {named}"


def held_summary(alerts: Sequence[Alert], why: str) -> Message:
    """ONE reply for everything a snoozed or muted thread held: "While this thread was
    snoozed: 3 alerts: finished: failed; 12 new risks (2 high)", then the most severe risks.
    `why` is how the thread was quiet ("snoozed", "muted"), shown literally like the rest.
    """
    sentence = _held_sentence(alerts, why)
    head = [rich.paragraph([rich.text(f"{HELD_SYMBOL} {sentence}")])]
    total, details = _held_risks(alerts)
    lines = [kit.risk_line(risk) for risk in details[:MAX_RISK_SECTIONS]]
    listed = kit.packed(lines, max(total, len(details)), kit.room(head)) if lines else []
    return kit.message(escape(sentence), head + listed)


# --- Risks ------------------------------------------------------------------------------


def risks_list(summary: ScanSummary, risks: Sequence[RiskDetail], total: int) -> Message:
    """The scan's new open risks in the order given (most severe first), each with a View
    button that opens its details; `total` counts all of them, shown or not.
    """
    total = max(total, len(risks))
    ref = kit.scan_reference(summary)
    if not total:
        text = [*ref, rich.text(" has no new open risks.")]
        return kit.message(f"{kit.fallback(ref)} has no new open risks.", [rich.paragraph(text)])
    head = [rich.paragraph(rich.strong([*ref, rich.text(f": {plural(total, 'new open risk')}")]))]
    room = kit.room(head) - 100  # 100: the closing "and N more"
    entries: list[Block] = []
    for n, risk in enumerate(risks[:MAX_RISK_SECTIONS]):
        value = actions.risk_value(risk.risk_id)
        button = kit.button("View", actions.RISK, n, value) if value else None
        # plain_text, not rich_text: only a section can carry the View button beside it.
        entry = kit.plain_section(rich.plain(kit.risk_line(risk)), button)
        room -= kit.text_size([entry])
        if room < 0:
            break
        entries.append(entry)
    more = [kit.context(f"and {total - len(entries):,} more")] if total > len(entries) else []
    fallback = f"{kit.fallback(ref)}: {plural(total, 'new open risk')}"
    return kit.message(fallback, head + entries + more)


def _modal(title: str, blocks: list[Block], **fields: object) -> View:
    view: View = {
        "type": "modal",
        "title": kit.plain(truncate(title, VIEW_TITLE)),
        "close": kit.plain("Close"),
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }
    view.update(fields)
    return view


def risk_modal_loading(risk_id: str) -> View:
    """Opened at once (a trigger_id lasts 3 seconds), then replaced by `risk_modal`."""
    text = [rich.text(f"{LOADING_SYMBOL} Loading risk "), _risk_id(risk_id), rich.text("…")]
    return _modal("Risk details", [rich.paragraph(text)])


def risk_modal_unavailable(risk_id: str, reason: str) -> View:
    """Why a risk's details could not be shown. `reason` is scanbot's own sentence in
    mrkdwn, any value in it escaped (as the triage service writes them).
    """
    text = [rich.text("Could not load risk "), _risk_id(risk_id), rich.text(".")]
    why = truncate(reason.strip(), SECTION_TEXT // 2) or "HostedScan gave no reason."
    return _modal("Risk details", [rich.paragraph(text), kit.section(why)])


def _risk_id(risk_id: str) -> rich.Element:
    return rich.value(risk_id, ID_CHARS, code=True)


def _long_text(value: str, limit: int = LONG_TEXT) -> str:
    """Paragraphs from outside, as shown: line breaks kept (no more than one blank line),
    spaces folded, then cut.
    """
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return truncate(visible(text), limit) if text.strip() else ""


def _detected(value: str | None) -> rich.Element:
    if value is None or not value.strip():
        return rich.text("not reported")
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return rich.value(value, NAME_CHARS)
    return rich.date(at, DATE_FORMAT)


def _level(threat_level: str) -> str:
    if not threat_level.strip():
        return "not reported"
    symbol = THREAT_SYMBOLS.get(threat_level, UNKNOWN_THREAT_SYMBOL)
    name = THREAT_NAMES.get(threat_level) or shown(threat_level, NAME_CHARS)
    return f"{symbol} {name}"


def _reference(reference: str) -> Line:
    """A plain http(s) URL as a link showing itself (Slack links bare URLs in mrkdwn too);
    anything else as text: a label from API text could lie about where a link goes.
    """
    if _REFERENCE_URL.fullmatch(reference.strip()):
        return [rich.link(reference.strip(), reference.strip())]
    return [rich.value(reference, REFERENCE_CHARS)]


def _references(references: Sequence[str]) -> Block:
    """As many references as fit one block, then "and N more"."""
    lines = [_reference(ref) for ref in references if ref.strip()]
    if not lines:
        return rich.paragraph([bold("References")], [rich.text("none given", italic=True)])
    listed: list[Line] = []
    room = LONG_TEXT - 40  # 40: the closing "and N more"
    for line in lines[:MAX_REFERENCES]:
        room -= rich.size(line) + 3
        if room < 0:
            break
        listed.append(line)
    parts = [rich.section([bold("References")]), rich.bullets(listed)]
    if len(lines) > len(listed):
        parts.append(rich.section([rich.text(f"and {len(lines) - len(listed):,} more")]))
    return rich.block(*parts)


def _long_part(heading: str, value: str) -> Block:
    text = _long_text(value)
    body = rich.text(text) if text else rich.text("none given", italic=True)
    return rich.paragraph([bold(heading)], [body])


def risk_modal(risk: Risk) -> View:
    """A risk's details: level, CVSS, target, when detected, description, solution, references."""
    definition = risk.risk_definition
    cvss = definition.cvss or ""
    target = risk.target or risk.target_label
    facts = rich.paragraph(
        rich.fact("Threat level", rich.text(_level(definition.threat_level))),
        rich.fact("CVSS", rich.value(cvss, NAME_CHARS, blank="not reported")),
        rich.fact("Target", rich.value(target, TARGET_CHARS, blank="not reported", code=True)),
        rich.fact("Status", rich.value(risk.status, NAME_CHARS, blank="not reported")),
        rich.fact(
            "First detected", _detected(risk.first_detected_at or definition.first_detected_at)
        ),
        rich.fact("Last detected", _detected(risk.detected_at)),
    )
    blocks = [
        kit.header(shown(definition.title, NAME_CHARS * 3, blank="Untitled risk")),
        facts,
        _long_part("Description", definition.description),
        _long_part("Solution", definition.solution),
        _references(definition.references),
        kit.context(f"Risk {kit.code(risk.id, ID_CHARS)}"),
    ]
    return _modal("Risk details", blocks)


# --- Assigning --------------------------------------------------------------------------


def _assign_inputs(current: str | None) -> list[Block]:
    select: Block = {
        "type": "users_select",
        "action_id": "user",
        "placeholder": kit.plain("Pick someone"),
    }
    if current is not None and re.fullmatch(r"[UW][A-Z0-9]+", current):
        select["initial_user"] = current
    note: Block = {
        "type": "plain_text_input",
        "action_id": "text",
        "multiline": True,
        "max_length": NOTE_CHARS,
        "placeholder": kit.plain("What should they know? Posted in the thread."),
    }
    return [
        {
            "type": "input",
            "block_id": "assignee",
            "label": kit.plain("Assignee"),
            "element": select,
            "optional": True,
            "hint": kit.plain("Leave it empty to unassign."),
        },
        {
            "type": "input",
            "block_id": "note",
            "label": kit.plain("Note"),
            "element": note,
            "optional": True,
        },
    ]


def assign_modal(
    scan_id: str, channel_id: str, message_ts: str, current: str | None, *, key: bytes
) -> View:
    """Who should own the scan, with an optional note. Submitting with nobody picked
    unassigns. private_metadata names the thread, sealed with `key` (`actions.seal`): the
    submission carries no channel of its own to check it against. ValueError if it cannot
    fit.
    """
    metadata = actions.assign_metadata(scan_id, channel_id, message_ts, key)
    if len(metadata) > PRIVATE_METADATA:
        raise ValueError("the scan id is too long to carry in a modal")
    scan = kit.scan_reference_mrkdwn(ScanSummary(scan_id=scan_id), start=False)
    return _modal(
        "Assign scan",
        [kit.section(f"Who should look into {scan}?"), *_assign_inputs(current)],
        callback_id=actions.ASSIGN_VIEW,
        submit=kit.plain("Assign"),
        close=kit.plain("Cancel"),
        private_metadata=metadata,
    )


def parse_assign_metadata(text: str, *, key: bytes) -> tuple[str, str, str]:
    """`payloads.parse_assign_metadata`, for the triage service's renderer (its
    `assign_form`); the listeners read a submitted form with `payloads.AssignForm`."""
    return payloads.parse_assign_metadata(text, key=key)


# --- Reports ----------------------------------------------------------------------------


def report_missing(scan_id: str) -> Message:
    ref = kit.scan_reference(ScanSummary(scan_id=scan_id))
    text = [
        rich.text(f"{REPORT_SYMBOL} "),
        *ref,
        rich.text(" has no result files yet: HostedScan adds them as it finishes."),
    ]
    return kit.message(f"{kit.fallback(ref)} has no result files yet.", [rich.paragraph(text)])


def report_comment(scan_id: str, content_type: str, by: str) -> str:
    """The initial_comment of an uploaded result file (mrkdwn, escaped, short)."""
    kind = RESULT_KINDS.get(content_type.lower()) or escape(
        shown(content_type, NAME_CHARS, "Result")
    )
    ref = kit.scan_reference_mrkdwn(ScanSummary(scan_id=scan_id), start=False)
    return truncate(
        f"{REPORT_SYMBOL} {kind} report of {ref}, asked for by {kit.mention(by)}", COMMENT_CHARS
    )
