"""The client's writes (scans, targets, reports) and their retry rule, over MockTransport."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pytest

from scanbot.hostedscan.client import REASON_MAX, HostedScanClient
from scanbot.hostedscan.errors import (
    BadRequest,
    BadResponse,
    HostedScanError,
    InvalidRequest,
    InvalidScanId,
    OutcomeUnknown,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from scanbot.hostedscan.models import ReportFile
from tests.hostedscan.fakes import (
    KEY,
    FakeHostedScan,
    Sleeps,
    assert_key_absent,
    loud,
    make_client,
    ok,
    scan,
    status,
)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def queued(scan_id: str = "new1") -> httpx.Response:
    return ok({"data": scan(scan_id, state="QUEUED", progress=0)})


async def start(client: HostedScanClient, **kwargs: Any) -> Any:
    kwargs.setdefault("targets", ["example.com"])
    return await client.start_scan("OPENVAS", **kwargs)


# --- start_scan -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ({"targets": ["example.com", "203.0.113.7"]}, {"targets": ["example.com", "203.0.113.7"]}),
        ({"target_ids": ["t-1", "t_2"]}, {"target_ids": ["t-1", "t_2"]}),
        ({"tags": ("prod",)}, {"tags": ["prod"]}),
    ],
)
async def test_start_scan_posts_one_kind_of_targets(
    given: dict[str, Any], sent: dict[str, Any]
) -> None:
    fake = FakeHostedScan(queued())
    async with make_client(fake) as client:
        started = await client.start_scan("OPENVAS", **given)
    assert started.id == "new1"
    assert started.state == "QUEUED"
    request = fake.requests[0]
    assert (request.method, request.url.path) == ("POST", "/v1/scans")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-HOSTEDSCAN-API-KEY"] == KEY
    assert body_of(request) == {"type": "OPENVAS", **sent, "use_authentication": False}


async def test_start_scan_sends_use_authentication() -> None:
    fake = FakeHostedScan(queued())
    async with make_client(fake) as client:
        await client.start_scan("OWASP_ZAP", target_ids=["t1"], use_authentication=True)
    assert body_of(fake.requests[0])["use_authentication"] is True


@pytest.mark.parametrize(
    ("scan_type", "given", "message"),
    [
        ("OPENVAS", {}, "exactly one"),
        ("OPENVAS", {"targets": ["a.com"], "tags": ["prod"]}, "exactly one"),
        ("OPENVAS", {"targets": ["a.com"], "target_ids": ["t1"], "tags": ["x"]}, "exactly one"),
        ("OPENVAS", {"targets": []}, "must not be empty"),
        ("OPENVAS", {"targets": "example.com"}, "list of strings"),
        ("OPENVAS", {"tags": ["prod", ""]}, "non-empty string"),
        ("OPENVAS", {"targets": ["a.com", 7]}, "non-empty string"),
        ("openvas", {"targets": ["a.com"]}, "scan type"),
        ("", {"targets": ["a.com"]}, "scan type"),
        ("NMAP; DROP", {"targets": ["a.com"]}, "scan type"),
    ],
)
async def test_a_malformed_scan_request_is_refused_before_sending(
    scan_type: str, given: dict[str, Any], message: str
) -> None:
    fake = FakeHostedScan(queued())
    async with make_client(fake) as client:
        with pytest.raises(InvalidRequest, match=message):
            await client.start_scan(scan_type, **given)
    assert fake.requests == []


async def test_a_bad_target_id_is_refused_before_sending() -> None:
    fake = FakeHostedScan(queued())
    async with make_client(fake) as client:
        with pytest.raises(InvalidScanId, match="target ids") as raised:
            await client.start_scan("NMAP", target_ids=["ok", "../../v1/scans"])
    assert raised.value.scan_id == "../../v1/scans"
    assert fake.requests == []


async def test_an_unknown_scan_type_of_the_right_shape_is_sent() -> None:
    """The service may add types: the client lets HostedScan judge them."""
    fake = FakeHostedScan(ok({"data": scan("n", type="NUCLEI", state="QUEUED")}))
    async with make_client(fake) as client:
        started = await client.start_scan("NUCLEI", targets=["a.example.com"])
    assert started.type == "NUCLEI"
    assert started.known_type is None


@pytest.mark.parametrize(
    "body", [{"data": []}, {"data": {"type": "NMAP"}}, {"scan": scan("a")}, []]
)
async def test_a_started_scan_of_the_wrong_shape_is_a_bad_response(body: Any) -> None:
    async with make_client(FakeHostedScan(ok(body))) as client:
        with pytest.raises(BadResponse, match="POST /v1/scans"):
            await start(client)


# --- the retry rule for writes ----------------------------------------------------------


@pytest.mark.parametrize(
    "never_sent", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
)
async def test_a_post_that_never_left_is_tried_again(never_sent: type[httpx.RequestError]) -> None:
    fake = FakeHostedScan(never_sent, never_sent, queued())
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        started = await start(client)
    assert started.id == "new1"
    assert [r.method for r in fake.requests] == ["POST"] * 3
    assert sleeps.delays == [0.5, 1.0]


async def test_a_post_that_never_left_gives_up_as_unavailable_not_unknown() -> None:
    fake = FakeHostedScan(httpx.ConnectError)
    async with make_client(fake) as client:
        with pytest.raises(Unavailable, match="after 4 attempts") as raised:
            await start(client)
    assert type(raised.value) is Unavailable
    assert len(fake.requests) == 4


@pytest.mark.parametrize(
    "reply",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        status(500),
        status(502),
        status(503, Retry_After="1"),
        status(504),
    ],
    ids=lambda reply: reply.__name__ if isinstance(reply, type) else f"HTTP {reply.status_code}",
)
async def test_a_post_that_may_have_arrived_is_never_retried(reply: Any) -> None:
    fake = FakeHostedScan(reply, queued())
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        with pytest.raises(OutcomeUnknown, match=r"POST /v1/scans: .*not retried"):
            await start(client)
    assert len(fake.requests) == 1
    assert sleeps.delays == []


async def test_a_get_is_still_retried_after_the_same_failures() -> None:
    fake = FakeHostedScan(httpx.ReadTimeout, status(502), ok({"data": scan("a")}))
    async with make_client(fake) as client:
        assert (await client.get_scan("a")).id == "a"
    assert len(fake.requests) == 3


async def test_a_429_with_retry_after_is_tried_again_after_the_wait() -> None:
    fake = FakeHostedScan(status(429, Retry_After="2"), queued())
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        started = await start(client)
    assert started.id == "new1"
    assert len(fake.requests) == 2
    assert sleeps.delays == [2.0]


async def test_a_429_without_retry_after_is_not_retried() -> None:
    fake = FakeHostedScan(status(429), queued())
    async with make_client(fake) as client:
        with pytest.raises(RateLimited) as raised:
            await start(client)
    assert raised.value.retry_after is None
    assert len(fake.requests) == 1


async def test_a_429_asking_longer_than_the_cap_is_raised_with_its_wait() -> None:
    fake = FakeHostedScan(status(429, Retry_After="120"), queued())
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        with pytest.raises(RateLimited) as raised:
            await start(client)
    assert raised.value.retry_after == 120.0
    assert len(fake.requests) == 1
    assert sleeps.delays == []


async def test_429s_stop_at_max_attempts() -> None:
    fake = FakeHostedScan(status(429, Retry_After="1"))
    async with make_client(fake, max_attempts=3) as client:
        with pytest.raises(RateLimited, match="after 3 attempts"):
            await start(client)
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("code", "error"), [(401, Unauthorized), (403, Unauthorized), (404, HostedScanError)]
)
async def test_other_refusals_are_raised_at_once(code: int, error: type[Exception]) -> None:
    fake = FakeHostedScan(status(code))
    async with make_client(fake) as client:
        with pytest.raises(error):
            await start(client)
    assert len(fake.requests) == 1


async def test_one_log_line_per_write(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scanbot.hostedscan")
    async with make_client(FakeHostedScan(status(429, Retry_After="1"), queued())) as client:
        await start(client)
    lines = [r.getMessage() for r in caplog.records if r.name == "scanbot.hostedscan"]
    pattern = r"POST /v1/scans -> {} in \d+ ms \(attempt {} of 4\)"
    assert re.fullmatch(pattern.format(429, 1), lines[0])
    assert re.fullmatch(pattern.format(200, 2), lines[1])
    assert len(lines) == 2


# --- 400: what HostedScan refused -------------------------------------------------------


def refusal(body: Any, content_type: str = "application/json") -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(400, content=body, headers={"Content-Type": content_type})
    return httpx.Response(400, json=body)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (refusal({"error": "Unknown target id: t-9"}), "Unknown target id: t-9"),
        (
            refusal({"message": "type must be one of NMAP, OPENVAS"}),
            "type must be one of NMAP, OPENVAS",
        ),
        (refusal({"error": {"message": "nested words"}}), "nested words"),
        (
            refusal({"errors": [{"field": "targets", "message": "must not be empty"}]}),
            "targets: must not be empty",
        ),
        (refusal({"errors": ["first", "second"]}), "first; second"),
        (refusal({"detail": [{"loc": "tags", "msg": "too many"}]}), "tags: too many"),
        (refusal("a bare JSON string"), "a bare JSON string"),
        (refusal(b"Target already exists", "text/plain; charset=utf-8"), "Target already exists"),
        (
            refusal({"error": "two\nlines\tand\x00control\u202echars"}),
            "two lines and control chars",
        ),
        (refusal(b"<html><body>Bad Request</body></html>", "text/html"), None),
        (refusal(b"", "text/plain"), None),
        (refusal({"code": 400}), None),
        (refusal({"error": ""}), None),
        (refusal([1, 2, 3]), None),
    ],
)
async def test_a_400_body_of_any_shape_becomes_a_reason(
    reply: httpx.Response, reason: str | None
) -> None:
    async with make_client(FakeHostedScan(reply)) as client:
        with pytest.raises(BadRequest) as raised:
            await start(client)
    assert raised.value.reason == reason
    assert str(raised.value).startswith("POST /v1/scans: HTTP 400 Bad Request")
    if reason:
        assert str(raised.value).endswith(reason)


async def test_a_long_reason_is_capped() -> None:
    reply = refusal({"error": "x" * 5000})
    async with make_client(FakeHostedScan(reply)) as client:
        with pytest.raises(BadRequest) as raised:
            await start(client)
    assert raised.value.reason is not None
    assert len(raised.value.reason) == REASON_MAX
    assert raised.value.reason.endswith("…")


async def test_a_reason_never_carries_the_key(caplog: pytest.LogCaptureFixture) -> None:
    loud(caplog)
    fake = FakeHostedScan(refusal({"error": f"key {KEY} may not start scans"}))
    errors: list[HostedScanError] = []
    async with make_client(fake) as client:
        for reply in (
            refusal({"error": f"key {KEY} may not start scans"}),
            refusal(f"bad key {KEY}".encode(), "text/plain"),
            status(500),
            httpx.ReadTimeout,
            status(429),
        ):
            fake.replies = [reply]
            with pytest.raises(HostedScanError) as raised:
                await start(client)
            errors.append(raised.value)
    first = errors[0]
    assert isinstance(first, BadRequest)
    assert first.reason == "key [api key] may not start scans"
    assert_key_absent(errors, caplog)


async def test_a_get_400_carries_its_reason_too() -> None:
    async with make_client(FakeHostedScan(refusal({"error": "Unknown filter key: x"}))) as client:
        with pytest.raises(BadRequest) as raised:
            await client.list_scans_page({"x": ["1"]})
    assert raised.value.reason == "Unknown filter key: x"


# --- targets ----------------------------------------------------------------------------


def target(target_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": target_id,
        "target": f"{target_id}.example.com",
        "label": "",
        "tags": [],
        **fields,
    }


async def test_create_target_posts_the_target_and_asks_for_upsert_or_not() -> None:
    created = target("t1", label="Shop", tags=["prod", "pci"])
    fake = FakeHostedScan(ok({"data": created}))
    async with make_client(fake) as client:
        first = await client.create_target("shop.example.com", "Shop", ["prod", "pci"])
        second = await client.create_target("shop.example.com", upsert=True)
    assert (first.id, first.label, first.tags) == ("t1", "Shop", ["prod", "pci"])
    assert second.id == "t1"
    assert [r.url.path for r in fake.requests] == ["/v1/targets"] * 2
    assert [r.url.params["upsert"] for r in fake.requests] == ["false", "true"]
    assert body_of(fake.requests[0]) == {
        "target": "shop.example.com",
        "label": "Shop",
        "tags": ["prod", "pci"],
    }
    assert body_of(fake.requests[1]) == {"target": "shop.example.com"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("",), "host name, URL or IPv4"),
        (("   ",), "host name, URL or IPv4"),
        (("a.com", 7), "label must be text"),
        (("a.com", None, [f"t{i}" for i in range(11)]), "at most 10 tags"),
        (("a.com", None, "prod"), "list of strings"),
        (("a.com", None, ["prod", ""]), "non-empty string"),
    ],
)
async def test_a_malformed_target_is_refused_before_sending(
    args: tuple[Any, ...], message: str
) -> None:
    fake = FakeHostedScan(ok({"data": target("t1")}))
    async with make_client(fake) as client:
        with pytest.raises(InvalidRequest, match=message):
            await client.create_target(*args)
    assert fake.requests == []


async def test_a_duplicate_target_is_a_bad_request_naming_it() -> None:
    fake = FakeHostedScan(refusal({"error": "Target shop.example.com already exists"}))
    async with make_client(fake) as client:
        with pytest.raises(BadRequest) as raised:
            await client.create_target("shop.example.com")
    assert raised.value.reason == "Target shop.example.com already exists"
    assert len(fake.requests) == 1


async def test_targets_are_listed_in_pages_and_read_one_by_one() -> None:
    pages = {
        None: {"data": [target("a"), target("b", label="Payments")], "next_page_token": "p2"},
        "p2": {"data": [target("c", tags=None), {"no": "id"}], "next_page_token": None},
    }
    fake = FakeHostedScan(lambda request: ok(pages[request.url.params.get("page_token")]))
    async with make_client(fake) as client:
        listed = [t async for t in client.list_targets({"tags": ["prod"]})]
        page = await client.list_targets_page(page_token="p2")
        fake.replies = [ok({"data": target("b", label="Payments")})]
        one = await client.get_target("b")
    assert [t.id for t in listed] == ["a", "b", "c"]
    assert listed[2].tags == []
    assert [t.id for t in page.targets] == ["c"]
    assert page.next_page_token is None
    assert one.label == "Payments"
    assert fake.requests[0].url.params["filters"] == '{"tags":["prod"]}'
    assert [r.url.path for r in fake.requests] == ["/v1/targets"] * 3 + ["/v1/targets/b"]


async def test_list_targets_text_matches_target_or_label_ignoring_case() -> None:
    fake = FakeHostedScan(
        ok(
            {
                "data": [
                    target("web", target="https://WWW.example.com/"),
                    target("pay", target="203.0.113.7", label="Payments www"),
                    target("vpn", target="vpn.example.org"),
                ]
            }
        )
    )
    async with make_client(fake) as client:
        found = [t.id async for t in client.list_targets(text="www")]
        everything = [t.id async for t in client.list_targets(text="")]
    assert found == ["web", "pay"]
    assert everything == ["web", "pay", "vpn"]
    assert "filters" not in fake.requests[0].url.params


async def test_a_bad_target_id_makes_no_request() -> None:
    fake = FakeHostedScan(ok({"data": target("t")}))
    async with make_client(fake) as client:
        with pytest.raises(InvalidScanId, match="target ids"):
            await client.get_target("../scans")
    assert fake.requests == []


# --- reports ----------------------------------------------------------------------------


async def test_create_report_posts_its_filters_and_returns_the_id() -> None:
    fake = FakeHostedScan(ok({"data": {"id": "rep-1"}}))
    async with make_client(fake) as client:
        report_id = await client.create_report(
            "PDF",
            targets_filter={"tag": ["prod"]},
            risks_filter={"risk_definition.threat_level": ["HIGH"], "status": ("OPEN",)},
        )
        await client.create_report("HTML", targets_filter={"target_ids": ["t1", "t2"]})
        await client.create_report("HTML")
    assert report_id == "rep-1"
    assert [body_of(r) for r in fake.requests] == [
        {
            "report_format": "PDF",
            "targets_filter": {"tag": ["prod"]},
            "risks_filter": {"risk_definition.threat_level": ["HIGH"], "status": ["OPEN"]},
        },
        {"report_format": "HTML", "targets_filter": {"target_ids": ["t1", "t2"]}},
        {"report_format": "HTML"},
    ]
    assert [r.url.path for r in fake.requests] == ["/v1/reports"] * 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"report_format": "pdf"}, "PDF or HTML"),
        ({"report_format": "CSV"}, "PDF or HTML"),
        ({"report_format": "PDF", "targets_filter": {"tags": ["x"]}}, "targets_filter takes"),
        (
            {"report_format": "PDF", "targets_filter": {"tag": ["x"], "target_ids": ["t"]}},
            "not both",
        ),
        ({"report_format": "PDF", "targets_filter": {"tag": "prod"}}, "list of strings"),
        ({"report_format": "PDF", "targets_filter": {"tag": []}}, "must not be empty"),
        ({"report_format": "PDF", "targets_filter": ["prod"]}, "mapping"),
        ({"report_format": "PDF", "risks_filter": {"severity": ["HIGH"]}}, "risks_filter takes"),
        ({"report_format": "PDF", "risks_filter": {"target_id": ["t"]}}, "risks_filter takes"),
    ],
)
async def test_a_malformed_report_request_is_refused_before_sending(
    kwargs: dict[str, Any], message: str
) -> None:
    fake = FakeHostedScan(ok({"data": {"id": "r"}}))
    async with make_client(fake) as client:
        with pytest.raises(InvalidRequest, match=message):
            await client.create_report(**kwargs)
    assert fake.requests == []


async def test_report_target_ids_are_checked() -> None:
    fake = FakeHostedScan(ok({"data": {"id": "r"}}))
    async with make_client(fake) as client:
        with pytest.raises(InvalidScanId):
            await client.create_report("PDF", targets_filter={"target_ids": ["a/b"]})
    assert fake.requests == []


@pytest.mark.parametrize("data", [{}, {"id": ""}, {"id": 7}, "rep-1", None])
async def test_a_report_answer_without_an_id_is_a_bad_response(data: Any) -> None:
    async with make_client(FakeHostedScan(ok({"data": data}))) as client:
        with pytest.raises(BadResponse, match="POST /v1/reports"):
            await client.create_report("PDF")


async def test_a_report_post_is_not_retried_after_a_timeout() -> None:
    fake = FakeHostedScan(httpx.ReadTimeout, ok({"data": {"id": "r"}}))
    async with make_client(fake) as client:
        with pytest.raises(OutcomeUnknown):
            await client.create_report("PDF")
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(202),
        httpx.Response(202, json={"status": "processing"}),
        httpx.Response(404, json={"error": "Not found"}),
        httpx.Response(409, text="not ready"),
        httpx.Response(200, content=b""),
    ],
    ids=["202", "202 with a body", "404", "409", "200 empty"],
)
async def test_a_report_not_ready_yet_is_none(reply: httpx.Response) -> None:
    fake = FakeHostedScan(reply)
    sleeps = Sleeps()
    async with make_client(fake, sleeps) as client:
        assert await client.get_report("rep-1") is None
    assert len(fake.requests) == 1
    assert sleeps.delays == []


async def test_a_ready_report_is_its_bytes_and_type() -> None:
    pdf = b"%PDF-1.4\n...%%EOF\n"
    fake = FakeHostedScan(
        httpx.Response(200, content=pdf, headers={"Content-Type": "application/pdf"})
    )
    async with make_client(fake) as client:
        report = await client.get_report("rep-1")
    assert report == ReportFile("rep-1", pdf, "application/pdf")
    assert fake.requests[0].url.path == "/v1/reports/rep-1"


@pytest.mark.parametrize(
    ("reply", "error"),
    [(status(401), Unauthorized), (status(400), BadRequest), (status(503), Unavailable)],
)
async def test_a_report_that_fails_for_real_raises(
    reply: httpx.Response, error: type[Exception]
) -> None:
    async with make_client(FakeHostedScan(reply), max_attempts=2) as client:
        with pytest.raises(error):
            await client.get_report("rep-1")


async def test_a_report_get_is_retried_like_any_get() -> None:
    fake = FakeHostedScan(status(503), httpx.Response(200, content=b"<html></html>"))
    async with make_client(fake) as client:
        report = await client.get_report("rep-1")
    assert report is not None
    assert report.content_type == "application/octet-stream"
    assert len(fake.requests) == 2


async def test_a_bad_report_id_makes_no_request() -> None:
    fake = FakeHostedScan(httpx.Response(202))
    async with make_client(fake) as client:
        with pytest.raises(InvalidScanId, match="report ids"):
            await client.get_report("../../v1/scans")
    assert fake.requests == []
