"""The simulated clock: its speed, its advances, and the dates it gives."""

from __future__ import annotations

import pytest

from scanbot.sandbox.world.clock import SimClock


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_clock_runs_at_its_speed_from_its_start() -> None:
    real = FakeMonotonic()
    clock = SimClock(start=50.0, speed=10.0, monotonic=real)
    assert clock.now() == 50.0
    real.value += 2.0
    assert clock.now() == 70.0
    clock.advance(5.0)
    assert clock.now() == 75.0


def test_changing_speed_does_not_make_time_jump() -> None:
    real = FakeMonotonic()
    clock = SimClock(speed=10.0, monotonic=real)
    real.value += 3.0
    clock.speed = 1000.0
    assert clock.now() == 30.0
    real.value += 1.0
    assert clock.now() == 1030.0
    clock.speed = 0.0
    real.value += 50.0
    assert clock.now() == 1030.0
    assert clock.speed == 0.0


def test_clock_refuses_to_go_back() -> None:
    clock = SimClock()
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="negative"):
        clock.speed = -1.0
