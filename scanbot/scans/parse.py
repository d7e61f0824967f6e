"""Turn the text after `/scans` and `/scan` into a command: pure, no I/O, never raises.

Words are matched case-insensitively to the API's spellings; anything else becomes a
`ShowUsage` (or, after `subscribe`, `unsubscribe` and `subscriptions`, a `SubscribeUsage`)
naming the word as typed and, when one is close, a valid word to try instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scanbot.domain.events import DEFAULT_EVENTS, SUBSCRIBABLE_EVENTS
from scanbot.hostedscan.models import ScanState, ScanType
from scanbot.hostedscan.targets import target_problem, unreachable_reason
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


@dataclass(frozen=True)
class Subscribe:
    """`/scans subscribe`: alerts for this channel. Types are API spellings (empty: every
    type), `min_severity` is LOW, MEDIUM or HIGH, `events` are in SUBSCRIBABLE_EVENTS' order.
    """

    types: tuple[str, ...] = ()
    target_contains: str | None = None  # as typed, case kept
    min_severity: str | None = None
    events: tuple[str, ...] = DEFAULT_EVENTS
    quiet: QuietHours | None = None  # alerts in this window wait for its end
    quiet_all: bool = False  # hold failed scans and high risks in the window too
    tz: str | None = None  # the window's time zone; None: the subscriber's own


@dataclass(frozen=True)
class QuietHours:
    """A daily window, `start` to `end` (past midnight when `end` <= `start`)."""

    start: time
    end: time

    def words(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Unsubscribe:
    subscription_id: int | None  # None: every subscription of the channel


@dataclass(frozen=True)
class ListSubscriptions:
    pass


@dataclass(frozen=True)
class SubscribeUsage:
    """Show how to subscribe; `unknown` as typed, `reason` a sentence of ours (plain words
    and `code` spans, no user text) saying why it was refused.
    """

    unknown: str | None = None
    suggestion: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ShowTriage:
    """`/scans triage`: this channel's unacknowledged alerts, oldest first."""


@dataclass(frozen=True)
class ScheduleSummary:
    """`/scans summary daily 09:00` or `weekly mon 09:00`, with the subscribe filters and
    `tz:` (None: the time zone of the person who typed it)."""

    period: str  # a PERIOD_WORDS key
    at: time
    weekday: int | None = None  # weekly: 0 Monday .. 6 Sunday
    types: tuple[str, ...] = ()
    target_contains: str | None = None
    min_severity: str | None = None
    tz: str | None = None


@dataclass(frozen=True)
class StopSummary:
    """`/scans summary off`: the channel's scheduled summaries stop."""


ListCommand = ListScans | ShowUsage
SummaryCommand = ScheduleSummary | StopSummary
SubscriptionCommand = Subscribe | Unsubscribe | ListSubscriptions | SubscribeUsage | SummaryCommand
ChannelCommand = SubscriptionCommand | ShowTriage
ScanCommand = ShowScan | ShowUsage

HELP = "help"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
SUBSCRIPTIONS = "subscriptions"
TRIAGE = "triage"
SUMMARY = "summary"

BY_PREFIX = "by:"
TARGET_PREFIX = "target:"
SEVERITY_PREFIX = "severity:"
TZ_PREFIX = "tz:"
QUIET_PREFIX = "quiet:"
QUIET_ALL = "quiet-all"
OFF = "off"
ALL = "all"


@dataclass(frozen=True)
class SubcommandHelp:
    """What `/scans help` says of a sub-command: its arguments as help shows them after
    the word ("" for none), and what it does in a few words (`{events}` stands for the
    event words).
    """

    arguments: str
    does: str


