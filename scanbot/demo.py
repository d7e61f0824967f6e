"""`scanbot demo`: the product, with no configuration, against the sandbox and a stand-in Slack.

It starts the sandbox API, a local stand-in of Slack and the real app in this process,
then plays a person in Slack: signed slash commands and button clicks go over HTTP to
the app's real endpoint, and each answer is printed the way Slack would show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import httpx

from scanbot.app import Runtime, open_runtime
from scanbot.domain.clock import utcnow
from scanbot.domain.summaries import DailyCount
from scanbot.sandbox.server import SANDBOX_API_KEY, create_sandbox_app
from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_user import (
    block_action,
    post_signed,
    slash_command,
    view_submission,
)
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background
from scanbot.settings import Settings, load_settings
from scanbot.slack import actions
from scanbot.slack.terminal import render_text
from scanbot.web import create_web_app

DEMO_SEED = 42
DEMO_USER = "U0ALICE"  # the stand-in user: an operator and an admin in the demo
CHART_FILE = "scanbot-demo-summary.png"
CHANNEL = "C0SECOPS"  # where the stand-in user types; slash_command's default channel
PROMPT = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"


@dataclass
class Tour:
    """A person in the demo workspace: sends what Slack would send, prints what it shows."""

    http: httpx.AsyncClient
    slack: FakeSlack
    slack_url: str
    events_url: str
    signing_secret: str
    out: TextIO

    async def command(self, command: str, text: str = "") -> dict[str, Any]:
        self._say(f"{command} {text}".strip())
        url = self.slack.response_url(self.slack_url)
        await post_signed(
            self.http,
            self.events_url,
            self.signing_secret,
            slash_command(command, text, response_url=url),
        )
        return await self._shown(url)

    async def click(
        self, message: dict[str, Any], kind: str, *, shared: bool = False
    ) -> dict[str, Any]:
        button = find_button(message, kind)
        self._say(f"clicks [ {button['text']['text']} ]")
        url = self.slack.response_url(self.slack_url)
        form = block_action(
            button["action_id"], button.get("value", ""), response_url=url, is_ephemeral=not shared
        )
        await post_signed(self.http, self.events_url, self.signing_secret, form)
        return await self._shown(url)

    async def act_on(
        self,
        parent: dict[str, Any],
        kind: str,
        *,
        user: str = "U0ALICE",
        selected: str | None = None,
    ) -> None:
        """Click a button (or pick an option) on an alert's parent in the channel."""
        element, block_id = find_element(parent, kind)
        label = selected or element.get("text", {}).get("text", kind)
        self._say(f"clicks [ {label} ] on scan {_scan_of(parent)}'s alert", user=user)
        url = self.slack.response_url(self.slack_url)
        form = block_action(
            element["action_id"],
            str(element.get("value", "")),
            response_url=url,
            is_ephemeral=False,
            user_id=user,
            message_ts=parent["ts"],
            block_id=block_id,
            selected=selected,
        )
        await post_signed(self.http, self.events_url, self.signing_secret, form)

    async def submit(self, view: dict[str, Any], values: dict[str, Any]) -> None:
        self._say("fills in the form and presses [ Assign ]")
        form = view_submission(view["callback_id"], view["private_metadata"], values)
        await post_signed(self.http, self.events_url, self.signing_secret, form)

    async def command_only(self, command: str, text: str = "") -> None:
        """A command whose answer is a form or a message in the channel, not a reply."""
        self._say(f"{command} {text}".strip())
        url = self.slack.response_url(self.slack_url)
        form = slash_command(command, text, response_url=url)
        await post_signed(self.http, self.events_url, self.signing_secret, form)

    def say(self, what: str) -> None:
        self._say(what)

    def _say(self, what: str, *, user: str = "U0ALICE") -> None:
        name = user.removeprefix("U0").lower()
        print(f"\n\033[1m{PROMPT} {name}: {what}\033[0m", file=self.out)

    async def _shown(self, url: str) -> dict[str, Any]:
        body = (await self.slack.wait_for_response_to(url, timeout=20)).body
        where = (
            "in the channel, for everyone"
            if body.get("response_type") == "in_channel"
            else ("only visible to you")
        )
        print(f"  ({where})", file=self.out)
        print(_indent(render_text(body, ansi=True)), file=self.out)
        return body


