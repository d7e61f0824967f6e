"""A checker for every message scanbot sends: Block Kit's schema, Slack's limits, no injection.

from tests.slack.blockkit import assert_valid_message, assert_valid_view
assert_valid_message(message, allowed_mentions={"<@U123>"})
assert_valid_view(modal_or_home_tab, allowed_mentions={"<@U123>"})
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA = Path(__file__).parents[1] / "data" / "slack-block-kit.schema.json"

MAX_BLOCKS = 50  # the schema allows 100 (modals and Home tabs); messages take 50
MAX_TEXT = 10_000  # all text in one message; Slack says msg_blocks_too_long at about 11-13k

# What Slack turns into a mention, a channel link or a link when it reaches mrkdwn raw.
CONTROL_SEQUENCE = re.compile(r"<(?:[!@#]|https?:|mailto:)", re.IGNORECASE)


@functools.cache
def blocks_validator() -> Draft202012Validator:
    """The schema's root describes a message's `blocks` array (each item a `$defs/block`)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every plain_text and mrkdwn object anywhere in `node`."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def _ids(blocks: list[Any], key: str) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get(key), str):
                found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def assert_valid_message(
    message: Mapping[str, Any], *, allowed_mentions: Collection[str] = ()
) -> None:
    """Fail unless Slack would accept `message` and it carries no raw control sequence.

    `allowed_mentions` are exact sequences the bot itself put there, e.g. `<@U123>`.
    """
    assert isinstance(message, Mapping), f"a message is a dict, not {type(message).__name__}"
    text, blocks = message.get("text"), message.get("blocks")
    assert isinstance(text, str), "the message needs a plain `text` fallback"
    assert text.strip(), "the `text` fallback is empty"
    assert isinstance(blocks, list), "the message needs a `blocks` list"
    assert 1 <= len(blocks) <= MAX_BLOCKS, f"{len(blocks)} blocks: a message takes 1..50"

    error = best_match(blocks_validator().iter_errors(blocks))
    assert error is None, f"invalid Block Kit at {error.json_path}: {error.message:.500}"

    for obj in text_objects(blocks):
        assert obj["text"].strip(), f"a text object holds only whitespace: {obj!r}"
    size = len(text) + sum(len(obj["text"]) for obj in text_objects(blocks))
    assert size <= MAX_TEXT, f"{size:,} characters of text: Slack rejects messages this long"

    for key in ("action_id", "block_id"):
        ids = _ids(blocks, key)
        assert len(ids) == len(set(ids)), f"duplicate {key}s in one message: {sorted(ids)}"

    payload = json.dumps(dict(message), ensure_ascii=False)
    for mention in allowed_mentions:
        payload = payload.replace(mention, "")
    raw = CONTROL_SEQUENCE.search(payload)
    assert raw is None, f"raw control sequence in the payload: {payload[raw.start() :][:80]!r}"


MAX_VIEW_BLOCKS = 100  # a modal or the Home tab
MAX_VIEW_TITLE = 24  # a modal's title, close and submit
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255


@functools.cache
def view_validator(view_type: str) -> Draft202012Validator:
    """The schema's own `$defs/modal_view` or `$defs/home_view`, each block a `$defs/block`."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for key in ("type", "items", "minItems", "maxItems"):  # the root is a message's blocks
        del schema[key]
    schema["$ref"] = f"#/$defs/{view_type}_view"
    return Draft202012Validator(schema)


def assert_valid_view(view: Mapping[str, Any], *, allowed_mentions: Collection[str] = ()) -> None:
    """Fail unless Slack would take `view` as a modal or the Home tab (views.open, views.update,
    views.publish), and it carries no raw control sequence but `allowed_mentions`.
    """
    assert isinstance(view, Mapping), f"a view is a dict, not {type(view).__name__}"
    view_type = view.get("type")
    assert view_type in ("modal", "home"), f"a view is a modal or home, not {view_type!r}"
    blocks = view.get("blocks")
    assert isinstance(blocks, list), "the view needs a `blocks` list"
    assert 1 <= len(blocks) <= MAX_VIEW_BLOCKS, f"{len(blocks)} blocks: a view takes 1..100"

    error = best_match(blocks_validator().iter_errors(blocks))
    assert error is None, f"invalid Block Kit at {error.json_path}: {error.message:.500}"
    error = best_match(view_validator(view_type).iter_errors(dict(view)))
    assert error is None, f"invalid {view_type} view at {error.json_path}: {error.message:.500}"

    if view_type == "modal":
        assert "title" in view, "a modal needs a title"
    for key in ("title", "close", "submit"):
        if key in view:
            obj = view[key]
            assert obj.get("type") == "plain_text", f"a modal's {key} is plain_text"
            assert 1 <= len(obj["text"]) <= MAX_VIEW_TITLE, f"{key} {obj['text']!r}: 1..24 chars"
    metadata = view.get("private_metadata", "")
    assert isinstance(metadata, str), "private_metadata is a string"
    assert len(metadata) <= MAX_PRIVATE_METADATA, f"private_metadata of {len(metadata):,} chars"
    callback_id = view.get("callback_id", "")
    assert isinstance(callback_id, str), "callback_id is a string"
    assert len(callback_id) <= MAX_CALLBACK_ID, f"callback_id of {len(callback_id):,} chars"

    for obj in text_objects(blocks):
        assert obj["text"].strip(), f"a text object holds only whitespace: {obj!r}"
    for key in ("action_id", "block_id"):
        ids = _ids(blocks, key)
        assert len(ids) == len(set(ids)), f"duplicate {key}s in one view: {sorted(ids)}"

    payload = json.dumps(dict(view), ensure_ascii=False)
    for mention in allowed_mentions:
        payload = payload.replace(mention, "")
    raw = CONTROL_SEQUENCE.search(payload)
    assert raw is None, f"raw control sequence in the payload: {payload[raw.start() :][:80]!r}"
