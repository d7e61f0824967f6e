"""Reports asked for with `POST /v1/reports`: when each is ready, and what it lists.

A report is ready once it has been asked for `polls` times while not ready AND `delay`
simulated seconds have passed since it was made (the defaults: one poll, no delay, so a
client sees "not ready" once). Tests change the defaults, give the next report its own
timing (slow, or never ready), or release or hold one by id. The file lists the risks
that matched when the report was made, at most `REPORT_ROWS`, worst first.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from scanbot.sandbox.world.filters import Filters
from scanbot.sandbox.world.ids import REPORT_ID, IdCodec


class Timing(NamedTuple):
    polls: int = 1  # "not ready" answers before the file
    delay: float = 0.0  # simulated seconds after it was made
    never: bool = False


@dataclass
class ReportJob:
    """One report asked for: what it covers and how far it is from ready."""

    report_format: str
    filters: Filters  # the risks it lists, as GET /v1/risks filters
    asked: tuple[str, ...]  # what was asked for, in words, for the file's header
    created: float
    polls_left: int
    ready_at: float
    never: bool

    def poll(self, now: float) -> bool:
        """Whether the file is ready now; a "not ready" answer counts as a poll."""
        if not self.never and self.polls_left <= 0 and now >= self.ready_at:
            return True
        self.polls_left -= 1
        return False


class Reports:
    """Every report of the account, by the index its id encodes."""

    def __init__(self, ids: IdCodec) -> None:
        self._ids = ids
        self._jobs: list[ReportJob] = []
        self.timing = Timing()
        self._next: deque[Timing] = deque()

    def create(
        self, report_format: str, filters: Filters, asked: tuple[str, ...], now: float
    ) -> str:
        timing = self._next.popleft() if self._next else self.timing
        job = ReportJob(
            report_format,
            filters,
            asked,
            now,
            polls_left=timing.polls,
            ready_at=now + timing.delay,
            never=timing.never,
        )
        self._jobs.append(job)
        return self._ids.encode(REPORT_ID, len(self._jobs) - 1)

    def get(self, report_id: str) -> ReportJob | None:
        index = self._ids.decode(REPORT_ID, report_id)
        return None if index is None or index >= len(self._jobs) else self._jobs[index]

    def set_timing(self, timing: Timing) -> None:
        """Every report made from now on (but those given their own) gets this timing."""
        self.timing = _checked(timing)

    def time_next(self, timing: Timing) -> None:
        """The next report made (then the one after, for each call) gets this timing."""
        self._next.append(_checked(timing))

    def release(self, report_id: str) -> None:
        """Ready at the next poll, whatever its timing."""
        job = self._existing(report_id)
        job.never, job.polls_left, job.ready_at = False, 0, job.created

    def hold(self, report_id: str) -> None:
        """Never ready, until released."""
        self._existing(report_id).never = True

    def _existing(self, report_id: str) -> ReportJob:
        job = self.get(report_id)
        if job is None:
            raise KeyError(report_id)
        return job


def _checked(timing: Timing) -> Timing:
    if timing.polls < 0 or timing.delay < 0:
        raise ValueError("polls and delay cannot be negative")
    return timing
