"""A bounded soak: two `scanbot serve` replicas on PostgreSQL, HostedScan and Slack failing
15% of the calls (seeded: 503, 429, stalls; 500, 429, posts whose answer is lost), the
leader SIGKILLed every ~20 s (once right after Slack accepted a post, before the answer
reached it) and restarted, while the test moves scans itself. After a drain with the
faults off: no alert lost, none twice, each reply in its scan's thread under one parent.

About 80-100 s of wall time; bench/soak.py is the longer, measuring version.
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scanbot.sandbox.faults import HOSTEDSCAN_FAULTS, SLACK_FAULTS, Faults
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.store import Store, database_url
from tests.databases import fresh_database
from tests.e2e.processes import (
    ASGIApp,
    Replica,
    child_env,
    cycle_ended_after,
    eventually,
    listed_after,
    replica_health,
    serve_world,
    serving_replicas,
    start_replica,
)

SEED = 7  # HostedScan's layer deals its three kinds within its first 8 requests
FAULT_RATE = 0.15
POLL_INTERVAL = 5
CHANNELS = ("C0SOAKA", "C0SOAKB")
EVENTS = ("started", "finished")
POOL = 24  # scans queued at the baseline, started by the test one by one
STARTS_PER_SECOND = 0.4
TICK = 0.5  # s between two moves of the world
SOAK = 50.0  # s of moving scans at least ...
SOAK_MOST = 80.0  # ... and at most, while kills or fault kinds are still missing
FIRST_KILL, KILL_EVERY = 12.0, 20.0
POST_WINDOW_WAIT = 10.0  # s an armed kill waits for a post before it kills anyway
MIN_ALERTS = 30  # fewer would prove little


@dataclass
class Moves:
    """When (wall clock) the test made each alert's change: (channel, scan, event) -> s."""

    at: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def note(self, scan_id: str, event: str) -> None:
        for channel in CHANNELS:
            self.at[channel, scan_id, event] = time.time()


