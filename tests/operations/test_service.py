"""The operations service on its own, against the sandbox, the fake Slack and a store on
SQLite and PostgreSQL: the sealed form, one scan per form and per re-run under concurrency
on both databases, the report's bounded wait, and the finish notice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.domain.events import Snapshot
from scanbot.domain.operations import OperationStatus
from scanbot.domain.scans import ScanSummary
from scanbot.hostedscan import HostedScanClient
from scanbot.operations import sentences
from scanbot.operations.service import Caller, Operations, RunForm
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.scans.parse import MakeReport, RunScan
from scanbot.serving import serve_in_background
from scanbot.slack import actions
from scanbot.slack.notifier import Notifier
from scanbot.slack.people import People
from scanbot.slack.permissions import Permissions
from scanbot.store import Store
from tests.store.conftest import database, store  # noqa: F401 - fixtures used by name

ALICE, CAROL = "U0ALICE", "U0CAROL"
CHANNEL = "C0SECOPS"
KEY = actions.seal_key("operations-tests-secret")
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@dataclass
class Env:
    operations: Operations
    world: SandboxWorld
    controls: SandboxControls
    slack: FakeSlack
    store: Store
    pauses: list[float] = field(default_factory=list)


@pytest.fixture
async def env(store: Store) -> AsyncIterator[Env]:  # noqa: F811 - the store fixture
    world = SandboxWorld(clock=SimClock(speed=0.0), seed=7, scans=20)
    sandbox = create_sandbox_app(world)
    fake = FakeSlack(bot_token="xoxb-operations-tests")
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    async with serve_in_background(sandbox) as api, serve_in_background(fake.app) as slack_url:
        hostedscan = HostedScanClient.create(api, SANDBOX_API_KEY)
        slack = Notifier(AsyncWebClient(token=fake.bot_token, base_url=f"{slack_url}/api/"))
        permissions = Permissions(slack, People(slack), operators=frozenset({ALICE, CAROL}))
        operations = Operations(
            store,
            slack,
            hostedscan,
            permissions,
            seal_key=KEY,
            run_limit=100,
            clock=lambda: T0,
            report_wait=5.0,
            sleep=sleep,
        )
        try:
            yield Env(operations, world, sandbox.state.controls, fake, store, pauses)
        finally:
            await hostedscan.aclose()


def caller(user: str = ALICE) -> Caller:
    return Caller(user, "T0FAKE", CHANNEL, "1.trigger")


async def open_form(env: Env, command: RunScan) -> RunForm:
    assert await env.operations.command(command, caller()) is None  # a modal opened
    view = env.slack.calls_to("views.open")[-1].body["view"]
    form = env.operations.run_form(view["private_metadata"])
    assert form is not None
    return form


async def test_the_form_is_sealed(env: Env) -> None:
    form = await open_form(env, RunScan("NMAP", hosts=("example.com",)))
    assert (form.scan_type, form.field, form.values) == ("NMAP", "targets", ("example.com",))
    assert (form.channel_id, form.user_id) == (CHANNEL, ALICE)
    sealed = env.slack.calls_to("views.open")[-1].body["view"]["private_metadata"]
    text, _, mac = sealed.rpartition(".")
    forged = actions.seal(text.replace("example.com", "evil.example"), b"another key")
    assert env.operations.run_form(forged) is None
    assert env.operations.run_form(text.replace("NMAP", "OPENVAS") + "." + mac) is None
    assert env.operations.run_form("") is None
    assert env.operations.run_form(actions.seal('{"v":2}', KEY)) is None


async def test_concurrent_confirmations_start_one_scan(env: Env) -> None:
    form = await open_form(env, RunScan("NMAP", hosts=("example.com",)))
    answers = await asyncio.gather(
        *(
            env.operations.confirm_run(form, ALICE, "T0FAKE", use_authentication=False)
            for _ in range(6)
        )
    )
    assert len(env.controls.write_bodies("/v1/scans")) == 1
    (row,), total = await env.store.operations.page()
    assert total == 1
    assert row.status is OperationStatus.DONE
    for answer in answers:
        assert (row.hostedscan_id or "?") in str(answer) or answer["text"] == (
            sentences.ALREADY_UNDER_WAY
        )


async def test_concurrent_rescans_by_two_people_start_one_scan(env: Env) -> None:
    old = env.world.add_scan(type="OPENVAS", state="FAILED", targets=["shop.example.com"])
    answers = await asyncio.gather(
        *(env.operations.rescan(old, caller(user)) for user in (ALICE, CAROL, ALICE, CAROL))
    )
    assert len(env.controls.write_bodies("/v1/scans")) == 1
    (row,), _ = await env.store.operations.page()
    assert row.request["rescan_of"] == old
    assert sum((row.hostedscan_id or "?") in str(a) for a in answers) >= 1


async def test_the_report_waits_with_growing_pauses_then_gives_up(env: Env) -> None:
    env.world.time_next_report(never=True)
    answer = await env.operations.command(MakeReport(), caller())
    assert answer is None  # said in the channel
    assert env.pauses[:4] == [0.5, 1.0, 2.0, 4.0]
    late = env.slack.channels[CHANNEL][-1]
    assert "had not finished" in late["text"]
    assert env.slack.uploads == {}


async def test_the_starter_is_told_once_when_the_scan_finished(env: Env) -> None:
    form = await open_form(env, RunScan("NMAP", hosts=("example.com",)))
    await env.operations.confirm_run(form, ALICE, "T0FAKE", use_authentication=False)
    (row,), _ = await env.store.operations.page()
    scan_id = row.hostedscan_id or ""
    assert await env.operations.notify_finished() == 0  # not observed yet
    summary = ScanSummary(scan_id=scan_id, type="NMAP", state="SUCCEEDED")
    await env.store.snapshots.record([Snapshot(summary=summary, last_seen=T0)], [])
    told = await asyncio.gather(*(env.operations.notify_finished() for _ in range(3)))
    assert sum(told) == 1
    (dm,) = env.slack.channels[ALICE]  # no alert thread: a DM
    assert scan_id in str(dm["blocks"])
