"""What the triage, Home-tab and triaged parent-card tests share: the people, channel and
times they use, checks that allow only the bot's own mentions, dates and links, sample
values, and hypothesis strategies of any input."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import Acknowledgement, TriageView
from scanbot.hostedscan.models import Risk
from scanbot.slack import actions
from scanbot.slack.kit import Message
from tests.slack.blockkit import (
    assert_valid_message,
    assert_valid_view,
    parsed_payload,
    readable,
    rich_text_elements,
)

from .alert_samples import RAW, odd_text, summaries

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


def alert(kind: EventKind, *, risks: tuple[RiskDetail, ...] = (), **fields: Any) -> Alert:
    count = fields.pop("risk_count", 0)
    event = ScanEvent(kind=kind, summary=summary(**fields))
    return Alert(channel_id=CHANNEL, event=event, risks=risks, risk_count=count)


# --- any input ---------------------------------------------------------------------------

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
thread_rows = st.tuples(summaries, links, st.one_of(st.none(), times))
home_rows = st.tuples(summaries, channels, links)
