"""Decide which channels hear about which events: subscriptions' filters and severities.

Pure: events and subscriptions in, one `Alert` per (channel, event) out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from scanbot.alerts.model import Alert, EventKind, RiskDetail, ScanEvent, Subscription

# Known threat levels, least severe first. Anything else (a level HostedScan adds later,
# or none because the details could not be had) ranks above HIGH: better a risk too many
# in a channel than a serious one filtered out.
SEVERITY_ORDER = ("LOW", "MEDIUM", "HIGH")
_UNKNOWN_RANK = len(SEVERITY_ORDER)

# Which subscribed event words let each kind of event through (FINISHED is special-cased:
# a failure also passes "failed"). GONE only posts into an existing thread, so every
# subscription that passes the filters gets it.
_EVENT_WORDS: Mapping[EventKind, frozenset[str]] = {
    EventKind.STARTED: frozenset({"started"}),
    EventKind.FINISHED: frozenset({"finished"}),
    EventKind.RISKS: frozenset({"risks"}),
    EventKind.UNKNOWN_STATE: frozenset({"started", "finished", "failed"}),
}


def severity_rank(threat_level: str) -> int:
    """LOW < MEDIUM < HIGH < anything else; case and surrounding blanks are ignored."""
    level = threat_level.strip().upper()
    return SEVERITY_ORDER.index(level) if level in SEVERITY_ORDER else _UNKNOWN_RANK


def matches(
    subscription: Subscription, event: ScanEvent, all_targets: Sequence[str] | None = None
) -> bool:
    """Whether the subscription wants the event.

    `target_contains` is looked for, case-insensitively, in `all_targets` when given, else
    in the summary's targets, which keep only the first few (`SHOWN_TARGETS`): a caller
    that has the scan should pass every requested target.
    """
    summary = event.summary
    if subscription.disabled_reason is not None:
        return False
    if subscription.types and summary.type not in subscription.types:
        return False
    targets = summary.targets if all_targets is None else all_targets
    if subscription.target_contains and not _contains(targets, subscription.target_contains):
        return False
    return _wants_kind(subscription.events, event)


def route(
    events: Sequence[ScanEvent],
    subscriptions: Sequence[Subscription],
    risk_details: Mapping[str, RiskDetail],
    *,
    all_targets: Mapping[str, Sequence[str]] | None = None,
    now: datetime | None = None,
) -> list[Alert]:
    """One alert per (channel, event), in event order then subscription order.

    Several subscriptions of one channel matching the same event make one alert; for
    RISKS the least strict severity among them applies, and a channel none of whose risks
    pass gets no alert. `risk_details` maps risk ids to their details; an id without any is
    of unknown severity, so always kept. `all_targets` maps scan ids to every requested
    target, for `target_contains` (a scan not in it falls back to its summary's targets).
    Alerts with a key already made (the same event passed twice) are left out. `now`
    stamps the alerts (default: `Alert`'s own clock).
    """
    alerts: list[Alert] = []
    keys: set[str] = set()
    for event in events:
        targets = None if all_targets is None else all_targets.get(event.summary.scan_id)
        for channel_id, matching in _matching_by_channel(event, subscriptions, targets).items():
            alert = _alert(channel_id, event, matching, risk_details, now)
            if alert is not None and alert.key not in keys:
                keys.add(alert.key)
                alerts.append(alert)
    return alerts


def _contains(targets: Sequence[str], needle: str) -> bool:
    folded = needle.casefold()
    return any(folded in target.casefold() for target in targets)


def _wants_kind(words: Sequence[str], event: ScanEvent) -> bool:
    if event.kind is EventKind.GONE:
        return True
    if event.kind is EventKind.FINISHED and event.summary.is_failure and "failed" in words:
        return True
    return not _EVENT_WORDS.get(event.kind, frozenset()).isdisjoint(words)


def _matching_by_channel(
    event: ScanEvent, subscriptions: Sequence[Subscription], targets: Sequence[str] | None
) -> dict[str, list[Subscription]]:
    by_channel: dict[str, list[Subscription]] = {}
    for subscription in subscriptions:
        if matches(subscription, event, targets):
            by_channel.setdefault(subscription.channel_id, []).append(subscription)
    return by_channel


def _alert(
    channel_id: str,
    event: ScanEvent,
    matching: Sequence[Subscription],
    risk_details: Mapping[str, RiskDetail],
    now: datetime | None,
) -> Alert | None:
    alert = Alert(channel_id=channel_id, event=event)
    if event.kind is EventKind.RISKS:
        kept = _kept_risks(event.risk_ids, _least_strict_rank(matching), risk_details)
        if not kept:
            return None
        alert = alert.model_copy(update={"risks": kept, "risk_count": len(kept)})
    return alert if now is None else alert.model_copy(update={"created_at": now})


def _kept_risks(
    risk_ids: Sequence[str], floor: int, risk_details: Mapping[str, RiskDetail]
) -> tuple[RiskDetail, ...]:
    """The risks ranked `floor` or above, most severe first; an id without details is kept."""
    details = (risk_details.get(risk_id) or RiskDetail(risk_id=risk_id) for risk_id in risk_ids)
    kept = (detail for detail in details if severity_rank(detail.threat_level) >= floor)
    return tuple(sorted(kept, key=_risk_order))


def _least_strict_rank(subscriptions: Sequence[Subscription]) -> int:
    """The lowest rank a risk needs to pass any of them (0: every risk; so does an empty one)."""
    return min(severity_rank(s.min_severity) if s.min_severity else 0 for s in subscriptions)


def _risk_order(detail: RiskDetail) -> tuple[int, bool, float, str]:
    """Most severe first, then highest CVSS (a missing or non-numeric score last), then id."""
    score = _cvss(detail.cvss)
    return (-severity_rank(detail.threat_level), score is None, -(score or 0.0), detail.risk_id)


def _cvss(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        score = float(value)
    except ValueError:
        return None
    return score if math.isfinite(score) else None
