"""A channel's subscription: which scans' events it hears of, and the cap on how many."""

from __future__ import annotations

from scanbot.domain.events import DEFAULT_EVENTS
from scanbot.domain.value import Value

# Subscriptions one channel may have (SCANBOT_ALERT_CHANNEL's may come on top): each one
# is a line of `/scans subscriptions` and a routing rule every alert is checked against.
MAX_SUBSCRIPTIONS_PER_CHANNEL = 25


class Subscription(Value):
    id: int
    channel_id: str
    types: tuple[str, ...] = ()  # API spellings; empty = every type
    target_contains: str | None = None
    min_severity: str | None = None  # LOW, MEDIUM or HIGH; None = every risk
    events: tuple[str, ...] = DEFAULT_EVENTS
    created_by: str = ""
    from_env: bool = False  # added by SCANBOT_ALERT_CHANNEL at start-up
    disabled_reason: str | None = None
    quiet_start: str | None = None  # "22:00": alerts until quiet_end wait (migration 0007)
    quiet_end: str | None = None
    quiet_all: bool = False  # hold failed scans and high risks in the window too
    tz: str | None = None  # the window's IANA time zone
