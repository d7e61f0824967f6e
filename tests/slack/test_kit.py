"""The kit every card builds on: text objects and blocks within Slack's limits, messages,
packing lines into the room left, and the words cards share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.slack import actions, kit, rich
from scanbot.slack.kit import slack_date

from .blockkit import assert_valid_message, readable

NOW = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
NOW_TOKEN = "<!date^1714572180^{date_short_pretty} at {time}|2024-05-01 14:03 UTC>"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def texts(message: kit.Message) -> list[str]:
    return readable(message["blocks"])


# --- text objects, blocks, messages ----------------------------------------------------


def test_sentence() -> None:
    message = kit.sentence("HostedScan is busy. Try again in a minute.")
    assert_valid_message(message)
    assert message == {
        "text": "HostedScan is busy. Try again in a minute.",
        "blocks": [section("HostedScan is busy. Try again in a minute.")],
    }


def test_long_sentence_is_cut_to_fit() -> None:
    message = kit.sentence("word " * 2000)
    assert_valid_message(message)
    assert texts(message)[0].endswith("…")


@pytest.mark.parametrize("text", ["", " \n "])
def test_sentence_refuses_nothing(text: str) -> None:
    with pytest.raises(ValueError, match="text"):
        kit.sentence(text)


def test_a_message_keeps_to_the_fallback_and_block_limits() -> None:
    message = kit.message("x" * 1000, [section("x")] * 60)
    assert len(message["text"]) == kit.FALLBACK_TEXT
    assert message["text"].endswith("…")
    assert len(message["blocks"]) == kit.MAX_BLOCKS


def test_values_from_outside_are_escaped_in_plain_text_and_cut() -> None:
    header = kit.header("<!channel> & " + "x" * 200)
    assert header["text"]["emoji"] is False
    assert header["text"]["text"].startswith("&lt;!channel&gt; &amp; ")
    assert len(header["text"]["text"]) == kit.HEADER_TEXT
    line = kit.plain_context(":fire: *x*")
    assert line["elements"][0] == {"type": "plain_text", "text": ":fire: *x*", "emoji": False}


def test_a_button_carries_a_versioned_id_and_a_short_label() -> None:
    button = kit.button("x" * 100, actions.DETAILS, 2, "scan-1")
    assert button["action_id"] == actions.action_id(actions.DETAILS, 2)
    assert len(button["text"]["text"]) == kit.BUTTON_TEXT
    assert button["value"] == "scan-1"
    assert kit.actions_row(button) == {"type": "actions", "elements": [button]}


def test_an_actions_row_keeps_to_slacks_limit() -> None:
    buttons = [kit.button(f"b{n}", actions.DETAILS, n, "scan-1") for n in range(30)]
    row = kit.actions_row(*buttons)
    assert row["elements"] == buttons[: kit.MAX_ACTION_ELEMENTS]
    assert kit.MAX_ACTION_ELEMENTS == 25


def test_text_size_counts_every_text_a_reader_sees() -> None:
    blocks = [
        section("abc"),
        kit.plain_section("de", kit.button("fgh", actions.DETAILS, 0, "v")),
        kit.context("ij"),
        rich.paragraph([rich.text("klm"), rich.user("U0ALICE")]),
    ]
    assert kit.text_size(blocks) == 3 + 2 + 3 + 2 + 3 + rich.NAME_SIZE
    assert kit.room(blocks[:1], blocks[1:]) == kit.TEXT_BUDGET - kit.FALLBACK_TEXT - 13 - 20


# --- packing lines ---------------------------------------------------------------------


def lines(n: int, size: int = 10) -> list[rich.Line]:
    return [[rich.text(f"{i:0{size}d}")] for i in range(n)]


def test_packed_lines_fill_blocks_then_say_how_many_more() -> None:
    blocks = kit.packed(lines(900, 99), 1000, 5000, bulleted=True)
    shown = sum(len(b["elements"][0]["elements"]) for b in blocks if b["type"] == "rich_text")
    assert 0 < shown < 900
    assert all(rich.size(b) <= rich.BLOCK_TEXT for b in blocks if b["type"] == "rich_text")
    assert readable(blocks[-1]) == [f"and {1000 - shown:,} more"]


def test_packed_lines_that_all_fit_say_nothing_more() -> None:
    blocks = kit.packed(lines(3), 3, 5000, bulleted=True)
    assert [b["type"] for b in blocks] == ["rich_text"]
    assert blocks[0]["elements"][0]["type"] == "rich_text_list"


def test_packed_without_room_says_how_many_are_not_shown() -> None:
    assert readable(kit.packed(lines(5), 5, 0)) == ["5 not shown"]


# --- words -----------------------------------------------------------------------------


def test_either_names_a_few_then_how_many_others() -> None:
    assert kit.either(["a"]) == "a"
    assert kit.either(["a", "b", "c"]) == "a, b or c"
    assert kit.either([str(n) for n in range(7)]) == "0, 1, 2, 3, 4 or 2 others"


def test_and_more() -> None:
    assert kit.and_more(["a", "b"], 2, ", ") == "a, b"
    assert kit.and_more(["a", "b"], 1002, " · ") == "a · b · and 1,000 more"


def test_mention_only_of_what_looks_like_a_user() -> None:
    assert kit.mention("U0ALICE") == "<@U0ALICE>"
    assert kit.mention("<!channel>") == "&lt;!channel&gt;"
    assert kit.mention("") == "someone"


def test_code_leaves_no_backtick_to_end_it() -> None:
    assert kit.code("a`b", 10) == "`a\N{FULLWIDTH GRAVE ACCENT}b`"
    assert kit.code("  ", 10) == "(blank)"


def test_scan_words() -> None:
    assert kit.shown_type("OWASP_ZAP") == "OWASP ZAP"
    assert kit.shown_type("") == "unknown type"
    assert kit.shown_state("FAILED") == "❌ failed"
    assert kit.progress(None) == "progress not reported"
    assert kit.progress(30) == "▰▰▰▱▱▱▱▱▱▱ 30%"
    assert kit.risk_counts(1, 2000, 3) == "1 new · 2,000 still open · 3 closed"


def test_a_scan_is_referred_to_by_its_id_as_code() -> None:
    star = "\N{FULLWIDTH ASTERISK}"
    summary = ScanSummary(scan_id="*a*", type="OPENVAS")
    assert rich.plain(kit.scan_reference(summary)) == "Scan *a* (OpenVAS)"
    assert kit.fallback(kit.scan_reference(summary)) == f"Scan {star}a{star} (OpenVAS)"
    mrkdwn = kit.scan_reference_mrkdwn(summary, start=False)
    assert mrkdwn == f"scan `{star}a{star}` (OpenVAS)"
    assert kit.scan_reference_mrkdwn(ScanSummary(scan_id="x")) == "Scan `x`"


def test_slack_date_token() -> None:
    assert slack_date(NOW) == NOW_TOKEN
    assert slack_date(NOW.replace(tzinfo=None)) == NOW_TOKEN  # naive is UTC
    paris = NOW.astimezone(timezone(timedelta(hours=2)))
    assert slack_date(paris) == NOW_TOKEN
    assert slack_date(NOW, "{ago}") == "<!date^1714572180^{ago}|2024-05-01 14:03 UTC>"


def test_slack_date_at_the_ends_of_time() -> None:
    for at in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        assert "<" not in slack_date(at).replace("<!date^", "")


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({}, "🔴 *High* Outdated TLS · `shop.example.com` · CVSS 7.5"),
        (
            {"threat_level": "CRITICAL"},
            "🟣 *CRITICAL* Outdated TLS · `shop.example.com` · CVSS 7.5",
        ),
        ({"threat_level": "", "title": ""}, "⚪ `risk-1` · details unavailable"),
        ({"target": "", "cvss": None}, "🔴 *High* Outdated TLS"),
    ],
)
def test_risk_line(fields: dict[str, Any], line: str) -> None:
    data: dict[str, Any] = {
        "risk_id": "risk-1",
        "title": "Outdated TLS",
        "threat_level": "HIGH",
        "target": "shop.example.com",
        "cvss": "7.5",
    }
    risk = RiskDetail.model_validate({**data, **fields})
    assert readable(rich.paragraph(kit.risk_line(risk))) == [line]


def test_risk_total_counts_what_the_alert_is_about() -> None:
    event = ScanEvent(kind=EventKind.RISKS, summary=ScanSummary(scan_id="s"), risk_ids=("a", "b"))
    assert kit.risk_total(Alert(channel_id="C1", event=event)) == 2
    assert kit.risk_total(Alert(channel_id="C1", event=event, risk_count=40)) == 40
