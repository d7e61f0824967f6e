"""`/scans` and `/scan` cards: lists, details and usage; limits, hostile strings, any input."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanbot.hostedscan.models import Scan, ScanState, ScanType
from scanbot.scans.listing import ScanListing
from scanbot.scans.query import ScanQuery
from scanbot.slack import actions, payloads
from scanbot.slack.cards import scans as cards
from scanbot.slack.kit import Message

from ..blockkit import (
    MAX_TEXT,
    assert_valid_message,
    parsed_payload,
    readable,
    rich_markup,
    rich_text_elements,
)
from .alert_samples import buttons, payload

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0123ABCD>",
    "<#C0123ABCD>",
    "<https://evil.example|bank.com>",
    "<mailto:ceo@bank.com|support>",
    "&lt;!channel&gt;",
    "a & b > c < d",
]
DASH, TIMES = (
    cards.EN_DASH,
    cards.TIMES,
)  # spelt out: ruff flags the characters as confusable
RAW = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0123ABCD>",
    "<#C0123",
    "<https://evil",
    "<mailto:",
]


def scan(**fields: Any) -> Scan:
    data: dict[str, Any] = {
        "id": "5f0c1a2b3c4d",
        "type": "OPENVAS",
        "state": "RUNNING",
        "progress": 30,
        "requested_targets": [
            {"target_id": "t1", "target": "example.com"},
            {"target_id": "t2", "target": "10.0.0.1"},
            {"target_id": "t3", "target": "internal.example"},
        ],
        "resolved_targets": [{"target_id": "t1", "resolved_target": "93.184.216.34"}],
        "skipped_targets": [{"target_id": "t3", "skipped_reason": "private address"}],
        "risks": {
            "new_open": [{"risk_id": "risk-new-1"}, {"risk_id": "risk-new-2"}],
            "still_open": [{"risk_id": "risk-old-1"}],
            "closed": [],
        },
        "results": [
            {"result_id": "r1", "content_type": "application/pdf"},
            {"result_id": "r2", "content_type": "text/html"},
        ],
    }
    data.update(fields)
    return Scan.model_validate(data)


def listing(
    entries: list[Scan],
    *,
    total: int | None = None,
    offset: int = 0,
    query: ScanQuery | None = None,
    by_state: dict[str, int] | None = None,
    by_type: dict[str, int] | None = None,
) -> ScanListing:
    return ScanListing(
        query or ScanQuery(),
        len(entries) if total is None else total,
        tuple(entries),
        offset,
        {"RUNNING": len(entries)} if by_state is None else by_state,
        {"OPENVAS": len(entries)} if by_type is None else by_type,
    )


def texts(message: Message) -> list[str]:
    """What a reader sees, text object by text object, rich_text blocks as mrkdwn would
    write them."""
    return readable(message["blocks"])


def assert_inert(message: Message) -> None:
    raw = parsed_payload(message)
    for sequence in RAW:
        assert sequence not in raw


# --- scan_list -------------------------------------------------------------------------


def test_list_header_counts_every_scan_and_says_the_filter() -> None:
    query = ScanQuery(states=("RUNNING",), types=("OPENVAS",))
    message = cards.scan_list(listing([scan()] * 10, total=12, query=query))
    assert_valid_message(message)
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "12 running OpenVAS scans", "emoji": False},
    }
    assert message["text"].startswith("12 running OpenVAS scans")


@pytest.mark.parametrize(
    ("query", "total", "title"),
    [
        (ScanQuery(), 57, "57 scans"),
        (ScanQuery(), 1, "1 scan"),
        (ScanQuery(states=("QUEUED", "RUNNING")), 1, "1 queued or running scan"),
        (ScanQuery(types=("NMAP", "OWASP_ZAP", "SSLYZE")), 3, "3 NMAP, OWASP ZAP or SSLyze scans"),
        (ScanQuery(scheduled_by=("alice",)), 1234, "1,234 scans scheduled by alice"),
        (ScanQuery(scheduled_by=("<!channel>",)), 2, "2 scans scheduled by &lt;!channel&gt;"),
    ],
)
def test_list_title(query: ScanQuery, total: int, title: str) -> None:
    message = cards.scan_list(listing([scan()], total=total, query=query))
    assert_valid_message(message)
    assert message["blocks"][0]["text"]["text"] == title


def test_list_summary_comes_from_the_totals_not_the_page() -> None:
    by_state = {"RUNNING": 3, "SUCCEEDED": 40, "QUEUED": 14}
    by_type = {"OPENVAS": 50, "NMAP": 7}
    message = cards.scan_list(listing([scan()] * 10, total=57, by_state=by_state, by_type=by_type))
    assert_valid_message(message)
    summary = message["blocks"][1]
    assert summary["type"] == "context"
    assert summary["elements"][0]["text"] == (
        "✅ 40 succeeded · ⏳ 14 queued · 🔄 3 running   |   50 OpenVAS · 7 NMAP"
    )


def test_list_summary_names_a_few_kinds_then_how_many_more() -> None:
    by_state = {f"STATE_{i}": i + 1 for i in range(20)}
    message = cards.scan_list(listing([scan()], total=210, by_state=by_state, by_type={}))
    assert_valid_message(message)
    line = message["blocks"][1]["elements"][0]["text"]
    assert line.startswith("❔ 20 state_19 · ❔ 19 state_18")
    assert line.endswith("and 14 more states")


def test_list_entry_is_compact() -> None:
    message = cards.scan_list(listing([scan()]))
    assert_valid_message(message)
    entry = message["blocks"][2]
    assert entry["text"] == {
        "type": "plain_text",
        "text": "5f0c1a2b3c4d · OpenVAS · 🔄 running\n"
        "▰▰▰▱▱▱▱▱▱▱ 30%\n"
        "Targets: example.com +2 more\n"
        "Risks: 2 new · 1 still open · 0 closed",
        "emoji": False,
    }
    assert entry["accessory"] == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Details", "emoji": True},
        "action_id": "scanbot:v1:details:0",
        "value": "5f0c1a2b3c4d",
    }


@pytest.mark.parametrize(
    ("fields", "lines"),
    [
        ({"state": "SUCCEEDED", "progress": 100}, ["5f0c1a2b3c4d · OpenVAS · ✅ succeeded"]),
        ({"progress": None}, ["5f0c1a2b3c4d · OpenVAS · 🔄 running", "progress not reported"]),
        ({"requested_targets": []}, ["Targets: none"]),
        ({"requested_targets": [{"target": "only.example"}]}, ["Targets: only.example"]),
        (
            {"requested_targets": [{"target": f"h{i}.example"} for i in range(500)]},
            ["Targets: h0.example +499 more"],
        ),
        ({"type": "NEW_SCANNER", "state": "PAUSED"}, ["5f0c1a2b3c4d · NEW_SCANNER · ❔ paused"]),
        ({"type": None, "state": None}, ["5f0c1a2b3c4d · unknown type · ❔ unknown state"]),
        ({"type": "*NEW*", "state": "~x~"}, ["5f0c1a2b3c4d · *NEW* · ❔ ~x~"]),
    ],
)
def test_list_entry_variants(fields: dict[str, Any], lines: list[str]) -> None:
    message = cards.scan_list(listing([scan(**fields)]))
    assert_valid_message(message)
    shown = message["blocks"][2]["text"]["text"].split("\n")
    for line in lines:
        assert line in shown


def test_list_first_page_with_more_to_come() -> None:
    query = ScanQuery(states=("RUNNING",), scheduled_by=("alice",))
    entries = [scan(id=f"scan{i}") for i in range(10)]
    message = cards.scan_list(listing(entries, total=57, query=query))
    assert_valid_message(message)
    details = [
        b for b in buttons(message) if actions.pattern(actions.DETAILS).search(b["action_id"])
    ]
    assert [b["value"] for b in details] == [f"scan{i}" for i in range(10)]
    assert len({b["action_id"] for b in details}) == 10
    *_, actions_block, context = message["blocks"]
    [next_button] = actions_block["elements"]
    assert next_button["text"]["text"] == "Next"
    assert actions.pattern(actions.NEXT).search(next_button["action_id"])
    assert payloads.parse_next_value(next_button["value"]) == ("running by:alice", 10)
    assert context["elements"][0]["text"] == f"Showing 1{DASH}10 of 57"


def test_list_middle_page() -> None:
    message = cards.scan_list(listing([scan()] * 10, total=57, offset=10))
    assert_valid_message(message)
    next_button = message["blocks"][-2]["elements"][0]
    assert payloads.parse_next_value(next_button["value"]) == ("", 20)
    assert message["blocks"][-1]["elements"][0]["text"] == f"Showing 11{DASH}20 of 57"
    assert message["text"] == f"57 scans (showing 11{DASH}20)"


def test_list_last_page_has_no_next_button() -> None:
    message = cards.scan_list(listing([scan()] * 7, total=57, offset=50))
    assert_valid_message(message)
    assert not any(actions.pattern(actions.NEXT).search(b["action_id"]) for b in buttons(message))
    assert message["blocks"][-1]["elements"][0]["text"] == f"Showing 51{DASH}57 of 57"


def test_list_of_everything_on_one_screen_has_no_footer() -> None:
    message = cards.scan_list(listing([scan()] * 3))
    assert_valid_message(message)
    assert [b["type"] for b in message["blocks"]] == ["header", "context"] + ["section"] * 3
    assert message["text"] == "3 scans"


def test_list_shows_at_most_15_and_the_next_button_goes_on_from_there() -> None:
    entries = [scan(id=f"scan{i}") for i in range(40)]
    message = cards.scan_list(listing(entries, total=100, offset=20))
    assert_valid_message(message)
    assert sum(b["type"] == "section" for b in message["blocks"]) == 15
    next_button = message["blocks"][-2]["elements"][0]
    assert payloads.parse_next_value(next_button["value"]) == ("", 35)
    assert message["blocks"][-1]["elements"][0]["text"] == f"Showing 21{DASH}35 of 100"


def test_list_without_room_for_the_query_in_a_button_still_says_where_it_is() -> None:
    query = ScanQuery(scheduled_by=tuple(f"{'x' * 60}{i}" for i in range(40)))
    message = cards.scan_list(listing([scan()] * 10, total=57, query=query))
    assert_valid_message(message)
    assert not any(b["type"] == "actions" for b in message["blocks"])
    assert message["blocks"][-1]["elements"][0]["text"] == f"Showing 1{DASH}10 of 57"


def test_list_button_less_scan_ids() -> None:
    entries = [scan(id="<!channel>"), scan(id=""), scan(id="ok")]
    message = cards.scan_list(listing(entries))
    assert_valid_message(message)
    assert [b["value"] for b in buttons(message)] == ["ok"]
    assert "&lt;!channel&gt; · OpenVAS" in payload(message)


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        (ScanQuery(), "There are no scans."),
        (
            ScanQuery(states=("RUNNING",), types=("OPENVAS",)),
            "There are no running OpenVAS scans.",
        ),
        (
            ScanQuery(types=("NMAP",), scheduled_by=("<@U123>", "bob")),
            "There are no NMAP scans scheduled by &lt;@U123&gt; or bob.",
        ),
        (
            ScanQuery(scheduled_by=("*alice*",)),
            "There are no scans scheduled by *alice*.",
        ),
    ],
)
def test_empty_listing_is_one_sentence(query: ScanQuery, sentence: str) -> None:
    message = cards.scan_list(listing([], query=query, by_state={}, by_type={}))
    assert_valid_message(message)
    plain = {"type": "plain_text", "text": sentence, "emoji": False}
    assert message == {
        "text": sentence.replace("*", "\N{FULLWIDTH ASTERISK}"),
        "blocks": [{"type": "section", "text": plain}],
    }


def test_listing_past_its_end_says_so() -> None:
    message = cards.scan_list(listing([], total=5, offset=20))
    assert_valid_message(message)
    assert message["text"] == "There are no more scans: the list ends at 5."


def test_list_of_the_longest_strings_stays_within_every_limit() -> None:
    huge = "<!channel>&" * 2000
    query = ScanQuery(states=(huge,) * 9, types=(huge,) * 9, scheduled_by=(huge,) * 9)
    heavy = scan(
        id=huge,
        type=huge,
        state="RUNNING",
        requested_targets=[{"target": huge}] * 500,
        risks={"new_open": [{"risk_id": huge}] * 500},
    )
    counts = {f"{huge}{i}": i for i in range(30)}
    message = cards.scan_list(
        listing([heavy] * 40, total=10**6, query=query, by_state=counts, by_type=counts)
    )
    assert_valid_message(message)
    assert_inert(message)
    assert sum(b["type"] == "section" for b in message["blocks"]) == cards.MAX_ENTRIES


def test_hostile_listing_is_inert() -> None:
    query = ScanQuery(states=("<!here>",), types=("<!everyone>",), scheduled_by=tuple(HOSTILE))
    entries = [
        scan(
            id=text,
            type=text,
            state=text,
            requested_targets=[{"target_id": text, "target": text}],
            risks={"new_open": [{"risk_id": text}]},
        )
        for text in HOSTILE
    ]
    by_state = {text: 1 for text in HOSTILE}
    message = cards.scan_list(
        listing(entries, total=99, query=query, by_state=by_state, by_type=by_state)
    )
    assert_valid_message(message)
    assert_inert(message)
    raw = payload(message)
    assert "&lt;!channel&gt;" in raw
    assert "&lt;https://evil.example|bank.com&gt;" in raw
    assert "&amp;lt;!channel&amp;gt;" in raw  # escaped text from outside stays text
    assert "&lt;!here&gt;" in message["text"]


# --- scan_detail -----------------------------------------------------------------------


def test_detail_of_a_normal_scan() -> None:
    message = cards.scan_detail(scan())
    assert_valid_message(message)
    header, facts, risks, requested, resolved, skipped, buttons_block = message["blocks"]
    assert header["text"]["text"] == "OpenVAS scan · 🔄 running"
    assert rich_markup(facts).splitlines() == [
        "*Scan ID:* `5f0c1a2b3c4d`",
        "*State:* 🔄 running",
        "*Type:* OpenVAS",
        "*Progress:* ▰▰▰▱▱▱▱▱▱▱ 30%",
        "*Result files:* 2 files: PDF, HTML",
    ]
    assert rich_markup(risks) == (
        "*Risks:* 2 new · 1 still open · 0 closed\n*New:* `risk-new-1`, `risk-new-2`"
    )
    assert rich_markup(requested) == (
        "*Requested targets (3):*\n• `example.com`\n• `10.0.0.1`\n• `internal.example`"
    )
    assert rich_markup(resolved) == "*Resolved targets (1):*\n• `93.184.216.34`"
    assert rich_markup(skipped) == "*Skipped targets (1):*\n• `internal.example`: private address"
    assert [(b["text"]["text"], b["value"]) for b in buttons_block["elements"]] == [
        ("Refresh", "5f0c1a2b3c4d"),
        ("Share in channel", "5f0c1a2b3c4d"),
    ]
    refresh, share = buttons_block["elements"]
    assert actions.pattern(actions.REFRESH).search(refresh["action_id"])
    assert actions.pattern(actions.SHARE).search(share["action_id"])
    assert message["text"] == "OpenVAS scan 5f0c1a2b3c4d: running"


def test_shared_copy_names_who_shared_it_and_cannot_be_shared_again() -> None:
    message = cards.scan_detail(scan(), shared_by="U0123ABCD")
    assert_valid_message(message, allowed_mentions={"<@U0123ABCD>"})
    with pytest.raises(AssertionError):
        assert_valid_message(message)  # the mention is there, and only by permission
    assert {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Shared by <@U0123ABCD>"}],
    } in (message["blocks"])
    kinds = [b["action_id"] for b in buttons(message)]
    assert len(kinds) == 1
    assert actions.pattern(actions.REFRESH).search(kinds[0])
    assert "<@" not in message["text"]


@pytest.mark.parametrize(
    ("shared_by", "shown"),
    [("<!channel>", "&lt;!channel&gt;"), ("", "someone"), ("not-an-id", "not-an-id")],
)
def test_shared_by_something_not_a_user_id_is_only_text(shared_by: str, shown: str) -> None:
    message = cards.scan_detail(scan(), shared_by=shared_by)
    assert_valid_message(message)
    assert f"Shared by {shown}" in texts(message)


def test_detail_of_a_scan_with_only_an_id() -> None:
    message = cards.scan_detail(Scan.model_validate({"id": "bare"}))
    assert_valid_message(message)
    shown = texts(message)
    assert "unknown type scan · ❔ unknown state" in shown
    assert "*Progress:* progress not reported" in shown[1].splitlines()
    assert "*Result files:* none yet" in shown[1].splitlines()
    assert "*Risks:* 0 new · 0 still open · 0 closed" in shown
    assert "*Requested targets:* none" in shown
    assert not any("Resolved" in text or "Skipped" in text for text in shown)


def test_detail_with_nulls_everywhere() -> None:
    nulls = dict.fromkeys(
        ["type", "state", "progress", "risks", "results", "requested_targets", "resolved_targets"],
        None,
    )
    message = cards.scan_detail(scan(**nulls, skipped_targets=[{"skipped_reason": None}]))
    assert_valid_message(message)
    assert "*Skipped targets (1):*\n• (blank): _no reason given_" in texts(message)


def test_detail_of_unknown_type_and_state() -> None:
    message = cards.scan_detail(scan(type="QUANTUM_SCAN", state="PAUSED"))
    assert_valid_message(message)
    assert message["blocks"][0]["text"]["text"] == "QUANTUM_SCAN scan · ❔ paused"


def test_detail_result_kinds_are_counted() -> None:
    results = [
        {"result_id": str(i), "content_type": kind}
        for i, kind in enumerate(
            ["text/html", "application/pdf", "text/html", "application/xml", "image/<png>", ""]
        )
    ]
    message = cards.scan_detail(scan(results=results))
    assert_valid_message(message)
    facts = texts(message)[1].splitlines()
    assert f"*Result files:* 6 files: HTML {TIMES}2, PDF, XML, image/<png>, unknown" in facts


@pytest.mark.parametrize("count", [0, 1, 500])
def test_detail_fits_any_number_of_targets_and_risks(count: int) -> None:
    many = scan(
        requested_targets=[
            {"target_id": f"t{i}", "target": f"host{i}.example"} for i in range(count)
        ],
        resolved_targets=[
            {"target_id": f"t{i}", "resolved_target": f"10.0.{i}"} for i in range(count)
        ],
        skipped_targets=[{"target_id": f"t{i}", "skipped_reason": "down"} for i in range(count)],
        risks={
            kind: [{"risk_id": f"r{i}"} for i in range(count)]
            for kind in ("new_open", "still_open", "closed")
        },
        results=[{"result_id": f"f{i}", "content_type": "application/pdf"} for i in range(count)],
    )
    message = cards.scan_detail(many)
    assert_valid_message(message)
    shown = "\n".join(texts(message))
    assert f"*Risks:* {count} new · {count} still open · {count} closed" in shown
    if count == 500:
        assert "*Requested targets (500):*\n• `host0.example`" in shown
        assert "• `host9.example`\nand 490 more" in shown
        assert "• `10.0.9`\nand 490 more" in shown
        assert "• `host9.example`: down\nand 490 more" in shown
        assert "`r4`, and 495 more" in shown
        assert f"500 files: PDF {TIMES}500" in shown
    elif count == 1:
        assert "*Requested targets (1):*\n• `host0.example`" in shown
        assert "more" not in shown
    else:
        assert "*Requested targets:* none" in shown


def test_detail_of_the_longest_strings_stays_within_every_limit() -> None:
    huge = "<!channel>&" * 2000
    message = cards.scan_detail(
        scan(
            id=huge,
            type=huge,
            state=huge,
            progress=1e308,
            requested_targets=[{"target_id": str(i), "target": huge} for i in range(300)],
            resolved_targets=[{"resolved_target": huge}] * 300,
            skipped_targets=[{"target_id": str(i), "skipped_reason": huge} for i in range(300)],
            risks={"new_open": [{"risk_id": huge}] * 300},
            results=[{"result_id": str(i), "content_type": f"{huge}{i}"} for i in range(300)],
        ),
        shared_by=huge,
    )
    assert_valid_message(message)
    assert_inert(message)
    assert buttons(message) == []  # no button can carry such an id


def test_hostile_scan_is_inert_everywhere() -> None:
    for text in HOSTILE:
        hostile = scan(
            id=text,
            type=text,
            state=text,
            requested_targets=[{"target_id": "t", "target": text}],
            resolved_targets=[{"target_id": "t", "resolved_target": text}],
            skipped_targets=[{"target_id": "t", "skipped_reason": text}],
            risks={"new_open": [{"risk_id": text}]},
            results=[{"result_id": "r", "content_type": text}],
        )
        for shared_by in (None, text):
            message = cards.scan_detail(hostile, shared_by=shared_by)
            assert_valid_message(message)
            assert_inert(message)
    message = cards.scan_detail(
        scan(requested_targets=[{"target": "<https://evil.example|bank.com>"}])
    )
    # Literal text where Slack links nothing, nowhere else.
    target = {"type": "text", "text": "<https://evil.example|bank.com>", "style": {"code": True}}
    assert target in rich_text_elements(message["blocks"])
    assert "evil.example" not in parsed_payload(message)


def test_newlines_from_outside_cannot_break_the_layout() -> None:
    message = cards.scan_detail(scan(type="A\nB", requested_targets=[{"target": "a\n\n*b*\r\n"}]))
    assert_valid_message(message)
    assert message["blocks"][0]["text"]["text"] == "A B scan · 🔄 running"
    assert "• `a *b*`" in "\n".join(texts(message))


# --- usage ---------------------------------------------------------------------------


def test_usage_names_every_state_and_type_as_typed() -> None:
    message = cards.usage()
    assert_valid_message(message)
    assert len(message["blocks"]) == 1
    shown = texts(message)[0]
    for word in [*ScanState, *ScanType]:
        assert f"`{word.lower()}`" in shown
    assert "/scan &lt;scan id&gt;" in shown
    assert message["text"].startswith("Usage: /scans")


def test_usage_after_an_unknown_word() -> None:
    message = cards.usage("runing", "running")
    assert_valid_message(message)
    assert texts(message)[0] == "scanbot does not know `runing`. Did you mean `running`?"
    assert message["text"].startswith("scanbot does not know “runing”. Did you mean “running”?")


@pytest.mark.parametrize("unknown", [*HOSTILE, "", "  ", "x" * 5000, "a`b"])
def test_usage_echoes_any_word_safely(unknown: str) -> None:
    message = cards.usage(unknown, unknown)
    assert_valid_message(message)
    assert_inert(message)


# --- any scan, any listing -------------------------------------------------------------

odd_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(alphabet="<>&!@#|`*_~ \n\taé漢🔥", max_size=80),
    st.builds(
        lambda part, n: part * n, st.sampled_from([*HOSTILE, "é", "🔥"]), st.integers(1, 600)
    ),
)
maybe_text = st.one_of(st.none(), odd_text)
state_text = st.one_of(st.sampled_from(list(ScanState)).map(str), odd_text)
type_text = st.one_of(st.sampled_from(list(ScanType)).map(str), odd_text)


def some(item: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]] | None]:
    """Few varied items, or very many alike, or null."""
    return st.one_of(
        st.none(),
        st.lists(item, max_size=6),
        st.builds(lambda one, n: [one] * n, item, st.integers(0, 600)),
    )


scan_dicts = st.fixed_dictionaries(
    {"id": odd_text},
    optional={
        "type": st.one_of(st.none(), type_text),
        "state": st.one_of(st.none(), state_text),
        "progress": st.one_of(st.none(), st.floats(), st.integers(-(10**6), 10**6)),
        "risks": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    kind: some(st.fixed_dictionaries({"risk_id": odd_text}))
                    for kind in ("new_open", "still_open", "closed")
                },
            ),
        ),
        "results": some(st.fixed_dictionaries({"result_id": odd_text, "content_type": maybe_text})),
        "requested_targets": some(
            st.fixed_dictionaries({"target_id": maybe_text, "target": maybe_text})
        ),
        "resolved_targets": some(
            st.fixed_dictionaries({"target_id": maybe_text, "resolved_target": maybe_text})
        ),
        "skipped_targets": some(
            st.fixed_dictionaries({"target_id": maybe_text, "skipped_reason": maybe_text})
        ),
    },
)
scans = scan_dicts.map(Scan.model_validate)


def allowed(shared_by: str | None) -> set[str]:
    return {f"<@{shared_by}>"} if shared_by is not None else set()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scans, st.one_of(st.none(), st.sampled_from(["U0123ABCD", "W42"]), odd_text))
def test_any_scan_detail_is_valid(any_scan: Scan, shared_by: str | None) -> None:
    message = cards.scan_detail(any_scan, shared_by=shared_by)
    assert_valid_message(message, allowed_mentions=allowed(shared_by))
    assert len(payload(message)) < 4 * MAX_TEXT


queries = st.builds(
    ScanQuery,
    states=st.lists(state_text, max_size=7).map(tuple),
    types=st.lists(type_text, max_size=7).map(tuple),
    scheduled_by=st.lists(odd_text, max_size=4).map(tuple),
)
counts = st.dictionaries(st.one_of(state_text, type_text), st.integers(0, 10**6), max_size=12)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries,
    st.lists(scans, max_size=20),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    counts,
    counts,
)
def test_any_scan_list_is_valid(
    query: ScanQuery,
    entries: list[Scan],
    total: int,
    offset: int,
    by_state: dict[str, int],
    by_type: dict[str, int],
) -> None:
    message = cards.scan_list(ScanListing(query, total, tuple(entries), offset, by_state, by_type))
    assert_valid_message(message)
    for button in buttons(message):
        if actions.pattern(actions.NEXT).search(button["action_id"]):
            words, next_offset = payloads.parse_next_value(button["value"])
            assert words == query.words()
            assert offset < next_offset <= offset + min(len(entries), cards.MAX_ENTRIES)
