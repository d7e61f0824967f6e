"""Two `scanbot serve` replicas on one PostgreSQL database: exactly one polls and sends; when
it is SIGKILLed the other takes over within a poll interval, and every alert, those of the
changes made while nobody led included, reaches Slack exactly once."""

from __future__ import annotations

import signal
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from scanbot.domain.events import Alert, EventKind
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.scans.query import state_name
from scanbot.store import Store, database_url
from scanbot.store.schema import outbox
from tests.databases import fresh_database
from tests.e2e.processes import (
    CHANNEL,
    AlertKey,
    Replica,
    alert_keys,
    child_env,
    cycle_ended_after,
    eventually,
    finished_key,
    is_final,
    listed_after,
    new_open,
    posted_messages,
    replica_health,
    serve_world,
    serving_replicas,
    some,
)

POLL_INTERVAL = 5  # seconds: the least SCANBOT_POLL_INTERVAL allows
JITTER = 1  # APScheduler's jitter on the poll job at this interval (service.py)
TAKEOVER = POLL_INTERVAL + JITTER + 3  # seconds: "within about one poll interval"
ONE_POLL = POLL_INTERVAL + JITTER + 5  # how long a wait for the next poll may take at most
SPEED = 20.0  # simulated seconds per second once the world moves: a few alerts a poll


def _key_of(alert: Alert) -> AlertKey:
    """The key the fake Slack shows for an outbox row's alert (see test_crash.alert_keys)."""
    event = alert.event
    if event.kind is EventKind.RISKS:
        count = max(alert.risk_count, len(alert.risks)) or len(event.risk_ids)
        detail = str(count)
    else:
        detail = state_name(event.summary.state)
    return (alert.channel_id, event.summary.scan_id, event.kind.value, detail)


@dataclass(frozen=True)
class Row:
    """An outbox row: unique by alert key (a database constraint), with the ts Slack gave it."""

    id: int
    status: str
    attempts: int  # 1, unless a post was under way when its sender died
    ts: str | None
    alert: Alert


async def _outbox(url: str, connect_args: dict[str, Any]) -> list[Row]:
    store = await Store.open(database_url({}, url), migrate=False, connect_args=connect_args)
    try:
        async with store.db.engine.connect() as conn:
            result = await conn.execute(sa.select(outbox).order_by(outbox.c.id))
            return [
                Row(
                    r["id"],
                    r["status"],
                    r["attempts"],
                    r["ts"],
                    Alert.model_validate_json(r["alert"]),
                )
                for r in result.mappings()
            ]
    finally:
        await store.close()


def _posts_by_ts(slack: FakeSlack) -> dict[str, Counter[AlertKey]]:
    """Each accepted post's ts, and the alerts it names as posted (not as edited since)."""
    posts = posted_messages(slack)  # in the order the fake Slack accepted them
    accepted = slack.channels.get(CHANNEL, [])
    return {m["ts"]: alert_keys([body]) for body, m in zip(posts, accepted, strict=True)}