@dataclass
class DemoClock:
    """Real time, which the demo moves forward to a summary's time."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


def find_button(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return find_element(message, kind)[0]


def find_element(message: dict[str, Any], kind: str) -> tuple[dict[str, Any], str]:
    """The button or select of `kind` on a message, and the id of its block."""
    for block in message.get("blocks", []):
        candidates = [block.get("accessory") or {}, *block.get("elements", [])]
        for element in candidates:
            if actions.pattern(kind).match(element.get("action_id", "")):
                return dict(element), str(block.get("block_id", ""))
    raise LookupError(f"no {kind} control on this card")


def _scan_of(message: dict[str, Any]) -> str:
    button = find_button(message, actions.DETAILS)
    return str(button.get("value", "?"))


def _indent(text: str) -> str:
    return "\n".join("  │ " + line for line in text.splitlines())


def _in_thread(reply: dict[str, Any]) -> str:
    return "\n".join("  │      " + line for line in render_text(reply, ansi=True).splitlines())


@contextlib.asynccontextmanager
async def _sandbox(world: SandboxWorld) -> AsyncIterator[str]:
    async with serve_in_background(create_sandbox_app(world)) as url:
        yield url


async def run_demo(
    *, real_slack: bool = False, out: TextIO = sys.stdout, chart_dir: Path | None = None
) -> int:
    """The tour; the summary's chart is saved in `chart_dir` (default: the current one)."""
    world = SandboxWorld(seed=DEMO_SEED, scans=120, clock=SimClock(speed=30.0))
    if real_slack:
        return await _run_with_real_slack(world)
    signing_secret = secrets.token_hex(16)
    slack = FakeSlack(bot_token="xoxb-demo-" + secrets.token_hex(8))
    with tempfile.TemporaryDirectory(prefix="scanbot-demo-") as scratch:
        await _run(world, slack, signing_secret, scratch, out, chart_dir or Path.cwd())
    print(
        "\nDemo finished. Run `make test` for the test suite; see README.md to connect a "
        "real Slack workspace.",
        file=out,
    )
    return 0


async def _run(
    world: SandboxWorld,
    slack: FakeSlack,
    signing_secret: str,
    scratch: str,
    out: TextIO,
    chart_dir: Path,
) -> None:
    async with (
        _sandbox(world) as sandbox_url,
        serve_in_background(slack.app) as slack_url,
    ):
        settings = load_settings(
            env_file=None,
            slack_bot_token=slack.bot_token,
            slack_signing_secret=signing_secret,
            slack_api_url=f"{slack_url}/api/",
            hostedscan_api_key=SANDBOX_API_KEY,
            hostedscan_api_url=sandbox_url,
            database_url=f"sqlite:///{scratch}/demo.sqlite3",
            operators=DEMO_USER,
            admins=DEMO_USER,
            report_wait=20,
        )
        clock = DemoClock()
        runtime = await open_runtime(settings, schedule_alerts=False, clock=clock)
        async with (
            serve_in_background(create_web_app(runtime)) as app_url,
            httpx.AsyncClient(timeout=30) as http,
        ):
            print(
                "scanbot demo: a HostedScan sandbox at "
                f"{sandbox_url}, a stand-in for Slack at {slack_url},\n"
                f"and scanbot itself at {app_url}/slack/events. Every step below is a signed "
                "request to scanbot, answered as Slack would show it.",
                file=out,
            )
            tour = Tour(http, slack, slack_url, f"{app_url}/slack/events", signing_secret, out)
            await _tour(tour, world)
            await _alerts_tour(tour, world, runtime)
            await _triage_tour(tour, runtime)
            await _operations_tour(tour, world, runtime)
            await _summary_tour(tour, runtime, clock, chart_dir)


async def _tour(tour: Tour, world: SandboxWorld) -> None:
    await tour.command("/scans", "help")
    listing = await tour.command("/scans")
    await tour.click(listing, actions.NEXT)
    await tour.command("/scans", "active")
    await tour.command("/scans", "finnished")
    running = world.list_scans({"state": ["RUNNING"]})
    scan_id = running[0]["id"] if running else world.list_scans(None)[0]["id"]
    card = await tour.command("/scan", scan_id)
    await asyncio.sleep(2)  # the sandbox's scans move on: a minute of scanning
    card = await tour.click(card, actions.REFRESH)
    shared = await tour.click(card, actions.SHARE)
    await tour.click(shared, actions.REFRESH, shared=True)
    await tour.command("/scan", "../../v1/targets")
    await tour.command("/scan", "no-such-scan")


