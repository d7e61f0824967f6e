"""The sandbox world behind HostedScan's HTTP API, with knobs to hold, slow or fail requests.

Routes, paging, filters, errors and the API-key header follow the real service, so the
real client talks to it unchanged; `app.state.controls` is what tests and benchmarks turn.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NamedTuple

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from scanbot.sandbox.world import FilterError, SandboxWorld, SimClock

logger = logging.getLogger("scanbot.sandbox")

SANDBOX_API_KEY = "sandbox-key"
API_KEY_HEADER = "X-HOSTEDSCAN-API-KEY"
# Answered without the key, the gate, latency or faults: a liveness probe, not the API.
UNCONTROLLED_PATHS = frozenset({"/healthz"})


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    time: float  # time.monotonic() when it arrived


@dataclass
class Fault:
    """A scripted answer for the next `remaining` requests under `path_prefix`."""

    status: int
    retry_after: float | str | None = None
    body: str | bytes | Mapping[str, Any] | None = None
    remaining: int = 1
    path_prefix: str | None = None

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def response(self) -> Response:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        if self.body is None:
            return JSONResponse({"error": _phrase(self.status)}, self.status, headers)
        if isinstance(self.body, Mapping):
            return JSONResponse(dict(self.body), self.status, headers)
        return Response(self.body, self.status, headers, media_type="text/plain")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class SandboxControls:
    """The knobs: a gate that holds requests, added latency, scripted faults, a request log."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.latency = 0.0
        self.faults: deque[Fault] = deque()
        self.requests: list[RecordedRequest] = []
        self.waiting = 0  # requests held at the gate right now

    def add_fault(
        self,
        status: int,
        *,
        retry_after: float | str | None = None,
        body: str | bytes | Mapping[str, Any] | None = None,
        times: int = 1,
        path_prefix: str | None = None,
    ) -> None:
        """Answer the next `times` API requests (under `path_prefix`) with this instead.

        `body` None sends `{"error": <reason>}`; a str or bytes is sent raw as text/plain
        (a non-JSON 200, say); a mapping is sent as JSON.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self.faults.append(Fault(status, retry_after, body, times, path_prefix))

    def reset(self) -> None:
        self.gate.set()
        self.latency = 0.0
        self.faults.clear()
        self.requests.clear()

    def count(self, path_prefix: str | None = None) -> int:
        if path_prefix is None:
            return len(self.requests)
        return sum(1 for r in self.requests if r.path.startswith(path_prefix))

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None


class _Controlled:
    """ASGI middleware: log, hold at the gate, delay, fault, then check the key."""

    def __init__(self, app: ASGIApp, controls: SandboxControls, api_key: str) -> None:
        self.app = app
        self.controls = controls
        self.api_key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        controls = self.controls
        controls.requests.append(
            RecordedRequest(request.method, path, dict(request.query_params), time.monotonic())
        )
        if path not in UNCONTROLLED_PATHS:
            response = await self._intercept(request, path)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _intercept(self, request: Request, path: str) -> Response | None:
        controls = self.controls
        if not controls.gate.is_set():
            controls.waiting += 1
            try:
                await controls.gate.wait()
            finally:
                controls.waiting -= 1
        if controls.latency > 0:
            await asyncio.sleep(controls.latency)
        fault = controls.take_fault(path)
        if fault is not None:
            return fault.response()
        given = request.headers.get(API_KEY_HEADER, "").encode()
        if not hmac.compare_digest(given, self.api_key):
            return JSONResponse({"error": "Invalid API key"}, 401)
        return None


def _bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


def _not_found() -> HTTPException:
    return HTTPException(404, "Not found")


def _filters(request: Request) -> Any:
    raw = request.query_params.get("filters")
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad_request("filters must be a JSON object") from exc


def _token(*numbers: int) -> str:
    text = ":".join(str(n) for n in numbers)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor(request: Request, size: int) -> tuple[int, ...] | None:
    """The numbers inside a `page_token`, or None on the first page."""
    token = request.query_params.get("page_token")
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        numbers = tuple(int(part) for part in text.split(":"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad_request("Invalid page_token") from exc
    if len(numbers) != size or min(numbers) < 0:
        raise _bad_request("Invalid page_token")
    return numbers


def _page(items: list[dict[str, Any]], cursor: tuple[int, ...] | None) -> JSONResponse:
    body: dict[str, Any] = {"data": items}
    if cursor is not None:
        body["next_page_token"] = _token(*cursor)
    return JSONResponse(body)


class _Api:
    def __init__(self, world: SandboxWorld, page_size: int) -> None:
        self.world = world
        self.page_size = page_size

    async def list_scans(self, request: Request) -> Response:
        cursor = _cursor(request, 1)
        try:
            scans, after = self.world.scan_page(
                _filters(request),
                before=None if cursor is None else cursor[0],
                limit=self.page_size,
            )
        except FilterError as exc:
            raise _bad_request(str(exc)) from exc
        return _page(scans, None if after is None else (after,))

    async def get_scan(self, request: Request) -> Response:
        scan = self.world.get_scan(request.path_params["scan_id"])
        if scan is None:
            raise _not_found()
        return JSONResponse({"data": scan})

    async def start_scan(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _bad_request("The body must be a JSON object") from exc
        if not isinstance(body, dict):
            raise _bad_request("The body must be a JSON object")
        targets = body.get("targets")
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise _bad_request("targets must be a list of strings (the sandbox takes no others)")
        try:
            scan_id = self.world.start_scan(str(body.get("type")), targets)
        except ValueError as exc:
            raise _bad_request(str(exc)) from exc
        return JSONResponse({"data": self.world.get_scan(scan_id)})

    async def list_risks(self, request: Request) -> Response:
        cursor = _cursor(request, 2)
        try:
            risks, after = self.world.risk_page(
                _filters(request),
                after=None if cursor is None else (cursor[0], cursor[1]),
                limit=self.page_size,
            )
        except FilterError as exc:
            raise _bad_request(str(exc)) from exc
        return _page(risks, after)

    async def get_risk(self, request: Request) -> Response:
        risk = self.world.get_risk(request.path_params["risk_id"])
        if risk is None:
            raise _not_found()
        return JSONResponse({"data": risk})

    async def get_result(self, request: Request) -> Response:
        result = self.world.get_result(request.path_params["result_id"])
        if result is None:
            raise _not_found()
        content, content_type = result
        return Response(content, media_type=content_type)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = "Not found" if exc.status_code == 404 else exc.detail
    return JSONResponse({"error": detail}, exc.status_code, exc.headers)


def create_sandbox_app(
    world: SandboxWorld, *, api_key: str = SANDBOX_API_KEY, page_size: int = 500
) -> Starlette:
    """The HostedScan-compatible app; `app.state.controls` and `app.state.world` to steer it."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    api = _Api(world, page_size)
    controls = SandboxControls()
    app = Starlette(
        routes=[
            Route("/healthz", _healthz),
            Route("/v1/scans", api.list_scans, methods=["GET"]),
            Route("/v1/scans", api.start_scan, methods=["POST"]),
            Route("/v1/scans/{scan_id}", api.get_scan, methods=["GET"]),
            Route("/v1/risks", api.list_risks, methods=["GET"]),
            Route("/v1/risks/{risk_id}", api.get_risk, methods=["GET"]),
            Route("/v1/results/{result_id}", api.get_result, methods=["GET"]),
        ],
        middleware=[Middleware(_Controlled, controls=controls, api_key=api_key)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.controls = controls
    app.state.world = world
    return app


async def run_sandbox(host: str, port: int, seed: int, speed: float, scans: int) -> None:
    """Serve a fresh sandbox until interrupted (`scanbot sandbox`)."""
    world = SandboxWorld(seed=seed, scans=scans, clock=SimClock(speed=speed))
    config = uvicorn.Config(
        create_sandbox_app(world), host=host, port=port, log_config=None, log_level="warning"
    )
    # Bind first so the log line can name the real port, even when asked for port 0.
    sock = config.bind_socket()
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    logger.info(
        "HostedScan sandbox at http://%s:%d (API key: %s; seed %d, %d scans, speed %gx)",
        shown_host,
        bound_port,
        SANDBOX_API_KEY,
        seed,
        scans,
        speed,
    )
    await uvicorn.Server(config).serve(sockets=[sock])
