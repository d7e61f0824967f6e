"""The sandbox world behind HostedScan's HTTP API, with knobs to hold, slow or fail requests.

Routes, paging, filters, errors and the API-key header follow the real service, so the
real client talks to it unchanged; `app.state.controls` is what tests and benchmarks turn.
Every request is recorded, a write with its body (read up to `MAX_BODY` bytes, 413
beyond), so a test can tell what reached HostedScan and what did not.
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
from typing import Any, NamedTuple, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanbot.sandbox.world import DEFAULT_PERIOD, FilterError, RequestError, SandboxWorld, SimClock

logger = logging.getLogger("scanbot.sandbox")

SANDBOX_API_KEY = "sandbox-key"
API_KEY_HEADER = "X-HOSTEDSCAN-API-KEY"
# Answered without the key, the gate, latency or faults: a liveness probe, not the API.
UNCONTROLLED_PATHS = frozenset({"/healthz"})
READ_METHODS = frozenset({"GET", "HEAD"})
MAX_BODY = 1 << 20  # bytes of a write's body the sandbox reads; 413 beyond
# What the sandbox answers for a report it is still making; a test may pick 404 or 409,
# the other answers the reference tells a client to take as "not ready".
NOT_READY_STATUSES = frozenset({202, 404, 409})


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    time: float  # time.monotonic() when it arrived
    body: bytes = b""  # a write's body as received (none is read for GET and HEAD)

    def json(self) -> Any:
        """The body decoded as JSON (ValueError if it is not)."""
        return json.loads(self.body)


@dataclass
class Fault:
    """A scripted answer for the next `remaining` requests under `path_prefix`.

    `method`: only requests of this method (None: any; "write": any but GET and HEAD).
    `processed`: the world still handles the request (a scan is started, say) and the
    client gets this answer instead of the real one: a write whose outcome it cannot know.
    """

    status: int
    retry_after: float | str | None = None
    body: str | bytes | Mapping[str, Any] | None = None
    remaining: int = 1
    path_prefix: str | None = None
    method: str | None = None
    processed: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method == "write":
            if method in READ_METHODS:
                return False
        elif self.method is not None and self.method != method:
            return False
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
        self._report_pending_status = 202

    @property
    def report_pending_status(self) -> int:
        """What `GET /v1/reports/:id` answers while the report is not ready: 202, 404 or 409."""
        return self._report_pending_status

    @report_pending_status.setter
    def report_pending_status(self, status: int) -> None:
        if status not in NOT_READY_STATUSES:
            raise ValueError(f"a report not ready is answered {sorted(NOT_READY_STATUSES)}")
        self._report_pending_status = status

    def add_fault(
        self,
        status: int,
        *,
        retry_after: float | str | None = None,
        body: str | bytes | Mapping[str, Any] | None = None,
        times: int = 1,
        path_prefix: str | None = None,
        method: str | None = None,
        processed: bool = False,
    ) -> None:
        """Answer the next `times` API requests (under `path_prefix`, of `method`) with this
        instead (see `Fault`).

        `body` None sends `{"error": <reason>}`; a str or bytes is sent raw as text/plain
        (a non-JSON 200, say); a mapping is sent as JSON.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(status, retry_after, body, times, path_prefix, method, processed)
        self.faults.append(fault)

    def fail_next_write(
        self,
        status: int,
        *,
        retry_after: float | str | None = None,
        body: str | bytes | Mapping[str, Any] | None = None,
        times: int = 1,
        path_prefix: str | None = None,
        processed: bool = False,
    ) -> None:
        """Answer the next `times` writes (POST, PUT, DELETE) with `status`: a 400 with
        HostedScan's words in `body`, a 429 with `retry_after`, a 500... Refused writes
        change nothing, unless `processed` (the world acts, the client hears `status`)."""
        self.add_fault(
            status,
            retry_after=retry_after,
            body=body,
            times=times,
            path_prefix=path_prefix,
            method="write",
            processed=processed,
        )

    def reset(self) -> None:
        self.gate.set()
        self.latency = 0.0
        self.faults.clear()
        self.requests.clear()
        self.report_pending_status = 202

    def count(self, path_prefix: str | None = None) -> int:
        if path_prefix is None:
            return len(self.requests)
        return sum(1 for r in self.requests if r.path.startswith(path_prefix))

    def writes(self, path_prefix: str | None = None) -> list[RecordedRequest]:
        """Every write received (POST, PUT, DELETE, ...), under `path_prefix` if given,
        whatever it was answered: faulted, refused for the key, or done."""
        return [
            r
            for r in self.requests
            if r.method not in READ_METHODS
            and (path_prefix is None or r.path.startswith(path_prefix))
        ]

    def write_bodies(self, path_prefix: str | None = None) -> list[Any]:
        """The JSON bodies of `writes(path_prefix)`, decoded (ValueError if one is not JSON)."""
        return [r.json() for r in self.writes(path_prefix)]

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None


