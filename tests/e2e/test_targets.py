"""`/scans targets` and `/scans target add` end to end: a screen of targets with their open
risks and paging; adding one (the POST HostedScan receives), a duplicate refused with the
offer to update it (upsert), and who may."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scanbot.domain.operations import OperationKind, OperationStatus
from scanbot.slack import actions
from scanbot.slack.cards import operations as cards
from scanbot.slack.people import GUEST_REFUSAL
from scanbot.slack.permissions import NOT_AN_OPERATOR
from tests.e2e.conftest import Stack, frozen_world, running_stack
from tests.slack.blockkit import assert_valid_message

ALICE, BOB = "U0ALICE", "U0BOB"
Json = dict[str, Any]


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with running_stack(frozen_world(), settings={"operators": ALICE}) as running:
        yield running


def _buttons(message: Json) -> list[Json]:
    return [
        e
        for b in message.get("blocks", [])
        for e in b.get("elements", [])
        if e.get("type") == "button"
    ]


async def test_targets_are_listed_a_screen_at_a_time(stack: Stack) -> None:
    answer = await stack.command("/scans", "targets", user_id=BOB)  # anyone but guests looks
    assert_valid_message(answer.body)
    listed = stack.world.list_targets()
    text = json.dumps(answer.body["blocks"])
    for target in listed[: cards.TARGETS_PAGE]:
        assert target["id"] in text
    assert listed[cards.TARGETS_PAGE]["id"] not in text
    assert "open risk" in text
    (next_button,) = _buttons(answer.body)
    second = await stack.click(next_button["action_id"], next_button["value"], user_id=BOB)
    assert listed[cards.TARGETS_PAGE]["id"] in json.dumps(second.body["blocks"])
    assert second.body.get("replace_original") is True


async def test_targets_containing_a_text(stack: Stack) -> None:
    answer = await stack.command("/scans", "targets STATUS-82")
    shown = json.dumps(answer.body["blocks"])
    assert "status-82.example.com" in shown
    assert "api-91.example.com" not in shown
    nothing = await stack.command("/scans", "targets zzz-no-such")
    assert nothing.body["text"] == "No HostedScan target contains that text."


async def test_guests_see_no_targets(stack: Stack) -> None:
    stack.slack.guests.add("U0GUEST")
    answer = await stack.command("/scans", "targets", user_id="U0GUEST")
    assert answer.body["text"] == GUEST_REFUSAL
    assert stack.sandbox.count("/v1/targets") == 0


async def test_a_target_is_added_and_audited(stack: Stack) -> None:
    answer = await stack.command(
        "/scans", "target add new-shop.example.com label:Shop tag:prod tag:web"
    )
    assert_valid_message(answer.body)
    (write,) = stack.sandbox.writes("/v1/targets")
    assert write.json() == {
        "target": "new-shop.example.com",
        "label": "Shop",
        "tags": ["prod", "web"],
    }
    assert write.query["upsert"] == "false"
    assert "added the target" in answer.body["text"]
    (row,), _ = await stack.runtime.store.operations.page()
    assert (row.kind, row.status) == (OperationKind.TARGET_ADD, OperationStatus.DONE)
    assert row.hostedscan_id is not None
    assert row.hostedscan_id in json.dumps(answer.body["blocks"])


async def test_a_duplicate_offers_an_update_that_upserts(stack: Stack) -> None:
    existing = stack.world.list_targets()[0]
    answer = await stack.command("/scans", f"target add {existing['target']} label:Renamed")
    assert_valid_message(answer.body)
    assert "refused" in answer.body["text"]
    (button,) = _buttons(answer.body)
    assert button["action_id"].startswith(actions.TARGET_UPSERT)
    updated = await stack.click(button["action_id"], button["value"])
    assert "updated the target" in updated.body["text"]
    writes = stack.sandbox.writes("/v1/targets")
    assert [w.query["upsert"] for w in writes] == ["false", "true"]
    assert writes[1].json() == {"target": existing["target"], "label": "Renamed"}
    target = stack.world.get_target(existing["id"])
    assert target is not None
    assert target["label"] == "Renamed"
    statuses = [r.status for r in (await stack.runtime.store.operations.page())[0]]
    assert statuses == [OperationStatus.DONE, OperationStatus.REFUSED]
    forged = await stack.click(button["action_id"], '{"t":"10.0.0.1","l":null,"g":[]}')
    assert "could not be read" in forged.body["text"]  # checked like typed words
    assert len(stack.sandbox.writes("/v1/targets")) == 2


async def test_only_operators_add_and_private_targets_are_refused_first(stack: Stack) -> None:
    answer = await stack.command("/scans", "target add x.example.com", user_id=BOB)
    assert answer.body["text"] == NOT_AN_OPERATOR
    private = await stack.command("/scans", "target add 192.168.0.10")
    assert "private address" in json.dumps(private.body["blocks"])
    assert stack.sandbox.writes() == []
