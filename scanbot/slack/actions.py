"""Versioned ids and values of scanbot's buttons, which stay clickable in channels for years.

A button's `action_id` is `f"{KIND}:{n}"`, with `n` a small index that keeps ids unique
within one message. A new meaning gets a new version (`scanbot:v2:...`) instead of
changing an old one; `ANY_SCANBOT_ACTION` lets a listener answer versions it no longer
knows with a sentence rather than silence.
"""

from __future__ import annotations

import json
import re

DETAILS = "scanbot:v1:details"
NEXT = "scanbot:v1:next"
REFRESH = "scanbot:v1:refresh"
SHARE = "scanbot:v1:share"

ANY_SCANBOT_ACTION: re.Pattern[str] = re.compile(r"\Ascanbot:")

MAX_VALUE = 2000  # Slack's limit on a button value
NEXT_VERSION = 1

# `<`, `>` and `&` only ever occur inside JSON strings here, so their \u escapes decode to
# the same value while keeping mrkdwn control characters out of the payload.
_JSON_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def pattern(kind: str) -> re.Pattern[str]:
    """Matches `kind` alone or `kind:n`, for `app.action(...)`."""
    return re.compile(rf"\A{re.escape(kind)}(?::\d+)?\Z")


def action_id(kind: str, n: int) -> str:
    return f"{kind}:{n}"


def scan_value(scan_id: str) -> str | None:
    """The value of a button about one scan: its id, or None when no button can carry it.

    An id that is empty, too long, or holds `<`, `>` or `&` gets no button: it cannot be
    a real scan id, and it must not reach the payload raw.
    """
    if not scan_id.strip() or len(scan_id) > MAX_VALUE or any(c in scan_id for c in "<>&"):
        return None
    return scan_id


def next_value(query_words: str, offset: int) -> str | None:
    """The "Next" button's value: compact JSON, or None if it would not fit in a button."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, not {offset}")
    payload = {"v": NEXT_VERSION, "q": query_words, "o": offset}
    value = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).translate(_JSON_UNSAFE)
    return value if len(value) <= MAX_VALUE else None


def parse_next_value(value: str) -> tuple[str, int]:
    """`(query_words, offset)` from a "Next" value; ValueError on anything malformed."""
    if len(value) > MAX_VALUE:
        raise ValueError("Next value is longer than any button value")
    try:
        payload = json.loads(value)
    except RecursionError as exc:  # deeply nested arrays: not ours
        raise ValueError("Next value is not a scanbot value") from exc
    if not isinstance(payload, dict) or set(payload) != {"v", "q", "o"}:
        raise ValueError("Next value does not have the keys v, q and o")
    version, words, offset = payload["v"], payload["q"], payload["o"]
    # `type(...) is int`: JSON's true and 1.0 are not versions or offsets.
    if type(version) is not int or version != NEXT_VERSION:
        raise ValueError(f"Next value has an unknown version: {version!r:.20}")
    if not isinstance(words, str):
        raise ValueError("Next value's query is not a string")
    if type(offset) is not int or offset < 0:
        raise ValueError("Next value's offset is not a whole number >= 0")
    return words, offset
