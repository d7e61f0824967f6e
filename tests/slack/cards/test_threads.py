"""The alert thread's cards: the parent card (with and without triage, always at a time),
event replies, the first message and digests; limits, hostile strings, any input."""

from __future__ import annotations

import inspect
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import SnoozeChoice, TriageView
from scanbot.slack import actions, kit, payloads
from scanbot.slack.cards import threads
from scanbot.slack.cards.threads import digest, event_reply, first_message, parent_card
from scanbot.slack.kit import Message, slack_date
from scanbot.slack.text import escape
from scanbot.slack.text import shown as text_shown

from ..blockkit import MAX_BLOCKS, MAX_TEXT, rich_markup, rich_text_elements
from .alert_samples import (
    HOSTILE,
    SETTINGS,
    alert,
    alerts,
    buttons,
    event,
    events,
    first_text,
    literal,
    payload,
    risk,
    summaries,
    summary,
    texts,
    valid,
)
from .alert_samples import risk as detail
from .triage_samples import (
    ALICE,
    BOB,
    NOW,
    SCAN_ID,
    acks,
    elements,
    kinds,
    times,
    triage_views,
    users_of,
)
from .triage_samples import SETTINGS as TRIAGE_SETTINGS
from .triage_samples import alert as triage_alert
from .triage_samples import summary as failed_summary
from .triage_samples import valid as valid_triage

# --- the parent card ---------------------------------------------------------------------


def test_parent_card_of_a_running_scan() -> None:
    message = valid(parent_card(summary(target_count=7), now=NOW))
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "OpenVAS scan · 🔄 running", "emoji": False},
    }
    body = rich_markup(message["blocks"][1])
    assert body == (
        "*Scan* `scan-123` · OpenVAS\n"
        "*State:* 🔄 running\n"
        "▰▰▰▱▱▱▱▱▱▱ 30%\n"
        "*Targets:* `shop.example.com`, `10.0.0.1`, `api.example.com` +4 more\n"
        "*Risks:* 2 new · 5 still open · 1 closed"
    )
    assert buttons(message) == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Details", "emoji": True},
            "action_id": actions.action_id(actions.DETAILS, 0),
            "value": "scan-123",
        }
    ]
    assert message["text"] == "Scan scan-123 (OpenVAS): running"
    assert len(message["blocks"]) == 3  # no latest event given: header, body, Details


@pytest.mark.parametrize(
    ("state", "shown", "progress_line"),
    [
        ("QUEUED", "⏳ queued", False),
        ("RUNNING", "🔄 running", True),
        ("SUCCEEDED", "✅ succeeded", False),
        ("FAILED", "❌ failed", False),
        ("OVER_LIMIT", "⛔ over limit", False),
        ("PAUSED", "❔ paused", False),
        ("", "❔ unknown state", False),
        ("<!channel>", "❔ <!channel>", False),  # literal: a rich_text element
        ("*URGENT*", "❔ *urgent*", False),
    ],
)
def test_parent_card_in_each_state(state: str, shown: str, progress_line: bool) -> None:
    message = valid(parent_card(summary(state=state), now=NOW))
    assert f"*State:* {shown}" in texts(message)
    assert ("30%" in texts(message)) is progress_line


def test_parent_card_without_progress_while_running() -> None:
    message = valid(parent_card(summary(progress=None), now=NOW))
    assert "progress not reported" in texts(message)


@pytest.mark.parametrize("progress", [float("nan"), float("inf"), -5.0, 250.0])
def test_parent_card_with_odd_progress(progress: float) -> None:
    valid(parent_card(summary(progress=progress), now=NOW))


@pytest.mark.parametrize(
    ("targets", "count", "line"),
    [
        ((), 0, "*Targets:* none"),
        (("a.example",), 1, "*Targets:* `a.example`"),
        (("a.example",), 1500, "*Targets:* `a.example` +1,499 more"),
        (("a.example", "b.example"), 1, "*Targets:* `a.example`, `b.example`"),  # count stale
        ((), 12, "*Targets:* 12 targets"),
        (("",), 1, "*Targets:* (blank)"),
    ],
)
def test_parent_card_targets(targets: tuple[str, ...], count: int, line: str) -> None:
    message = valid(parent_card(summary(targets=targets, target_count=count), now=NOW))
    assert line in texts(message).splitlines()


