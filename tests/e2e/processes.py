"""Shared by the tests that run scanbot as real processes (crash, replicas, lifecycle):
starting them against a sandbox and a fake Slack served by the test process, and reading
alerts back from the fake Slack as keys."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from scanbot.hostedscan.models import FINAL_STATES
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_socket import FakeSocketMode
from scanbot.sandbox.world import SandboxWorld
from scanbot.scans.query import state_name
from scanbot.serving import serve_in_background
from tests.e2e.conftest import APP_TOKEN, BOT_TOKEN, HEALTH_AUTH, HEALTH_TOKEN, SIGNING_SECRET

CHANNEL = "C0ALERTS"
DIGEST_THRESHOLD = 10  # the default: the crash test keeps below it, so each alert is a post
# A key as the fake Slack shows it: (channel, scan id, event, detail), where the detail is
# the final state's name for "finished" and the number of new risks for "risks".
AlertKey = tuple[str, str, str, str]
T = TypeVar("T")

# --- Child processes --------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """The sandbox (as HostedScan) and the fake Slack, served by the test process; with
    `socket_mode`, the fake Slack's Socket Mode server too (`slack.socket_mode`)."""

    sandbox_url: str
    slack_url: str
    slack: FakeSlack
    controls: SandboxControls

    @property
    def socket(self) -> FakeSocketMode:
        assert self.slack.socket_mode is not None, "serve_world(..., socket_mode=True)"
        return self.slack.socket_mode


ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
Layer = Callable[[ASGIApp], ASGIApp]


def _bare(app: ASGIApp) -> ASGIApp:
    return app


@contextlib.asynccontextmanager
async def serve_world(
    world: SandboxWorld,
    *,
    socket_mode: bool = False,
    sandbox_layer: Layer = _bare,
    slack_layer: Layer = _bare,
) -> AsyncIterator[Served]:
    """`sandbox_layer` and `slack_layer` wrap the two apps (e.g. in `sandbox.faults.Faults`)."""
    sandbox = create_sandbox_app(world)
    fake_socket = FakeSocketMode()
    slack = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN, socket_mode=fake_socket)
    async with (
        serve_in_background(sandbox_layer(sandbox)) as sandbox_url,
        serve_in_background(slack_layer(slack.app)) as slack_url,
        fake_socket.serving() if socket_mode else contextlib.nullcontext(""),
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
        "SCANBOT_HEALTH_TOKEN": HEALTH_TOKEN,
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


# --- Replicas: `scanbot serve` processes on one database --------------------------------


@dataclass
class Replica:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- replica {self.name} (exit {self.process.returncode})\n" + "\n".join(
            text.splitlines()[-lines:]
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_replica(env: Mapping[str, str], cwd: Path, name: str) -> Replica:
    """`scanbot serve` on a free port, logging to `cwd/replica-NAME.log`."""
    port = free_port()
    log = cwd / f"replica-{name}.log"
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        process = await asyncio.create_subprocess_exec(
            *scanbot_command("serve", "--port", str(port)),
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Replica(name, port, process, log)


@contextlib.asynccontextmanager
async def serving_replicas(
    env: Mapping[str, str], cwd: Path, names: tuple[str, ...] = ("a", "b")
) -> AsyncIterator[list[Replica]]:
    """`scanbot serve` processes, each logging to a file; all killed on the way out, those
    the caller appended to the list (restarts) included."""
    replicas: list[Replica] = []
    try:
        for name in names:
            replicas.append(await start_replica(env, cwd, name))
        yield replicas
    finally:
        for replica in replicas:
            if replica.process.returncode is None:
                replica.process.kill()
        for replica in replicas:
            await replica.process.wait()


async def eventually(
    probe: Callable[[], Awaitable[T | None]], seconds: float, what: str, logs: list[Replica]
) -> T:
    """Poll `probe` until it returns something other than None, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while (found := await probe()) is None:
        if time.monotonic() >= deadline:
            tails = "\n".join(replica.log_tail() for replica in logs)
            raise AssertionError(f"waited {seconds:.0f}s for {what}\n{tails}")
        await asyncio.sleep(0.1)
    return found


def some(value: bool) -> bool | None:
    """True, or None to keep `eventually` waiting."""
    return True if value else None


async def replica_health(http: httpx.AsyncClient, replica: Replica) -> dict[str, Any] | None:
    """The `alerts` part of the replica's /healthz (with the token); None while it cannot
    answer."""
    if replica.process.returncode is not None:
        return None
    try:
        response = await http.get(replica.health_url, headers=HEALTH_AUTH)
    except httpx.TransportError:
        return None
    alerts: dict[str, Any] = response.json()["alerts"] if response.is_success else {}
    return alerts or None


def listed_after(served: Served, moment: float) -> float | None:
    """When (wall clock) the sandbox was first asked for the scan list after `moment`."""
    for request in served.controls.requests:
        if request.path == "/v1/scans" and request.method == "GET" and request.time > moment:
            return time.time() - (time.monotonic() - request.time)
    return None


def cycle_ended_after(health: Mapping[str, Any], wall: float) -> bool:
    """Whether the replica's last poll cycle (its /healthz `alerts`) ended after `wall`."""
    ended = health.get("last_cycle_at")
    return ended is not None and datetime.fromisoformat(ended).timestamp() > wall


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
