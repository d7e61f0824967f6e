"""A checker for every message scanbot sends: Block Kit's schema, Slack's limits, no
injection, nothing hidden.

from tests.slack.blockkit import assert_valid_message, assert_valid_view
assert_valid_message(message, allowed_mentions={"<@U123>"})
assert_valid_view(modal_or_home_tab, allowed_mentions={"<@U123>"})

Slack parses `<...>` control sequences in mrkdwn and in a message's `text`, never in a
rich_text `text` element (mentions and links are elements of their own there): the
injection check reads everything but those elements' characters, which may hold
`<!channel>` as the literal text it is.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA = Path(__file__).parents[1] / "data" / "slack-block-kit.schema.json"

MAX_BLOCKS = 50  # the schema allows 100 (modals and Home tabs); messages take 50
MAX_TEXT = 10_000  # all text in one message; Slack says msg_blocks_too_long at about 11-13k

# Slack documents no length limit inside a rich_text block; scanbot keeps to a section's.
MAX_RICH_TEXT = 3000

# What Slack turns into a mention, a channel link or a link when it reaches mrkdwn raw.
CONTROL_SEQUENCE = re.compile(r"<(?:[!@#]|https?:|mailto:)", re.IGNORECASE)
# Unicode categories that draw nothing or change how the text around them reads: control
# (line feeds aside), format (bidi controls, zero-width characters, tags...), surrogates.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
# Letters and symbols that are drawn blank, and the combining grapheme joiner.
HIDDEN_CHARACTERS = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0")


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


def rich_text_elements(node: Any) -> Iterator[dict[str, Any]]:
    """Every element of a rich_text block (text, user, channel, link, date...) in `node`."""
    if isinstance(node, dict):
        if node.get("type") == "rich_text":
            yield from _leaves(node)
            return
        for value in node.values():
            yield from rich_text_elements(value)
    elif isinstance(node, list):
        for item in node:
            yield from rich_text_elements(item)


def _leaves(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for element in node.get("elements", []):
        if str(element.get("type", "")).startswith("rich_text_"):
            yield from _leaves(element)
        else:
            yield element


def rich_text_size(node: Any) -> int:
    """Characters a reader sees in the rich_text blocks of `node` (a mention counts 20)."""
    total = 0
    for element in rich_text_elements(node):
        kind = element.get("type")
        if kind == "text":
            total += len(element["text"])
        elif kind == "link":
            total += len(element.get("text") or element["url"])
        elif kind == "date":
            total += len(element.get("fallback", ""))
        else:
            total += 20
    return total


def rich_markup(block: dict[str, Any]) -> str:
    """A rich_text block written the way mrkdwn would write it (`*bold*`, `` `code` ``,
    `<@U1>`, `<url|text>`, `• item`), for tests that read a card as text. A text element's
    own characters are not escaped: `*` may be literal there; check `rich_text_elements`
    to tell the bot's styling from a value's characters.
    """
    lines: list[str] = []
    for part in block.get("elements", []):
        if part.get("type") == "rich_text_list":
            lines += ["• " + _inline(item) for item in part.get("elements", [])]
        elif part.get("type") == "rich_text_quote":
            lines += ["> " + line for line in _inline(part).split("\n")]
        else:
            lines.append(_inline(part))
    return "\n".join(lines)


def _inline(part: dict[str, Any]) -> str:
    return "".join(_markup(element) for element in part.get("elements", []))


def _markup(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "user":
        return f"<@{element['user_id']}>"
    if kind == "channel":
        return f"<#{element['channel_id']}>"
    if kind == "link":
        label = element.get("text", "")
        return (
            f"<{element['url']}>"
            if label in ("", element["url"])
            else f"<{element['url']}|{label}>"
        )
    if kind == "date":
        return f"<!date^{element['timestamp']}^{element['format']}|{element['fallback']}>"
    text = str(element.get("text", ""))
    style = element.get("style", {})
    for name, mark in (("code", "`"), ("strike", "~"), ("italic", "_"), ("bold", "*")):
        if style.get(name) and text.strip():
            # Marks hug the words, as in mrkdwn; the spaces around stay outside.
            core = text.strip()
            start = text.index(core)
            text = f"{text[:start]}{mark}{core}{mark}{text[start + len(core) :]}"
    return text


def readable(node: Any) -> list[str]:
    """Every text a reader sees, in order: text objects as written, rich_text blocks as
    `rich_markup`. What tests read a message by.
    """
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "rich_text":
            return [rich_markup(node)]
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found += readable(value)
    elif isinstance(node, list):
        for item in node:
            found += readable(item)
    return found


def parsed_payload(payload: Mapping[str, Any]) -> str:
    """`payload` as JSON, without what Slack shows character for character (rich_text
    `text` elements): every place where a raw `<!channel>` would ping someone.
    """
    blanked = copy.deepcopy(dict(payload))
    for element in rich_text_elements(blanked):
        if element.get("type") == "text":
            element["text"] = ""
    return json.dumps(blanked, ensure_ascii=False)


def hidden_characters(payload: Mapping[str, Any]) -> list[str]:
    """Characters that would hide or reorder text (line feeds aside) anywhere a reader sees
    in `payload`: everything but ids and values that come back in clicks."""
    found = {
        f"U+{ord(c):04X}"
        for string in _strings(payload)
        for c in string
        if c != "\n" and (unicodedata.category(c) in HIDDEN_CATEGORIES or c in HIDDEN_CHARACTERS)
    }
    return sorted(found)


# What Slack never shows: ids, and values it hands back when someone clicks.
UNSEEN_KEYS = frozenset(
    {"value", "action_id", "block_id", "callback_id", "private_metadata", "external_id"}
)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key not in UNSEEN_KEYS:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _assert_pings_only_the_allowed(
    payload: Mapping[str, Any], allowed_mentions: Collection[str]
) -> None:
    """rich_text's own mentions and links, under the rules of raw sequences: a user or a
    channel only when allowed (as `<@U1>`, `<#C1>`), no broadcast, user group or team, and
    a link labelled with anything but its own address only when allowed (as `<url`, a
    prefix of it)."""
    for element in rich_text_elements(payload.get("blocks", [])):
        kind = element.get("type")
        assert kind not in ("broadcast", "usergroup", "team"), f"a rich_text {kind} pings"
        if kind == "user":
            assert f"<@{element['user_id']}>" in allowed_mentions, f"mentions {element}"
        elif kind == "channel":
            assert f"<#{element['channel_id']}>" in allowed_mentions, f"links {element}"
        elif kind == "link" and element.get("text", element["url"]) != element["url"]:
            link = f"<{element['url']}"
            allowed = any(link.startswith(a) for a in allowed_mentions if a.startswith("<http"))
            assert allowed, f"a labelled link: {element}"


def _assert_shown_safely(payload: Mapping[str, Any], allowed_mentions: Collection[str]) -> None:
    """No raw control sequence where Slack parses them, no mention or labelled link but the
    allowed, nothing hidden anywhere, and every rich_text block within scanbot's limit."""
    _assert_pings_only_the_allowed(payload, allowed_mentions)
    parsed = parsed_payload(payload)
    for mention in allowed_mentions:
        parsed = parsed.replace(mention, "")
    raw = CONTROL_SEQUENCE.search(parsed)
    assert raw is None, f"raw control sequence in the payload: {parsed[raw.start() :][:80]!r}"
    hidden = hidden_characters(payload)
    assert not hidden, f"characters that hide or reorder text: {hidden}"
    for block in payload.get("blocks", []):
        if block.get("type") == "rich_text":
            size = rich_text_size(block)
            assert size <= MAX_RICH_TEXT, f"a rich_text block of {size:,} characters"
            for element in rich_text_elements(block):
                if element.get("type") == "text":
                    assert element["text"], "an empty rich_text text element"


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
    size += rich_text_size(blocks)
    assert size <= MAX_TEXT, f"{size:,} characters of text: Slack rejects messages this long"

    for key in ("action_id", "block_id"):
        ids = _ids(blocks, key)
        assert len(ids) == len(set(ids)), f"duplicate {key}s in one message: {sorted(ids)}"

    _assert_shown_safely(message, allowed_mentions)


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

    _assert_shown_safely(view, allowed_mentions)