@pytest.mark.parametrize(
    ("kind", "fields", "latest"),
    [
        (EventKind.STARTED, {"state": "QUEUED"}, "Started: 3 targets"),
        (EventKind.FINISHED, {"state": "FAILED"}, "Finished: ❌ failed"),
        (EventKind.FINISHED, {"state": "SUCCEEDED"}, "Finished: ✅ succeeded"),
        (EventKind.FINISHED, {"state": "OVER_LIMIT"}, "Finished: ⛔ over limit"),
        (EventKind.RISKS, {"risk_ids": ("r1", "r2")}, "🚨 New: 2 open risks"),
        (
            EventKind.UNKNOWN_STATE,
            {"state": "<!here>"},
            "Now in a state scanbot does not know: “&lt;!here&gt;”",
        ),
        (
            EventKind.GONE,
            {},
            "🚫 HostedScan no longer has this scan; scanbot stopped watching it",
        ),
    ],
)
def test_parent_card_names_the_latest_event(
    kind: EventKind, fields: dict[str, Any], latest: str
) -> None:
    message = valid(parent_card(summary(), latest=event(kind, **fields), now=NOW))
    assert message["blocks"][-2] == {
        "type": "context",
        "elements": [{"type": "plain_text", "text": latest, "emoji": False}],
    }


@pytest.mark.parametrize("scan_id", ["a<b", "a&b", "", "   ", "x" * 2001])
def test_parent_card_of_an_id_no_button_can_carry(scan_id: str) -> None:
    message = valid(parent_card(summary(scan_id=scan_id), now=NOW))
    assert buttons(message) == []


def test_parent_card_of_a_hostile_scan() -> None:
    hostile = summary(
        scan_id="<!channel>",
        type="<https://evil.example|bank.com>",
        state="<!here>",
        targets=tuple(HOSTILE[:5]),
        target_count=len(HOSTILE),
    )
    message = valid(
        parent_card(hostile, latest=ScanEvent(kind=EventKind.GONE, summary=hostile), now=NOW)
    )
    assert "&lt;!channel&gt;" in message["text"]
    assert "<https://evil.example|bank.com>" in literal(message)
    assert any(" · <https://evil.example|bank.com>" in text for text in literal(message))


# --- thread replies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "text", "fallback"),
    [
        (
            EventKind.STARTED,
            {"state": "RUNNING"},
            "🔄 Scan `scan-123` (OpenVAS) started: 3 targets",
            "Scan scan-123 (OpenVAS) started: 3 targets",
        ),
        (
            EventKind.STARTED,
            {"state": "QUEUED", "target_count": 1},
            "⏳ Scan `scan-123` (OpenVAS) started: 1 target",
            "Scan scan-123 (OpenVAS) started: 1 target",
        ),
        (
            EventKind.FINISHED,
            {"state": "SUCCEEDED"},
            "✅ Scan `scan-123` (OpenVAS) finished: succeeded",
            "Scan scan-123 (OpenVAS) finished: succeeded",
        ),
        (
            EventKind.FINISHED,
            {"state": "FAILED"},
            "❌ Scan `scan-123` (OpenVAS) finished: failed",
            "Scan scan-123 (OpenVAS) finished: failed",
        ),
        (
            EventKind.FINISHED,
            {"state": "OVER_LIMIT", "type": "OWASP_ZAP"},
            "⛔ Scan `scan-123` (OWASP ZAP) finished: over limit",
            "Scan scan-123 (OWASP ZAP) finished: over limit",
        ),
        (
            EventKind.UNKNOWN_STATE,
            {"state": "PAUSED"},
            "❔ Scan `scan-123` (OpenVAS) is in a state scanbot does not know: “PAUSED”",
            "Scan scan-123 (OpenVAS) is in a state scanbot does not know: “PAUSED”",
        ),
        (
            EventKind.UNKNOWN_STATE,
            {"state": "<!channel> & co"},
            "❔ Scan `scan-123` (OpenVAS) is in a state scanbot does not know: “<!channel> & co”",
            "Scan scan-123 (OpenVAS) is in a state scanbot does not know: "
            "“&lt;!channel&gt; &amp; co”",
        ),
        (
            EventKind.GONE,
            {},
            "🚫 HostedScan no longer has scan `scan-123` (OpenVAS); scanbot stops watching it",
            "HostedScan no longer has scan scan-123 (OpenVAS); scanbot stops watching it",
        ),
        (
            EventKind.GONE,
            {"type": ""},
            "🚫 HostedScan no longer has scan `scan-123`; scanbot stops watching it",
            "HostedScan no longer has scan scan-123; scanbot stops watching it",
        ),
        (
            EventKind.FINISHED,
            {"type": "NEW_SCANNER", "state": "SUCCEEDED"},
            "✅ Scan `scan-123` (NEW_SCANNER) finished: succeeded",
            "Scan scan-123 (NEW_SCANNER) finished: succeeded",
        ),
    ],
)
def test_event_reply(kind: EventKind, fields: dict[str, Any], text: str, fallback: str) -> None:
    message = valid(event_reply(alert(kind, **fields)))
    assert first_text(message) == text
    assert message["text"] == fallback


