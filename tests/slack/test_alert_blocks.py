"""Alert and subscription renderers: each kind and state, limits, hostile strings, any input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanbot.domain.events import (
    DEFAULT_EVENTS,
    SUBSCRIBABLE_EVENTS,
    Alert,
    EventKind,
    RiskDetail,
    ScanEvent,
)
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import Subscription
from scanbot.hostedscan.models import ScanState, ScanType
from scanbot.scans.parse import SubscribeUsage, parse_scans_command
from scanbot.slack import actions, alert_blocks, blocks
from scanbot.slack.alert_blocks import (
    admin_note,
    describe_subscription,
    digest,
    event_reply,
    first_message,
    parent_card,
    subscribe_usage,
    subscribed,
    subscriptions_list,
    unsubscribed,
)
from scanbot.slack.blocks import Message
from scanbot.slack.text import escape
from scanbot.slack.text import shown as text_shown

from .blockkit import (
    MAX_BLOCKS,
    MAX_TEXT,
    assert_valid_message,
    hidden_characters,
    parsed_payload,
    readable,
    rich_markup,
    rich_text_elements,
)

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


def summary(**fields: Any) -> ScanSummary:
    data: dict[str, Any] = {
        "scan_id": "scan-123",
        "type": "OPENVAS",
        "state": "RUNNING",
        "progress": 30.0,
        "targets": ("shop.example.com", "10.0.0.1", "api.example.com"),
        "target_count": 3,
        "new_open": 2,
        "still_open": 5,
        "closed": 1,
    }
    data.update(fields)
    return ScanSummary.model_validate(data)


def event(kind: EventKind = EventKind.FINISHED, **fields: Any) -> ScanEvent:
    risk_ids = fields.pop("risk_ids", ())
    return ScanEvent(kind=kind, summary=summary(**fields), risk_ids=risk_ids)


def alert(
    kind: EventKind = EventKind.FINISHED,
    *,
    risks: tuple[RiskDetail, ...] = (),
    risk_count: int = 0,
    **fields: Any,
) -> Alert:
    return Alert(channel_id="C1", event=event(kind, **fields), risks=risks, risk_count=risk_count)


def risk(n: int = 1, **fields: Any) -> RiskDetail:
    data: dict[str, Any] = {
        "risk_id": f"risk-{n}",
        "title": f"Outdated TLS {n}",
        "threat_level": "HIGH",
        "target": "shop.example.com",
        "cvss": "7.5",
    }
    data.update(fields)
    return RiskDetail.model_validate(data)


def subscription(**fields: Any) -> Subscription:
    data: dict[str, Any] = {"id": 3, "channel_id": "C1"}
    data.update(fields)
    return Subscription.model_validate(data)


def payload(message: Message) -> str:
    return json.dumps(message, ensure_ascii=False)


def texts(message: Message) -> str:
    """What a reader sees, rich_text blocks as mrkdwn would write them."""
    return "\n".join(readable(message["blocks"]))


def literal(message: Message) -> list[str]:
    """The rich_text text elements: what Slack shows character for character."""
    return [e["text"] for e in rich_text_elements(message["blocks"]) if e["type"] == "text"]


def buttons(message: Message) -> list[dict[str, Any]]:
    found = []
    for block in message["blocks"]:
        if block["type"] == "actions":
            found += block["elements"]
        elif block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
    return found


def valid(message: Message) -> Message:
    assert_valid_message(message)
    raw = parsed_payload(message)
    for sequence in RAW:
        assert sequence not in raw
    return message


# --- the parent card ---------------------------------------------------------------------


def test_parent_card_of_a_running_scan() -> None:
    message = valid(parent_card(summary(target_count=7)))
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
    message = valid(parent_card(summary(state=state)))
    assert f"*State:* {shown}" in texts(message)
    assert ("30%" in texts(message)) is progress_line


def test_parent_card_without_progress_while_running() -> None:
    message = valid(parent_card(summary(progress=None)))
    assert "progress not reported" in texts(message)


@pytest.mark.parametrize("progress", [float("nan"), float("inf"), -5.0, 250.0])
def test_parent_card_with_odd_progress(progress: float) -> None:
    valid(parent_card(summary(progress=progress)))


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
    message = valid(parent_card(summary(targets=targets, target_count=count)))
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
    message = valid(parent_card(summary(), latest=event(kind, **fields)))
    assert message["blocks"][-2] == {
        "type": "context",
        "elements": [{"type": "plain_text", "text": latest, "emoji": False}],
    }


@pytest.mark.parametrize("scan_id", ["a<b", "a&b", "", "   ", "x" * 2001])
def test_parent_card_of_an_id_no_button_can_carry(scan_id: str) -> None:
    message = valid(parent_card(summary(scan_id=scan_id)))
    assert buttons(message) == []


def test_parent_card_of_a_hostile_scan() -> None:
    hostile = summary(
        scan_id="<!channel>",
        type="<https://evil.example|bank.com>",
        state="<!here>",
        targets=tuple(HOSTILE[:5]),
        target_count=len(HOSTILE),
    )
    message = valid(parent_card(hostile, latest=ScanEvent(kind=EventKind.GONE, summary=hostile)))
    assert "&lt;!channel&gt;" in message["text"]
    assert "<https://evil.example|bank.com>" in literal(message)
    assert any(" · <https://evil.example|bank.com>" in text for text in literal(message))


# --- thread replies ----------------------------------------------------------------------


def first_text(message: Message) -> str:
    return readable(message["blocks"][0])[0]


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
    assert len(lines) == alert_blocks.MAX_RISKS
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
    for make in (event_reply, first_message):
        message = valid(make(alert(EventKind.RISKS, risks=risks, risk_count=10**9, scan_id=long)))
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
    message = valid(first_message(finished))
    card = parent_card(finished.event.summary, latest=finished.event)
    assert message["blocks"] == card["blocks"]
    assert message["text"] == "Scan scan-123 (OpenVAS) finished: failed"
    assert [b["action_id"] for b in buttons(message)] == ["scanbot:v1:details:0"]


def test_first_message_of_risks_adds_the_list() -> None:
    risks = tuple(risk(n) for n in range(20))
    message = valid(first_message(alert(EventKind.RISKS, risks=risks, risk_count=20)))
    assert message["blocks"][-1]["elements"][0]["text"] == "and 5 more"
    assert "Outdated TLS 0" in texts(message)
    assert message["text"] == "Scan scan-123 (OpenVAS): 20 new open risks"


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_of_first_message_and_reply(kind: EventKind) -> None:
    for make in (first_message, event_reply):
        message = valid(make(alert(kind)))
        assert "scan-123" in message["text"]


def test_a_kind_newer_than_the_renderer_still_reads() -> None:
    newer = ScanEvent.model_construct(kind="paused", summary=summary())  # type: ignore[arg-type]
    odd = Alert.model_construct(channel_id="C1", event=newer, risks=(), risk_count=0)
    assert first_text(valid(event_reply(odd))) == "🔄 Scan `scan-123` (OpenVAS): paused"
    assert "Latest: paused" in texts(valid(first_message(odd)))
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
    assert len(listed) == alert_blocks.MAX_DIGEST
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


# --- subscriptions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            {"types": ("OPENVAS",), "target_contains": "shop", "min_severity": "MEDIUM"},
            "#3: finished and risks of OpenVAS scans with a target containing “shop”, "
            "risks of medium severity or higher",
        ),
        ({}, "#3: finished and risks of all scans"),
        ({"events": SUBSCRIBABLE_EVENTS}, "#3: started, finished, failed and risks of all scans"),
        ({"events": ("failed",)}, "#3: failed of all scans"),
        ({"events": ()}, "#3: no events of all scans"),
        (
            {"types": ("NMAP", "OWASP_ZAP", "NEW_SCANNER")},
            "#3: finished and risks of NMAP, OWASP ZAP or NEW_SCANNER scans",
        ),
        (
            {"target_contains": "<!channel>", "events": ("<@U1>",)},
            "#3: <@U1> of all scans with a target containing “<!channel>”",  # as shown
        ),
        (
            {"target_contains": "*URGENT*\u202e", "events": ("~x~",)},
            "#3: ~x~ of all scans with a target containing “*URGENT*\N{REPLACEMENT CHARACTER}”",
        ),
        (
            {"min_severity": "HIGH"},
            "#3: finished and risks of all scans, risks of high severity or higher",
        ),
    ],
)
def test_describe_subscription(fields: dict[str, Any], words: str) -> None:
    assert describe_subscription(subscription(**fields)) == words


def test_describe_matches_what_was_parsed() -> None:
    command = parse_scans_command("subscribe openvas target:shop severity:medium")
    assert not isinstance(command, SubscribeUsage)
    fields = vars(command)
    assert describe_subscription(subscription(**fields)) == (
        "#3: finished and risks of OpenVAS scans with a target containing “shop”, "
        "risks of medium severity or higher"
    )


def test_no_subscriptions_says_how_to_subscribe() -> None:
    message = valid(subscriptions_list([]))
    assert message["text"] == "This channel has no alert subscriptions."
    assert "`/scans subscribe`" in texts(message)


def test_subscriptions_list() -> None:
    subs = [
        subscription(id=1, from_env=True),
        subscription(id=4, types=("SSLYZE",), disabled_reason="not_in_channel <!here>"),
    ]
    message = valid(subscriptions_list(subs))
    assert message["blocks"][0]["text"]["text"] == "2 alert subscriptions in this channel"
    assert rich_markup(message["blocks"][1]) == (
        "• #1: finished and risks of all scans (set by `SCANBOT_ALERT_CHANNEL`)\n"
        "• #4: finished and risks of SSLyze scans\n"
        "⏸️ Disabled: not_in_channel <!here>"
    )
    assert message["text"] == "2 alert subscriptions in this channel: #1 and #4"


def test_many_subscriptions_stay_within_limits() -> None:
    long = "<!channel>" * 100
    subs = [
        subscription(
            id=n,
            types=tuple(ScanType),
            target_contains=long,
            min_severity="LOW",
            events=SUBSCRIBABLE_EVENTS,
            disabled_reason=long,
        )
        for n in range(300)
    ]
    message = valid(subscriptions_list(subs))
    assert "more" in texts(message)
    assert "and 290 more" in message["text"]


def test_subscribed() -> None:
    message = valid(subscribed(subscription(events=("risks",), min_severity="HIGH")))
    assert first_text(message) == (
        "✅ Subscribed #3: risks of all scans, risks of high severity or higher.\n"
        "Alerts go to this channel; `/scans unsubscribe 3` stops them."
    )
    assert message["text"] == "Subscribed #3: risks of all scans, risks of high severity or higher."


def test_subscribed_with_a_hostile_target() -> None:
    message = valid(subscribed(subscription(target_contains="<https://evil.example|bank.com>")))
    assert "“&lt;https://evil.example|bank.com&gt;”" in message["text"]


def test_subscription_announcement_names_who_and_what() -> None:
    sub = subscription(target_contains="*shop*\u202e", events=("risks",))
    message = alert_blocks.subscription_announcement(sub, "U0ALICE")
    assert_valid_message(message, allowed_mentions={"<@U0ALICE>"})
    assert first_text(message) == (
        "<@U0ALICE> subscribed this channel to scan alerts: #3: risks of all scans with a "
        "target containing “*shop*\N{REPLACEMENT CHARACTER}”."
    )
    assert message["text"] == (
        "<@U0ALICE> subscribed this channel to scan alerts: #3: risks of all scans with a "
        "target containing “\N{FULLWIDTH ASTERISK}shop\N{FULLWIDTH ASTERISK}"
        "\N{REPLACEMENT CHARACTER}”."
    )
    by_someone_odd = alert_blocks.subscription_announcement(sub, "<!channel>")
    assert_valid_message(by_someone_odd)
    assert first_text(by_someone_odd).startswith("<!channel> subscribed")  # literal text


@pytest.mark.parametrize(
    ("count", "subscription_id", "text"),
    [
        (1, 3, "Unsubscribed #3: no more of its alerts in this channel."),
        (0, 3, "This channel has no subscription #3. `/scans subscriptions` lists them."),
        (5, None, "Unsubscribed all 5 subscriptions: this channel gets no more scan alerts."),
        (1, None, "Unsubscribed this channel's only subscription: no more scan alerts here."),
        (0, None, "This channel had no subscriptions: there was nothing to stop."),
    ],
)
def test_unsubscribed(count: int, subscription_id: int | None, text: str) -> None:
    message = valid(unsubscribed(count, subscription_id))
    assert message["text"] == text
    assert first_text(message) == text


@pytest.mark.parametrize(
    "text",
    [
        "subscribe running",
        "subscribe by:alice",
        "subscribe <!channel>",
        "subscribe target:",
        "subscribe help",
        "unsubscribe",
        "unsubscribe <https://evil.example|bank.com>",
        "subscriptions &",
    ],
)
def test_subscribe_usage_for_what_the_parser_refuses(text: str) -> None:
    usage = parse_scans_command(text)
    assert isinstance(usage, SubscribeUsage)
    message = valid(subscribe_usage(usage.unknown, usage.suggestion, usage.reason))
    assert "/scans subscribe" in message["text"]
    if usage.reason:
        assert usage.reason.split()[-1] in texts(message)


def test_subscribe_usage_names_the_word_and_the_suggestion() -> None:
    message = valid(subscribe_usage("running", "started", "Subscriptions take events."))
    assert first_text(message) == (
        "scanbot cannot use `running` here. Did you mean `started`? Subscriptions take events."
    )
    assert message["text"].startswith(
        "scanbot cannot use “running” here. Did you mean “started”? Subscriptions take events."
    )


def test_subscribe_usage_names_every_event_and_the_default() -> None:
    text = texts(valid(subscribe_usage()))
    for word in SUBSCRIBABLE_EVENTS:
        assert f"`{word}`" in text
    assert " ".join(f"`{e}`" for e in DEFAULT_EVENTS) in text


# --- admin notes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("HostedScan polling fails: 503", "🛠️ HostedScan polling fails: 503"),
        ("error <!channel> & <https://evil.example|x>", "🛠️ error <!channel> & <https://evil"),
        ("*URGENT* ~x~\u202e", "🛠️ *URGENT* ~x~\N{REPLACEMENT CHARACTER}"),
        ("", "🛠️ (no details)"),
        ("  \n ", "🛠️ (no details)"),
        ("x" * 20_000, "🛠️ xxx"),
    ],
)
def test_admin_note(text: str, shown: str) -> None:
    message = valid(admin_note(text))
    assert first_text(message).startswith(shown)
    assert message["text"].startswith("scanbot: ")


# --- anything ----------------------------------------------------------------------------

odd_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(alphabet="<>&!@#|`*_~ \n\taé漢🔥", max_size=80),
    st.builds(lambda part, n: part * n, st.sampled_from([*HOSTILE, "é", "`"]), st.integers(1, 400)),
)
state_text = st.one_of(st.sampled_from(list(ScanState)).map(str), odd_text)
type_text = st.one_of(st.sampled_from(list(ScanType)).map(str), odd_text)
counts = st.integers(0, 10**9)

summaries = st.builds(
    ScanSummary,
    scan_id=odd_text,
    type=type_text,
    state=state_text,
    progress=st.one_of(st.none(), st.floats()),
    targets=st.lists(odd_text, max_size=5).map(tuple),
    target_count=counts,
    new_open=counts,
    still_open=counts,
    closed=counts,
)
events = st.builds(
    ScanEvent,
    kind=st.sampled_from(list(EventKind)),
    summary=summaries,
    previous_state=st.one_of(st.none(), state_text),
    risk_ids=st.lists(odd_text, max_size=20).map(tuple),
)
risk_details = st.builds(
    RiskDetail,
    risk_id=odd_text,
    title=odd_text,
    threat_level=st.one_of(st.sampled_from(["HIGH", "MEDIUM", "LOW"]), odd_text),
    target=odd_text,
    cvss=st.one_of(st.none(), odd_text),
)
alerts = st.builds(
    Alert,
    channel_id=st.just("C1"),
    event=events,
    risks=st.one_of(
        st.lists(risk_details, max_size=20).map(tuple),
        st.builds(lambda one, n: (one,) * n, risk_details, st.integers(0, 900)),
    ),
    risk_count=st.integers(0, 10**6),
)
subscriptions = st.builds(
    Subscription,
    id=st.integers(0, 10**18),
    channel_id=st.just("C1"),
    types=st.lists(type_text, max_size=8).map(tuple),
    target_contains=st.one_of(st.none(), odd_text),
    min_severity=st.one_of(st.none(), st.sampled_from(["LOW", "MEDIUM", "HIGH"]), odd_text),
    events=st.lists(st.one_of(st.sampled_from(SUBSCRIBABLE_EVENTS), odd_text), max_size=5).map(
        tuple
    ),
    from_env=st.booleans(),
    disabled_reason=st.one_of(st.none(), odd_text),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def names_the_scan(message: Message, scan: ScanSummary) -> None:
    shown = escape(text_shown(scan.scan_id, blocks.ID_CHARS))
    assert shown in message["text"]


@SETTINGS
@given(summaries, st.one_of(st.none(), events))
def test_any_parent_card_is_valid(scan: ScanSummary, latest: ScanEvent | None) -> None:
    message = valid(parent_card(scan, latest=latest))
    names_the_scan(message, scan)
    assert len(payload(message)) < 4 * MAX_TEXT


@SETTINGS
@given(alerts)
def test_any_alert_is_valid(any_alert: Alert) -> None:
    for make in (event_reply, first_message):
        message = valid(make(any_alert))
        names_the_scan(message, any_alert.event.summary)
        ids = [b["action_id"] for b in buttons(message)]
        assert ids in ([], [actions.action_id(actions.DETAILS, 0)])


@SETTINGS
@given(st.lists(alerts, max_size=120))
def test_any_digest_is_valid(some: list[Alert]) -> None:
    message = valid(digest(some))
    if some:
        assert f"{len(some):,} scan alert" in message["text"]


@SETTINGS
@given(st.lists(subscriptions, max_size=60), subscriptions, st.integers(-1, 10**6))
def test_any_subscription_message_is_valid(
    some: list[Subscription], one: Subscription, count: int
) -> None:
    valid(subscriptions_list(some))
    valid(subscribed(one))
    valid(unsubscribed(count, one.id))
    valid(unsubscribed(count, None))
    words = describe_subscription(one)
    assert words.startswith(f"#{one.id}: ")
    assert not hidden_characters({"words": words})


@SETTINGS
@given(st.one_of(st.none(), odd_text), st.one_of(st.none(), odd_text), odd_text)
def test_any_usage_and_note_are_valid(
    unknown: str | None, suggestion: str | None, text: str
) -> None:
    valid(subscribe_usage(unknown, suggestion, text))
    valid(admin_note(text))
