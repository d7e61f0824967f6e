"""Reports: when each is ready (polls, delay, never), and the controls on that."""

from __future__ import annotations

import pytest

from scanbot.sandbox.world.ids import REPORT_ID, SCAN_ID, IdCodec
from scanbot.sandbox.world.reports import Reports, Timing


def polls_until_ready(reports: Reports, report_id: str, now: float, most: int = 50) -> int:
    job = reports.get(report_id)
    assert job is not None
    for attempt in range(most):
        if job.poll(now):
            return attempt
    return most


def test_by_default_a_report_is_not_ready_once() -> None:
    reports = Reports(IdCodec(1))
    report_id = reports.create("PDF", {}, ("Format: PDF",), 0.0)
    assert polls_until_ready(reports, report_id, 0.0) == 1


def test_polls_and_delay_must_both_pass() -> None:
    reports = Reports(IdCodec(1))
    reports.set_timing(Timing(polls=3, delay=60.0))
    report_id = reports.create("HTML", {}, (), 100.0)
    job = reports.get(report_id)
    assert job is not None
    assert [job.poll(100.0) for _ in range(5)] == [False] * 5  # polls done, delay not
    assert not job.poll(159.0)
    assert job.poll(160.0)
    quick = reports.create("HTML", {}, (), 0.0)
    reports.set_timing(Timing(polls=0))
    assert polls_until_ready(reports, quick, 60.0) == 3  # made under the old timing
    assert polls_until_ready(reports, reports.create("PDF", {}, (), 0.0), 0.0) == 0


def test_the_next_reports_take_their_own_timings_in_turn() -> None:
    reports = Reports(IdCodec(1))
    reports.time_next(Timing(polls=5))
    reports.time_next(Timing(never=True))
    slow = reports.create("PDF", {}, (), 0.0)
    never = reports.create("PDF", {}, (), 0.0)
    usual = reports.create("PDF", {}, (), 0.0)
    assert polls_until_ready(reports, slow, 0.0) == 5
    assert polls_until_ready(reports, never, 1e9) == 50
    assert polls_until_ready(reports, usual, 0.0) == 1


def test_hold_and_release() -> None:
    reports = Reports(IdCodec(1))
    report_id = reports.create("PDF", {}, (), 0.0)
    reports.hold(report_id)
    assert polls_until_ready(reports, report_id, 0.0) == 50
    reports.release(report_id)
    assert polls_until_ready(reports, report_id, 0.0) == 0
    with pytest.raises(KeyError):
        reports.hold("nope")


def test_ids_are_the_reports_own() -> None:
    ids = IdCodec(1)
    reports = Reports(ids)
    report_id = reports.create("PDF", {}, (), 0.0)
    assert reports.get(report_id) is not None
    assert reports.get(ids.encode(REPORT_ID, 1)) is None  # not made yet
    assert reports.get(ids.encode(SCAN_ID, 0)) is None
    assert reports.get(Reports(IdCodec(2)).create("PDF", {}, (), 0.0)) is None


@pytest.mark.parametrize("timing", [Timing(polls=-1), Timing(delay=-1.0)])
def test_a_negative_timing_is_refused(timing: Timing) -> None:
    reports = Reports(IdCodec(1))
    with pytest.raises(ValueError, match="negative"):
        reports.set_timing(timing)
    with pytest.raises(ValueError, match="negative"):
        reports.time_next(timing)
