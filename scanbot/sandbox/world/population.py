"""How scans are drawn: one scan's parameters, the population at time 0, the arrivals after.

Every draw comes from a `random.Random` the caller seeds, so a world is a function of its
seed; the order of the draws is part of that contract (change it and every id moves).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from typing import NamedTuple

from scanbot.sandbox.world.targets import HOSTILE_SLOTS, POOL_SIZE
from scanbot.sandbox.world.vocabulary import FINAL_STATES, OVER_LIMIT, SCAN_TYPES

# Weights line up with SCAN_TYPES, FINAL_STATES and SCHEDULERS.
_TYPE_WEIGHTS = (25, 8, 22, 20, 10, 15)
_FINAL_WEIGHTS = (80, 12, 8)
SCHEDULERS = ("schedule", "api", "user:alice", "user:bob", "user:carol")
_SCHEDULER_WEIGHTS = (50, 20, 10, 10, 10)
# Seconds a scan of one target runs, by type.
_RUN_SECONDS = {
    "NMAP": (60, 900),
    "NMAP_UDP": (300, 3600),
    "OPENVAS": (1800, 10800),
    "OWASP_ZAP": (300, 2400),
    "OWASP_ZAP_ACTIVE": (1800, 7200),
    "SSLYZE": (30, 300),
}
_MAX_RISKS = {
    "NMAP": 6,
    "NMAP_UDP": 4,
    "OPENVAS": 24,
    "OWASP_ZAP": 16,
    "OWASP_ZAP_ACTIVE": 20,
    "SSLYZE": 5,
}


def cumulative(weights: Sequence[int]) -> list[float]:
    """Weights as a cumulative distribution ending at 1.0, for `pick`."""
    total = float(sum(weights))
    running, out = 0.0, []
    for weight in weights:
        running += weight
        out.append(running / total)
    return out


TYPE_CDF = cumulative(_TYPE_WEIGHTS)
_FINAL_CDF = cumulative(_FINAL_WEIGHTS)
_SCHEDULER_CDF = cumulative(_SCHEDULER_WEIGHTS)


def pick(rng: random.Random, cdf: list[float]) -> int:
    """An index drawn with the weights `cdf` was made from."""
    return min(bisect.bisect_right(cdf, rng.random()), len(cdf) - 1)


class ScanParams(NamedTuple):
    """Everything that decides how a generated scan looks and moves; indexes name tables."""

    type_ix: int
    final_ix: int
    queue_s: float
    run_s: float
    fail_at: int  # the progress at which a FAILED scan stops
    n_targets: int
    target_start: int
    sched_ix: int
    n_risks: int


def target_window(scans: int) -> int:
    """How many pool entries small scans draw from: a bigger account has more targets."""
    return max(256, scans // 10)


def _target_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return 1
    if roll < 0.85:
        return rng.randint(2, 5)
    if roll < 0.97:
        return rng.randint(6, 30)
    if roll < 0.995:
        return rng.randint(31, 99)
    return rng.randint(100, 600)


def _run_seconds(rng: random.Random, type_ix: int, n_targets: int) -> float:
    low, high = _RUN_SECONDS[SCAN_TYPES[type_ix]]
    return rng.uniform(low, high) * min(1.0 + n_targets / 20.0, 20.0)


def draw(
    rng: random.Random,
    window: int,
    *,
    type_ix: int | None = None,
    final_ix: int | None = None,
    n_targets: int | None = None,
) -> ScanParams:
    """One scan's parameters; the keyword arguments pin some of them."""
    type_ix = pick(rng, TYPE_CDF) if type_ix is None else type_ix
    final_ix = pick(rng, _FINAL_CDF) if final_ix is None else final_ix
    n_targets = _target_count(rng) if n_targets is None else n_targets
    # Small scans reuse a window of popular targets; large ones sweep the whole pool.
    start = rng.randrange(window) if n_targets <= 30 else rng.randrange(POOL_SIZE)
    over_limit = FINAL_STATES[final_ix] == OVER_LIMIT
    run_s = 0.0 if over_limit else _run_seconds(rng, type_ix, n_targets)
    max_risks = _MAX_RISKS[SCAN_TYPES[type_ix]] * min(n_targets, 5)
    return ScanParams(
        type_ix=type_ix,
        final_ix=final_ix,
        queue_s=rng.uniform(5.0, 300.0),
        run_s=run_s,
        fail_at=rng.randint(5, 95),
        n_targets=n_targets,
        target_start=start,
        sched_ix=pick(rng, _SCHEDULER_CDF),
        n_risks=0 if over_limit else rng.randint(0, max_risks),
    )


