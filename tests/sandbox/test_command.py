"""`scanbot sandbox` as a real process: it serves the API with the key, and `--quota`."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator

import pytest

from scanbot.hostedscan import HostedScanClient, Unauthorized
from scanbot.sandbox.server import SANDBOX_API_KEY

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    """`scanbot sandbox --quota 1` on a free port, fast enough that scans end in moments."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scanbot",
        "sandbox",
        "--port",
        "0",
        "--scans",
        "5",
        "--speed",
        "20000",
        "--quota",
        "1",
        env={"PATH": os.environ.get("PATH", "")},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(30):
            while True:
                line = (await process.stderr.readline()).decode()
                assert line, "the sandbox exited before it served"
                found = re.search(r"HostedScan sandbox at (http://\S+) \(API key: ", line)
                if found:
                    assert "quota 1 scans per 30 days" in line
                    break
        yield found.group(1)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


async def ended(client: HostedScanClient, scan_id: str) -> str:
    async with asyncio.timeout(20):
        while True:
            scan = await client.get_scan(scan_id)
            if scan.state not in ("QUEUED", "RUNNING"):
                return scan.state
            await asyncio.sleep(0.05)


async def test_the_command_serves_the_api_and_its_quota(sandbox_url: str) -> None:
    async with HostedScanClient.create(sandbox_url, SANDBOX_API_KEY) as client:
        first = await client.start_scan("SSLYZE", targets=["a.example.com"])
        second = await client.start_scan("SSLYZE", targets=["a.example.com"])
        assert await ended(client, second.id) == "OVER_LIMIT"
        assert await ended(client, first.id) in ("SUCCEEDED", "FAILED")
        old = [r async for r in client.list_risks(statuses=["OPEN"])]
        assert len(old) >= 500  # the command's sandbox has a backlog of older risks
    async with HostedScanClient.create(sandbox_url, "not-the-key") as stranger:
        with pytest.raises(Unauthorized):
            await stranger.get_scan(first.id)