async def _alerts_tour(tour: Tour, world: SandboxWorld, runtime: Runtime) -> None:
    out = tour.out
    print(f"\n\033[1m{'=' * 20} Channel alerts {'=' * 20}\033[0m", file=out)
    await tour.command("/scans", "subscribe started finished failed risks")
    first = await runtime.alerts.tick()
    if first.cycle is not None:
        print(f"  (scanbot polls: {first.cycle.line()}: a silent baseline)", file=out)
    for _ in range(3):
        world.clock.advance(90)  # a minute and a half of scanning
        report = await runtime.alerts.tick()
        if report.cycle is not None:
            print(f"  (scanbot polls: {report.cycle.line()})", file=out)
    print("\n\033[1m#secops, as the channel shows it:\033[0m", file=out)
    messages = tour.slack.channels.get(CHANNEL, [])
    for parent in (m for m in messages if m.get("thread_ts", m["ts"]) == m["ts"]):
        print(_indent(render_text(parent, ansi=True)), file=out)
        for reply in (m for m in messages if m.get("thread_ts") == parent["ts"] != m["ts"]):
            broadcast = " (also sent to the channel)" if reply.get("reply_broadcast") else ""
            print(f"  │    ↳ in thread{broadcast}:", file=out)
            print(_in_thread(reply), file=out)
        print("  │", file=out)


async def _triage_tour(tour: Tour, runtime: Runtime) -> None:
    out = tour.out
    print(f"\n\033[1m{'=' * 20} On-call triage in the threads {'=' * 20}\033[0m", file=out)
    parents = [m for m in tour.slack.channels.get(CHANNEL, []) if _is_alert_parent(m)]
    if len(parents) < 3:
        print("  (too few alert threads this time to show triage)", file=out)
        return
    # A finished scan shows risks and a report; the others get assigned and snoozed.
    parents.sort(key=lambda m: "succeeded" not in m.get("text", ""))
    first, second, third = parents[:3]
    await tour.act_on(first, actions.ACK)
    await tour.act_on(first, actions.ACK, user="U0BOB")
    await tour.act_on(first, actions.RISKS)
    await tour.act_on(first, actions.REPORT)
    await tour.act_on(second, actions.ASSIGN)
    (opened,) = await tour.slack.wait_for_calls("views.open")
    print("  (a form opens: Assign to…, Note)", file=out)
    await tour.submit(
        opened.body["view"],
        {
            "assignee": {"user": {"type": "users_select", "selected_user": "U0CAROL"}},
            "note": {"text": {"type": "plain_text_input", "value": "Please check the TLS setup"}},
        },
    )
    await tour.act_on(third, actions.SNOOZE, selected="1h")
    await _wait_quiet(runtime)
    for parent in (first, second, third):
        current = tour.slack.message(CHANNEL, parent["ts"]) or parent
        print(f"\n\033[1m#secops, the thread of scan {_scan_of(current)}:\033[0m", file=out)
        _print_thread(tour, current)
    await tour.command("/scans", "triage")


async def _operations_tour(tour: Tour, world: SandboxWorld, runtime: Runtime) -> None:
    """Acting on HostedScan: a scan confirmed and started, a re-scan, a report, the audit."""
    out = tour.out
    print(f"\n\033[1m{'=' * 20} Acting on HostedScan {'=' * 20}\033[0m", file=out)
    await tour.command("/scans", "run openvas shop.example.com 10.0.0.5")
    calls = len(tour.slack.calls_to("views.open"))
    await tour.command_only("/scans", "run openvas shop.example.com https://shop.example.com/")
    await _wait_quiet(runtime)
    opened = tour.slack.calls_to("views.open")[calls:]
    if opened:
        view = opened[-1].body["view"]
        print("  (a form opens: Start a scan)", file=out)
        print(_indent(render_text({"text": "", "blocks": view["blocks"]}, ansi=True)), file=out)
        tour.say("presses [ Start scan ]")
        form = view_submission(view["callback_id"], view["private_metadata"], {})
        await post_signed(tour.http, tour.events_url, tour.signing_secret, form)
        await _wait_quiet(runtime)
        for said in tour.slack.ephemerals[-1:]:
            print("  (only visible to you)", file=out)
            print(_indent(render_text(said, ansi=True)), file=out)
    finished = [
        m
        for m in tour.slack.channels.get(CHANNEL, [])
        if _is_alert_parent(m) and _has(m, actions.RESCAN)
    ]
    if finished:
        parent = tour.slack.message(CHANNEL, finished[0]["ts"]) or finished[0]
        print("  (Slack asks first: Re-run this scan? [ Re-scan ])", file=out)
        await tour.act_on(parent, actions.RESCAN)
        await _wait_quiet(runtime)
        print(f"\n\033[1m#secops, the thread of scan {_scan_of(parent)}:\033[0m", file=out)
        _print_thread(tour, tour.slack.message(CHANNEL, parent["ts"]) or parent)
    await tour.command_only("/scans", "report pdf severity:high")
    await _wait_quiet(runtime, seconds=30)
    print("\n\033[1m#secops, the report:\033[0m", file=out)
    for message in tour.slack.channels.get(CHANNEL, [])[-2:]:
        print(_indent(render_text(message, ansi=True)), file=out)
        for file in message.get("files", []):
            print(f"  │ 📎 {file['name']} ({file['size']:,} bytes)", file=out)
    await tour.command("/scans", "audit")


