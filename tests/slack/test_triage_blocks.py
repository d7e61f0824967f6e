"""Triage renderers: the parent card's triage part, thread replies, modals, `/scans triage`
and the Home tab; limits, hostile strings and any input."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import Acknowledgement, SnoozeChoice, TriageView
from scanbot.hostedscan.models import Risk
from scanbot.slack import actions
from scanbot.slack.alert_blocks import first_message, parent_card, slack_date
from scanbot.slack.blocks import Message
from scanbot.slack.text import escape
from scanbot.slack.triage_blocks import (
    acknowledged,
    assign_modal,
    assigned,
    held_summary,
    home_view,
    muted,
    parse_assign_metadata,
    refreshed,
    report_comment,
    report_missing,
    risk_modal,
    risk_modal_loading,
    risk_modal_unavailable,
    risks_list,
    snoozed,
    triage_list,
    unacknowledged,
    unmuted,
    unsnoozed,
)

from .blockkit import (
    MAX_TEXT,
    assert_valid_message,
    assert_valid_view,
    parsed_payload,
    readable,
    rich_markup,
    rich_text_elements,
)
from .test_alert_blocks import alerts, odd_text, risk_details, summaries

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<@U0123ABCD>",
    "<#C0123ABCD>",
    "<https://evil.example|bank.com>",
    "<mailto:ceo@bank.com|support>",
    "a & b > c < d",
]
RAW = ["<!channel>", "<!here>", "<@U0123ABCD>", "<#C0123", "<https://evil", "<mailto:"]

ALICE, BOB = "U0ALICE", "U0BOB"
CHANNEL = "C0ALERTS"
KEY = actions.seal_key("test-signing-secret")
NOW = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
NOW_TOKEN = "<!date^1714572180^{date_short_pretty} at {time}|2024-05-01 14:03 UTC>"
PERMALINK = "https://acme.slack.com/archives/C0ALERTS/p1714572180000100"

# Slack's date tokens, as the bot builds them: digits, a known format, a UTC fallback.
DATE_TOKEN = re.compile(
    r"<!date\^-?\d+\^(?:\{date_short_pretty\} at \{time\}|\{ago\})\|[0-9 :-]+ UTC>"
)
USER_ID = re.compile(r"[UW][A-Z0-9]{2,63}")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,63}")
SCAN_ID = "scan-123"
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- helpers -----------------------------------------------------------------------------


def mentions(*user_ids: str | None) -> set[str]:
    """The mentions the bot may make of these users: only ids that look like Slack's."""
    return {f"<@{u}>" for u in user_ids if u is not None and USER_ID.fullmatch(u)}


def dates(payload: Mapping[str, Any]) -> set[str]:
    return set(DATE_TOKEN.findall(parsed_payload(payload)))


def users_of(view: TriageView) -> list[str]:
    return [view.assignee or "", *(a.user_id for a in view.acknowledgements)]


def channel_links(*channel_ids: str) -> set[str]:
    """The channel links the bot may make: only of ids that look like Slack's."""
    return {f"<#{c}>" for c in channel_ids if CHANNEL_ID.fullmatch(c)}


def raw_free(payload: Mapping[str, Any]) -> None:
    raw = parsed_payload(payload)
    for sequence in RAW:
        assert sequence not in raw


def valid(
    message: Message,
    users: Iterable[str] = (),
    links: Iterable[str] = (),
    channel_ids: Iterable[str] = (),
) -> Message:
    """Valid, with only these users and channels named, the bot's date tokens and these links."""
    allowed = mentions(*users) | dates(message) | {f"<{link}" for link in links}
    assert_valid_message(message, allowed_mentions=allowed | channel_links(*channel_ids))
    raw_free(message)
    return message


def valid_view(
    view: dict[str, Any], users: Iterable[str] = (), extra: Iterable[str] = ()
) -> dict[str, Any]:
    assert_valid_view(view, allowed_mentions=mentions(*users) | dates(view) | set(extra))
    raw_free(view)
    return view


def texts(payload: Mapping[str, Any]) -> str:
    """What a reader sees, rich_text blocks as mrkdwn would write them."""
    return "\n".join(readable(payload["blocks"]))


def literal(payload: Mapping[str, Any]) -> list[str]:
    """The rich_text text elements: what Slack shows character for character."""
    return [e["text"] for e in rich_text_elements(payload["blocks"]) if e["type"] == "text"]


