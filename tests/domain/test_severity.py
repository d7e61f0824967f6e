"""The one severity order: ranks, CVSS parsing, and the sort key every list uses."""

from __future__ import annotations

import pytest

from scanbot.domain.events import RiskDetail
from scanbot.domain.severity import SEVERITY_ORDER, cvss_score, most_severe_first, severity_rank


@pytest.mark.parametrize(
    ("level", "rank"),
    [
        ("LOW", 0),
        ("MEDIUM", 1),
        ("HIGH", 2),
        ("high", 2),
        (" Medium ", 1),
        ("CRITICAL", 3),
        ("INFO", 3),
        ("", 3),
        ("   ", 3),
    ],
)
def test_severity_rank(level: str, rank: int) -> None:
    assert severity_rank(level) == rank


def test_severity_order_is_least_severe_first() -> None:
    assert [severity_rank(level) for level in SEVERITY_ORDER] == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "score"),
    [
        ("7.5", 7.5),
        ("10", 10.0),
        (" 9.8 ", 9.8),
        (None, None),
        ("", None),
        ("n/a", None),
        ("nan", None),
        ("inf", None),
        ("-inf", None),
    ],
)
def test_cvss_score(value: str | None, score: float | None) -> None:
    assert cvss_score(value) == score


def test_most_severe_first_orders_by_level_then_cvss_then_id() -> None:
    risks = [
        RiskDetail(risk_id="a", threat_level="LOW", cvss="9.0"),
        RiskDetail(risk_id="b", threat_level="HIGH", cvss="7.5"),
        RiskDetail(risk_id="c", threat_level="HIGH", cvss="9.8"),
        RiskDetail(risk_id="d", threat_level="HIGH", cvss="n/a"),
        RiskDetail(risk_id="e"),  # no details: unknown severity ranks first
        RiskDetail(risk_id="f", threat_level="medium", cvss="nan"),
        RiskDetail(risk_id="g", threat_level="CRITICAL", cvss="1.0"),
        RiskDetail(risk_id="h", threat_level="HIGH", cvss="7.5"),
    ]
    assert [r.risk_id for r in sorted(risks, key=most_severe_first)] == list("gecbhdfa")


def test_an_empty_level_sorts_with_the_unknown_ones_first_not_last() -> None:
    # The one rule for routing, risk lists, triage lists and held summaries alike.
    empty = RiskDetail(risk_id="z")
    high = RiskDetail(risk_id="a", threat_level="HIGH", cvss="10")
    assert sorted([high, empty], key=most_severe_first) == [empty, high]
