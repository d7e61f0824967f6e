"""A poller killed at any failpoint loses no alert and repeats none, but in the one documented
window: real `scanbot poll --once` processes against the sandbox and a fake Slack that this
test process serves, each process SIGKILLed (SCANBOT_FAILPOINT) and then run again.

The helpers here (child processes, alert keys read back from the fake Slack) serve
test_replicas.py too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from scanbot.alerts.failpoints import ENV as FAILPOINT_ENV
from scanbot.alerts.failpoints import POINTS
from scanbot.alerts.leader import LEADER_LOCK
from scanbot.alerts.model import DEFAULT_EVENTS
from scanbot.alerts.service import TickReport
from scanbot.app import build_alerts, build_hostedscan, build_slack_client, open_store
from scanbot.hostedscan.models import FINAL_STATES
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.world import SandboxWorld
from scanbot.scans.query import state_name
from scanbot.serving import serve_in_background
from scanbot.settings import load_settings
from scanbot.store import Store, database_url
from tests.databases import admin_dsn, fresh_database
from tests.e2e.conftest import BOT_TOKEN, SIGNING_SECRET, frozen_world

CHANNEL = "C0ALERTS"
DIGEST_THRESHOLD = 10  # the default: this test keeps below it, so each alert is its own post
# A key as the fake Slack shows it: (channel, scan id, event, detail), where the detail is
# the final state's name for "finished" and the number of new risks for "risks".
AlertKey = tuple[str, str, str, str]

# --- Child processes --------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """The sandbox (as HostedScan) and the fake Slack, served by the test process."""

    sandbox_url: str
    slack_url: str
    slack: FakeSlack
    controls: SandboxControls


@contextlib.asynccontextmanager
async def serve_world(world: SandboxWorld) -> AsyncIterator[Served]:
    sandbox = create_sandbox_app(world)
    slack = FakeSlack(bot_token=BOT_TOKEN)
    async with (
        serve_in_background(sandbox) as sandbox_url,
        serve_in_background(slack.app) as slack_url,
    ):
        yield Served(sandbox_url, slack_url, slack, sandbox.state.controls)


def child_env(served: Served, database: str, **settings: str) -> dict[str, str]:
    """The environment of a scanbot process: this machine's, minus any scanbot setting."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SCANBOT_", "SLACK_", "HOSTEDSCAN_"))
        and name not in ("DATABASE_URL", "DYNO", "PORT")
    }
    return inherited | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{served.slack_url}/api/",
        "HOSTEDSCAN_API_KEY": SANDBOX_API_KEY,
        "HOSTEDSCAN_API_URL": served.sandbox_url,
        "SCANBOT_DATABASE_URL": database,
        "SCANBOT_ALERT_CHANNEL": CHANNEL,
        "SCANBOT_FULL_SWEEP_EVERY": "1",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


@dataclass(frozen=True)
class Exited:
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:  # what a failed assertion shows
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def scanbot_command(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "scanbot", *args)


async def run_scanbot(
    env: Mapping[str, str], cwd: Path, *args: str, seconds: float = 30.0
) -> Exited:
    """Run `scanbot ARGS` to its end; its working directory holds no `.env` to read."""
    process = await asyncio.create_subprocess_exec(
        *scanbot_command(*args),
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(seconds):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode is not None
    return Exited(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


# --- Alerts as the fake Slack and the world tell them ---------------------------------

_SENTENCE = re.compile(
    r"Scan `?(?P<scan>[^`\s]+)`?(?: \([^()]*\))?"
    r"(?: finished: (?P<state>[^\n]+)|: (?P<risks>[\d,]+) new open risks?)$",
    re.MULTILINE,
)
_DIGEST = re.compile(r"^\d[\d,]* scan alerts? \(")


def posted_messages(slack: FakeSlack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """chat.postMessage bodies for `channel`, as sent (the channel's copy shows later edits)."""
    posts = [c.body for c in slack.calls_to("chat.postMessage") if c.body.get("channel") == channel]
    # Every post was accepted (the fake Slack keeps what it accepts), so calls = messages.
    assert len(posts) == len(slack.channels.get(channel, [])), "Slack refused a post"
    return posts


def alert_keys(messages: Iterable[Mapping[str, Any]], channel: str = CHANNEL) -> Counter[AlertKey]:
    """Each alert's key, counted. A digest's alerts are read from its lines; any message that
    names no alert counts as a key of its own ("?", text), so it cannot pass unnoticed."""
    keys: Counter[AlertKey] = Counter()
    for message in messages:
        text = str(message.get("text", ""))
        if _DIGEST.match(text):
            sections = [b for b in message.get("blocks", []) if b.get("type") == "section"]
            sentences = "\n".join(str(b["text"]["text"]) for b in sections)
            assert "more" not in _context_text(message), f"a digest too long to check: {text}"
        else:
            sentences = text
        found = [_key(channel, match) for match in _SENTENCE.finditer(sentences)]
        keys.update(found or [(channel, "?", "?", text)])
    return keys


def _context_text(message: Mapping[str, Any]) -> str:
    return " ".join(
        str(e.get("text", "")) for b in message.get("blocks", []) for e in b.get("elements", [])
    )


def _key(channel: str, match: re.Match[str]) -> AlertKey:
    if match["state"] is not None:
        return (channel, match["scan"], "finished", match["state"])
    return (channel, match["scan"], "risks", str(int(match["risks"].replace(",", ""))))


def finished_key(scan: Mapping[str, Any], channel: str = CHANNEL) -> AlertKey:
    return (channel, str(scan["id"]), "finished", state_name(str(scan["state"])))


def new_open(scan: Mapping[str, Any]) -> set[str]:
    return {str(risk["risk_id"]) for risk in scan["risks"]["new_open"]}


def is_final(scan: Mapping[str, Any]) -> bool:
    return scan["state"] in FINAL_STATES


# --- The database -----------------------------------------------------------------------


async def outbox_counts(url: str, connect_args: dict[str, Any]) -> dict[str, int]:
    store = await Store.open(database_url({}, url), migrate=False, connect_args=connect_args)
    try:
        return await store.outbox_counts()
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
        await store.ensure_env_subscription(CHANNEL, DEFAULT_EVENTS)
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

        if point == "send:after_post":
            # The documented window (sender.py, README): Slack took the post, the process died
            # before storing its ts, so the row is still "sending" and is posted again. Only
            # that one row: at least once, at most twice, and one alert at most repeated.
            assert set(delivered) == set(expected)
            assert max(delivered.values()) <= 2
            assert (delivered - expected).total() <= 1
        else:
            assert delivered == expected
        assert await outbox_counts(url, connect_args) == {"sent": expected.total()}