# The words that may only ever come first after `/scans`, in the order `/scans help`
# names them (help itself first, then the channel's sub-commands).
SUBCOMMAND_HELP: dict[str, SubcommandHelp] = {
    HELP: SubcommandHelp("", "shows this"),
    SUBSCRIBE: SubcommandHelp(
        f"[types] [{TARGET_PREFIX}…] [{SEVERITY_PREFIX}…] [events] [{QUIET_PREFIX}22:00-07:00]",
        "sends this channel alerts ({events})",
    ),
    SUBSCRIPTIONS: SubcommandHelp("", "lists them"),
    UNSUBSCRIBE: SubcommandHelp(f"<number>|{ALL}", "stops them"),
    SUMMARY: SubcommandHelp(
        f"daily 09:00|weekly mon 09:00|{OFF}", "posts a summary of open risks on a schedule"
    ),
    TRIAGE: SubcommandHelp("", "lists the alerts nobody acknowledged yet"),
}
# The sub-commands that act on HostedScan (operators only; `audit`: admins), in the order
# `/scans help` names them. Their parsers are at the end of this module.
RUN = "run"
TARGETS = "targets"
TARGET = "target"
REPORT = "report"
AUDIT = "audit"
OPERATION_HELP: dict[str, SubcommandHelp] = {
    RUN: SubcommandHelp(
        "<type> <host|URL|IP…>|id:<target id…>|tag:<tag…>", "starts a scan, after you confirm"
    ),
    TARGETS: SubcommandHelp("[text]", "lists HostedScan's targets (those containing the text)"),
    TARGET: SubcommandHelp("add <host> [label:…] [tag:…]", "adds a target"),
    REPORT: SubcommandHelp(
        "[pdf|html] [type…] [severity:…] [target:…|tag:…]", "posts a report of open risks here"
    ),
    AUDIT: SubcommandHelp("", "lists what people did through scanbot (admins)"),
}
SUBCOMMANDS: frozenset[str] = frozenset(SUBCOMMAND_HELP) | frozenset(OPERATION_HELP)

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

    `by:<name>` is a pattern, not a word, so the usage text explains it on its own; the
    words after `subscribe` are their own (TYPE_WORDS, EVENT_WORDS, `target:`, `severity:`).
    """
    return [HELP, *sorted(SUBCOMMANDS - {HELP}), *_FILTER_WORDS]


def parse_scans_command(text: str) -> ScansCommand:
    """`/scans [words]`: a list, help, or one of the subscription subcommands."""
    words = text.split()
    first = words[0].lower() if words else ""
    if first in _SUBSCRIPTION_PARSERS:
        return _SUBSCRIPTION_PARSERS[first](words[1:])
    if first in _OPERATION_PARSERS:
        return _OPERATION_PARSERS[first](words[1:])
    if first == TRIAGE:
        return ShowTriage() if len(words) == 1 else ShowUsage(unknown=words[1])
    return parse_list_command(text)


def parse_list_command(text: str) -> ListCommand:
    """Only a list (or help): for words that must never subscribe, e.g. a Next button's."""
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


# --- /scans subscribe, unsubscribe, subscriptions --------------------------------------

SEVERITY_WORDS: dict[str, str] = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
EVENT_WORDS: tuple[str, ...] = SUBSCRIBABLE_EVENTS
# What an event word covers, where the word alone does not say it (help shows these).
EVENT_NOTES: dict[str, str] = {"failed": "a finish that failed or went over its limit"}
MAX_TARGET_TEXT = 500  # longer than any host name or sensible URL fragment

# State words of `/scans` that are not events, and the event most likely meant instead.
# `finished` and `failed` are both: after `subscribe` they are the events.
STATE_EVENTS: dict[str, str] = {
    "queued": "started",
    "running": "started",
    "active": "started",
    "succeeded": "finished",
    "over_limit": "failed",
    "over-limit": "failed",
    "problems": "failed",
}
# Other words for a severity, and the level that covers them.
_SEVERITY_ALIASES: dict[str, str] = {
    "critical": "high",
    "severe": "high",
    "med": "medium",
    "moderate": "medium",
    "info": "low",
    "informational": "low",
}


def _listed(words: Sequence[str]) -> str:
    """ "`a`, `b` and `c`": each word in code style."""
    codes = [f"`{word}`" for word in words]
    return codes[0] if len(codes) == 1 else f"{', '.join(codes[:-1])} and {codes[-1]}"


