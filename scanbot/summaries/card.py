"""The posture summary as Slack shows it: open risks by level, change since the last one,
scans in the period, the oldest overdue risks and the targets with most open high risks.
Pure; the kit's rules hold (targets and titles go into rich_text, cut; within limits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scanbot.domain.events import Alert
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import Subscription
from scanbot.domain.summaries import DAILY, LEVELS, SummarySchedule
from scanbot.slack import kit, rich
from scanbot.slack.cards import threads as thread_cards
from scanbot.slack.cards.summaries import describe_schedule
from scanbot.slack.kit import (
    NAME_CHARS,
    TARGET_CHARS,
    THREAT_NAMES,
    THREAT_SYMBOLS,
    TITLE_CHARS,
    UNKNOWN_THREAT_SYMBOL,
    Message,
)
from scanbot.slack.rich import Line
from scanbot.slack.text import escape, plural, shown
from scanbot.summaries.compute import OTHER, OverdueRisk, Posture

NOT_ENOUGH_HISTORY = (
    "📈 The trend chart needs at least two days of counts: scanbot records one a day, "
    "so it appears from the second summary on."
)


def _level_counts(posture: Posture) -> str:
    parts = [
        f"{THREAT_SYMBOLS[level]} {THREAT_NAMES[level]} *{posture.open_by_level.get(level, 0):,}*"
        for level in LEVELS
    ]
    other = posture.open_by_level.get(OTHER, 0)
    if other:
        parts.append(f"{UNKNOWN_THREAT_SYMBOL} Other *{other:,}*")
    return " · ".join(parts)


def _change(posture: Posture) -> str:
    if posture.since is None:
        return "*Since the last summary:* this is the first one; the next shows what changed."
    closed = "" if posture.closed is None else f", *{posture.closed:,}* closed"
    return f"*Since the last summary:* *{posture.new:,}* new{closed}."


def _scans(posture: Posture) -> str:
    tally = posture.scans
    return (
        f"*Scans finished this period:* {tally.run:,} "
        f"({tally.failed:,} failed, {tally.over_limit:,} over limit)."
    )


def _overdue_line(risk: OverdueRisk) -> Line:
    symbol = THREAT_SYMBOLS.get(risk.level, UNKNOWN_THREAT_SYMBOL)
    level = THREAT_NAMES.get(risk.level) or shown(risk.level, NAME_CHARS, blank="Unknown level")
    return [
        rich.text(f"{symbol} "),
        rich.bold(level),
        rich.text(" "),
        rich.value(risk.title, TITLE_CHARS, blank="(untitled)"),
        rich.text(" · "),
        rich.value(risk.target, TARGET_CHARS, blank="(no target)", code=True),
        rich.text(f" · open {plural(risk.age_days, 'day')} (due within {risk.due_days})"),
    ]


def _target_line(target: str, count: int) -> Line:
    return [
        rich.value(target, TARGET_CHARS, blank="(no target)", code=True),
        rich.text(f" · {plural(count, 'open high risk')}"),
    ]


def posture_summary(
    posture: Posture,
    schedule: SummarySchedule,
    *,
    due_at: datetime,
    late: bool = False,
    chart_note: str | None = None,
) -> Message:
    """The summary a schedule posts: counts, change, scans, overdue and top targets.

    `due_at` is when it was due (said when `late`); `chart_note` a sentence of ours about
    the chart (e.g. NOT_ENOUGH_HISTORY), None when the chart follows in the thread.
    """
    period = "Daily" if schedule.period == DAILY else "Weekly"
    head: list[kit.Block] = [kit.header(f"📊 {period} security summary")]
    if late:
        late_line = [
            rich.text("⏰ Sent late: it was due "),
            rich.date(due_at, kit.DATE_FORMAT),
            rich.text(", while scanbot was not running."),
        ]
        head.append(rich.paragraph(late_line))
    accepted = f" · accepted in HostedScan: {posture.accepted:,} (not counted)"
    body = [
        kit.section(
            f"*Open risks:* {posture.open_total:,} — {_level_counts(posture)}"
            f"{accepted if posture.accepted else ''}\n{_change(posture)}\n{_scans(posture)}"
        )
    ]
    foot = [
        kit.context(
            escape(f"Summary {describe_schedule(schedule)}. ") + "`/scans summary off` stops it."
        )
    ]
    if chart_note:
        foot.insert(0, kit.context(chart_note))
    overdue_head = kit.section(
        f"*Overdue:* {posture.overdue_total:,} open past their due date"
        + (", oldest first:" if posture.overdue else ".")
    )
    overdue = [_overdue_line(r) for r in posture.overdue]
    targets = [_target_line(t, n) for t, n in posture.top_targets]
    targets_head = kit.section("*Most open high risks:*" if targets else "*No open high risks.*")
    fixed = [*head, *body, overdue_head, targets_head, *foot]
    space = kit.room(fixed) // 2
    overdue_blocks = kit.packed(overdue, posture.overdue_total, space, bulleted=True)
    target_blocks = kit.packed(targets, len(targets), space, bulleted=True)
    blocks = [*head, *body, overdue_head, *overdue_blocks, targets_head, *target_blocks, *foot]
    late_word = " (late)" if late else ""
    fallback = (
        f"{period} security summary{late_word}: {posture.open_total:,} open risks, "
        f"{posture.new:,} new, {posture.overdue_total:,} overdue"
    )
    return kit.message(fallback, blocks)


def quiet_release(alerts: Sequence[Alert], quiet: Sequence[Subscription]) -> Message:
    """The one message that lists what a channel's quiet hours held, as a digest."""
    windows = sorted(
        {
            f"{s.quiet_start}-{s.quiet_end} ({shown(s.tz or 'UTC', NAME_CHARS)})"
            for s in quiet
            if s.quiet_start is not None
        }
    )
    during = f" ({', '.join(windows)})" if windows else ""
    digest = thread_cards.digest(alerts)
    note = rich.paragraph(
        [rich.text(f"🌙 Quiet hours{during} are over: these alerts waited until now.")]
    )
    fallback = escape(f"Quiet hours are over: {plural(len(alerts), 'alert')} waited. ")
    return kit.message(fallback + digest["text"], [note, *digest["blocks"]])


def assigned_dm(summary: ScanSummary, channel_id: str, by: str, permalink: str | None) -> Message:
    """The direct message to the person an alert was assigned to, with a link to it."""
    line = [
        rich.user(by),
        rich.text(" assigned you "),
        *kit.scan_reference(summary, start=False),
        rich.text(" in "),
        rich.channel(channel_id),
        rich.text("."),
    ]
    lines = [line]
    if permalink is not None:
        lines.append([rich.link(permalink, "Open the alert's thread")])
    fallback = f"{kit.mention(by)} assigned you {kit.scan_reference_mrkdwn(summary, start=False)}"
    return kit.message(fallback, [rich.paragraph(*lines)])
