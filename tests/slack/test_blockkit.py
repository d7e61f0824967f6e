"""The message checker itself (tests/slack/blockkit.py): it refuses what Slack or a reader
would not take, and takes rich_text literally."""

from __future__ import annotations

from typing import Any

import pytest

from .blockkit import assert_valid_message, blocks_validator, parsed_payload


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_checker_accepts_a_plain_message() -> None:
    assert_valid_message({"text": "hello", "blocks": [section("hello")]})


@pytest.mark.parametrize(
    "message",
    [
        {"text": "x", "blocks": [{"type": "section"}]},
        {"text": "x", "blocks": [{"type": "no_such_block", "text": "x"}]},
        {"text": "x", "blocks": [section("")]},
        {"text": "x", "blocks": [section("   ")]},
        {"text": "x", "blocks": [section("x" * 3001)]},
        {
            "text": "x",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        },
        {"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]},
        {
            "text": "x",
            "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}],
        },
        {
            "text": "x",
            "blocks": [
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}
                    ],
                }
            ],
        },
        {
            "text": "x",
            "blocks": [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "a"},
                            "action_id": "same",
                        },
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "b"},
                            "action_id": "same",
                        },
                    ],
                }
            ],
        },
        {"text": "x", "blocks": [section("x")] * 51},
        {"text": "x", "blocks": []},
        {"text": "", "blocks": [section("x")]},
        {"blocks": [section("x")]},
        {"text": "x", "blocks": [section("x" * 2000)] * 6},
        {"text": "x", "blocks": [section("hi <!channel>")]},
        {"text": "hi <@U123>", "blocks": [section("x")]},
        {"text": "x", "blocks": [section("<https://evil.example|bank.com>")]},
    ],
)
def test_checker_refuses_what_slack_would(message: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        assert_valid_message(message)


def rich_block(*elements: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [*elements]}],
    }


def rich_text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


@pytest.mark.parametrize(
    "message",
    [
        {"text": "x", "blocks": [rich_block(rich_text("a\u202eb"))]},  # hidden in rich_text
        {"text": "x", "blocks": [section("a\u200bb")]},  # in mrkdwn
        {"text": "a\u2066b", "blocks": [section("x")]},  # in the fallback
        {"text": "x", "blocks": [rich_block(rich_text("\x1b[31m"))]},
        {"text": "x", "blocks": [rich_block(rich_text("x" * 3001))]},  # a section's limit
        {"text": "x", "blocks": [rich_block(rich_text(""))]},
        {"text": "x", "blocks": [rich_block(rich_text("x" * 2000))] * 6},  # the total
        {"text": "x", "blocks": [rich_block({"type": "user", "user_id": "<!channel>"})]},
        {"text": "x", "blocks": [rich_block({"type": "broadcast", "range": "channel"})]},
        {"text": "x", "blocks": [rich_block({"type": "text", "text": "x", "style": {}})]},
    ],
)
def test_checker_refuses_rich_text_slack_or_a_reader_would_not_take(
    message: dict[str, Any],
) -> None:
    with pytest.raises(AssertionError):
        assert_valid_message(message)


def test_checker_takes_rich_text_literally() -> None:
    """A text element shows `<!channel>` as typed: nothing to ping there; a line feed is a
    line break, not a hidden character."""
    literal_text = rich_text("<!channel> *URGENT* <https://evil.example|bank.com>\nnext")
    assert_valid_message({"text": "x", "blocks": [rich_block(literal_text)]})
    mention = {"text": "x", "blocks": [rich_block({"type": "user", "user_id": "U0ALICE"})]}
    assert_valid_message(mention, allowed_mentions={"<@U0ALICE>"})
    with pytest.raises(AssertionError):
        assert_valid_message(mention)  # a mention, in rich_text too, only by permission
    spoof = {"type": "link", "url": "https://evil.example", "text": "bank.com"}
    with pytest.raises(AssertionError):
        assert_valid_message({"text": "x", "blocks": [rich_block(spoof)]})
    itself = {"type": "link", "url": "https://example.org/a", "text": "https://example.org/a"}
    assert_valid_message({"text": "x", "blocks": [rich_block(itself)]})
    assert parsed_payload({"blocks": [rich_block(literal_text)]}).count("<!channel>") == 0


def test_the_schema_itself_refuses_invalid_blocks() -> None:
    # The schema's root is a message's blocks array: proof it is the right definition.
    validator = blocks_validator()
    assert validator.is_valid([section("hello")])
    assert not validator.is_valid([{"type": "section"}])
    assert not validator.is_valid([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}])
    assert not validator.is_valid(
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    )
    assert not validator.is_valid([])


def test_checker_accepts_the_mentions_it_is_told_about() -> None:
    message = {"text": "x", "blocks": [section("Shared by <@U123>")]}
    assert_valid_message(message, allowed_mentions={"<@U123>"})
    with pytest.raises(AssertionError):
        assert_valid_message(message, allowed_mentions={"<@U999>"})
