"""An async client for HostedScan's REST API: ids checked, pages followed, GETs retried.

Every failure leaves as one of `scanbot.hostedscan.errors`; nothing raised or logged here
carries the API key, which lives only in the shared httpx client's default headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.utils
import json
import logging
import math
import random
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from scanbot.hostedscan.errors import (
    BadRequest,
    BadResponse,
    HostedScanError,
    InvalidScanId,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from scanbot.hostedscan.models import Risk, Scan, ScanPage

logger = logging.getLogger("scanbot.hostedscan")

API_KEY_HEADER = "X-HOSTEDSCAN-API-KEY"
USER_AGENT = "scanbot"
SCAN_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
# A header value h11 accepts; anything else would make it quote the key in an error.
_API_KEY_PATTERN = re.compile(r"[\x21-\x7e]+")
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=8.0, write=5.0, pool=3.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)

# Items parsed between two yields to the event loop while a page is iterated.
YIELD_EVERY = 25
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures that may pass on another try; a malformed URL or a bad header never will.
RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_STATUS_ERRORS: dict[int, type[HostedScanError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    429: RateLimited,
}

# The API's objects that come in pages; both have an `id` to de-duplicate on.
ItemT = TypeVar("ItemT", Scan, Risk)


def validate_scan_id(scan_id: str) -> str:
    """Return `scan_id` unchanged if it can be a HostedScan id, else raise InvalidScanId.

    Ids end up in URL paths: letters, digits, '_' and '-' leave no way to reach another one.
    """
    if not isinstance(scan_id, str) or SCAN_ID_PATTERN.fullmatch(scan_id) is None:
        raise InvalidScanId(scan_id)
    return scan_id


def encode_filters(filters: Mapping[str, Sequence[str]] | None) -> str | None:
    """The `filters` query value as compact JSON, or None when nothing is filtered.

    A key with no values filters nothing, so it is left out rather than sent as `[]`.
    """
    lists: dict[str, list[str]] = {}
    for key, values in (filters or {}).items():
        if isinstance(values, str):
            raise TypeError(f"filter {key!r} takes a list of values, not a single string")
        if values:
            lists[key] = list(values)
    return json.dumps(lists, separators=(",", ":"), ensure_ascii=False) if lists else None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class ResultContent:
    """A scan's result file as served: a PDF, HTML, XML or JSON report."""

    content: bytes
    content_type: str


@dataclass(frozen=True)
class _Failure:
    """What one attempt went wrong with, before deciding whether to try again."""

    kind: type[HostedScanError]
    detail: str
    retry: bool = False
    retry_after: float | None = None
    cause: BaseException | None = None

    def error(self, path: str, attempts: int) -> HostedScanError:
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        message = f"GET {path}: {self.detail}{tries}"
        if self.kind is RateLimited:
            return RateLimited(message, self.retry_after)
        return self.kind(message)


def _status_failure(response: httpx.Response) -> _Failure | None:
    """The one place an HTTP status becomes an error; None for a 2xx."""
    status = response.status_code
    if response.is_success:
        return None
    detail = f"HTTP {status} {response.reason_phrase}".rstrip()
    kind = _STATUS_ERRORS.get(status)
    if kind is None:
        if status >= 500:
            kind = Unavailable
        elif status >= 400:
            kind = BadRequest
        else:
            kind, detail = BadResponse, f"unexpected {detail}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return _Failure(kind, detail, status in RETRY_STATUSES, retry_after)


def _object_body(response: httpx.Response, path: str) -> dict[str, Any]:
    """The decoded JSON envelope `{"data": ...}`, or BadResponse."""
    try:
        body = response.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise BadResponse(f"GET {path}: the body is not JSON") from exc
    if not isinstance(body, dict) or "data" not in body:
        raise BadResponse(f'GET {path}: expected a JSON object with "data"')
    return body