async def test_a_standby_replica_takes_over_and_no_alert_is_lost_or_repeated(
    tmp_path: Path,
) -> None:
    clock = SimClock(speed=0.0)  # frozen until the baseline is taken
    world = SandboxWorld(seed=3, scans=60, clock=clock, arrivals_per_hour=30)
    async with (
        fresh_database("postgres", tmp_path) as (url, connect_args),
        serve_world(world) as served,
        httpx.AsyncClient(timeout=2.0) as http,
    ):
        env = child_env(served, url, SCANBOT_POLL_INTERVAL=str(POLL_INTERVAL))
        async with serving_replicas(env, tmp_path) as replicas:

            async def leader() -> Replica | None:
                found = [await replica_health(http, replica) for replica in replicas]
                if None in found or not found[0] or not found[0].get("last_cycle_at"):
                    return None
                leading = [r for r, h in zip(replicas, found, strict=True) if h and h["leading"]]
                assert len(leading) <= 1, f"two replicas lead at once: {found}"
                return leading[0] if leading else None

            first = await eventually(
                leader,
                30,
                "one replica to lead and take the baseline (is another scanbot "
                "holding the leader lock on this database?)",
                replicas,
            )
            (standby,) = [r for r in replicas if r is not first]
            before = {str(s["id"]): s for s in world.list_scans(None)}  # what the baseline saw

            clock.speed = SPEED
            world.add_scan(type="NMAP", state="SUCCEEDED", targets=["flow.example.com"], risks=1)

            async def flowing() -> bool | None:
                return some(len(posted_messages(served.slack)) >= 2)

            await eventually(flowing, 3 * POLL_INTERVAL, "alerts to flow", replicas)
            assert (await replica_health(http, standby) or {}).get("leading") is False

            first.process.send_signal(signal.SIGKILL)
            assert await first.process.wait() == -signal.SIGKILL
            killed_at = time.monotonic()
            # The world goes on while nobody leads: these must reach Slack too.
            while_dead = [
                world.add_scan(type="SSLYZE", state="FAILED", targets=["dead-1.example.com"]),
                world.add_scan(
                    type="NMAP", state="SUCCEEDED", targets=["dead-2.example.com"], risks=2
                ),
            ]

            async def took_over() -> bool | None:
                health = await replica_health(http, standby)
                return some(health is not None and health["leading"])

            await eventually(took_over, ONE_POLL, "the standby to lead", replicas)
            took = time.monotonic() - killed_at
            took_over_at = time.time()

            async def polled_since_takeover() -> bool | None:
                health = await replica_health(http, standby)
                return some(health is not None and cycle_ended_after(health, took_over_at))

            await eventually(
                polled_since_takeover,
                ONE_POLL,
                "a poll by the survivor",
                replicas,
            )
            # Stop time, then wait for a cycle that saw the final state and for the outbox
            # to drain.
            clock.speed = 0.0
            frozen_at = time.monotonic()

            async def listed_after_freeze() -> float | None:
                return listed_after(served, frozen_at)

            listed = await eventually(
                listed_after_freeze,
                ONE_POLL,
                "a poll after the world stopped",
                replicas,
            )

            async def drained() -> bool | None:
                health = await replica_health(http, standby)
                if health is None or not cycle_ended_after(health, listed):
                    return None
                counts = health["outbox"]
                return some(not counts.get("pending") and not counts.get("sending"))

            await eventually(drained, 25, "the outbox to drain", replicas)

        after = {str(s["id"]): s for s in world.list_scans(None)}
        posts = _posts_by_ts(served.slack)
        rows = await _outbox(url, connect_args)

    assert took <= TAKEOVER
    _assert_each_alert_posted_once(posts, rows)
    _assert_alerts_tell_what_happened(rows, before, after)
    dead_keys = {finished_key(after[scan_id]) for scan_id in while_dead}
    assert dead_keys <= {_key_of(row.alert) for row in rows}, "a change made while nobody led"
    assert len(rows) >= 5, "too few alerts to prove anything"


def _assert_each_alert_posted_once(posts: dict[str, Counter[AlertKey]], rows: list[Row]) -> None:
    """Each row (unique by key) is in the post whose ts it stored, and every post is some
    rows': a post under way when the leader died is looked for by its metadata key and
    adopted by the survivor, never posted again (sender.py)."""
    assert {row.status for row in rows} <= {"sent", "digested"}, rows
    claimed: dict[str, Counter[AlertKey]] = defaultdict(Counter)
    for row in rows:
        assert row.ts, row
        claimed[row.ts][_key_of(row.alert)] += 1
    for ts, keys in claimed.items():
        assert posts.get(ts) == keys, f"the post at {ts} is not what the outbox says"
    unclaimed = [keys for ts, keys in posts.items() if ts not in claimed]
    assert unclaimed == [], f"posted more than once: {unclaimed}"


def _assert_alerts_tell_what_happened(
    rows: list[Row], before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """A finished alert for each scan that finished since the baseline, and each risk found
    since then in one risks alert."""
    events = [row.alert.event for row in rows]
    assert {event.kind for event in events} <= {EventKind.FINISHED, EventKind.RISKS}
    finished = {(e.summary.scan_id, e.summary.state) for e in events if e.kind == "finished"}
    assert finished == {
        (scan_id, scan["state"])
        for scan_id, scan in after.items()
        if is_final(scan) and (scan_id not in before or before[scan_id]["state"] != scan["state"])
    }
    alerted: dict[str, list[str]] = defaultdict(list)
    for event in events:
        alerted[event.summary.scan_id] += event.risk_ids
    found = {
        scan_id: sorted(
            new_open(scan) - (new_open(before[scan_id]) if scan_id in before else set())
        )
        for scan_id, scan in after.items()
    }
    assert {i: sorted(ids) for i, ids in alerted.items() if ids} == {
        i: ids for i, ids in found.items() if ids
    }