def elements(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every interactive element: actions blocks' elements and section accessories."""
    found: list[dict[str, Any]] = []
    for block in message["blocks"]:
        if block["type"] == "actions":
            found += block["elements"]
        elif "accessory" in block:
            found.append(block["accessory"])
    return found


def kinds(message: Mapping[str, Any]) -> list[str]:
    return [e["action_id"].rsplit(":", 1)[0] for e in elements(message)]


def summary(**fields: Any) -> ScanSummary:
    data: dict[str, Any] = {"scan_id": SCAN_ID, "type": "OPENVAS", "state": "FAILED"}
    data.update(fields)
    return ScanSummary.model_validate(data)


def acks(*user_ids: str, at: datetime = NOW) -> tuple[Acknowledgement, ...]:
    return tuple(
        Acknowledgement(user_id=u, at=at + timedelta(minutes=n)) for n, u in enumerate(user_ids)
    )


def risk(**fields: Any) -> Risk:
    definition: dict[str, Any] = {
        "title": "Outdated TLS",
        "threat_level": "HIGH",
        "description": "The server accepts TLS 1.0.\n\nUpgrade it.",
        "solution": "Disable TLS 1.0 and 1.1.",
        "references": ["https://www.example.org/tls", "CVE-2011-3389"],
        "cvss": "7.5",
    }
    definition.update(fields.pop("risk_definition", {}))
    data: dict[str, Any] = {
        "id": "risk-1",
        "target": "shop.example.com",
        "status": "open",
        "first_detected_at": "2024-04-30T08:00:00Z",
        "last_detected_at": "2024-05-01T14:03:00+00:00",
        "risk_definition": definition,
    }
    data.update(fields)
    return Risk.model_validate(data)


def detail(n: int = 1, **fields: Any) -> RiskDetail:
    data: dict[str, Any] = {
        "risk_id": f"risk-{n}",
        "title": f"Outdated TLS {n}",
        "threat_level": "HIGH",
        "target": "shop.example.com",
        "cvss": "7.5",
    }
    data.update(fields)
    return RiskDetail.model_validate(data)


def alert(kind: EventKind, *, risks: tuple[RiskDetail, ...] = (), **fields: Any) -> Alert:
    count = fields.pop("risk_count", 0)
    event = ScanEvent(kind=kind, summary=summary(**fields))
    return Alert(channel_id=CHANNEL, event=event, risks=risks, risk_count=count)


# --- actions -----------------------------------------------------------------------------

TRIAGE_KINDS = [
    actions.ACK,
    actions.UNACK,
    actions.ASSIGN,
    actions.SNOOZE,
    actions.UNSNOOZE,
    actions.MUTE,
    actions.UNMUTE,
    actions.THREAD_REFRESH,
    actions.RISKS,
    actions.REPORT,
    actions.RISK,
]


def test_triage_kinds_are_versioned_distinct_and_matched() -> None:
    every = [*TRIAGE_KINDS, actions.DETAILS, actions.NEXT, actions.REFRESH, actions.SHARE]
    assert len(set(every)) == len(every)
    for kind in TRIAGE_KINDS:
        assert kind.startswith("scanbot:v1:")
        assert actions.pattern(kind).match(actions.action_id(kind, 3))
        assert actions.ANY_SCANBOT_ACTION.match(kind)
        others = [k for k in every if k != kind]
        assert not any(actions.pattern(k).match(actions.action_id(kind, 0)) for k in others)
    assert actions.ASSIGN_VIEW == "scanbot:v1:assign_view"


def test_triage_block_id_round_trip() -> None:
    block_id = actions.triage_block_id(SCAN_ID)
    assert block_id == "scanbot:v1:triage:scan-123"
    assert actions.parse_triage_block_id(block_id) == SCAN_ID


@pytest.mark.parametrize("scan_id", ["", "a<b", "a&b", "x" * 300])
def test_no_triage_block_id_for_ids_that_cannot_be_carried(scan_id: str) -> None:
    assert actions.triage_block_id(scan_id) is None


@pytest.mark.parametrize(
    "block_id",
    ["", "scanbot:v1:triage:", "scanbot:v1:triage", "other:scan-1", "scanbot:v1:triage:<x>"],
)
def test_parse_triage_block_id_refuses_others(block_id: str) -> None:
    with pytest.raises(ValueError, match="triage block id"):
        actions.parse_triage_block_id(block_id)


def test_compact_json_keeps_mrkdwn_controls_out() -> None:
    text = actions.compact_json({"a": "<!channel> & co"})
    assert text == '{"a":"\\u003c!channel\\u003e \\u0026 co"}'
    assert json.loads(text) == {"a": "<!channel> & co"}


# --- the parent card ---------------------------------------------------------------------


def test_slack_date_token() -> None:
    assert slack_date(NOW) == NOW_TOKEN
    assert slack_date(NOW.replace(tzinfo=None)) == NOW_TOKEN  # naive is UTC
    paris = NOW.astimezone(timezone(timedelta(hours=2)))
    assert slack_date(paris) == NOW_TOKEN
    assert slack_date(NOW, "{ago}") == "<!date^1714572180^{ago}|2024-05-01 14:03 UTC>"


def test_slack_date_at_the_ends_of_time() -> None:
    for at in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        assert "<" not in slack_date(at).replace("<!date^", "")


def test_parent_card_without_triage_is_unchanged() -> None:
    message = valid(parent_card(summary()))
    assert kinds(message) == [actions.DETAILS]


def test_parent_card_of_a_fresh_thread() -> None:
    message = valid(parent_card(summary(), triage=TriageView(), now=NOW))
    assert kinds(message) == [
        actions.ACK,
        actions.ASSIGN,
        actions.SNOOZE,
        actions.MUTE,
        actions.DETAILS,
        actions.THREAD_REFRESH,
        actions.RISKS,
        actions.REPORT,
    ]
    assert all(e.get("value") in (None, SCAN_ID) for e in elements(message))
    assert not [b for b in message["blocks"] if b["type"] == "context"]  # no facts yet
    assert message["text"] == "Scan scan-123 (OpenVAS): failed"


def test_parent_card_snooze_select() -> None:
    message = valid(parent_card(summary(), triage=TriageView(), now=NOW))
    row = next(b for b in message["blocks"] if b["type"] == "actions")
    assert actions.parse_triage_block_id(row["block_id"]) == SCAN_ID
    select = next(e for e in row["elements"] if e["type"] == "static_select")
    assert select["action_id"] == actions.action_id(actions.SNOOZE, 0)
    assert [o["value"] for o in select["options"]] == [c.value for c in SnoozeChoice]
    labels = [o["text"]["text"] for o in select["options"]]
    assert labels == [
        "For 1 hour",
        "For 4 hours",
        "For 24 hours",
        "Until the next state change",
    ]
    for choice, label in zip(SnoozeChoice, labels, strict=True):
        assert label.endswith(choice.label)


def test_parent_card_with_every_fact() -> None:
    view = TriageView(
        acknowledgements=acks(ALICE, BOB),
        assignee=BOB,
        snoozed_until=NOW + timedelta(hours=4),
        muted=True,
    )
    message = valid(parent_card(summary(), triage=view, now=NOW), users=[ALICE, BOB])
    facts = [b["elements"][0]["text"] for b in message["blocks"] if b["type"] == "context"]
    assert facts == [
        f"✅ Acknowledged by <@{ALICE}> at {slack_date(NOW)}, "
        f"<@{BOB}> at {slack_date(NOW + timedelta(minutes=1))}",
        f"👤 Assigned to <@{BOB}>",
        f"💤 Snoozed until {slack_date(NOW + timedelta(hours=4))}",
        "🔇 Muted in this channel",
    ]
    assert kinds(message) == [
        actions.ACK,
        actions.UNACK,
        actions.ASSIGN,
        actions.UNSNOOZE,
        actions.UNMUTE,
        actions.DETAILS,
        actions.THREAD_REFRESH,
        actions.RISKS,
        actions.REPORT,
    ]


def test_parent_card_of_100_acknowledgements() -> None:
    users = [f"U{n:04d}X" for n in range(100)]
    view = TriageView(acknowledgements=acks(*users))
    message = valid(parent_card(summary(), triage=view, now=NOW), users=users)
    line = texts(message)
    assert "<@U0009X>" in line
    assert "<@U0010X>" not in line
    assert line.count("<@") == 10
    assert f"<@U0009X> at {slack_date(NOW + timedelta(minutes=9))} and 90 more" in line


@pytest.mark.parametrize(
    ("view", "now", "line", "kind"),
    [
        (
            TriageView(snoozed_in_state="FAILED"),
            NOW,
            "Snoozed until the next state change",
            actions.UNSNOOZE,
        ),
        (TriageView(snoozed_in_state="RUNNING"), NOW, None, actions.SNOOZE),  # the scan moved on
        (TriageView(snoozed_until=NOW - timedelta(seconds=1)), NOW, None, actions.SNOOZE),
        (TriageView(snoozed_until=NOW), None, "Snoozed until <!date", actions.UNSNOOZE),
        (
            TriageView(snoozed_until=(NOW + timedelta(hours=1)).replace(tzinfo=None)),
            NOW,
            f"Snoozed until {slack_date(NOW + timedelta(hours=1))}",
            actions.UNSNOOZE,
        ),
    ],
)
def test_parent_card_snooze_states(
    view: TriageView, now: datetime | None, line: str | None, kind: str
) -> None:
    message = valid(parent_card(summary(), triage=view, now=now))
    assert ("Snoozed" in texts(message)) is (line is not None)
    if line is not None:
        assert line in texts(message)
    assert kind in kinds(message)
    assert ({actions.SNOOZE, actions.UNSNOOZE} - {kind}).isdisjoint(kinds(message))


def test_parent_card_of_hostile_users() -> None:
    view = TriageView(acknowledgements=acks(*HOSTILE), assignee="<!channel>")
    message = valid(parent_card(summary(), triage=view, now=NOW))
    assert "Assigned to &lt;!channel&gt;" in texts(message)
    assert "&lt;https://evil.example|bank.com&gt; at" in texts(message)


@pytest.mark.parametrize("scan_id", ["a<b", "", "x" * 2001])
def test_parent_card_without_a_carriable_id_has_no_triage_buttons(scan_id: str) -> None:
    view = TriageView(acknowledgements=acks(ALICE))
    message = valid(parent_card(summary(scan_id=scan_id), triage=view, now=NOW), users=[ALICE])
    assert elements(message) == []
    assert "Acknowledged by" in texts(message)


def test_parent_card_of_an_id_too_long_for_a_block_id_keeps_its_buttons() -> None:
    scan_id = "s" * 1000
    message = valid(parent_card(summary(scan_id=scan_id), triage=TriageView(), now=NOW))
    assert actions.SNOOZE not in kinds(message)  # the select could not name its scan
    assert actions.ACK in kinds(message)
    assert all(e["value"] == scan_id for e in elements(message))


def test_first_message_passes_triage_through() -> None:
    finished = alert(EventKind.FINISHED)
    view = TriageView(assignee=ALICE)
    message = valid(first_message(finished, triage=view, now=NOW), users=[ALICE])
    assert message == {
        **parent_card(finished.event.summary, latest=finished.event, triage=view, now=NOW),
        "text": message["text"],
    }
    assert actions.ACK in kinds(message)


def test_first_message_of_900_risks_with_triage() -> None:
    risks = tuple(detail(n, title="<!channel>" * 20) for n in range(900))
    big = alert(EventKind.RISKS, risks=risks, risk_count=900)
    view = TriageView(acknowledgements=acks(*[f"U{n:04d}X" for n in range(100)]), muted=True)
    users = [a.user_id for a in view.acknowledgements]
    message = valid(first_message(big, triage=view, now=NOW), users=users)
    assert "and " in texts(message)


# --- replies -----------------------------------------------------------------------------


def test_acknowledged_and_undone() -> None:
    message = valid(acknowledged(ALICE, NOW), users=[ALICE])
    assert (
        message["blocks"][0]["text"]["text"] == f"✅ <@{ALICE}> acknowledged this at {NOW_TOKEN}."
    )
    message = valid(unacknowledged(ALICE), users=[ALICE])
    assert texts(message) == f"↩️ <@{ALICE}> took back their acknowledgement."


@pytest.mark.parametrize("user_id", HOSTILE)
def test_replies_of_hostile_users(user_id: str) -> None:
    for message in (
        acknowledged(user_id, NOW),
        unacknowledged(user_id),
        assigned(user_id, user_id, user_id),
        assigned(None, user_id),
        snoozed(user_id, SnoozeChoice.HOUR, NOW),
        unsnoozed(user_id),
        muted(user_id),
        unmuted(user_id),
        refreshed(user_id),
    ):
        valid(message)
        assert "&lt;" in message["text"]


def test_assigned_mentions_the_assignee() -> None:
    message = valid(assigned(BOB, ALICE, "Please check the TLS config"), users=[ALICE, BOB])
    assert message["text"] == f"👤 <@{ALICE}> assigned this scan to <@{BOB}>."
    assert texts(message).endswith("> Please check the TLS config")


def test_assigned_to_oneself_and_unassigned() -> None:
    assert valid(assigned(ALICE, ALICE), users=[ALICE])["text"] == f"👤 <@{ALICE}> took this scan."
    message = valid(assigned(None, ALICE), users=[ALICE])
    assert message["text"] == f"👤 <@{ALICE}> unassigned this scan."
    assert len(message["blocks"]) == 1


@pytest.mark.parametrize(
    ("note", "quoted"),
    [
        ("", None),
        ("   \n\n ", None),
        (
            "<!channel> & <https://evil.example|bank.com>",
            "> <!channel> & <https://evil.example|bank.com>",  # literal text in a quote
        ),
        ("line one\n\n  line   two ", "> line one\n> line two"),
        ("*URGENT* ~x~ `y`\u202e", "> *URGENT* ~x~ `y`\N{REPLACEMENT CHARACTER}"),
    ],
)
def test_assigned_notes(note: str, quoted: str | None) -> None:
    message = valid(assigned(BOB, ALICE, note), users=[ALICE, BOB])
    if quoted is None:
        assert len(message["blocks"]) == 1
    else:
        assert rich_markup(message["blocks"][1]) == quoted
        assert [part["type"] for part in message["blocks"][1]["elements"]] == ["rich_text_quote"]


@pytest.mark.parametrize("note", ["x" * 100_000, "<!here>\n" * 5000, "&" * 3000])
def test_assigned_long_notes_are_cut(note: str) -> None:
    message = valid(assigned(BOB, ALICE, note), users=[ALICE, BOB])
    assert len(texts(message)) < 2000
    assert "…" in texts(message)


@pytest.mark.parametrize(
    ("choice", "until", "words"),
    [
        (SnoozeChoice.HOUR, NOW, f"for 1 hour, until {NOW_TOKEN}."),
        (SnoozeChoice.FOUR_HOURS, None, "for 4 hours."),
        (SnoozeChoice.DAY, NOW, f"for 24 hours, until {NOW_TOKEN}."),
        (SnoozeChoice.NEXT_STATE, None, "until the next state change."),
        (SnoozeChoice.NEXT_STATE, NOW, "until the next state change."),
    ],
)
def test_snoozed(choice: SnoozeChoice, until: datetime | None, words: str) -> None:
    message = valid(snoozed(ALICE, choice, until), users=[ALICE])
    assert message["text"].startswith(f"💤 <@{ALICE}> snoozed this thread {words}")


def test_other_replies() -> None:
    assert "unsnoozed" in valid(unsnoozed(ALICE), users=[ALICE])["text"]
    assert "muted this scan in this channel" in valid(muted(ALICE), users=[ALICE])["text"]
    assert "unmuted" in valid(unmuted(ALICE), users=[ALICE])["text"]
    assert "card above" in valid(refreshed(ALICE), users=[ALICE])["text"]


# --- what a quiet thread held ------------------------------------------------------------


def test_held_summary_in_one_reply() -> None:
    risks = (detail(1, threat_level="LOW"), detail(2), detail(3, threat_level="MEDIUM"), detail(4))
    held = [
        alert(EventKind.FINISHED, state="FAILED"),
        alert(EventKind.RISKS, risks=risks, risk_count=12),
        alert(EventKind.FINISHED, state="FAILED"),
    ]
    message = valid(held_summary(held, "snoozed"))
    assert message["text"] == (
        "While this thread was snoozed: 3 alerts: finished: failed; 12 new risks (2 high)"
    )
    lines = texts(message).splitlines()
    assert [line.split(" ", 1)[0] for line in lines[1:5]] == ["🔴", "🔴", "🟠", "🟡"]
    assert lines[-1] == "and 8 more"


def test_held_summary_of_nothing_and_of_hostile_reasons() -> None:
    assert "nothing happened" in valid(held_summary([], "muted"))["text"]
    message = valid(held_summary([alert(EventKind.STARTED)], "<!channel>"))
    assert "&lt;!channel&gt;" in message["text"]


def test_held_summary_of_900_risks_and_many_events() -> None:
    risks = tuple(detail(n, title="<https://evil.example|bank.com>" * 10) for n in range(900))
    held = [alert(EventKind.RISKS, risks=risks, risk_count=900)] * 3
    held += [alert(EventKind.UNKNOWN_STATE, state=f"<!here>{n}" * 30) for n in range(200)]
    message = valid(held_summary(held, "snoozed"))
    assert "2,700 new risks (2,700 high)" in message["text"]
    assert "and 885 more" not in texts(message)  # 2,700 in all
    assert "and 2,685 more" in texts(message)


# --- risks -------------------------------------------------------------------------------


def test_risks_list_of_none() -> None:
    message = valid(risks_list(summary(), [], 0))
    assert message["text"] == "Scan scan-123 (OpenVAS) has no new open risks."
    assert elements(message) == []


def test_risks_list_of_one() -> None:
    message = valid(risks_list(summary(), [detail(1)], 1))
    assert message["text"] == "Scan scan-123 (OpenVAS): 1 new open risk"
    assert elements(message) == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "View", "emoji": True},
            "action_id": actions.action_id(actions.RISK, 0),
            "value": "risk-1",
        }
    ]
    # plain_text beside its View button: no styling, nothing parsed.
    assert "🔴 High Outdated TLS 1 · shop.example.com · CVSS 7.5" in texts(message)