def _has(message: dict[str, Any], kind: str) -> bool:
    try:
        find_element(message, kind)
    except LookupError:
        return False
    return True


async def _summary_tour(tour: Tour, runtime: Runtime, clock: DemoClock, chart_dir: Path) -> None:
    """A daily summary, sent at its time (the demo moves the clock there), with its chart."""
    out = tour.out
    print(f"\n\033[1m{'=' * 20} A scheduled summary {'=' * 20}\033[0m", file=out)
    await tour.command("/scans", "summary daily 09:00 tz:UTC")
    due = datetime.combine(clock().date() + timedelta(days=1), time(9), tzinfo=UTC)
    clock.offset = due - utcnow()
    assert runtime.summaries is not None  # built by open_runtime
    await runtime.summaries.record_today(clock())
    (today,) = await runtime.store.summaries.counts(due.date())
    # scanbot counts open risks once a day itself; a fresh demo has no past, so it is
    # filled in here: eight weeks on a made-up trend that ends at today's real count.
    for back in range(55, 0, -1):
        more = 1 + 0.5 * back / 55 + 0.03 * (back % 5)
        count = DailyCount(
            day=due.date() - timedelta(days=back),
            high=round(today.high * more * 1.2),
            medium=round(today.medium * more),
            low=round(today.low * (2 - more) + 40),
        )
        await runtime.store.summaries.record_count(count, clock())
    print(
        "  (the demo moves to 09:00 tomorrow and makes up 8 weeks of past daily counts)", file=out
    )
    await runtime.summaries.tick()
    print("\n\033[1m#secops, the summary and its thread:\033[0m", file=out)
    summaries = [m for m in tour.slack.channels.get(CHANNEL, []) if "security summary" in m["text"]]
    for summary in summaries[-1:]:
        _print_thread(tour, summary)
    chart = runtime.summaries.last_chart
    if chart is None:
        print("  (no chart was drawn)", file=out)
        return
    path = chart_dir / CHART_FILE
    path.write_bytes(chart)
    print(f"\n  The summary's trend chart (PNG, {len(chart):,} bytes) is saved at {path}", file=out)


def _is_alert_parent(message: dict[str, Any]) -> bool:
    if message.get("thread_ts", message["ts"]) != message["ts"]:
        return False
    try:
        find_element(message, actions.ACK)
    except LookupError:
        return False
    return True


async def _wait_quiet(runtime: Runtime, seconds: float = 10.0) -> None:
    """The clicks' work goes on after their acks: wait until it is done."""
    for _ in range(int(seconds / 0.02)):
        await asyncio.sleep(0.02)
        if not len(runtime.inflight):
            return


def _print_thread(tour: Tour, parent: dict[str, Any]) -> None:
    out = tour.out
    print(_indent(render_text(parent, ansi=True)), file=out)
    for reply in tour.slack.thread(CHANNEL, parent["ts"])[1:]:
        broadcast = " (also sent to the channel)" if reply.get("reply_broadcast") else ""
        print(f"  │    ↳ in thread{broadcast}:", file=out)
        print(_in_thread(reply), file=out)


async def _run_with_real_slack(world: SandboxWorld) -> int:
    """Real workspace, sandbox as the API: `serve` (or Socket Mode with SLACK_APP_TOKEN)."""
    from scanbot.runtimes import serve_runtime, socket_runtime

    async with _sandbox(world) as sandbox_url:
        base: Settings = load_settings()
        settings = load_settings(hostedscan_api_key=SANDBOX_API_KEY, hostedscan_api_url=sandbox_url)
        print(f"scanbot demo --slack: sandbox at {sandbox_url}; Ctrl-C to stop.")
        if base.slack_app_token is not None:
            await socket_runtime(settings)
        else:
            port = int(os.environ.get("PORT", "3000"))
            await serve_runtime(settings, "0.0.0.0", port)  # Slack must reach it
    return 0
