"""Reads shared by identical requests: one request in flight per key (single flight), its
answer kept for a few seconds. A burst of `/scan abc` costs HostedScan one request."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedReads(Generic[T]):
    """`await reads.get(key, fetch)`: joins the fetch under way for `key`, or answers from
    a value fetched less than `ttl` seconds ago, or fetches. A failure is shared by those
    who waited for it and never kept. `fresh=True` (a Refresh) skips the kept value."""

    def __init__(
        self,
        *,
        ttl: float = 5.0,
        size: int = 1_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._size = size
        self._monotonic = monotonic
        self._kept: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._flying: dict[Hashable, asyncio.Future[T]] = {}
        self.fetched = 0
        self.shared = 0  # answers that cost no request

    async def get(
        self, key: Hashable, fetch: Callable[[], Awaitable[T]], *, fresh: bool = False
    ) -> T:
        if not fresh:
            kept = self._kept.get(key)
            if kept is not None and self._monotonic() - kept[0] < self._ttl:
                self.shared += 1
                return kept[1]
            flying = self._flying.get(key)
            if flying is not None:
                self.shared += 1
                return await asyncio.shield(flying)
        # The fetch is a task of its own: a caller that gives up (its deadline) leaves it
        # to the others, and its answer is still kept for the next ones.
        task = asyncio.ensure_future(fetch())
        self._flying[key] = task
        self.fetched += 1
        task.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(task)

    def _landed(self, key: Hashable, task: asyncio.Future[T]) -> None:
        if self._flying.get(key) is task:
            del self._flying[key]
        if task.cancelled():
            return
        if task.exception() is None:  # retrieved either way: no "never retrieved" warning
            self._keep(key, task.result())

    def _keep(self, key: Hashable, value: T) -> None:
        self._kept[key] = (self._monotonic(), value)
        self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
