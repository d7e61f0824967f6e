"""One cap on HostedScan requests in flight, shared fairly between lanes (commands, alerts).

Requests beyond the cap wait here, not inside httpx's pool (whose queue costs CPU on the
event loop that must ack Slack within 3 seconds). When a slot frees, lanes take turns,
so a burst of commands cannot starve the poller, nor the poller the commands.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class FairLimiter:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._free = capacity
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._turns: deque[str] = deque()  # lanes in round-robin order

    def lane(self, name: str) -> Lane:
        if name not in self._waiting:
            self._waiting[name] = deque()
            self._turns.append(name)
        return Lane(self, name)

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    async def _acquire(self, name: str) -> None:
        if self._free > 0 and not self.waiting:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[name].append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # granted as it was cancelled: hand the slot on
            elif future in self._waiting[name]:  # a release may have dropped it already
                self._waiting[name].remove(future)
            raise

    def _release(self) -> None:
        for _ in range(len(self._turns)):
            name = self._turns[0]
            self._turns.rotate(-1)
            queue = self._waiting[name]
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)  # the slot passes straight to this waiter
                    return
        self._free += 1


class Lane:
    """`async with lane:` holds one of the limiter's slots."""

    def __init__(self, limiter: FairLimiter, name: str) -> None:
        self._limiter = limiter
        self.name = name

    async def __aenter__(self) -> None:
        await self._limiter._acquire(self.name)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._limiter._release()