_EVENT_LIST = _listed(EVENT_WORDS)
SUBSCRIBE_REASON = (
    "`/scans subscribe` takes scan types, `target:` with some text, "
    f"`severity:high`, `medium` or `low`, and the events {_EVENT_LIST}."
)
BY_REASON = (
    "Alerts cannot be filtered by who scheduled a scan: HostedScan's scan objects "
    "do not say who did. `/scans by:someone` still lists them."
)
STATE_REASON = (
    f"Subscriptions take events, not states: {_EVENT_LIST}. "
    "`started` covers queued and running scans; `failed` covers failed and over-limit ones."
)
EMPTY_TARGET_REASON = (
    "`target:` needs some text to look for in a scan's targets, e.g. `target:shop.example.com`."
)
LONG_TARGET_REASON = f"`target:` takes at most {MAX_TARGET_TEXT} characters."
TWO_TARGETS_REASON = "A subscription takes one `target:`; subscribe again for another one."
SEVERITY_REASON = "`severity:` takes `high`, `medium` or `low`: the lowest level to alert about."
TWO_SEVERITIES_REASON = "A subscription takes one `severity:`."
SEVERITY_WITHOUT_RISKS_REASON = (
    "`severity:` only filters risk alerts: add `risks` to the events, or leave `severity:` out."
)
UNSUBSCRIBE_REASON = (
    "`/scans unsubscribe` takes the number of a subscription, like `3` or `#3`, or `all`; "
    "`/scans subscriptions` lists them."
)
LONG_ID_REASON = "No subscription has a number that long; `/scans subscriptions` lists them."
ONE_ID_REASON = "`/scans unsubscribe` takes one number, or `all`."
SUBSCRIPTIONS_REASON = "`/scans subscriptions` takes no other words: it lists this channel's."

_SUBSCRIPTION_ID = re.compile(r"#?([0-9]{1,18})")  # 18 digits: any id a database hands out
_QUOTES: tuple[tuple[str, str], ...] = (
    ('"', '"'),
    ("'", "'"),
    ("\u201c", "\u201d"),  # Slack's smart quotes
    ("\u2018", "\u2019"),
    ("`", "`"),
)


def parse_subscribe(words: Sequence[str]) -> Subscribe | SubscribeUsage:
    """The words after `/scans subscribe`: filters and events, in any order."""
    if len(words) == 1 and words[0].lower() == HELP:
        return SubscribeUsage()
    types: set[str] = set()
    events: set[str] = set()
    targets: set[str] = set()
    severities: set[str] = set()
    quiet: list[QuietHours] = []
    zones: list[str] = []
    for word in words:
        key = word.lower()
        if key in TYPE_WORDS:
            types.update(TYPE_WORDS[key])
        elif key in EVENT_WORDS:
            events.add(key)
        elif key == QUIET_ALL:
            continue
        elif key.startswith(QUIET_PREFIX):
            window = parse_quiet(word[len(QUIET_PREFIX) :])
            if window is None or quiet:
                reason = QUIET_REASON if window is None else TWO_QUIET_REASON
                return SubscribeUsage(unknown=word, reason=reason)
            quiet.append(window)
        elif key.startswith(TZ_PREFIX):
            zone_refused = _zone(word, zones)
            if zone_refused is not None:
                return zone_refused
        elif key.startswith(TARGET_PREFIX):
            refused = _target(word[len(TARGET_PREFIX) :], targets)
            if refused is not None:
                return SubscribeUsage(unknown=word, reason=refused)
        elif key.startswith(SEVERITY_PREFIX) and key[len(SEVERITY_PREFIX) :] in SEVERITY_WORDS:
            severities.add(SEVERITY_WORDS[key[len(SEVERITY_PREFIX) :]])
        else:
            return _refused_subscribe_word(word)
    if len(severities) > 1:
        return SubscribeUsage(unknown=_last_severity(words), reason=TWO_SEVERITIES_REASON)
    chosen = tuple(e for e in EVENT_WORDS if e in events) or DEFAULT_EVENTS
    if severities and "risks" not in chosen:
        return SubscribeUsage(unknown=_last_severity(words), reason=SEVERITY_WITHOUT_RISKS_REASON)
    quiet_all = any(word.lower() == QUIET_ALL for word in words)
    if (quiet_all or zones) and not quiet:
        unknown = next(w for w in words if w.lower() == QUIET_ALL or w.lower()[:3] == TZ_PREFIX)
        return SubscribeUsage(unknown=unknown, reason=QUIET_MISSING_REASON)
    return Subscribe(
        types=tuple(sorted(types)),
        target_contains=next(iter(targets), None),
        min_severity=next(iter(severities), None),
        events=chosen,
        quiet=next(iter(quiet), None),
        quiet_all=quiet_all,
        tz=next(iter(zones), None),
    )


