"""Routing events to subscribed channels: filters, event words, severities, merging, order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.alerts.routing import matches, route
from scanbot.domain.events import SUBSCRIBABLE_EVENTS, EventKind, RiskDetail, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.severity import SEVERITY_ORDER, severity_rank
from scanbot.domain.subscriptions import Subscription

STARTED, FINISHED, RISKS = EventKind.STARTED, EventKind.FINISHED, EventKind.RISKS
UNKNOWN, GONE = EventKind.UNKNOWN_STATE, EventKind.GONE
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def event(
    kind: EventKind = FINISHED,
    *,
    state: str = "SUCCEEDED",
    type: str = "NMAP",
    targets: tuple[str, ...] = ("app.example.com",),
    risk_ids: tuple[str, ...] = (),
    scan_id: str = "scan-1",
) -> ScanEvent:
    summary = ScanSummary(scan_id=scan_id, type=type, state=state, targets=targets)
    return ScanEvent(kind=kind, summary=summary, risk_ids=risk_ids)


def sub(
    channel_id: str = "C1",
    *,
    events: tuple[str, ...] = SUBSCRIBABLE_EVENTS,
    id: int = 1,
    types: tuple[str, ...] = (),
    target_contains: str | None = None,
    min_severity: str | None = None,
    disabled_reason: str | None = None,
) -> Subscription:
    return Subscription(
        id=id,
        channel_id=channel_id,
        events=events,
        types=types,
        target_contains=target_contains,
        min_severity=min_severity,
        disabled_reason=disabled_reason,
    )


def risk(risk_id: str, level: str = "", cvss: str | None = None) -> RiskDetail:
    return RiskDetail(risk_id=risk_id, title=f"title {risk_id}", threat_level=level, cvss=cvss)


FAILED = event(state="FAILED")
OVER = event(state="OVER_LIMIT")
PAUSED = event(UNKNOWN, state="PAUSED")
MATCHES: list[tuple[str, Subscription, ScanEvent, bool]] = [
    # filters
    ("disabled", sub(disabled_reason="channel_not_found"), event(), False),
    ("disabled, even GONE", sub(disabled_reason="x"), event(GONE), False),
    ("no types = every type", sub(), event(type="SOMETHING_NEW"), True),
    ("type listed", sub(types=("OPENVAS", "NMAP")), event(type="NMAP"), True),
    ("type not listed", sub(types=("OPENVAS",)), event(type="NMAP"), False),
    ("target substring", sub(target_contains="example"), event(), True),
    ("target case-insensitive", sub(target_contains="APP.Example"), event(), True),
    ("target not there", sub(target_contains="other.org"), event(), False),
    ("empty target filter = any", sub(target_contains=""), event(targets=()), True),
    ("no targets to search", sub(target_contains="x"), event(targets=()), False),
    ("type filter before GONE", sub(types=("OPENVAS",)), event(GONE), False),
    # STARTED
    ("started wanted", sub(events=("started",)), event(STARTED, state="RUNNING"), True),
    ("started not wanted", sub(events=("finished", "risks")), event(STARTED), False),
    # FINISHED
    ("succeeded, finished", sub(events=("finished",)), event(), True),
    ("succeeded, only failed", sub(events=("failed",)), event(), False),
    ("failed, only failed", sub(events=("failed",)), FAILED, True),
    ("failed, finished", sub(events=("finished",)), FAILED, True),
    ("over limit, only failed", sub(events=("failed",)), OVER, True),
    ("failed, only risks", sub(events=("risks",)), FAILED, False),
    # RISKS
    ("risks wanted", sub(events=("risks",)), event(RISKS, risk_ids=("a",)), True),
    ("risks not wanted", sub(events=("finished", "failed")), event(RISKS), False),
    # UNKNOWN_STATE
    ("unknown, started", sub(events=("started",)), PAUSED, True),
    ("unknown, finished", sub(events=("finished",)), PAUSED, True),
    ("unknown, failed", sub(events=("failed",)), PAUSED, True),
    ("unknown, only risks", sub(events=("risks",)), PAUSED, False),
    # GONE
    ("gone, only risks", sub(events=("risks",)), event(GONE), True),
    ("gone, no events at all", sub(events=()), event(GONE), True),
    ("no events at all", sub(events=()), event(), False),
]


@pytest.mark.parametrize(
    ("subscription", "scan_event", "expected"),
    [m[1:] for m in MATCHES],
    ids=[m[0] for m in MATCHES],
)
def test_matches(subscription: Subscription, scan_event: ScanEvent, expected: bool) -> None:
    assert matches(subscription, scan_event) is expected


def test_target_beyond_the_summary_needs_all_targets() -> None:
    """The summary keeps the first five targets; the caller can pass every one."""
    shown = tuple(f"host{i}.example.com" for i in range(5))
    scan_event = event(targets=shown)
    subscription = sub(target_contains="host7")
    assert not matches(subscription, scan_event)
    assert matches(subscription, scan_event, [*shown, "host6.x", "HOST7.x"])
    by_scan = {"scan-1": [*shown, "host7.x"]}
    assert len(route([scan_event], [subscription], {}, all_targets=by_scan)) == 1
    assert route([scan_event], [subscription], {}, all_targets={"other": ["host7"]}) == []


def test_one_alert_per_channel_and_event() -> None:
    subscriptions = [sub("C1", id=1), sub("C1", id=2, types=("NMAP",)), sub("C2", id=3)]
    events = [event(STARTED, state="RUNNING"), event()]
    alerts = route(events, subscriptions, {}, now=NOW)
    assert [(a.channel_id, a.event.kind) for a in alerts] == [
        ("C1", STARTED),
        ("C2", STARTED),
        ("C1", FINISHED),
        ("C2", FINISHED),
    ]
    assert {a.created_at for a in alerts} == {NOW}


def test_the_same_event_twice_makes_one_alert() -> None:
    assert len(route([event(), event()], [sub()], {})) == 1


def test_no_subscriptions_no_alerts() -> None:
    assert route([event(), event(GONE)], [], {}) == []


def test_non_risk_alerts_carry_no_risks() -> None:
    (alert,) = route([event()], [sub()], {"a": risk("a", "HIGH")})
    assert alert.risks == ()
    assert alert.risk_count == 0


DETAILS = {
    "low": risk("low", "LOW", "3.1"),
    "med": risk("med", "MEDIUM", "5.0"),
    "high": risk("high", "HIGH", "7.5"),
    "crit": risk("crit", "CRITICAL"),
    "blank": risk("blank", ""),
}
ALL_IDS = ("blank", "crit", "high", "low", "med", "undescribed")


@pytest.mark.parametrize(
    ("min_severities", "kept"),
    [
        ([None], ["blank", "crit", "undescribed", "high", "med", "low"]),
        (["LOW"], ["blank", "crit", "undescribed", "high", "med", "low"]),
        ([""], ["blank", "crit", "undescribed", "high", "med", "low"]),
        (["MEDIUM"], ["blank", "crit", "undescribed", "high", "med"]),
        (["HIGH"], ["blank", "crit", "undescribed", "high"]),
        (["high"], ["blank", "crit", "undescribed", "high"]),
        # several subscriptions of the channel: the least strict applies
        (["HIGH", "MEDIUM"], ["blank", "crit", "undescribed", "high", "med"]),
        (["HIGH", None], ["blank", "crit", "undescribed", "high", "med", "low"]),
    ],
)
def test_severity_filter(min_severities: list[str | None], kept: list[str]) -> None:
    subscriptions = [sub(id=i, min_severity=m) for i, m in enumerate(min_severities)]
    (alert,) = route([event(RISKS, risk_ids=ALL_IDS)], subscriptions, DETAILS)
    assert [r.risk_id for r in alert.risks] == kept
    assert alert.risk_count == len(kept)


def test_unknown_risk_is_kept_with_only_its_id() -> None:
    (alert,) = route([event(RISKS, risk_ids=("x",))], [sub(min_severity="HIGH")], {})
    assert alert.risks == (RiskDetail(risk_id="x"),)
    assert alert.risk_count == 1


def test_a_channel_whose_risks_all_fail_its_severity_gets_nothing() -> None:
    subscriptions = [sub("C1", min_severity="HIGH"), sub("C2", id=2, min_severity="LOW")]
    alerts = route([event(RISKS, risk_ids=("low",))], subscriptions, DETAILS)
    assert [a.channel_id for a in alerts] == ["C2"]


def test_risks_sorted_by_severity_then_cvss_then_id() -> None:
    details = {
        "a": risk("a", "HIGH", "7.5"),
        "b": risk("b", "HIGH", "9.8"),
        "c": risk("c", "HIGH", None),
        "d": risk("d", "HIGH", "n/a"),
        "e": risk("e", "HIGH", "10"),
        "f": risk("f", "HIGH", "nan"),
        "g": risk("g", "HIGH", "7.5"),
        "h": risk("h", "LOW", "10.0"),
        "i": risk("i", "NEW_LEVEL", "1.0"),
    }
    ids = tuple(sorted(details))
    (alert,) = route([event(RISKS, risk_ids=ids)], [sub()], details)
    assert [r.risk_id for r in alert.risks] == ["i", "e", "b", "a", "g", "c", "d", "f", "h"]


# --- properties ---------------------------------------------------------------------------

RISK_IDS = "abcdef"
LEVELS = st.sampled_from(["LOW", "MEDIUM", "HIGH", "CRITICAL", "", "low"])
SUBSCRIPTIONS = st.lists(
    st.builds(
        Subscription,
        id=st.integers(0, 50),
        channel_id=st.sampled_from(["C1", "C2", "C3"]),
        types=st.lists(st.sampled_from(["NMAP", "OPENVAS"]), max_size=2).map(tuple),
        target_contains=st.sampled_from([None, "", "example", "EXAMPLE.COM", "zzz"]),
        min_severity=st.sampled_from([None, "LOW", "MEDIUM", "HIGH"]),
        events=st.lists(st.sampled_from(SUBSCRIBABLE_EVENTS), max_size=4).map(tuple),
        disabled_reason=st.sampled_from([None, None, "gone"]),
    ),
    max_size=6,
)
EVENTS = st.lists(
    st.builds(
        event,
        st.sampled_from(EventKind),
        state=st.sampled_from(["RUNNING", "SUCCEEDED", "FAILED", "OVER_LIMIT", "PAUSED"]),
        type=st.sampled_from(["NMAP", "OPENVAS"]),
        targets=st.sampled_from([(), ("a.example.com",), ("other.org", "B.EXAMPLE.COM")]),
        risk_ids=st.sets(st.sampled_from(RISK_IDS), max_size=6).map(lambda s: tuple(sorted(s))),
        scan_id=st.sampled_from(["s1", "s2"]),
    ),
    max_size=8,
)
DETAIL_MAPS = st.dictionaries(
    st.sampled_from(RISK_IDS),
    st.tuples(LEVELS, st.sampled_from([None, "7.5", "x", "10", "nan"])),
).map(lambda d: {k: risk(k, level, cvss) for k, (level, cvss) in d.items()})


@settings(max_examples=200, deadline=None)
@given(events=EVENTS, subscriptions=SUBSCRIPTIONS, details=DETAIL_MAPS)
def test_routing_properties(
    events: list[ScanEvent], subscriptions: list[Subscription], details: dict[str, RiskDetail]
) -> None:
    alerts = route(events, subscriptions, details)
    keys = [a.key for a in alerts]
    assert len(keys) == len(set(keys))
    for alert in alerts:
        channel = [s for s in subscriptions if s.channel_id == alert.channel_id]
        assert any(matches(s, alert.event) for s in channel)
        assert alert.risk_count == len(alert.risks)
        ranks = [severity_rank(r.threat_level) for r in alert.risks]
        assert ranks == sorted(ranks, reverse=True)
    # a risk of unknown severity reaches every channel that wants the event's risks
    for scan_event in (e for e in events if e.kind is RISKS):
        unknown = {r for r in scan_event.risk_ids if r not in details or _unknown(details[r])}
        if not unknown:
            continue
        for channel_id in {s.channel_id for s in subscriptions if matches(s, scan_event)}:
            # Events with the same key (same scan and ids) make one alert: the first one's.
            key = f"{channel_id}|{scan_event.summary.scan_id}|risks|{scan_event.detail}"
            (alert,) = [a for a in alerts if a.key == key]
            assert unknown <= {r.risk_id for r in alert.risks}


def _unknown(detail: RiskDetail) -> bool:
    return detail.threat_level.strip().upper() not in SEVERITY_ORDER


def test_a_risk_accepted_in_hostedscan_is_never_alerted_as_new() -> None:
    details = {
        "kept": RiskDetail(risk_id="kept", threat_level="LOW"),
        "accepted": RiskDetail(risk_id="accepted", threat_level="HIGH", accepted=True),
    }
    (alert,) = route([event(RISKS, risk_ids=("accepted", "kept"))], [sub()], details)
    assert [r.risk_id for r in alert.risks] == ["kept"]
    assert alert.risk_count == 1


def test_a_channel_whose_new_risks_are_all_accepted_gets_nothing() -> None:
    details = {"a": RiskDetail(risk_id="a", threat_level="HIGH", accepted=True)}
    assert route([event(RISKS, risk_ids=("a",))], [sub()], details) == []
