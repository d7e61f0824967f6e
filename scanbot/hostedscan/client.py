"""An async client for HostedScan's REST API: ids checked, pages followed, retries that are safe.

Every failure leaves as one of `scanbot.hostedscan.errors`; nothing raised or logged here
carries the API key, which lives only in the shared httpx client's default headers.

The retry rule. A GET changes nothing, so it is retried on 429, 5xx, timeouts and network
errors. A POST that creates something (a scan, a target, a report) is not idempotent: it
is retried only when HostedScan certainly did not act on it, that is when no byte left
(the connection was refused or never made: `NOT_SENT_EXCEPTIONS`) or when HostedScan
refused it with 429 and a Retry-After within `retry_after_cap`. After a timeout, a dropped
connection or a 5xx the request may have taken effect: it raises `OutcomeUnknown` at once.
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
import unicodedata
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping, Sequence
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
    InvalidRequest,
    InvalidScanId,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from scanbot.hostedscan.models import (
    ReportFile,
    Risk,
    RiskPage,
    Scan,
    ScanHead,
    ScanPage,
    Target,
    TargetPage,
)

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
# Failures before any byte of the request left: no connection was made (refused, or not
# in time) or none was free in the pool. Only these let a POST be tried again.
NOT_SENT_EXCEPTIONS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# What GET /v1/reports/:id answers while the file is being made (and 404 for an id it
# does not know yet: the two cannot be told apart).
REPORT_NOT_READY = frozenset({202, 404, 409})
REPORT_FORMATS = ("PDF", "HTML")
TARGETS_FILTER_KEYS = frozenset({"target_ids", "tag"})
RISK_FILTER_KEYS = frozenset(
    {
        "target_id",
        "status",
        "tags",
        "risk_definition.scan_type",
        "risk_definition.threat_level",
        "risk_definition.title",
    }
)
# A report's risks_filter takes the risk filters that are not about targets.
REPORT_RISK_FILTER_KEYS = frozenset(
    {"status", "risk_definition.scan_type", "risk_definition.threat_level", "risk_definition.title"}
)
MAX_TAGS = 10
# The longest refusal reason kept from a 4xx body: one readable sentence, not a page.
REASON_MAX = 200
SCAN_TYPE_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_STATUS_ERRORS: dict[int, type[HostedScanError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    429: RateLimited,
}

# The API's objects that come in pages; each has an `id` to de-duplicate on.
ItemT = TypeVar("ItemT", ScanHead, Scan, Risk, Target)


def validate_scan_id(scan_id: str, kind: str = "scan") -> str:
    """Return `scan_id` unchanged if it can be a HostedScan id, else raise InvalidScanId.

    Ids end up in URL paths: letters, digits, '_' and '-' leave no way to reach another one.
    Every kind of id (scan, risk, target, result, report) follows the same rule; `kind`
    only names it in the error.
    """
    if not isinstance(scan_id, str) or SCAN_ID_PATTERN.fullmatch(scan_id) is None:
        raise InvalidScanId(scan_id, kind)
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


def risk_filters(
    filters: Mapping[str, Sequence[str]] | None = None,
    *,
    target_ids: Sequence[str] = (),
    statuses: Sequence[str] = (),
    tags: Sequence[str] = (),
    scan_types: Sequence[str] = (),
    threat_levels: Sequence[str] = (),
    titles: Sequence[str] = (),
) -> dict[str, Sequence[str]]:
    """`filters` with the documented risk filters given by name added (a key given both
    ways gets both lists). `is_accepted` is no filter of the API: filter on `Risk.accepted`."""
    named = {
        "target_id": target_ids,
        "status": statuses,
        "tags": tags,
        "risk_definition.scan_type": scan_types,
        "risk_definition.threat_level": threat_levels,
        "risk_definition.title": titles,
    }
    merged: dict[str, Sequence[str]] = dict(filters or {})
    for key, values in [*merged.items(), *named.items()]:
        if isinstance(values, str):
            raise TypeError(f"filter {key!r} takes a list of values, not a single string")
    for key, values in named.items():
        if values:
            merged[key] = [*merged.get(key, ()), *values]
    return merged


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
    sent: bool = True  # False: certainly nothing reached HostedScan
    reason: str | None = None  # a 4xx body's words, cleaned

    def error(self, method: str, path: str, attempts: int) -> HostedScanError:
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        message = f"{method} {path}: {self.detail}{tries}"
        if self.kind is RateLimited:
            return RateLimited(message, self.retry_after)
        if self.kind is BadRequest:
            return BadRequest(f"{message}: {self.reason}" if self.reason else message, self.reason)
        if self.kind is Unavailable and method != "GET" and self.sent:
            return OutcomeUnknown(f"{message}; it may have taken effect, so it was not retried")
        return self.kind(message)


def _status_failure(response: httpx.Response, scrub: Callable[[str], str]) -> _Failure | None:
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
    reason = refusal_reason(response, scrub) if kind is BadRequest else None
    return _Failure(kind, detail, status in RETRY_STATUSES, retry_after, reason=reason)


# Where a refusal's words may sit in a JSON body, most telling first.
_REASON_KEYS = ("error", "errors", "message", "msg", "detail", "details", "reason", "description")
_FIELD_KEYS = ("field", "param", "parameter", "path", "loc")


def refusal_reason(response: httpx.Response, scrub: Callable[[str], str] = str) -> str | None:
    """What a refusal's body says was wrong, as one clean line, or None.

    Any shape is read: `{"error": "..."}`, `{"message": ...}`, `{"errors": [{"field":
    ..., "message": ...}]}`, nested objects, a bare JSON string, or plain text. HTML and
    anything else without words to show give None. Control and formatting characters go,
    whitespace is folded, the key is scrubbed and the length capped at REASON_MAX.
    """
    try:
        body: Any = response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "text/plain")
        if not content_type.startswith("text/plain"):
            return None
        body = response.text
    texts = list(_texts(body, depth=0))
    return _clean("; ".join(texts), scrub) if texts else None


def _texts(value: Any, depth: int) -> Iterator[str]:
    if depth > 4:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value[:5]:
            yield from _texts(item, depth + 1)
    elif isinstance(value, dict):
        for key in _REASON_KEYS:
            found = list(_texts(value.get(key), depth + 1))
            if found:
                field = next((value[k] for k in _FIELD_KEYS if isinstance(value.get(k), str)), None)
                yield from (f"{field}: {text}" if field else text for text in found)
                return


def _clean(text: str, scrub: Callable[[str], str]) -> str | None:
    printable = "".join(
        " " if unicodedata.category(char).startswith(("C", "Z")) else char for char in text
    )
    line = " ".join(scrub(printable).split())
    if len(line) > REASON_MAX:
        line = line[: REASON_MAX - 1].rstrip() + "…"
    return line or None


def _object_body(response: httpx.Response, where: str) -> dict[str, Any]:
    """The decoded JSON envelope `{"data": ...}`, or BadResponse. `where`: "GET /v1/..."."""
    try:
        body = response.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise BadResponse(f"{where}: the body is not JSON") from exc
    if not isinstance(body, dict) or "data" not in body:
        raise BadResponse(f'{where}: expected a JSON object with "data"')
    return body


def _data_object(response: httpx.Response, where: str) -> dict[str, Any]:
    data = _object_body(response, where)["data"]
    if not isinstance(data, dict):
        raise BadResponse(f'{where}: "data" is not an object')
    return data


def _one(response: httpx.Response, where: str, model: type[ItemT]) -> ItemT:
    data = _data_object(response, where)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadResponse(f"{where}: not a valid {model.__name__}: {_summary(exc)}") from exc


def _raw_page(response: httpx.Response, path: str) -> tuple[list[Any], str | None]:
    """A list page's raw items and its next token (None on the last page)."""
    body = _object_body(response, f"GET {path}")
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


