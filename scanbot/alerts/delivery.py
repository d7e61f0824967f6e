"""Delivery apart from polling: a task that runs rounds when woken (a cycle or a webhook
committed rows) and every `interval` seconds (retries that came due), one round at a time.

Wakes while a round runs coalesce into one more round, which reads the newest state: a
parent edited in it is drawn once from its latest summary, however many cycles moved it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Rounds:
    """Runs `work` in its own task: after `wake()`, and at least every `interval` s."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[object]], *, interval: float
    ) -> None:
        self.name = name
        self._work = work
        self._interval = interval
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    def wake(self) -> None:
        self._woken.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"scanbot-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._woken.wait()
            self._woken.clear()  # wakes from now on ask for one more round
            try:
                await self._work()
            except Exception as exc:  # a round is a boundary: log; the outbox keeps the rows
                log.error("%s round failed: %s", self.name, exc, exc_info=exc)
            self.rounds += 1
