"""Quiet hours per subscription (`quiet:22:00-07:00`, `quiet-all`): pure rules.

An alert is held when every subscription of its channel that wants it is in its quiet
window (in the subscription's time zone) and, unless that subscription says `quiet-all`,
the alert is not urgent: a failed or over-limit scan, or new risks of high severity (or of
a level scanbot cannot rank, `domain.severity`) always go out. A channel's held alerts are
released, in one message, once none of its subscriptions is in its window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from scanbot.alerts.routing import matches
from scanbot.domain.events import Alert, EventKind
from scanbot.domain.severity import severity_rank
from scanbot.domain.subscriptions import Subscription

HIGH_RANK = severity_rank("HIGH")


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_window(subscription: Subscription, now: datetime) -> bool:
    """Whether `now` falls in the subscription's quiet window (False without one)."""
    if subscription.quiet_start is None or subscription.quiet_end is None:
        return False
    start, end = _clock(subscription.quiet_start), _clock(subscription.quiet_end)
    local = now.astimezone(ZoneInfo(subscription.tz or "UTC")).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window spans midnight


def urgent(alert: Alert) -> bool:
    """A failed scan, or new risks with one of high (or unknown) severity."""
    if alert.broadcast:
        return True
    if alert.event.kind is not EventKind.RISKS:
        return False
    if len(alert.risks) < alert.risk_count:
        return True  # some risks' details were not had: their level is unknown
    return any(severity_rank(risk.threat_level) >= HIGH_RANK for risk in alert.risks)


def holds(alert: Alert, subscriptions: Sequence[Subscription], now: datetime) -> bool:
    """Whether the alert waits for the end of its channel's quiet hours."""
    if alert.event.kind is EventKind.GONE:
        return False  # it only ever goes into an existing thread; nothing to wait for
    wanting = [
        s for s in subscriptions if s.channel_id == alert.channel_id and matches(s, alert.event)
    ]
    if not wanting:
        return False
    return all(in_window(s, now) and (s.quiet_all or not urgent(alert)) for s in wanting)


def quiet_now(channel_id: str, subscriptions: Sequence[Subscription], now: datetime) -> bool:
    """Whether any subscription of the channel is in its quiet window."""
    return any(s.channel_id == channel_id and in_window(s, now) for s in subscriptions)
