"""How fast a real `scanbot socket` stops in each state of its connection, and how long a
dead connection (no FIN, no RST: the server just goes quiet) takes to be replaced.

Run `.venv/bin/python bench/socket_mode.py [--runs N]`. It prints figures and exits 0
whether the goals (stop under 10 s in every state, exit code 0; a dead link replaced in
about 10 s) are met or not: it is a benchmark, not a test.

Layout: the sandbox (as HostedScan), the fake Slack and its Socket Mode server run in this
process; `python -m scanbot socket` in its own. Times are this process's monotonic clock:
from the signal to the child's exit, from the server's silence to the next connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_socket import FakeSocketMode
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background

BOT_TOKEN = "xoxb-bench-bot-token-0123456789"
APP_TOKEN = "xapp-1-bench-app-token-0123456789"


@dataclass
class Bot:
    slack: FakeSlack
    server: FakeSocketMode
    process: asyncio.subprocess.Process

    async def stop(self, sig: signal.Signals) -> tuple[float, int]:
        started = time.monotonic()
        self.process.send_signal(sig)
        async with asyncio.timeout(30):
            code = await self.process.wait()
        return time.monotonic() - started, code


@contextlib.asynccontextmanager
async def running_bot(slack_api_url: str | None = None) -> AsyncIterator[Bot]:
    world = SandboxWorld(clock=SimClock(speed=0.0), seed=7, scans=60)
    server = FakeSocketMode()
    slack = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN, socket_mode=server)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            serve_in_background(create_sandbox_app(world)) as sandbox_url,
            serve_in_background(slack.app) as slack_url,
            server.serving(),
        ):
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SCANBOT_", "SLACK_", "HOSTEDSCAN_"))
            }
            env |= {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_API_URL": slack_api_url or f"{slack_url}/api/",
                "HOSTEDSCAN_API_KEY": SANDBOX_API_KEY,
                "HOSTEDSCAN_API_URL": sandbox_url,
                "SCANBOT_DATABASE_URL": f"sqlite:///{tmp}/scanbot.sqlite3",
                "SCANBOT_POLL_INTERVAL": "3600",
            }
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "scanbot",
                "socket",
                env=env,
                cwd=tmp,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                yield Bot(slack, server, process)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


async def _until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - state of servers in this process
            await asyncio.sleep(0.01)


async def stop_connected(sig: signal.Signals) -> tuple[float, int]:
    async with running_bot() as bot:
        await bot.server.wait_for_connections(1, timeout=30)
        await asyncio.sleep(1.0)  # past the start-up poll
        return await bot.stop(sig)


async def stop_on_a_dead_link() -> tuple[float, int]:
    async with running_bot() as bot:
        await bot.server.wait_for_connections(1, timeout=30)
        await asyncio.sleep(1.0)
        bot.server.go_silent()
        return await bot.stop(signal.SIGTERM)


async def stop_while_slack_fails() -> tuple[float, int]:
    async with running_bot() as bot:
        bot.slack.fail_next("apps.connections.open", status=503, times=10_000)
        await _until(lambda: len(bot.slack.calls_to("apps.connections.open")) >= 2)
        return await bot.stop(signal.SIGTERM)


async def stop_while_unreachable() -> tuple[float, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    async with running_bot(f"http://127.0.0.1:{closed}/api/") as bot:
        await asyncio.sleep(3.0)  # started, and failing to connect
        return await bot.stop(signal.SIGTERM)


async def dead_link_replaced() -> float:
    async with running_bot() as bot:
        await bot.server.wait_for_connections(1, timeout=30)
        await asyncio.sleep(1.0)
        bot.server.go_silent()
        silent_at = time.monotonic()
        second = await bot.server.wait_for_connections(2, timeout=60)
        await bot.stop(signal.SIGTERM)
        return second.opened_at - silent_at


def _line(name: str, figures: list[float], codes: list[int] | None = None) -> str:
    median, worst = statistics.median(figures), max(figures)
    exits = f"  exit codes {sorted(set(codes))}" if codes is not None else ""
    return f"{name:<41} median {median:5.2f} s  max {worst:5.2f} s{exits}"


async def main(runs: int) -> None:
    cases = {
        "stop: SIGTERM while connected": lambda: stop_connected(signal.SIGTERM),
        "stop: SIGINT while connected": lambda: stop_connected(signal.SIGINT),
        "stop: SIGTERM on a dead link": stop_on_a_dead_link,
        "stop: SIGTERM while Slack answers 503": stop_while_slack_fails,
        "stop: SIGTERM while Slack is unreachable": stop_while_unreachable,
    }
    print(f"scanbot socket, {runs} run(s) each (goal: stop < 10 s, exit 0)")
    for name, case in cases.items():
        results = [await case() for _ in range(runs)]
        print(_line(name, [s for s, _ in results], [c for _, c in results]), flush=True)
    replaced = [await dead_link_replaced() for _ in range(runs)]
    print(_line("dead link replaced (goal: ~10 s)", replaced))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
