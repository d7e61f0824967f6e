"""Small text helpers for Slack mrkdwn: escaping, safe truncation, progress bars, symbols."""

from __future__ import annotations

import math
import re

from scanbot.hostedscan.models import ScanState

ELLIPSIS = "…"

# Slack decodes only these three entities; nothing else needs escaping in mrkdwn.
_ENTITIES = ("&amp;", "&lt;", "&gt;")

# Slack user ids look like U024BE7LH or W0123ABC. The upper bound is ours: real ids are
# about a dozen characters, and a mention must never be long enough to need cutting.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,63}")

STATE_SYMBOLS: dict[str, str] = {
    ScanState.QUEUED: "⏳",
    ScanState.RUNNING: "🔄",
    ScanState.SUCCEEDED: "✅",
    ScanState.FAILED: "❌",
    ScanState.OVER_LIMIT: "⛔",
}
UNKNOWN_STATE_SYMBOL = "❔"


def escape(text: str) -> str:
    """Make text from outside the bot inert in mrkdwn: no mentions, links or commands."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
    escape first, then truncate.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if len(text) <= limit:
        return text
    kept = text[: _safe_cut(text, limit - 1)].rstrip()
    return kept + ELLIPSIS


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


def user_mention(user_id: str) -> str:
    """`<@U123>` for a real-looking Slack user id; anything else only as escaped text."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)