def test_finished_reply_counts_risks() -> None:
    message = valid(event_reply(alert(EventKind.FINISHED, state="SUCCEEDED", new_open=1200)))
    assert message["blocks"][1]["elements"][0]["text"] == (
        "Risks: 1,200 new · 5 still open · 1 closed"
    )


def test_risks_reply_lists_each_risk_compactly() -> None:
    risks = (
        risk(1, threat_level="HIGH", cvss="9.8"),
        risk(2, threat_level="MEDIUM", cvss=None, target=""),
        risk(3, threat_level="LOW"),
        risk(4, threat_level="CRITICAL"),
        risk(5, title=""),
    )
    message = valid(event_reply(alert(EventKind.RISKS, risks=risks, risk_count=5)))
    assert first_text(message) == "🚨 Scan `scan-123` (OpenVAS): 5 new open risks"
    assert message["text"] == "Scan scan-123 (OpenVAS): 5 new open risks"
    assert rich_markup(message["blocks"][1]).splitlines() == [
        "🔴 *High* Outdated TLS 1 · `shop.example.com` · CVSS 9.8",
        "🟠 *Medium* Outdated TLS 2",
        "🟡 *Low* Outdated TLS 3 · `shop.example.com` · CVSS 7.5",
        "🟣 *CRITICAL* Outdated TLS 4 · `shop.example.com` · CVSS 7.5",
        "🔴 `risk-5` · details unavailable",
    ]
    assert "more" not in texts(message)


def test_a_risk_without_any_details() -> None:
    bare = RiskDetail(risk_id="risk-9")
    message = valid(event_reply(alert(EventKind.RISKS, risks=(bare,), risk_count=1)))
    assert rich_markup(message["blocks"][1]) == "⚪ `risk-9` · details unavailable"


def test_risks_keep_the_order_given() -> None:
    risks = (risk(1, threat_level="LOW"), risk(2, threat_level="HIGH"))
    lines = texts(valid(event_reply(alert(EventKind.RISKS, risks=risks)))).splitlines()
    assert [line[0] for line in lines[1:]] == ["🟡", "🔴"]


def test_risks_reply_with_no_risks() -> None:
    message = valid(event_reply(alert(EventKind.RISKS)))
    assert first_text(message) == "🚨 Scan `scan-123` (OpenVAS): 0 new open risks"
    assert len(message["blocks"]) == 1


def test_risks_reply_counts_from_the_event_when_the_alert_has_no_count() -> None:
    message = valid(event_reply(alert(EventKind.RISKS, risk_ids=("a", "b", "c"))))
    assert first_text(message).endswith(": 3 new open risks")
    assert texts(message).endswith("3 not shown")


def test_risks_reply_with_one_risk() -> None:
    message = valid(event_reply(alert(EventKind.RISKS, risks=(risk(),), risk_count=1)))
    assert first_text(message).endswith(": 1 new open risk")
    assert len(message["blocks"]) == 2


def test_risks_reply_with_900_risks_shows_15_then_how_many_more() -> None:
    risks = tuple(risk(n) for n in range(900))
    message = valid(event_reply(alert(EventKind.RISKS, risks=risks, risk_count=900)))
    lines = [line for line in texts(message).splitlines() if line.startswith("🔴")]
    assert len(lines) == threads.MAX_RISKS
    assert message["blocks"][-1]["elements"][0]["text"] == "and 885 more"


