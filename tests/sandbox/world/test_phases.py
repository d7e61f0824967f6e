"""Phases: queued, running with progress and risks rising, then the final state."""

from __future__ import annotations

import pytest

from scanbot.sandbox.world.phases import Phase, frozen_phase, scheduled_phase, visible_for
from scanbot.sandbox.world.vocabulary import FAILED, OVER_LIMIT, QUEUED, RUNNING, SUCCEEDED

# A scan that queues 100 s, then runs 100 s, with 10 risks; a failing one stops at 40%.
QUEUE_S, RUN_S, N_RISKS, FAIL_AT = 100.0, 100.0, 10, 40


@pytest.mark.parametrize(
    ("age", "final", "expected"),
    [
        pytest.param(0.0, SUCCEEDED, Phase(QUEUED, 0, 0), id="just-created"),
        pytest.param(99.9, SUCCEEDED, Phase(QUEUED, 0, 0), id="still-queued"),
        pytest.param(100.0, SUCCEEDED, Phase(RUNNING, 0, 0), id="starts-running"),
        pytest.param(150.0, SUCCEEDED, Phase(RUNNING, 50, 5), id="half-way"),
        pytest.param(199.999, SUCCEEDED, Phase(RUNNING, 99, 9), id="never-100-while-running"),
        pytest.param(200.0, SUCCEEDED, Phase(SUCCEEDED, 100, 10), id="succeeded"),
        pytest.param(150.0, FAILED, Phase(RUNNING, 20, 2), id="failing-runs-to-its-stop"),
        pytest.param(200.0, FAILED, Phase(FAILED, 40, 4), id="failed-at-its-stop"),
        pytest.param(500.0, OVER_LIMIT, Phase(OVER_LIMIT, 0, 0), id="over-limit"),
    ],
)
def test_a_generated_scan_moves_through_its_phases(age: float, final: str, expected: Phase) -> None:
    assert scheduled_phase(age, QUEUE_S, RUN_S, final, FAIL_AT, N_RISKS) == expected


@pytest.mark.parametrize(
    ("state", "progress", "visible"),
    [
        pytest.param(SUCCEEDED, None, 10, id="succeeded-shows-all"),
        pytest.param(QUEUED, 50, 0, id="queued-shows-none"),
        pytest.param(OVER_LIMIT, 50, 0, id="over-limit-shows-none"),
        pytest.param(RUNNING, 35, 3, id="running-by-progress"),
        pytest.param(RUNNING, None, 0, id="running-without-progress"),
        pytest.param(FAILED, 250, 10, id="never-more-than-found"),
        pytest.param("PAUSED", 60, 6, id="unknown-state-by-progress"),
    ],
)
def test_visible_risks_follow_state_and_progress(
    state: str, progress: float | None, visible: int
) -> None:
    assert visible_for(state, progress, N_RISKS) == visible


def test_a_frozen_scan_stays_put_and_an_added_one_shows_every_risk() -> None:
    assert frozen_phase(RUNNING, 30, N_RISKS, fixed=False) == Phase(RUNNING, 30, 3)
    assert frozen_phase(RUNNING, 30, N_RISKS, fixed=True) == Phase(RUNNING, 30, 10)
    assert frozen_phase("PAUSED", None, N_RISKS, fixed=True) == Phase("PAUSED", None, 10)
