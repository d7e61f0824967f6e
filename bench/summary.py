"""A posture summary over 100,000 open risks: what computing and rendering it costs.

Run `python bench/summary.py`; `--help` lists the knobs. It prints figures and exits 0:
it is a benchmark, not a test. The sandbox (a world of `--backlog` older risks) serves in
a subprocess; two more processes page `GET /v1/risks?status=OPEN` through the real client,
one only counting (the floor), one computing the summary (`summaries.service.compute_posture`)
and rendering it as Block Kit and its chart PNG. Each reports its wall time and peak RSS,
side by side. The target: the summary's process stays under 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import httpx

from scanbot.hostedscan import HostedScanClient
from scanbot.sandbox.server import SANDBOX_API_KEY

LIMIT_MB = 200


def serve(port: int, backlog: int, seed: int) -> None:
    import uvicorn

    from scanbot.sandbox.server import create_sandbox_app
    from scanbot.sandbox.world import SandboxWorld, SimClock

    world = SandboxWorld(
        seed=seed, scans=0, arrivals_per_hour=0, backlog_risks=backlog, clock=SimClock(speed=0)
    )
    uvicorn.run(create_sandbox_app(world), host="127.0.0.1", port=port, log_level="warning")


async def count_only(url: str) -> dict[str, object]:
    async with HostedScanClient.create(url, SANDBOX_API_KEY) as client:
        count = 0
        async for _ in client.list_risks(statuses=["OPEN"]):
            count += 1
        return {"open": count}


async def summarise(url: str) -> dict[str, object]:
    from scanbot.domain.summaries import DailyCount, SummarySchedule
    from scanbot.summaries.card import posture_summary
    from scanbot.summaries.chart import draw_trend
    from scanbot.summaries.service import compute_posture

    now = datetime.now(UTC)
    async with HostedScanClient.create(url, SANDBOX_API_KEY) as client:
        posture = await compute_posture(client, now, since=now - timedelta(days=1))
    schedule = SummarySchedule(id=1, channel_id="C1", period="daily", at="09:00", tz="UTC")
    message = posture_summary(posture, schedule, due_at=now)
    today = date.today()
    history = [
        DailyCount(day=today - timedelta(days=d), high=posture.open_by_level["HIGH"] + d,
                   medium=posture.open_by_level["MEDIUM"], low=posture.open_by_level["LOW"])
        for d in range(56)
    ]  # fmt: skip
    png = draw_trend(history)
    return {
        "open": posture.open_total,
        "accepted": posture.accepted,
        "overdue": posture.overdue_total,
        "blocks": len(message["blocks"]),
        "png_bytes": len(png),
    }


def client(mode: str, url: str) -> None:
    """One measured process: prints its figures as JSON."""
    started, cpu = time.perf_counter(), time.process_time()
    figures = asyncio.run(count_only(url) if mode == "count" else summarise(url))
    figures["wall_s"] = time.perf_counter() - started
    figures["cpu_s"] = time.process_time() - cpu
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


async def wait_for(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(600):
            try:
                await http.get("/healthz")
                return
            except httpx.TransportError:  # not up yet
                await asyncio.sleep(0.1)
    raise SystemExit("the sandbox did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=120_000, help="older risks in the world")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=["count", "summary"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.backlog, args.seed)
        return
    if args.client is not None:
        client(args.client, args.url)
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = [sys.executable, __file__, "--serve", str(port), "--backlog", str(args.backlog)]
    child += ["--seed", str(args.seed)]
    pid = os.posix_spawn(sys.executable, child, os.environ)
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_for(url))
        results = {}
        for mode in ("count", "summary"):
            run = [sys.executable, __file__, "--client", mode, "--url", url]
            done = subprocess.run(run, check=True, capture_output=True, text=True)  # noqa: S603 - our own script
            output = done.stdout
            results[mode] = json.loads(output.strip().splitlines()[-1])
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
    floor, summary = results["count"], results["summary"]
    print(f"open risks: {floor['open']:,} (summary counted {summary['open']:,} open, "
          f"{summary['accepted']:,} accepted apart, {summary['overdue']:,} overdue)")  # fmt: skip
    print(f"{'':22}{'count only':>12}{'summary':>12}{'ratio':>8}")
    for key, label in (
        ("wall_s", "wall (s)"),
        ("cpu_s", "CPU (s)"),
        ("peak_rss_mb", "peak RSS (MB)"),
    ):
        ratio = summary[key] / max(floor[key], 1e-9)
        print(f"{label:22}{floor[key]:12.1f}{summary[key]:12.1f}{ratio:8.2f}")
    verdict = "under" if summary["peak_rss_mb"] < LIMIT_MB else "OVER"
    print(f"summary peak RSS {summary['peak_rss_mb']:.0f} MB: {verdict} the {LIMIT_MB} MB target")
    print(f"Block Kit blocks: {summary['blocks']}; chart PNG: {summary['png_bytes']:,} bytes")


if __name__ == "__main__":
    main()