def test_risks_list_of_900() -> None:
    risks = [detail(n) for n in range(900)]
    message = valid(risks_list(summary(), risks, 900))
    assert [e["value"] for e in elements(message)] == [f"risk-{n}" for n in range(15)]
    assert texts(message).endswith("and 885 more")


def test_risks_list_counts_risks_without_details() -> None:
    message = valid(risks_list(summary(), [detail(1)], 40))
    assert "40 new open risks" in message["text"]
    assert texts(message).endswith("and 39 more")


def test_risks_list_of_hostile_risks() -> None:
    risks = [
        detail(n, risk_id=h, title=h * 50, target=h * 50, cvss=h, threat_level=h)
        for n, h in enumerate(HOSTILE)
    ]
    message = valid(risks_list(summary(scan_id="<!channel>"), risks, len(risks)))
    values = [e["value"] for e in elements(message)]
    assert values == []  # none of these ids can be carried by a button
    assert len(message["blocks"]) == 1 + len(HOSTILE)


# --- risk modals -------------------------------------------------------------------------


def test_risk_modal() -> None:
    view = valid_view(risk_modal(risk()))
    assert view["title"]["text"] == "Risk details"
    assert view["blocks"][0]["text"]["text"] == "Outdated TLS"
    shown = texts(view)
    for fact in (
        "*Threat level:* 🔴 High",
        "*CVSS:* 7.5",
        "*Target:* `shop.example.com`",
        "*First detected:* <!date^1714464000^",
        f"*Last detected:* {NOW_TOKEN}",
        "*Description*\nThe server accepts TLS 1.0.\n\nUpgrade it.",
        "*Solution*\nDisable TLS 1.0 and 1.1.",
        "*References*\n• <https://www.example.org/tls>\n• CVE-2011-3389",
        "Risk `risk-1`",
    ):
        assert fact in shown