def test_risks_reply_counts_risks_without_details() -> None:
    message = valid(event_reply(alert(EventKind.RISKS, risks=(risk(),), risk_count=40)))
    assert first_text(message).endswith(": 40 new open risks")
    assert message["blocks"][-1]["elements"][0]["text"] == "and 39 more"


def test_longest_risks_stay_within_every_limit() -> None:
    long = "&<>" * 3000
    risks = tuple(
        risk(n, risk_id=long, title=long, target=long, cvss=long, threat_level=long)
        for n in range(900)
    )
    many = alert(EventKind.RISKS, risks=risks, risk_count=10**9, scan_id=long)
    for message in (valid(event_reply(many)), valid(first_message(many, now=NOW))):
        assert "and " in texts(message)


def test_hostile_risks_are_inert() -> None:
    risks = tuple(risk(n, title=h, target=h, cvss=h, threat_level=h) for n, h in enumerate(HOSTILE))
    message = valid(event_reply(alert(EventKind.RISKS, risks=risks, risk_count=len(risks))))
    # Each value is a text element of its own, shown literally; the bot styles it, no more.
    elements = list(rich_text_elements(message["blocks"]))
    evil = {"type": "text", "text": "<https://evil.example|bank.com>"}
    assert {**evil, "style": {"code": True}} in elements  # the target
    assert {**evil, "style": {"bold": True}} in elements  # the threat level
    assert any(" <https://evil.example|bank.com> · " in text for text in literal(message))
    assert {"type": "text", "text": "a & b > c < d", "style": {"code": True}} in elements


# --- the first message -------------------------------------------------------------------


def test_first_message_is_the_parent_card_with_the_event() -> None:
    finished = alert(EventKind.FINISHED, state="FAILED")
    message = valid(first_message(finished, now=NOW))
    card = parent_card(finished.event.summary, latest=finished.event, now=NOW)
    assert message["blocks"] == card["blocks"]
    assert message["text"] == "Scan scan-123 (OpenVAS) finished: failed"
    assert [b["action_id"] for b in buttons(message)] == ["scanbot:v1:details:0"]


def test_first_message_of_risks_adds_the_list() -> None:
    risks = tuple(risk(n) for n in range(20))
    message = valid(first_message(alert(EventKind.RISKS, risks=risks, risk_count=20), now=NOW))
    assert message["blocks"][-1]["elements"][0]["text"] == "and 5 more"
    assert "Outdated TLS 0" in texts(message)
    assert message["text"] == "Scan scan-123 (OpenVAS): 20 new open risks"


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_of_first_message_and_reply(kind: EventKind) -> None:
    for message in (valid(first_message(alert(kind), now=NOW)), valid(event_reply(alert(kind)))):
        assert "scan-123" in message["text"]


def test_a_kind_newer_than_the_renderer_still_reads() -> None:
    newer = ScanEvent.model_construct(kind="paused", summary=summary())  # type: ignore[arg-type]
    odd = Alert.model_construct(channel_id="C1", event=newer, risks=(), risk_count=0)
    assert first_text(valid(event_reply(odd))) == "🔄 Scan `scan-123` (OpenVAS): paused"
    assert "Latest: paused" in texts(valid(first_message(odd, now=NOW)))
    assert "1 paused" in texts(valid(digest([odd, alert()])))


# --- digests -----------------------------------------------------------------------------


def test_digest_counts_kinds_then_lists_each_alert() -> None:
    alerts = [
        alert(EventKind.RISKS, risk_count=4, scan_id="s1"),
        alert(EventKind.FINISHED, state="FAILED", scan_id="s2"),
        alert(EventKind.STARTED, scan_id="s3"),
        alert(EventKind.FINISHED, state="SUCCEEDED", scan_id="s4"),
    ]
    message = valid(digest(alerts))
    assert message["blocks"][0]["text"]["text"] == "4 scan alerts"
    assert message["blocks"][1]["elements"][0]["text"] == (
        "1 started · 2 finished (1 failed) · 1 with new risks"
    )
    assert rich_markup(message["blocks"][2]).splitlines() == [
        "🚨 Scan `s1` (OpenVAS): 4 new open risks",
        "❌ Scan `s2` (OpenVAS) finished: failed",
        "🔄 Scan `s3` (OpenVAS) started: 3 targets",
        "✅ Scan `s4` (OpenVAS) finished: succeeded",
    ]
    assert message["text"] == (
        "4 scan alerts (1 started · 2 finished (1 failed) · 1 with new risks): "
        "scans s1, s2, s3, and 1 more"
    )


