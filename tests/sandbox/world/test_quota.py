"""The plan's quota: scans per trailing period, and only admitted ones count."""

from __future__ import annotations

import pytest

from scanbot.sandbox.world.quota import DEFAULT_PERIOD, PlanQuota


def test_no_limit_admits_everything_and_counts_it() -> None:
    quota = PlanQuota()
    assert all(quota.admit(float(t)) for t in range(100))
    assert quota.used(99.0) == 100


def test_a_limit_refuses_beyond_it_until_the_period_rolls_on() -> None:
    quota = PlanQuota(2, period=100.0)
    assert [quota.admit(t) for t in (0.0, 10.0, 20.0, 99.0)] == [True, True, False, False]
    assert quota.used(99.0) == 2
    assert quota.admit(100.0)  # the scan at 0 left the window
    assert not quota.admit(105.0)
    assert quota.admit(110.0)
    assert quota.used(110.0) == 2


def test_set_changes_the_limit_from_now_on() -> None:
    quota = PlanQuota(1)
    assert quota.admit(0.0)
    assert not quota.admit(1.0)
    quota.set(3)
    assert quota.admit(2.0)
    quota.set(0)
    assert not quota.admit(3.0)
    quota.set(None)
    assert quota.admit(4.0)
    assert quota.period == DEFAULT_PERIOD == 30 * 86400


@pytest.mark.parametrize(("limit", "period"), [(-1, 10.0), (1, 0.0), (1, -5.0)])
def test_a_senseless_quota_is_refused(limit: int, period: float) -> None:
    with pytest.raises(ValueError, match="quota"):
        PlanQuota(limit, period)