def test_risk_modal_of_hostile_text() -> None:
    evil = "<https://evil.example|bank.com>"
    hostile = risk(
        id="<!channel>",
        target="<!here>",
        status="<!everyone>",
        first_detected_at="<!channel>",
        risk_definition={
            "title": "<!channel> & co",
            "threat_level": "<!here>",
            "description": f"{evil}\n<!channel>",
            "solution": "a & b",
            "references": [evil, "https://shop.example.com/?a=1&b=2"],
            "cvss": "<@U0123ABCD>",
        },
    )
    view = valid_view(risk_modal(hostile))
    shown = texts(view)
    links = [e for e in rich_text_elements(view["blocks"]) if e["type"] == "link"]
    # A plain URL reads as where it goes; anything else is text, never a link.
    shop = "https://shop.example.com/?a=1&b=2"
    assert links == [{"type": "link", "url": shop, "text": shop}]
    assert {"type": "text", "text": evil} in rich_text_elements(view["blocks"])
    assert "<http" not in parsed_payload(view)
    assert "&lt;!channel&gt; &amp; co" in shown  # the header: plain_text, escaped


def test_risk_modal_of_huge_text() -> None:
    huge = risk(
        target="t" * 5000,
        risk_definition={
            "title": "T" * 5000,
            "description": "<!here> " * 20_000,
            "solution": "&" * 50_000,
            "references": [f"https://example.org/{n}/" + "x" * 3000 for n in range(1000)],
            "cvss": "9" * 500,
        },
    )
    view = valid_view(risk_modal(huge))
    assert len(view["blocks"]) <= 100
    references = next(
        b
        for b in view["blocks"]
        if b["type"] == "rich_text" and rich_markup(b).startswith("*References*")
    )
    lines = rich_markup(references).splitlines()[1:]
    assert lines[-1] == f"and {1000 - len(lines[:-1]):,} more"