class PostWindow:
    """Between the faults and the fake Slack: once armed with a replica, SIGKILLs it right
    after the fake Slack accepted a chat.postMessage, before the answer leaves: the post is
    in Slack, its outbox row is left "sending"."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.victim: Replica | None = None
        self.kills = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        victim = self.victim
        if victim is None or not str(scope.get("path", "")).endswith("chat.postMessage"):
            await self.app(scope, receive, send)
            return
        held: list[dict[str, Any]] = []

        async def hold(message: dict[str, Any]) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        body = b"".join(m.get("body", b"") for m in held)
        if self.victim is victim and b'"ok":true' in body:
            self.victim = None
            victim.process.send_signal(signal.SIGKILL)
            self.kills += 1
        for message in held:
            await send(message)


@dataclass
class Layers:
    """The faults in front of the sandbox and the fake Slack, built as `serve_world` serves."""

    hostedscan: Faults | None = None
    slack: Faults | None = None
    window: PostWindow | None = None

    def sandbox(self, app: ASGIApp) -> ASGIApp:
        self.hostedscan = Faults(app, seed=SEED, kinds=HOSTEDSCAN_FAULTS)
        return self.hostedscan

    def fake_slack(self, app: ASGIApp) -> ASGIApp:
        self.window = PostWindow(app)
        self.slack = Faults(self.window, seed=SEED + 1, kinds=SLACK_FAULTS)
        return self.slack

    def all_fired(self) -> bool:
        assert self.hostedscan is not None
        assert self.slack is not None
        wanted = [(self.hostedscan, HOSTEDSCAN_FAULTS), (self.slack, SLACK_FAULTS)]
        return all(
            faults.injected[kind] > 0
            for faults, kinds in wanted
            for kind in {k for ks in kinds.values() for k in ks}
        )

    def set_rate(self, rate: float) -> None:
        assert self.hostedscan is not None
        assert self.slack is not None
        self.hostedscan.rate = self.slack.rate = rate


async def test_alerts_under_faults_and_kills_arrive_once_each_in_their_threads(
    tmp_path: Path,
) -> None:
    world = SandboxWorld(seed=SEED, scans=60, clock=SimClock(speed=0.0))
    pool = [str(s["id"]) for s in world.list_scans(None)][:POOL]
    for scan_id in pool:
        world.set_state(scan_id, "QUEUED")
    layers, moves, kills = Layers(), Moves(), list[str]()
    async with (
        fresh_database("postgres", tmp_path) as (url, connect_args),
        serve_world(world, sandbox_layer=layers.sandbox, slack_layer=layers.fake_slack) as served,
        httpx.AsyncClient(timeout=2.0) as http,
    ):
        window = layers.window
        assert window is not None
        store = await Store.open(database_url({}, url), connect_args=connect_args)
        try:
            for channel in CHANNELS:
                await store.subscriptions.add(channel, events=list(EVENTS))
        finally:
            await store.close()
        env = child_env(
            served,
            url,
            SCANBOT_POLL_INTERVAL=str(POLL_INTERVAL),
            SCANBOT_ALERT_CHANNEL="",  # only the two subscriptions above
            SCANBOT_DIGEST_THRESHOLD="1000",  # each alert a post of its own, to check threads
        )
        async with serving_replicas(env, tmp_path) as replicas:

            async def leader() -> Replica | None:
                """The leading replica once both answer and it has polled, else None."""
                alive = [r for r in replicas if r.process.returncode is None]
                found = [await replica_health(http, r) for r in alive]
                leading = [r for r, h in zip(alive, found, strict=True) if h and h["leading"]]
                assert len(leading) <= 1, f"two replicas lead at once: {found}"
                ready = len(alive) == 2 and None not in found
                if not (ready and leading):
                    return None
                health = found[alive.index(leading[0])] or {}
                return leading[0] if health.get("last_cycle_at") else None

            async def restart(killed: Replica) -> None:
                await killed.process.wait()
                kills.append(killed.name)
                name = f"{killed.name}{len(kills)}"
                replicas.append(await start_replica(env, tmp_path, name))

            await eventually(leader, 40, "one replica to lead and take the baseline", replicas)
            layers.set_rate(FAULT_RATE)
            rng = random.Random(SEED)
            queued, running = list(pool), dict[str, int]()
            rng.shuffle(queued)
            began = time.monotonic()
            next_kill = began + FIRST_KILL
            victim: Replica | None = None  # armed: killed at its next accepted post
            armed_at = 0.0

            while (elapsed := time.monotonic() - began) < SOAK_MOST:
                if victim is None and elapsed >= SOAK and len(kills) >= 2 and layers.all_fired():
                    break
                _move(world, rng, queued, running, moves, _posted(served.slack))
                now = time.monotonic()
                if victim is None and now >= next_kill:
                    victim = await leader()
                    window.victim, armed_at = victim, now
                elif victim is not None:
                    if window.victim is victim and now - armed_at > POST_WINDOW_WAIT:
                        window.victim = None  # no post came: killed wherever it is
                        victim.process.send_signal(signal.SIGKILL)
                    if window.victim is None:
                        await restart(victim)
                        victim, next_kill = None, time.monotonic() + KILL_EVERY
                await asyncio.sleep(TICK)
            if victim is not None:  # armed when time ran out: killed now, not in the drain
                window.victim = None
                victim.process.send_signal(signal.SIGKILL)
                await restart(victim)
            soaked = time.monotonic() - began

            # Drain: faults off, the world stops; wait for a poll that saw it all, then
            # for the outbox to empty.
            layers.set_rate(0.0)
            frozen_at = time.monotonic()

            async def listed_since_frozen() -> float | None:
                return listed_after(served, frozen_at)

            listed = await eventually(
                listed_since_frozen, 4 * POLL_INTERVAL, "a poll after the world stopped", replicas
            )

            async def drained() -> dict[str, int] | None:
                boss = await leader()
                health = await replica_health(http, boss) if boss else None
                if health is None or not cycle_ended_after(health, listed):
                    return None
                counts: dict[str, int] = health["outbox"]
                return None if counts.get("pending") or counts.get("sending") else counts

            outbox = await eventually(drained, 90, "the outbox to drain", replicas)

        tally = _tally(served.slack, moves)
    report = (
        f"soak {soaked:.0f} s: {len(moves.at)} alerts, {len(kills)} kills "
        f"({window.kills} in the post window); lost {tally.lost}, doubled {tally.doubled}; "
        f"latency p50 {tally.p50:.1f} s, p95 {tally.p95:.1f} s, max {tally.max:.1f} s; "
        f"faults: HostedScan {dict(layers.hostedscan.injected if layers.hostedscan else {})}, "
        f"Slack {dict(layers.slack.injected if layers.slack else {})}; outbox {outbox}"
    )
    print(report)
    assert tally.lost == 0, f"{report}\nlost: {tally.missing}"
    assert tally.doubled == 0, f"{report}\ndoubled: {tally.extra}"
    assert not tally.misthreaded, f"{report}\nthreads: {tally.misthreaded}"
    assert not outbox.get("parked"), report
    assert len(moves.at) >= MIN_ALERTS, f"too few alerts to prove anything: {report}"
    assert len(kills) >= 2, report
    assert window.kills >= 1, f"no kill landed between a post and its answer: {report}"
    assert layers.all_fired(), report


def _move(
    world: SandboxWorld,
    rng: random.Random,
    queued: list[str],
    running: dict[str, int],
    moves: Moves,
    posted: set[tuple[str, str, str]],
) -> None:
    """One tick of the world: maybe a scan starts, running ones progress or finish."""
    if queued and rng.random() < STARTS_PER_SECOND * TICK:
        scan_id = queued.pop()
        world.set_state(scan_id, "RUNNING", progress=5)
        moves.note(scan_id, "started")
        running[scan_id] = 5
    for scan_id in list(running):
        if rng.random() < 0.3:
            running[scan_id] = min(95, running[scan_id] + 15)
            world.set_state(scan_id, "RUNNING", progress=running[scan_id])
        # A scan finishes once its start is in Slack: one never seen running has no start.
        seen = all((channel, scan_id, "started") in posted for channel in CHANNELS)
        if seen and rng.random() < 0.15:
            world.set_state(scan_id, "FAILED" if rng.random() < 0.2 else "SUCCEEDED")
            moves.note(scan_id, "finished")
            del running[scan_id]


def _alert_of(channel: str, message: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(channel, scan, event) from the outbox key a post carries as metadata."""
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    parts = str(payload.get("key", "")).split("|")
    if len(parts) < 3 or parts[0] != channel:
        return None
    return (channel, parts[1], parts[2])