def test_digest_of_100_alerts_stays_within_limits() -> None:
    kinds = list(EventKind)
    alerts = [alert(kinds[n % len(kinds)], scan_id=f"scan-{n:03}") for n in range(100)]
    message = valid(digest(alerts))
    listed = [line for line in texts(message).splitlines() if "`scan-" in line]
    assert len(listed) == threads.MAX_DIGEST
    assert message["blocks"][-1]["elements"][0]["text"] == "and 60 more"
    assert message["blocks"][1]["elements"][0]["text"] == (
        "20 started · 20 finished · 20 with new risks · 20 in an unknown state · 20 gone"
    )
    assert "scan-000" in message["text"]


def test_digest_of_the_longest_alerts_is_cut_by_the_text_budget() -> None:
    long = "<&>" * 1000
    alerts = [
        alert(EventKind.UNKNOWN_STATE, scan_id=long, type=long, state=long) for _ in range(100)
    ]
    message = valid(digest(alerts))
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert "more" in message["blocks"][-1]["elements"][0]["text"]


def test_digest_of_nothing() -> None:
    assert valid(digest([]))["text"] == "No new scan alerts."


def test_hostile_digest_is_inert() -> None:
    alerts = [alert(EventKind.STARTED, scan_id=h, type=h, state=h) for h in HOSTILE]
    message = valid(digest(alerts))
    assert "&lt;!channel&gt;" in message["text"]


# --- the parent card with triage ---------------------------------------------------------


def test_parent_card_without_triage_is_unchanged() -> None:
    message = valid_triage(parent_card(failed_summary(), now=NOW))
    assert kinds(message) == [actions.DETAILS]


def test_parent_card_of_a_fresh_thread() -> None:
    message = valid_triage(parent_card(failed_summary(), triage=TriageView(), now=NOW))
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
    message = valid_triage(parent_card(failed_summary(), triage=TriageView(), now=NOW))
    row = next(b for b in message["blocks"] if b["type"] == "actions")
    assert payloads.parse_triage_block_id(row["block_id"]) == SCAN_ID
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
    message = valid_triage(parent_card(failed_summary(), triage=view, now=NOW), users=[ALICE, BOB])
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
    message = valid_triage(parent_card(failed_summary(), triage=view, now=NOW), users=users)
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
        (TriageView(snoozed_until=NOW), NOW, None, actions.SNOOZE),  # it ends as `now` comes
        (
            TriageView(snoozed_until=NOW),
            NOW - timedelta(seconds=1),
            "Snoozed until <!date",
            actions.UNSNOOZE,
        ),
        (
            TriageView(snoozed_until=(NOW + timedelta(hours=1)).replace(tzinfo=None)),
            NOW,
            f"Snoozed until {slack_date(NOW + timedelta(hours=1))}",
            actions.UNSNOOZE,
        ),
    ],
)
def test_parent_card_snooze_states(
    view: TriageView, now: datetime, line: str | None, kind: str
) -> None:
    message = valid_triage(parent_card(failed_summary(), triage=view, now=now))
    assert ("Snoozed" in texts(message)) is (line is not None)
    if line is not None:
        assert line in texts(message)
    assert kind in kinds(message)
    assert ({actions.SNOOZE, actions.UNSNOOZE} - {kind}).isdisjoint(kinds(message))


def test_the_parent_card_is_always_drawn_at_a_time() -> None:
    """The sender and triage draw parents with one function, which cannot leave out `now`
    (without it, a snooze that ended would read as running)."""
    for draw in (parent_card, first_message):
        now = inspect.signature(draw).parameters["now"]
        assert now.kind is inspect.Parameter.KEYWORD_ONLY
        assert now.default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        parent_card(failed_summary(), triage=TriageView())  # type: ignore[call-arg]


