"""The summary's numbers from a stream of risks: counts by level, accepted apart, new and
closed, overdue by level's due days (oldest kept, at most ten), top targets, filters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scanbot.summaries.compute import (
    MAX_OVERDUE,
    OTHER,
    DueDays,
    PostureCounter,
    RiskFilter,
    ScanTally,
)
from tests.summaries.risks import NOW, risk


def counted(*risks: object, **options: object) -> PostureCounter:
    counter = PostureCounter(NOW, **options)  # type: ignore[arg-type]
    for r in risks:
        counter.add(r)  # type: ignore[arg-type]
    return counter


def test_open_risks_by_level_with_accepted_ones_apart() -> None:
    posture = counted(
        risk(1, "HIGH"), risk(2, "HIGH"), risk(3, "MEDIUM"), risk(4, "LOW"),
        risk(5, "CRITICAL"), risk(6, "HIGH", accepted=True), risk(7, "HIGH", status="CLOSED"),
    ).posture()  # fmt: skip
    assert posture.open_by_level == {"HIGH": 2, "MEDIUM": 1, "LOW": 1, OTHER: 1}
    assert (posture.open_total, posture.accepted) == (5, 1)
    assert (posture.since, posture.closed, posture.new) == (None, None, 0)


def test_new_since_the_last_summary_and_closed_from_its_count() -> None:
    since = NOW - timedelta(days=1)
    risks = [
        risk(1, age_days=0.5),
        risk(2, age_days=0.9),
        risk(3, age_days=3),
        risk(4, age_days=None),
    ]
    posture = counted(*risks, since=since).posture(previous_open=10)
    assert posture.new == 2
    assert posture.closed == 10 + 2 - 4
    # More open now than before plus new (e.g. a filter changed): never a negative count.
    assert counted(*risks, since=since).posture(previous_open=0).closed == 0


@pytest.mark.parametrize(
    ("level", "age_days", "overdue"),
    [
        ("HIGH", 7, False),
        ("HIGH", 7.01, True),
        ("MEDIUM", 29, False),
        ("MEDIUM", 31, True),
        ("LOW", 89, False),
        ("LOW", 91, True),
        ("CRITICAL", 8, True),  # an unknown level has the high level's days
        ("", 8, True),
        ("HIGH", None, False),  # no first-detected date: cannot be judged
    ],
)
def test_overdue_by_the_levels_due_days(level: str, age_days: float | None, overdue: bool) -> None:
    posture = counted(risk(1, level, age_days=age_days)).posture()
    assert posture.overdue_total == int(overdue)
    assert len(posture.overdue) == int(overdue)


def test_accepted_risks_are_never_overdue() -> None:
    posture = counted(risk(1, "HIGH", age_days=400, accepted=True)).posture()
    assert (posture.overdue_total, posture.accepted, posture.open_total) == (0, 1, 0)


def test_the_oldest_overdue_are_kept_oldest_first_with_target_and_age() -> None:
    ages = [50, 8, 300, 12, 90, 45, 9, 200, 61, 33, 150, 10, 75, 21, 400]
    posture = counted(
        *(risk(n, "HIGH", age_days=a, target=f"t{n}") for n, a in enumerate(ages))
    ).posture()
    assert posture.overdue_total == len(ages)
    assert [r.age_days for r in posture.overdue] == sorted(ages, reverse=True)[:MAX_OVERDUE]
    oldest = posture.overdue[0]
    assert (oldest.target, oldest.title, oldest.level, oldest.due_days) == (
        "t14",
        "Finding 14",
        "HIGH",
        7,
    )


def test_custom_due_days() -> None:
    due = DueDays.parse("high=1, low=400")
    assert due == DueDays(high=1, medium=30, low=400)
    posture = counted(risk(1, "HIGH", age_days=2), risk(2, "LOW", age_days=300), due=due).posture()
    assert posture.overdue_total == 1
    for bad in ("high", "high=x", "critical=3", "high=-1"):
        with pytest.raises(ValueError, match="level=days"):
            DueDays.parse(bad)


def test_top_five_targets_by_open_high_risks() -> None:
    spread = {"a": 3, "b": 5, "c": 1, "d": 5, "e": 2, "f": 4, "g": 1}
    risks = [risk(n, "HIGH", target=t) for t, k in spread.items() for n in range(k)]
    risks += [risk(99, "MEDIUM", target="c")] * 10  # only high risks count
    posture = counted(*risks).posture()
    assert posture.top_targets == (("b", 5), ("d", 5), ("f", 4), ("a", 3), ("e", 2))


def test_filters_by_type_target_and_severity() -> None:
    risks = [
        risk(1, "HIGH", target="shop.example.com"),
        risk(2, "LOW", target="shop.example.com"),
        risk(3, "HIGH", target="blog.example.com"),
        risk(4, "HIGH", target="x", target_label="Shop front"),
        risk(5, "HIGH", target="shop.example.com", scan_type="NMAP"),
    ]
    shop_high = RiskFilter(types=("OPENVAS",), target_contains="SHOP", min_severity="HIGH")
    posture = counted(*risks, risk_filter=shop_high).posture()
    assert posture.open_total == 2  # 1 and 4 (by its label)
    assert counted(*risks, risk_filter=RiskFilter(min_severity="MEDIUM")).posture().open_total == 4


def test_scans_of_the_period() -> None:
    tally = ScanTally.of({"SUCCEEDED": 5, "FAILED": 2, "OVER_LIMIT": 1})
    assert tally == ScanTally(run=8, failed=2, over_limit=1)
    assert counted().posture(scans=tally).scans == tally
