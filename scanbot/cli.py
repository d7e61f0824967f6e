"""The `scanbot` command: serve, socket, scans, scan, poll, status, migrate, audit, sandbox,
demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from scanbot.domain.events import DEFAULT_EVENTS
from scanbot.domain.operations import Operation
from scanbot.domain.status import Status
from scanbot.settings import ConfigError, Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scanbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the Slack app over HTTP (Events API)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))

    sub.add_parser("socket", help="run the Slack app in Socket Mode (no public URL needed)")

    scans = sub.add_parser("scans", help="print the /scans card for WORDS in the terminal")
    scans.add_argument("words", nargs="*")
    scans.add_argument("--json", action="store_true", help="print the Block Kit payload")

    scan = sub.add_parser("scan", help="print the /scan card for one scan id in the terminal")
    scan.add_argument("scan_id")
    scan.add_argument("--json", action="store_true", help="print the Block Kit payload")

    poll = sub.add_parser("poll", help="run one alert cycle: poll, queue, send; print what it did")
    poll.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")

    sub.add_parser("status", help="print the alert pipeline's health: outbox, parked alerts")
    sub.add_parser("migrate", help="bring the database schema up to date (Procfile release)")
    audit = sub.add_parser("audit", help="print what people did to HostedScan through scanbot")
    audit.add_argument("--limit", type=int, default=50, help="rows, newest first (default 50)")
    audit.add_argument("--offset", type=int, default=0, help="newest rows to skip")

    sandbox = sub.add_parser("sandbox", help="run the local HostedScan-compatible sandbox API")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument("--scans", type=int, default=300)
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    sandbox.add_argument(
        "--quota", type=int, help="scans the API may start per 30 days; beyond: OVER_LIMIT"
    )

    demo = sub.add_parser("demo", help="tour scanbot against the sandbox (no configuration)")
    demo.add_argument(
        "--slack", action="store_true", help="run against a real workspace, the sandbox as API"
    )
    demo.add_argument(
        "--chart-dir", type=Path, help="where to save the summary's chart (default: here)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"scanbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    from scanbot.logs import configure_logging

    if args.command == "sandbox":
        from scanbot.sandbox.server import run_sandbox

        configure_logging("INFO")
        asyncio.run(
            run_sandbox(args.host, args.port, args.seed, args.speed, args.scans, quota=args.quota)
        )
        return 0
    if args.command == "demo":
        from scanbot.demo import run_demo

        return asyncio.run(run_demo(real_slack=args.slack, chart_dir=args.chart_dir))

    settings = load_settings()
    from scanbot.app import log_masks

    configure_logging(settings.log_level, settings.secret_values(), masks=log_masks(settings))
    if args.command == "serve":
        from scanbot.runtimes import serve_runtime

        asyncio.run(serve_runtime(settings, args.host, args.port))
    elif args.command == "socket":
        from scanbot.runtimes import socket_runtime

        asyncio.run(socket_runtime(settings))
    elif args.command == "poll":
        return asyncio.run(_poll_once(settings))
    elif args.command == "status":
        return asyncio.run(_status(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "audit":
        return asyncio.run(_audit(settings, max(1, args.limit), max(0, args.offset)))
    elif args.command in ("scans", "scan"):
        text = " ".join(args.words) if args.command == "scans" else args.scan_id
        return asyncio.run(_print_card(settings, args.command, text, as_json=args.json))
    return 0


async def _print_card(settings: Settings, command: str, text: str, *, as_json: bool) -> int:
    from scanbot.alerts.risks import RiskDetails
    from scanbot.app import build_hostedscan
    from scanbot.slack.answers import Answers
    from scanbot.slack.terminal import render_text

    hostedscan = build_hostedscan(settings)
    try:
        answers = Answers(hostedscan, risk_details=RiskDetails(hostedscan))
        reply = await (answers.scans(text) if command == "scans" else answers.scan(text))
    finally:
        await hostedscan.aclose()
    card = render_text(dict(reply.message), ansi=sys.stdout.isatty())
    print(json.dumps(reply.message, indent=2) if as_json else card)
    return 0 if reply.ok else 1


async def _poll_once(settings: Settings) -> int:
    from scanbot.app import build_hostedscan, build_poll_once, open_store

    store = await open_store(settings)
    hostedscan = build_hostedscan(settings)
    try:
        service = build_poll_once(settings, hostedscan, store)
        for channel_id in settings.alert_channel_ids:
            await store.subscriptions.ensure_env(channel_id, DEFAULT_EVENTS)
        report = await service.tick()
        await service.stop()
    finally:
        await hostedscan.aclose()
        await store.close()
    if not report.leading:
        print("Another replica runs the poller right now; nothing done.")
        return 0
    if report.cycle is not None:
        print(report.cycle.line())
        for event in report.cycle.events:
            print(f"  {event.kind.value:<14} {event.summary.scan_id}  {event.summary.state}")
    if report.sent is not None:
        print(report.sent.line())
    for note in report.notes:
        print(f"note: {note}")
    if report.error:
        print(f"scanbot: the poll failed: {report.error}", file=sys.stderr)
        return 1
    return 0


async def _status(settings: Settings) -> int:
    from scanbot.app import open_store

    store = await open_store(settings)
    try:
        status = await store.status(parked=20)
    finally:
        await store.close()
    print("\n".join(status_lines(status)))
    return 0


def status_lines(status: Status) -> list[str]:
    """`scanbot status` in words: the pipeline's health, outbox, subscriptions, parked."""
    down, paused = status.polling_down_since, status.sending_paused
    counts = ", ".join(f"{n} {s}" for s, n in sorted(status.outbox.items()))
    lines = [
        f"status: {status.health}",
        f"database: {status.database}",
        f"last poll cycle: {status.last_cycle_at or 'never'}",
        f"poll failures in a row: {status.poll_failures}",
        f"polling down since: {down}" if down else "polling: ok",
        f"sending PAUSED: {paused}" if paused else "sending: ok",
        (
            f"lost answers NOT checked (may show twice): {status.resend_check_unavailable}; "
            "grant channels:history and groups:history, or invite scanbot"
            if status.resend_check_unavailable
            else "lost answers: looked for before posting again"
        ),
        "outbox: " + (counts or "empty"),
        f"subscriptions: {len(status.subscriptions)}",
    ]
    lines += [f"  #{s.id} in {s.channel_id} disabled: {s.disabled_reason}" for s in status.disabled]
    lines += ["parked alerts (newest first):"] if status.parked else []
    for row in status.parked:
        alert = row.alert
        lines.append(
            f"  {alert.channel_id} {alert.event.summary.scan_id} "
            f"{alert.event.kind.value}: {row.last_error}"
        )
    return lines


