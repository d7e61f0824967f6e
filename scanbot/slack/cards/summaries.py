"""Scheduled summaries: the answers to `/scans summary …` and their lines in `/scans
subscriptions` (the summary itself: `summaries.card`).

The kit's rules hold (`slack.kit`): targets and typed text go into rich_text, cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from scanbot.domain.summaries import DAILY, SummarySchedule
from scanbot.scans.query import type_name
from scanbot.slack import kit, rich
from scanbot.slack.kit import NAME_CHARS, TARGET_CHARS, Message
from scanbot.slack.text import escape, plural, shown

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SCHEDULES = 10  # a channel has at most two (daily, weekly); room for more is cheap


def describe_schedule(schedule: SummarySchedule) -> str:
    """ "daily at 09:00 (Europe/Berlin) of OpenVAS scans' risks with a target containing
    “shop”, medium or higher" (as shown: rich_text takes it, mrkdwn needs `escape`)."""
    when = "daily" if schedule.period == DAILY else f"weekly on {WEEKDAYS[schedule.weekday or 0]}"
    text = f"{when} at {schedule.at} ({shown(schedule.tz, NAME_CHARS)})"
    if schedule.types:
        text += f", {kit.either([shown(type_name(t), NAME_CHARS) for t in schedule.types])} risks"
    if schedule.target_contains is not None:
        text += f", targets containing “{shown(schedule.target_contains, TARGET_CHARS)}”"
    if schedule.min_severity is not None:
        text += f", {schedule.min_severity.lower()} severity or higher"
    return text


def scheduled(schedule: SummarySchedule) -> Message:
    """The answer to `/scans summary daily|weekly …`."""
    words = describe_schedule(schedule)
    lines = [
        [rich.text(f"✅ A summary of open risks will be posted here {words}.")],
        [rich.text("/scans summary off", code=True), rich.text(" stops it.")],
    ]
    return kit.message(escape(f"Summary scheduled {words}."), [rich.paragraph(*lines)])


def stopped(count: int) -> Message:
    """The answer to `/scans summary off`, given how many schedules it removed."""
    if count == 0:
        return kit.sentence("This channel had no scheduled summary: there was nothing to stop.")
    return kit.sentence(f"Stopped {plural(count, 'scheduled summary', 'scheduled summaries')}.")


def with_schedules(listing: Message, schedules: Sequence[SummarySchedule]) -> Message:
    """`/scans subscriptions`' answer with the channel's scheduled summaries under it."""
    if not schedules:
        return listing
    lines = [[rich.text(f"📊 Summary {describe_schedule(s)}")] for s in schedules[:MAX_SCHEDULES]]
    blocks = [*listing["blocks"], rich.block(rich.bullets(lines))]
    blocks.append(kit.context("`/scans summary off` stops the scheduled summaries."))
    count = plural(len(schedules), "scheduled summary", "scheduled summaries")
    return kit.message(f"{listing['text']}; {count}", blocks)
