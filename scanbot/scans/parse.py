"""Turn the text after `/scans` and `/scan` into a command: pure, no I/O, never raises.

Words are matched case-insensitively to the API's spellings; anything else becomes a
`ShowUsage` naming the word as typed and, when one is close, a valid word to try instead.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from scanbot.hostedscan.models import ScanState, ScanType
from scanbot.scans.query import ScanQuery


@dataclass(frozen=True)
class ListScans:
    query: ScanQuery
    offset: int = 0


@dataclass(frozen=True)
class ShowUsage:
    """Show how to use the command; `unknown` is the first word not understood, as typed."""

    unknown: str | None = None
    suggestion: str | None = None


@dataclass(frozen=True)
class ShowScan:
    scan_id: str


ScansCommand = ListScans | ShowUsage
ScanCommand = ShowScan | ShowUsage

# Only ever the first word after `/scans`.
SUBCOMMANDS: frozenset[str] = frozenset({"help"})

BY_PREFIX = "by:"

_S = ScanState
STATE_WORDS: dict[str, tuple[str, ...]] = {
    "queued": (_S.QUEUED.value,),
    "running": (_S.RUNNING.value,),
    "succeeded": (_S.SUCCEEDED.value,),
    "failed": (_S.FAILED.value,),
    "over_limit": (_S.OVER_LIMIT.value,),
    "over-limit": (_S.OVER_LIMIT.value,),
    "active": (_S.QUEUED.value, _S.RUNNING.value),
    "finished": (_S.SUCCEEDED.value, _S.FAILED.value, _S.OVER_LIMIT.value),
    "problems": (_S.FAILED.value, _S.OVER_LIMIT.value),
}

_T = ScanType
TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "nmap": (_T.NMAP.value,),
    "nmap_udp": (_T.NMAP_UDP.value,),
    "openvas": (_T.OPENVAS.value,),
    "zap": (_T.OWASP_ZAP.value,),
    "owasp_zap": (_T.OWASP_ZAP.value,),
    "zap_active": (_T.OWASP_ZAP_ACTIVE.value,),
    "owasp_zap_active": (_T.OWASP_ZAP_ACTIVE.value,),
    "sslyze": (_T.SSLYZE.value,),
}

# Lowercase API spellings (`over_limit`, `owasp_zap`) are keys above, which is what
# `ScanQuery.words()` writes; `.lower()` on input makes `OVER_LIMIT` match them too.
_FILTER_WORDS: tuple[str, ...] = (*STATE_WORDS, *TYPE_WORDS)


def known_words() -> list[str]:
    """Every valid word, subcommands first, for usage text.

    `by:<name>` is a pattern, not a word, so the usage text explains it on its own.
    """
    return [*sorted(SUBCOMMANDS), *_FILTER_WORDS]


def parse_scans_command(text: str) -> ScansCommand:
    words = text.split()
    if words and words[0].lower() in SUBCOMMANDS:
        return ShowUsage()
    states: set[str] = set()
    types: set[str] = set()
    scheduled_by: set[str] = set()
    for position, word in enumerate(words):
        key = word.lower()
        if key in STATE_WORDS:
            states.update(STATE_WORDS[key])
        elif key in TYPE_WORDS:
            types.update(TYPE_WORDS[key])
        elif key.startswith(BY_PREFIX) and len(word) > len(BY_PREFIX):
            scheduled_by.add(word[len(BY_PREFIX) :])
        else:
            suggestion = _suggest(word, with_subcommands=position == 0)
            return ShowUsage(unknown=word, suggestion=suggestion)
    query = ScanQuery(tuple(sorted(states)), tuple(sorted(types)), tuple(sorted(scheduled_by)))
    return ListScans(query)


def parse_scan_command(text: str) -> ScanCommand:
    """`/scan <id>`: one word is the scan id (checked by the API, not here)."""
    words = text.split()
    if not words or words[0].lower() in SUBCOMMANDS:
        return ShowUsage()
    if len(words) > 1:
        return ShowUsage(unknown=words[1])
    return ShowScan(words[0])


def _suggest(word: str, *, with_subcommands: bool) -> str | None:
    """The closest word valid where `word` stood; a subcommand only fits in first place."""
    key = word.lower()
    for sep in ("=", "-"):
        # `by=alice` / `by-alice` most likely meant `by:alice`; keep the name's case.
        if key.startswith("by" + sep) and len(word) > 3:
            return BY_PREFIX + word[3:]
    candidates = known_words() if with_subcommands else list(_FILTER_WORDS)
    matches = difflib.get_close_matches(key, candidates, n=1)
    return matches[0] if matches else None