def _target(value: str, seen: set[str]) -> str | None:
    """Add `value` (unquoted) to `seen`; the reason it is refused, if it is."""
    for opening, closing in _QUOTES:
        if len(value) >= 2 and value[0] == opening and value[-1] == closing:
            value = value[1:-1]
            break
    if not value:
        return EMPTY_TARGET_REASON
    if len(value) > MAX_TARGET_TEXT:
        return LONG_TARGET_REASON
    if seen and value not in seen:
        return TWO_TARGETS_REASON
    seen.add(value)
    return None


def _last_severity(words: Sequence[str]) -> str:
    return [w for w in words if w.lower().startswith(SEVERITY_PREFIX)][-1]


def _refused_subscribe_word(word: str) -> SubscribeUsage:
    key = word.lower()
    if key.startswith(BY_PREFIX):
        return SubscribeUsage(unknown=word, reason=BY_REASON)
    if key == TARGET_PREFIX[:-1]:  # `target` alone: the text to look for is missing
        return SubscribeUsage(unknown=word, reason=EMPTY_TARGET_REASON)
    if key in STATE_EVENTS:
        return SubscribeUsage(unknown=word, suggestion=STATE_EVENTS[key], reason=STATE_REASON)
    if key.startswith(SEVERITY_PREFIX):
        level = _nearest(key[len(SEVERITY_PREFIX) :], list(SEVERITY_WORDS), _SEVERITY_ALIASES)
        suggestion = SEVERITY_PREFIX + level if level else None
        return SubscribeUsage(unknown=word, suggestion=suggestion, reason=SEVERITY_REASON)
    suggestion = _suggest_subscribe(word)
    return SubscribeUsage(unknown=word, suggestion=suggestion, reason=SUBSCRIBE_REASON)


def _suggest_subscribe(word: str) -> str | None:
    """The valid word closest to `word` after `subscribe`, e.g. `target=x` -> `target:x`."""
    name, sep, rest = word.partition(":")
    if not sep:
        name, sep, rest = word.partition("=")
    if sep and rest:
        key = name.lower()
        if key in ("target", "targets", "host", "url"):
            return TARGET_PREFIX + rest
        if key in ("severity", "sev", "level", "min_severity", "threat"):
            level = _nearest(rest.lower(), list(SEVERITY_WORDS), _SEVERITY_ALIASES)
            return SEVERITY_PREFIX + level if level else None
        if rest.lower() in TYPE_WORDS or rest.lower() in EVENT_WORDS:  # `type:zap`, `event:risks`
            return rest.lower()
    key = word.lower()
    if key in SEVERITY_WORDS or key in _SEVERITY_ALIASES:
        return SEVERITY_PREFIX + _SEVERITY_ALIASES.get(key, key)
    matches = difflib.get_close_matches(key, [*TYPE_WORDS, *EVENT_WORDS], n=1)
    return matches[0] if matches else None


def _nearest(key: str, words: list[str], aliases: dict[str, str]) -> str | None:
    if key in aliases:
        return aliases[key]
    matches = difflib.get_close_matches(key, words, n=1)
    return matches[0] if matches else None


