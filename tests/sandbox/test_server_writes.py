"""The sandbox's write endpoints over loopback HTTP: 400s, posted scans, targets, reports,
the risk backlog's pages, and the controls tests turn (faults on writes, the write log)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from scanbot.hostedscan.models import Scan, Target
from scanbot.sandbox.server import API_KEY_HEADER, MAX_BODY
from scanbot.sandbox.world import SandboxWorld, SimClock
from tests.sandbox.loopback import Sandbox, filters, serving, walk
from tests.sandbox.world.test_writes import SCAN_REFUSALS


def world(**options: Any) -> SandboxWorld:
    options.setdefault("scans", 40)
    options.setdefault("arrivals_per_hour", 0)
    return SandboxWorld(seed=6, clock=SimClock(speed=0.0), **options)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with serving(world(backlog_risks=700), page_size=50) as running:
        yield running


async def post(sandbox: Sandbox, path: str, body: Any, **params: str) -> httpx.Response:
    return await sandbox.http.post(path, json=body, params=params)


# --- POST /v1/scans -------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), SCAN_REFUSALS)
async def test_each_bad_scan_body_is_a_400_saying_why(
    sandbox: Sandbox, body: Any, message: str
) -> None:
    before = len(sandbox.world.list_scans(None))
    response = await post(sandbox, "/v1/scans", body)
    assert response.status_code == 400
    assert message.replace("\\", "") in response.json()["error"]
    assert len(sandbox.world.list_scans(None)) == before


@pytest.mark.parametrize("content", [b"", b"{oops", b"\xff\xfe{}", b'"NMAP"', b"null"], ids=repr)
async def test_a_body_that_is_no_json_object_is_a_400(sandbox: Sandbox, content: bytes) -> None:
    response = await sandbox.http.post("/v1/scans", content=content)
    assert response.status_code == 400
    assert response.json() == {"error": "The body must be a JSON object"}


async def test_unknown_target_ids_and_tags_are_400s(sandbox: Sandbox) -> None:
    unknown_id = await post(sandbox, "/v1/scans", {"type": "NMAP", "target_ids": ["t-gone"]})
    unknown_tag = await post(sandbox, "/v1/scans", {"type": "NMAP", "tags": ["nope"]})
    assert (unknown_id.status_code, unknown_id.json()) == (
        400,
        {"error": "Unknown target id: t-gone"},
    )
    assert (unknown_tag.status_code, unknown_tag.json()) == (
        400,
        {"error": "No target has the tag nope"},
    )


async def test_a_posted_scan_answers_queued_then_lives_like_any_other(sandbox: Sandbox) -> None:
    target = (await walk(sandbox.http, "/v1/targets"))[0]
    response = await post(
        sandbox,
        "/v1/scans",
        {"type": "OWASP_ZAP", "target_ids": [target["id"]], "use_authentication": True},
    )
    assert response.status_code == 200
    scan = Scan.model_validate(response.json()["data"])
    assert (scan.state, scan.progress) == ("QUEUED", 0)
    assert [t.target_id for t in scan.requested_targets] == [target["id"]]
    assert sandbox.world.uses_authentication(scan.id)
    listed = (await sandbox.http.get("/v1/scans", params=filters({"state": ["QUEUED"]}))).json()
    assert listed["data"][0]["id"] == scan.id  # the newest first
    sandbox.world.clock.advance(86400.0)
    done = (await sandbox.http.get(f"/v1/scans/{scan.id}")).json()["data"]
    assert done["state"] in ("SUCCEEDED", "FAILED")
    assert done["resolved_targets"] == [
        {"target_id": target["id"], "resolved_target": target["target"]}
    ]


async def test_the_quota_ends_scans_over_limit_over_http() -> None:
    async with serving(world(quota=1)) as sandbox:
        first = (await post(sandbox, "/v1/scans", {"type": "NMAP", "targets": ["a.com"]})).json()
        second = (await post(sandbox, "/v1/scans", {"type": "NMAP", "targets": ["a.com"]})).json()
        assert first["data"]["state"] == second["data"]["state"] == "QUEUED"
        sandbox.world.clock.advance(86400.0)
        states = [
            (await sandbox.http.get(f"/v1/scans/{s['data']['id']}")).json()["data"]["state"]
            for s in (first, second)
        ]
    assert states[0] in ("SUCCEEDED", "FAILED")
    assert states[1] == "OVER_LIMIT"


# --- Targets --------------------------------------------------------------------------


async def test_targets_page_like_scans_and_filter(sandbox: Sandbox) -> None:
    targets = await walk(sandbox.http, "/v1/targets")
    assert targets == sandbox.world.list_targets()
    assert len(targets) == len({t["id"] for t in targets}) == 512  # a window of 256, twice
    for target in targets:
        Target.model_validate(target)
    tagged = await walk(sandbox.http, "/v1/targets", **filters({"tags": ["pci"]}))
    assert tagged
    assert all("pci" in t["tags"] for t in tagged)
    one = await sandbox.http.get(f"/v1/targets/{targets[7]['id']}")
    assert one.json() == {"data": targets[7]}
    bad = await sandbox.http.get("/v1/targets", params=filters({"colour": ["red"]}))
    assert bad.status_code == 400
    assert (await sandbox.http.get("/v1/targets", params={"page_token": "bad"})).status_code == 400


async def test_create_a_target_then_refuse_a_duplicate_unless_upsert(sandbox: Sandbox) -> None:
    body = {"target": "new.example.com", "label": "New", "tags": ["prod"]}
    created = await post(sandbox, "/v1/targets", body)
    duplicate = await post(sandbox, "/v1/targets", {"target": "new.example.com"})
    said_no = await post(sandbox, "/v1/targets", {"target": "new.example.com"}, upsert="false")
    updated = await post(
        sandbox, "/v1/targets", {"target": "new.example.com", "tags": ["pci"]}, upsert="true"
    )
    odd = await post(sandbox, "/v1/targets", body, upsert="yes")
    assert created.status_code == 200
    data = created.json()["data"]
    assert {k: data[k] for k in ("target", "label", "tags")} == body
    assert (duplicate.status_code, duplicate.json()) == (
        400,
        {"error": "Target new.example.com already exists"},
    )
    assert said_no.status_code == 400
    assert updated.json()["data"] == {**data, "tags": ["pci"]}
    assert (odd.status_code, odd.json()) == (400, {"error": "upsert must be true or false"})
    assert (await walk(sandbox.http, "/v1/targets"))[0] == updated.json()["data"]


@pytest.mark.parametrize(
    "body",
    [{}, {"target": "bad host"}, {"target": "a.com", "tags": [f"t{i}" for i in range(11)]}, []],
)
async def test_a_bad_target_body_is_a_400(sandbox: Sandbox, body: Any) -> None:
    response = await post(sandbox, "/v1/targets", body)
    assert response.status_code == 400
    assert response.json()["error"]


# --- Reports --------------------------------------------------------------------------


async def test_a_report_is_not_ready_then_its_file(sandbox: Sandbox) -> None:
    made = await post(sandbox, "/v1/reports", {"report_format": "PDF"})
    report_id = made.json()["data"]["id"]
    assert made.status_code == 200
    assert list(made.json()["data"]) == ["id"]
    pending = await sandbox.http.get(f"/v1/reports/{report_id}")
    done = await sandbox.http.get(f"/v1/reports/{report_id}")
    assert (pending.status_code, pending.content) == (202, b"")
    assert done.status_code == 200
    assert done.headers["content-type"] == "application/pdf"
    assert done.content.startswith(b"%PDF-1.")
    html_id = (await post(sandbox, "/v1/reports", {"report_format": "HTML"})).json()["data"]["id"]
    sandbox.world.release_report(html_id)
    page = await sandbox.http.get(f"/v1/reports/{html_id}")
    assert page.headers["content-type"].startswith("text/html")
    assert b"risks matched" in page.content


@pytest.mark.parametrize(("status", "error"), [(404, "Not found"), (409, "not ready yet")])
async def test_not_ready_can_be_a_404_or_a_409(sandbox: Sandbox, status: int, error: str) -> None:
    sandbox.controls.report_pending_status = status
    sandbox.world.time_next_report(never=True)
    report_id = (await post(sandbox, "/v1/reports", {"report_format": "HTML"})).json()["data"]["id"]
    answer = await sandbox.http.get(f"/v1/reports/{report_id}")
    assert answer.status_code == status
    assert error in answer.json()["error"]


def test_not_ready_is_only_what_a_client_takes_as_such(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="not ready"):
        sandbox.controls.report_pending_status = 500
    assert sandbox.controls.report_pending_status == 202


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"report_format": "DOCX"},
        {"report_format": "PDF", "targets_filter": {"target_ids": ["t-gone"]}},
        {"report_format": "PDF", "risks_filter": {"status": ["open"]}},
        {"report_format": "PDF", "risks_filter": {"target_id": ["t"]}},
    ],
)
async def test_a_bad_report_body_is_a_400(sandbox: Sandbox, body: Any) -> None:
    response = await post(sandbox, "/v1/reports", body)
    assert response.status_code == 400
    assert response.json()["error"]


# --- The backlog's pages --------------------------------------------------------------


async def test_risk_pages_run_into_the_backlog_and_back_out(sandbox: Sandbox) -> None:
    risks = await walk(sandbox.http, "/v1/risks")
    assert [r["id"] for r in risks] == [r["id"] for r in sandbox.world.list_risks(None)]
    open_high = await walk(
        sandbox.http,
        "/v1/risks",
        **filters({"status": ["OPEN"], "risk_definition.threat_level": ["HIGH"]}),
    )
    assert open_high == sandbox.world.list_risks(
        {"status": ["OPEN"], "risk_definition.threat_level": ["HIGH"]}
    )
    for token in ("LTI6MA", "LTE6LTE"):  # "-2:0" and "-1:-1": below where pages can be
        response = await sandbox.http.get("/v1/risks", params={"page_token": token})
        assert response.status_code == 400


# --- Controls -------------------------------------------------------------------------


async def test_a_faulted_write_changes_nothing_and_reads_go_on(sandbox: Sandbox) -> None:
    sandbox.controls.fail_next_write(400, body={"error": "Target is not verified"})
    sandbox.controls.fail_next_write(429, retry_after=3)
    sandbox.controls.fail_next_write(500)
    before = sandbox.world.list_scans(None)
    answers = []
    for _ in range(3):
        await sandbox.http.get("/v1/scans")  # reads pass the write faults by
        answers.append(await post(sandbox, "/v1/scans", {"type": "NMAP", "targets": ["a.com"]}))
    assert [a.status_code for a in answers] == [400, 429, 500]
    assert answers[0].json() == {"error": "Target is not verified"}
    assert answers[1].headers["retry-after"] == "3"
    assert sandbox.world.list_scans(None) == before
    assert (await post(sandbox, "/v1/scans", {"type": "NMAP", "targets": ["a.com"]})).is_success


async def test_a_processed_fault_acts_but_answers_the_fault(sandbox: Sandbox) -> None:
    sandbox.controls.fail_next_write(503, path_prefix="/v1/scans", processed=True)
    before = len(sandbox.world.list_scans(None))
    answer = await post(sandbox, "/v1/scans", {"type": "SSLYZE", "targets": ["a.com"]})
    assert answer.status_code == 503
    assert len(sandbox.world.list_scans(None)) == before + 1


async def test_every_write_is_recorded_with_its_body(sandbox: Sandbox) -> None:
    await post(sandbox, "/v1/scans", {"type": "NMAP", "targets": ["a.com"]})
    await post(sandbox, "/v1/targets", {"target": "b.com"}, upsert="true")
    await sandbox.http.get("/v1/scans")
    sandbox.controls.fail_next_write(400)
    await post(sandbox, "/v1/reports", {"report_format": "PDF"})
    async with httpx.AsyncClient(base_url=sandbox.url) as anonymous:
        await anonymous.post("/v1/scans", json={"type": "NMAP", "tags": ["x"]})
    writes = sandbox.controls.writes()
    assert [(w.method, w.path) for w in writes] == [
        ("POST", "/v1/scans"),
        ("POST", "/v1/targets"),
        ("POST", "/v1/reports"),
        ("POST", "/v1/scans"),
    ]
    assert writes[1].query == {"upsert": "true"}
    assert sandbox.controls.write_bodies("/v1/scans") == [
        {"type": "NMAP", "targets": ["a.com"]},
        {"type": "NMAP", "tags": ["x"]},
    ]
    assert [r.body for r in sandbox.controls.requests if r.method == "GET"] == [b""]
    sandbox.controls.reset()
    assert sandbox.controls.writes() == []


async def test_a_body_too_large_is_a_413_and_does_nothing(sandbox: Sandbox) -> None:
    huge = json.dumps({"type": "NMAP", "targets": ["a.com"], "pad": "x" * MAX_BODY})
    before = len(sandbox.world.list_scans(None))
    declared = await sandbox.http.post("/v1/scans", content=huge)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until too much
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536].encode()

    streamed = await sandbox.http.post("/v1/scans", content=chunks())
    assert declared.status_code == streamed.status_code == 413
    assert len(sandbox.world.list_scans(None)) == before
    assert (await sandbox.http.get("/v1/scans")).status_code == 200


async def test_writes_need_the_key(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as anonymous:
        answer = await anonymous.post(
            "/v1/targets", json={"target": "c.com"}, headers={API_KEY_HEADER: "wrong"}
        )
    assert answer.status_code == 401
    assert sandbox.world.list_targets({"target": ["c.com"]}) == []