async def _audit(settings: Settings, limit: int, offset: int) -> int:
    from scanbot.app import open_store

    store = await open_store(settings)
    try:
        rows, total = await store.operations.page(offset=offset, limit=limit)
    finally:
        await store.close()
    print("\n".join(audit_lines(rows, total, offset)))
    return 0


def audit_lines(rows: Sequence[Operation], total: int, offset: int = 0) -> list[str]:
    """`scanbot audit`: one line per operation, newest first, tab-separated for grep and cut."""
    if not rows:
        return [f"no operations recorded ({total} in all)"]
    lines = [f"operations {offset + 1} to {offset + len(rows)} of {total}, newest first:"]
    for row in rows:
        request = json.dumps(row.request, separators=(",", ":"))  # \u-escapes: no terminal codes
        fields = (
            row.at.isoformat(timespec="seconds"),
            row.user_id,
            row.kind.value,
            row.channel_id,
            row.status.value,
            row.hostedscan_id or "-",
            request,
            _printable(row.answer) or "-",
        )
        lines.append("\t".join(fields))
    return lines


def _printable(text: str) -> str:
    """HostedScan's words on one line, with nothing a terminal would act on."""
    return "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))


async def _migrate(settings: Settings) -> None:
    from scanbot.app import open_store

    store = await open_store(settings)
    await store.close()
    print("database schema is up to date")
