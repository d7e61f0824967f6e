"""Drawing scans: pinned parameters, the population at time 0, arrivals after it."""

from __future__ import annotations

import random

import pytest

from scanbot.sandbox.world.population import (
    Arrivals,
    ScanParams,
    cumulative,
    draw,
    initial_population,
    pick,
    target_window,
)
from scanbot.sandbox.world.targets import POOL_SIZE
from scanbot.sandbox.world.vocabulary import FINAL_STATES, OVER_LIMIT, SCAN_TYPES


def ends_at(created: float, params: ScanParams) -> float:
    return created + params.queue_s + params.run_s


def test_cumulative_weights_and_picks_follow_them() -> None:
    assert cumulative([1, 1, 2]) == [0.25, 0.5, 1.0]
    rng = random.Random(4)
    picks = [pick(rng, cumulative([1, 0, 3])) for _ in range(4000)]
    assert picks.count(1) == 0
    assert 2500 < picks.count(2) < 3500


def test_pinned_parameters_are_kept() -> None:
    params = draw(random.Random(1), 256, type_ix=2, final_ix=1, n_targets=7)
    assert (params.type_ix, params.final_ix, params.n_targets) == (2, 1, 7)
    assert 5.0 <= params.queue_s <= 300.0
    assert 5 <= params.fail_at <= 95
    assert 0 <= params.n_risks <= 24 * 5  # OPENVAS finds at most 24 per target, 5 targets


def test_an_over_limit_scan_never_runs_and_finds_nothing() -> None:
    over = FINAL_STATES.index(OVER_LIMIT)
    for seed in range(20):
        params = draw(random.Random(seed), 256, final_ix=over)
        assert (params.run_s, params.n_risks) == (0.0, 0)


def test_small_scans_draw_from_the_window_and_large_ones_from_the_pool() -> None:
    rng = random.Random(8)
    small = [draw(rng, 300, n_targets=30).target_start for _ in range(200)]
    large = [draw(rng, 300, n_targets=31).target_start for _ in range(200)]
    assert max(small) < 300
    assert max(large) > 300
    assert max(large) < POOL_SIZE
    assert target_window(100) == 256
    assert target_window(100_000) == 10_000


def test_the_population_at_time_zero() -> None:
    drawn = initial_population(200, 0.1, 60.0, 256, random.Random(3))
    created = [c for c, _ in drawn]
    assert len(drawn) == 200
    assert created == sorted(created)
    assert max(created) < 0
    still_going = [p for c, p in drawn if ends_at(c, p) > 0]
    assert len(still_going) == 20
    assert all(ends_at(c, p) <= -60.0 for c, p in drawn if ends_at(c, p) <= 0)
    assert {p.type_ix for _, p in drawn} == set(range(len(SCAN_TYPES)))
    assert sum(p.n_targets >= 150 for _, p in drawn) >= 2  # two huge ones at least


def test_the_same_rng_draws_the_same_population() -> None:
    first = initial_population(50, 0.2, 10.0, 256, random.Random(9))
    assert first == initial_population(50, 0.2, 10.0, 256, random.Random(9))
    assert first != initial_population(50, 0.2, 10.0, 256, random.Random(10))


def test_arrivals_come_once_each_in_time_order() -> None:
    arrivals = Arrivals(random.Random(5), 3600.0, 256)  # one a second on average
    first = arrivals.until(100.0)
    times = [t for t, _ in first]
    assert times == sorted(times)
    assert times[0] > 0.0
    assert times[-1] <= 100.0
    assert 60 < len(first) < 140
    assert arrivals.until(100.0) == []
    assert all(t > 100.0 for t, _ in arrivals.until(200.0))


@pytest.mark.parametrize("per_hour", [0.0, -1.0])
def test_no_rate_means_no_arrivals(per_hour: float) -> None:
    assert Arrivals(random.Random(1), per_hour, 256).until(1e12) == []
