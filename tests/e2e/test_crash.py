"""A poller killed at any failpoint loses no alert and repeats none, but in the one documented
window: real `scanbot poll --once` processes against the sandbox and a fake Slack that this
test process serves, each process SIGKILLed (SCANBOT_FAILPOINT) and then run again.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from scanbot.alerts.leader import LEADER_LOCK
from scanbot.alerts.service import TickReport
from scanbot.app import build_alerts, build_hostedscan, build_slack_client, open_store
from scanbot.domain.events import DEFAULT_EVENTS
from scanbot.failpoints import ENV as FAILPOINT_ENV
from scanbot.failpoints import POINTS
from scanbot.sandbox.server import SANDBOX_API_KEY
from scanbot.sandbox.world import SandboxWorld
from scanbot.settings import load_settings
from scanbot.store import Store, database_url
from tests.databases import admin_dsn, fresh_database
from tests.e2e.conftest import BOT_TOKEN, frozen_world
from tests.e2e.processes import (
    CHANNEL,
    DIGEST_THRESHOLD,
    AlertKey,
    Served,
    alert_keys,
    child_env,
    finished_key,
    new_open,
    posted_messages,
    run_scanbot,
    serve_world,
)

# --- The database -----------------------------------------------------------------------


async def outbox_counts(url: str, connect_args: dict[str, Any]) -> dict[str, int]:
    store = await Store.open(database_url({}, url), migrate=False, connect_args=connect_args)
    try:
        return await store.outbox.counts()
    finally:
        await store.close()


async def wait_for_free_leader_lock(url: str, seconds: float = 10.0) -> None:
    """PostgreSQL frees a SIGKILLed process's advisory lock once it sees its socket close."""
    conn = await asyncpg.connect(admin_dsn(url))
    try:
        async with asyncio.timeout(seconds):
            while await conn.fetchval(  # noqa: ASYNC110 - nothing to await in another server
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = 0 AND objid = $1 AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())",
                LEADER_LOCK,
            ):
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(
            f"the leader lock is still held {seconds:.0f}s after the kill: by the dead "
            "process, or by another scanbot on this database (the lock is per database)"
        )
    finally:
        await conn.close()


# --- The tests --------------------------------------------------------------------------


async def poll_here(served: Served, url: str) -> TickReport:
    """One tick as `poll --once` runs it, but in this process: for the polls around the one
    that is killed and the one that recovers, since each process start costs a second."""
    settings = load_settings(
        env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=f"{served.slack_url}/api/",
        hostedscan_api_key=SANDBOX_API_KEY,
        hostedscan_api_url=served.sandbox_url,
        database_url=url,
        alert_channels=CHANNEL,
        full_sweep_every=1,
    )
    store = await open_store(settings)
    hostedscan = build_hostedscan(settings)
    try:
        await store.subscriptions.ensure_env(CHANNEL, DEFAULT_EVENTS)
        service = build_alerts(settings, hostedscan, build_slack_client(settings), store)
        report = await service.tick()
        await service.stop()
    finally:
        await hostedscan.aclose()
        await store.close()
    assert report.leading, "another scanbot holds the leader lock on this database"
    assert report.error is None
    return report


def _make_alerts_due(world: SandboxWorld) -> list[str]:
    """Scans that finished since the baseline: a new one with risks, and a queued one."""
    added = world.add_scan(type="NMAP", state="SUCCEEDED", targets=["crash.example.com"], risks=2)
    queued = str(world.list_scans({"state": ["QUEUED"]})[0]["id"])
    world.set_state(queued, "FAILED")
    return [added, queued]


def _expected(world: SandboxWorld, scan_ids: list[str]) -> Counter[AlertKey]:
    """One alert per finished scan, and one for its new risks if it has any."""
    keys: Counter[AlertKey] = Counter()
    for scan_id in scan_ids:
        scan = world.get_scan(scan_id)
        assert scan is not None
        keys[finished_key(scan)] += 1
        if new_open(scan):
            keys[(CHANNEL, scan_id, "risks", str(len(new_open(scan))))] += 1
    return keys


def _left_by_the_kill(point: str, alerts: int) -> tuple[int, dict[str, int]]:
    """What the killed process got done: posts Slack accepted, and the outbox by status."""
    return {
        "cycle:before_commit": (0, {}),  # rolled back: not even the snapshots are kept
        "cycle:after_commit": (0, {"pending": alerts}),
        "send:before_post": (0, {"sending": 1, "pending": alerts - 1}),
        "send:after_post": (1, {"sending": 1, "pending": alerts - 1}),
        "send:after_mark": (1, {"sent": 1, "pending": alerts - 1}),
    }[point]


CASES = [pytest.param("sqlite", point, id=f"sqlite-{point}") for point in POINTS] + [
    pytest.param("postgres", point, id=f"postgres-{point}")
    for point in ("cycle:after_commit", "send:after_post")
]


@pytest.mark.parametrize(("kind", "point"), CASES)
async def test_a_poller_killed_at_a_failpoint_loses_no_alert(
    kind: str, point: str, tmp_path: Path
) -> None:
    world = frozen_world()
    async with fresh_database(kind, tmp_path) as (url, connect_args), serve_world(world) as served:
        baseline = await poll_here(served, url)
        assert baseline.cycle is not None
        assert baseline.cycle.baseline
        expected = _expected(world, _make_alerts_due(world))
        assert 3 <= expected.total() <= DIGEST_THRESHOLD

        env = child_env(served, url)
        killed = await run_scanbot(env | {FAILPOINT_ENV: point}, tmp_path, "poll", "--once")
        assert killed.returncode == -signal.SIGKILL, killed
        posts, rows = _left_by_the_kill(point, expected.total())
        assert len(posted_messages(served.slack)) == posts
        assert await outbox_counts(url, connect_args) == rows
        if kind == "postgres":
            await wait_for_free_leader_lock(url)

        recovery = await run_scanbot(env, tmp_path, "poll", "--once")
        assert recovery.returncode == 0, recovery
        assert "Another replica" not in recovery.stdout, recovery
        delivered = alert_keys(posted_messages(served.slack))

        quiet = await poll_here(served, url)  # and nothing more comes
        assert quiet.cycle is not None
        assert quiet.cycle.events == []
        assert quiet.sent is not None
        assert quiet.sent.sent == 0
        assert alert_keys(posted_messages(served.slack)) == delivered

        # At send:after_post Slack took the post and the process died before storing its
        # ts: the row is still "sending", so the restart looks for its metadata key in the
        # channel and adopts the message instead of posting it again.
        assert delivered == expected
        assert await outbox_counts(url, connect_args) == {"sent": expected.total()}