def parse_unsubscribe(words: Sequence[str]) -> Unsubscribe | SubscribeUsage:
    """The words after `/scans unsubscribe`: a subscription's number (`3`, `#3`) or `all`."""
    if not words:
        return SubscribeUsage(reason=UNSUBSCRIBE_REASON)
    if len(words) > 1:
        return SubscribeUsage(unknown=words[1], reason=ONE_ID_REASON)
    word = words[0]
    if word.lower() == ALL:
        return Unsubscribe(None)
    number = _SUBSCRIPTION_ID.fullmatch(word)
    if number is not None:
        return Unsubscribe(int(number.group(1)))
    bare = word.removeprefix("#")
    if bare.isascii() and bare.isdigit():
        return SubscribeUsage(unknown=word, reason=LONG_ID_REASON)
    digits = bare.rstrip(".,;:)")  # `#3.` or `3)` as typed in a sentence
    if digits != bare and _SUBSCRIPTION_ID.fullmatch(digits):
        suggestion: str | None = digits
    else:
        suggestion = ALL if difflib.get_close_matches(word.lower(), [ALL], n=1) else None
    return SubscribeUsage(unknown=word, suggestion=suggestion, reason=UNSUBSCRIBE_REASON)


def parse_subscriptions(words: Sequence[str]) -> ListSubscriptions | SubscribeUsage:
    if words:
        return SubscribeUsage(unknown=words[0], reason=SUBSCRIPTIONS_REASON)
    return ListSubscriptions()


# --- /scans summary, quiet hours, time zones -------------------------------------------

PERIOD_WORDS: tuple[str, ...] = ("daily", "weekly")
WEEKDAY_WORDS: dict[str, int] = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3])[:.h]([0-5][0-9])")
MAX_ZONE_CHARS = 64  # the longest IANA name is 32 characters

SUMMARY_REASON = (
    "`/scans summary` takes `daily 09:00`, `weekly mon 09:00` or `off`, then optionally "
    f"scan types, `{TARGET_PREFIX}` with some text, `{SEVERITY_PREFIX}high`, `medium` or `low`, "
    f"and `{TZ_PREFIX}Europe/Berlin`."
)
TIME_REASON = "A summary's time is hours and minutes on a 24-hour clock, like `09:00` or `17:30`."
WEEKDAY_REASON = "A weekly summary needs its day before the time: `mon`, `tue`, … `sun`."
OFF_REASON = "`/scans summary off` takes no other words: it stops this channel's summaries."
ZONE_REASON = (
    "`tz:` takes a time zone's IANA name, like `tz:Europe/Berlin`, `tz:America/New_York` "
    "or `tz:UTC`."
)
TWO_ZONES_REASON = "Give one `tz:`."
QUIET_REASON = (
    f"`{QUIET_PREFIX}` takes a window on a 24-hour clock, like `{QUIET_PREFIX}22:00-07:00`: "
    "alerts in it wait until it ends."
)
TWO_QUIET_REASON = f"A subscription takes one `{QUIET_PREFIX}` window."
QUIET_MISSING_REASON = (
    f"`{QUIET_ALL}` and `{TZ_PREFIX}` go with quiet hours: add `{QUIET_PREFIX}22:00-07:00`."
)


def parse_clock(text: str) -> time | None:
    """`09:00`, `9:00`, `9.00` or `9h00` as a time of day; None if it is not one."""
    match = _CLOCK.fullmatch(text.strip())
    return None if match is None else time(int(match.group(1)), int(match.group(2)))


def parse_quiet(text: str) -> QuietHours | None:
    """`22:00-07:00` as a window; None if it is not one (or starts and ends together)."""
    start, sep, end = text.partition("-")
    first, last = parse_clock(start), parse_clock(end)
    if not sep or first is None or last is None or first == last:
        return None
    return QuietHours(first, last)


def known_zone(name: str) -> bool:
    """Whether `name` is a time zone this machine's tz database knows."""
    if not name or len(name) > MAX_ZONE_CHARS or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _zone(word: str, zones: list[str]) -> SubscribeUsage | None:
    """Add the zone of `tz:<name>` to `zones`; the refusal if it is not one, or a second."""
    name = word[len(TZ_PREFIX) :]
    if not known_zone(name):
        return SubscribeUsage(unknown=word, reason=ZONE_REASON)
    if zones:
        return SubscribeUsage(unknown=word, reason=TWO_ZONES_REASON)
    zones.append(name)
    return None


