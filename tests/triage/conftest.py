"""Triage against real loopback servers: the fake Slack, the sandbox as HostedScan, and a
store on SQLite and PostgreSQL (the store fixtures of tests/store)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.alerts.risks import RiskDetails
from scanbot.domain.events import Alert, EventKind, RiskDetail, ScanEvent, Snapshot
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import AlertThread, SnoozeChoice, TriageView
from scanbot.hostedscan import HostedScanClient, Risk, Scan
from scanbot.sandbox.server import SANDBOX_API_KEY, SandboxControls, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background
from scanbot.slack import actions
from scanbot.slack.kit import Message
from scanbot.slack.notifier import Notifier
from scanbot.store import Store
from scanbot.triage.service import Triage
from tests.store.conftest import database, store  # noqa: F401 - fixtures used by name

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0SECOPS"
SEAL_KEY = actions.seal_key("triage-tests-signing-secret")

Json = dict[str, Any]


class Clock:
    """The service's clock: stands still until a test moves it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def _message(text: str) -> Message:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _modal(title: str, text: str) -> Json:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


class StubRenderer:
    """The smallest messages that say which renderer made them and with what."""

    def acknowledged(self, user_id: str, at: datetime) -> Message:
        return _message(f"acknowledged by {user_id} at {at.isoformat()}")

    def unacknowledged(self, user_id: str) -> Message:
        return _message(f"unacknowledged by {user_id}")

    def assigned(self, assignee: str | None, by: str, note: str = "") -> Message:
        return _message(f"assigned to {assignee} by {by} note={note}")

    def snoozed(self, by: str, choice: SnoozeChoice, until: datetime | None) -> Message:
        return _message(f"snoozed by {by} for {choice.value} until {until}")

    def unsnoozed(self, by: str) -> Message:
        return _message(f"unsnoozed by {by}")

    def muted(self, by: str) -> Message:
        return _message(f"muted by {by}")

    def unmuted(self, by: str) -> Message:
        return _message(f"unmuted by {by}")

    def held_summary(self, alerts: Sequence[Alert], why: str) -> Message:
        return _message(f"held {len(alerts)} while {why}")

    def risks_list(self, summary: ScanSummary, risks: Sequence[RiskDetail], total: int) -> Message:
        ids = ",".join(r.risk_id for r in risks)
        return _message(f"risks of {summary.scan_id} {len(risks)}/{total}: {ids}")

    def risk_modal_loading(self, risk_id: str) -> Json:
        return _modal("Loading", f"loading {risk_id}")

    def risk_modal(self, risk: Risk) -> Json:
        return _modal("Risk", f"risk {risk.id}: {risk.risk_definition.title}")

    def risk_modal_unavailable(self, risk_id: str, reason: str) -> Json:
        return _modal("Unavailable", f"unavailable {risk_id}: {reason}")

    def assign_modal(
        self, scan_id: str, channel_id: str, message_ts: str, current: str | None, *, key: bytes
    ) -> Json:
        modal = _modal("Assign", f"assign {scan_id} {channel_id} {message_ts} current={current}")
        modal["private_metadata"] = actions.seal(actions.compact_json([scan_id, channel_id]), key)
        return modal

    def parse_assign_metadata(self, text: str, *, key: bytes) -> tuple[str, str, str]:
        scan_id, channel_id = json.loads(actions.unseal(text, key))
        return scan_id, channel_id, "ts"

    def report_missing(self, scan_id: str) -> Message:
        return _message(f"no report for {scan_id}")

    def report_comment(self, scan_id: str, content_type: str, by: str) -> str:
        return f"report of {scan_id} ({content_type}) for {by}"

    def parent_card(self, summary: ScanSummary, *, triage: TriageView, now: datetime) -> Message:
        acks = ",".join(a.user_id for a in triage.acknowledgements)
        snooze = triage.snoozed_until.isoformat() if triage.snoozed_until else None
        return _message(
            f"card {summary.scan_id} {summary.state} acks=[{acks}] assignee={triage.assignee} "
            f"snoozed={snooze or triage.snoozed_in_state} muted={triage.muted} "
            f"progress={summary.progress} drawn={now.isoformat()}"
        )