def test_risk_modal_of_an_empty_risk() -> None:
    view = valid_view(risk_modal(Risk(id="r")))
    shown = texts(view)
    assert view["blocks"][0]["text"]["text"] == "Untitled risk"
    assert "*CVSS:* not reported" in shown
    assert "*Description*\n_none given_" in shown


@pytest.mark.parametrize("risk_id", ["risk-1", *HOSTILE, "x" * 5000, ""])
def test_loading_and_unavailable_modals(risk_id: str) -> None:
    loading = valid_view(risk_modal_loading(risk_id))
    assert texts(loading).startswith("⏳ Loading risk")
    reason = f"HostedScan no longer has risk `{escape(risk_id[:80])}`: it was deleted."
    gone = valid_view(risk_modal_unavailable(risk_id, reason))
    assert reason in texts(gone)  # the service's own mrkdwn sentence, as it wrote it
    assert valid_view(risk_modal_unavailable(risk_id, ""))


# --- assigning ---------------------------------------------------------------------------


def test_assign_modal() -> None:
    view = valid_view(assign_modal(SCAN_ID, CHANNEL, "1714572180.000100", ALICE, key=KEY))
    assert view["callback_id"] == actions.ASSIGN_VIEW
    assert view["submit"]["text"] == "Assign"
    named = '{"v":2,"scan":"scan-123","channel":"C0ALERTS","ts":"1714572180.000100"}'
    assert view["private_metadata"] == actions.seal(named, KEY)
    text, dot, mac = view["private_metadata"].rpartition(".")
    assert (text, dot, len(mac)) == (named, ".", actions.SEAL_CHARS)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["assignee"]["element"] == {
        "type": "users_select",
        "action_id": "user",
        "placeholder": {"type": "plain_text", "text": "Pick someone", "emoji": True},
        "initial_user": ALICE,
    }
    note = inputs["note"]
    assert note["optional"] is True
    assert note["element"]["action_id"] == "text"
    assert note["element"]["type"] == "plain_text_input"
    assert note["element"]["max_length"] == 500


