"""HostedScanClient against a fake HostedScan (httpx.MockTransport) and, once, a loopback server."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from scanbot.hostedscan import client as client_module
from scanbot.hostedscan.client import (
    DEFAULT_TIMEOUT,
    HostedScanClient,
    ResultContent,
    encode_filters,
    parse_retry_after,
    validate_scan_id,
)
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
from scanbot.hostedscan.models import ScanHead
from scanbot.serving import serve_in_background
from tests.hostedscan.fakes import (
    BASE_URL,
    KEY,
    FakeHostedScan,
    Sleeps,
    assert_key_absent,
    collect,
    free_port,
    loud,
    make_client,
    ok,
    scan,
    status,
)

# --- ids --------------------------------------------------------------------------------

GOOD_IDS = ["abc", "5f1e7c2a9b3d", "A-b_9", "-", "_", "x" * 128]
BAD_IDS = [
    "../../v1/targets",
    "",
    "x" * 129,
    "a b",
    " abc",
    "abc\n",
    "abc\x00",
    "scän",
    "ｓｃａｎ",  # noqa: RUF001  fullwidth letters look like ASCII
    "٣٤",  # Arabic-Indic digits: `\d` would take them
    "%2e%2e",
    "%2F",
    "..",
    "a.b",
    "a/b",
    "a?b",
    "a#b",
]


@pytest.mark.parametrize("scan_id", GOOD_IDS)
def test_a_good_id_comes_back_unchanged(scan_id: str) -> None:
    assert validate_scan_id(scan_id) is scan_id


@pytest.mark.parametrize("scan_id", BAD_IDS)
def test_a_bad_id_is_refused(scan_id: str) -> None:
    with pytest.raises(InvalidScanId) as raised:
        validate_scan_id(scan_id)
    assert raised.value.scan_id == scan_id


@pytest.mark.parametrize("method", ["get_scan", "get_risk", "get_result"])
@pytest.mark.parametrize("bad_id", BAD_IDS)
async def test_a_bad_id_makes_no_request_at_all(method: str, bad_id: str) -> None:
    fake = FakeHostedScan(ok({"data": scan("x")}))
    async with make_client(fake) as client:
        with pytest.raises(InvalidScanId):
            await getattr(client, method)(bad_id)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("method", "collection"),
    [("get_scan", "scans"), ("get_risk", "risks"), ("get_result", "results")],
)
async def test_an_id_is_quoted_into_the_path(
    method: str, collection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loosen validation to reach the second line of defence: quoting alone must keep the
    # id one path segment.
    monkeypatch.setattr(client_module, "SCAN_ID_PATTERN", re.compile(r".+"))
    fake = FakeHostedScan(ok({"data": scan("x")}))
    async with make_client(fake) as client:
        await getattr(client, method)("../../v1/targets?x=1#y %")
    assert fake.requests[0].url.raw_path == (
        f"/v1/{collection}/..%2F..%2Fv1%2Ftargets%3Fx%3D1%23y%20%25".encode()
    )


async def test_an_id_is_sent_under_the_base_urls_path() -> None:
    fake = FakeHostedScan(ok({"data": scan("abc-DEF_123")}))
    client = HostedScanClient.create(
        "https://proxy.test/hostedscan", KEY, transport=httpx.MockTransport(fake)
    )
    async with client:
        got = await client.get_scan("abc-DEF_123")
    assert got.id == "abc-DEF_123"
    assert str(fake.requests[0].url) == "https://proxy.test/hostedscan/v1/scans/abc-DEF_123"


# --- the shared HTTP client -------------------------------------------------------------


async def test_create_sends_the_key_the_timeouts_and_no_query_by_default() -> None:
    fake = FakeHostedScan(ok({"data": scan("abc")}))
    async with make_client(fake) as client:
        await client.get_scan("abc")
    request = fake.requests[0]
    assert request.method == "GET"
    assert request.headers["X-HOSTEDSCAN-API-KEY"] == KEY
    assert request.extensions["timeout"] == DEFAULT_TIMEOUT.as_dict()
    assert DEFAULT_TIMEOUT.as_dict() == {"connect": 3.0, "read": 8.0, "write": 5.0, "pool": 3.0}
    assert request.url.query == b""


@pytest.mark.parametrize("api_key", ["", "two words", "key\n", "ключ", "tab\tkey"])
def test_create_refuses_a_key_that_cannot_be_a_header_without_echoing_it(api_key: str) -> None:
    with pytest.raises(ValueError, match="API key") as raised:
        HostedScanClient.create(BASE_URL, api_key)
    if api_key:
        assert api_key not in str(raised.value)


async def test_closing_the_client_closes_the_http_client() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(FakeHostedScan()))
    async with HostedScanClient(http) as client:
        assert isinstance(client, HostedScanClient)
    assert http.is_closed


def test_max_attempts_must_allow_one_attempt() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        HostedScanClient(httpx.AsyncClient(), max_attempts=0)


# --- paging -----------------------------------------------------------------------------


def pages(
    by_token: dict[str | None, dict[str, Any]],
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: ok(by_token[request.url.params.get("page_token")])


async def test_list_scans_follows_every_page_in_order() -> None:
    fake = FakeHostedScan(
        pages(
            {
                None: {"data": [scan("a"), scan("b")], "next_page_token": "t1"},
                "t1": {"data": [scan("c")], "next_page_token": "t/2+="},
                "t/2+=": {"data": [scan("d"), scan("e")], "next_page_token": "t3"},
                "t3": {"data": [scan("f")], "next_page_token": ""},
            }
        )
    )
    async with make_client(fake) as client:
        scans = await collect(client.list_scans({"state": ["RUNNING"]}))
    assert [s.id for s in scans] == ["a", "b", "c", "d", "e", "f"]
    assert fake.params("page_token") == [None, "t1", "t/2+=", "t3"]
    assert fake.params("filters") == ['{"state":["RUNNING"]}'] * 4
    assert fake.paths == ["/v1/scans"] * 4


async def test_the_pollers_listing_reads_what_it_uses_and_leaves_the_rest_unread() -> None:
    """`list_scan_heads`: the same pages and filters; a scan whose result files are
    malformed is still listed (the poller never reads them), one without an id is not."""
    bad_results = scan("b") | {"results": [{"no": "result_id"}], "skipped_targets": 5}
    fake = FakeHostedScan(
        pages(
            {
                None: {"data": [scan("a"), bad_results], "next_page_token": "t1"},
                "t1": {"data": [{"state": "RUNNING"}, scan("c")], "next_page_token": None},
            }
        )
    )
    async with make_client(fake) as client:
        heads = await collect(client.list_scan_heads({"state": ["RUNNING"]}))
        full = await collect(client.list_scans({"state": ["RUNNING"]}))
    assert [h.id for h in heads] == ["a", "b", "c"]
    assert [s.id for s in full] == ["a", "c"]  # the whole Scan refuses b's results
    assert {type(h) for h in heads} == {ScanHead}
    assert fake.params("filters") == ['{"state":["RUNNING"]}'] * 4


@pytest.mark.parametrize("last", [{"next_page_token": ""}, {"next_page_token": None}, {}])
async def test_an_empty_null_or_absent_token_ends_the_listing(last: dict[str, Any]) -> None:
    fake = FakeHostedScan(
        pages({None: {"data": [scan("a")], "next_page_token": "t1"}, "t1": {"data": [], **last}})
    )
    async with make_client(fake) as client:
        scans = await collect(client.list_scans())
        page = await client.list_scans_page(page_token="t1")
    assert [s.id for s in scans] == ["a"]
    assert len(fake.requests) == 3
    assert page.scans == []
    assert page.next_page_token is None


async def test_list_scans_page_returns_one_page_and_its_token() -> None:
    fake = FakeHostedScan(ok({"data": [scan("c"), scan("d")], "next_page_token": "t2"}))
    async with make_client(fake) as client:
        page = await client.list_scans_page({"type": ["NMAP"]}, page_token="t1")
    assert [s.id for s in page.scans] == ["c", "d"]
    assert page.next_page_token == "t2"
    assert fake.params("page_token") == ["t1"]
    assert fake.params("filters") == ['{"type":["NMAP"]}']


async def test_a_token_that_comes_back_again_stops_the_listing() -> None:
    fake = FakeHostedScan(
        pages(
            {
                None: {"data": [scan("a")], "next_page_token": "t1"},
                "t1": {"data": [scan("b")], "next_page_token": "t2"},
                "t2": {"data": [scan("c")], "next_page_token": "t1"},
            }
        )
    )
    seen: list[Any] = []
    async with make_client(fake) as client:
        with pytest.raises(BadResponse, match="page token"):
            await collect(client.list_scans(), into=seen)
    assert [s.id for s in seen] == ["a", "b", "c"]
    assert fake.params("page_token") == [None, "t1", "t2"]


async def test_a_page_that_points_at_itself_stops_the_listing() -> None:
    fake = FakeHostedScan(
        pages(
            {
                None: {"data": [scan("a")], "next_page_token": "t1"},
                "t1": {"data": [scan("b")], "next_page_token": "t1"},
            }
        )
    )
    async with make_client(fake) as client:
        with pytest.raises(BadResponse):
            await collect(client.list_scans())
    assert len(fake.requests) == 2


async def test_an_item_handed_out_on_two_pages_is_yielded_once() -> None:
    fake = FakeHostedScan(
        pages(
            {
                None: {"data": [scan("a"), scan("b")], "next_page_token": "t1"},
                "t1": {"data": [scan("b"), scan("c")]},
            }
        )
    )
    async with make_client(fake) as client:
        scans = await collect(client.list_scans())
    assert [s.id for s in scans] == ["a", "b", "c"]


async def test_pages_are_fetched_only_as_the_caller_iterates() -> None:
    fake = FakeHostedScan(
        pages(
            {
                None: {"data": [scan("a"), scan("b")], "next_page_token": "t1"},
                "t1": {"data": [scan("c")]},
            }
        )
    )
    async with make_client(fake) as client, contextlib.aclosing(client.list_scans()) as scans:
        first = await anext(scans)
    assert first.id == "a"
    assert len(fake.requests) == 1


async def test_list_risks_follows_pages_and_get_risk_reads_one() -> None:
    risk = {
        "id": "r1",
        "status": "OPEN",
        "risk_definition": {"title": "TLS 1.0", "threat_level": "HIGH"},
    }
    fake = FakeHostedScan(
        pages(
            {
                None: {"data": [risk], "next_page_token": "p2"},
                "p2": {"data": [{**risk, "id": "r2"}], "next_page_token": None},
            }
        )
    )
    async with make_client(fake) as client:
        risks = await collect(client.list_risks({"status": ["OPEN"]}))
        fake.replies = [ok({"data": risk})]
        one = await client.get_risk("r1")
    assert [r.id for r in risks] == ["r1", "r2"]
    assert fake.params("filters")[:2] == ['{"status":["OPEN"]}'] * 2
    assert one.risk_definition.title == "TLS 1.0"
    assert fake.paths == ["/v1/risks", "/v1/risks", "/v1/risks/r1"]


# --- filters ----------------------------------------------------------------------------


async def test_filters_are_sent_as_compact_url_encoded_json() -> None:
    fake = FakeHostedScan()
    async with make_client(fake) as client:
        await client.list_scans_page({"state": ["RUNNING"], "type": ["OPENVAS"]})
    url = fake.requests[0].url
    assert url.params["filters"] == '{"state":["RUNNING"],"type":["OPENVAS"]}'
    assert parse_qs(url.query.decode(), strict_parsing=True) == {
        "filters": ['{"state":["RUNNING"],"type":["OPENVAS"]}']
    }
    assert not set(b'{}"[] ') & set(url.query)


@pytest.mark.parametrize("filters", [None, {}, {"state": []}, {"state": (), "type": []}])
async def test_no_filter_param_without_filter_values(filters: Any) -> None:
    fake = FakeHostedScan()
    async with make_client(fake) as client:
        await collect(client.list_scans(filters))
    assert "filters" not in fake.requests[0].url.params


def test_filters_keep_order_unicode_and_every_value() -> None:
    encoded = encode_filters({"scheduled_by": ("zoë", 'al "x"'), "state": ["QUEUED", "RUNNING"]})
    assert encoded == '{"scheduled_by":["zoë","al \\"x\\""],"state":["QUEUED","RUNNING"]}'
    assert json.loads(encoded) == {
        "scheduled_by": ["zoë", 'al "x"'],
        "state": ["QUEUED", "RUNNING"],
    }


def test_a_single_string_is_not_taken_for_a_list_of_letters() -> None:
    with pytest.raises(TypeError, match="state"):
        encode_filters({"state": "RUNNING"})


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error", "retried"),
    [
        (400, BadRequest, False),
        (401, Unauthorized, False),
        (403, Unauthorized, False),
        (404, NotFound, False),
        (409, BadRequest, False),
        (429, RateLimited, True),
        (500, Unavailable, True),
        (501, Unavailable, False),
        (502, Unavailable, True),
        (503, Unavailable, True),
        (504, Unavailable, True),
        (302, BadResponse, False),
    ],
)
async def test_each_status_maps_to_its_error_and_only_transient_ones_are_retried(
    code: int, error: type[HostedScanError], retried: bool
) -> None:
    fake = FakeHostedScan(status(code))
    sleeps = Sleeps()
    async with make_client(fake, sleeps, max_attempts=3) as client:
        with pytest.raises(error, match=f"GET /v1/scans/abc: .*HTTP {code}") as raised:
            await client.get_scan("abc")
    assert type(raised.value) is error
    assert len(fake.requests) == (3 if retried else 1)
    assert len(sleeps.delays) == (2 if retried else 0)


@pytest.mark.parametrize(
    ("exception", "retried"),
    [
        (httpx.ConnectTimeout, True),
        (httpx.ReadTimeout, True),
        (httpx.PoolTimeout, True),
        (httpx.ConnectError, True),
        (httpx.ReadError, True),
        (httpx.RemoteProtocolError, True),
        (httpx.LocalProtocolError, False),
        (httpx.UnsupportedProtocol, False),
    ],
)
async def test_transport_failures_are_unavailable(
    exception: type[httpx.RequestError], retried: bool
) -> None:
    fake = FakeHostedScan(exception)
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        with pytest.raises(Unavailable, match=exception.__name__) as raised:
            await client.get_scan("abc")
    assert len(fake.requests) == (4 if retried else 1)
    assert isinstance(raised.value.__cause__, exception)


async def test_a_transient_failure_then_success_returns_the_answer() -> None:
    fake = FakeHostedScan(httpx.ConnectTimeout, status(502), ok({"data": scan("abc")}))
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        got = await client.get_scan("abc")
    assert got.id == "abc"
    assert len(fake.requests) == 3
    assert sleeps.delays == [0.5, 1.0]


async def test_a_body_that_is_not_json_is_a_bad_response_with_its_cause() -> None:
    fake = FakeHostedScan(httpx.Response(200, text="<html>maintenance</html>"))
    async with make_client(fake) as client:
        with pytest.raises(BadResponse, match="not JSON") as raised:
            await client.get_scan("abc")
        with pytest.raises(BadResponse, match="not JSON"):
            await client.list_scans_page()
        fake.replies = [httpx.Response(200, content=b"\xff\xfe{")]
        with pytest.raises(BadResponse, match="not JSON"):
            await client.get_scan("abc")
    assert isinstance(raised.value.__cause__, ValueError)


async def test_a_body_that_cannot_be_decoded_is_a_bad_response() -> None:
    garbled = httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
    )
    fake = FakeHostedScan(garbled)
    async with make_client(fake) as client:
        with pytest.raises(BadResponse, match="DecodingError"):
            await client.get_scan("abc")
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        [],
        "scans",
        {},
        {"items": [scan("a")]},
        {"data": scan("a")},
        {"data": "a"},
        {"data": [scan("a")], "next_page_token": 7},
        {"data": [scan("a")], "next_page_token": ["t"]},
    ],
)
async def test_a_list_of_the_wrong_shape_is_a_bad_response(body: Any) -> None:
    async with make_client(FakeHostedScan(ok(body))) as client:
        with pytest.raises(BadResponse, match="/v1/scans"):
            await collect(client.list_scans())


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"scan": scan("a")},
        {"data": [scan("a")]},
        {"data": None},
        {"data": {"type": "NMAP"}},
    ],
)
async def test_one_scan_of_the_wrong_shape_is_a_bad_response(body: Any) -> None:
    async with make_client(FakeHostedScan(ok(body))) as client:
        with pytest.raises(BadResponse, match="/v1/scans/abc"):
            await client.get_scan("abc")


async def test_a_scan_without_an_id_names_the_field_and_chains_the_validation_error() -> None:
    async with make_client(FakeHostedScan(ok({"data": {"type": "NMAP"}}))) as client:
        with pytest.raises(BadResponse, match="id: Field required") as raised:
            await client.get_scan("abc")
    assert type(raised.value.__cause__).__name__ == "ValidationError"


async def test_a_null_data_list_is_an_empty_page() -> None:
    async with make_client(FakeHostedScan(ok({"data": None}))) as client:
        page = await client.list_scans_page()
    assert page.scans == []
    assert page.next_page_token is None


async def test_a_malformed_item_is_skipped_with_a_warning_naming_its_index(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = {"data": [scan("a"), {"type": "NMAP"}, scan("b"), "junk", scan("c", progress="lots")]}
    caplog.set_level(logging.WARNING, logger="scanbot.hostedscan")
    async with make_client(FakeHostedScan(ok(body))) as client:
        page = await client.list_scans_page()
    assert [s.id for s in page.scans] == ["a", "b"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "skipped item 1 " in warnings[0]
    assert "id: Field required" in warnings[0]
    assert "skipped item 3 " in warnings[1]
    assert "skipped item 4 " in warnings[2]
    assert "progress" in warnings[2]


# --- retries ----------------------------------------------------------------------------


async def test_backoff_doubles_and_gives_up_after_max_attempts() -> None:
    fake = FakeHostedScan(status(503))
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        with pytest.raises(Unavailable, match="after 4 attempts"):
            await client.get_scan("abc")
    assert len(fake.requests) == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]


async def test_backoff_is_capped_at_max_backoff() -> None:
    fake = FakeHostedScan(status(500))
    sleeps = Sleeps()
    async with make_client(fake, sleeps, max_attempts=6, backoff=1.0, max_backoff=3.0) as client:
        with pytest.raises(Unavailable):
            await client.get_scan("abc")
    assert len(fake.requests) == 6
    assert sleeps.delays == [1.0, 2.0, 3.0, 3.0, 3.0]


async def test_backoff_has_full_jitter_from_the_injected_random() -> None:
    draws = iter([0.1, 0.9, 0.5])
    fake = FakeHostedScan(httpx.ReadTimeout)
    sleeps = Sleeps()
    async with make_client(fake, sleeps, random=lambda: next(draws)) as client:
        with pytest.raises(Unavailable):
            await client.get_scan("abc")
    assert sleeps.delays == pytest.approx([0.05, 0.9, 1.0])


async def test_one_attempt_means_no_retry() -> None:
    fake = FakeHostedScan(status(503))
    sleeps = Sleeps()
    async with make_client(fake, sleeps, max_attempts=1) as client:
        with pytest.raises(Unavailable) as raised:
            await client.get_scan("abc")
    assert len(fake.requests) == 1
    assert sleeps.delays == []
    assert "attempts" not in str(raised.value)


async def test_retry_after_seconds_is_honoured() -> None:
    fake = FakeHostedScan(status(429, Retry_After="3"), ok({"data": scan("abc")}))
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        await client.get_scan("abc")
    assert sleeps.delays == [3.0]


async def test_retry_after_on_a_503_is_honoured_too() -> None:
    fake = FakeHostedScan(status(503, Retry_After="2"), ok({"data": scan("abc")}))
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        await client.get_scan("abc")
    assert sleeps.delays == [2.0]


async def test_retry_after_is_capped_and_the_last_429_is_rate_limited() -> None:
    fake = FakeHostedScan(status(429, Retry_After="120"))
    sleeps = Sleeps()
    async with make_client(fake, sleeps, max_attempts=3) as client:
        with pytest.raises(RateLimited) as raised:
            await client.get_scan("abc")
    assert sleeps.delays == [10.0, 10.0]
    assert raised.value.retry_after == 120.0
    assert len(fake.requests) == 3


async def test_retry_after_as_an_http_date() -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    earlier = email.utils.format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    fake = FakeHostedScan(
        status(429, Retry_After=later), status(429, Retry_After=earlier), ok({"data": scan("a")})
    )
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        await client.get_scan("a")
    assert sleeps.delays == [10.0, 0.0]


async def test_an_unreadable_retry_after_falls_back_to_backoff() -> None:
    fake = FakeHostedScan(status(429, Retry_After="soon"), ok({"data": scan("a")}))
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        await client.get_scan("a")
    assert sleeps.delays == [0.5]


async def test_a_429_without_retry_after_has_none() -> None:
    async with make_client(FakeHostedScan(status(429)), max_attempts=1) as client:
        with pytest.raises(RateLimited) as raised:
            await client.get_scan("a")
    assert raised.value.retry_after is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert parse_retry_after(value, now) == seconds


# --- results ----------------------------------------------------------------------------


async def test_get_result_returns_the_raw_bytes_and_content_type() -> None:
    pdf = b"%PDF-1.7\n\xff\xd8\x00binary"
    fake = FakeHostedScan(
        httpx.Response(200, content=pdf, headers={"Content-Type": "application/pdf"})
    )
    async with make_client(fake) as client:
        result = await client.get_result("res_1")
    assert result == ResultContent(pdf, "application/pdf")
    assert fake.paths == ["/v1/results/res_1"]


async def test_get_result_without_a_content_type_is_octet_stream() -> None:
    fake = FakeHostedScan(httpx.Response(200, content=b"<xml/>"))
    async with make_client(fake) as client:
        result = await client.get_result("res_1")
    assert result == ResultContent(b"<xml/>", "application/octet-stream")


async def test_a_missing_result_is_not_found() -> None:
    async with make_client(FakeHostedScan(status(404))) as client:
        with pytest.raises(NotFound, match="/v1/results/gone"):
            await client.get_result("gone")


# --- the limiter ------------------------------------------------------------------------


async def test_the_limiter_is_held_during_each_attempt_but_not_during_sleeps() -> None:
    limiter = asyncio.Semaphore(1)
    held_during_requests: list[bool] = []
    held_during_sleeps: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        held_during_requests.append(limiter.locked())
        return status(503) if len(held_during_requests) < 3 else ok({"data": scan("a")})

    async def sleep(delay: float) -> None:
        held_during_sleeps.append(limiter.locked())

    fake = FakeHostedScan(answer)
    async with make_client(fake, limiter=limiter, sleep=sleep) as client:
        await client.get_scan("a")
    assert held_during_requests == [True, True, True]
    assert held_during_sleeps == [False, False]
    assert not limiter.locked()


@pytest.mark.parametrize(("limit", "peak"), [(1, 1), (2, 2), (None, 5)])
async def test_the_limiter_bounds_concurrent_requests(limit: int | None, peak: int) -> None:
    in_flight = 0
    most = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)  # let the other requests start if they may
        in_flight -= 1
        return ok({"data": scan("a")})

    limiter = asyncio.Semaphore(limit) if limit else None
    http = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(answer))
    async with HostedScanClient(http, limiter=limiter) as client:
        await asyncio.gather(*(client.get_scan("a") for _ in range(5)))
    assert most == peak


async def test_the_limiter_is_released_after_a_failure() -> None:
    limiter = asyncio.Semaphore(1)
    async with make_client(FakeHostedScan(httpx.ConnectError), limiter=limiter) as client:
        with pytest.raises(Unavailable):
            await client.get_scan("a")
    assert not limiter.locked()


# --- logging and the key ----------------------------------------------------------------


async def test_one_log_line_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scanbot.hostedscan")
    fake = FakeHostedScan(status(503), httpx.ReadTimeout, ok({"data": scan("abc")}))
    async with make_client(fake) as client:
        await client.get_scan("abc")
    lines = [r.getMessage() for r in caplog.records if r.name == "scanbot.hostedscan"]
    assert len(lines) == 3
    pattern = r"GET /v1/scans/abc -> {} in \d+ ms \(attempt {} of 4\)"
    assert re.fullmatch(pattern.format("503", 1), lines[0])
    assert re.fullmatch(pattern.format("ReadTimeout", 2), lines[1])
    assert re.fullmatch(pattern.format("200", 3), lines[2])
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING", "INFO"]


async def test_the_api_key_never_leaks_through_a_fake_hostedscan(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loud(caplog)

    def quoting_the_key(request: httpx.Request) -> httpx.Response:
        # Some libraries quote a header in their error text; the client must scrub it.
        raise httpx.LocalProtocolError(f"illegal header value {KEY!r}", request=request)

    calls = [
        (status(401), "get_scan"),
        (status(403), "get_risk"),
        (status(400), "list_scans_page"),
        (status(404), "get_result"),
        (status(429, Retry_After="1"), "get_scan"),
        (status(500), "get_scan"),
        (httpx.ConnectTimeout, "get_scan"),
        (httpx.ConnectError, "list_scans_page"),
        (quoting_the_key, "get_scan"),
        (httpx.Response(200, text="not json"), "get_scan"),
        (ok({"data": {"type": "NMAP"}}), "get_scan"),
        (ok({"data": [{"no": "id"}]}), "list_scans_page"),
        (ok({"data": "x"}), "list_scans_page"),
    ]
    errors: list[HostedScanError] = []
    fake = FakeHostedScan()
    async with make_client(fake) as client:
        for reply, method in calls:
            fake.replies = [reply]
            call = getattr(client, method)
            try:
                await (call() if method == "list_scans_page" else call("abc"))
            except HostedScanError as exc:
                errors.append(exc)
        with pytest.raises(InvalidScanId) as invalid:
            await client.get_scan("../../v1/targets")
        errors.append(invalid.value)
    # Every call but the page with a malformed item failed; the bad id makes up the count.
    assert len(errors) == len(calls)
    assert all(r.headers["X-HOSTEDSCAN-API-KEY"] == KEY for r in fake.requests)
    assert any(r.name == "httpx" for r in caplog.records)
    assert_key_absent(errors, caplog)


async def loopback_hostedscan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A tiny HostedScan: `flaky` always fails, the right key gets a scan, others a 401."""
    if scope["type"] == "lifespan":
        await receive()  # startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    scan_id = scope["path"].rsplit("/", 1)[-1]
    keyed = (b"x-hostedscan-api-key", KEY.encode()) in scope["headers"]
    code = 503 if scan_id == "flaky" else 200 if keyed else 401
    body = json.dumps({"data": scan(scan_id)}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_the_api_key_never_leaks_over_a_real_loopback_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loud(caplog)
    errors: list[HostedScanError] = []
    async with (
        serve_in_background(loopback_hostedscan) as base_url,
        HostedScanClient.create(base_url, KEY, sleep=Sleeps()) as client,
    ):
        assert (await client.get_scan("abc")).id == "abc"
        with pytest.raises(Unavailable) as flaky:
            await client.get_scan("flaky")
        errors.append(flaky.value)
    async with HostedScanClient.create(
        f"http://127.0.0.1:{free_port()}", KEY, sleep=Sleeps()
    ) as client:
        with pytest.raises(Unavailable, match="ConnectError") as refused:
            await client.get_scan("abc")
        errors.append(refused.value)
    assert "after 4 attempts" in str(flaky.value)
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert_key_absent(errors, caplog)
