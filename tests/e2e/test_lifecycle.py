"""Shutdown finishes replies under way; DEBUG logs of a whole session hold no secret, no
response_url and no request body."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from slack_bolt.async_app import AsyncBoltRequest

from scanbot.app import log_masks
from scanbot.logs import redacting_handler
from scanbot.sandbox.server import SANDBOX_API_KEY
from scanbot.sandbox.slack_user import post_signed, slash_command
from scanbot.settings import Settings
from tests.e2e.conftest import (
    BOT_TOKEN,
    HEALTH_AUTH,
    HEALTH_TOKEN,
    SIGNING_SECRET,
    Stack,
    frozen_world,
    running_stack,
    wait_until,
)
from tests.slack.blockkit import assert_valid_message

WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef"


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


@contextlib.contextmanager
def production_log(settings: Settings) -> Iterator[tuple[logging.Handler, io.StringIO]]:
    """The log as `scanbot serve` writes it: the CLI's handler, redactor and masks, beside
    caplog's own handler (which sees each record before it is redacted)."""
    stream = io.StringIO()
    handler = redacting_handler(settings.secret_values(), log_masks(settings), stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler, stream
    finally:
        root.removeHandler(handler)


UNSIGNED_MARKER = "unsigned-body-marker-0123"
SIGNED_JUNK_MARKER = "signed-junk-marker-0123"


@pytest.mark.usefixtures("debug_logging")
async def test_debug_logs_never_contain_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    """Nor a response_url or a request body, in what scanbot writes at DEBUG."""
    world = frozen_world()
    settings = {"hostedscan_webhook_secret": WEBHOOK_SECRET}
    async with running_stack(world, settings=settings) as stack:
        with production_log(stack.runtime.settings) as (handler, written):
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
            bodies = await _send_bodies_that_must_not_be_logged(stack)
            assert (await stack.health())["status"] == "ok"  # the health token in a header
            # A library leaking every secret setting (to this handler only, so caplog's
            # record of what really was logged stays clean): the redactor knows them all.
            leak = {"name": "some.library", "msg": "%s", "args": (" ".join(_every_secret()),)}
            handler.handle(logging.makeLogRecord(leak))
    captured = caplog.text + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    )
    assert len(caplog.records) > 20  # DEBUG really was on
    for secret in (BOT_TOKEN, SIGNING_SECRET, SANDBOX_API_KEY):
        assert secret not in captured
    output = written.getvalue()
    assert "some.library" in output
    for secret in _every_secret():
        assert secret not in output
    keys = [post.key for post in stack.slack.responses]
    assert keys
    for key in keys:
        assert key in caplog.text  # httpx did name each response_url ...
        assert key not in output  # ... and scanbot's log hides its path
    for body in bodies:
        assert body not in captured  # never logged, at any level
        assert body not in output


def _every_secret() -> list[str]:
    return [BOT_TOKEN, SIGNING_SECRET, SANDBOX_API_KEY, WEBHOOK_SECRET, HEALTH_TOKEN]


async def _send_bodies_that_must_not_be_logged(stack: Stack) -> list[str]:
    """An unsigned body, a signed one Bolt cannot take, and an unsigned one handed to
    Bolt directly (its own signature check must still refuse it, quietly)."""
    unsigned = urlencode({"payload": json.dumps({"marker": UNSIGNED_MARKER})})
    response = await stack.http.post(stack.events_url, content=unsigned)
    assert response.status_code == 401
    junk = urlencode({"payload": SIGNED_JUNK_MARKER})
    response = await post_signed(
        stack.http, stack.events_url, SIGNING_SECRET, {"payload": SIGNED_JUNK_MARKER}
    )
    assert response.status_code == 400
    direct = unsigned.replace("unsigned", "direct")
    refused = await stack.runtime.bolt.async_dispatch(AsyncBoltRequest(body=direct, headers={}))
    assert refused.status == 401
    return [unsigned, junk, direct, UNSIGNED_MARKER, SIGNED_JUNK_MARKER]


async def test_sigterm_lets_a_real_server_finish_its_replies(tmp_path: Path) -> None:
    """`scanbot serve` as a process: SIGTERM while a reply waits on the API; it still goes,
    and the process exits 0."""
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
            # A graceful stop is a clean exit (uvicorn alone would re-raise SIGTERM: -15).
            assert process.returncode == 0, err.decode()
            assert "Application shutdown complete" in err.decode()
            database = tmp_path / "scanbot.sqlite3"
            assert stat.S_IMODE(database.stat().st_mode) == 0o600  # created private
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
