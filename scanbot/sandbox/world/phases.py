"""Where a scan stands at a moment: queued, running with its progress, or finished.

Pure: a generated scan's phase is a function of its age and its drawn timings; a scan the
test controls froze stays where it was put.
"""

from __future__ import annotations

from typing import NamedTuple

from scanbot.sandbox.world.vocabulary import (
    FAILED,
    OVER_LIMIT,
    QUEUED,
    RUNNING,
    SUCCEEDED,
)


class Phase(NamedTuple):
    state: str
    progress: float | None
    visible_risks: int  # new_open risks detected so far


def scheduled_phase(
    age: float, queue_s: float, run_s: float, final: str, fail_at: int, n_risks: int
) -> Phase:
    """A generated scan `age` seconds after it was created; risks show as progress rises."""
    if age < queue_s:
        return Phase(QUEUED, 0, 0)
    stop = fail_at if final == FAILED else 100
    if age < queue_s + run_s:
        done = (age - queue_s) / run_s * stop
        return Phase(RUNNING, min(int(done), 99), int(n_risks * done / 100.0))
    if final == SUCCEEDED:
        return Phase(SUCCEEDED, 100, n_risks)
    if final == FAILED:
        return Phase(FAILED, stop, n_risks * stop // 100)
    return Phase(OVER_LIMIT, 0, 0)


def frozen_phase(state: str, progress: float | None, n_risks: int, *, fixed: bool) -> Phase:
    """A scan held in `state`: an added (fixed) scan shows every risk it was given."""
    if fixed:
        return Phase(state, progress, n_risks)
    return Phase(state, progress, visible_for(state, progress, n_risks))


def visible_for(state: str, progress: float | None, n_risks: int) -> int:
    """How many of a scan's risks are detected in this state and at this progress."""
    if state == SUCCEEDED:
        return n_risks
    if state in (QUEUED, OVER_LIMIT):
        return 0
    return min(n_risks, int(n_risks * (progress or 0.0) / 100.0))
