"""A soak of the alert pipeline under faults, scaled to a couple of minutes, before and after.

Run `.venv/bin/python bench/soak.py --before /work/main` (`--help` for the knobs). Each
side runs in its own process (`PYTHONPATH` = that checkout, this virtualenv): scanbot's
real runtime (APScheduler polling every 5 s, the sender, SQLite or `--database-url`)
against the sandbox as HostedScan and the fake Slack, both behind the fault layer
(`scanbot/sandbox/faults.py`, this checkout's on both sides) failing `--fault-rate` of the
calls (seeded): HostedScan 503, 429 with Retry-After and 2 s stalls; Slack 500 and 429 with
Retry-After, and for `chat.postMessage` the connection dropped AFTER Slack stored the post
(the answer is lost). Meanwhile this script moves the scans itself (queued -> running ->
progress -> succeeded or failed, a scan finishing once its start is in Slack), noting
when, into two channels subscribed to `started finished`. Then a webhook burst, faults
off and no polling: scans finish and each is named by several signed `scan.updated`
events, with `risk.created` events beside.

With `--replicas N --kill-every S --database-url postgresql://...`, the soak runs N real
`scanbot serve` processes on a fresh schema of that database instead of the in-process
runtime, and SIGKILLs the leader every S seconds (the first at S/2), starting a new
process in its place.

Printed per side: alert latency (world change -> the post stored at the fake Slack)
p50/p95/max, leader kills, alerts lost and doubled (posts per scan and channel beyond one
per event), APScheduler's skipped runs, parent edits, and HostedScan requests per webhook
event. The 1,000-command burst is bench/commands.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve()
CHANNELS = ("C0SOAKA", "C0SOAKB")
BOT_TOKEN = "xoxb-soak-bot-token-0123456789"
SIGNING_SECRET = "soak-signing-secret-0123456789abcdef"
WEBHOOK_SECRET = "soak-webhook-secret-0123456789"


HEALTH_TOKEN = "soak-health-token-0123456789"


@contextlib.asynccontextmanager
async def fresh_schema(server: str) -> AsyncIterator[str]:
    """A schema of its own on `server`'s database, dropped afterwards: the URL for
    SCANBOT_DATABASE_URL (libpq `options=-csearch_path=...`, as tests/databases.py does)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    schema = f"scanbot_soak_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(
        make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


def replica_env(url: str, sandbox_url: str, slack_url: str) -> dict[str, str]:
    """A `scanbot serve` replica's environment: this one's (PYTHONPATH: the side's
    checkout) without any scanbot setting, then the soak's."""
    from scanbot.sandbox.server import SANDBOX_API_KEY

    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SCANBOT_", "SLACK_", "HOSTEDSCAN_"))
        and name not in ("DATABASE_URL", "DYNO", "PORT")
    }
    return inherited | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack_url}/api/",
        "HOSTEDSCAN_API_KEY": SANDBOX_API_KEY,
        "HOSTEDSCAN_API_URL": sandbox_url,
        "HOSTEDSCAN_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SCANBOT_DATABASE_URL": url,
        "SCANBOT_POLL_INTERVAL": "5",
        "SCANBOT_FULL_SWEEP_EVERY": "10",
        "SCANBOT_DIGEST_THRESHOLD": "1000",
        "SCANBOT_HEALTH_TOKEN": HEALTH_TOKEN,
        "SCANBOT_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


class Fleet:
    """`scanbot serve` replicas on one PostgreSQL schema; `kill_leader` SIGKILLs the one
    that leads and starts a new process in its place."""

    def __init__(self, env: dict[str, str], size: int, scratch: Path) -> None:
        self.env = env
        self.size = size
        self.scratch = scratch
        self.replicas: list[tuple[int, asyncio.subprocess.Process]] = []  # (port, process)
        self.kills = 0
        self.http = httpx.AsyncClient(
            timeout=2.0, headers={"Authorization": f"Bearer {HEALTH_TOKEN}"}
        )

    async def start(self) -> None:
        for _ in range(self.size):
            self.replicas.append(await self._spawn())

    async def _spawn(self) -> tuple[int, asyncio.subprocess.Process]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        log = self.scratch / f"replica-{len(list(self.scratch.glob('replica-*')))}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "scanbot", "serve", "--port", str(port)),
                env=self.env,
                cwd=self.scratch,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        return port, process

    async def _health(self, port: int) -> dict[str, Any] | None:
        try:
            response = await self.http.get(f"http://127.0.0.1:{port}/healthz")
        except httpx.TransportError:
            return None
        alerts: dict[str, Any] = response.json().get("alerts", {}) if response.is_success else {}
        return alerts or None

    async def leader(self) -> int | None:
        """The index of the replica that leads and has polled, if any."""
        for index, (port, process) in enumerate(self.replicas):
            if process.returncode is not None:
                continue
            health = await self._health(port)
            if health and health.get("leading") and health.get("last_cycle_at"):
                return index
        return None

    async def wait_for_baseline(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while await self.leader() is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"no replica led within {seconds:.0f} s: {self.scratch}")
            await asyncio.sleep(0.2)

    async def kill_leader(self) -> bool:
        """SIGKILL the leader and start another process; False when none leads just now."""
        index = await self.leader()
        if index is None:
            return False
        _, process = self.replicas[index]
        process.send_signal(signal.SIGKILL)
        await process.wait()
        self.kills += 1
        self.replicas[index] = await self._spawn()
        return True

    def skipped_runs(self) -> int:
        logs = (p.read_text(errors="replace") for p in self.scratch.glob("replica-*.log"))
        return sum(text.count("maximum number of running instances") for text in logs)

    async def close(self) -> None:
        for _, process in self.replicas:
            if process.returncode is None:
                process.terminate()
        for _, process in self.replicas:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        await self.http.aclose()


