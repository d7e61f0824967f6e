"""`/scans report` end to end: the POST HostedScan receives, a message that the report is
being prepared, the file uploaded with files_upload_v2 and the message edited; a slow
report, one that never comes (a Retry button, no second report asked), refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scanbot.domain.operations import OperationKind, OperationStatus
from scanbot.sandbox.slack_user import block_action, slash_command
from scanbot.slack import actions
from scanbot.slack.permissions import NOT_AN_OPERATOR
from tests.e2e.conftest import Stack, frozen_world, running_stack, wait_until
from tests.slack.blockkit import assert_valid_message

CHANNEL = "C0SECOPS"
ALICE, BOB = "U0ALICE", "U0BOB"
Json = dict[str, Any]
SWEEPING = {"full_sweep_every": 1}  # every tick lists the scans: a new one is seen at once


@pytest.fixture
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    settings = {"operators": ALICE, "report_wait": 3, **getattr(request, "param", {})}
    async with running_stack(frozen_world(), settings=settings) as running:
        yield running


async def _ask(stack: Stack, text: str, user: str = ALICE) -> list[Json]:
    """Run `/scans <text>` and wait until scanbot is done; what came to its response_url."""
    url = stack.slack.response_url(stack.slack_url)
    response = await stack.send(slash_command("/scans", text, response_url=url, user_id=user))
    assert response.status_code == 200
    await wait_until(lambda: len(stack.runtime.inflight) == 0, seconds=20)
    return [post.body for post in stack.slack.responses_to(url)]


def _report_message(stack: Stack) -> Json:
    """scanbot's message about the report (not the file's own share)."""
    (message,) = [
        m
        for m in stack.slack.channels.get(CHANNEL, [])
        if "report" in m["text"] and "files" not in m
    ]
    return message


async def test_a_report_is_prepared_uploaded_and_announced(stack: Stack) -> None:
    assert await _ask(stack, "report html openvas severity:high tag:prod") == []
    (body,) = stack.sandbox.write_bodies("/v1/reports")
    assert body == {
        "report_format": "HTML",
        "targets_filter": {"tag": ["prod"]},
        "risks_filter": {
            "status": ["OPEN"],
            "risk_definition.scan_type": ["OPENVAS"],
            "risk_definition.threat_level": ["HIGH"],
        },
    }
    (upload,) = stack.slack.uploads.values()
    assert upload.content is not None
    assert b"<html" in upload.content.lower()
    (complete,) = stack.slack.calls_to("files.completeUploadExternal")
    assert complete.body["channel_id"] == CHANNEL
    message = _report_message(stack)
    assert "edited" in message  # "being prepared" first, edited when done
    assert "is below" in message["text"]
    assert_valid_message(message, allowed_mentions={f"<@{ALICE}>"})
    (row,), _ = await stack.runtime.store.operations.page()
    assert (row.kind, row.status) == (OperationKind.REPORT, OperationStatus.DONE)
    assert row.hostedscan_id is not None


async def test_a_pdf_report_of_targets_by_id_or_text(stack: Stack) -> None:
    first, second = stack.world.list_targets()[:2]
    await _ask(stack, f"report target:{first['id']} target:{second['target']}")
    (body,) = stack.sandbox.write_bodies("/v1/reports")
    assert body["report_format"] == "PDF"
    assert body["targets_filter"] == {"target_ids": [first["id"], second["id"]]}
    (upload,) = stack.slack.uploads.values()
    assert (upload.content or b"").startswith(b"%PDF")


async def test_a_slow_report_is_waited_for(stack: Stack) -> None:
    stack.world.time_next_report(polls=3)
    await _ask(stack, "report")
    assert len(stack.slack.uploads) == 1
    assert len(stack.sandbox.write_bodies("/v1/reports")) == 1
    gets = [
        r for r in stack.sandbox.requests if r.method == "GET" and r.path.startswith("/v1/reports/")
    ]
    assert len(gets) == 4


@pytest.mark.parametrize("stack", [{"report_wait": 1}], indirect=True)
async def test_a_report_that_never_comes_offers_retry(stack: Stack) -> None:
    stack.world.time_next_report(never=True)
    await _ask(stack, "report pdf")
    assert stack.slack.uploads == {}
    message = _report_message(stack)
    assert "had not finished" in message["text"]
    assert_valid_message(message)
    retry = next(
        e for b in message["blocks"] for e in b.get("elements", []) if e.get("type") == "button"
    )
    assert retry["action_id"].startswith(actions.REPORT_RETRY)
    (row,), _ = await stack.runtime.store.operations.page()
    stack.world.release_report(row.hostedscan_id or "")
    url = stack.slack.response_url(stack.slack_url)
    form = block_action(
        retry["action_id"],
        retry["value"],
        response_url=url,
        message_ts=message["ts"],
        is_ephemeral=False,
        channel_id=CHANNEL,
    )
    assert (await stack.send(form)).status_code == 200
    await wait_until(lambda: len(stack.slack.uploads) == 1, seconds=20)
    await wait_until(lambda: len(stack.runtime.inflight) == 0)
    assert len(stack.sandbox.write_bodies("/v1/reports")) == 1  # no second report asked
    assert "is below" in _report_message(stack)["text"]


async def test_refusals_ask_hostedscan_for_nothing(stack: Stack) -> None:
    (answer,) = await _ask(stack, "report", user=BOB)
    assert answer["text"] == NOT_AN_OPERATOR
    (answer,) = await _ask(stack, "report target:nosuch.example.com")
    assert "No HostedScan target is" in answer["text"]
    assert stack.sandbox.writes() == []
    assert CHANNEL not in stack.slack.channels


async def test_hostedscan_refusing_the_report_is_said_in_the_message(stack: Stack) -> None:
    stack.sandbox.fail_next_write(400, body={"error": "risks_filter is not valid"})
    await _ask(stack, "report")
    message = _report_message(stack)
    assert "HostedScan refused the report" in message["text"]
    assert "risks_filter is not valid" in json.dumps(message["blocks"])
    (row,), _ = await stack.runtime.store.operations.page()
    assert row.status is OperationStatus.REFUSED


async def _alert_parent(stack: Stack) -> tuple[str, Json]:
    """A finished scan's alert thread in the channel: its id and its parent."""
    await stack.command("/scans", "subscribe started finished failed", channel_id=CHANNEL)
    await stack.runtime.alerts.tick()  # baseline
    scan_id = stack.world.add_scan(type="OPENVAS", state="SUCCEEDED", targets=["shop.example.com"])
    await stack.runtime.alerts.tick()
    (parent,) = [
        m
        for m in stack.slack.channels[CHANNEL]
        if scan_id in m["text"] and m.get("thread_ts", m["ts"]) == m["ts"]
    ]
    assert_valid_message(parent)
    return scan_id, parent


