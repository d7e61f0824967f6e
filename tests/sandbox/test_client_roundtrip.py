"""The real HostedScan client against the real sandbox over loopback: every write, the
retry rule on real connections, and the reads issue 11 pages through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from scanbot.hostedscan import (
    BadRequest,
    HostedScanClient,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
)
from scanbot.sandbox.server import SANDBOX_API_KEY
from scanbot.sandbox.world import SandboxWorld, SimClock
from tests.hostedscan.fakes import Sleeps, free_port
from tests.sandbox.loopback import Sandbox, serving


@dataclass
class RoundTrip:
    sandbox: Sandbox
    client: HostedScanClient
    sleeps: Sleeps

    @property
    def world(self) -> SandboxWorld:
        return self.sandbox.world


@pytest.fixture
async def trip() -> AsyncIterator[RoundTrip]:
    world = SandboxWorld(
        seed=8, scans=30, arrivals_per_hour=0, backlog_risks=1500, clock=SimClock(speed=0.0)
    )
    sleeps = Sleeps()
    async with (
        serving(world, page_size=100) as sandbox,
        HostedScanClient.create(sandbox.url, SANDBOX_API_KEY, sleep=sleeps) as client,
    ):
        yield RoundTrip(sandbox, client, sleeps)


async def test_scans_start_by_name_id_and_tag_and_run_to_the_end(trip: RoundTrip) -> None:
    target = await anext(trip.client.list_targets(text=".example."))
    by_name = await trip.client.start_scan("OPENVAS", targets=["api.example.com", "10.0.0.9"])
    by_id = await trip.client.start_scan("NMAP", target_ids=[target.id], use_authentication=True)
    by_tag = await trip.client.start_scan("SSLYZE", tags=["pci"])
    assert {s.state for s in (by_name, by_id, by_tag)} == {"QUEUED"}
    assert [t.target for t in by_name.requested_targets] == ["api.example.com", "10.0.0.9"]
    assert [t.target_id for t in by_id.requested_targets] == [target.id]
    assert trip.world.uses_authentication(by_id.id)
    assert trip.sandbox.controls.write_bodies("/v1/scans")[1] == {
        "type": "NMAP",
        "target_ids": [target.id],
        "use_authentication": True,
    }
    trip.world.clock.advance(86400.0)
    finished = await trip.client.get_scan(by_name.id)
    assert finished.state in ("SUCCEEDED", "FAILED")
    assert [s.skipped_reason for s in finished.skipped_targets] == [
        "Private IP addresses cannot be scanned by the cloud scanner"
    ]
    latest = [s.id async for s in trip.client.list_scans({"state": ["SUCCEEDED", "FAILED"]})]
    assert by_name.id in latest


async def test_hostedscans_refusal_comes_back_as_its_words_and_changes_nothing(
    trip: RoundTrip,
) -> None:
    before = len(trip.world.list_scans(None))
    with pytest.raises(BadRequest) as unknown:
        await trip.client.start_scan("NMAP", target_ids=["t-gone"])
    with pytest.raises(BadRequest) as invalid:
        await trip.client.start_scan("NMAP", targets=["<!channel>"])
    assert unknown.value.reason == "Unknown target id: t-gone"
    assert invalid.value.reason is not None
    assert invalid.value.reason.startswith("Invalid target: <!channel>")
    assert len(trip.world.list_scans(None)) == before
    assert len(trip.sandbox.controls.writes()) == 2  # each sent once, never retried


async def test_targets_are_created_refused_twice_upserted_and_listed(trip: RoundTrip) -> None:
    created = await trip.client.create_target("shop.example.net", "Shop", ["prod"])
    with pytest.raises(BadRequest) as duplicate:
        await trip.client.create_target("shop.example.net")
    updated = await trip.client.create_target("shop.example.net", tags=["pci"], upsert=True)
    assert duplicate.value.reason == "Target shop.example.net already exists"
    assert (updated.id, updated.label, updated.tags) == (created.id, "Shop", ["pci"])
    assert await trip.client.get_target(created.id) == updated
    everything = [t async for t in trip.client.list_targets()]
    assert len(everything) == len({t.id for t in everything}) == len(trip.world.list_targets())
    assert everything[0] == updated  # the newest first, over pages of 100
    found = [t async for t in trip.client.list_targets(text="SHOP.example.net")]
    assert found == [updated]
    pci = [t async for t in trip.client.list_targets({"tags": ["pci"]})]
    assert updated in pci
    page = await trip.client.list_targets_page()
    assert len(page.targets) == 100
    assert page.next_page_token is not None


async def test_a_report_is_none_until_ready_then_a_pdf(trip: RoundTrip) -> None:
    report_id = await trip.client.create_report(
        "PDF", targets_filter={"tag": ["prod"]}, risks_filter={"status": ["OPEN"]}
    )
    assert await trip.client.get_report(report_id) is None
    report = await trip.client.get_report(report_id)
    assert report is not None
    assert report.content.startswith(b"%PDF-1.")
    assert report.content_type == "application/pdf"
    assert trip.sandbox.controls.write_bodies("/v1/reports") == [
        {
            "report_format": "PDF",
            "targets_filter": {"tag": ["prod"]},
            "risks_filter": {"status": ["OPEN"]},
        }
    ]


@pytest.mark.parametrize("pending", [202, 404, 409])
async def test_a_report_that_never_comes_stays_none(trip: RoundTrip, pending: int) -> None:
    trip.sandbox.controls.report_pending_status = pending
    trip.world.time_next_report(never=True)
    report_id = await trip.client.create_report("HTML")
    for _ in range(5):
        assert await trip.client.get_report(report_id) is None
    trip.world.release_report(report_id)
    report = await trip.client.get_report(report_id)
    assert report is not None
    assert report.content.startswith(b"<!DOCTYPE html>")


async def test_a_429_with_retry_after_is_posted_again_once(trip: RoundTrip) -> None:
    trip.sandbox.controls.fail_next_write(429, retry_after=2)
    before = len(trip.world.list_scans(None))
    scan = await trip.client.start_scan("NMAP", targets=["a.example.com"])
    assert trip.sleeps.delays == [2.0]
    assert len(trip.sandbox.controls.writes("/v1/scans")) == 2
    assert len(trip.world.list_scans(None)) == before + 1
    assert (await trip.client.get_scan(scan.id)).id == scan.id


async def test_a_429_without_a_wait_is_not_posted_again(trip: RoundTrip) -> None:
    trip.sandbox.controls.fail_next_write(429)
    with pytest.raises(RateLimited):
        await trip.client.create_report("PDF")
    assert len(trip.sandbox.controls.writes()) == 1


async def test_a_5xx_after_the_scan_started_is_outcome_unknown_and_never_doubled(
    trip: RoundTrip,
) -> None:
    trip.sandbox.controls.fail_next_write(502, processed=True)
    before = len(trip.world.list_scans(None))
    with pytest.raises(OutcomeUnknown):
        await trip.client.start_scan("NMAP", targets=["a.example.com"])
    assert len(trip.sandbox.controls.writes()) == 1
    assert len(trip.world.list_scans(None)) == before + 1  # it did start, once


async def test_a_refused_connection_is_retried_and_never_reaches_anyone() -> None:
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{free_port()}"
    async with HostedScanClient.create(url, SANDBOX_API_KEY, sleep=sleeps) as client:
        with pytest.raises(Unavailable, match="ConnectError") as raised:
            await client.start_scan("NMAP", targets=["a.example.com"])
    assert type(raised.value) is Unavailable  # not OutcomeUnknown: nothing was sent
    assert len(sleeps.delays) == 3


async def test_risks_page_with_the_named_filters_into_the_backlog(trip: RoundTrip) -> None:
    wanted = {"status": ["OPEN"], "risk_definition.threat_level": ["HIGH", "MEDIUM"]}
    risks = [
        r async for r in trip.client.list_risks(statuses=["OPEN"], threat_levels=["HIGH", "MEDIUM"])
    ]
    assert [r.id for r in risks] == [r["id"] for r in trip.world.list_risks(wanted)]
    assert len(risks) > 500
    assert all(r.first_detected is not None for r in risks)
    accepted = [r for r in risks if r.accepted]
    assert accepted
    assert all(r.accepted_by for r in accepted)
    oldest = min(r.first_detected for r in risks if r.first_detected)
    newest = max(r.first_detected for r in risks if r.first_detected)
    assert (newest - oldest).days > 60
