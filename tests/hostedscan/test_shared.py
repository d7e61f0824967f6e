"""Shared reads: one fetch in flight per key, its answer kept `ttl` seconds (an injected
clock), failures shared and never kept, a caller that gives up leaving the fetch to others."""

from __future__ import annotations

import asyncio

import pytest

from scanbot.hostedscan.shared import SharedReads


class Fetcher:
    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.fail: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return f"answer {self.calls}"


async def test_identical_reads_at_once_share_one_fetch() -> None:
    reads: SharedReads[str] = SharedReads()
    fetch = Fetcher()
    waiting = [asyncio.create_task(reads.get("abc", fetch)) for _ in range(50)]
    await asyncio.sleep(0)
    fetch.gate.set()
    assert await asyncio.gather(*waiting) == ["answer 1"] * 50
    assert (fetch.calls, reads.fetched, reads.shared) == (1, 1, 49)


async def test_an_answer_is_kept_for_ttl_seconds_and_fresh_skips_it() -> None:
    now = [0.0]
    reads: SharedReads[str] = SharedReads(ttl=5.0, monotonic=lambda: now[0])
    fetch = Fetcher()
    fetch.gate.set()
    assert await reads.get("abc", fetch) == "answer 1"
    now[0] = 4.9
    assert await reads.get("abc", fetch) == "answer 1"
    assert await reads.get("abc", fetch, fresh=True) == "answer 2"
    now[0] = 9.8
    assert await reads.get("abc", fetch) == "answer 2"  # kept from the fresh read at 4.9
    now[0] = 10.0
    assert await reads.get("abc", fetch) == "answer 3"
    assert await reads.get("other", fetch) == "answer 4"


async def test_a_failure_is_shared_by_its_waiters_and_not_kept() -> None:
    reads: SharedReads[str] = SharedReads()
    fetch = Fetcher()
    fetch.fail = TimeoutError("slow")
    waiting = [asyncio.create_task(reads.get("abc", fetch)) for _ in range(3)]
    await asyncio.sleep(0)
    fetch.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert [type(r) for r in results] == [TimeoutError] * 3
    fetch.fail = None
    assert await reads.get("abc", fetch) == "answer 2"


async def test_a_caller_that_gives_up_leaves_the_fetch_to_the_others() -> None:
    reads: SharedReads[str] = SharedReads()
    fetch = Fetcher()
    first = asyncio.create_task(reads.get("abc", fetch))
    await asyncio.sleep(0)
    second = asyncio.create_task(reads.get("abc", fetch))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    fetch.gate.set()
    assert await second == "answer 1"
    assert await reads.get("abc", fetch) == "answer 1"  # kept, though its caller left
    assert fetch.calls == 1


async def test_the_kept_answers_are_bounded() -> None:
    reads: SharedReads[str] = SharedReads(size=2)
    fetch = Fetcher()
    fetch.gate.set()
    for key in ("a", "b", "c"):
        await reads.get(key, fetch)
    assert await reads.get("a", fetch) == "answer 4"  # the oldest was let go
    assert await reads.get("c", fetch) == "answer 3"
