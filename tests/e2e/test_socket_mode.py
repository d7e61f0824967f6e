"""`scanbot socket` as a process, against the fake Slack's Socket Mode server on loopback:
envelopes acked and answered, refreshes, refused tokens, stop signals in every state of the
connection, and a dead connection replaced."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scanbot.sandbox.slack_user import slash_command
from tests.e2e.conftest import APP_TOKEN, BOT_TOKEN, frozen_world, wait_until
from tests.e2e.processes import Served, child_env, scanbot_command, serve_world
from tests.slack.blockkit import assert_valid_message

# What a stop signal may take, in every state (systemd, Docker and Heroku kill after 10 s).
STOP_SECONDS = 10.0
# A dead connection is replaced within this (ping after 4 s of silence, 2 s for the pong).
REPLACED_SECONDS = 15.0


@dataclass
class SocketBot:
    """A `scanbot socket` process and what it has written to stderr so far."""

    served: Served
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, float]:
        """Send `sig`; the exit code and the seconds it took to exit."""
        started = time.monotonic()
        self.process.send_signal(sig)
        async with asyncio.timeout(STOP_SECONDS + 5):
            code = await self.process.wait()
        return code, time.monotonic() - started

    async def wait_for_line(self, text: str, seconds: float = 15.0) -> None:
        await wait_until(lambda: text in self.stderr, seconds)


@contextlib.asynccontextmanager
async def socket_bot(
    tmp_path: Path, prepare: Callable[[Served], None] = lambda served: None, **settings: str
) -> AsyncIterator[SocketBot]:
    """`scanbot socket` against the fake Slack, once `prepare` has scripted it."""
    async with serve_world(frozen_world(), socket_mode=True) as served:
        prepare(served)
        defaults = {"SLACK_APP_TOKEN": APP_TOKEN, "SCANBOT_POLL_INTERVAL": "3600"}
        env = child_env(served, f"sqlite:///{tmp_path}/scanbot.sqlite3", **defaults | settings)
        process = await asyncio.create_subprocess_exec(
            *scanbot_command("socket"),
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        bot = SocketBot(served, process)
        reader = asyncio.create_task(_read_lines(process, bot.lines))
        try:
            yield bot
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await reader


async def _read_lines(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    assert process.stderr is not None
    async for line in process.stderr:
        lines.append(line.decode(errors="replace").rstrip())


async def _slash_over_the_socket(bot: SocketBot, scan_id: str) -> None:
    """A /scan over the current connection: acked, then answered at its response_url."""
    slack, server = bot.served.slack, bot.served.socket
    url = slack.response_url(bot.served.slack_url)
    payload = slash_command("/scan", scan_id, response_url=url)
    envelope_id = await server.send_envelope(
        "slash_commands", payload, accepts_response_payload=True
    )
    ack = await server.wait_for_ack(envelope_id)
    assert ack["envelope_id"] == envelope_id
    answer = await slack.wait_for_response_to(url, timeout=10.0)
    assert scan_id in str(answer.body)
    assert_valid_message(answer.body)


def _assert_clean(bot: SocketBot) -> None:
    assert "Traceback" not in bot.stderr, bot.stderr
    assert APP_TOKEN not in bot.stderr
    assert BOT_TOKEN not in bot.stderr


async def test_commands_are_acked_and_answered_across_a_refresh(tmp_path: Path) -> None:
    scan_id = frozen_world().list_scans(None)[0]["id"]
    async with socket_bot(tmp_path) as bot:
        server = bot.served.socket
        first = await server.wait_for_connections(1, timeout=20)
        await _slash_over_the_socket(bot, scan_id)
        home = {
            "type": "event_callback",
            "team_id": "T0FAKE",
            "api_app_id": "A0SCANBOT",
            "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"},
            "event_id": "Ev0HOME",
            "event_time": 1_700_000_000,
        }
        envelope_id = await server.send_envelope("events_api", home)
        assert (await server.wait_for_ack(envelope_id))["envelope_id"] == envelope_id
        await bot.served.slack.wait_for_calls("views.publish", timeout=10.0)

        await server.refresh()
        second = await server.wait_for_connections(2)
        await wait_until(lambda: first.closed_at is not None)  # the old link let go
        assert second.open
        await _slash_over_the_socket(bot, scan_id)

        code, seconds = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.stderr
    assert seconds < STOP_SECONDS
    assert len(bot.served.slack.calls_to("apps.connections.open")) == 2
    _assert_clean(bot)


async def test_sigint_while_connected_exits_0(tmp_path: Path) -> None:
    """(SIGTERM while connected: at the end of the test above.)"""
    async with socket_bot(tmp_path) as bot:
        await bot.served.socket.wait_for_connections(1, timeout=20)
        code, seconds = await bot.stop(signal.SIGINT)
    assert code == 0, bot.stderr
    assert seconds < STOP_SECONDS
    assert bot.served.socket.connections[0].closed_at is not None
    _assert_clean(bot)


def _revoke(served: Served) -> None:
    served.slack.revoked_tokens.add(APP_TOKEN)


@pytest.mark.parametrize(
    ("prepare", "token", "error"),
    [
        (lambda served: None, "xapp-1-someone-elses-0123456789", "invalid_auth"),
        (_revoke, APP_TOKEN, "token_revoked"),
    ],
    ids=["invalid_auth", "token_revoked"],
)
async def test_a_refused_token_stops_start_up_with_one_sentence(
    tmp_path: Path, prepare: Callable[[Served], None], token: str, error: str
) -> None:
    async with socket_bot(tmp_path, prepare, SLACK_APP_TOKEN=token) as bot:
        async with asyncio.timeout(30):
            code = await bot.process.wait()
        await asyncio.sleep(0.1)  # the last of stderr
    assert code == 2, bot.stderr
    mentions = [line for line in bot.lines if "SLACK_APP_TOKEN" in line]
    assert len(mentions) == 1, bot.stderr
    assert mentions[0].startswith(f"scanbot: Slack refused SLACK_APP_TOKEN ({error}): ")
    assert mentions[0].endswith(".")
    assert ". " not in mentions[0]  # one sentence
    assert token not in bot.stderr
    assert len(bot.served.slack.calls_to("apps.connections.open")) == 1  # never retried
    assert bot.served.socket.connections == []
    _assert_clean(bot)


async def test_sigterm_while_slack_is_unreachable_exits_0(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens here once the probe is closed
    async with socket_bot(tmp_path, SLACK_API_URL=f"http://127.0.0.1:{closed}/api/") as bot:
        await bot.wait_for_line("Socket Mode cannot connect")
        await asyncio.sleep(1.5)  # the second attempt (1 s later) fails the same way
        code, seconds = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.stderr
    assert seconds < STOP_SECONDS
    assert len([line for line in bot.lines if "cannot connect" in line]) == 1, bot.stderr
    assert f"cannot reach 127.0.0.1:{closed}" in bot.stderr
    _assert_clean(bot)


async def test_a_token_revoked_later_is_logged_once_and_sigterm_still_stops(
    tmp_path: Path,
) -> None:
    async with socket_bot(tmp_path) as bot:
        slack, server = bot.served.slack, bot.served.socket
        await server.wait_for_connections(1, timeout=20)
        slack.revoked_tokens.add(APP_TOKEN)
        await server.refresh()
        await bot.wait_for_line("token_revoked")
        await slack.wait_for_calls("apps.connections.open", 4, timeout=10.0)  # 1 + 3 refused
        code, seconds = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.stderr
    assert seconds < STOP_SECONDS
    assert len([line for line in bot.lines if "token_revoked" in line]) == 1, bot.stderr
    _assert_clean(bot)


async def test_a_dead_connection_is_replaced_and_sigterm_stops_a_dead_one(
    tmp_path: Path,
) -> None:
    scan_id = frozen_world().list_scans(None)[0]["id"]
    async with socket_bot(tmp_path) as bot:
        server = bot.served.socket
        await server.wait_for_connections(1, timeout=20)
        await asyncio.sleep(0.5)  # past the first ping and pong
        server.go_silent()
        silent_at = time.monotonic()
        second = await server.wait_for_connections(2, timeout=REPLACED_SECONDS + 5)
        replaced = second.opened_at - silent_at
        await _slash_over_the_socket(bot, scan_id)
        # And a stop while the current link is dead: the close does not wait for an answer.
        server.go_silent()
        code, seconds = await bot.stop(signal.SIGTERM)
    print(f"dead connection replaced after {replaced:.1f} s; stop on a dead one {seconds:.2f} s")
    assert replaced < REPLACED_SECONDS, replaced
    assert code == 0, bot.stderr
    assert seconds < STOP_SECONDS
    assert "connection lost" in bot.stderr
    _assert_clean(bot)
