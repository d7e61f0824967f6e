"""The `scanbot` command: serve, socket, scans, scan, sandbox, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence

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

    sandbox = sub.add_parser("sandbox", help="run the local HostedScan-compatible sandbox API")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument("--scans", type=int, default=300)
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")

    demo = sub.add_parser("demo", help="tour scanbot against the sandbox (no configuration)")
    demo.add_argument(
        "--slack", action="store_true", help="run against a real workspace, the sandbox as API"
    )
    return parser


def _secrets(settings: Settings) -> list[str]:
    names = ("slack_bot_token", "slack_signing_secret", "slack_app_token", "hostedscan_api_key")
    values = (getattr(settings, name) for name in names)
    return [value.get_secret_value() for value in values if value is not None]


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
        asyncio.run(run_sandbox(args.host, args.port, args.seed, args.speed, args.scans))
        return 0
    if args.command == "demo":
        from scanbot.demo import run_demo

        return asyncio.run(run_demo(real_slack=args.slack))

    settings = load_settings()
    configure_logging(settings.log_level, _secrets(settings))
    if args.command == "serve":
        asyncio.run(serve_runtime(settings, args.host, args.port))
    elif args.command == "socket":
        asyncio.run(socket_runtime(settings))
    elif args.command in ("scans", "scan"):
        text = " ".join(args.words) if args.command == "scans" else args.scan_id
        return asyncio.run(_print_card(settings, args.command, text, as_json=args.json))
    return 0


async def serve_runtime(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from scanbot.app import build_runtime
    from scanbot.web import create_web_app

    runtime = build_runtime(settings)
    config = uvicorn.Config(
        create_web_app(runtime),
        host=host,
        port=port,
        log_config=None,  # keep our one logging style
        timeout_graceful_shutdown=10,
    )
    await uvicorn.Server(config).serve()


async def socket_runtime(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from scanbot.app import build_runtime

    runtime = build_runtime(settings, socket_mode=True)
    handler = AsyncSocketModeHandler(runtime.bolt, settings.secret("slack_app_token"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await handler.connect_async()
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await runtime.aclose()


async def _print_card(settings: Settings, command: str, text: str, *, as_json: bool) -> int:
    from scanbot.app import build_hostedscan
    from scanbot.sandbox.slack import render_text
    from scanbot.slack.answers import Answers

    hostedscan = build_hostedscan(settings)
    try:
        answers = Answers(hostedscan)
        reply = await (answers.scans(text) if command == "scans" else answers.scan(text))
    finally:
        await hostedscan.aclose()
    print(json.dumps(reply.message, indent=2) if as_json else render_text(dict(reply.message)))
    return 0 if reply.ok else 1