def _posted(slack: FakeSlack) -> set[tuple[str, str, str]]:
    return {
        alert
        for channel in CHANNELS
        for message in slack.channels.get(channel, [])
        if (alert := _alert_of(channel, message)) is not None
    }


@dataclass
class Tally:
    missing: list[tuple[str, str, str]]
    extra: dict[str, int]  # alert (or a post naming none) -> posts beyond the one expected
    misthreaded: list[str]
    latencies: list[float]

    @property
    def lost(self) -> int:
        return len(self.missing)

    @property
    def doubled(self) -> int:
        return sum(self.extra.values())

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies) or [float("nan")]
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def max(self) -> float:
        return max(self.latencies, default=float("nan"))


def _tally(slack: FakeSlack, moves: Moves) -> Tally:
    """Every post the fake Slack accepted (a post whose answer was lost included), against
    the changes the test made: per (channel, scan, event) one post, each scan's posts one
    thread under one parent."""
    posts: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    extra: dict[str, int] = {}
    for channel in CHANNELS:
        for message in slack.channels.get(channel, []):
            alert = _alert_of(channel, message)
            if alert is None:
                extra[f"{channel}: {str(message.get('text'))[:60]}"] = 1
            else:
                posts[alert].append(message)
    for alert, found in posts.items():
        beyond = len(found) - (1 if alert in moves.at else 0)
        if beyond:
            extra["|".join(alert)] = beyond
    threads: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for (channel, scan_id, _), found in posts.items():
        threads[channel, scan_id] += found
    misthreaded = []
    for (channel, scan_id), messages in threads.items():
        parents = [m for m in messages if m.get("thread_ts", m["ts"]) == m["ts"]]
        if len(parents) != 1:
            misthreaded.append(f"{channel} {scan_id}: {len(parents)} parents")
            continue
        strays = [m for m in messages if m.get("thread_ts", parents[0]["ts"]) != parents[0]["ts"]]
        if strays:
            misthreaded.append(f"{channel} {scan_id}: {len(strays)} replies elsewhere")
    latencies = [
        min(float(m["ts"]) for m in posts[alert]) - at
        for alert, at in moves.at.items()
        if posts.get(alert)
    ]
    return Tally([a for a in moves.at if not posts.get(a)], extra, misthreaded, latencies)
