"""The rich_text kit: values from outside as typed, the bot's styling beside them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.slack import rich
from scanbot.slack.text import INVISIBLE_MARK

from .blockkit import assert_valid_message, blocks_validator, rich_markup

NOW = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)


def test_text_keeps_every_character_and_shows_the_invisible() -> None:
    assert rich.text("*URGENT* <!channel> &amp;\u202e") == {
        "type": "text",
        "text": f"*URGENT* <!channel> &amp;{INVISIBLE_MARK}",
    }
    assert rich.text("x", bold=True, code=True) == {
        "type": "text",
        "text": "x",
        "style": {"bold": True, "code": True},
    }
    assert rich.bold("State:") == {"type": "text", "text": "State:", "style": {"bold": True}}


@pytest.mark.parametrize(
    ("raw", "element"),
    [
        ("  a\n  b ", {"type": "text", "text": "a b", "style": {"code": True}}),
        ("", {"type": "text", "text": "(blank)"}),  # the bot's word: never code
        (" \n", {"type": "text", "text": "(blank)"}),
        ("x" * 50, {"type": "text", "text": "x" * 9 + "…", "style": {"code": True}}),
    ],
)
def test_value_on_one_line_cut_or_blank(raw: str, element: rich.Element) -> None:
    assert rich.value(raw, 10, code=True) == element


@pytest.mark.parametrize(
    ("user_id", "element"),
    [
        ("U0ALICE", {"type": "user", "user_id": "U0ALICE"}),
        ("<!channel>", {"type": "text", "text": "<!channel>"}),
        ("", {"type": "text", "text": "someone"}),
        ("U0\u202eX", {"type": "text", "text": f"U0{INVISIBLE_MARK}X"}),
    ],
)
def test_user_is_a_mention_only_of_a_real_looking_id(user_id: str, element: rich.Element) -> None:
    assert rich.user(user_id) == element


@pytest.mark.parametrize(
    ("channel_id", "element"),
    [
        ("C0SECOPS", {"type": "channel", "channel_id": "C0SECOPS"}),
        ("G0PRIV", {"type": "channel", "channel_id": "G0PRIV"}),
        ("<#C1>", {"type": "text", "text": "<#C1>"}),
        ("", {"type": "text", "text": "an unknown channel"}),
    ],
)
def test_channel_is_a_link_only_of_a_real_looking_id(
    channel_id: str, element: rich.Element
) -> None:
    assert rich.channel(channel_id) == element


def test_date_is_slacks_date_element_in_utc() -> None:
    element = {
        "type": "date",
        "timestamp": 1714572180,
        "format": "{ago}",
        "fallback": "2024-05-01 14:03 UTC",
    }
    assert rich.date(NOW, "{ago}") == element
    assert rich.date(NOW.replace(tzinfo=None), "{ago}") == element  # naive is UTC
    assert rich.date(NOW.astimezone(timezone(timedelta(hours=-7))), "{ago}") == element


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (datetime(1969, 12, 31, 23, 0, tzinfo=UTC), "1969-12-31 23:00 UTC"),
        (datetime.min.replace(tzinfo=UTC), "0001-01-01 00:00 UTC"),
        (datetime.min.replace(tzinfo=timezone(timedelta(hours=5))), "0001-01-01 00:00+05:00"),
        (datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))), "9999-12-31 23:59-05:00"),
    ],
)
def test_a_date_no_element_can_carry_is_text(at: datetime, text: str) -> None:
    assert rich.date(at, "{ago}") == {"type": "text", "text": text}


def test_a_section_merges_plain_neighbours_and_breaks_lines() -> None:
    section = rich.section(
        [rich.bold("Targets:"), rich.text(" "), rich.value("*a*", 40, code=True)],
        [rich.text("Risks: "), rich.text("3 new")],
    )
    assert section == {
        "type": "rich_text_section",
        "elements": [
            {"type": "text", "text": "Targets:", "style": {"bold": True}},
            {"type": "text", "text": " "},
            {"type": "text", "text": "*a*", "style": {"code": True}},
            {"type": "text", "text": "\nRisks: 3 new"},
        ],
    }
    assert rich.section([rich.text("")]) == {"type": "rich_text_section", "elements": []}


def test_blocks_are_valid_block_kit() -> None:
    block = rich.block(
        rich.section([rich.bold("Requested targets (2):")]),
        rich.bullets([[rich.value("a", 40, code=True)], [rich.value("b", 40, code=True)]]),
        rich.quote([[rich.text("a note")], [rich.text("on two lines")]]),
        rich.section(
            [
                rich.user("U0ALICE"),
                rich.text(" at "),
                rich.date(NOW, "{ago}"),
                rich.text(" in "),
                rich.channel("C0SECOPS"),
                rich.text(": "),
                rich.link("https://acme.slack.com/archives/C0SECOPS/p1", "thread"),
            ]
        ),
    )
    assert blocks_validator().is_valid([block])
    allowed = {"<@U0ALICE>", "<#C0SECOPS>", "<https://acme.slack.com/"}
    assert_valid_message({"text": "x", "blocks": [block]}, allowed_mentions=allowed)
    assert rich_markup(block).splitlines() == [
        "*Requested targets (2):*",
        "• `a`",
        "• `b`",
        "> a note",
        "> on two lines",
        "<@U0ALICE> at <!date^1714572180^{ago}|2024-05-01 14:03 UTC> in <#C0SECOPS>: "
        "<https://acme.slack.com/archives/C0SECOPS/p1|thread>",
    ]


def test_strong_bolds_text_and_keeps_its_styles() -> None:
    line = rich.strong([rich.text("Scan "), rich.value("abc", 40, code=True), rich.user("U0A1")])
    assert line == [
        {"type": "text", "text": "Scan ", "style": {"bold": True}},
        {"type": "text", "text": "abc", "style": {"code": True, "bold": True}},
        {"type": "user", "user_id": "U0A1"},
    ]


def test_plain_reads_a_line_without_its_styling() -> None:
    line = [
        rich.bold("Scan"),
        rich.text(" "),
        rich.value("*abc*", 40, code=True),
        rich.text(" by "),
        rich.user("U0ALICE"),
        rich.text(" in "),
        rich.channel("C0SECOPS"),
        rich.text(" "),
        rich.date(NOW, "{ago}"),
        rich.text(" "),
        rich.link("https://x.example/p", "thread"),
    ]
    assert rich.plain(line) == "Scan *abc* by @U0ALICE in #C0SECOPS 2024-05-01 14:03 UTC thread"


def test_size_counts_what_a_reader_sees() -> None:
    line = [rich.text("abc"), rich.user("U0ALICE"), rich.date(NOW, "{ago}"), rich.link("u", "ab")]
    assert rich.size(line) == 3 + rich.NAME_SIZE + len("2024-05-01 14:03 UTC") + 2
    assert rich.size(rich.paragraph(line)) == rich.size(line)
    assert rich.size(rich.block(rich.bullets([line, line]))) == 2 * rich.size(line)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=8), st.booleans())
def test_any_values_make_a_valid_block(values: list[str], code: bool) -> None:
    lines = [[rich.bold("x:"), rich.text(" "), rich.value(v, 20, code=code)] for v in values]
    blocks = [rich.paragraph(*lines)] if lines else []
    blocks.append(rich.block(rich.bullets(lines or [[rich.text("none")]])))
    assert_valid_message({"text": "x", "blocks": blocks})
