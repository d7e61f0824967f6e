"""The shared cap on HostedScan requests: bounded, fair between lanes, safe on cancel."""

from __future__ import annotations

import asyncio

import pytest

from scanbot.hostedscan.limiter import FairLimiter


async def test_never_more_than_capacity_in_flight() -> None:
    limiter = FairLimiter(3)
    lane = limiter.lane("commands")
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with lane:
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.001)
            in_flight -= 1

    await asyncio.gather(*(request() for _ in range(50)))
    assert peak == 3


async def test_lanes_take_turns_so_a_burst_cannot_starve_the_other() -> None:
    limiter = FairLimiter(1)
    commands, alerts = limiter.lane("commands"), limiter.lane("alerts")
    order: list[str] = []
    gate = asyncio.Event()

    async def request(lane_name: str, lane: object) -> None:
        async with lane:  # type: ignore[attr-defined]
            order.append(lane_name)
            await gate.wait()

    first = asyncio.create_task(request("commands", commands))
    await asyncio.sleep(0)
    burst = [asyncio.create_task(request("commands", commands)) for _ in range(20)]
    await asyncio.sleep(0)
    poll = asyncio.create_task(request("alerts", alerts))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *burst, poll)
    # The alerts request waited behind at most one more command, not behind all twenty.
    assert order.index("alerts") <= 2


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    limiter = FairLimiter(1)
    lane = limiter.lane("commands")
    release = asyncio.Event()

    async def hold() -> None:
        async with lane:
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await holder
    async with asyncio.timeout(1):
        async with lane:  # the slot came back: no deadlock
            pass
    assert limiter.waiting == 0


async def test_a_waiter_cancelled_then_passed_over_by_a_release_leaves_cleanly() -> None:
    """Found by bench/commands.py: a deadline cancels a waiter, a release runs before the
    waiter's task resumes and drops the cancelled future from the queue; the waiter must
    not fail looking for it (it raised ValueError, an unexpected error for the user)."""
    limiter = FairLimiter(1)
    lane = limiter.lane("commands")

    async def wait_for_a_slot() -> None:
        async with lane:
            pass

    async with lane:
        waiter = asyncio.create_task(wait_for_a_slot())
        await asyncio.sleep(0)  # it waits for the slot
        waiter.cancel()  # its future is cancelled; its task resumes on a later turn
    # leaving released the slot before the waiter's task ran: the release dropped it
    with pytest.raises(asyncio.CancelledError):
        await waiter
    async with asyncio.timeout(1), lane:
        pass
    assert limiter.waiting == 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FairLimiter(0)
