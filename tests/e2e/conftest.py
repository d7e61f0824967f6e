"""The whole product over real loopback HTTP: the sandbox as HostedScan, a fake Slack, the app."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from scanbot.app import Runtime, open_runtime
from scanbot.domain.clock import utcnow
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack, ResponseUrlPost
from scanbot.sandbox.slack_user import block_action, post_signed, slash_command
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background
from scanbot.settings import load_settings
from scanbot.web import create_web_app

BOT_TOKEN = "xoxb-e2e-bot-token-0123456789"
APP_TOKEN = "xapp-1-e2e-app-token-0123456789"
SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
HEALTH_TOKEN = "e2e-health-token-0123456789"
HEALTH_AUTH = {"Authorization": f"Bearer {HEALTH_TOKEN}"}


@dataclass
class Stack:
    """One running scanbot with its sandbox and fake Slack; `command` and `click` act as a user."""

    app_url: str
    slack_url: str
    world: SandboxWorld
    sandbox: SandboxControls
    slack: FakeSlack
    runtime: Runtime
    http: httpx.AsyncClient

    @property
    def events_url(self) -> str:
        return f"{self.app_url}/slack/events"

    async def send(self, form: dict[str, str]) -> httpx.Response:
        return await post_signed(self.http, self.events_url, SIGNING_SECRET, form)

    async def command(self, command: str, text: str = "", **fields: Any) -> ResponseUrlPost:
        """Run a slash command; return what arrives at its response_url."""
        url = self.slack.response_url(self.slack_url)
        response = await self.send(slash_command(command, text, response_url=url, **fields))
        assert response.status_code == 200, response.text
        return await self.answer_to(url)

    async def click(self, action_id: str, value: str, **fields: Any) -> ResponseUrlPost:
        url = self.slack.response_url(self.slack_url)
        response = await self.send(block_action(action_id, value, response_url=url, **fields))
        assert response.status_code == 200, response.text
        return await self.answer_to(url)

    async def answer_to(self, url: str) -> ResponseUrlPost:
        return await self.slack.wait_for_response_to(url, timeout=10.0)

    async def health(self) -> dict[str, Any]:
        """/healthz with its details, as a monitor holding SCANBOT_HEALTH_TOKEN sees it."""
        response = await self.http.get(f"{self.app_url}/healthz", headers=HEALTH_AUTH)
        assert response.status_code == 200, response.text
        details: dict[str, Any] = response.json()
        return details


@contextlib.asynccontextmanager
async def running_stack(
    world: SandboxWorld,
    *,
    deadline: float = 12.0,
    hostedscan_key: str = SANDBOX_API_KEY,
    database_url: str | None = None,
    settings: dict[str, Any] | None = None,
    web_clock: Callable[[], datetime] = utcnow,
    **runtime_options: Any,
) -> AsyncIterator[Stack]:
    """A whole scanbot; alerts run only when a test calls `stack.runtime.alerts.tick()`.

    `web_clock` is the clock the app judges webhook freshness by.
    """
    sandbox_app = create_sandbox_app(world)
    slack = FakeSlack(bot_token=BOT_TOKEN)
    async with (
        _scratch_dir() as scratch,
        serve_in_background(sandbox_app) as sandbox_url,
        serve_in_background(slack.app) as slack_url,
    ):
        config = load_settings(
            env_file=None,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=f"{slack_url}/api/",
            hostedscan_api_key=hostedscan_key,
            hostedscan_api_url=sandbox_url,
            database_url=database_url or f"sqlite:///{scratch}/scanbot.sqlite3",
            **{"health_token": HEALTH_TOKEN, **(settings or {})},
        )
        runtime_options.setdefault("schedule_alerts", False)
        runtime = await open_runtime(config, deadline=deadline, **runtime_options)
        async with (
            serve_in_background(create_web_app(runtime, clock=web_clock)) as app_url,
            httpx.AsyncClient(timeout=20) as http,
        ):
            yield Stack(app_url, slack_url, world, sandbox_app.state.controls, slack, runtime, http)


@contextlib.asynccontextmanager
async def _scratch_dir() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="scanbot-test-") as path:
        yield path


def frozen_world(**options: Any) -> SandboxWorld:
    """A sandbox whose clock stands still, so a test sees the same scans throughout."""
    options.setdefault("seed", 7)
    options.setdefault("scans", 60)
    return SandboxWorld(clock=SimClock(speed=0.0), **options)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with running_stack(frozen_world()) as running:
        yield running


async def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll a condition the test cannot await directly (a server's internal state)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - no event to wait on across the server
            await asyncio.sleep(0.01)
