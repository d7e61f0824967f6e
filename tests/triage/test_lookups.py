"""Lookups (`triage/lookups.py`): Refresh, the new risks, a risk's window and the report,
fetched from the sandbox as HostedScan; over loopback on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from scanbot.alerts.risks import RiskDetails
from scanbot.domain.severity import severity_rank
from scanbot.domain.threads import card_key
from scanbot.triage.service import Outcome
from tests.triage.conftest import (
    CHANNEL,
    T0,
    U1,
    U2,
    Harness,
    audit_actions,
    slack_methods,
)

# -- refresh -------------------------------------------------------------------------------


async def test_refresh_shows_the_scan_as_it_is_now(harness: Harness) -> None:
    h = harness
    scan_id = h.scan("RUNNING", progress=30)
    thread = await h.thread(scan_id)
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    assert await h.triage.lookups.refresh(scan_id, CHANNEL, U1) == Outcome(True)
    assert h.parent(thread)["text"].startswith(f"card {scan_id} SUCCEEDED")
    assert h.replies(thread) == []
    stored = await h.stored(thread)  # what every later redraw starts from
    assert (stored.summary.state, stored.summary_at) == ("SUCCEEDED", T0)
    # The poller's snapshot stays its own: it still sees the change and alerts it.
    assert (await h.store.snapshots.read([scan_id]))[scan_id].summary.state == "RUNNING"
    assert await audit_actions(h, scan_id) == [(U1, "refresh", "SUCCEEDED")]


async def test_refresh_then_acknowledge_does_not_take_the_card_backwards(
    harness: Harness,
) -> None:
    h = harness
    scan_id = h.scan("RUNNING", progress=30)
    thread = await h.thread(scan_id)
    h.world.set_state(scan_id, "RUNNING", progress=80)
    await h.triage.lookups.refresh(scan_id, CHANNEL, U1)
    assert "progress=80.0" in h.parent(thread)["text"]
    await h.triage.acknowledge(scan_id, CHANNEL, U2)
    shown = h.parent(thread)["text"]
    assert shown.startswith(f"card {scan_id} RUNNING acks=[{U2}]")
    assert "progress=80.0" in shown
    stored = await h.stored(thread)
    assert stored.shown == card_key(stored.summary, await h.store.threads.view(stored))


async def test_a_refresh_older_than_what_is_stored_draws_what_is_stored(
    harness: Harness,
) -> None:
    """A poll fetched later than this Refresh but wrote first: the card shows the poll's."""
    h = harness
    scan_id = h.scan("RUNNING", progress=30)
    thread = await h.thread(scan_id)
    h.world.set_state(scan_id, "SUCCEEDED", 100)
    later = h.snapshot(scan_id).model_copy(update={"last_seen": T0 + timedelta(seconds=1)})
    await h.store.snapshots.record([later], [])
    h.world.set_state(scan_id, "RUNNING", progress=60)  # what the Refresh will fetch, at T0
    assert await h.triage.lookups.refresh(scan_id, CHANNEL, U1) == Outcome(True)
    assert h.parent(thread)["text"].startswith(f"card {scan_id} SUCCEEDED")
    assert (await h.stored(thread)).summary.state == "SUCCEEDED"


async def test_refresh_of_a_scan_hostedscan_no_longer_has(harness: Harness) -> None:
    h = harness
    scan_id = h.scan()
    thread = await h.thread(scan_id)
    h.world.remove_scan(scan_id)
    before = len(h.slack.calls)
    outcome = await h.triage.lookups.refresh(scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False, f"HostedScan no longer has scan `{scan_id}`: it was deleted or never existed."
    )
    assert slack_methods(h, before) == []
    assert h.parent(thread)["text"] == f"parent {scan_id}"
    assert await audit_actions(h, scan_id) == []


@pytest.mark.parametrize(
    ("status", "says"),
    [(503, "could not give"), (401, "API key"), (429, "rate limiting")],
)
async def test_refresh_when_hostedscan_fails(harness: Harness, status: int, says: str) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.sandbox.add_fault(status)
    outcome = await h.triage.lookups.refresh(thread.scan_id, CHANNEL, U1)
    assert not outcome.changed
    assert outcome.notice is not None
    assert says in outcome.notice