# Of the scans posted within the plan's quota, the share that fails.
POSTED_FAILED_SHARE = 0.1


def posted(
    rng: random.Random, window: int, *, type_ix: int, n_targets: int, over_limit: bool, scans: bool
) -> ScanParams:
    """A scan started through the API: over the plan's quota it ends OVER_LIMIT; else it
    succeeds or now and then fails (never OVER_LIMIT by chance). `scans` False: none of its
    targets can be scanned, so it finds nothing."""
    if over_limit:
        final_ix = FINAL_STATES.index(OVER_LIMIT)
    else:
        final_ix = 1 if rng.random() < POSTED_FAILED_SHARE else 0
    params = draw(rng, window, type_ix=type_ix, final_ix=final_ix, n_targets=n_targets)
    return params if scans else params._replace(n_risks=0)


def initial_population(
    count: int,
    active_fraction: float,
    arrivals_per_hour: float,
    window: int,
    rng: random.Random,
) -> list[tuple[float, ScanParams]]:
    """The scans that exist at time 0, oldest first: most finished, some still going.

    Each comes with its creation time (negative: before time 0). History spreads over
    about as long as the account's usual pace would take.
    """
    span = max(86400.0, count / max(arrivals_per_hour, 1.0) * 3600.0)
    n_active = round(count * active_fraction)
    hostile_slots = sorted(HOSTILE_SLOTS)
    drawn: list[tuple[float, ScanParams]] = []
    for i in range(count):
        # The first few are pinned so every type, state and hostile target shows up.
        type_ix = i if i < len(SCAN_TYPES) else None
        final_ix = (i - n_active) if 0 <= i - n_active < len(FINAL_STATES) else None
        huge = count >= 50 and i >= count - 2
        n_targets = rng.randint(150, 400) if huge else None
        params = draw(rng, window, type_ix=type_ix, final_ix=final_ix, n_targets=n_targets)
        if i < len(hostile_slots) and params.n_targets <= 30:
            params = params._replace(target_start=hostile_slots[i])
        if i < n_active:
            created, params = _active_at_zero(rng, params, queued=_queued_pick(i, rng))
        else:
            end = -rng.uniform(60.0, span)
            created = end - params.run_s - params.queue_s
        drawn.append((created, params))
    drawn.sort(key=lambda pair: pair[0])
    return drawn


def _queued_pick(i: int, rng: random.Random) -> bool:
    if i < 2:
        return i == 0  # one queued, one running, at least
    return rng.random() < 0.3


def _active_at_zero(
    rng: random.Random, params: ScanParams, *, queued: bool
) -> tuple[float, ScanParams]:
    if queued:
        return -rng.uniform(0.0, params.queue_s), params
    if FINAL_STATES[params.final_ix] == OVER_LIMIT:  # never runs: make it one that does
        params = params._replace(
            final_ix=0,
            run_s=_run_seconds(rng, params.type_ix, params.n_targets),
            n_risks=rng.randint(0, _MAX_RISKS[SCAN_TYPES[params.type_ix]]),
        )
    return -params.queue_s - rng.uniform(0.0, params.run_s), params


class Arrivals:
    """Scans the account's schedules start after time 0: a Poisson stream of new scans."""

    def __init__(self, rng: random.Random, per_hour: float, window: int) -> None:
        self._rng = rng
        self._rate = per_hour / 3600.0
        self._window = window
        self._next = 0.0  # arrivals start after time 0
        self._next = self._gap()

    def until(self, now: float) -> list[tuple[float, ScanParams]]:
        """The scans that arrived since the last call, up to `now`, each with its time."""
        arrived: list[tuple[float, ScanParams]] = []
        while self._next <= now:
            arrived.append((self._next, draw(self._rng, self._window)))
            self._next = self._gap()
        return arrived

    def _gap(self) -> float:
        if self._rate <= 0:
            return math.inf
        return self._next + self._rng.expovariate(self._rate)
