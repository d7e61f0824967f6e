"""The simulated clock: its speed, its advances, and the dates it gives."""

from __future__ import annotations

import pytest

from scanbot.sandbox.world.clock import EPOCH, SimClock, iso


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


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(0.0, "2025-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(-1.5, "2024-12-31T23:59:58.500Z", id="before-epoch"),
        pytest.param(86400.1234, "2025-01-02T00:00:00.123Z", id="milliseconds-kept"),
        pytest.param(0.0004, "2025-01-01T00:00:00.000Z", id="rounded-down"),
        pytest.param(0.9996, "2025-01-01T00:00:01.000Z", id="rounded-up-into-next-second"),
    ],
)
def test_iso_writes_moments_as_the_service_does(seconds: float, expected: str) -> None:
    assert iso(seconds) == expected
    assert EPOCH.isoformat() == "2025-01-01T00:00:00+00:00"