async def test_refresh_when_slack_refuses_the_edit(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("chat.update", error="message_not_found")
    outcome = await h.triage.lookups.refresh(thread.scan_id, CHANNEL, U1)
    assert not outcome.changed
    assert outcome.notice is not None
    assert await audit_actions(h, thread.scan_id) == []


# -- risks ---------------------------------------------------------------------------------


async def test_show_risks_lists_the_new_risks_most_severe_first(harness: Harness) -> None:
    h = harness
    scan_id = h.scan(risks=12)
    thread = await h.thread(scan_id)
    assert await h.triage.lookups.show_risks(scan_id, CHANNEL, U1) == Outcome(True)
    (reply,) = h.reply_texts(thread)
    assert reply.startswith(f"risks of {scan_id} 12/12: ")
    shown = reply.split(": ", 1)[1].split(",")
    details = await RiskDetails(h.hostedscan).fetch({"OPENVAS": shown})
    ranks = [(severity_rank(details[r].threat_level), float(details[r].cvss or -1)) for r in shown]
    assert ranks == sorted(ranks, reverse=True)
    assert await audit_actions(h, scan_id) == [(U1, "risks", "12 new")]


async def test_show_risks_without_details_still_lists_the_ids(harness: Harness) -> None:
    h = harness
    scan_id = h.scan(risks=2)
    thread = await h.thread(scan_id)
    h.sandbox.add_fault(503, path_prefix="/v1/risks", times=2)
    assert await h.triage.lookups.show_risks(scan_id, CHANNEL, U1) == Outcome(True)
    assert h.reply_texts(thread)[0].startswith(f"risks of {scan_id} 2/2: ")


async def test_show_risks_of_a_scan_without_new_risks(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan(risks=0))
    outcome = await h.triage.lookups.show_risks(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(False, f"Scan `{thread.scan_id}` has no newly open risks.")
    assert h.replies(thread) == []


async def test_show_risks_when_slack_refuses(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    h.slack.fail_next("chat.postMessage", error="is_archived")
    outcome = await h.triage.lookups.show_risks(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False, "Slack did not let scanbot list the risks in the thread (the channel is archived)."
    )
    assert await audit_actions(h, thread.scan_id) == []


async def test_open_risk_opens_the_window_before_asking_hostedscan(harness: Harness) -> None:
    h = harness
    scan_id = h.scan(risks=1)
    scan = h.world.get_scan(scan_id)
    assert scan is not None
    risk_id = scan["risks"]["new_open"][0]["risk_id"]
    h.sandbox.gate.clear()  # HostedScan answers nothing until the test says so
    opening = asyncio.create_task(h.triage.lookups.open_risk("trigger-1", risk_id))
    (opened,) = await h.slack.wait_for_calls("views.open")
    async with asyncio.timeout(5):
        while h.sandbox.waiting == 0:  # noqa: ASYNC110 - the server's state, no event
            await asyncio.sleep(0.01)
    (request,) = h.sandbox.requests
    assert request.path == f"/v1/risks/{risk_id}"
    assert opened.at < request.time
    assert h.slack.calls_to("views.update") == []
    h.sandbox.gate.set()
    assert await opening == Outcome(True)
    (update,) = h.slack.calls_to("views.update")
    view_id = next(iter(h.slack.views))
    assert update.body["view_id"] == view_id
    assert h.slack.views[view_id]["title"]["text"] == "Risk"
    assert h.slack.views[view_id]["blocks"][0]["text"]["text"].startswith(f"risk {risk_id}: ")


async def test_open_risk_of_an_unknown_risk_says_so_in_the_window(harness: Harness) -> None:
    h = harness
    assert await h.triage.lookups.open_risk("trigger-1", "no-such-risk") == Outcome(True)
    (view,) = h.slack.views.values()
    assert view["title"]["text"] == "Unavailable"
    assert "HostedScan no longer has risk `no-such-risk`" in view["blocks"][0]["text"]["text"]


async def test_open_risk_with_an_expired_trigger_asks_hostedscan_nothing(
    harness: Harness,
) -> None:
    h = harness
    h.slack.fail_next("views.open", error="expired_trigger_id")
    outcome = await h.triage.lookups.open_risk("old", "some-risk")
    assert not outcome.changed
    assert outcome.notice is not None
    assert "click again" in outcome.notice
    assert h.sandbox.count() == 0


# -- reports -------------------------------------------------------------------------------


def result_of(h: Harness, scan_id: str, content_type: str) -> tuple[str, bytes]:
    scan = h.world.get_scan(scan_id)
    assert scan is not None
    result_id = next(r["result_id"] for r in scan["results"] if r["content_type"] == content_type)
    served = h.world.get_result(result_id)
    assert served is not None
    return result_id, served[0]


async def test_report_uploads_the_pdf_into_the_thread(harness: Harness) -> None:
    h = harness
    scan_id = h.scan("SUCCEEDED")  # results: HTML, PDF, XML and JSON
    thread = await h.thread(scan_id)
    assert await h.triage.lookups.report(scan_id, CHANNEL, U1) == Outcome(True)
    (upload,) = h.slack.uploads.values()
    assert upload.filename == f"scanbot-{scan_id}.pdf"
    assert upload.content == result_of(h, scan_id, "application/pdf")[1]
    (complete,) = h.slack.calls_to("files.completeUploadExternal")
    assert complete.body["channel_id"] == CHANNEL
    assert complete.body["thread_ts"] == thread.parent_ts
    (reply,) = h.replies(thread)
    assert reply["text"] == f"report of {scan_id} (application/pdf) for {U1}"
    assert reply["files"][0]["name"] == f"scanbot-{scan_id}.pdf"
    (entry,) = await audit_actions(h, scan_id)
    assert entry[:2] == (U1, "report")
    assert entry[2].startswith("PDF, ")


async def test_report_falls_back_to_html(harness: Harness) -> None:
    h = harness
    html_id, html = result_of(h, h.scan("SUCCEEDED"), "text/html")
    results = [
        {"result_id": html_id, "content_type": "text/html"},
        {"result_id": "json-result", "content_type": "application/json"},
    ]
    scan_id = h.scan("SUCCEEDED", results=results)
    await h.thread(scan_id)
    assert await h.triage.lookups.report(scan_id, CHANNEL, U1) == Outcome(True)
    (upload,) = h.slack.uploads.values()
    assert upload.filename == f"scanbot-{scan_id}.html"
    assert upload.content == html


async def test_report_of_a_scan_without_one_says_so_in_the_thread(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("FAILED"))  # only the scanner's JSON log
    assert await h.triage.lookups.report(thread.scan_id, CHANNEL, U1) == Outcome(True)
    assert h.reply_texts(thread) == [f"no report for {thread.scan_id}"]
    assert h.slack.uploads == {}
    assert await audit_actions(h, thread.scan_id) == [(U1, "report", "none")]


async def test_report_when_hostedscan_cannot_give_the_file(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan("SUCCEEDED"))
    h.sandbox.add_fault(503, path_prefix="/v1/results")
    outcome = await h.triage.lookups.report(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False,
        f"HostedScan could not give the report of scan `{thread.scan_id}` right now; "
        "try again in a minute.",
    )
    assert h.slack.calls_to("files.getUploadURLExternal") == []
    assert await audit_actions(h, thread.scan_id) == []


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
async def test_report_when_slack_refuses_the_upload(harness: Harness, method: str) -> None:
    h = harness
    thread = await h.thread(h.scan("SUCCEEDED"))
    h.slack.fail_next(method, error="missing_scope")
    outcome = await h.triage.lookups.report(thread.scan_id, CHANNEL, U1)
    assert outcome == Outcome(
        False,
        "Slack did not let scanbot upload the report "
        "(scanbot lacks a Slack permission for this; ask an admin).",
    )
    assert h.replies(thread) == []
    assert await audit_actions(h, thread.scan_id) == []
