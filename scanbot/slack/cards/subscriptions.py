"""A channel's alert subscriptions: subscribed, the channel's announcement, the list,
unsubscribed, and how to subscribe (`help.SUBSCRIBE_USAGE`) after what was refused.

The kit's rules hold (`slack.kit`): what someone typed is shown literally and cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from scanbot.domain.subscriptions import Subscription
from scanbot.scans.query import type_name
from scanbot.slack import kit, rich
from scanbot.slack.cards.help import SUBSCRIBE_FALLBACK, SUBSCRIBE_USAGE
from scanbot.slack.kit import NAME_CHARS, REASON_CHARS, SECTION_TEXT, TARGET_CHARS, Message
from scanbot.slack.rich import Line
from scanbot.slack.text import escape, plural, shown

MAX_SUBSCRIPTIONS = 40  # subscriptions listed in one message
MAX_NUMBERS = 10  # subscription numbers the list's plain text names
ALERT_CHANNEL_SETTING = "SCANBOT_ALERT_CHANNEL"
HOW_TO_SUBSCRIBE = (
    "`/scans subscribe` sends finished scans and new risks to this channel; "
    "`/scans subscribe help` shows how to choose types, targets, severity and events."
)


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe_subscription(subscription: Subscription) -> str:
    """The subscription in words, as shown (not escaped: a rich_text element takes it as it
    is, mrkdwn needs `escape`): "#3: finished and risks of OpenVAS scans with a target
    containing “shop”, risks of medium severity or higher".
    """
    events = [shown(event, NAME_CHARS) for event in subscription.events]
    types = [shown(type_name(t), NAME_CHARS) for t in subscription.types]
    text = f"#{subscription.id}: {_and(events) if events else 'no events'} of "
    text += f"{kit.either(types) if types else 'all'} scans"
    if subscription.target_contains is not None:
        target = shown(subscription.target_contains, TARGET_CHARS)
        text += f" with a target containing “{target}”"
    if subscription.min_severity is not None:
        level = shown(subscription.min_severity.lower(), NAME_CHARS)
        text += f", risks of {level} severity or higher"
    if subscription.quiet_start is not None and subscription.quiet_end is not None:
        zone = shown(subscription.tz or "UTC", NAME_CHARS)
        text += f", quiet {subscription.quiet_start}-{subscription.quiet_end} ({zone})"
        if subscription.quiet_all:
            text += " for every alert"
    return text


def _subscription_line(subscription: Subscription) -> Line:
    line = [rich.text(describe_subscription(subscription))]
    if subscription.from_env:
        line += [
            rich.text(" (set by "),
            rich.text(ALERT_CHANNEL_SETTING, code=True),
            rich.text(")"),
        ]
    if subscription.disabled_reason is not None:
        reason = shown(subscription.disabled_reason, REASON_CHARS, blank="no reason given")
        line.append(rich.text(f"\n⏸️ Disabled: {reason}"))
    return line


def subscriptions_list(subscriptions: Sequence[Subscription]) -> Message:
    """This channel's subscriptions, each with its number; with none, how to subscribe."""
    if not subscriptions:
        text = f"This channel has no alert subscriptions. {HOW_TO_SUBSCRIBE}"
        return kit.message("This channel has no alert subscriptions.", [kit.section(text)])
    title = f"{plural(len(subscriptions), 'alert subscription')} in this channel"
    foot = [
        kit.context("`/scans unsubscribe 3` stops #3; `/scans unsubscribe all` stops them all.")
    ]
    head = [kit.header(title)]
    lines = [_subscription_line(s) for s in subscriptions[:MAX_SUBSCRIPTIONS]]
    listed = kit.packed(lines, len(subscriptions), kit.room(head, foot), bulleted=True)
    numbers = _and([f"#{s.id}" for s in subscriptions[:MAX_NUMBERS]])
    rest = len(subscriptions) - MAX_NUMBERS
    more = f" and {rest:,} more" if rest > 0 else ""
    return kit.message(f"{title}: {numbers}{more}", head + listed + foot)


def subscribed(subscription: Subscription) -> Message:
    """The answer to `/scans subscribe`: what this channel will now hear about."""
    words = describe_subscription(subscription)
    lines = [
        [rich.text(f"✅ Subscribed {words}.")],
        [
            rich.text("Alerts go to this channel; "),
            rich.text(f"/scans unsubscribe {subscription.id}", code=True),
            rich.text(" stops them."),
        ],
    ]
    return kit.message(escape(f"Subscribed {words}."), [rich.paragraph(*lines)])


def subscription_announcement(subscription: Subscription, user_id: str) -> Message:
    """What the channel itself is told when someone subscribes it (which also proves that
    scanbot can post there)."""
    words = describe_subscription(subscription)
    line = [rich.user(user_id), rich.text(f" subscribed this channel to scan alerts: {words}.")]
    fallback = f"{kit.mention(user_id)} subscribed this channel to scan alerts: {escape(words)}."
    return kit.message(fallback, [rich.paragraph(line)])


def unsubscribed(count: int, subscription_id: int | None) -> Message:
    """The answer to `/scans unsubscribe <number>|all`, given how many were removed."""
    if subscription_id is not None and count > 0:
        text = f"Unsubscribed #{subscription_id}: no more of its alerts in this channel."
    elif subscription_id is not None:
        text = (
            f"This channel has no subscription #{subscription_id}. "
            "`/scans subscriptions` lists them."
        )
    elif count > 1:
        text = f"Unsubscribed all {count:,} subscriptions: this channel gets no more scan alerts."
    elif count == 1:
        text = "Unsubscribed this channel's only subscription: no more scan alerts here."
    else:
        text = "This channel had no subscriptions: there was nothing to stop."
    return kit.sentence(text)


def subscribe_usage(
    unknown: str | None = None, suggestion: str | None = None, reason: str | None = None
) -> Message:
    """Help for the subscription subcommands, after what was refused (as typed) and why.

    The arguments are a `SubscribeUsage`'s fields; `reason` is shown literally like the rest.
    """
    problem: list[Line] = []
    plain: list[str] = []
    if unknown is not None:
        typed = rich.value(unknown, NAME_CHARS, code=True)
        problem.append([rich.text("scanbot cannot use "), typed, rich.text(" here.")])
        plain.append(f"scanbot cannot use “{shown(unknown, NAME_CHARS)}” here.")
    if suggestion:
        typed = rich.value(suggestion, NAME_CHARS, code=True)
        problem.append([rich.text("Did you mean "), typed, rich.text("?")])
        plain.append(f"Did you mean “{shown(suggestion, NAME_CHARS)}”?")
    if reason:
        problem.append([rich.value(reason, SECTION_TEXT // 2)])
        plain.append(shown(reason, SECTION_TEXT // 2))
    blocks = [rich.paragraph(rich.joined(problem, " "))] if problem else []
    blocks.append(kit.section(SUBSCRIBE_USAGE))
    return kit.message(" ".join([escape(" ".join(plain)), SUBSCRIBE_FALLBACK]).strip(), blocks)