class _Controlled:
    """ASGI middleware: log (a write with its body), hold at the gate, delay, fault, then
    check the key."""

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
        body = b""
        if request.method not in READ_METHODS:
            read = await _read_body(request, receive)
            if read is None:
                await JSONResponse({"error": "Request body too large"}, 413)(scope, receive, send)
                return
            body = read
            receive = _replay(body, receive)
        self.controls.requests.append(
            RecordedRequest(
                request.method, path, dict(request.query_params), time.monotonic(), body
            )
        )
        if path in UNCONTROLLED_PATHS:
            await self.app(scope, receive, send)
            return
        answer = await self._intercept(request, path)
        if isinstance(answer, Fault):  # processed: the world acts, the client hears the fault
            await self.app(scope, receive, _discard)
            answer = answer.response()
        if answer is not None:
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _intercept(self, request: Request, path: str) -> Response | Fault | None:
        controls = self.controls
        if not controls.gate.is_set():
            controls.waiting += 1
            try:
                await controls.gate.wait()
            finally:
                controls.waiting -= 1
        if controls.latency > 0:
            await asyncio.sleep(controls.latency)
        fault = controls.take_fault(request.method, path)
        if fault is not None and not fault.processed:
            return fault.response()
        given = request.headers.get(API_KEY_HEADER, "").encode()
        if not hmac.compare_digest(given, self.api_key):
            return JSONResponse({"error": "Invalid API key"}, 401)
        return fault


async def _read_body(request: Request, receive: Receive) -> bytes | None:
    """A write's whole body, or None when it is (or says it is) more than MAX_BODY bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: what came is what there is
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body", False):
            break
    return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then waits as the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _discard(message: Message) -> None:
    """A `send` for an answer nobody will get."""


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


def _cursor(request: Request, lowest: tuple[int, ...]) -> tuple[int, ...] | None:
    """The numbers inside a `page_token`, each at least its `lowest`; None on the first page."""
    token = request.query_params.get("page_token")
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        numbers = tuple(int(part) for part in text.split(":"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad_request("Invalid page_token") from exc
    if len(numbers) != len(lowest) or any(n < low for n, low in zip(numbers, lowest, strict=True)):
        raise _bad_request("Invalid page_token")
    return numbers


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _bad_request("The body must be a JSON object") from exc


def _page(items: list[dict[str, Any]], cursor: tuple[int, ...] | None) -> JSONResponse:
    body: dict[str, Any] = {"data": items}
    if cursor is not None:
        body["next_page_token"] = _token(*cursor)
    return JSONResponse(body)


class NewestFirst(Protocol):
    """`SandboxWorld.scan_page` and `target_page`: a page before a position, and the next."""

    def __call__(
        self, filters: Any, *, before: int | None, limit: int | None
    ) -> tuple[list[dict[str, Any]], int | None]: ...


class _Api:
    """The routes; the world's FilterError or RequestError is a 400 with its words."""

    def __init__(self, world: SandboxWorld, controls: SandboxControls, page_size: int) -> None:
        self.world = world
        self.controls = controls
        self.page_size = page_size

    async def list_scans(self, request: Request) -> Response:
        return self._newest_first(request, self.world.scan_page)

    async def get_scan(self, request: Request) -> Response:
        return _found(self.world.get_scan(request.path_params["scan_id"]))

    async def start_scan(self, request: Request) -> Response:
        scan_id = self.world.post_scan(await _json_body(request))
        return JSONResponse({"data": self.world.get_scan(scan_id)})

    async def list_risks(self, request: Request) -> Response:
        cursor = _cursor(request, (-1, 0))  # -1: the backlog, after every scan's risks
        risks, after = self.world.risk_page(
            _filters(request),
            after=None if cursor is None else (cursor[0], cursor[1]),
            limit=self.page_size,
        )
        return _page(risks, after)

    async def get_risk(self, request: Request) -> Response:
        return _found(self.world.get_risk(request.path_params["risk_id"]))

    async def get_result(self, request: Request) -> Response:
        result = self.world.get_result(request.path_params["result_id"])
        if result is None:
            raise _not_found()
        content, content_type = result
        return Response(content, media_type=content_type)

    async def list_targets(self, request: Request) -> Response:
        return self._newest_first(request, self.world.target_page)

    def _newest_first(self, request: Request, page: NewestFirst) -> Response:
        """A listing whose page token is the position to go on before."""
        cursor = _cursor(request, (0,))
        items, after = page(
            _filters(request), before=None if cursor is None else cursor[0], limit=self.page_size
        )
        return _page(items, None if after is None else (after,))

    async def get_target(self, request: Request) -> Response:
        return _found(self.world.get_target(request.path_params["target_id"]))

    async def create_target(self, request: Request) -> Response:
        upsert = request.query_params.get("upsert", "false")
        if upsert not in ("true", "false"):
            raise _bad_request("upsert must be true or false")
        body = await _json_body(request)
        return JSONResponse({"data": self.world.post_target(body, upsert=upsert == "true")})

    async def create_report(self, request: Request) -> Response:
        report_id = self.world.post_report(await _json_body(request))
        return JSONResponse({"data": {"id": report_id}})

    async def get_report(self, request: Request) -> Response:
        answer = self.world.get_report(request.path_params["report_id"])
        if answer is None:
            raise _not_found()
        if answer.ready:
            return Response(answer.content, media_type=answer.content_type)
        status = self.controls.report_pending_status
        if status == 404:
            raise _not_found()
        if status == 409:
            return JSONResponse({"error": "The report is not ready yet"}, 409)
        return Response(status_code=202)


