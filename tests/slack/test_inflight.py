"""InFlight: the replies still under way after an ack, which a shutdown waits for."""

from __future__ import annotations

import asyncio
import logging

import pytest

from scanbot.slack.inflight import InFlight


async def test_a_reply_is_tracked_while_its_block_runs() -> None:
    inflight = InFlight()
    inside = asyncio.Event()
    release = asyncio.Event()

    async def reply() -> None:
        async with inflight.track():
            inside.set()
            await release.wait()

    task = asyncio.create_task(reply())
    await inside.wait()
    assert len(inflight) == 1
    release.set()
    await task
    assert len(inflight) == 0


async def test_a_reply_that_raises_is_no_longer_tracked() -> None:
    inflight = InFlight()

    async def failing() -> None:
        async with inflight.track():
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await asyncio.create_task(failing())
    assert len(inflight) == 0


async def test_drain_waits_for_the_replies_under_way() -> None:
    inflight = InFlight()
    done: list[int] = []

    async def reply(n: int) -> None:
        async with inflight.track():
            await asyncio.sleep(0.01 * n)
            done.append(n)

    tasks = [asyncio.create_task(reply(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    await inflight.drain(5.0)
    assert sorted(done) == [1, 2, 3]
    await asyncio.gather(*tasks)


async def test_drain_gives_up_after_its_time_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    inflight = InFlight()
    release = asyncio.Event()

    async def stuck() -> None:
        async with inflight.track():
            await release.wait()

    task = asyncio.create_task(stuck())
    await asyncio.sleep(0)
    with caplog.at_level(logging.INFO, logger="scanbot"):
        await inflight.drain(0.05)
    assert caplog.messages == [
        "waiting for 1 reply(ies) under way before exiting",
        "exiting with 1 reply(ies) unfinished after 0 s",
    ]
    release.set()
    await task


async def test_drain_from_inside_a_tracked_reply_does_not_wait_for_itself() -> None:
    inflight = InFlight()

    async def shutting_down() -> None:
        async with inflight.track(), asyncio.timeout(1.0):
            await inflight.drain(5.0)

    await asyncio.create_task(shutting_down())
    await inflight.drain(0.1)  # nothing under way: returns at once
