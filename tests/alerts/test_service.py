"""AlertService's scheduling: a stop does not wait long for a job under way, and cutting
one short logs no traceback."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

import pytest

from scanbot.alerts.leader import SoleInstance
from scanbot.alerts.service import STOP_GRACE, AlertService


def _service() -> AlertService:
    nothing = cast(Any, None)  # stop() and the scheduler touch none of these
    return AlertService(nothing, nothing, nothing, SoleInstance(), nothing, poll_interval=3600)


async def test_stop_cancels_a_job_under_way_after_its_grace_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    service = _service()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def tick() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    service.tick = tick  # type: ignore[method-assign]
    service.start()  # the poll job runs at once
    await asyncio.wait_for(started.wait(), 5)
    began = time.monotonic()
    await service.stop()
    took = time.monotonic() - began
    assert cancelled.is_set()
    assert STOP_GRACE <= took < STOP_GRACE + 1
    await asyncio.sleep(0.05)  # the scheduler's executor sees the job's end
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("stopped tick under way" in r.getMessage() for r in caplog.records)


async def test_stop_lets_a_short_job_finish() -> None:
    service = _service()
    finished = asyncio.Event()

    async def tick() -> None:
        await asyncio.sleep(0.1)
        finished.set()

    service.tick = tick  # type: ignore[method-assign]
    service.start()
    await asyncio.sleep(0.02)
    await service.stop()
    assert finished.is_set()
