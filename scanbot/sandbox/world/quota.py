"""The plan's quota: how many scans the account may start through the API in a period.

HostedScan plans limit scans; one started beyond the limit is accepted, queues, and ends
OVER_LIMIT without running. Only scans started through `POST /v1/scans` count here (the
generated population draws its own OVER_LIMIT share), and only those admitted: a scan
refused for the quota does not spend it.
"""

from __future__ import annotations

DEFAULT_PERIOD = 30 * 86400.0  # a month of simulated seconds


class PlanQuota:
    """`limit` scans per trailing `period` simulated seconds; no limit when None."""

    def __init__(self, limit: int | None = None, period: float = DEFAULT_PERIOD) -> None:
        self._admitted: list[float] = []  # one float per scan posted: no need to prune
        self.limit = limit
        self.period = period
        self.set(limit, period)

    def set(self, limit: int | None, period: float = DEFAULT_PERIOD) -> None:
        """A new limit from now on; the scans already admitted keep counting."""
        if (limit is not None and limit < 0) or period <= 0:
            raise ValueError("the quota is at least 0 scans over a period longer than 0")
        self.limit = limit
        self.period = period

    def admit(self, now: float) -> bool:
        """Whether a scan started at `now` is within the quota (and counts against it)."""
        if self.limit is not None and self.used(now) >= self.limit:
            return False
        self._admitted.append(now)
        return True

    def used(self, now: float) -> int:
        """Scans admitted in the period ending at `now`."""
        return sum(1 for started in self._admitted if started > now - self.period)
