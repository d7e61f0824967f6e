"""The alert poller's cost per cycle as the account grows: scanbot's poller beside a naive one.

Run `python bench/poll.py`; `--help` lists the knobs. It prints figures and exits 0 whether
the targets are met or not: it is a benchmark, not a test.

Layout: for each size and each poller, a fresh sandbox (same seed, so the same world) in
one subprocess and the poller in another, so the poller's CPU time and peak RSS are its
own. The sandbox's clock stands still except when the poller advances it between cycles
(through `/bench/*` routes this script adds around the sandbox app, which also report the
request log); this process only starts them and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import functools
import json
import math
import os
import platform
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from scanbot.alerts.cycle import ACTIVE_FILTER, Poller
from scanbot.alerts.diff import diff
from scanbot.domain.clock import utcnow
from scanbot.domain.events import Snapshot
from scanbot.hostedscan import HostedScanClient
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background
from scanbot.store import Store
from scanbot.store.snapshots import Compute, Snapshots
from scanbot.store.state import CycleMark
from scanbot.store.urls import database_url

PAGE_SIZE = 500  # the sandbox's, like HostedScan's
ACTIVE_FRACTION = 0.01
ADVANCE_SECONDS = 60.0  # simulated time between two cycles: one default poll interval
FULL_SWEEP_EVERY = 10  # scanbot's default (SCANBOT_FULL_SWEEP_EVERY)
RSS_TARGET_MB = 200.0
FLAT_FACTOR = 2.0  # "roughly flat": CPU per scan the cycle touched grows less than this
STARTUP_SECONDS = 60.0
RUN_SECONDS = 600.0  # a bound on one poller's run; far above what it takes
STOP_SECONDS = 10.0
THIS_SCRIPT = (sys.executable, str(Path(__file__).resolve()))


class BenchError(Exception):
    """The bench could not run (a subprocess failed); the message says which and why."""


# --- The sandbox, with a control panel, in its own process -----------------------------


class SandboxWithControls:
    """The sandbox's ASGI app, plus `/bench/*` routes the poller's process calls between
    cycles: advance the clock, clear and count the request log, name the active scans.

    Wrapping the app (not editing the sandbox) keeps these calls out of the request log.
    """

    def __init__(self, world: SandboxWorld, clock: SimClock) -> None:
        self.world = world
        self.clock = clock
        self.sandbox = create_sandbox_app(world, page_size=PAGE_SIZE)
        self.controls: SandboxControls = self.sandbox.state.controls
        self.bench = Starlette(
            routes=[
                Route("/bench/advance", self._advance, methods=["POST"]),
                Route("/bench/requests", self._requests, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith("/bench/"):
            await self.bench(scope, receive, send)
            return
        await self.sandbox(scope, receive, send)

    async def _advance(self, request: Request) -> Response:
        """Move the clock on, clear the request log, and name the scans active now."""
        self.clock.advance(float(request.query_params.get("seconds", "0")))
        self.controls.requests.clear()
        active = [scan["id"] for scan in self.world.list_scans(ACTIVE_FILTER)]
        return JSONResponse({"active": active, "total": self.world.count_scans()})

    async def _requests(self, request: Request) -> Response:
        paths = [r.path for r in self.controls.requests]
        pages = sum(1 for path in paths if path == "/v1/scans")
        by_id = sum(1 for path in paths if path.startswith("/v1/scans/"))
        return JSONResponse({"total": len(paths), "pages": pages, "by_id": by_id})


async def run_sandbox(seed: int, scans: int) -> None:
    """Serve a frozen sandbox of `scans` scans; print its URL as JSON; stop on SIGTERM."""
    clock = SimClock(speed=0.0)
    world = SandboxWorld(seed=seed, scans=scans, active_fraction=ACTIVE_FRACTION, clock=clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve_in_background(SandboxWithControls(world, clock)) as url:
        print(json.dumps({"url": url}), flush=True)
        await stop.wait()


# --- The pollers under test ------------------------------------------------------------


@dataclass
class CycleFigures:
    """What one cycle cost and did, as the poller's process saw it."""

    wall: float  # seconds
    cpu: float  # seconds of this process's CPU (all threads: aiosqlite's included)
    requests: int
    pages: int
    by_id: int
    target: int  # ceil(active / 500) pages + departures: what a steady cycle must cost
    active: int
    departures: int
    full: bool  # a full listing (scanbot's baseline or sweep; every naive cycle)
    events: int
    written: int  # snapshots the cycle wrote (scanbot) or replaced (naive)
    touched: int  # scans the cycle listed or fetched by id
    peak_rss_mb: float  # the process's peak RSS so far, after this cycle


