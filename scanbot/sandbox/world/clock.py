"""The sandbox's simulated time: a clock that runs at a chosen speed, and its dates."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# Simulated time 0 as a date, for the `*_detected_at` timestamps.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def iso(seconds: float) -> str:
    """Simulated seconds as the service writes a moment: UTC, milliseconds, a `Z`."""
    moment = EPOCH + timedelta(seconds=round(seconds, 3))
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class SimClock:
    """Simulated seconds: `start` + real elapsed time x `speed` + manual advances."""

    def __init__(
        self,
        start: float = 0.0,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed cannot be negative")
        self._monotonic = monotonic
        self._base = start
        self._anchor = monotonic()
        self._speed = speed

    def now(self) -> float:
        return self._base + (self._monotonic() - self._anchor) * self._speed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._base += seconds

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            raise ValueError("speed cannot be negative")
        # Re-anchor first so the time already elapsed keeps the old speed: no jump.
        self._base = self.now()
        self._anchor = self._monotonic()
        self._speed = value
