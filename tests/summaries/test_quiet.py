"""Quiet hours' rules: the window (over midnight, in its zone), what is urgent, which
alerts wait (every wanting subscription quiet), and when a channel is quiet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import Subscription
from scanbot.summaries.quiet import holds, in_window, quiet_now, urgent


def sub(
    n: int = 1, *, quiet: str | None = "22:00-07:00", tz: str = "UTC", **fields: object
) -> Subscription:
    start, end = quiet.split("-") if quiet else (None, None)
    return Subscription.model_validate(
        {"id": n, "channel_id": "C1", "quiet_start": start, "quiet_end": end, "tz": tz, **fields}
    )


def alert(
    kind: EventKind = EventKind.FINISHED, state: str = "SUCCEEDED", **fields: object
) -> Alert:
    summary = ScanSummary(scan_id="scan-1", type="NMAP", state=state)
    event = ScanEvent(
        kind=kind, summary=summary, risk_ids=("r1",) if kind is EventKind.RISKS else ()
    )
    return Alert.model_validate({"channel_id": "C1", "event": event, **fields})


def risks(*levels: str, count: int | None = None) -> Alert:
    details = tuple(
        RiskDetail(risk_id=f"r{n}", threat_level=lv, title="t") for n, lv in enumerate(levels)
    )
    return alert(EventKind.RISKS, "RUNNING", risks=details, risk_count=count or len(levels))


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "tz", "now", "inside"),
    [
        ("22:00-07:00", "UTC", utc(22), True),
        ("22:00-07:00", "UTC", utc(3), True),
        ("22:00-07:00", "UTC", utc(7), False),
        ("22:00-07:00", "UTC", utc(21, 59), False),
        ("12:00-13:30", "UTC", utc(13, 29), True),
        ("12:00-13:30", "UTC", utc(13, 30), False),
        ("22:00-07:00", "Asia/Tokyo", utc(13), True),  # 22:00 in Tokyo
        ("22:00-07:00", "Asia/Tokyo", utc(22), False),  # 07:00 in Tokyo
        (None, "UTC", utc(23), False),
    ],
)
def test_the_window(window: str | None, tz: str, now: datetime, inside: bool) -> None:
    assert in_window(sub(quiet=window, tz=tz), now) is inside


def test_failed_scans_and_high_risks_are_urgent() -> None:
    assert urgent(alert(state="FAILED"))
    assert urgent(alert(state="OVER_LIMIT"))
    assert not urgent(alert())
    assert not urgent(alert(EventKind.STARTED, "RUNNING"))
    assert urgent(risks("LOW", "HIGH"))
    assert urgent(risks("CRITICAL"))  # a level scanbot cannot rank counts as most severe
    assert urgent(risks("LOW", count=3))  # two risks without details: unknown levels
    assert not urgent(risks("LOW", "MEDIUM"))


def test_which_alerts_wait() -> None:
    night = utc(23)
    assert holds(alert(), [sub()], night)
    assert not holds(alert(), [sub()], utc(12))
    assert not holds(alert(state="FAILED"), [sub()], night)
    assert holds(alert(state="FAILED"), [sub(quiet_all=True)], night)
    assert not holds(risks("HIGH"), [sub()], night)
    assert holds(risks("HIGH"), [sub(quiet_all=True)], night)
    # Another subscription that wants it and is not quiet: it goes out now.
    assert not holds(alert(), [sub(1), sub(2, quiet=None)], night)
    # One that does not want it (another type) changes nothing.
    assert holds(alert(), [sub(1), sub(2, quiet=None, types=("OPENVAS",))], night)
    assert not holds(alert(), [], night)
    assert not holds(alert(EventKind.GONE, "SUCCEEDED"), [sub()], night)
    assert not holds(alert(), [sub(channel_id="C2")], night)


def test_a_channel_is_quiet_while_any_subscription_is() -> None:
    subscriptions = [sub(1), sub(2, quiet="12:00-13:00")]
    assert quiet_now("C1", subscriptions, utc(12, 30))
    assert quiet_now("C1", subscriptions, utc(23))
    assert not quiet_now("C1", subscriptions, utc(9))
    assert not quiet_now("C2", subscriptions, utc(23))
