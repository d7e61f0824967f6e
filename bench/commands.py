"""Ack latency of scanbot's `/scan` endpoint against a bare Bolt app, and time to the card.

Run `python bench/commands.py` (or `make bench`); `--help` lists the knobs. It prints
figures and exits 0 whether the target is met or not: it is a benchmark, not a test.

Layout, chosen so the load generator never shares an event loop with a server under test:
each server (scanbot via `scanbot serve`, and the bare Bolt app) runs under uvicorn in its
own subprocess; the sandbox API and the fake Slack share a third ("the stage"); this
process only sends signed requests, over raw keep-alive sockets, and times them. With 2+
CPUs the servers are pinned to one CPU and everything else to the others, so a server
under test always has a whole core.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import functools
import json
import math
import os
import platform
import random
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

import httpx
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from scanbot.logs import configure_logging
from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_user import post_signed, signed_headers, slash_command
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import Server, serve_in_background, server_config

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-bot-token-0123456789"
HEALTH_TOKEN = "bench-health-token-0123456789"
HOST = "127.0.0.1"
EVENTS_PATH = "/slack/events"
TARGET_RATIO = 1.5  # scanbot's ack p99 may be at most this many times the bare app's
WORLD_SCANS = 120
STARTUP_SECONDS = 20.0
REQUEST_PHASE_SECONDS = 60.0  # a bound on one app's requests; far above what they take
FINAL_WAIT_SECONDS = 30.0  # after the last request; scanbot's own deadline is 12 s
STOP_SECONDS = 10.0
# The bench starts itself again, as the stage and as the bare app.
THIS_SCRIPT = (sys.executable, str(Path(__file__).resolve()))


class BenchError(Exception):
    """The bench could not run (a server did not start); the message says which and why."""


# --- The stage: the sandbox API and the fake Slack, in their own process ---------------


class Arrival(NamedTuple):
    """The first post to a response_url: when (`time.monotonic()`), was it the card, and if
    not, the sentence that explained why."""

    at: float
    card: bool
    failure: str = ""


class SlackWithArrivals:
    """FakeSlack's ASGI app, plus `/bench/*` routes to mint response_urls and await answers.

    Wrapping the app (not editing FakeSlack) lets a waiter sleep on a Condition that each
    response_url post wakes, instead of polling. Arrival times are `time.monotonic()`,
    one clock for every process on Linux, so the bench can subtract its send times.
    """

    def __init__(self, slack: FakeSlack) -> None:
        self.slack = slack
        self.arrived = asyncio.Condition()
        self.bench = Starlette(
            routes=[
                Route("/bench/response-urls", self._mint, methods=["POST"]),
                Route("/bench/arrivals", self._arrivals, methods=["POST"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/bench/"):
            await self.bench(scope, receive, send)
            return
        await self.slack.app(scope, receive, send)
        if scope["type"] == "http" and path.startswith("/response/"):
            async with self.arrived:
                self.arrived.notify_all()

    async def _mint(self, request: Request) -> Response:
        count = int(request.query_params.get("n", "1"))
        base = str(request.base_url)
        return JSONResponse({"urls": [self.slack.response_url(base) for _ in range(count)]})

    async def _arrivals(self, request: Request) -> Response:
        """The first post to each of `urls`, once all have one or `timeout` has passed."""
        wanted = await request.json()
        keys = {_key(url) for url in wanted["urls"]}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(float(wanted["timeout"])), self.arrived:
                await self.arrived.wait_for(lambda: keys <= self._answered())
        firsts: dict[str, Arrival] = {}
        for post in self.slack.responses:
            if post.key in keys and post.key not in firsts:
                card = (post.body.get("blocks") or [{}])[0].get("type") == "header"
                failure = "" if card else str(post.body.get("text", ""))
                firsts[post.key] = Arrival(post.at, card, failure)
        return JSONResponse({"arrivals": firsts})

    def _answered(self) -> set[str]:
        return {post.key for post in self.slack.responses}


def _key(response_url: str) -> str:
    return response_url.rstrip("/").rsplit("/", 1)[-1]


async def run_stage(latency: float, seed: int) -> None:
    """Serve the sandbox and the fake Slack; print one JSON line once ready; stop on SIGTERM."""
    world = SandboxWorld(seed=seed, scans=WORLD_SCANS, clock=SimClock(speed=0.0))
    sandbox = create_sandbox_app(world)
    sandbox.state.controls.latency = latency
    slack = SlackWithArrivals(FakeSlack(bot_token=BOT_TOKEN))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with (
        serve_in_background(sandbox) as sandbox_url,
        serve_in_background(slack) as slack_url,
    ):
        ids = [scan["id"] for scan in world.list_scans()]
        print(json.dumps({"sandbox": sandbox_url, "slack": slack_url, "scan_ids": ids}))
        sys.stdout.flush()
        await stop.wait()


# --- The bare Bolt app: the yardstick ---------------------------------------------------


def bare_web_app(bot_token: str, signing_secret: str, slack_api_url: str) -> Starlette:
    """A Bolt app that acks `/scan` with static text and does nothing else."""
    client = AsyncWebClient(token=bot_token, base_url=slack_api_url)
    bolt = AsyncApp(client=client, signing_secret=signing_secret, name="bare")

    @bolt.command("/scan")
    async def scan(ack: AsyncAck) -> None:
        await ack("ok")

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(EVENTS_PATH, events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def run_bare(port: int) -> None:
    """Serve the bare app as `scanbot serve` serves scanbot: same uvicorn config and logging."""
    configure_logging(os.environ.get("SCANBOT_LOG_LEVEL", "INFO"))
    app = bare_web_app(
        os.environ["SLACK_BOT_TOKEN"],
        os.environ["SLACK_SIGNING_SECRET"],
        os.environ["SLACK_API_URL"],
    )
    config = server_config(app, host=HOST, port=port, log_config=None, timeout_graceful_shutdown=10)
    await Server(config, handle_signals=True).serve()


# --- Subprocesses ----------------------------------------------------------------------


def _prepare_child(cpus: set[int] | None) -> None:
    """In the child before exec: its CPUs, and (Linux) SIGTERM if the bench dies, even by
    SIGKILL, so no server outlives the run."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Children:
    """Every subprocess the bench started, so that `stop_all` can stop each of them."""

    workdir: Path
    env: dict[str, str]
    cpus: set[int] | None
    started: list[Child] = field(default_factory=list)

    async def start(self, name: str, argv: Sequence[str], *, stdout: int | None = None) -> Child:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdout=stderr if stdout is None else stdout,
                stderr=stderr,
                stdin=asyncio.subprocess.DEVNULL,
                env=self.env,
                cwd=self.workdir,  # away from any .env file, and where scanbot's SQLite goes
                preexec_fn=functools.partial(_prepare_child, self.cpus),
            )
        child = Child(name, process, log)
        self.started.append(child)
        return child

    async def stop_all(self) -> None:
        for child in reversed(self.started):
            if child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.terminate()
        for child in self.started:
            try:
                await asyncio.wait_for(child.process.wait(), STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
                await child.process.wait()


async def wait_healthy(child: Child, base_url: str, http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and child.process.returncode is None:
        with contextlib.suppress(httpx.TransportError):
            if (await http.get(f"{base_url}/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise BenchError(f"{child.name} did not become healthy; its log ends:\n{child.log_tail()}")


async def wait_for_first_poll(http: httpx.AsyncClient, base_url: str) -> None:
    """Steady state: scanbot's alert poller has done its start-up baseline (a full listing,
    once per database), which otherwise competes with the acks for the one CPU."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError, KeyError, ValueError):
            auth = {"Authorization": f"Bearer {HEALTH_TOKEN}"}
            health = (await http.get(f"{base_url}/healthz", headers=auth)).json()
            if health["alerts"]["last_cycle_at"]:
                return
        await asyncio.sleep(0.1)
    raise BenchError("scanbot's first poll cycle did not finish in time")


@dataclass
class Stage:
    sandbox_url: str
    slack_url: str
    scan_ids: list[str]


async def start_stage(children: Children, latency: float, seed: int) -> Stage:
    argv = [*THIS_SCRIPT, "--role", "stage", "--latency", str(latency), "--seed", str(seed)]
    child = await children.start("stage", argv, stdout=asyncio.subprocess.PIPE)
    assert child.process.stdout is not None
    try:
        ready = json.loads(await asyncio.wait_for(child.process.stdout.readline(), STARTUP_SECONDS))
    except (TimeoutError, ValueError):
        raise BenchError(f"the stage did not start; its log ends:\n{child.log_tail()}") from None
    return Stage(ready["sandbox"], ready["slack"], ready["scan_ids"])


# --- Load ------------------------------------------------------------------------------


@dataclass
class Sample:
    response_url: str
    sent: float  # time.monotonic() just before the request went out
    ack: float  # seconds to the HTTP answer
    status: int


@dataclass
class Phase:
    """One app under load: its acks, and (for scanbot) when each answer reached Slack."""

    samples: list[Sample]
    seconds: float
    finals: dict[str, Arrival] = field(default_factory=dict)

    @property
    def acks(self) -> list[float]:
        return [s.ack for s in self.samples]

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.status != 200)

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds

    def to_final(self) -> list[float]:
        """Seconds from sending each request to its answer arriving at the fake Slack."""
        arrivals = ((s, self.finals.get(_key(s.response_url))) for s in self.samples)
        return [final.at - s.sent for s, final in arrivals if final is not None]

    @property
    def answer_rate(self) -> float:
        """Answers per second, from the first request sent to the last answer in."""
        if not self.finals:
            return math.nan
        first = min(s.sent for s in self.samples)
        return len(self.finals) / (max(f.at for f in self.finals.values()) - first)


async def mint_urls(http: httpx.AsyncClient, stage: Stage, count: int) -> list[str]:
    response = await http.post(f"{stage.slack_url}/bench/response-urls", params={"n": count})
    response.raise_for_status()
    return [str(url) for url in response.json()["urls"]]


async def await_finals(
    http: httpx.AsyncClient, stage: Stage, urls: list[str]
) -> dict[str, Arrival]:
    response = await http.post(
        f"{stage.slack_url}/bench/arrivals",
        json={"urls": urls, "timeout": FINAL_WAIT_SECONDS},
        timeout=FINAL_WAIT_SECONDS + 5,
    )
    response.raise_for_status()
    return {key: Arrival(*value) for key, value in response.json()["arrivals"].items()}


class KeepAliveConnection:
    """One HTTP/1.1 keep-alive connection that POSTs and reads the status and body.

    The load generator's own cost per request must stay small beside the server's, or the
    figures measure the client: httpx's AsyncClient spends about 3 ms of CPU a request here,
    so it saturates its core near 330 req/s and puts its own queueing into every p99.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int((await reader.readline()).split()[1])
        length, keep_alive = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep_alive = False
        await reader.readexactly(length)
        if not keep_alive:
            await self.aclose()
        return status

    async def aclose(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def send_commands(
    events_url: str, jobs: list[tuple[str, str]], concurrency: int, client: str
) -> tuple[list[Sample], float]:
    """POST `/scan <id>` for each (id, response_url) with `concurrency` requests in flight."""
    samples: list[Sample] = []
    queue: Iterator[tuple[str, str]] = iter(jobs)  # shared: each job is taken once
    target = httpx.URL(events_url)

    async def lean_worker() -> None:
        connection = KeepAliveConnection(target.host, target.port or 80)
        try:
            for scan_id, url in queue:
                # Signed as post_signed signs: the urlencoded form, HMAC of `v0:{ts}:{body}`.
                body = urlencode(slash_command("/scan", scan_id, response_url=url))
                headers = signed_headers(SIGNING_SECRET, body)
                sent = time.monotonic()
                status = await connection.post(target.raw_path.decode(), body.encode(), headers)
                samples.append(Sample(url, sent, time.monotonic() - sent, status))
        finally:
            await connection.aclose()

    async def httpx_worker(http: httpx.AsyncClient) -> None:
        for scan_id, url in queue:
            form = slash_command("/scan", scan_id, response_url=url)
            sent = time.monotonic()
            response = await post_signed(http, events_url, SIGNING_SECRET, form)
            samples.append(Sample(url, sent, time.monotonic() - sent, response.status_code))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as http:
        began = time.monotonic()
        try:
            async with asyncio.timeout(REQUEST_PHASE_SECONDS), asyncio.TaskGroup() as group:
                for _ in range(concurrency):
                    group.create_task(httpx_worker(http) if client == "httpx" else lean_worker())
        except TimeoutError:
            raise BenchError(
                f"only {len(samples)} of {len(jobs)} requests to {events_url} were answered "
                f"within {REQUEST_PHASE_SECONDS:.0f} s; try fewer --requests"
            ) from None
        return samples, time.monotonic() - began


async def load_phase(
    base_url: str,
    *,
    stage: Stage,
    http: httpx.AsyncClient,
    options: argparse.Namespace,
    pick: Callable[[int], list[str]],
    wants_finals: bool,
) -> Phase:
    """Warm up (uncounted, and let its answers land), then the measured requests."""
    events_url = f"{base_url}{EVENTS_PATH}"
    warmup = await mint_urls(http, stage, options.warmup)
    warmup_jobs = list(zip(pick(options.warmup), warmup, strict=True))
    await send_commands(events_url, warmup_jobs, options.concurrency, options.client)
    if wants_finals:
        await await_finals(http, stage, warmup)
        if not options.during_baseline:
            await wait_for_first_poll(http, base_url)
    urls = await mint_urls(http, stage, options.requests)
    jobs = list(zip(pick(options.requests), urls, strict=True))
    samples, seconds = await send_commands(events_url, jobs, options.concurrency, options.client)
    phase = Phase(samples, seconds)
    if wants_finals:
        phase.finals = await await_finals(http, stage, urls)
    return phase


# --- Figures ---------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _row(label: str, values: Sequence[float], rate: float, errors: int | str) -> str:
    figures = [percentile(values, 50), percentile(values, 99), max(values, default=math.nan)]
    shown = "".join(f"{seconds * 1000:9.1f} ms" for seconds in figures)
    return f"  {label:<22}{shown}{rate:>9.0f}{errors!s:>9}"


def report(bare: Phase, scanbot: Phase, options: argparse.Namespace, layout: str) -> str:
    ratio = percentile(scanbot.acks, 99) / percentile(bare.acks, 99)
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    cards = sum(1 for final in scanbot.finals.values() if final.card)
    missing = len(scanbot.samples) - len(scanbot.finals)
    failures = collections.Counter(f.failure for f in scanbot.finals.values() if not f.card)
    commonest = [f"  most common failure: {text[:120]!r}" for text, _ in failures.most_common(1)]
    return "\n".join(
        [
            "scanbot bench: signed `/scan <id>` over loopback HTTP, scanbot vs a bare Bolt app",
            f"  {options.requests} requests per app (after {options.warmup} warm-up), "
            f"concurrency {options.concurrency}, HostedScan API latency {options.latency:.3f} s "
            f"added per call, seed {options.seed}",
            f"  machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}",
            f"  layout: {layout}",
            "  scanbot measured "
            + (
                "DURING its alert poller's start-up baseline (a full listing)"
                if options.during_baseline
                else "in steady state: after its alert poller's start-up baseline"
            ),
            "",
            f"  {'':<22}{'p50':>12}{'p99':>12}{'max':>12}{'req/s':>9}{'non-200':>9}",
            _row("ack, bare Bolt app", bare.acks, bare.rate, bare.errors),
            _row("ack, scanbot", scanbot.acks, scanbot.rate, scanbot.errors),
            _row("final card, scanbot", scanbot.to_final(), scanbot.answer_rate, "-"),
            "",
            f"  final answers: {cards} cards, {len(scanbot.finals) - cards} failure messages, "
            f"{missing} missing after {FINAL_WAIT_SECONDS:.0f} s",
            *commonest,
            f"  ack p99 ratio scanbot/bare: {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict}",
        ]
    )


# --- The run ---------------------------------------------------------------------------


def _cpu_plan(options: argparse.Namespace) -> tuple[set[int] | None, set[int] | None, str]:
    """CPUs for the servers and for everything else (None: the OS decides), and a summary."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    client = "lean keep-alive sockets" if options.client == "lean" else "httpx post_signed"
    layout = (
        "each server under test in its own uvicorn subprocess (scanbot: `scanbot serve`), "
        f"sandbox + fake Slack in a third, load from this process ({client})"
    )
    if not options.pin or len(cpus) < 2:
        return None, None, f"{layout}; no CPU pinning"
    servers, rest = {cpus[-1]}, set(cpus[:-1])
    return servers, rest, f"{layout}; servers pinned to CPU {cpus[-1]}, the rest to {sorted(rest)}"


def _child_env(stage: Stage) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HOSTEDSCAN_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{stage.slack_url}/api/",
        HOSTEDSCAN_API_KEY=SANDBOX_API_KEY,
        HOSTEDSCAN_API_URL=stage.sandbox_url,
        SCANBOT_LOG_LEVEL="INFO",  # the production default, for both servers
        SCANBOT_HEALTH_TOKEN=HEALTH_TOKEN,  # /healthz's details say when the first poll ended
    )
    return env


async def run_bench(options: argparse.Namespace) -> str:
    server_cpus, other_cpus, layout = _cpu_plan(options)
    if other_cpus:
        os.sched_setaffinity(0, other_cpus)
    with tempfile.TemporaryDirectory(prefix="scanbot-bench-") as workdir:
        children = Children(Path(workdir), dict(os.environ), other_cpus)
        try:
            return await _run_phases(children, options, server_cpus, layout)
        finally:
            await children.stop_all()


async def _run_phases(
    children: Children, options: argparse.Namespace, server_cpus: set[int] | None, layout: str
) -> str:
    stage = await start_stage(children, options.latency, options.seed)
    children.env, children.cpus = _child_env(stage), server_cpus
    ports = {"scanbot": _free_port(), "bare": _free_port()}
    argvs = {
        "scanbot": [sys.executable, "-m", "scanbot", "serve", "--host", HOST, "--port"],
        "bare": [*THIS_SCRIPT, "--role", "bare", "--port"],
    }
    servers = {name: await children.start(name, [*argvs[name], str(ports[name])]) for name in argvs}
    urls = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
    rng = random.Random(options.seed)

    def pick(count: int) -> list[str]:
        return [rng.choice(stage.scan_ids) for _ in range(count)]

    async with httpx.AsyncClient(timeout=10) as http:
        for name, child in servers.items():
            await wait_healthy(child, urls[name], http)
        run = functools.partial(load_phase, stage=stage, http=http, options=options, pick=pick)
        bare = await run(urls["bare"], wants_finals=False)
        scanbot = await run(urls["scanbot"], wants_finals=True)
    return report(bare, scanbot, options, layout)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="measured requests per app")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight")
    parser.add_argument(
        "--latency", type=float, default=0.2, help="seconds added to every HostedScan API call"
    )
    parser.add_argument("--seed", type=int, default=1, help="sandbox world and scan-id choice")
    parser.add_argument("--warmup", type=int, default=20, help="uncounted requests per app")
    parser.add_argument(
        "--during-baseline",
        action="store_true",
        help="measure scanbot while its alert poller takes its start-up baseline "
        "(default: steady state, after it)",
    )
    parser.add_argument(
        "--client",
        choices=["lean", "httpx"],
        default="lean",
        help="lean: a raw keep-alive socket per worker (default); httpx: post_signed",
    )
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="leave CPU placement to the OS"
    )
    roles = ["bench", "stage", "bare"]  # the bench starts itself again as the other two
    parser.add_argument("--role", choices=roles, default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def _stop_on_signals() -> None:
    """Turn SIGTERM and SIGINT into KeyboardInterrupt, so the children are always stopped.

    SIGINT too: a shell starts background jobs with it ignored, and Python keeps that.
    """

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.role == "stage":
        asyncio.run(run_stage(options.latency, options.seed))
        return 0
    if options.role == "bare":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_bare(options.port))
        return 0
    if min(options.requests, options.concurrency, options.warmup) < 1 or options.latency < 0:
        parser.error("--requests, --concurrency and --warmup must be >= 1, --latency >= 0")
    _stop_on_signals()
    try:
        print(asyncio.run(run_bench(options)))
    except KeyboardInterrupt:
        print("bench interrupted; subprocesses stopped", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
