"""Shared by the tests that run scanbot as real processes (crash, replicas, lifecycle):
starting them against a sandbox and a fake Slack served by the test process, and reading
alerts back from the fake Slack as keys."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanbot.hostedscan.models import FINAL_STATES
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_socket import FakeSocketMode
from scanbot.sandbox.world import SandboxWorld
from scanbot.scans.query import state_name
from scanbot.serving import serve_in_background
from tests.e2e.conftest import APP_TOKEN, BOT_TOKEN, HEALTH_TOKEN, SIGNING_SECRET

CHANNEL = "C0ALERTS"
DIGEST_THRESHOLD = 10  # the default: the crash test keeps below it, so each alert is a post
# A key as the fake Slack shows it: (channel, scan id, event, detail), where the detail is
# the final state's name for "finished" and the number of new risks for "risks".
AlertKey = tuple[str, str, str, str]

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


@contextlib.asynccontextmanager
async def serve_world(world: SandboxWorld, *, socket_mode: bool = False) -> AsyncIterator[Served]:
    sandbox = create_sandbox_app(world)
    socket = FakeSocketMode()
    slack = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN, socket_mode=socket)
    async with (
        serve_in_background(sandbox) as sandbox_url,
        serve_in_background(slack.app) as slack_url,
        socket.serving() if socket_mode else contextlib.nullcontext(""),
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