@pytest.mark.parametrize("current", [None, "<!channel>", "alice", ""])
def test_assign_modal_without_a_current_user(current: str | None) -> None:
    view = valid_view(assign_modal(SCAN_ID, CHANNEL, "1.2", current, key=KEY))
    select = view["blocks"][1]["element"]
    assert "initial_user" not in select


@pytest.mark.parametrize("scan_id", [SCAN_ID, *HOSTILE, "é漢🔥", 'a"b\\c', "x" * 2000])
def test_assign_metadata_round_trip(scan_id: str) -> None:
    view = valid_view(assign_modal(scan_id, CHANNEL, "1.2", None, key=KEY))
    assert parse_assign_metadata(view["private_metadata"], key=KEY) == (scan_id, CHANNEL, "1.2")


def test_assign_modal_refuses_metadata_that_cannot_fit() -> None:
    with pytest.raises(ValueError, match="too long"):
        assign_modal("<" * 1000, CHANNEL, "1.2", None, key=KEY)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "null",
        "[]",
        "{}",
        "not json",
        '{"v":2,"scan":"s","channel":"C"}',
        '{"v":2,"scan":"s","channel":"C","ts":"1","x":1}',
        '{"v":1,"scan":"s","channel":"C","ts":"1"}',
        '{"v":3,"scan":"s","channel":"C","ts":"1"}',
        '{"v":true,"scan":"s","channel":"C","ts":"1"}',
        '{"v":2.0,"scan":"s","channel":"C","ts":"1"}',
        '{"v":"2","scan":"s","channel":"C","ts":"1"}',
        '{"v":2,"scan":1,"channel":"C","ts":"1"}',
        '{"v":2,"scan":"","channel":"C","ts":"1"}',
        '{"v":2,"scan":"s","channel":null,"ts":"1"}',
        '{"v":2,"scan":"s","channel":"C","ts":" "}',
        "[" * 100_000,
        '{"v":2,"scan":"' + "x" * 3000 + '","channel":"C","ts":"1"}',
    ],
)
def test_parse_assign_metadata_refuses_malformed(text: str) -> None:
    """Even sealed with scanbot's key, only the shape assign_modal makes is read."""
    with pytest.raises(ValueError, match=r"."):
        parse_assign_metadata(actions.seal(text, KEY), key=KEY)


def _altered(sealed: str) -> str:
    return sealed.replace(CHANNEL, "C0OTHER")


def _flipped(sealed: str) -> str:
    return sealed[:-1] + ("A" if sealed[-1] != "A" else "B")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda sealed: sealed.rpartition(".")[0], id="unsealed"),
        pytest.param(
            lambda sealed: '{"v":1,"scan":"scan-123","channel":"C0OTHER","ts":"1.2"}',
            id="the-old-unsealed-format",
        ),
        pytest.param(_altered, id="another-channel"),
        pytest.param(_flipped, id="altered-seal"),
        pytest.param(lambda sealed: sealed[:-5], id="truncated-seal"),
        pytest.param(lambda sealed: sealed.rpartition(".")[0] + ".", id="empty-seal"),
        pytest.param(lambda sealed: sealed[:-2] + "é\ud800", id="non-ascii-seal"),
        pytest.param(
            lambda sealed: actions.seal(
                sealed.rpartition(".")[0], actions.seal_key("another-secret")
            ),
            id="another-key",
        ),
        pytest.param(
            lambda sealed: _altered(sealed.rpartition(".")[0]) + "." + sealed.rpartition(".")[2],
            id="seal-of-another-text",
        ),
    ],
)
def test_parse_assign_metadata_refuses_what_scanbot_did_not_seal(forge: Any) -> None:
    sealed = assign_modal(SCAN_ID, CHANNEL, "1.2", None, key=KEY)["private_metadata"]
    assert parse_assign_metadata(sealed, key=KEY) == (SCAN_ID, CHANNEL, "1.2")
    with pytest.raises(ValueError, match="not sealed by scanbot"):
        parse_assign_metadata(forge(sealed), key=KEY)


def test_seal_keys_differ_by_secret_and_name_their_purpose() -> None:
    assert actions.seal_key("a") != actions.seal_key("b")
    assert len(actions.seal_key("a")) == 32
    assert actions.unseal(actions.seal("x.y", KEY), KEY) == "x.y"  # dots in the text are fine