@dataclass
class Harness:
    """A Triage wired to loopback servers, and what tests steer and read."""

    triage: Triage
    store: Store
    slack: FakeSlack
    client: AsyncWebClient
    world: SandboxWorld
    sandbox: SandboxControls
    hostedscan: HostedScanClient
    clock: Clock
    render: StubRenderer = field(default_factory=StubRenderer)

    def scan(self, state: str = "SUCCEEDED", *, risks: int = 3, **options: Any) -> str:
        """A scan in the sandbox that stays as it is."""
        options.setdefault("type", "OPENVAS")
        options.setdefault("targets", ["app.example.com", "db.example.com"])
        return self.world.add_scan(state=state, risks=risks, **options)

    def another_triage(
        self, *, render: StubRenderer | None = None, seal_key: bytes = SEAL_KEY
    ) -> Triage:
        """Another Triage on the same store and servers: another replica, or other wiring."""
        render = render or self.render
        return Triage(
            self.store,
            Notifier(self.client, clock=self.clock, parent_card=render.parent_card),
            self.hostedscan,
            RiskDetails(self.hostedscan),
            clock=self.clock,
            render=render,
            seal_key=seal_key,
        )

    def summary(self, scan_id: str) -> ScanSummary:
        scan = self.world.get_scan(scan_id)
        assert scan is not None
        return ScanSummary.of(Scan.model_validate(scan))

    def snapshot(self, scan_id: str) -> Snapshot:
        """What the poller stores about the scan as the sandbox has it now."""
        return Snapshot(summary=self.summary(scan_id), last_seen=self.clock())

    async def thread(self, scan_id: str, channel: str = CHANNEL) -> AlertThread:
        """What the sender leaves behind: a parent in Slack, a thread and its row in the store."""
        summary = self.summary(scan_id)
        posted = await self.client.chat_postMessage(channel=channel, text=f"parent {scan_id}")
        alert = Alert(
            channel_id=channel,
            event=ScanEvent(kind=EventKind.FINISHED, summary=summary),
            created_at=self.clock(),
        )
        assert await self.store.snapshots.record([self.snapshot(scan_id)], [alert]) == 1
        row = next(r for r in await self.store.outbox.due() if r.alert.key == alert.key)
        await self.store.threads.start(row.id, alert, str(posted["ts"]), "card")
        thread = await self.store.threads.get(scan_id, channel)
        assert thread is not None
        return thread

    async def held_alert(self, thread: AlertThread, kind: EventKind = EventKind.RISKS) -> int:
        """An alert for the thread that the sender held (the thread was quiet)."""
        event = ScanEvent(kind=kind, summary=thread.summary, risk_ids=(f"r-{kind.value}",))
        alert = Alert(channel_id=thread.channel_id, event=event, created_at=self.clock())
        assert await self.store.snapshots.record([], [alert]) == 1
        row = next(r for r in await self.store.outbox.due() if r.alert.key == alert.key)
        await self.store.outbox.hold(row.id)
        return row.id

    async def stored(self, thread: AlertThread) -> AlertThread:
        fresh = await self.store.threads.get(thread.scan_id, thread.channel_id)
        assert fresh is not None
        return fresh

    def replies(self, thread: AlertThread) -> list[Json]:
        return [
            m
            for m in self.slack.thread(thread.channel_id, thread.parent_ts)
            if m["ts"] != thread.parent_ts
        ]

    def parent(self, thread: AlertThread) -> Json:
        message = self.slack.message(thread.channel_id, thread.parent_ts)
        assert message is not None
        return message

    def reply_texts(self, thread: AlertThread) -> list[str]:
        return [str(m.get("text", "")) for m in self.replies(thread)]


@contextlib.asynccontextmanager
async def wired(opened: Store, slack: FakeSlack | None = None) -> AsyncIterator[Harness]:
    """A Triage on the store `opened`, with a fresh sandbox (no scans but those a test adds)."""
    slack = slack or FakeSlack()
    world = SandboxWorld(seed=7, scans=0, arrivals_per_hour=0, clock=SimClock(speed=0.0))
    sandbox_app = create_sandbox_app(world)
    async with (
        serve_in_background(sandbox_app) as sandbox_url,
        serve_in_background(slack.app) as slack_url,
    ):
        client = AsyncWebClient(token=slack.bot_token, base_url=f"{slack_url}/api/")
        # One attempt: a scripted 503 is the answer, not something to wait out.
        hostedscan = HostedScanClient.create(sandbox_url, SANDBOX_API_KEY, max_attempts=1)
        clock = Clock()
        render = StubRenderer()
        triage = Triage(
            opened,
            Notifier(client, clock=clock, parent_card=render.parent_card),
            hostedscan,
            RiskDetails(hostedscan),
            clock=clock,
            render=render,
            seal_key=SEAL_KEY,
        )
        try:
            yield Harness(
                triage,
                opened,
                slack,
                client,
                world,
                sandbox_app.state.controls,
                hostedscan,
                clock,
                render,
            )
        finally:
            await hostedscan.aclose()


@pytest.fixture
async def harness(store: Store) -> AsyncIterator[Harness]:  # noqa: F811 - the fixture
    async with wired(store) as wired_harness:
        yield wired_harness


U1, U2 = "U0ALICE", "U0BOB"


def slack_methods(h: Harness, since: int = 0) -> list[str]:
    return [call.method for call in h.slack.calls[since:]]


async def audit_actions(h: Harness, scan_id: str) -> list[tuple[str, str, str]]:
    entries = await h.store.triage.audit(scan_id, CHANNEL)
    return [(e.user_id, e.action, e.detail) for e in entries]


def edits_of(h: Harness, thread: AlertThread) -> int:
    return sum(call.body.get("ts") == thread.parent_ts for call in h.slack.calls_to("chat.update"))