def test_parent_card_of_hostile_users() -> None:
    view = TriageView(acknowledgements=acks(*HOSTILE), assignee="<!channel>")
    message = valid_triage(parent_card(failed_summary(), triage=view, now=NOW))
    assert "Assigned to &lt;!channel&gt;" in texts(message)
    assert "&lt;https://evil.example|bank.com&gt; at" in texts(message)


@pytest.mark.parametrize("scan_id", ["a<b", "", "x" * 2001])
def test_parent_card_without_a_carriable_id_has_no_triage_buttons(scan_id: str) -> None:
    view = TriageView(acknowledgements=acks(ALICE))
    message = valid_triage(
        parent_card(failed_summary(scan_id=scan_id), triage=view, now=NOW), users=[ALICE]
    )
    assert elements(message) == []
    assert "Acknowledged by" in texts(message)


def test_parent_card_of_an_id_too_long_for_a_block_id_keeps_its_buttons() -> None:
    scan_id = "s" * 1000
    message = valid_triage(
        parent_card(failed_summary(scan_id=scan_id), triage=TriageView(), now=NOW)
    )
    assert actions.SNOOZE not in kinds(message)  # the select could not name its scan
    assert actions.ACK in kinds(message)
    assert all(e["value"] == scan_id for e in elements(message))


def test_first_message_passes_triage_through() -> None:
    finished = triage_alert(EventKind.FINISHED)
    view = TriageView(assignee=ALICE)
    message = valid_triage(first_message(finished, triage=view, now=NOW), users=[ALICE])
    assert message == {
        **parent_card(finished.event.summary, latest=finished.event, triage=view, now=NOW),
        "text": message["text"],
    }
    assert actions.ACK in kinds(message)


def test_first_message_of_900_risks_with_triage() -> None:
    risks = tuple(detail(n, title="<!channel>" * 20) for n in range(900))
    big = triage_alert(EventKind.RISKS, risks=risks, risk_count=900)
    view = TriageView(acknowledgements=acks(*[f"U{n:04d}X" for n in range(100)]), muted=True)
    users = [a.user_id for a in view.acknowledgements]
    message = valid_triage(first_message(big, triage=view, now=NOW), users=users)
    assert "and " in texts(message)


# --- anything ----------------------------------------------------------------------------


def names_the_scan(message: Message, scan: ScanSummary) -> None:
    shown = escape(text_shown(scan.scan_id, kit.ID_CHARS))
    assert shown in message["text"]


@SETTINGS
@given(summaries, st.one_of(st.none(), events))
def test_any_parent_card_is_valid(scan: ScanSummary, latest: ScanEvent | None) -> None:
    message = valid(parent_card(scan, latest=latest, now=NOW))
    names_the_scan(message, scan)
    assert len(payload(message)) < 4 * MAX_TEXT


@SETTINGS
@given(alerts)
def test_any_alert_is_valid(any_alert: Alert) -> None:
    for message in (event_reply(any_alert), first_message(any_alert, now=NOW)):
        valid(message)
        names_the_scan(message, any_alert.event.summary)
        ids = [b["action_id"] for b in buttons(message)]
        assert ids in ([], [actions.action_id(actions.DETAILS, 0)])


@SETTINGS
@given(st.lists(alerts, max_size=120))
def test_any_digest_is_valid(some: list[Alert]) -> None:
    message = valid(digest(some))
    if some:
        assert f"{len(some):,} scan alert" in message["text"]


@TRIAGE_SETTINGS
@given(summaries, triage_views, times)
def test_any_parent_card_with_triage_is_valid(
    scan: ScanSummary, view: TriageView, now: datetime
) -> None:
    message = parent_card(scan, triage=view, now=now)
    valid_triage(message, users=users_of(view))
    assert len(json.dumps(message)) < 4 * MAX_TEXT
    ids = [e["action_id"] for e in elements(message)]
    assert len(ids) == len(set(ids))
    for element in elements(message):
        assert element.get("value", scan.scan_id) == scan.scan_id


@TRIAGE_SETTINGS
@given(alerts, triage_views, times)
def test_any_first_message_with_triage_is_valid(
    any_alert: Alert, view: TriageView, now: datetime
) -> None:
    valid_triage(first_message(any_alert, triage=view, now=now), users=users_of(view))