# --- /scans triage and the Home tab ------------------------------------------------------


def test_triage_list_of_nothing() -> None:
    message = valid(triage_list(CHANNEL, []), channel_ids=[CHANNEL])
    assert texts(message) == f"Nothing waiting for acknowledgement in <#{CHANNEL}>."


def test_triage_list_oldest_first() -> None:
    threads = [
        (summary(scan_id="new"), PERMALINK, NOW),
        (summary(scan_id="unknown"), None, None),
        (
            summary(scan_id="old", state="SUCCEEDED"),
            PERMALINK + "?thread_ts=1&cid=C",
            NOW - timedelta(days=2),
        ),
        (summary(scan_id="naive"), None, (NOW - timedelta(days=1)).replace(tzinfo=None)),
    ]
    message = triage_list(CHANNEL, threads)
    assert_valid_message(
        message, allowed_mentions={f"<#{CHANNEL}>", f"<{PERMALINK}", *dates(message)}
    )
    lines = [line for line in texts(message).splitlines() if line.startswith("• ")]
    assert [line.split("`")[1] for line in lines] == ["old", "naive", "new", "unknown"]
    assert lines[0] == (
        "• `old` · OpenVAS · ✅ succeeded · since "
        "<!date^1714399380^{ago}|2024-04-29 14:03 UTC> · "
        f"<{PERMALINK}?thread_ts=1&cid=C|thread>"
    )
    assert lines[-1].endswith("age unknown · no link to the thread")
    assert message["text"] == "4 alert threads waiting for acknowledgement"


@pytest.mark.parametrize(
    "permalink",
    [
        "<!channel>",
        "https://evil.example|bank.com",
        "javascript:alert(1)",
        "http://a.example",
        "https://a b",
    ],
)
def test_triage_list_links_only_permalinks(permalink: str) -> None:
    message = valid(triage_list("<!channel>", [(summary(), permalink, NOW)]))
    assert "no link to the thread" in texts(message)


def test_triage_list_of_500_threads() -> None:
    threads = [
        (
            summary(scan_id=f"<!channel>{n}" * 5, type="<!here>" * 20),
            PERMALINK,
            NOW + timedelta(minutes=n),
        )
        for n in range(500)
    ]
    message = valid(triage_list(CHANNEL, threads), links=[PERMALINK], channel_ids=[CHANNEL])
    assert "and " in texts(message).splitlines()[-1]
    assert message["text"] == "500 alert threads waiting for acknowledgement"


def home(
    view: dict[str, Any], users: Iterable[str] = (), channel_ids: Iterable[str] = ()
) -> dict[str, Any]:
    return valid_view(view, users=users, extra={*channel_links(*channel_ids), f"<{PERMALINK}"})


def test_home_view_empty() -> None:
    view = home(home_view(ALICE, [], []), users=[ALICE])
    assert view["type"] == "home"
    shown = texts(view)
    assert "Nothing is assigned to you." in shown
    assert "Nothing is waiting for acknowledgement." in shown


def test_home_view() -> None:
    view = home(
        home_view(
            ALICE,
            [(summary(), CHANNEL, PERMALINK)],
            [(summary(scan_id="s2", state="RUNNING"), "C0OTHER", None)],
        ),
        users=[ALICE],
        channel_ids=[CHANNEL, "C0OTHER"],
    )
    shown = texts(view)
    assert "*Assigned to you* (1)" in shown
    assert f"• `scan-123` · OpenVAS · ❌ failed · <#{CHANNEL}> · <{PERMALINK}|thread>" in shown
    assert "• `s2` · OpenVAS · 🔄 running · <#C0OTHER> · no link to the thread" in shown
    assert "*Waiting for acknowledgement in your channels* (1)" in shown


def test_home_view_of_many_hostile_threads() -> None:
    many = [(summary(scan_id=h * 30, type=h * 10), h, h) for h in HOSTILE] * 80
    view = home(home_view("<!channel>", many, many))
    assert len(view["blocks"]) <= 100
    assert "and " in texts(view)


# --- reports -----------------------------------------------------------------------------


def test_report_missing() -> None:
    message = valid(report_missing(SCAN_ID))
    assert message["text"] == "Scan scan-123 has no result files yet."
    assert (
        valid(report_missing("<!channel>"))["text"]
        == "Scan &lt;!channel&gt; has no result files yet."
    )


@pytest.mark.parametrize(
    ("content_type", "by", "comment"),
    [
        ("application/pdf", ALICE, f"📄 PDF report of scan `scan-123`, asked for by <@{ALICE}>"),
        ("TEXT/CSV", ALICE, f"📄 CSV report of scan `scan-123`, asked for by <@{ALICE}>"),
        (
            "<!channel>",
            "<!here>",
            "📄 &lt;!channel&gt; report of scan `scan-123`, asked for by &lt;!here&gt;",
        ),
        ("", ALICE, f"📄 Result report of scan `scan-123`, asked for by <@{ALICE}>"),
    ],
)
def test_report_comment(content_type: str, by: str, comment: str) -> None:
    assert report_comment(SCAN_ID, content_type, by) == comment


def test_report_comment_stays_short() -> None:
    comment = report_comment("<!channel>" * 1000, "x" * 1000, "U" + "X" * 63)
    assert len(comment) <= 300
    assert "<!" not in comment


# --- anything ----------------------------------------------------------------------------