class CycleRunner(Protocol):
    async def cycle(self) -> tuple[bool, int, int, int]:
        """Run one cycle: (full listing?, events, snapshots written, scans touched)."""
        ...


class CountingSnapshots(Snapshots):
    """The real snapshots, remembering how many each observation was asked to write."""

    written = 0

    async def observe(
        self,
        scan_ids: Collection[str],
        compute: Compute,
        *,
        mark: CycleMark | None = None,
        read: bool = True,
    ) -> int:
        self.written += len(scan_ids)
        return await super().observe(scan_ids, compute, mark=mark, read=read)


class ScanbotRunner:
    """scanbot's Poller on a SQLite store, with no subscriptions and no Slack."""

    def __init__(self, poller: Poller, snapshots: CountingSnapshots) -> None:
        self.poller = poller
        self.snapshots = snapshots

    async def cycle(self) -> tuple[bool, int, int, int]:
        self.snapshots.written = 0  # counted over the cycle's batches
        report = await self.poller.run_cycle()
        touched = report.listed + report.departures
        return report.full_sweep, len(report.events), self.snapshots.written, touched


class NaivePoller:
    """Lists every scan every cycle and diffs each against the last look, kept in a dict.

    It uses scanbot's own pure `diff`, so both pollers apply the same rules; listing
    everything, it also sees scans that started and finished between two cycles. It keeps
    no database, which flatters its CPU time and RSS rather than scanbot's.
    """

    def __init__(
        self, hostedscan: HostedScanClient, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._hostedscan = hostedscan
        self._clock = clock
        self.snapshots: dict[str, Snapshot] = {}

    async def cycle(self) -> tuple[bool, int, int, int]:
        now = self._clock()
        baseline = not self.snapshots
        events = listed = 0
        async with contextlib.aclosing(self._hostedscan.list_scans(None)) as listing:
            async for scan in listing:
                new_events, after = diff(self.snapshots.get(scan.id), scan, now, baseline=baseline)
                self.snapshots[scan.id] = after
                events += len(new_events)
                listed += 1
        return True, events, listed, listed


async def measure_cycles(
    runner: CycleRunner, control: httpx.AsyncClient, steady_cycles: int
) -> list[CycleFigures]:
    """The baseline and then `steady_cycles` more, the sandbox clock moved on before each.

    Only the cycle itself is timed: the control calls fall outside the measured window.
    """
    figures: list[CycleFigures] = []
    before: set[str] = set()
    for number in range(steady_cycles + 1):
        advanced = await control.post(
            "/bench/advance", params={"seconds": ADVANCE_SECONDS if number else 0}
        )
        active = set(advanced.raise_for_status().json()["active"])
        departures = len(before - active)
        wall, cpu = time.perf_counter(), time.process_time()
        full, events, written, touched = await runner.cycle()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        counts = (await control.get("/bench/requests")).raise_for_status().json()
        target = max(1, math.ceil(len(active) / PAGE_SIZE)) + departures
        figures.append(
            CycleFigures(
                wall=wall,
                cpu=cpu,
                requests=counts["total"],
                pages=counts["pages"],
                by_id=counts["by_id"],
                target=target,
                active=len(active),
                departures=departures,
                full=full,
                events=events,
                written=written,
                touched=touched,
                peak_rss_mb=_peak_rss_mb(),
            )
        )
        before = active
    return figures


def _rss_now_mb() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return math.nan


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


async def _time_active_query(store: Store, repeats: int = 5) -> float:
    """The fastest of a few `active_scan_ids()` calls, the query every steady cycle starts
    with: it names the scans last seen active, but SQLite reads every snapshot row for it."""
    best = math.inf
    for _ in range(repeats):
        began = time.perf_counter()
        await store.snapshots.active_ids()
        best = min(best, time.perf_counter() - began)
    return best


async def run_poller(kind: str, url: str, steady_cycles: int) -> None:
    """Poll the sandbox at `url` with one poller; print its figures as one JSON line."""
    async with (
        HostedScanClient.create(url, SANDBOX_API_KEY) as hostedscan,
        httpx.AsyncClient(base_url=url, timeout=120) as control,
    ):
        runner: CycleRunner
        store: Store | None = None
        if kind == "scanbot":
            # A new file per run: a store left by another size would skip the baseline.
            path = Path(tempfile.mkdtemp(prefix="store-", dir=Path.cwd())) / "scanbot.sqlite3"
            store = await Store.open(database_url({}, f"sqlite:///{path}"))
            counting = CountingSnapshots(store.db, store.outbox, store.threads, store.state)
            store.snapshots = counting
            poller = Poller(hostedscan, store, full_sweep_every=FULL_SWEEP_EVERY)
            runner = ScanbotRunner(poller, counting)
        else:
            runner = NaivePoller(hostedscan)
        try:
            cycles = await measure_cycles(runner, control, steady_cycles)
            active_query = await _time_active_query(store) if store is not None else math.nan
        finally:
            if store is not None:
                await store.close()
    result = {
        "cycles": [asdict(c) for c in cycles],
        "peak_rss_mb": _peak_rss_mb(),
        "end_rss_mb": _rss_now_mb(),
        "active_query": active_query,
    }
    print(json.dumps(result), flush=True)


# --- Subprocesses ----------------------------------------------------------------------


def _prepare_child(cpus: set[int] | None) -> None:
    """In the child before exec: its CPUs, and (Linux) SIGTERM if the bench dies."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def json_line(self, seconds: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), seconds)
            answer: dict[str, Any] = json.loads(line)
        except (TimeoutError, ValueError):
            message = f"{self.name} gave no figures; its log ends:\n{self.log_tail()}"
            raise BenchError(message) from None
        return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


@dataclass
class Children:
    workdir: Path
    started: list[Child] = field(default_factory=list)

    async def start(self, name: str, argv: Sequence[str], cpus: set[int] | None) -> Child:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                stdin=asyncio.subprocess.DEVNULL,
                cwd=self.workdir,
                preexec_fn=functools.partial(_prepare_child, cpus),
            )
        child = Child(name, process, log)
        self.started.append(child)
        return child

    async def stop_all(self) -> None:
        for child in reversed(self.started):
            await child.stop()


def _cpu_plan() -> tuple[set[int] | None, set[int] | None, str]:
    """CPUs for the poller and for the sandbox, so neither takes the other's time."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return None, None, "no CPU pinning (fewer than 2 CPUs)"
    poller, sandbox = {cpus[-1]}, set(cpus[:-1])
    return poller, sandbox, f"poller pinned to CPU {cpus[-1]}, sandbox to {sorted(sandbox)}"


@dataclass
class Run:
    """One poller's figures at one size."""

    cycles: list[CycleFigures]
    peak_rss_mb: float
    end_rss_mb: float
    active_query: float  # seconds for store.snapshots.active_ids() after the last cycle (scanbot)

    @property
    def baseline(self) -> CycleFigures:
        return self.cycles[0]

    @property
    def steady(self) -> list[CycleFigures]:
        """The cycles after the baseline that listed only the active scans (for naive:
        every cycle after the first, which is its whole design)."""
        rest = self.cycles[1:]
        partial = [c for c in rest if not c.full]
        return partial or rest

    @property
    def sweeps(self) -> list[CycleFigures]:
        """scanbot's full sweeps after the baseline (every one of naive's cycles is full)."""
        return [c for c in self.cycles[1:] if c.full]

    def mean(self, pick: Callable[[CycleFigures], float]) -> float:
        return sum(pick(c) for c in self.steady) / len(self.steady)


async def measure(children: Children, kind: str, size: int, options: argparse.Namespace) -> Run:
    poller_cpus, sandbox_cpus, _ = _cpu_plan()
    sandbox_argv = [*THIS_SCRIPT, "--role", "sandbox", "--seed", str(options.seed)]
    sandbox = await children.start(
        f"sandbox-{kind}-{size}", [*sandbox_argv, "--scans", str(size)], sandbox_cpus
    )
    try:
        url = (await sandbox.json_line(STARTUP_SECONDS))["url"]
        cycles = options.cycles if kind == "scanbot" else min(options.cycles, options.naive_cycles)
        poller_argv = [*THIS_SCRIPT, "--role", kind, "--url", url, "--cycles", str(cycles)]
        poller = await children.start(f"{kind}-{size}", poller_argv, poller_cpus)
        try:
            answer = await poller.json_line(RUN_SECONDS)
        finally:
            await poller.stop()
    finally:
        await sandbox.stop()
    cycles = [CycleFigures(**c) for c in answer["cycles"]]
    return Run(cycles, answer["peak_rss_mb"], answer["end_rss_mb"], answer["active_query"])


# --- Figures ---------------------------------------------------------------------------


def _ratio(naive: float, scanbot: float) -> str:
    return f"{naive / scanbot:.1f}x" if scanbot > 0 else "-"


def size_table(size: int, scanbot: Run, naive: Run) -> list[str]:
    sb, nv = scanbot, naive
    active = sb.mean(lambda c: c.active)
    departures = sb.mean(lambda c: c.departures)

    def steady(pick: Callable[[CycleFigures], float], scale: float = 1.0) -> tuple[float, float]:
        return sb.mean(pick) * scale, nv.mean(pick) * scale

    baseline_rss = (sb.baseline.peak_rss_mb, nv.baseline.peak_rss_mb)
    rows: list[tuple[str, tuple[float, float], str]] = [
        ("requests / steady cycle", steady(lambda c: c.requests), "{:.1f}"),
        ("  list pages", steady(lambda c: c.pages), "{:.1f}"),
        ("  fetched by id", steady(lambda c: c.by_id), "{:.1f}"),
        ("wall ms / steady cycle", steady(lambda c: c.wall, 1e3), "{:.1f}"),
        ("CPU ms / steady cycle", steady(lambda c: c.cpu, 1e3), "{:.1f}"),
        ("peak RSS MB", (sb.peak_rss_mb, nv.peak_rss_mb), "{:.0f}"),
        ("  reached by the baseline's end", baseline_rss, "{:.0f}"),
        ("RSS MB after the last cycle", (sb.end_rss_mb, nv.end_rss_mb), "{:.0f}"),
        ("events / steady cycle", steady(lambda c: c.events), "{:.1f}"),
        ("snapshots written / cycle", steady(lambda c: c.written), "{:.0f}"),
    ]  # fmt: skip
    lines = [
        f"{size:,} scans: {active:.0f} active on average, {departures:.1f} leave the active set "
        f"per cycle; steady cycles measured: scanbot {len(sb.steady)}, naive {len(nv.steady)}",
        f"  {'':<32}{'scanbot':>10}{'naive':>12}{'naive/scanbot':>15}",
    ]
    for label, (s, n), shape in rows:
        lines.append(f"  {label:<32}{shape.format(s):>10}{shape.format(n):>12}{_ratio(n, s):>15}")
    over = sum(1 for c in sb.steady if c.requests > c.target)
    lines.append(
        f"  target requests / steady cycle: ceil(active / {PAGE_SIZE}) + departures = "
        f"{sb.mean(lambda c: c.target):.1f}; scanbot "
        + (f"over it in {over} cycle(s)" if over else "meets it in every cycle")
        + f" (naive's floor: ceil({size:,} / {PAGE_SIZE}) = {math.ceil(size / PAGE_SIZE)})"
    )
    for name, run in (("scanbot", sb), ("naive", nv)):
        b = run.baseline
        lines.append(
            f"  {name} baseline (first cycle, full listing): {b.requests} requests, "
            f"{b.wall:.2f} s wall, {b.cpu:.2f} s CPU, {b.written:,} snapshots"
        )
    for c in sb.sweeps:
        lines.append(
            f"  scanbot full sweep: {c.requests} requests, {c.wall * 1e3:.0f} ms wall, "
            f"{c.cpu * 1e3:.0f} ms CPU"
        )
    return lines


def summary(runs: dict[int, tuple[Run, Run]]) -> list[str]:
    sizes = sorted(runs)
    lines = ["summary"]
    largest = sizes[-1]
    rss = runs[largest][0].peak_rss_mb
    verdict = "PASS" if rss < RSS_TARGET_MB else "FAIL"
    lines.append(
        f"  scanbot peak RSS at {largest:,} scans: {rss:.0f} MB "
        f"(target < {RSS_TARGET_MB:.0f} MB): {verdict}"
    )
    lines.append("  scanbot CPU per steady cycle, and per scan the cycle listed or fetched by id:")
    per_scan: dict[int, float] = {}
    for size in sizes:
        sb = runs[size][0]
        cpu = sb.mean(lambda c: c.cpu)
        touched = sb.mean(lambda c: c.touched)
        per_scan[size] = cpu / touched if touched else math.nan
        lines.append(
            f"    {size:>9,} scans: {cpu * 1e3:8.1f} ms for {touched:6.0f} scans touched, "
            f"{sb.mean(lambda c: c.written):6.0f} written = {per_scan[size] * 1e6:7.1f} us/scan; "
            f"store.snapshots.active_ids() {sb.active_query * 1e3:.1f} ms"
        )
    if len(sizes) > 1:
        small = sizes[0]
        cpu_growth = runs[largest][0].mean(lambda c: c.cpu) / runs[small][0].mean(lambda c: c.cpu)
        touched_growth = runs[largest][0].mean(lambda c: c.touched) / runs[small][0].mean(
            lambda c: c.touched
        )
        unit_growth = per_scan[largest] / per_scan[small]
        flat = unit_growth < FLAT_FACTOR
        lines.append(
            f"  from {small:,} to {largest:,} scans ({largest / small:.0f}x): CPU per steady cycle "
            f"x{cpu_growth:.1f}, scans touched x{touched_growth:.1f}, CPU per scan touched "
            f"x{unit_growth:.2f}"
        )
        meaning = "grows with changed scans, not total" if flat else "grows with total scans"
        lines.append(
            "  at 1% active the active (and changed) scans grow with the total, so CPU per cycle "
            "must grow too; flat means CPU per scan touched stays within "
            f"{FLAT_FACTOR:.0f}x: {'PASS' if flat else 'FAIL'} ({meaning})"
        )
    lines.append(
        "  alert latency: with a poll interval near zero, a world change just before a cycle "
        "is queued in the outbox when that cycle commits, i.e. after one cycle's wall time "
        "(assumption: no webhook, the change lands at the start of the cycle; add the poll "
        "interval for the worst case):"
    )
    for size in sizes:
        sb, nv = runs[size]
        lines.append(
            f"    {size:>9,} scans: scanbot {sb.mean(lambda c: c.wall) * 1e3:8.1f} ms, "
            f"naive {nv.mean(lambda c: c.wall) * 1e3:8.1f} ms"
        )
    return lines


def report(runs: dict[int, tuple[Run, Run]], options: argparse.Namespace, layout: str) -> str:
    header = [
        "scanbot bench: alert poll cycles, scanbot's Poller (SQLite, no subscriptions, no Slack) "
        "vs a naive poller (lists every scan every cycle, diffs against a dict)",
        f"  {ACTIVE_FRACTION:.0%} of scans active, seed {options.seed}, cycles after the "
        f"baseline: scanbot {options.cycles}, naive {min(options.cycles, options.naive_cycles)}; "
        f"sandbox clock +{ADVANCE_SECONDS:.0f} s before each; scanbot full "
        f"sweep every {FULL_SWEEP_EVERY} cycles (reported apart)",
        f"  machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        f"  layout: sandbox and poller in separate subprocesses, fresh per size and poller; "
        f"{layout}",
        "",
    ]
    body: list[str] = []
    for size in sorted(runs):
        body += [*size_table(size, *runs[size]), ""]
    return "\n".join(header + body + summary(runs))


async def run_bench(options: argparse.Namespace) -> str:
    *_, layout = _cpu_plan()
    runs: dict[int, tuple[Run, Run]] = {}
    with tempfile.TemporaryDirectory(prefix="scanbot-poll-bench-") as workdir:
        children = Children(Path(workdir))
        try:
            for size in options.sizes:
                scanbot = await measure(children, "scanbot", size, options)
                naive = await measure(children, "naive", size, options)
                runs[size] = (scanbot, naive)
                print(f"measured {size:,} scans", file=sys.stderr, flush=True)
        finally:
            await children.stop_all()
    return report(runs, options, layout)


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes are positive integers, comma-separated")
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[1_000, 10_000, 100_000],
        help="scans in the account, comma-separated (default 1000,10000,100000)",
    )
    parser.add_argument("--cycles", type=int, default=5, help="cycles after the baseline")
    parser.add_argument(
        "--naive-cycles",
        type=int,
        default=1,
        help="the naive poller's cycles after its first (default 1): each is the same full "
        "listing, and at 100,000 scans each takes about 1.5 minutes",
    )
    parser.add_argument("--seed", type=int, default=1, help="the sandbox world")
    roles = ["bench", "sandbox", "scanbot", "naive"]  # the bench starts itself as the others
    parser.add_argument("--role", choices=roles, default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--scans", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    return parser


def _stop_on_signals() -> None:
    """Turn SIGTERM and SIGINT into KeyboardInterrupt, so the children are always stopped."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.role == "sandbox":
        asyncio.run(run_sandbox(options.seed, options.scans))
        return 0
    if options.role in ("scanbot", "naive"):
        asyncio.run(run_poller(options.role, options.url, options.cycles))
        return 0
    if min(options.cycles, options.naive_cycles) < 1:
        parser.error("--cycles and --naive-cycles must be at least 1")
    _stop_on_signals()
    try:
        print(asyncio.run(run_bench(options)))
    except KeyboardInterrupt:
        print("bench interrupted; subprocesses stopped", file=sys.stderr)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
    return 0  # a benchmark: it reports, it does not gate


if __name__ == "__main__":
    sys.exit(main())
