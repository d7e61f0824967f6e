"""`/scan <id>` acts too: its new risks by threat level and title, and the actions that
apply: Report for these targets and Re-scan (the same paths as from an alert thread)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scanbot.sandbox.slack_user import block_action
from scanbot.slack import actions
from tests.e2e.conftest import Stack, frozen_world, running_stack, wait_until
from tests.slack.blockkit import assert_valid_message

CHANNEL = "C0SECOPS"
ALICE = "U0ALICE"
Json = dict[str, Any]


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with running_stack(frozen_world(), settings={"operators": ALICE}) as running:
        yield running


def _button(card: Json, kind: str) -> Json:
    for block in card["blocks"]:
        for element in block.get("elements", []):
            if actions.pattern(kind).search(str(element.get("action_id", ""))):
                return dict(element)
    raise AssertionError(f"no {kind} button")


async def test_guests_see_no_risks_from_the_card(stack: Stack) -> None:
    scan_id = stack.world.add_scan(
        type="OPENVAS", state="SUCCEEDED", targets=["a.example.com"], risks=2
    )
    stack.slack.guests.add("U0GUEST")
    card = (await stack.command("/scan", scan_id)).body
    risks = _button(card, actions.SCAN_RISKS)
    before = stack.sandbox.count("/v1/")
    answer = await stack.click(risks["action_id"], risks["value"], user_id="U0GUEST")
    assert "guests" in answer.body["text"]
    assert stack.sandbox.count("/v1/") == before


async def test_the_card_lists_new_risks_by_title_and_acts(stack: Stack) -> None:
    scan_id = stack.world.add_scan(
        type="OPENVAS", state="SUCCEEDED", targets=["shop.example.com"], risks=4
    )
    card = (await stack.command("/scan", scan_id)).body
    assert_valid_message(card)
    new = {ref["risk_id"] for ref in (stack.world.get_scan(scan_id) or {})["risks"]["new_open"]}
    titles = [
        risk["risk_definition"]["title"]
        for risk_id in new
        if (risk := stack.world.get_risk(risk_id)) is not None
    ]
    assert titles
    shown = json.dumps(card["blocks"], ensure_ascii=False)
    for title in titles:
        assert json.dumps(title, ensure_ascii=False)[1:-1] in shown

    risks = _button(card, actions.SCAN_RISKS)
    listed = (await stack.click(risks["action_id"], risks["value"])).body
    assert_valid_message(listed)
    assert "4 new open risks" in listed["text"]
    views = [e for b in listed["blocks"] if (e := b.get("accessory"))]
    assert len(views) == 4  # each with View, which opens the risk without a thread
    assert all(actions.pattern(actions.RISK).search(v["action_id"]) for v in views)

    report = _button(card, actions.REPORT_TARGETS)
    url = stack.slack.response_url(stack.slack_url)
    form = block_action(report["action_id"], report["value"], response_url=url, channel_id=CHANNEL)
    assert (await stack.send(form)).status_code == 200
    await wait_until(lambda: len(stack.slack.uploads) == 1, seconds=20)
    (body,) = stack.sandbox.write_bodies("/v1/reports")
    old = stack.world.get_scan(scan_id) or {}
    assert body["targets_filter"] == {
        "target_ids": [t["target_id"] for t in old["requested_targets"]]
    }

    rescan = _button(card, actions.RESCAN)
    answer = await stack.click(rescan["action_id"], rescan["value"], channel_id=CHANNEL)
    assert scan_id in json.dumps(answer.body["blocks"])
    assert len(stack.sandbox.write_bodies("/v1/scans")) == 1