def _one(response: httpx.Response, path: str, model: type[ItemT]) -> ItemT:
    data = _object_body(response, path)["data"]
    if not isinstance(data, dict):
        raise BadResponse(f'GET {path}: "data" is not an object')
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadResponse(f"GET {path}: not a valid {model.__name__}: {_summary(exc)}") from exc


def _raw_page(response: httpx.Response, path: str) -> tuple[list[Any], str | None]:
    """A list page's raw items and its next token (None on the last page)."""
    body = _object_body(response, path)
    data = body["data"] if body["data"] is not None else []
    token = body.get("next_page_token")
    if not isinstance(data, list) or not isinstance(token, str | None):
        raise BadResponse(f'GET {path}: expected "data" as a list and "next_page_token" as text')
    return data, token or None


def _item(model: type[ItemT], raw: Any, path: str, index: int) -> ItemT | None:
    """One item of a page, or None (logged) when it is malformed: it must not hide the rest."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        logger.warning(
            "GET %s: skipped item %d of the page, not a valid %s: %s",
            path,
            index,
            model.__name__,
            _summary(exc),
        )
        return None


def _page(
    response: httpx.Response, path: str, model: type[ItemT]
) -> tuple[list[ItemT], str | None]:
    """A list page's good items and its next token (None on the last page)."""
    data, token = _raw_page(response, path)
    items = [_item(model, raw, path, index) for index, raw in enumerate(data)]
    return [item for item in items if item is not None], token