def parse_summary(words: Sequence[str]) -> SummaryCommand | SubscribeUsage:
    """The words after `/scans summary`: `daily 09:00`, `weekly mon 09:00` or `off`, then
    the filters of `subscribe` (types, `target:`, `severity:`) and `tz:`, in any order."""
    if not words or (len(words) == 1 and words[0].lower() == HELP):
        return SubscribeUsage(reason=SUMMARY_REASON)
    period = words[0].lower()
    if period == OFF:
        return StopSummary() if len(words) == 1 else SubscribeUsage(words[1], reason=OFF_REASON)
    if period not in PERIOD_WORDS:
        matches = difflib.get_close_matches(period, [*PERIOD_WORDS, OFF], n=1)
        return SubscribeUsage(words[0], next(iter(matches), None), SUMMARY_REASON)
    rest = list(words[1:])
    weekday: int | None = None
    if period == "weekly":
        day = rest.pop(0).lower() if rest else ""
        if day not in WEEKDAY_WORDS:
            return SubscribeUsage(day or None, reason=WEEKDAY_REASON)
        weekday = WEEKDAY_WORDS[day]
    at = parse_clock(rest[0]) if rest else None
    if at is None:
        return SubscribeUsage(rest[0] if rest else None, reason=TIME_REASON)
    return _summary_filters(rest[1:], ScheduleSummary(period, at, weekday))


def _summary_filters(
    words: Sequence[str], summary: ScheduleSummary
) -> SummaryCommand | SubscribeUsage:
    types: set[str] = set()
    targets: set[str] = set()
    severities: set[str] = set()
    zones: list[str] = []
    for word in words:
        key = word.lower()
        if key in TYPE_WORDS:
            types.update(TYPE_WORDS[key])
        elif key.startswith(TARGET_PREFIX):
            refused = _target(word[len(TARGET_PREFIX) :], targets)
            if refused is not None:
                return SubscribeUsage(unknown=word, reason=refused)
        elif key.startswith(SEVERITY_PREFIX) and key[len(SEVERITY_PREFIX) :] in SEVERITY_WORDS:
            if severities:
                return SubscribeUsage(unknown=word, reason=TWO_SEVERITIES_REASON)
            severities.add(SEVERITY_WORDS[key[len(SEVERITY_PREFIX) :]])
        elif key.startswith(TZ_PREFIX):
            zone_refused = _zone(word, zones)
            if zone_refused is not None:
                return zone_refused
        else:
            suggestion = _suggest_subscribe(word)
            return SubscribeUsage(unknown=word, suggestion=suggestion, reason=SUMMARY_REASON)
    return ScheduleSummary(
        period=summary.period,
        at=summary.at,
        weekday=summary.weekday,
        types=tuple(sorted(types)),
        target_contains=next(iter(targets), None),
        min_severity=next(iter(severities), None),
        tz=next(iter(zones), None),
    )


_SUBSCRIPTION_PARSERS: dict[str, Callable[[Sequence[str]], SubscriptionCommand]] = {
    SUBSCRIBE: parse_subscribe,
    UNSUBSCRIBE: parse_unsubscribe,
    SUBSCRIPTIONS: parse_subscriptions,
    SUMMARY: parse_summary,
}


# --- /scans run, targets, target add, report, audit -------------------------------------

ID_PREFIX = "id:"
TAG_PREFIX = "tag:"
LABEL_PREFIX = "label:"
ADD = "add"
MAX_RUN_TARGETS = 25  # more in one scan from a chat line is more likely a paste gone wrong
MAX_TAGS = 10  # HostedScan keeps at most 10 tags a target
MAX_LABEL = 200
MAX_TARGET_SEARCH = 100
REPORT_FORMATS: dict[str, str] = {"pdf": "PDF", "html": "HTML"}
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # hostedscan.validate_scan_id's rule
_TAG = re.compile(r"[^\s<>&]{1,64}")


@dataclass(frozen=True)
class RunScan:
    """`/scans run`: one scan of `scan_type` (an API name) on exactly one kind of targets."""

    scan_type: str
    hosts: tuple[str, ...] = ()
    target_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListTargets:
    text: str | None = None
    offset: int = 0


@dataclass(frozen=True)
class AddTarget:
    target: str
    label: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class MakeReport:
    """`/scans report`: `report_format` PDF or HTML; types are API names; `threat_levels`
    the levels asked for (empty: all); at most one of `targets` (ids or hosts) and `tags`."""

    report_format: str = "PDF"
    types: tuple[str, ...] = ()
    threat_levels: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShowAudit:
    offset: int = 0


