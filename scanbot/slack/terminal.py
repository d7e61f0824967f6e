"""Block Kit messages as a person reads them in a terminal: for `scanbot scan(s)` and the demo.

Blocks win over `text`, as in Slack; mrkdwn is read roughly as Slack reads it, rich_text
element by element; nothing that reaches the terminal can drive it or hide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from scanbot.slack.text import visible

Json = dict[str, Any]

_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
RULE = "─" * 40
# mrkdwn's code spans and emphasis, roughly as Slack reads them: a delimiter opens after
# a start, space or punctuation and closes before an end, space or punctuation.
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^\n]*?\S)\1(?!\w)")
_MARKS = {"*": "bold", "_": "italic", "~": "strike"}
# Terminal styles (SGR): on, off.
_SGR = {
    "bold": ("\033[1m", "\033[22m"),
    "italic": ("\033[3m", "\033[23m"),
    "strike": ("\033[9m", "\033[29m"),
    "code": ("\033[7m", "\033[27m"),
}
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


def render_text(message: dict[str, Any], *, ansi: bool = False) -> str:
    """A Block Kit message as a person would read it in a terminal.

    Blocks win over `text`, as in Slack; headers are underlined, buttons read
    `[ Details ]`, links `label (url)`, and `&lt; &gt; &amp;` show as `< > &`. mrkdwn's
    `*bold*`, `_italic_`, `~strike~` and code spans, and rich_text's styles, show as terminal
    styles with `ansi`, else as plain characters; a rich_text element's characters show as
    they are, `*` included. Characters that would hide or drive the terminal are shown as
    the bot shows them, one mark per run.
    """
    blocks = message.get("blocks")
    lines: list[str] = []
    if isinstance(blocks, list) and blocks:
        for block in blocks:
            if isinstance(block, dict):
                lines.extend(_render_block(block, ansi))
    elif message.get("text"):
        lines.append(_mrkdwn(str(message["text"]), ansi))
    for file in message.get("files") or []:
        if isinstance(file, dict):
            name = file.get("title") or file.get("name") or file.get("id")
            lines.append(f"[ file: {visible(str(name))} ]")
    return "\n".join(lines)


def _render_block(block: Json, ansi: bool) -> list[str]:
    renderer = _BLOCK_RENDERERS.get(str(block.get("type")))
    if renderer is None:
        return [f"[{visible(str(block.get('type')))} block]"]
    return renderer(block, ansi)


def _render_header(block: Json, ansi: bool) -> list[str]:
    title = _text(block.get("text"), ansi)
    return [title, "=" * len(title)]


def _render_section(block: Json, ansi: bool) -> list[str]:
    lines = _text(block.get("text"), ansi).splitlines() if block.get("text") else []
    for item in block.get("fields") or []:
        lines.extend("  " + line for line in _text(item, ansi).splitlines() or [""])
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        element = _element(accessory, ansi)
        if lines:
            lines[0] = f"{lines[0]}    {element}"
        else:
            lines.append(element)
    return lines


def _render_context(block: Json, ansi: bool) -> list[str]:
    parts = [_element(e, ansi) for e in block.get("elements") or [] if isinstance(e, dict)]
    return ["  " + "  ·  ".join(parts)] if parts else []


def _render_actions(block: Json, ansi: bool) -> list[str]:
    parts = [_element(e, ansi) for e in block.get("elements") or [] if isinstance(e, dict)]
    return ["  ".join(parts)] if parts else []


def _render_image(block: Json, ansi: bool) -> list[str]:
    return [f"[ image: {_plain(str(block.get('alt_text', '')))} ]"]


def _render_divider(block: Json, ansi: bool) -> list[str]:
    return [RULE]


def _render_rich_text(block: Json, ansi: bool) -> list[str]:
    lines: list[str] = []
    for part in block.get("elements") or []:
        if isinstance(part, dict):
            lines.extend(_rich_part(part, ansi))
    return lines


def _rich_part(part: Json, ansi: bool) -> list[str]:
    """A rich_text section, list, quote or preformatted part, as lines."""
    kind = part.get("type")
    if kind == "rich_text_list":
        items = [e for e in part.get("elements") or [] if isinstance(e, dict)]
        indent = "  " * _whole(part.get("indent"))
        ordered = part.get("style") == "ordered"
        lines = []
        for n, item in enumerate(items, start=1 + _whole(part.get("offset"))):
            bullet = f"{n}." if ordered else "•"
            first, *rest = _rich_inline(item, ansi).split("\n")
            lines += [f"{indent}{bullet} {first}", *(f"{indent}  {line}" for line in rest)]
        return lines
    text = _rich_inline(part, ansi)
    if kind == "rich_text_quote":
        return ["> " + line for line in text.split("\n")]
    if kind == "rich_text_preformatted":
        return ["    " + line for line in text.split("\n")]
    return text.split("\n")


def _rich_inline(part: Json, ansi: bool) -> str:
    return "".join(
        _rich_element(e, ansi) for e in part.get("elements") or [] if isinstance(e, dict)
    )


def _rich_element(element: Json, ansi: bool) -> str:
    """One rich_text element as Slack shows it: text exactly, names and links as words."""
    render = _RICH_ELEMENTS.get(str(element.get("type")))
    shown = visible(render(element) if render else str(element.get("text") or ""))
    style = element.get("style")
    styles = [name for name in _SGR if isinstance(style, dict) and style.get(name)]
    return _styled(shown, styles, ansi)


def _rich_link(element: Json) -> str:
    url, label = str(element.get("url", "")), str(element.get("text") or "")
    return f"{label} ({url})" if label and label != url else url


def _emoji(element: Json) -> str:
    try:
        return "".join(chr(int(code, 16)) for code in str(element["unicode"]).split("-"))
    except (KeyError, ValueError):
        return f":{element.get('name')}:"


_RICH_ELEMENTS: dict[str, Callable[[Json], str]] = {
    "text": lambda e: str(e.get("text", "")),
    "link": _rich_link,
    "user": lambda e: f"@{e.get('user_id', '')}",
    "channel": lambda e: f"#{e.get('channel_id', '')}",
    "usergroup": lambda e: f"@{e.get('usergroup_id', '')}",
    "broadcast": lambda e: f"@{e.get('range', '')}",
    "date": lambda e: str(e.get("fallback", "")),
    "emoji": _emoji,
}


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and 0 <= value < 100 else 0


_BLOCK_RENDERERS: dict[str, Callable[[Json, bool], list[str]]] = {
    "header": _render_header,
    "section": _render_section,
    "context": _render_context,
    "actions": _render_actions,
    "divider": _render_divider,
    "image": _render_image,
    "rich_text": _render_rich_text,
}


def _element(element: Json, ansi: bool) -> str:
    kind = element.get("type")
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, ansi)
    if kind == "button":
        return f"[ {_text(element.get('text'), ansi)} ]"
    if kind == "image":
        return f"[image: {_plain(str(element.get('alt_text', '')))}]"
    if kind == "overflow":
        return "[ … ]"
    label = _text(element.get("placeholder"), ansi) or visible(str(kind))
    return f"[ {label} ▾ ]"


def _text(obj: Any, ansi: bool) -> str:
    """A text object: plain_text as it is (entities decoded), mrkdwn read as Slack reads it."""
    if isinstance(obj, dict):
        text = str(obj.get("text", ""))
        return _mrkdwn(text, ansi) if obj.get("type") == "mrkdwn" else _plain(text)
    return _plain(str(obj)) if obj else ""


def _plain(text: str) -> str:
    """plain_text: Slack parses nothing in it, and decodes only `&lt; &gt; &amp;`."""
    return _decoded(visible(text))


def _mrkdwn(text: str, ansi: bool) -> str:
    """Slack's `<...>` control sequences as words, code spans and emphasis as styles, then
    `&lt; &gt; &amp;` un-escaped (only those three: Slack decodes no other HTML entity).
    """
    spans: list[str] = []

    def code(match: re.Match[str]) -> str:
        spans.append(_styled(_decoded(match.group(1)), ["code"], ansi))
        return f"\x00{len(spans) - 1}\x00"

    def emphasis(match: re.Match[str]) -> str:
        inner = _EMPHASIS.sub(emphasis, match.group(2))
        return _styled(inner, [_MARKS[match.group(1)]], ansi)

    plain = _LINK.sub(_link_text, visible(text))  # visible: no NUL of its own is left
    styled = _EMPHASIS.sub(emphasis, _CODE_SPAN.sub(code, plain))
    return _PLACEHOLDER.sub(lambda m: spans[int(m.group(1))], _decoded(styled))


def _decoded(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _styled(text: str, styles: list[str], ansi: bool) -> str:
    if not ansi or not text:
        return text
    for name in styles:
        on, off = _SGR[name]
        text = f"{on}{text}{off}"
    return text


def _link_text(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#")):
        return (target[0] + label) if label else target
    if target.startswith("!"):
        special = target[1:].split("^", 1)
        if special[0] in ("date", "subteam") and label:
            return label if special[0] == "date" else "@" + label.lstrip("@")
        return "@" + special[0]
    return f"{label} ({target})" if label else target
