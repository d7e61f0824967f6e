"""The sandbox over real loopback HTTP: the API's routes, paging, errors and the controls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from scanbot.hostedscan.models import Risk, Scan
from scanbot.sandbox.server import (
    API_KEY_HEADER,
    SANDBOX_API_KEY,
    create_sandbox_app,
)
from scanbot.sandbox.world import SandboxWorld, SimClock
from scanbot.serving import serve_in_background
from tests.sandbox.loopback import Sandbox, filters, serving, walk


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with serving(SandboxWorld(scans=1300, clock=SimClock(speed=0.0))) as running:
        yield running


# --- Auth and errors -------------------------------------------------------------------


async def test_the_key_is_required(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as anonymous:
        missing = await anonymous.get("/v1/scans")
        wrong = await anonymous.get("/v1/scans", headers={API_KEY_HEADER: "not-the-key"})
        health = await anonymous.get("/healthz")
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == wrong.json() == {"error": "Invalid API key"}
    assert health.status_code == 200


async def test_unknown_things_are_not_found(sandbox: Sandbox) -> None:
    unknown = ("/v1/scans/nope", "/v1/risks/nope", "/v1/results/nope", "/v1/targets/nope")
    for path in (*unknown, "/v1/reports/nope", "/v1/schedules"):
        response = await sandbox.http.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize(
    "params",
    [
        {"filters": "{not json"},
        {"filters": '{"colour": ["red"]}'},
        {"filters": '{"state": "RUNNING"}'},
        {"filters": '["state"]'},
        {"page_token": "!!!"},
        {"page_token": "bm90IGEgbnVtYmVy"},
    ],
)
async def test_bad_parameters_are_400(sandbox: Sandbox, params: dict[str, str]) -> None:
    response = await sandbox.http.get("/v1/scans", params=params)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


# --- Scans -----------------------------------------------------------------------------


async def test_pages_cover_every_scan_once(sandbox: Sandbox) -> None:
    first = (await sandbox.http.get("/v1/scans")).json()
    assert len(first["data"]) == 500
    assert isinstance(first["next_page_token"], str)
    scans = await walk(sandbox.http, "/v1/scans")
    ids = [s["id"] for s in scans]
    assert len(ids) == len(set(ids)) == 1300
    assert ids == [s["id"] for s in sandbox.world.list_scans(None)]
    for scan in scans:
        Scan.model_validate(scan)


async def test_new_scans_do_not_shift_a_walk_in_progress(sandbox: Sandbox) -> None:
    first = (await sandbox.http.get("/v1/scans")).json()
    sandbox.world.clock.advance(3600.0)  # about sixty arrivals, all newer than page one
    rest = await walk(sandbox.http, "/v1/scans", page_token=first["next_page_token"])
    ids = [s["id"] for s in first["data"] + rest]
    assert len(ids) == len(set(ids)) == 1300


async def test_filters_match_exactly_or_within_and_across(sandbox: Sandbox) -> None:
    wanted = {"state": ["RUNNING", "QUEUED"], "type": ["OPENVAS", "OWASP_ZAP"]}
    scans = await walk(sandbox.http, "/v1/scans", **filters(wanted))
    assert scans == sandbox.world.list_scans(wanted)
    assert {s["state"] for s in scans} == {"RUNNING", "QUEUED"}
    assert {s["type"] for s in scans} == {"OPENVAS", "OWASP_ZAP"}
    lower = await sandbox.http.get("/v1/scans", params=filters({"state": ["running"]}))
    assert lower.json() == {"data": []}


async def test_a_filtered_walk_spans_pages(sandbox: Sandbox) -> None:
    succeeded = await walk(sandbox.http, "/v1/scans", **filters({"state": ["SUCCEEDED"]}))
    assert len(succeeded) > 500
    assert len({s["id"] for s in succeeded}) == len(succeeded)
    assert all(s["state"] == "SUCCEEDED" for s in succeeded)


async def test_one_scan(sandbox: Sandbox) -> None:
    expected = sandbox.world.list_scans(None)[3]
    response = await sandbox.http.get(f"/v1/scans/{expected['id']}")
    assert response.status_code == 200
    assert response.json() == {"data": expected}


async def test_a_started_scan_is_queued_then_runs(sandbox: Sandbox) -> None:
    response = await sandbox.http.post(
        "/v1/scans", json={"type": "SSLYZE", "targets": ["shop.example.com"]}
    )
    assert response.status_code == 200
    scan = Scan.model_validate(response.json()["data"])
    assert scan.state == "QUEUED"
    assert scan.requested_targets[0].target == "shop.example.com"
    sandbox.world.clock.advance(7200.0)
    later = (await sandbox.http.get(f"/v1/scans/{scan.id}")).json()["data"]
    assert later["state"] in ("SUCCEEDED", "FAILED", "OVER_LIMIT")
    for body in ({"type": "NOPE", "targets": ["x"]}, {"type": "NMAP"}, [1]):
        assert (await sandbox.http.post("/v1/scans", json=body)).status_code == 400
    bad = await sandbox.http.post("/v1/scans", content=b"{oops")
    assert bad.status_code == 400


async def test_scans_move_on_with_the_clock(sandbox: Sandbox) -> None:
    scan_id = sandbox.world.list_scans({"state": ["QUEUED"]})[0]["id"]
    states = []
    for _ in range(500):
        scan = (await sandbox.http.get(f"/v1/scans/{scan_id}")).json()["data"]
        states.append(scan["state"])
        if scan["state"] not in ("QUEUED", "RUNNING"):
            break
        sandbox.world.clock.advance(120.0)
    assert states[0] == "QUEUED"
    assert "RUNNING" in states
    assert states[-1] in ("SUCCEEDED", "FAILED", "OVER_LIMIT")


# --- Risks and results -----------------------------------------------------------------


async def test_risks_list_in_pages_and_parse(sandbox: Sandbox) -> None:
    risks = await walk(sandbox.http, "/v1/risks")
    assert len(risks) > 500
    assert [r["id"] for r in risks] == [r["id"] for r in sandbox.world.list_risks(None)]
    for risk in risks:
        Risk.model_validate(risk)


async def test_risks_by_id_in_one_page(sandbox: Sandbox) -> None:
    scan = next(
        s for s in sandbox.world.list_scans({"state": ["SUCCEEDED"]}) if s["risks"]["new_open"]
    )
    refs = [r["risk_id"] for group in scan["risks"].values() for r in group]
    response = await sandbox.http.get("/v1/risks", params=filters({"id": refs}))
    body = response.json()
    assert "next_page_token" not in body
    assert sorted(r["id"] for r in body["data"]) == sorted(refs)
    single = await sandbox.http.get(f"/v1/risks/{refs[0]}")
    assert Risk.model_validate(single.json()["data"]).id == refs[0]


async def test_risk_filters_over_http(sandbox: Sandbox) -> None:
    wanted = {"risk_definition.threat_level": ["HIGH", "CRITICAL"], "status": ["OPEN"]}
    risks = await walk(sandbox.http, "/v1/risks", **filters(wanted))
    assert risks
    assert {r["risk_definition"]["threat_level"] for r in risks} <= {"HIGH", "CRITICAL"}
    assert {r["status"] for r in risks} == {"OPEN"}
    target_id = risks[0]["target_id"]
    same_target = await walk(sandbox.http, "/v1/risks", **filters({"target_id": [target_id]}))
    assert same_target
    assert {r["target_id"] for r in same_target} == {target_id}
    bad = await sandbox.http.get("/v1/risks", params=filters({"severity": ["HIGH"]}))
    assert bad.status_code == 400


async def test_results_come_with_their_content_types(sandbox: Sandbox) -> None:
    scan = sandbox.world.list_scans({"state": ["SUCCEEDED"]})[0]
    for result in scan["results"]:
        response = await sandbox.http.get(f"/v1/results/{result['result_id']}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(result["content_type"])
        if result["content_type"] == "application/pdf":
            assert response.content.startswith(b"%PDF")
        if result["content_type"] == "application/json":
            assert response.json()["scan_id"] == scan["id"]


# --- Controls --------------------------------------------------------------------------


async def test_the_gate_holds_requests_until_set(sandbox: Sandbox) -> None:
    sandbox.controls.gate.clear()
    pending = asyncio.create_task(sandbox.http.get("/v1/scans"))
    for _ in range(500):
        if sandbox.controls.waiting:
            break
        await asyncio.sleep(0.01)
    assert sandbox.controls.waiting == 1
    health = await sandbox.http.get("/healthz")  # not held: it is no API request
    assert health.status_code == 200
    assert not pending.done()
    sandbox.controls.gate.set()
    response = await pending
    assert response.status_code == 200
    assert sandbox.controls.waiting == 0


async def test_faults_come_first_then_normal_answers(sandbox: Sandbox) -> None:
    sandbox.controls.add_fault(429, retry_after=7, times=2)
    sandbox.controls.add_fault(503, body="upstream down")
    answers = [await sandbox.http.get("/v1/scans") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 503, 200]
    assert answers[0].headers["retry-after"] == "7"
    assert answers[0].json() == {"error": "Too Many Requests"}
    assert answers[2].text == "upstream down"
    assert not sandbox.controls.faults


async def test_faults_can_target_a_path_and_break_json(sandbox: Sandbox) -> None:
    sandbox.controls.add_fault(200, body="<html>maintenance</html>", path_prefix="/v1/risks")
    scans = await sandbox.http.get("/v1/scans")
    risks = await sandbox.http.get("/v1/risks")
    assert scans.status_code == 200
    assert scans.json()["data"]
    assert risks.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        risks.json()
    sandbox.controls.add_fault(500)
    async with httpx.AsyncClient(base_url=sandbox.url) as anonymous:
        assert (await anonymous.get("/v1/scans")).status_code == 500  # before the key check


async def test_latency_slows_every_api_request(sandbox: Sandbox) -> None:
    sandbox.controls.latency = 0.2
    started = time.monotonic()
    await sandbox.http.get("/v1/scans/nope")
    assert time.monotonic() - started >= 0.2


async def test_every_request_is_recorded(sandbox: Sandbox) -> None:
    scan_id = sandbox.world.list_scans(None)[0]["id"]
    await sandbox.http.get("/v1/scans", params={"filters": '{"state":["RUNNING"]}'})
    await sandbox.http.get(f"/v1/scans/{scan_id}")
    await sandbox.http.get("/v1/risks")
    requests = sandbox.controls.requests
    assert [(r.method, r.path) for r in requests] == [
        ("GET", "/v1/scans"),
        ("GET", f"/v1/scans/{scan_id}"),
        ("GET", "/v1/risks"),
    ]
    assert requests[0].query == {"filters": '{"state":["RUNNING"]}'}
    assert requests[0].time <= requests[-1].time
    assert sandbox.controls.count() == 3
    assert sandbox.controls.count("/v1/scans") == 2
    sandbox.controls.latency = 1.0
    sandbox.controls.add_fault(500)
    sandbox.controls.gate.clear()
    sandbox.controls.reset()
    assert sandbox.controls.count() == 0
    assert not sandbox.controls.faults
    assert sandbox.controls.gate.is_set()
    assert sandbox.controls.latency == 0.0


async def test_hooks_show_over_http(sandbox: Sandbox) -> None:
    scan_id = sandbox.world.add_scan(
        type="NMAP", state="RUNNING", targets=["<!here>"], progress=10, risks=2
    )
    scan = (await sandbox.http.get(f"/v1/scans/{scan_id}")).json()["data"]
    assert (scan["state"], scan["progress"]) == ("RUNNING", 10)
    sandbox.world.set_state(scan_id, "SUCCEEDED", 100)
    scan = (await sandbox.http.get(f"/v1/scans/{scan_id}")).json()["data"]
    assert scan["state"] == "SUCCEEDED"
    sandbox.world.remove_scan(scan_id)
    assert (await sandbox.http.get(f"/v1/scans/{scan_id}")).status_code == 404


async def test_page_size_and_api_key_are_settable() -> None:
    world = SandboxWorld(scans=25, clock=SimClock(speed=0.0))
    app = create_sandbox_app(world, page_size=10, api_key="k-123")
    async with (
        serve_in_background(app) as url,
        httpx.AsyncClient(base_url=url, headers={API_KEY_HEADER: "k-123"}) as http,
    ):
        scans = await walk(http, "/v1/scans")
        rejected = await http.get("/v1/scans", headers={API_KEY_HEADER: SANDBOX_API_KEY})
    assert len(scans) == len({s["id"] for s in scans}) == 25
    assert app.state.controls.count("/v1/scans") == 4  # pages of 10, 10 and 5, then the 401
    assert rejected.status_code == 401