@dataclass(frozen=True)
class BadTargets:
    """Targets HostedScan would refuse or skip: each as typed, with why (our words)."""

    problems: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OperationUsage:
    """How to use `command` (a word of OPERATION_HELP); `reason` our sentence (plain words
    and `code` spans, no user text), `unknown` the word refused, as typed."""

    command: str
    reason: str
    unknown: str | None = None


OperationCommand = (
    RunScan | ListTargets | AddTarget | MakeReport | ShowAudit | BadTargets | OperationUsage
)
ScansCommand = ListScans | ShowUsage | ChannelCommand | OperationCommand
# For isinstance: the commands that act on HostedScan.
OPERATION_COMMANDS = (
    RunScan,
    ListTargets,
    AddTarget,
    MakeReport,
    ShowAudit,
    BadTargets,
    OperationUsage,
)

RUN_REASON = (
    "`/scans run` takes a scan type, then the hosts, URLs or IP addresses to scan, "
    "or `id:` target ids, or `tag:` tags; e.g. `/scans run openvas example.com`."
)
RUN_TYPE_REASON = (
    "The first word after `/scans run` is the scan type: "
    + ", ".join(f"`{word}`" for word in TYPE_WORDS)
    + "."
)
MIXED_TARGETS_REASON = (
    "One scan takes hosts, or `id:` target ids, or `tag:` tags, not a mix: run one scan for each."
)
TOO_MANY_TARGETS_REASON = (
    f"One scan from Slack takes at most {MAX_RUN_TARGETS} targets; use a `tag:` for more."
)
BAD_ID_REASON = "A target id is letters, digits, `_` and `-`; `/scans targets` lists them."
BAD_TAG_REASON = "A tag is up to 64 characters without spaces, `<`, `>` or `&`."
TARGETS_REASON = "`/scans targets` takes at most one word to look for, of at most 100 characters."
TARGET_ADD_REASON = (
    "`/scans target add` takes one host, URL or IP address, then optional `label:` and "
    "`tag:` words; e.g. `/scans target add shop.example.com label:Shop tag:prod`."
)
LABEL_REASON = f"A `label:` takes 1 to {MAX_LABEL} characters, once."
TOO_MANY_TAGS_REASON = f"A target takes at most {MAX_TAGS} tags."
REPORT_REASON = (
    "`/scans report` takes `pdf` or `html`, scan types, `severity:high`, `medium` or `low`, "
    "and `target:` or `tag:` words; e.g. `/scans report pdf openvas severity:high tag:prod`."
)
REPORT_FILTER_REASON = "A report is of `target:` targets or of `tag:` tags, not both."
AUDIT_REASON = "`/scans audit` takes no words, or a page number: `/scans audit 2`."


def parse_run(words: Sequence[str]) -> OperationCommand:
    """The words after `/scans run`: a type, then targets of one kind."""
    if not words:
        return OperationUsage(RUN, RUN_REASON)
    types = TYPE_WORDS.get(words[0].lower())
    if types is None:
        return OperationUsage(RUN, RUN_TYPE_REASON, words[0])
    kinds: dict[str, list[str]] = {"hosts": [], "ids": [], "tags": []}
    problems: list[tuple[str, str]] = []
    for word in words[1:]:
        key = word.lower()
        if key.startswith(ID_PREFIX):
            value = word[len(ID_PREFIX) :]
            if not _ID.fullmatch(value):
                return OperationUsage(RUN, BAD_ID_REASON, word)
            kinds["ids"].append(value)
        elif key.startswith(TAG_PREFIX):
            value = word[len(TAG_PREFIX) :]
            if not _TAG.fullmatch(value):
                return OperationUsage(RUN, BAD_TAG_REASON, word)
            kinds["tags"].append(value)
        else:
            why = target_problem(word) or unreachable_reason(word)
            if why is not None:
                problems.append((word, why))
            kinds["hosts"].append(word)
    if problems:
        return BadTargets(tuple(problems))
    given = {name: tuple(dict.fromkeys(values)) for name, values in kinds.items() if values}
    if not given:
        return OperationUsage(RUN, RUN_REASON)
    if len(given) > 1:
        return OperationUsage(RUN, MIXED_TARGETS_REASON)
    if sum(len(values) for values in given.values()) > MAX_RUN_TARGETS:
        return OperationUsage(RUN, TOO_MANY_TARGETS_REASON)
    return RunScan(types[0], given.get("hosts", ()), given.get("ids", ()), given.get("tags", ()))


