"""Replies still being worked on after the ack, so a shutdown can let them finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

log = logging.getLogger(__name__)


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        """Mark the current task as a reply under way until the block exits."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under asyncio
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for the replies under way; log any left behind."""
        pending = {task for task in self._tasks if task is not asyncio.current_task()}
        if not pending:
            return
        log.info("waiting for %d reply(ies) under way before exiting", len(pending))
        _, still = await asyncio.wait(pending, timeout=seconds)
        if still:
            log.warning("exiting with %d reply(ies) unfinished after %.0f s", len(still), seconds)
