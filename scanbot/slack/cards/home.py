"""What waits for on-call: the App Home tab (scans assigned to someone, threads waiting for
acknowledgement in their channels) and a channel's `/scans triage` list.

The kit's rules hold (`slack.kit`); links are built only from Slack's permalinks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from scanbot.domain.scans import ScanSummary
from scanbot.slack import kit, rich
from scanbot.slack.kit import (
    FALLBACK_TEXT,
    ID_CHARS,
    MAX_VIEW_BLOCKS,
    NAME_CHARS,
    TEXT_BUDGET,
    Block,
    Message,
    View,
)
from scanbot.slack.rich import Line
from scanbot.slack.text import as_utc, escape, is_channel_id, plural, shown

MAX_TRIAGE = 40  # threads in `/scans triage`
MAX_HOME = 40  # threads in each part of the Home tab

# A Slack permalink as chat.getPermalink answers it: https, no spaces or mrkdwn controls.
_PERMALINK = re.compile(r"https://[^\s<>|]{1,1000}")

# A waiting thread in a channel: (scan, permalink of its parent or None, when it started or None).
WaitingThread = tuple[ScanSummary, str | None, datetime | None]
# A thread on the Home tab: (scan, channel id, permalink of its parent or None).
HomeThread = tuple[ScanSummary, str, str | None]


def channel_link(channel_id: str) -> str:
    """`<#C123>` for a real-looking channel id; anything else only as escaped text."""
    if is_channel_id(channel_id):
        return f"<#{channel_id}>"
    return escape(shown(channel_id, NAME_CHARS, blank="an unknown channel"))


def _thread_link(permalink: str | None) -> rich.Element:
    if permalink is None or not _PERMALINK.fullmatch(permalink):
        return rich.text("no link to the thread")
    return rich.link(permalink, "thread")


def _thread_line(summary: ScanSummary, *extra: Line) -> Line:
    scan_id = rich.value(summary.scan_id, ID_CHARS, code=True)
    facts = [
        [scan_id],
        [rich.text(kit.shown_type(summary.type))],
        [rich.text(kit.shown_state(summary.state))],
    ]
    return rich.joined([*facts, *extra], " · ")


def _oldest_first(threads: Sequence[WaitingThread]) -> list[WaitingThread]:
    def key(thread: WaitingThread) -> tuple[bool, float]:
        at = thread[2]  # unknown start times go last; naive ones are UTC, as everywhere
        return (True, 0.0) if at is None else (False, as_utc(at).timestamp())

    return sorted(threads, key=key)


def triage_list(channel_id: str, threads: Sequence[WaitingThread]) -> Message:
    """`/scans triage`: this channel's alert threads nobody acknowledged, oldest first."""
    where = channel_link(channel_id)
    if not threads:
        text = f"Nothing waiting for acknowledgement in {where}."
        return kit.message(
            "Nothing waiting for acknowledgement in this channel.", [kit.section(text)]
        )
    title = f"{plural(len(threads), 'alert thread')} waiting for acknowledgement"
    head = [kit.header(title), kit.context(f"In {where}, oldest first")]
    lines = []
    for summary, permalink, started in _oldest_first(threads)[:MAX_TRIAGE]:
        age = (
            [rich.text("since "), rich.date(started, "{ago}")]
            if started is not None
            else [rich.text("age unknown")]
        )
        lines.append(_thread_line(summary, age, [_thread_link(permalink)]))
    listed = kit.packed(lines, len(threads), kit.room(head), bulleted=True)
    return kit.message(title, head + listed)


def _home_part(title: str, threads: Sequence[HomeThread], empty: str, room: int) -> list[Block]:
    head = [kit.section(f"*{title}* ({len(threads):,})" if threads else f"*{title}*")]
    if not threads:
        return [*head, kit.context(empty)]
    lines = [
        _thread_line(summary, [rich.channel(channel_id)], [_thread_link(permalink)])
        for summary, channel_id, permalink in threads[:MAX_HOME]
    ]
    return head + kit.packed(lines, len(threads), room, bulleted=True)


def home_view(
    user_id: str, assigned: Sequence[HomeThread], unacknowledged: Sequence[HomeThread]
) -> View:
    """The App Home tab: scans assigned to `user_id`, then threads waiting for
    acknowledgement in their channels.
    """
    whose = f"For {kit.mention(user_id)}. `/scans triage` lists a channel's waiting threads."
    head = [kit.header("Scan triage"), kit.context(whose)]
    # The Home tab has no documented total; each part keeps to a message's budget.
    room = TEXT_BUDGET - FALLBACK_TEXT
    blocks = head + _home_part("Assigned to you", assigned, "Nothing is assigned to you.", room)
    blocks.append({"type": "divider"})
    blocks += _home_part(
        "Waiting for acknowledgement in your channels",
        unacknowledged,
        "Nothing is waiting for acknowledgement.",
        room,
    )
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
