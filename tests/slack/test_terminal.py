"""The terminal renderer: Block Kit as a person reads it, styles, and nothing that drives
the terminal or hides."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from scanbot.slack.terminal import render_text


def test_render_text_of_a_card() -> None:
    message = {
        "text": "fallback, not shown",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Scan failed"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*OpenVAS* on `a &lt;b&gt; &amp; c`"},
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Details"},
                    "action_id": "scan.details",
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*State*\nfailed"},
                    {"type": "mrkdwn", "text": "*Risks*\n3 new"},
                ],
            },
            {"type": "divider"},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "by <@U0ALICE>"},
                    {"type": "plain_text", "text": "2 min ago"},
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Next"}},
                    {"type": "button", "text": {"type": "plain_text", "text": "Subscribe"}},
                ],
            },
        ],
    }
    text = render_text(message)
    lines = text.splitlines()
    assert lines[0:2] == ["Scan failed", "==========="]
    # mrkdwn reads as Slack shows it: the markup formats, it is not shown.
    assert lines[2] == "OpenVAS on a <b> & c    [ Details ]"
    assert "  State" in lines
    assert "  3 new" in lines
    assert any(set(line) == {"─"} for line in lines)
    assert "by @U0ALICE" in text
    assert "2 min ago" in text
    assert lines[-1] == "[ Next ]  [ Subscribe ]"
    assert "fallback" not in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("&lt;!channel&gt;", "<!channel>"),
        ("&amp;lt;", "&lt;"),  # one level of escaping only
        ("&quot;kept&quot;", "&quot;kept&quot;"),  # Slack decodes no other entity
        ("<https://example.com|the site>", "the site (https://example.com)"),
        ("<https://example.com>", "https://example.com"),
        ("<!here> and <!channel>", "@here and @channel"),
        ("<#C123|alerts>", "#alerts"),
        ("<!date^1700000000^{date}|Nov 14>", "Nov 14"),
        ("<!subteam^S1|@oncall>", "@oncall"),
        ("", ""),
    ],
)
def test_render_text_of_plain_text(text: str, shown: str) -> None:
    assert render_text({"text": text}) == shown


def test_render_text_tolerates_odd_blocks() -> None:
    message = {
        "blocks": [
            {"type": "section", "accessory": {"type": "overflow", "options": []}},
            {"type": "actions", "elements": [{"type": "static_select", "placeholder": "Pick"}]},
            {"type": "image", "image_url": "https://x/y.png", "alt_text": "graph"},
            {"type": "rich_text", "elements": []},
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": "x"}]},
            {"type": "no_such_block"},
            {"type": "header"},
            "not a block",
        ],
        "files": [{"id": "F1", "name": "risks.csv"}],
    }
    text = render_text(message)
    assert "[ … ]" in text
    assert "[ Pick ▾ ]" in text
    assert "[ image: graph ]" in text
    assert "[no_such_block block]" in text
    assert text.endswith("[ file: risks.csv ]")


def test_render_text_of_a_response_url_body() -> None:
    assert render_text({"response_type": "in_channel", "text": "a &amp; b"}) == "a & b"


def text(value: str, **style: bool) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"style": style} if style else {})}


RICH_CARD = {
    "blocks": [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        text("Target:", bold=True),
                        text(" "),
                        text("*URGENT*", code=True),
                        text(" ~x~ _y_ <!channel> &amp;\n"),
                        {"type": "user", "user_id": "U0ALICE"},
                        text(" in "),
                        {"type": "channel", "channel_id": "C0SEC"},
                        text(" at "),
                        {"type": "date", "timestamp": 0, "format": "{ago}", "fallback": "then"},
                        text(": "),
                        {"type": "link", "url": "https://slack.example/p1", "text": "thread"},
                        text(" "),
                        {"type": "emoji", "name": "fire", "unicode": "1f525"},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "style": "bullet",
                    "elements": [
                        {"type": "rich_text_section", "elements": [text("one")]},
                        {"type": "rich_text_section", "elements": [text("two\nlines")]},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "style": "ordered",
                    "elements": [
                        {"type": "rich_text_section", "elements": [text("first")]},
                    ],
                },
                {"type": "rich_text_quote", "elements": [text("quoted\ntwice", italic=True)]},
                {"type": "rich_text_preformatted", "elements": [text("code  block")]},
                {
                    "type": "rich_text_section",
                    "elements": [{"type": "link", "url": "https://example.org/x"}],
                },
            ],
        }
    ]
}


def test_render_text_shows_rich_text_as_slack_does() -> None:
    assert render_text(RICH_CARD).splitlines() == [
        # Text elements show every character: nothing in them formats, links or pings.
        "Target: *URGENT* ~x~ _y_ <!channel> &amp;",
        "@U0ALICE in #C0SEC at then: thread (https://slack.example/p1) 🔥",
        "• one",
        "• two",
        "  lines",
        "1. first",
        "> quoted",
        "> twice",
        "    code  block",
        "https://example.org/x",
    ]


def test_render_text_styles_with_ansi() -> None:
    first = render_text(RICH_CARD, ansi=True).splitlines()[0]
    assert first == "\033[1mTarget:\033[22m \033[7m*URGENT*\033[27m ~x~ _y_ <!channel> &amp;"
    mrkdwn = {"text": "*bold* _it_ ~gone~ `*code*` a*b*c"}
    assert render_text(mrkdwn, ansi=True) == (
        "\033[1mbold\033[22m \033[3mit\033[23m \033[9mgone\033[29m \033[7m*code*\033[27m a*b*c"
    )
    assert render_text(mrkdwn) == "bold it gone *code* a*b*c"
    assert render_text({"text": "*`/scans`* lists"}, ansi=True) == (
        "\033[1m\033[7m/scans\033[27m\033[22m lists"
    )


@pytest.mark.parametrize(
    "message",
    [
        {"text": "red \x1b[31m\u202eevil"},
        {"blocks": [{"type": "section", "text": {"type": "plain_text", "text": "\x1b]0;x\x07"}}]},
        {
            "blocks": [
                {
                    "type": "rich_text",
                    "elements": [
                        {"type": "rich_text_section", "elements": [text("\x1b[2J\u200b")]}
                    ],
                }
            ]
        },
        {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "\u2066x\u2069"}}]},
        {"files": [{"name": "\x1b[31mreport.pdf"}]},
    ],
)
def test_render_text_never_lets_text_drive_the_terminal_or_hide(message: dict[str, Any]) -> None:
    shown = render_text(message)
    assert "\x1b" not in shown
    assert not [c for c in shown if c != "\n" and unicodedata.category(c) in ("Cc", "Cf")]
    assert "\N{REPLACEMENT CHARACTER}" in shown


def test_plain_text_is_not_parsed() -> None:
    """Slack parses no `<...>` and no formatting in plain_text; only the three entities."""
    plain = {"type": "section", "text": {"type": "plain_text", "text": "*x* <@U1> &lt;y&gt;"}}
    assert render_text({"blocks": [plain]}) == "*x* <@U1> <y>"
