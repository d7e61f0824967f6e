"""Triage cards: thread replies, what a quiet thread held, the risk list and modals, the
assign modal and its sealed metadata, reports; limits, hostile strings, any input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanbot.domain.events import Alert, EventKind, RiskDetail
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import SnoozeChoice
from scanbot.hostedscan.models import Risk
from scanbot.slack import actions
from scanbot.slack.cards.triage import (
    acknowledged,
    assign_modal,
    assigned,
    held_summary,
    muted,
    refreshed,
    report_comment,
    report_missing,
    risk_modal,
    risk_modal_loading,
    risk_modal_unavailable,
    risks_list,
    snoozed,
    unacknowledged,
    unmuted,
    unsnoozed,
)
from scanbot.slack.payloads import parse_assign_metadata
from scanbot.slack.text import escape

from ..blockkit import (
    parsed_payload,
    rich_markup,
    rich_text_elements,
)
from .alert_samples import HOSTILE, alerts, odd_text, risk_details, summaries
from .alert_samples import risk as detail
from .triage_samples import (
    ALICE,
    BOB,
    CHANNEL,
    KEY,
    NOW,
    NOW_TOKEN,
    SCAN_ID,
    SETTINGS,
    alert,
    channels,
    elements,
    risk,
    risks,
    summary,
    texts,
    times,
    user_ids,
    valid,
    valid_view,
)

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