def _found(item: dict[str, Any] | None) -> Response:
    if item is None:
        raise _not_found()
    return JSONResponse({"data": item})


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = "Not found" if exc.status_code == 404 else exc.detail
    return JSONResponse({"error": detail}, exc.status_code, exc.headers)


async def _refused(request: Request, exc: Exception) -> Response:
    """The world refused a filter or a body (FilterError, RequestError): 400, its words."""
    return JSONResponse({"error": str(exc)}, 400)


def create_sandbox_app(
    world: SandboxWorld, *, api_key: str = SANDBOX_API_KEY, page_size: int = 500
) -> Starlette:
    """The HostedScan-compatible app; `app.state.controls` and `app.state.world` to steer it."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    controls = SandboxControls()
    api = _Api(world, controls, page_size)
    app = Starlette(
        routes=[
            Route("/healthz", _healthz),
            Route("/v1/scans", api.list_scans, methods=["GET"]),
            Route("/v1/scans", api.start_scan, methods=["POST"]),
            Route("/v1/scans/{scan_id}", api.get_scan, methods=["GET"]),
            Route("/v1/risks", api.list_risks, methods=["GET"]),
            Route("/v1/risks/{risk_id}", api.get_risk, methods=["GET"]),
            Route("/v1/results/{result_id}", api.get_result, methods=["GET"]),
            Route("/v1/targets", api.list_targets, methods=["GET"]),
            Route("/v1/targets", api.create_target, methods=["POST"]),
            Route("/v1/targets/{target_id}", api.get_target, methods=["GET"]),
            Route("/v1/reports", api.create_report, methods=["POST"]),
            Route("/v1/reports/{report_id}", api.get_report, methods=["GET"]),
        ],
        middleware=[Middleware(_Controlled, controls=controls, api_key=api_key)],
        exception_handlers={
            HTTPException: _http_error,
            FilterError: _refused,
            RequestError: _refused,
        },
    )
    app.state.controls = controls
    app.state.world = world
    return app


# Older risks the command's sandbox lists, so due dates and trends have something to show.
CLI_BACKLOG_RISKS = 1000


async def run_sandbox(
    host: str,
    port: int,
    seed: int,
    speed: float,
    scans: int,
    *,
    quota: int | None = None,
    backlog_risks: int = CLI_BACKLOG_RISKS,
) -> None:
    """Serve a fresh sandbox until interrupted (`scanbot sandbox`); `quota` scans may be
    started through the API per 30 simulated days, beyond which they end OVER_LIMIT."""
    world = SandboxWorld(
        seed=seed,
        scans=scans,
        clock=SimClock(speed=speed),
        backlog_risks=backlog_risks,
        quota=quota,
        quota_period=DEFAULT_PERIOD,
    )
    config = uvicorn.Config(
        create_sandbox_app(world), host=host, port=port, log_config=None, log_level="warning"
    )
    # Bind first so the log line can name the real port, even when asked for port 0.
    sock = config.bind_socket()
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    logger.info(
        "HostedScan sandbox at http://%s:%d (API key: %s; seed %d, %d scans, speed %gx, %s)",
        shown_host,
        bound_port,
        SANDBOX_API_KEY,
        seed,
        scans,
        speed,
        "no scan quota" if quota is None else f"quota {quota} scans per 30 days",
    )
    await uvicorn.Server(config).serve(sockets=[sock])
