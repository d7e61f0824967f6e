"""What a 50 MB request costs a real `scanbot serve`: its peak RSS growth and the time
until it refuses, for unsigned and signed bodies, declared by Content-Length or chunked.

Run `.venv/bin/python bench/edges.py` (`--help` for the knobs). It prints figures and
exits 0 whether the goal (under 5 MB of growth each) is met or not: it is a benchmark,
not a test. `--src DIR` runs the server from another checkout (e.g. `--src /work/main`
for the figures before the body cap), with this checkout's virtualenv.

Layout: the sandbox (as HostedScan) and a fake Slack run in this process, `scanbot serve`
in its own; each request goes over a raw socket that writes the body as fast as the
server takes it while reading the answer. Growth is the server's VmHWM (peak RSS) after
the request minus its RSS just before, with the peak reset in between
(/proc/<pid>/clear_refs, Linux).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

from scanbot.hostedscan.webhooks import signed_headers as hostedscan_signed_headers
from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_user import signed_headers, slash_command
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background

HOST = "127.0.0.1"
BOT_TOKEN = "xoxb-bench-bot-token-0123456789"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef"
GOAL_MB = 5.0
PIECE = 64 * 1024
ANSWER_SECONDS = 120.0  # a server that reads and parses 50 MB takes a while; then give up
STARTUP_SECONDS = 30.0


@dataclass(frozen=True)
class Case:
    path: str
    signed: bool
    chunked: bool

    @property
    def label(self) -> str:
        how = "chunked" if self.chunked else "Content-Length"
        return f"{self.path} {'signed' if self.signed else 'unsigned'}, {how}"


CASES = [
    Case(path, signed, chunked)
    for path in ("/slack/events", "/hostedscan/webhook")
    for signed in (False, True)
    for chunked in (False, True)
]


@dataclass
class Outcome:
    status: int | None  # None: the server closed or reset the connection without one
    seconds: float  # from the first byte sent to the answer (or the hang-up)
    sent: int  # body bytes the client got to write before that
    growth_mb: float


# --- The server and what it reports about itself ---------------------------------------


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS


@contextlib.asynccontextmanager
async def scanbot_serve(
    workdir: Path, sandbox_url: str, slack_url: str, src: str | None
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HOSTEDSCAN_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{slack_url}/api/",
        HOSTEDSCAN_API_KEY=SANDBOX_API_KEY,
        HOSTEDSCAN_API_URL=sandbox_url,
        HOSTEDSCAN_WEBHOOK_SECRET=WEBHOOK_SECRET,
        SCANBOT_POLL_INTERVAL="3600",
        SCANBOT_LOG_LEVEL="WARNING",
    )
    if src:
        env["PYTHONPATH"] = src
    with (workdir / "serve.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "scanbot", "serve", "--host", HOST, "--port", str(port),
            env=env, cwd=workdir, stdout=log, stderr=log,
        )  # fmt: skip
    base = f"http://{HOST}:{port}"
    try:
        await _wait_healthy(base, process)
        yield process, base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_healthy(base: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline and process.returncode is None:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{base}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("scanbot serve did not become healthy; see serve.log")


# --- One request ----------------------------------------------------------------------


def body_for(case: Case, size: int, response_url: str) -> bytes:
    if case.path == "/slack/events":
        fields = slash_command("/scan", "", response_url=response_url)
        prefix = urlencode(fields).encode() + b"&pad="
    else:
        prefix = b'{"id": "evt-bench", "type": "scan.updated", "data": {"pad": "'
    suffix = b"" if case.path == "/slack/events" else b'"}}'
    return prefix + b"a" * (size - len(prefix) - len(suffix)) + suffix


def headers_for(case: Case, body: bytes) -> dict[str, str]:
    if case.path == "/slack/events":
        signed = signed_headers(SIGNING_SECRET, body.decode()) if case.signed else {}
        return {"Content-Type": "application/x-www-form-urlencoded", **signed}
    signed = hostedscan_signed_headers(WEBHOOK_SECRET, body) if case.signed else {}
    return {"Content-Type": "application/json", **signed}


def request_head(case: Case, body: bytes, headers: dict[str, str]) -> bytes:
    framing = (
        {"Transfer-Encoding": "chunked"} if case.chunked else {"Content-Length": str(len(body))}
    )
    lines = [f"POST {case.path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in {**headers, **framing}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def pieces(body: bytes, chunked: bool) -> Iterator[bytes]:
    view = memoryview(body)
    for start in range(0, len(body), PIECE):
        piece = bytes(view[start : start + PIECE])
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


async def push(base: str, head: bytes, body: Iterator[bytes]) -> tuple[int | None, float, int]:
    """Write `head` and `body` as fast as the server reads, while waiting for its answer:
    (status or None, seconds to the answer or hang-up, body bytes written by then)."""
    port = int(base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection(HOST, port)
    sent = 0

    async def write_body() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError, OSError):
            for piece in body:
                writer.write(piece)
                await writer.drain()
                sent += len(piece)

    started = time.perf_counter()
    writer.write(head)
    writing = asyncio.create_task(write_body())
    try:
        line = await asyncio.wait_for(reader.readline(), ANSWER_SECONDS)
    except (ConnectionError, OSError, TimeoutError):
        line = b""
    seconds = time.perf_counter() - started
    writing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writing
    writer.close()
    status = int(line.split()[1]) if line.startswith(b"HTTP/") else None
    return status, seconds, sent


async def measure(case: Case, base: str, pid: int, size: int, response_url: str) -> Outcome:
    body = body_for(case, size, response_url)
    head = request_head(case, body, headers_for(case, body))
    await asyncio.sleep(0.5)  # let the previous case's garbage go
    reset_peak(pid)
    before = rss_kb(pid, "VmHWM")
    status, seconds, sent = await push(base, head, pieces(body, case.chunked))
    await asyncio.sleep(0.5)  # a server still working on the body peaks meanwhile
    growth = (rss_kb(pid, "VmHWM") - before) / 1024
    return Outcome(status, seconds, min(sent, size), growth)


# --- The run -------------------------------------------------------------------------


async def run(options: argparse.Namespace) -> str:
    size = options.size_mb * 1_000_000
    world = SandboxWorld(seed=1, scans=20, clock=SimClock(speed=0.0))
    slack = FakeSlack(bot_token=BOT_TOKEN)
    with tempfile.TemporaryDirectory(prefix="scanbot-edges-") as workdir:
        async with (
            serve_in_background(create_sandbox_app(world)) as sandbox_url,
            serve_in_background(slack.app) as slack_url,
            scanbot_serve(Path(workdir), sandbox_url, slack_url, options.src) as (process, base),
        ):
            start_rss = rss_kb(process.pid, "VmRSS") / 1024
            rows = []
            for case in CASES:
                outcome = await measure(
                    case, base, process.pid, size, slack.response_url(slack_url)
                )
                rows.append((case, outcome))
            alive = await _still_serving(base)
    return report(rows, options, start_rss, alive)


async def _still_serving(base: str) -> bool:
    async with httpx.AsyncClient(timeout=5) as http:
        try:
            return (await http.get(f"{base}/healthz")).status_code == 200
        except httpx.TransportError:
            return False


def report(
    rows: list[tuple[Case, Outcome]], options: argparse.Namespace, start_rss: float, alive: bool
) -> str:
    lines = [
        f"scanbot edges bench: {options.size_mb} MB bodies against a real `scanbot serve`"
        + (f" from {options.src}" if options.src else ""),
        f"  server RSS at start: {start_rss:.0f} MB; goal: growth under {GOAL_MB:.0f} MB each",
        "",
        f"  {'request':<46}{'answer':>8}{'refused in':>13}{'client sent':>14}{'RSS growth':>13}",
    ]
    for case, outcome in rows:
        answer = str(outcome.status) if outcome.status else "hang-up"
        lines.append(
            f"  {case.label:<46}{answer:>8}{outcome.seconds * 1000:>10.1f} ms"
            f"{outcome.sent / 1e6:>11.1f} MB{outcome.growth_mb:>10.1f} MB"
        )
    worst = max(outcome.growth_mb for _, outcome in rows)
    verdict = "PASS" if worst < GOAL_MB else "FAIL"
    lines += [
        "",
        f"  largest growth: {worst:.1f} MB (goal < {GOAL_MB:.0f} MB): {verdict}",
        f"  server still answers /healthz afterwards: {'yes' if alive else 'NO'}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=50, help="body size in MB (10^6 bytes)")
    parser.add_argument("--src", help="run `scanbot serve` from this checkout (PYTHONPATH)")
    if not Path("/proc/self/clear_refs").exists():
        sys.exit("bench/edges.py reads peak RSS from /proc: it runs on Linux only")
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