def parse_targets(words: Sequence[str]) -> OperationCommand:
    if len(words) > 1 or (words and len(words[0]) > MAX_TARGET_SEARCH):
        return OperationUsage(TARGETS, TARGETS_REASON, words[-1])
    return ListTargets(words[0] if words else None)


def parse_target(words: Sequence[str]) -> OperationCommand:
    """`/scans target add <host> [label:…] [tag:…]`."""
    if len(words) < 2 or words[0].lower() != ADD:
        return OperationUsage(TARGET, TARGET_ADD_REASON, words[0] if words else None)
    host = words[1]
    why = target_problem(host) or unreachable_reason(host)
    if why is not None:
        return BadTargets(((host, why),))
    label: str | None = None
    tags: list[str] = []
    for word in words[2:]:
        key = word.lower()
        if key.startswith(LABEL_PREFIX):
            value = word[len(LABEL_PREFIX) :]
            if label is not None or not 0 < len(value) <= MAX_LABEL:
                return OperationUsage(TARGET, LABEL_REASON, word)
            label = value
        elif key.startswith(TAG_PREFIX):
            value = word[len(TAG_PREFIX) :]
            if not _TAG.fullmatch(value):
                return OperationUsage(TARGET, BAD_TAG_REASON, word)
            tags.append(value)
        else:
            return OperationUsage(TARGET, TARGET_ADD_REASON, word)
    unique = tuple(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        return OperationUsage(TARGET, TOO_MANY_TAGS_REASON)
    return AddTarget(host, label, unique)


def parse_report(words: Sequence[str]) -> OperationCommand:
    """The words after `/scans report`, in any order."""
    report_format = "PDF"
    types: set[str] = set()
    levels: set[str] = set()
    targets: list[str] = []
    tags: list[str] = []
    for word in words:
        key = word.lower()
        if key in REPORT_FORMATS:
            report_format = REPORT_FORMATS[key]
        elif key in TYPE_WORDS:
            types.update(TYPE_WORDS[key])
        elif key.startswith(SEVERITY_PREFIX) and key[len(SEVERITY_PREFIX) :] in SEVERITY_WORDS:
            levels.add(SEVERITY_WORDS[key[len(SEVERITY_PREFIX) :]])
        elif key.startswith(TARGET_PREFIX) and len(word) > len(TARGET_PREFIX):
            targets.append(word[len(TARGET_PREFIX) :])
        elif key.startswith(TAG_PREFIX) and _TAG.fullmatch(word[len(TAG_PREFIX) :]):
            tags.append(word[len(TAG_PREFIX) :])
        else:
            return OperationUsage(REPORT, REPORT_REASON, word)
    if targets and tags:
        return OperationUsage(REPORT, REPORT_FILTER_REASON)
    ordered_levels = tuple(level for level in ("HIGH", "MEDIUM", "LOW") if level in levels)
    return MakeReport(
        report_format,
        tuple(sorted(types)),
        ordered_levels,
        tuple(dict.fromkeys(targets)),
        tuple(dict.fromkeys(tags)),
    )


def parse_audit(words: Sequence[str]) -> OperationCommand:
    if not words:
        return ShowAudit()
    if len(words) == 1 and words[0].isascii() and words[0].isdigit() and len(words[0]) <= 6:
        return ShowAudit(offset=max(0, int(words[0]) - 1))
    return OperationUsage(AUDIT, AUDIT_REASON, words[-1])


_OPERATION_PARSERS: dict[str, Callable[[Sequence[str]], OperationCommand]] = {
    RUN: parse_run,
    TARGETS: parse_targets,
    TARGET: parse_target,
    REPORT: parse_report,
    AUDIT: parse_audit,
}