async def _click_report_for_targets(stack: Stack, parent: Json, user: str) -> list[Json]:
    (button,) = [
        e
        for b in parent["blocks"]
        for e in b.get("elements", [])
        if str(e.get("action_id", "")).startswith(actions.REPORT_TARGETS)
    ]
    assert button["text"]["text"] == "Report for these targets"
    url = stack.slack.response_url(stack.slack_url)
    form = block_action(
        button["action_id"],
        button["value"],
        response_url=url,
        user_id=user,
        channel_id=CHANNEL,
        message_ts=parent["ts"],
        is_ephemeral=False,
    )
    assert (await stack.send(form)).status_code == 200
    await wait_until(lambda: len(stack.runtime.inflight) == 0, seconds=20)
    return [post.body for post in stack.slack.responses_to(url)]


@pytest.mark.parametrize("stack", [SWEEPING], indirect=True)
async def test_report_for_these_targets_from_an_alert_parent(stack: Stack) -> None:
    scan_id, parent = await _alert_parent(stack)
    assert await _click_report_for_targets(stack, parent, ALICE) == []
    scan = stack.world.get_scan(scan_id)
    assert scan is not None
    target_ids = [t["target_id"] for t in scan["requested_targets"]]
    assert target_ids
    (body,) = stack.sandbox.write_bodies("/v1/reports")
    assert body["targets_filter"] == {"target_ids": target_ids}
    assert body["report_format"] == "PDF"
    (upload,) = stack.slack.uploads.values()
    assert (upload.content or b"").startswith(b"%PDF")
    (complete,) = stack.slack.calls_to("files.completeUploadExternal")
    assert complete.body["channel_id"] == CHANNEL
    message = _report_message(stack)
    assert "is below" in message["text"]
    assert_valid_message(message, allowed_mentions={f"<@{ALICE}>"})


@pytest.mark.parametrize("stack", [SWEEPING], indirect=True)
async def test_report_for_these_targets_refused_to_a_non_operator(stack: Stack) -> None:
    _, parent = await _alert_parent(stack)
    before = len(stack.slack.channels[CHANNEL])
    (answer,) = await _click_report_for_targets(stack, parent, BOB)
    assert answer["text"] == NOT_AN_OPERATOR
    assert stack.sandbox.write_bodies("/v1/reports") == []
    assert stack.slack.uploads == {}
    assert len(stack.slack.channels[CHANNEL]) == before  # nothing said in the channel
