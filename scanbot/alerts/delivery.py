"""Delivery apart from polling: a task that runs rounds when woken (a cycle or a webhook
committed rows), when the work said more comes due (a retry's time), and at least every
`interval` seconds, one round at a time.

Wakes while a round runs coalesce into one more round, which reads the newest state: a
parent edited in it is drawn once from its latest summary, however many cycles moved it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MIN_WAIT = 0.05  # seconds between two rounds at least: a row due "now" is not a busy loop


class Rounds:
    """Runs `work` in its own task: after `wake()`, and at least every `interval` s. `work`
    may return the seconds until it has more to do (None: nothing known): the next round
    runs then if that is sooner, so a retry due in 1.5 s is not left waiting the interval."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[float | None]], *, interval: float
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
        wait = self._interval
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._woken.wait()
            self._woken.clear()  # wakes from now on ask for one more round
            wait = self._interval
            try:
                due_in = await self._work()
            except Exception as exc:  # a round is a boundary: log; the outbox keeps the rows
                log.error("%s round failed: %s", self.name, exc, exc_info=exc)
            else:
                if due_in is not None:
                    wait = min(wait, max(MIN_WAIT, due_in))
            self.rounds += 1