def _summary(exc: ValidationError) -> str:
    """Where and why validation failed, without the input values."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in errors)


def _path(collection: str, item_id: str) -> str:
    return f"{collection}/{quote(validate_scan_id(item_id), safe='')}"


class HostedScanClient:
    """HostedScan's API over one shared httpx.AsyncClient; every failure is a HostedScanError."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        retry_after_cap: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random.random,
        limiter: contextlib.AbstractAsyncContextManager[object] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._http = http
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._retry_after_cap = retry_after_cap
        self._sleep = sleep
        self._random = random
        self._limiter = limiter
        # Held only to scrub it from exception text that others wrote.
        self._api_key = http.headers.get(API_KEY_HEADER) or None

    @classmethod
    def create(
        cls,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        **options: Any,
    ) -> HostedScanClient:
        """Build the process's one HTTP client for `base_url`; `options` go to __init__."""
        if not _API_KEY_PATTERN.fullmatch(api_key):
            raise ValueError("the HostedScan API key must be printable ASCII without spaces")
        http = httpx.AsyncClient(
            base_url=base_url,
            headers={API_KEY_HEADER: api_key, "User-Agent": USER_AGENT},
            timeout=timeout,
            limits=DEFAULT_LIMITS,
            transport=transport,
        )
        return cls(http, **options)

    def sharing(
        self, *, limiter: contextlib.AbstractAsyncContextManager[object]
    ) -> HostedScanClient:
        """A client on the same connection pool and retry policy, under another limiter
        (the alerts' lane beside the commands'). Close only the original."""
        sibling = copy.copy(self)
        sibling._limiter = limiter
        return sibling

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def list_scans_page(
        self, filters: Mapping[str, Sequence[str]] | None = None, page_token: str | None = None
    ) -> ScanPage:
        """One page of `GET /v1/scans`; most callers want `list_scans`."""
        scans, token = await self._list_page("/v1/scans", Scan, encode_filters(filters), page_token)
        return ScanPage(scans=scans, next_page_token=token)

    def list_scans(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> AsyncGenerator[Scan, None]:
        """Every scan matching `filters`, over all pages, each once."""
        return self._iterate("/v1/scans", Scan, encode_filters(filters))

    async def get_scan(self, scan_id: str) -> Scan:
        path = _path("/v1/scans", scan_id)
        return _one(await self._get(path), path, Scan)

    async def get_risk(self, risk_id: str) -> Risk:
        path = _path("/v1/risks", risk_id)
        return _one(await self._get(path), path, Risk)

    def list_risks(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> AsyncGenerator[Risk, None]:
        """Every risk matching `filters`, over all pages, each once."""
        return self._iterate("/v1/risks", Risk, encode_filters(filters))

    async def get_result(self, result_id: str) -> ResultContent:
        """A result file's raw bytes and the content type the service gave them."""
        response = await self._get(_path("/v1/results", result_id))
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return ResultContent(response.content, content_type)

    async def _iterate(
        self, path: str, model: type[ItemT], filters: str | None
    ) -> AsyncGenerator[ItemT, None]:
        tokens: set[str] = set()
        ids: set[str] = set()
        token: str | None = None
        while True:
            params = {"filters": filters, "page_token": token}
            response = await self._get(path, {k: v for k, v in params.items() if v})
            data, token = _raw_page(response, path)
            for index, raw in enumerate(data):
                if index % YIELD_EVERY == YIELD_EVERY - 1:
                    # Parsing 500 items takes ~85 ms: let the loop ack Slack in between.
                    await asyncio.sleep(0)
                item = _item(model, raw, path, index)
                # A listing that shifts while it is paged can hand an item out twice.
                if item is not None and item.id not in ids:
                    ids.add(item.id)
                    yield item
            if token is None:
                return
            if token in tokens:
                raise BadResponse(f"GET {path}: a page token came back again after {len(tokens)}")
            tokens.add(token)

    async def _list_page(
        self, path: str, model: type[ItemT], filters: str | None, page_token: str | None
    ) -> tuple[list[ItemT], str | None]:
        params = {"filters": filters, "page_token": page_token}
        response = await self._get(path, {k: v for k, v in params.items() if v})
        return _page(response, path, model)

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """GET `path`, retrying what may pass; a 2xx response or the error it maps to."""
        attempt = 1
        while True:
            outcome = await self._attempt(path, params, attempt)
            if isinstance(outcome, httpx.Response):
                return outcome
            if not outcome.retry or attempt >= self._max_attempts:
                raise outcome.error(path, attempt) from outcome.cause
            await self._sleep(self._delay(attempt, outcome.retry_after))
            attempt += 1

    async def _attempt(
        self, path: str, params: Mapping[str, str] | None, attempt: int
    ) -> httpx.Response | _Failure:
        """One GET under the limiter, logged in one line."""
        started = time.perf_counter()
        try:
            async with self._limiter or contextlib.nullcontext():
                response = await self._http.get(path, params=params)
        except httpx.RequestError as exc:
            self._log(logging.WARNING, path, type(exc).__name__, started, attempt)
            return self._transport_failure(exc)
        failure = _status_failure(response)
        level = logging.WARNING if failure is not None and failure.retry else logging.INFO
        self._log(level, path, response.status_code, started, attempt)
        return failure or response

    def _transport_failure(self, exc: httpx.RequestError) -> _Failure:
        # httpx's exceptions hold the request and so the key in its headers: chain a copy
        # with only the class and the (scrubbed) message.
        message = self._scrub(str(exc))
        cause = type(exc)(message)
        detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        if isinstance(exc, httpx.DecodingError):
            return _Failure(BadResponse, detail, cause=cause)
        return _Failure(Unavailable, detail, isinstance(exc, RETRY_EXCEPTIONS), cause=cause)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: Retry-After if given, else full-jitter backoff."""
        if retry_after is not None:
            return min(retry_after, self._retry_after_cap)
        return min(self._max_backoff, self._backoff * 2.0 ** (attempt - 1)) * self._random()

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[api key]") if self._api_key else text

    def _log(self, level: int, path: str, outcome: object, started: float, attempt: int) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.log(
            level,
            "GET %s -> %s in %.0f ms (attempt %d of %d)",
            path,
            outcome,
            elapsed_ms,
            attempt,
            self._max_attempts,
        )
