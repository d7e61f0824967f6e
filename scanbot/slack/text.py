"""Small text helpers for Slack: making text from outside visible and inert, safe truncation,
progress bars, symbols.

Every string from HostedScan or a user reaches Slack through one of three functions here:
`visible` (rich_text elements, which show their characters as they are), `escape_plain`
(plain_text objects) or `escape` (mrkdwn). All three start with `visible`, so no path can
carry a character that hides or reorders text.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from scanbot.hostedscan.models import ScanState

ELLIPSIS = "…"
# What takes the place of each run of invisible characters: a reader sees that something
# was there, and nothing hides, reorders or runs together what they read.
INVISIBLE_MARK = "\N{REPLACEMENT CHARACTER}"

# Control characters that are whitespace (tab, carriage return, form feed...) read as a
# space; the line feed stays a line break.
_SPACES = str.maketrans(dict.fromkeys("\t\v\f\r\x1c\x1d\x1e\x1f\x85", " "))
# Characters that show nothing or change how the text around them reads: control
# characters (C0, DEL, C1; the line feed excepted), every format
# character (Unicode category Cf: bidi embeddings, overrides, isolates and marks, zero-width
# space, joiners, word joiner, BOM, soft hyphen, invisible operators, Arabic and other
# prepended marks, tags), the format and tag blocks' unassigned neighbours, lone surrogates
# (no JSON encoder should carry them to Slack), the combining grapheme joiner and the
# letters that are drawn blank (Hangul fillers, the blank Braille pattern).
# tests/slack/test_text.py checks this class against every Cf, Cc and Cs of unicodedata.
_INVISIBLE = re.compile(
    r"["
    r"\x00-\x09\x0b-\x1f\x7f-\x9f"
    r"\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    r"\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164"
    r"\ud800-\udfff\ufeff\ufff9-\ufffb\uffa0"
    r"\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0000-\U000e007f"
    r"]+"
)

# mrkdwn has no escape for its formatting characters: in text from outside they become
# their fullwidth forms, which read the same and format nothing. `*`, `_` and `~` between
# two letters or digits (`snake_case`) cannot open or close anything and stay as they are;
# a backtick always changes.
_FULLWIDTH = {
    "*": "\N{FULLWIDTH ASTERISK}",
    "_": "\N{FULLWIDTH LOW LINE}",
    "~": "\N{FULLWIDTH TILDE}",
    "`": "\N{FULLWIDTH GRAVE ACCENT}",
}
_FORMATTING = re.compile(r"`|(?<![^\W_])[*_~]|[*_~](?![^\W_])")

# Slack decodes only these three entities; nothing else needs escaping in mrkdwn.
_ENTITIES = ("&amp;", "&lt;", "&gt;")

# Slack user ids look like U024BE7LH or W0123ABC. The upper bound is ours: real ids are
# about a dozen characters, and a mention must never be long enough to need cutting.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,63}")
# Channel ids: public C…, private G…; the same bound.
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,63}")

STATE_SYMBOLS: dict[str, str] = {
    ScanState.QUEUED: "⏳",
    ScanState.RUNNING: "🔄",
    ScanState.SUCCEEDED: "✅",
    ScanState.FAILED: "❌",
    ScanState.OVER_LIMIT: "⛔",
}
UNKNOWN_STATE_SYMBOL = "❔"


def visible(text: str) -> str:
    """Text from outside with every run of invisible characters (see `_INVISIBLE`) shown
    as one INVISIBLE_MARK, and whitespace controls as spaces: for rich_text `text`
    elements, which Slack shows as they are.
    """
    return _INVISIBLE.sub(INVISIBLE_MARK, text.translate(_SPACES))


def escape_plain(text: str) -> str:
    """Text from outside for a plain_text object: visible, and `&`, `<`, `>` as the
    entities Slack decodes there as in mrkdwn.
    """
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Make text from outside the bot inert in mrkdwn: visible, no mentions, links or
    commands, and no `*`, `_`, `~` or backtick to format it (each becomes its fullwidth form).
    """
    return _FORMATTING.sub(lambda m: _FULLWIDTH[m.group()], escape_plain(text))


def _safe_cut(text: str, end: int) -> int:
    """Move a cut at `end` back so it splits neither an entity nor a `<...>` control sequence."""
    amp = text.rfind("&", max(0, end - 4), end)
    if amp != -1 and any(
        text.startswith(entity, amp) and amp + len(entity) > end for entity in _ENTITIES
    ):
        end = amp
    opening = text.rfind("<", 0, end)
    if opening != -1 and text.find(">", opening, end) == -1:
        end = opening
    return end


def truncate(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, ending with "…" when cut.

    Never cuts inside `&amp;`-style entities or the bot's own `<@U123>` sequences, so
    escape first, then truncate. Never ends on `*`, `_`, `~` or a backtick either: one
    that sat between two letters (`snake_case`) would be left where it could close.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if len(text) <= limit:
        return text
    kept = text[: _safe_cut(text, limit - 1)].rstrip().rstrip("*_~`").rstrip()
    return kept + ELLIPSIS


def shown(value: str, limit: int, blank: str = "(blank)") -> str:
    """A value from outside as a reader sees it: on one line, visible, cut to `limit`;
    `blank` (the bot's own words) when empty. Not escaped: a rich_text element takes it as
    it is, a plain_text object needs `escape_plain`, mrkdwn `escape`.
    """
    folded = " ".join(value.split())
    return truncate(visible(folded), limit) if folded else blank


def as_utc(at: datetime) -> datetime:
    """`at` with a time zone: a naive datetime is taken as UTC, as everywhere in scanbot."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def progress_bar(progress: float | None, width: int = 10) -> str:
    """E.g. `▰▰▰▱▱▱▱▱▱▱ 30%`; a missing or odd value reads as 0% and is clamped to 0..100."""
    if width < 1:
        raise ValueError(f"width must be at least 1, not {width}")
    if progress is None or math.isnan(progress):
        progress = 0.0
    percent = min(max(progress, 0.0), 100.0)
    # Round down: a bar must not look full before the scan is.
    filled = math.floor(percent * width / 100)
    return "▰" * filled + "▱" * (width - filled) + f" {math.floor(percent)}%"


def state_symbol(state: str) -> str:
    return STATE_SYMBOLS.get(state, UNKNOWN_STATE_SYMBOL)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 scan`, `2 scans`, `1,500 targets`; `many` for irregular plurals."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def is_user_id(user_id: str) -> bool:
    """Whether `user_id` looks like a Slack user id, so mentioning it can ping only that user."""
    return _USER_ID.fullmatch(user_id) is not None


def is_channel_id(channel_id: str) -> bool:
    """Whether `channel_id` looks like a Slack channel id (public C…, private G…)."""
    return _CHANNEL_ID.fullmatch(channel_id) is not None


def user_mention(user_id: str) -> str:
    """`<@U123>` for a real-looking Slack user id; anything else only as escaped text."""
    if is_user_id(user_id):
        return f"<@{user_id}>"
    return escape(user_id)
