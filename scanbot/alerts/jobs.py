"""Scheduled jobs a stop may cut short: a job under way gets STOP_GRACE seconds to finish,
then is cancelled, without a traceback (the alert jobs and the summaries' share this)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

STOP_GRACE = 1.0  # seconds a job under way gets at shutdown


class Jobs:
    """The tasks APScheduler runs for one service, so that `stop` can wait for them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self.stopping = False

    async def run(self, job: Callable[[], Awaitable[object]]) -> None:
        """A job as the scheduler runs it (add_job(jobs.run, args=[job])): stop() may
        cancel it, without a traceback."""
        task = asyncio.current_task()
        assert task is not None  # the scheduler runs each job in a task of its own
        self._tasks.add(task)
        try:
            await job()
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            log.info("stopped %s under way: shutting down", getattr(job, "__name__", "a job"))
        finally:
            self._tasks.discard(task)

    async def stop(self, scheduler: AsyncIOScheduler) -> None:
        """Pause the scheduler, give the jobs under way STOP_GRACE seconds, then shut it
        down and cancel what still runs."""
        self.stopping = True
        scheduler.pause()
        running = [task for task in self._tasks if not task.done()]
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE)
        scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