class SkippedRuns(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "maximum number of running instances" in record.getMessage():
            self.count += 1


def _fault_layer() -> Any:
    """scanbot/sandbox/faults.py of THIS checkout (it imports nothing of scanbot): both
    sides of a comparison get the same faults, and a side older than it still runs."""
    path = HERE.parent.parent / "scanbot" / "sandbox" / "faults.py"
    spec = importlib.util.spec_from_file_location("soak_faults", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and typing look their module up
    spec.loader.exec_module(module)
    return module


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def child(options: argparse.Namespace) -> dict[str, Any]:
    """One side: the soak, then the webhook burst. Imports the scanbot on PYTHONPATH."""
    from scanbot.app import open_runtime
    from scanbot.hostedscan.webhooks import signed_headers
    from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
    from scanbot.sandbox.slack import FakeSlack
    from scanbot.sandbox.world import SandboxWorld, SimClock
    from scanbot.serving import serve_in_background
    from scanbot.settings import load_settings
    from scanbot.store import Store, database_url
    from scanbot.web import create_web_app

    layer = _fault_layer()
    logging.basicConfig(level=logging.WARNING)
    skipped = SkippedRuns()
    logging.getLogger("apscheduler").addHandler(skipped)
    rng = random.Random(options.seed)  # the world's moves: the same on both sides
    world = SandboxWorld(seed=options.seed, scans=options.scans, clock=SimClock(speed=0.0))
    pool = [s["id"] for s in world.list_scans(None)][: options.scans // 2]
    for scan_id in pool:
        world.set_state(scan_id, "QUEUED")
    sandbox_app = create_sandbox_app(world)
    controls = sandbox_app.state.controls
    hostedscan = layer.Faults(sandbox_app, seed=options.seed + 1, kinds=layer.HOSTEDSCAN_FAULTS)
    fake = FakeSlack(bot_token=BOT_TOKEN)
    slack = layer.Faults(fake.app, seed=options.seed + 2, kinds=layer.SLACK_FAULTS)

    with tempfile.TemporaryDirectory(prefix="scanbot-soak-") as scratch:
        async with (
            serve_in_background(hostedscan) as sandbox_url,
            serve_in_background(slack) as slack_url,
        ):

            def settings(**more: Any) -> Any:
                return load_settings(
                    env_file=None,
                    slack_bot_token=BOT_TOKEN,
                    slack_signing_secret=SIGNING_SECRET,
                    slack_api_url=f"{slack_url}/api/",
                    hostedscan_api_key=SANDBOX_API_KEY,
                    hostedscan_api_url=sandbox_url,
                    hostedscan_webhook_secret=WEBHOOK_SECRET,
                    database_url=more.pop("database_url"),
                    poll_interval=5,
                    full_sweep_every=10,
                    digest_threshold=1000,
                    **more,
                )

            # -- phase 1: the soak ------------------------------------------------------
            async with contextlib.AsyncExitStack() as stack:
                runtime = fleet = None
                if options.replicas:
                    url = await stack.enter_async_context(fresh_schema(options.database_url))
                    store = await Store.open(database_url({}, url))
                    for channel in CHANNELS:
                        await store.subscriptions.add(channel, events=["started", "finished"])
                    await store.close()
                    fleet = Fleet(
                        replica_env(url, sandbox_url, slack_url), options.replicas, Path(scratch)
                    )
                    stack.push_async_callback(fleet.close)
                    await fleet.start()
                    await fleet.wait_for_baseline()
                else:
                    url = options.database_url or f"sqlite:///{scratch}/soak.sqlite3"
                    runtime = await open_runtime(settings(database_url=url))
                    stack.push_async_callback(runtime.aclose)
                    for channel in CHANNELS:
                        await runtime.store.subscriptions.add(
                            channel, events=["started", "finished"]
                        )
                    await runtime.start()
                    while not (await runtime.store.state.read()).baseline_done:  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
                hostedscan.rate = slack.rate = options.fault_rate
                started: dict[str, float] = {}
                finished: dict[str, float] = {}
                queued = list(pool)
                rng.shuffle(queued)
                running: dict[str, float] = {}
                texts: list[tuple[str, str, float]] = []  # each post: channel, text, when

                def posts() -> dict[tuple[str, str], list[float]]:
                    calls = fake.calls_to("chat.postMessage")
                    for call in calls[len(texts) :]:
                        text = str(call.body.get("text", "")) + json.dumps(call.body.get("blocks"))
                        texts.append((str(call.body.get("channel")), text, call.at))
                    found: dict[tuple[str, str], list[float]] = defaultdict(list)
                    for channel, text, at in texts:
                        if channel not in CHANNELS:
                            continue
                        for scan_id in started:
                            if scan_id in text:
                                found[channel, scan_id].append(at)
                    return found

                begin = time.monotonic()
                end = begin + options.seconds
                next_kill = begin + options.kill_every / 2 if fleet else float("inf")
                while time.monotonic() < end:
                    now = time.monotonic()
                    if queued and rng.random() < options.starts_per_second * 0.5:
                        scan_id = queued.pop()
                        world.set_state(scan_id, "RUNNING", progress=5)
                        started[scan_id] = now
                        running[scan_id] = 5
                    seen = posts()
                    for scan_id in list(running):
                        if rng.random() < 0.3:
                            running[scan_id] = min(95, running[scan_id] + 15)
                            world.set_state(scan_id, "RUNNING", progress=running[scan_id])
                        # Once its start is in Slack: a scan never seen running has no start.
                        told = all((c, scan_id) in seen for c in CHANNELS)
                        if told and now - started[scan_id] > 6 and rng.random() < 0.1:
                            final = "FAILED" if rng.random() < 0.2 else "SUCCEEDED"
                            world.set_state(scan_id, final)
                            finished[scan_id] = time.monotonic()
                            del running[scan_id]
                    if fleet and now >= next_kill and await fleet.kill_leader():
                        next_kill = now + options.kill_every
                    await asyncio.sleep(0.5)
                hostedscan.rate = slack.rate = 0.0  # drain: every alert should arrive now
                expected = len(started) + len(finished)

                drain_end = time.monotonic() + options.drain
                while time.monotonic() < drain_end:
                    if sum(min(len(v), 2) for v in posts().values()) >= expected * len(CHANNELS):
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(2)
                seen = posts()
                latencies: list[float] = []
                lost = doubled = 0
                for channel in CHANNELS:
                    for scan_id, at in started.items():
                        times = sorted(seen.get((channel, scan_id), []))
                        events = [at] + ([finished[scan_id]] if scan_id in finished else [])
                        lost += max(0, len(events) - len(times))
                        doubled += max(0, len(times) - len(events))
                        latencies += [max(0.0, t - e) for t, e in zip(times, events, strict=False)]
                edits = len(fake.calls_to("chat.update"))
                kills = fleet.kills if fleet else 0
                if fleet:
                    skipped.count += fleet.skipped_runs()

            # -- phase 2: a webhook burst (faults off, no polling) -----------------------
            url2 = f"sqlite:///{scratch}/webhooks.sqlite3"  # a fresh store: its own baseline
            runtime = await open_runtime(settings(database_url=url2), schedule_alerts=False)
            await runtime.store.subscriptions.add(CHANNELS[0], events=["finished"])
            async with (
                serve_in_background(create_web_app(runtime)) as app_url,
                httpx.AsyncClient(timeout=30) as http,
            ):
                await runtime.alerts.tick()
                active = [s["id"] for s in world.list_scans({"state": ["QUEUED", "RUNNING"]})]
                named = active[: options.burst_scans]
                for scan_id in named:
                    world.set_state(scan_id, "FAILED")
                events = [
                    {"id": f"evt-{scan_id}-{n}", "type": "scan.updated", "data": {"id": scan_id}}
                    for n in range(options.events_per_scan)
                    for scan_id in named
                ] + [
                    {"id": f"evt-risk-{n}", "type": "risk.created", "data": {}}
                    for n in range(options.risk_events)
                ]
                rng.shuffle(events)
                before = controls.count()

                async def deliver(event: dict[str, Any]) -> None:
                    body = json.dumps(event).encode()
                    headers = signed_headers(WEBHOOK_SECRET, body) | {
                        "Content-Type": "application/json"
                    }
                    await http.post(f"{app_url}/hostedscan/webhook", content=body, headers=headers)

                sent_at = time.monotonic()
                limit = asyncio.Semaphore(20)

                async def limited(event: dict[str, Any]) -> None:
                    async with limit:
                        await deliver(event)

                await asyncio.gather(*(limited(e) for e in events))
                burst_seconds = time.monotonic() - sent_at
                stable, last = 0, -1
                while stable < 6:  # the requests count still for 3 s: processing is over
                    await asyncio.sleep(0.5)
                    count = controls.count()
                    stable = stable + 1 if count == last else 0
                    last = count
                requests = controls.count() - before
            # (the web app's lifespan closed the runtime)

    return {
        "alerts_expected": expected * len(CHANNELS),
        "latency_p50": statistics.median(latencies) if latencies else float("nan"),
        "latency_p95": _percentile(latencies, 0.95),
        "latency_max": max(latencies, default=float("nan")),
        "lost": lost,
        "kills": kills,
        "doubled": doubled,
        "skipped_runs": skipped.count,
        "parent_edits": edits,
        "faults": dict(hostedscan.injected) | {f"slack {k}": v for k, v in slack.injected.items()},
        "webhook_events": len(events),
        "webhook_burst_seconds": burst_seconds,
        "webhook_requests": requests,
        "requests_per_event": requests / len(events),
    }


def run_side(src: str, options: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=src)
    argv = [sys.executable, str(HERE), "--child", *options.passthrough]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the side from {src} failed ({done.returncode})")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


ROWS = (
    ("alerts expected", "alerts_expected", "{:.0f}"),
    ("alert latency p50 (s)", "latency_p50", "{:.1f}"),
    ("alert latency p95 (s)", "latency_p95", "{:.1f}"),
    ("alert latency max (s)", "latency_max", "{:.1f}"),
    ("leader kills (SIGKILL)", "kills", "{:.0f}"),
    ("lost", "lost", "{:.0f}"),
    ("doubled", "doubled", "{:.0f}"),
    ("skipped runs", "skipped_runs", "{:.0f}"),
    ("parent edits", "parent_edits", "{:.0f}"),
    ("webhook events", "webhook_events", "{:.0f}"),
    ("HostedScan requests for them", "webhook_requests", "{:.0f}"),
    ("requests per webhook event", "requests_per_event", "{:.2f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--before", help="the checkout to compare with (e.g. /work/main)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long scans move")
    parser.add_argument("--drain", type=float, default=45.0, help="most to wait after")
    parser.add_argument("--starts-per-second", type=float, default=0.3)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--burst-scans", type=int, default=40)
    parser.add_argument("--events-per-scan", type=int, default=5)
    parser.add_argument("--risk-events", type=int, default=60)
    parser.add_argument("--database-url", help="default: a scratch SQLite file")
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="run N `scanbot serve` processes (needs --database-url postgresql://...)",
    )
    parser.add_argument(
        "--kill-every", type=float, default=30.0, help="with --replicas: SIGKILL the leader (s)"
    )
    options, _ = parser.parse_known_args()
    url = options.database_url or ""
    if options.replicas and not url.startswith(("postgresql:", "postgresql+asyncpg:")):
        parser.error("--replicas needs --database-url postgresql://... (the leader lock)")
    if options.child:
        print(json.dumps(asyncio.run(child(options))))
        return
    options.passthrough = [a for a in sys.argv[1:] if not a.startswith("--before")]
    if options.before:
        options.passthrough = _without(sys.argv[1:], "--before")
    sides = {}
    if options.before:
        sides["before"] = run_side(options.before, options)
    sides["now"] = run_side(str(HERE.parent.parent), options)
    print(
        f"soak: {options.seconds:.0f} s of moving scans, {options.fault_rate:.0%} of HostedScan "
        f"and Slack calls failing, poll interval 5 s, 2 channels; seed {options.seed}"
        + (
            f"; {options.replicas} `scanbot serve` replicas on PostgreSQL, the leader "
            f"SIGKILLed every {options.kill_every:.0f} s (first at half that) and restarted"
            if options.replicas
            else ""
        )
    )
    names = list(sides)
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, key, spec in ROWS:
        print(f"| {label} | " + " | ".join(spec.format(sides[n][key]) for n in names) + " |")
    for name in names:
        print(f"faults injected ({name}): {sides[name]['faults']}")


def _without(argv: list[str], flag: str) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == flag:
            skip = True
            continue
        if arg.startswith(flag + "="):
            continue
        out.append(arg)
    return out


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
