"""Versioned ids and values of scanbot's buttons, which stay clickable in channels for years.

A button's `action_id` is `f"{KIND}:{n}"`, with `n` a small index that keeps ids unique
within one message. A new meaning gets a new version (`scanbot:v2:...`) instead of
changing an old one; `ANY_SCANBOT_ACTION` lets a listener answer versions it no longer
knows with a sentence rather than silence.

This module writes values; `scanbot.slack.payloads` reads them back. What a value or a
view's private_metadata names is trusted only when checked: a button's
scan id is looked up with the channel the click came from (Slack's, not the value's), and
a view's private_metadata, which must name its channel, is sealed (`seal`, `unseal`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

DETAILS = "scanbot:v1:details"
NEXT = "scanbot:v1:next"
REFRESH = "scanbot:v1:refresh"
SHARE = "scanbot:v1:share"

# On-call triage, on an alert thread's parent card. Values are the scan id (`scan_value`),
# except RISK's, which is a risk id (`risk_value`).
ACK = "scanbot:v1:ack"
UNACK = "scanbot:v1:unack"
ASSIGN = "scanbot:v1:assign"  # opens the assign modal
SNOOZE = "scanbot:v1:snooze"  # a static_select: option values are SnoozeChoice values
UNSNOOZE = "scanbot:v1:unsnooze"
MUTE = "scanbot:v1:mute"
UNMUTE = "scanbot:v1:unmute"
THREAD_REFRESH = "scanbot:v1:thread_refresh"
RISKS = "scanbot:v1:risks"
REPORT = "scanbot:v1:report"
RISK = "scanbot:v1:risk"  # opens a risk's modal

# The callback_id of the assign modal's submission.
ASSIGN_VIEW = "scanbot:v1:assign_view"

# A select's options carry only their own values, so the actions block holding the Snooze
# select names its scan in its block_id: `f"{TRIAGE_BLOCK}:{scan_id}"`.
TRIAGE_BLOCK = "scanbot:v1:triage"

ANY_SCANBOT_ACTION: re.Pattern[str] = re.compile(r"\Ascanbot:")

MAX_VALUE = 2000  # Slack's limit on a button value
MAX_BLOCK_ID = 255
NEXT_VERSION = 1
ASSIGN_METADATA_VERSION = 2  # 2: sealed (`seal`); 1 was plain JSON, now refused

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


def risk_value(risk_id: str) -> str | None:
    """The value of a button about one risk: its id, under the same rule as `scan_value`."""
    return scan_value(risk_id)


def triage_block_id(scan_id: str) -> str | None:
    """The block_id of the actions block holding the Snooze select, or None if it cannot be."""
    if scan_value(scan_id) is None:
        return None
    block_id = f"{TRIAGE_BLOCK}:{scan_id}"
    return block_id if len(block_id) <= MAX_BLOCK_ID else None


# What scanbot's sealing key is derived for: another use of the same secret gets another key.
SEAL_KEY_PURPOSE = b"scanbot:private_metadata:v1"
SEAL_CHARS = 43  # an HMAC-SHA256 in base64url, unpadded


def seal_key(secret: str) -> bytes:
    """The key scanbot seals private_metadata with: HMAC-SHA256(secret, SEAL_KEY_PURPOSE)
    of a secret every replica holds, so the secret itself never signs anything else."""
    return hmac.new(secret.encode(), SEAL_KEY_PURPOSE, hashlib.sha256).digest()


def seal(text: str, key: bytes) -> str:
    """`text` signed by scanbot: `f"{text}.{mac}"`, mac = HMAC-SHA256(key, text), base64url."""
    return f"{text}.{_mac(text, key)}"


def unseal(sealed: str, key: bytes) -> str:
    """The text `seal` signed with `key`; ValueError for anything else (checked before the
    text is read, compared in constant time)."""
    text, dot, mac = sealed.rpartition(".")
    expected = _mac(text, key).encode()
    if not dot or not hmac.compare_digest(mac.encode("utf-8", "surrogatepass"), expected):
        raise ValueError("not sealed by scanbot with this key")
    return text


def _mac(text: str, key: bytes) -> str:
    digest = hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def assign_metadata(scan_id: str, channel_id: str, message_ts: str, key: bytes) -> str:
    """The assign window's private_metadata: the thread it is about, sealed with `key`."""
    thread = {
        "v": ASSIGN_METADATA_VERSION,
        "scan": scan_id,
        "channel": channel_id,
        "ts": message_ts,
    }
    return seal(compact_json(thread), key)


def compact_json(payload: object) -> str:
    """Compact JSON with no raw `<`, `>` or `&`, for values and private_metadata."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).translate(_JSON_UNSAFE)


def next_value(query_words: str, offset: int) -> str | None:
    """The "Next" button's value: compact JSON, or None if it would not fit in a button."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, not {offset}")
    payload = {"v": NEXT_VERSION, "q": query_words, "o": offset}
    value = compact_json(payload)
    return value if len(value) <= MAX_VALUE else None
