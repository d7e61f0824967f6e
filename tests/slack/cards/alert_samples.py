"""What the alert-thread and subscription card tests share: sample values, hostile strings,
the checks every message passes, and hypothesis strategies of any input."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from scanbot.domain.events import SUBSCRIBABLE_EVENTS, Alert, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import Subscription
from scanbot.hostedscan.models import ScanState, ScanType
from scanbot.slack.kit import Message
from tests.slack.blockkit import assert_valid_message, parsed_payload, readable, rich_text_elements

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


def first_text(message: Message) -> str:
    return readable(message["blocks"][0])[0]


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


# --- any input ---------------------------------------------------------------------------

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
