"""Paging 100,000 open risks from the sandbox through the real client: what it costs each side.

Run `python bench/sandbox_risks.py`; `--help` lists the knobs. It prints figures and exits
0: it is a benchmark, not a test. The sandbox (a world of `--backlog` older risks, no
scans) serves in a subprocess; this process pages `GET /v1/risks` filtered to open risks
with `HostedScanClient.list_risks`, counting them without keeping them. It reports the
count, pages, wall time, this process's CPU and peak RSS, and the sandbox's peak RSS (its
VmHWM, Linux): the floor under any consumer of the listing (issue 11's summaries, say).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import sys
import time

import httpx

from scanbot.hostedscan import HostedScanClient
from scanbot.sandbox.server import SANDBOX_API_KEY


def serve(port: int, backlog: int, seed: int) -> None:
    """The sandbox side: a world of old risks only, until killed."""
    import uvicorn

    from scanbot.sandbox.server import create_sandbox_app
    from scanbot.sandbox.world import SandboxWorld, SimClock

    world = SandboxWorld(
        seed=seed, scans=0, arrivals_per_hour=0, backlog_risks=backlog, clock=SimClock(speed=0)
    )
    uvicorn.run(create_sandbox_app(world), host="127.0.0.1", port=port, log_level="warning")


async def page_through(url: str) -> int:
    async with HostedScanClient.create(url, SANDBOX_API_KEY) as client:
        count = 0
        async for _ in client.list_risks(statuses=["OPEN"]):
            count += 1
        return count


async def wait_for(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(300):
            try:
                await http.get("/healthz")
                return
            except httpx.TransportError:  # not up yet
                await asyncio.sleep(0.1)
    raise SystemExit("the sandbox did not start")


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=120_000, help="older risks in the world")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.backlog, args.seed)
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = [sys.executable, __file__, "--serve", str(port), "--backlog", str(args.backlog)]
    child += ["--seed", str(args.seed)]
    pid = os.posix_spawn(sys.executable, child, os.environ)
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(wait_for(url))
        started, cpu = time.perf_counter(), time.process_time()
        count = asyncio.run(page_through(url))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        sandbox_mb = peak_rss_mb(pid)
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
    client_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"open risks paged: {count:,} in {-(-count // 500)} pages of 500")
    print(f"wall: {wall:.1f} s ({wall / max(count, 1) * 1e6:.0f} µs a risk)")
    print(f"client CPU: {cpu:.1f} s; client peak RSS: {client_mb:.0f} MB")
    print(f"sandbox peak RSS: {sandbox_mb:.0f} MB")


if __name__ == "__main__":
    main()
