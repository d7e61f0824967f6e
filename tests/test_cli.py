"""The `scanbot` command as an admin runs it: real processes, the sandbox as HostedScan."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from scanbot.cli import status_lines
from scanbot.domain.events import Alert, EventKind, ScanEvent
from scanbot.domain.operations import Begun, OperationKind, OperationStatus
from scanbot.domain.outbox import OutboxRow, OutboxStatus
from scanbot.domain.scans import ScanSummary
from scanbot.domain.status import Status
from scanbot.domain.subscriptions import Subscription
from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background
from scanbot.store import Store, database_url


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    world = SandboxWorld(seed=3, scans=40, clock=SimClock(speed=0.0))
    async with serve_in_background(create_sandbox_app(world)) as url:
        yield url


async def scanbot(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run `python -m scanbot ARGS` with only `env` (plus PATH) as its environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scanbot",
        *args,
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_scans_prints_the_card_as_text(sandbox_url: str) -> None:
    env = {"HOSTEDSCAN_API_KEY": SANDBOX_API_KEY, "HOSTEDSCAN_API_URL": sandbox_url}
    code, out, _ = await scanbot("scans", "finished", env=env)
    assert code == 0
    assert "finished scans" in out or "scans" in out
    assert "[ Details ]" in out


async def test_scan_prints_the_block_kit_payload_with_json(sandbox_url: str) -> None:
    env = {"HOSTEDSCAN_API_KEY": SANDBOX_API_KEY, "HOSTEDSCAN_API_URL": sandbox_url}
    code, out, _ = await scanbot("scans", "--json", env=env)
    first = json.loads(out)["blocks"][1]
    assert code == 0
    assert first["type"] in ("section", "context")
    scan_id = next(
        block["accessory"]["value"]
        for block in json.loads(out)["blocks"]
        if block.get("accessory", {}).get("type") == "button"
    )
    code, out, _ = await scanbot("scan", scan_id, "--json", env=env)
    assert code == 0
    assert scan_id in out


async def test_a_rejected_key_says_so_and_exits_1(sandbox_url: str) -> None:
    env = {"HOSTEDSCAN_API_KEY": "not-the-key-123", "HOSTEDSCAN_API_URL": sandbox_url}
    code, out, err = await scanbot("scans", env=env)
    assert code == 1
    assert "rejected" in out
    assert "not-the-key-123" not in out + err


@pytest.mark.parametrize(
    ("args", "env", "variable"),
    [
        (["scans"], {}, "HOSTEDSCAN_API_KEY"),
        (["serve"], {"HOSTEDSCAN_API_KEY": "k"}, "SLACK_BOT_TOKEN"),
        (
            ["serve"],
            {"HOSTEDSCAN_API_KEY": "k", "SLACK_BOT_TOKEN": "xoxb-1"},
            "SLACK_SIGNING_SECRET",
        ),
        (["socket"], {"HOSTEDSCAN_API_KEY": "k", "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        (["serve"], {"SLACK_BOT_TOKEN": "xoxp-user-token-secret"}, "SLACK_BOT_TOKEN"),
        (["scans"], {"HOSTEDSCAN_API_URL": "ftp://nope"}, "HOSTEDSCAN_API_URL"),
        (["status"], {"SCANBOT_DATABASE_URL": "mysql://u:hunter2@h/db"}, "SCANBOT_DATABASE_URL"),
    ],
)
async def test_missing_or_malformed_settings_stop_with_one_sentence(
    args: list[str], env: dict[str, str], variable: str, tmp_path: object
) -> None:
    code, _, err = await scanbot(*args, env=env)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("scanbot: ")
    assert variable in line
    for value in env.values():
        if len(value) > 3:
            assert value not in line
    assert "hunter2" not in line


async def test_poll_once_and_status(sandbox_url: str, tmp_path: object) -> None:
    env = {
        "HOSTEDSCAN_API_KEY": SANDBOX_API_KEY,
        "HOSTEDSCAN_API_URL": sandbox_url,
        "SLACK_BOT_TOKEN": "xoxb-unused-here",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # no alert is due: Slack is not called
        "SCANBOT_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
    }
    code, out, _ = await scanbot("poll", "--once", env=env)
    assert code == 0
    assert "poll cycle 1 (baseline): 40 listed" in out
    code, out, _ = await scanbot("status", env=env)
    assert code == 0
    assert "database: sqlite" in out
    assert "last poll cycle: 20" in out  # a timestamp
    assert "sending: ok" in out


def test_status_lines_render_every_part_of_the_status() -> None:
    event = ScanEvent(kind=EventKind.FINISHED, summary=ScanSummary(scan_id="scan-1"))
    parked = OutboxRow(
        id=7,
        alert=Alert(channel_id="C9", event=event),
        status=OutboxStatus.PARKED,
        attempts=1,
        last_error="channel_not_found",
    )
    status = Status(
        database="postgresql",
        last_cycle_at="2026-11-01T12:00:00+00:00",
        poll_failures=3,
        polling_down_since="2026-11-01T11:00:00+00:00",
        sending_paused="token_revoked",
        resend_check_unavailable="missing_scope (C9)",
        outbox={"sent": 2, "parked": 1},
        parked=(parked,),
        subscriptions=(
            Subscription(id=1, channel_id="C1"),
            Subscription(id=2, channel_id="C9", disabled_reason="channel_not_found"),
        ),
    )
    assert status_lines(status) == [
        "status: degraded",
        "database: postgresql",
        "last poll cycle: 2026-11-01T12:00:00+00:00",
        "poll failures in a row: 3",
        "polling down since: 2026-11-01T11:00:00+00:00",
        "sending PAUSED: token_revoked",
        "lost answers NOT checked (may show twice): missing_scope (C9); grant "
        "channels:history and groups:history, or invite scanbot",
        "outbox: 1 parked, 2 sent",
        "subscriptions: 2",
        "  #2 in C9 disabled: channel_not_found",
        "parked alerts (newest first):",
        "  C9 scan-1 finished: channel_not_found",
    ]
    assert status_lines(Status(database="sqlite")) == [
        "status: ok",
        "database: sqlite",
        "last poll cycle: never",
        "poll failures in a row: 0",
        "polling: ok",
        "sending: ok",
        "lost answers: looked for before posting again",
        "outbox: empty",
        "subscriptions: 0",
    ]


async def test_audit_prints_the_operations_newest_first(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/audit.sqlite3"
    store = await Store.open(database_url({}, url))
    try:
        for n, status in enumerate((OperationStatus.DONE, OperationStatus.REFUSED)):
            begun = await store.operations.begin(
                key=f"run:{n}",
                user_id="U0ALICE",
                kind=OperationKind.RUN,
                channel_id="C0SECOPS",
                request={"type": "NMAP", "targets": [f"h{n}.example.com"]},
                at=datetime(2026, 11, 30, 9, n, tzinfo=UTC),
            )
            assert isinstance(begun, Begun)
            answer = "QUEUED" if n == 0 else "Target\x1b[31m is\nnot verified"
            await store.operations.finish(
                begun.operation.id,
                status,
                at=datetime(2026, 11, 30, 9, n, 1, tzinfo=UTC),
                answer=answer,
                hostedscan_id="scan-1" if n == 0 else None,
            )
    finally:
        await store.close()
    code, out, _ = await scanbot("audit", env={"SCANBOT_DATABASE_URL": url})
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "operations 1 to 2 of 2, newest first:"
    assert lines[1].split("\t")[1:6] == ["U0ALICE", "run", "C0SECOPS", "refused", "-"]
    assert lines[1].endswith("Target?[31m is not verified")  # no terminal escape
    assert lines[2].split("\t")[4:6] == ["done", "scan-1"]
    assert '"targets":["h0.example.com"]' in lines[2]
    code, out, _ = await scanbot("audit", "--offset", "5", env={"SCANBOT_DATABASE_URL": url})
    assert out.strip() == "no operations recorded (2 in all)"