user_ids = st.one_of(st.sampled_from([ALICE, BOB, "W0CAROL"]), odd_text)
ZONES: list[tzinfo | None] = [UTC, timezone(timedelta(hours=-7)), None]  # None: naive
times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(ZONES),
)
triage_views = st.builds(
    TriageView,
    acknowledgements=st.lists(
        st.builds(Acknowledgement, user_id=user_ids, at=times), max_size=120
    ).map(tuple),
    assignee=st.one_of(st.none(), user_ids),
    snoozed_until=st.one_of(st.none(), times),
    snoozed_in_state=st.one_of(st.none(), st.sampled_from(["FAILED", "RUNNING"]), odd_text),
    muted=st.booleans(),
)
maybe_text = st.one_of(st.none(), odd_text)
risks = st.builds(
    Risk,
    id=odd_text,
    target=odd_text,
    target_label=odd_text,
    status=odd_text,
    first_detected_at=st.one_of(maybe_text, times.map(lambda t: t.isoformat())),
    last_detected_at=st.one_of(maybe_text, times.map(lambda t: t.isoformat())),
    risk_definition=st.fixed_dictionaries(
        {
            "title": odd_text,
            "threat_level": st.one_of(st.sampled_from(["HIGH", "MEDIUM", "LOW"]), odd_text),
            "description": odd_text,
            "solution": odd_text,
            "references": st.lists(odd_text, max_size=40),
            "cvss": maybe_text,
            "first_detected_at": maybe_text,
        }
    ),
)
links = st.one_of(st.none(), st.just(PERMALINK), odd_text)
channels = st.one_of(st.just(CHANNEL), odd_text)


@SETTINGS
@given(summaries, triage_views, st.one_of(st.none(), times))
def test_any_parent_card_with_triage_is_valid(
    scan: ScanSummary, view: TriageView, now: datetime | None
) -> None:
    message = parent_card(scan, triage=view, now=now)
    valid(message, users=users_of(view))
    assert len(json.dumps(message)) < 4 * MAX_TEXT
    ids = [e["action_id"] for e in elements(message)]
    assert len(ids) == len(set(ids))
    for element in elements(message):
        assert element.get("value", scan.scan_id) == scan.scan_id


@SETTINGS
@given(alerts, triage_views, times)
def test_any_first_message_with_triage_is_valid(
    any_alert: Alert, view: TriageView, now: datetime
) -> None:
    valid(first_message(any_alert, triage=view, now=now), users=users_of(view))


@SETTINGS
@given(risks)
def test_any_risk_modal_is_valid(any_risk: Risk) -> None:
    valid_view(risk_modal(any_risk))
    valid_view(risk_modal_loading(any_risk.id))
    # The reason is the service's sentence, values in it escaped: here a description.
    reason = escape(any_risk.risk_definition.description)
    valid_view(risk_modal_unavailable(any_risk.id, reason))


@SETTINGS
@given(user_ids, st.one_of(st.none(), user_ids), st.text(max_size=3000) | odd_text, times)
def test_any_reply_is_valid(by: str, assignee: str | None, note: str, at: datetime) -> None:
    valid(assigned(assignee, by, note), users=[by, assignee or ""])
    valid(acknowledged(by, at), users=[by])
    for choice in SnoozeChoice:
        valid(snoozed(by, choice, at), users=[by])


@SETTINGS
@given(st.lists(alerts, max_size=60), odd_text)
def test_any_held_summary_is_valid(some: list[Alert], why: str) -> None:
    message = valid(held_summary(some, why))
    assert f"{len(some):,} alert" in message["text"] or not some


@SETTINGS
@given(summaries, st.lists(risk_details, max_size=40), st.integers(0, 10**6))
def test_any_risks_list_is_valid(scan: ScanSummary, some: list[RiskDetail], total: int) -> None:
    message = valid(risks_list(scan, some, total))
    assert len(elements(message)) <= 15


@SETTINGS
@given(odd_text, channels, odd_text, st.one_of(st.none(), user_ids))
def test_any_assign_modal_round_trips(
    scan_id: str, channel: str, ts: str, current: str | None
) -> None:
    try:
        view = assign_modal(scan_id, channel, ts, current, key=KEY)
    except ValueError:
        assert len(actions.compact_json([scan_id, channel, ts])) > 2900
        return
    valid_view(view)
    if scan_id.strip() and channel.strip() and ts.strip():
        assert parse_assign_metadata(view["private_metadata"], key=KEY) == (scan_id, channel, ts)


@SETTINGS
@given(st.text(max_size=200) | odd_text)
def test_any_metadata_parses_or_raises_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_assign_metadata(text, key=KEY)


thread_rows = st.tuples(summaries, links, st.one_of(st.none(), times))
home_rows = st.tuples(summaries, channels, links)


@SETTINGS
@given(channels, st.lists(thread_rows, max_size=60))
def test_any_triage_list_is_valid(channel: str, threads: list[Any]) -> None:
    message = triage_list(channel, threads)
    allowed = {*channel_links(channel), f"<{PERMALINK}", *dates(message)}
    assert_valid_message(message, allowed_mentions=allowed)
    raw_free(message)


@SETTINGS
@given(user_ids, st.lists(home_rows, max_size=60), st.lists(home_rows, max_size=60))
def test_any_home_view_is_valid(user_id: str, mine: list[Any], waiting: list[Any]) -> None:
    channel_ids = [row[1] for row in [*mine, *waiting]]
    home(home_view(user_id, mine, waiting), users=[user_id], channel_ids=channel_ids)