def _path(collection: str, item_id: str, kind: str = "scan") -> str:
    return f"{collection}/{quote(validate_scan_id(item_id, kind), safe='')}"


def _strings(name: str, values: Sequence[str] | None, *, limit: int | None = None) -> list[str]:
    """A request's list of non-empty strings, or InvalidRequest saying what is wrong."""
    if values is None or isinstance(values, str):
        raise InvalidRequest(f"{name} must be a list of strings")
    items = list(values)
    if not items:
        raise InvalidRequest(f"{name} must not be empty")
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise InvalidRequest(f"every one of {name} must be a non-empty string")
    if limit is not None and len(items) > limit:
        raise InvalidRequest(f"at most {limit} {name} are allowed, not {len(items)}")
    return items


def _filter_lists(
    name: str, given: Mapping[str, Sequence[str]] | None, allowed: frozenset[str]
) -> dict[str, list[str]] | None:
    """A report's targets_filter or risks_filter as sent; None when it filters nothing."""
    if given is None:
        return None
    if not isinstance(given, Mapping):
        raise InvalidRequest(f"{name} must be a mapping of lists")
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise InvalidRequest(
            f"{name} takes {', '.join(sorted(allowed))}, not {', '.join(map(repr, unknown))}"
        )
    lists = {key: _strings(f"{name}[{key!r}]", values) for key, values in given.items()}
    return lists or None


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

    def list_scan_heads(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> AsyncGenerator[ScanHead, None]:
        """`list_scans` parsing only what the alert poller uses of each scan (`ScanHead`)."""
        return self._iterate("/v1/scans", ScanHead, encode_filters(filters))

    async def get_scan(self, scan_id: str) -> Scan:
        path = _path("/v1/scans", scan_id)
        return _one(await self._get(path), f"GET {path}", Scan)

    async def start_scan(
        self,
        scan_type: str,
        *,
        targets: Sequence[str] | None = None,
        target_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        use_authentication: bool = False,
    ) -> Scan:
        """`POST /v1/scans`: start a `scan_type` scan of exactly one of `targets` (hosts,
        URLs, IPs), `target_ids` or `tags`; the new scan, QUEUED. Never sent twice (see the
        module's retry rule): a failure after sending is `OutcomeUnknown`."""
        if not isinstance(scan_type, str) or SCAN_TYPE_PATTERN.fullmatch(scan_type) is None:
            raise InvalidRequest("the scan type must be an API name such as OPENVAS")
        given = {"targets": targets, "target_ids": target_ids, "tags": tags}
        chosen = [(name, values) for name, values in given.items() if values is not None]
        if len(chosen) != 1:
            raise InvalidRequest("give exactly one of targets, target_ids or tags")
        name, values = chosen[0]
        items = _strings(name, values)
        if name == "target_ids":
            items = [validate_scan_id(item, "target") for item in items]
        body = {"type": scan_type, name: items, "use_authentication": bool(use_authentication)}
        return _one(await self._post("/v1/scans", body), "POST /v1/scans", Scan)

    async def get_risk(self, risk_id: str) -> Risk:
        path = _path("/v1/risks", risk_id, "risk")
        return _one(await self._get(path), f"GET {path}", Risk)

    def list_risks(
        self, filters: Mapping[str, Sequence[str]] | None = None, **named: Sequence[str]
    ) -> AsyncGenerator[Risk, None]:
        """Every risk matching `filters` and the named filters of `risk_filters`
        (`target_ids`, `statuses`, `tags`, `scan_types`, `threat_levels`, `titles`), over
        all pages, each once."""
        return self._iterate("/v1/risks", Risk, encode_filters(risk_filters(filters, **named)))

    async def list_risks_page(
        self,
        filters: Mapping[str, Sequence[str]] | None = None,
        page_token: str | None = None,
        **named: Sequence[str],
    ) -> RiskPage:
        """One page of `GET /v1/risks`; most callers want `list_risks`."""
        encoded = encode_filters(risk_filters(filters, **named))
        risks, token = await self._list_page("/v1/risks", Risk, encoded, page_token)
        return RiskPage(risks=risks, next_page_token=token)

    async def get_target(self, target_id: str) -> Target:
        path = _path("/v1/targets", target_id, "target")
        return _one(await self._get(path), f"GET {path}", Target)

    async def list_targets_page(
        self, filters: Mapping[str, Sequence[str]] | None = None, page_token: str | None = None
    ) -> TargetPage:
        """One page of `GET /v1/targets` (filter keys such as `tags`, `target`)."""
        path = "/v1/targets"
        targets, token = await self._list_page(path, Target, encode_filters(filters), page_token)
        return TargetPage(targets=targets, next_page_token=token)

    async def list_targets(
        self, filters: Mapping[str, Sequence[str]] | None = None, *, text: str | None = None
    ) -> AsyncGenerator[Target, None]:
        """Every target matching `filters`, over all pages, each once. `text` keeps those
        whose target or label contains it, ignoring case: the API has no such search, so
        it is done here, page by page."""
        wanted = text.casefold() if text else None
        async with contextlib.aclosing(
            self._iterate("/v1/targets", Target, encode_filters(filters))
        ) as targets:
            async for target in targets:
                if wanted is None or wanted in f"{target.target}\n{target.label}".casefold():
                    yield target

    async def create_target(
        self,
        target: str,
        label: str | None = None,
        tags: Sequence[str] = (),
        *,
        upsert: bool = False,
    ) -> Target:
        """`POST /v1/targets?upsert=`: a new target (IPv4, URL or domain name); with `upsert`
        an existing one gets this label and these tags, without it HostedScan refuses a
        duplicate (BadRequest)."""
        if not isinstance(target, str) or not target.strip():
            raise InvalidRequest("the target must be a host name, URL or IPv4 address")
        body: dict[str, Any] = {"target": target}
        if label is not None:
            if not isinstance(label, str):
                raise InvalidRequest("the label must be text")
            body["label"] = label
        if tags:
            body["tags"] = _strings("tags", tags, limit=MAX_TAGS)
        params = {"upsert": "true" if upsert else "false"}
        return _one(await self._post("/v1/targets", body, params), "POST /v1/targets", Target)

    async def create_report(
        self,
        report_format: str,
        targets_filter: Mapping[str, Sequence[str]] | None = None,
        risks_filter: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        """`POST /v1/reports`: ask for a PDF or HTML report; its id, for `get_report`.

        `targets_filter` is `{"target_ids": [...]}` or `{"tag": [...]}`; `risks_filter` takes
        `status` and `risk_definition.scan_type`/`threat_level`/`title`, each a list.
        """
        if report_format not in REPORT_FORMATS:
            raise InvalidRequest(f"the report format is PDF or HTML, not {report_format!r}")
        body: dict[str, Any] = {"report_format": report_format}
        targets = _filter_lists("targets_filter", targets_filter, TARGETS_FILTER_KEYS)
        if targets is not None:
            if len(targets) > 1:
                raise InvalidRequest("targets_filter takes target_ids or tag, not both")
            if "target_ids" in targets:
                targets["target_ids"] = [
                    validate_scan_id(item, "target") for item in targets["target_ids"]
                ]
            body["targets_filter"] = targets
        risks = _filter_lists("risks_filter", risks_filter, REPORT_RISK_FILTER_KEYS)
        if risks is not None:
            body["risks_filter"] = risks
        data = _data_object(await self._post("/v1/reports", body), "POST /v1/reports")
        report_id = data.get("id")
        if not isinstance(report_id, str) or not report_id:
            raise BadResponse('POST /v1/reports: "data" has no report "id"')
        return report_id

    async def get_report(self, report_id: str) -> ReportFile | None:
        """`GET /v1/reports/:id`: the file, or None while it is not ready (202, 404, 409 or
        an empty body: an id HostedScan does not know yet looks the same). Other failures
        raise as for every GET."""
        path = _path("/v1/reports", report_id, "report")
        response = await self._get(path, accept=REPORT_NOT_READY)
        if response.status_code != 200 or not response.content:
            return None
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return ReportFile(report_id, response.content, content_type)

    async def get_result(self, result_id: str) -> ResultContent:
        """A result file's raw bytes and the content type the service gave them."""
        response = await self._get(_path("/v1/results", result_id, "result"))
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
            # An httpx response is in a reference cycle (with its stream): dropped now, its
            # page of bytes is garbage the poller's collection after the batch frees, even
            # while the cyclic collector is paused for a listing (alerts/cycle.py).
            del response
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

    async def _get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """GET `path`, retrying what may pass; a 2xx response (or one of `accept`) or the
        error it maps to."""
        return await self._send("GET", path, params, accept=accept)

    async def _post(
        self, path: str, body: Mapping[str, Any], params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """POST a JSON body, retried only when HostedScan certainly did not act on it."""
        return await self._send("POST", path, params, body=body)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        *,
        body: Mapping[str, Any] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        attempt = 1
        while True:
            outcome = await self._attempt(method, path, params, body, accept, attempt)
            if isinstance(outcome, httpx.Response):
                return outcome
            if not self._may_retry(method, outcome) or attempt >= self._max_attempts:
                raise outcome.error(method, path, attempt) from outcome.cause
            await self._sleep(self._delay(attempt, outcome.retry_after))
            attempt += 1

    def _may_retry(self, method: str, failure: _Failure) -> bool:
        """The module's retry rule: GETs whenever it may pass; writes only when HostedScan
        certainly did not act (nothing sent, or a 429 that says when to come back)."""
        if method == "GET" or not failure.sent:
            return failure.retry
        return (
            failure.kind is RateLimited
            and failure.retry_after is not None
            and failure.retry_after <= self._retry_after_cap
        )

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        accept: frozenset[int],
        attempt: int,
    ) -> httpx.Response | _Failure:
        """One request under the limiter, logged in one line."""
        started = time.perf_counter()
        try:
            async with self._limiter or contextlib.nullcontext():
                response = await self._http.request(method, path, params=params, json=body)
        except httpx.RequestError as exc:
            self._log(logging.WARNING, method, path, type(exc).__name__, started, attempt)
            return self._transport_failure(exc)
        failure = None
        if response.status_code not in accept:
            failure = _status_failure(response, self._scrub)
        level = logging.WARNING if failure is not None and failure.retry else logging.INFO
        self._log(level, method, path, response.status_code, started, attempt)
        return failure or response

    def _transport_failure(self, exc: httpx.RequestError) -> _Failure:
        # httpx's exceptions hold the request and so the key in its headers: chain a copy
        # with only the class and the (scrubbed) message.
        message = self._scrub(str(exc))
        cause = type(exc)(message)
        detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        if isinstance(exc, httpx.DecodingError):
            return _Failure(BadResponse, detail, cause=cause)
        return _Failure(
            Unavailable,
            detail,
            isinstance(exc, RETRY_EXCEPTIONS),
            cause=cause,
            sent=not isinstance(exc, NOT_SENT_EXCEPTIONS),
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: Retry-After if given, else full-jitter backoff."""
        if retry_after is not None:
            return min(retry_after, self._retry_after_cap)
        return min(self._max_backoff, self._backoff * 2.0 ** (attempt - 1)) * self._random()

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[api key]") if self._api_key else text

    def _log(
        self, level: int, method: str, path: str, outcome: object, started: float, attempt: int
    ) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.log(
            level,
            "%s %s -> %s in %.0f ms (attempt %d of %d)",
            method,
            path,
            outcome,
            elapsed_ms,
            attempt,
            self._max_attempts,
        )
