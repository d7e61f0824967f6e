"""Rich text: values from outside shown as they are, beside the bot's own styling.

mrkdwn has no escape for `*`, `_`, `~` or backticks, so a target named `*URGENT*` would
read bold there. Every value from HostedScan or a user that shares a line with the bot's
formatting goes into a `rich_text` block instead: Slack shows a `text` element character
for character, and never parses it for mentions, links or formatting (those are elements
of their own). The bot's bold labels, code-styled ids, mentions, dates and permalinks are
separate elements beside the values. Every text element passes through `text.visible`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from scanbot.slack.text import as_utc, is_channel_id, is_user_id, shown, visible

Element = dict[str, Any]  # one element of a rich_text section: text, user, channel, link, date
Line = list[Element]
Block = dict[str, Any]

# Slack documents no length limit inside a rich_text block; ours is a section's 3000.
BLOCK_TEXT = 3000
# What a user or channel element counts towards a message's text: about a name's length.
NAME_SIZE = 20
NAME_CHARS = 40
NEWLINE: Element = {"type": "text", "text": "\n"}


# --- Elements ---------------------------------------------------------------------------


def text(value: str, *, bold: bool = False, italic: bool = False, code: bool = False) -> Element:
    """A text element: shown exactly as `value` reads, invisible characters made visible."""
    element: Element = {"type": "text", "text": visible(value)}
    style = {name: True for name, on in (("bold", bold), ("italic", italic), ("code", code)) if on}
    if style:
        element["style"] = style
    return element


def bold(label: str) -> Element:
    """The bot's own label, e.g. "State:"."""
    return text(label, bold=True)


def fact(label: str, *shown: Element) -> Line:
    """ "*State:* 🔄 running": the bot's bold label, then the value's elements."""
    return [bold(f"{label}:"), text(" "), *shown]


def value(raw: str, limit: int, blank: str = "(blank)", *, code: bool = False) -> Element:
    """A value from outside on one line, cut to `limit`; `blank` (ours, never code) if empty."""
    if not raw.strip():
        return text(blank)
    return text(shown(raw, limit), code=code)


def user(user_id: str) -> Element:
    """A mention of a real-looking user id; anything else only as text."""
    if is_user_id(user_id):
        return {"type": "user", "user_id": user_id}
    return value(user_id, NAME_CHARS, blank="someone")


def channel(channel_id: str) -> Element:
    """A link to a real-looking channel id; anything else only as text."""
    if is_channel_id(channel_id):
        return {"type": "channel", "channel_id": channel_id}
    return value(channel_id, NAME_CHARS, blank="an unknown channel")


def date(at: datetime, token_format: str) -> Element:
    """Slack's date element: each reader sees `at` in their own time zone, clients that
    cannot show it the UTC fallback. A naive `at` is UTC; a time no element can carry
    (before 1970, or within a day of year 1 or 9999) is shown as UTC text.
    """
    try:
        utc = as_utc(at).astimezone(UTC)
        timestamp = int(utc.timestamp())
    except OverflowError:
        return text(at.isoformat(sep=" ", timespec="minutes"))
    fallback = f"{utc.isoformat(sep=' ', timespec='minutes')[:16]} UTC"
    if timestamp < 0:
        return text(fallback)
    return {"type": "date", "timestamp": timestamp, "format": token_format, "fallback": fallback}


def link(url: str, label: str) -> Element:
    """A link the bot built (e.g. a Slack permalink); never one from API text."""
    return {"type": "link", "url": url, "text": label}


def strong(line: Line) -> Line:
    """`line` in bold, each text element keeping its other styles."""
    return [
        {**e, "style": {**e.get("style", {}), "bold": True}} if e["type"] == "text" else e
        for e in line
    ]


def joined(parts: Iterable[Line], separator: str) -> Line:
    """`parts` in one line, `separator` (ours) between them."""
    line: Line = []
    for n, part in enumerate(parts):
        if n:
            line.append(text(separator))
        line += part
    return line


# --- Blocks -----------------------------------------------------------------------------


def section(*lines: Line) -> Element:
    """A rich_text_section: `lines` one under the other, adjacent plain text merged."""
    elements = _merged(joined(lines, "\n"))
    return {"type": "rich_text_section", "elements": elements}


def bullets(items: Iterable[Line]) -> Element:
    """A bulleted rich_text_list, an item per line."""
    return {"type": "rich_text_list", "style": "bullet", "elements": [section(i) for i in items]}


def quote(lines: Sequence[Line]) -> Element:
    """A rich_text_quote: someone's words, set apart."""
    return {"type": "rich_text_quote", "elements": _merged(joined(lines, "\n"))}


def block(*parts: Element) -> Block:
    """A rich_text block of sections, lists and quotes."""
    return {"type": "rich_text", "elements": list(parts)}


def paragraph(*lines: Line) -> Block:
    """A rich_text block of one section: the usual place for a sentence or a few lines."""
    return block(section(*lines))


def plain(line: Line) -> str:
    """What a line reads as without its styling: for a fallback or a plain_text object.
    Not escaped: the caller escapes it for where it goes.
    """
    return "".join(_plain_element(element) for element in line)


def _plain_element(element: Element) -> str:
    kind = element["type"]
    if kind == "text":
        return str(element["text"])
    if kind == "user":
        return f"@{element['user_id']}"
    if kind == "channel":
        return f"#{element['channel_id']}"
    if kind == "date":
        return str(element["fallback"])
    return str(element.get("text") or element.get("url", ""))


def size(node: Any) -> int:
    """Characters a reader sees in `node` (an element, a part, a block or a list of them)."""
    if isinstance(node, list):
        return sum(size(item) for item in node)
    if not isinstance(node, dict):
        return 0
    kind = node.get("type")
    if kind == "text":
        return len(node["text"])
    if kind == "link":
        return len(node.get("text") or node["url"])
    if kind == "date":
        return len(node["fallback"])
    if kind in ("user", "channel"):
        return NAME_SIZE
    return size(node.get("elements"))


def _merged(line: Line) -> Line:
    """Adjacent text elements of the same style as one: fewer, shorter elements."""
    merged: Line = []
    for element in line:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and element["type"] == previous["type"] == "text"
            and element.get("style") == previous.get("style")
        ):
            merged[-1] = {**previous, "text": previous["text"] + element["text"]}
        else:
            merged.append(element)
    return [e for e in merged if e["type"] != "text" or e["text"]]
