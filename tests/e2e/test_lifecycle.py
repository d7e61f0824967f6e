"""Shutdown finishes replies under way; DEBUG logs of a whole session hold no secret."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scanbot.sandbox.server import SANDBOX_API_KEY
from scanbot.sandbox.slack_user import post_signed, slash_command
from tests.e2e.conftest import (
    BOT_TOKEN,
    HEALTH_AUTH,
    SIGNING_SECRET,
    frozen_world,
    running_stack,
    wait_until,
)
from tests.slack.blockkit import assert_valid_message


async def test_shutdown_finishes_the_replies_under_way() -> None:
    world = frozen_world()
    scan_id = world.list_scans(None)[0]["id"]
    stack_cm = running_stack(world)
    stack = await stack_cm.__aenter__()
    url = stack.slack.response_url(stack.slack_url)
    try:
        stack.sandbox.gate.clear()
        form = slash_command("/scan", scan_id, response_url=url)
        assert (await post_signed(stack.http, stack.events_url, SIGNING_SECRET, form)).is_success
        await wait_until(lambda: stack.sandbox.waiting == 1)
        # Shut the app down while its reply waits on the API, then let the API answer.
        asyncio.get_running_loop().call_later(0.3, stack.sandbox.gate.set)
    finally:
        await stack_cm.__aexit__(None, None, None)
    answer = stack.slack.responses_to(url)
    assert answer, "the reply under way was dropped at shutdown"
    assert scan_id in str(answer[0].body)


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    names = ("scanbot", "slack_sdk", "slack_bolt", "httpx", "httpcore", "aiohttp")
    levels = {name: logging.getLogger(name).level for name in names}
    caplog.set_level(logging.DEBUG)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("debug_logging")
async def test_debug_logs_never_contain_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    world = frozen_world()
    async with running_stack(world) as stack:
        scan_id = world.list_scans(None)[0]["id"]
        for command, text in [
            ("/scans", ""),
            ("/scans", "failed"),
            ("/scan", scan_id),
            ("/scan", "missing-id"),
            ("/scan", "../../x"),
        ]:
            answer = await stack.command(command, text)
            assert_valid_message(answer.body)
        stack.sandbox.add_fault(503, times=2)
        await stack.command("/scans")
        await stack.runtime.slack.chat_postMessage(channel="C0SECOPS", text="hello")
    captured = caplog.text + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    )
    assert len(caplog.records) > 20  # DEBUG really was on
    for secret in (BOT_TOKEN, SIGNING_SECRET, SANDBOX_API_KEY):
        assert secret not in captured


async def test_sigterm_lets_a_real_server_finish_its_replies(tmp_path: Path) -> None:
    """`scanbot serve` as a process: SIGTERM while a reply waits on the API; it still goes."""
    from tests.e2e.processes import child_env, scanbot_command, serve_world

    world = frozen_world()
    scan_id = world.list_scans(None)[0]["id"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with serve_world(world) as served:
        env = child_env(
            served, f"sqlite:///{tmp_path}/scanbot.sqlite3", SCANBOT_POLL_INTERVAL="3600"
        )
        process = await asyncio.create_subprocess_exec(
            *scanbot_command("serve", "--port", str(port)),
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                await _wait_for_first_poll(http, base)
                served.controls.gate.clear()
                url = served.slack.response_url(served.slack_url)
                form = slash_command("/scan", scan_id, response_url=url)
                response = await post_signed(http, f"{base}/slack/events", SIGNING_SECRET, form)
                assert response.status_code == 200
                await wait_until(lambda: served.controls.waiting >= 1)
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                served.controls.gate.set()
                async with asyncio.timeout(20):
                    _, err = await process.communicate()
            # uvicorn shuts down gracefully, then re-raises the signal it caught: -15.
            assert process.returncode in (0, -signal.SIGTERM), err.decode()
            assert "Application shutdown complete" in err.decode()
            (answer,) = served.slack.responses_to(url)
            assert scan_id in str(answer.body)
        finally:
            if process.returncode is None:
                process.kill()
                await process.communicate()


async def _wait_for_first_poll(http: httpx.AsyncClient, base: str) -> None:
    """Up, and past the poll that runs at start-up (it must not meet the closed gate)."""
    async with asyncio.timeout(30):
        while True:
            with contextlib.suppress(httpx.HTTPError):
                health = (await http.get(f"{base}/healthz", headers=HEALTH_AUTH)).json()
                if health["alerts"]["last_cycle_at"]:
                    return
            await asyncio.sleep(0.1)
