"""Decide which channels hear about which events: subscriptions' filters and severities.

Pure: events and subscriptions in, one `Alert` per (channel, event) out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent, subscribed
from scanbot.domain.severity import most_severe_first, severity_rank
from scanbot.domain.subscriptions import Subscription


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
    return subscribed(subscription.events, event)


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
    """The risks ranked `floor` or above, most severe first; an id without details is kept.

    A risk accepted in HostedScan is left out: its users said they do not wish to hear of it
    (hostedscan-api.md), so it is never alerted as new."""
    details = (risk_details.get(risk_id) or RiskDetail(risk_id=risk_id) for risk_id in risk_ids)
    kept = (
        detail
        for detail in details
        if not detail.accepted and severity_rank(detail.threat_level) >= floor
    )
    return tuple(sorted(kept, key=most_severe_first))


def _least_strict_rank(subscriptions: Sequence[Subscription]) -> int:
    """The lowest rank a risk needs to pass any of them (0: every risk; so does an empty one)."""
    return min(severity_rank(s.min_severity) if s.min_severity else 0 for s in subscriptions)
