"""Acting on HostedScan end to end: `/scans run`'s confirmation and submission, who may,
the run limit, HostedScan's refusals, the starter told when a scan finished, and the audit;
signed requests over HTTP to the real app, the sandbox as HostedScan, the fake Slack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scanbot.domain.clock import utcnow
from scanbot.domain.operations import OperationKind, OperationStatus
from scanbot.operations import sentences
from scanbot.sandbox.slack_user import slash_command, view_submission
from scanbot.slack import actions
from scanbot.slack.cards import operations as cards
from scanbot.slack.people import GUEST_REFUSAL
from scanbot.slack.permissions import ACTIONS_OFF, NOT_AN_OPERATOR
from tests.e2e.conftest import Stack, frozen_world, running_stack, wait_until
from tests.slack.blockkit import assert_valid_message, assert_valid_view

CHANNEL = "C0SECOPS"
ALICE, BOB, CAROL, ADMIN = "U0ALICE", "U0BOB", "U0CAROL", "U0ADMIN"
Json = dict[str, Any]


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    settings = {"operators": f"{ALICE},S0ONCALL", "admins": ADMIN, "full_sweep_every": 1}
    async with running_stack(frozen_world(), settings=settings) as running:
        running.slack.usergroups["S0ONCALL"] = [CAROL]
        yield running


async def _settled(stack: Stack) -> None:
    await wait_until(lambda: len(stack.runtime.inflight) == 0)


async def _open_run(stack: Stack, text: str, user: str = ALICE) -> Json:
    """Run `/scans <text>` and return the confirmation modal as it finally shows."""
    calls = len(stack.slack.calls_to("views.open")) + len(stack.slack.calls_to("views.update"))
    url = stack.slack.response_url(stack.slack_url)
    response = await stack.send(slash_command("/scans", text, response_url=url, user_id=user))
    assert response.status_code == 200
    await _settled(stack)
    views = [
        c.body["view"] for c in stack.slack.calls if c.method in ("views.open", "views.update")
    ]
    assert len(views) > calls, stack.slack.responses_to(url)
    view = views[-1]
    if isinstance(view, str):
        view = json.loads(view)
    assert_valid_view(view)
    return dict(view)


def _auth_values(use: bool) -> dict[str, dict[str, Any]]:
    chosen = [{"value": cards.AUTH_VALUE}] if use else []
    return {
        cards.AUTH_BLOCK: {cards.AUTH_ACTION: {"type": "checkboxes", "selected_options": chosen}}
    }


async def _submit(stack: Stack, view: Json, *, user: str = ALICE, auth: bool = False) -> Any:
    form = view_submission(
        actions.RUN_VIEW, view["private_metadata"], _auth_values(auth), user_id=user
    )
    return await stack.send(form)


def _told(stack: Stack, user: str = ALICE) -> list[Json]:
    """What scanbot said privately to `user` (ephemeral, or in their DM)."""
    said = [e for e in stack.slack.ephemerals if e["user_to"] == user]
    return said + stack.slack.channels.get(user, [])


def _texts(messages: list[Json]) -> str:
    return "\n".join(json.dumps(m.get("blocks", [])) + m.get("text", "") for m in messages)


def _scan_posts(stack: Stack) -> list[Any]:
    return stack.sandbox.write_bodies("/v1/scans")


async def test_run_confirms_then_starts_one_scan(stack: Stack) -> None:
    view = await _open_run(stack, "run openvas example.com https://shop.example.com/ 203.0.113.7")
    assert view["callback_id"] == actions.RUN_VIEW
    shown = json.dumps(view["blocks"])
    for target in ("example.com", "https://shop.example.com/", "203.0.113.7", "OpenVAS"):
        assert target in shown
    assert _scan_posts(stack) == []  # nothing is sent before the confirmation
    assert (await _submit(stack, view)).status_code == 200
    await wait_until(lambda: bool(_told(stack)))
    assert _scan_posts(stack) == [
        {
            "type": "OPENVAS",
            "targets": ["example.com", "https://shop.example.com/", "203.0.113.7"],
            "use_authentication": False,
        }
    ]
    (answer,) = _told(stack)
    assert_valid_message(answer)
    (row,), total = await stack.runtime.store.operations.page()
    assert total == 1
    assert row.status is OperationStatus.DONE
    assert row.hostedscan_id is not None
    assert row.hostedscan_id in _texts([answer])
    assert stack.world.get_scan(row.hostedscan_id) is not None
    assert (row.user_id, row.channel_id) == (ALICE, CHANNEL)


async def test_a_replayed_or_doubled_confirmation_starts_one_scan(stack: Stack) -> None:
    view = await _open_run(stack, "run nmap example.com")
    responses = await asyncio.gather(*(_submit(stack, view) for _ in range(4)))
    assert all(r.status_code == 200 for r in responses)
    await _settled(stack)
    assert (await _submit(stack, view)).status_code == 200  # replayed later
    await _settled(stack)
    assert len(_scan_posts(stack)) == 1
    (row,), _ = await stack.runtime.store.operations.page()
    told = _told(stack)
    assert len(told) == 5
    for answer in told:  # each names the one scan, or says it is being started
        assert (row.hostedscan_id or "?") in _texts([answer]) or (
            answer["text"] == sentences.ALREADY_UNDER_WAY
        )
    assert (row.hostedscan_id or "?") in _texts(told[-1:])  # the late replay names it


async def test_run_by_tag_shows_the_targets_and_posts_the_tag(stack: Stack) -> None:
    view = await _open_run(stack, "run zap tag:pci")
    tagged = [t for t in stack.world.list_targets() if "pci" in t["tags"]]
    assert tagged
    assert f"HostedScan will scan {len(tagged)} targets" in json.dumps(view["blocks"])
    assert any(r.path.startswith("/v1/targets") for r in stack.sandbox.requests)
    await _submit(stack, view, auth=True)
    await wait_until(lambda: bool(_told(stack)))
    assert _scan_posts(stack) == [
        {"type": "OWASP_ZAP", "tags": ["pci"], "use_authentication": True}
    ]


async def test_run_by_id_names_ids_that_match_nothing(stack: Stack) -> None:
    known = stack.world.list_targets()[0]
    view = await _open_run(stack, f"run sslyze id:{known['id']} id:nosuchtarget")
    shown = json.dumps(view["blocks"])
    assert known["target"] in shown
    assert "nosuchtarget" in shown
    assert "Matched no target" in shown
    await _submit(stack, view)
    await wait_until(lambda: bool(_told(stack)))
    assert _scan_posts(stack)[0]["target_ids"] == [known["id"], "nosuchtarget"]


async def test_a_tag_nobody_has_offers_nothing_to_confirm(stack: Stack) -> None:
    view = await _open_run(stack, "run nmap tag:nosuchtag")
    assert "submit" not in view
    assert "Nothing to scan" in json.dumps(view["blocks"])


async def test_bad_targets_are_named_and_nothing_is_sent(stack: Stack) -> None:
    answer = await stack.command("/scans", "run openvas 10.1.2.3 localhost <!channel>.example.com")
    await _settled(stack)
    text = json.dumps(answer.body["blocks"])
    assert "10.1.2.3" in text
    assert "localhost" in text
    assert "Nothing was sent" in text
    assert_valid_message(answer.body)
    assert stack.sandbox.writes() == []
    assert stack.slack.calls_to("views.open") == []


@pytest.mark.parametrize(
    ("user", "refusal"),
    [(BOB, NOT_AN_OPERATOR), (ADMIN, NOT_AN_OPERATOR), ("U0GUEST", GUEST_REFUSAL)],
    ids=["anyone", "admin-not-operator", "guest"],
)
async def test_who_may_not_run(stack: Stack, user: str, refusal: str) -> None:
    stack.slack.guests.add("U0GUEST")
    stack.slack.usergroups["S0ONCALL"].append("U0GUEST")
    answer = await stack.command("/scans", "run nmap example.com", user_id=user)
    assert refusal in answer.body["text"]
    await _settled(stack)
    assert stack.slack.calls_to("views.open") == []
    assert stack.sandbox.writes() == []


async def test_a_group_member_may_run(stack: Stack) -> None:
    view = await _open_run(stack, "run nmap example.com", user=CAROL)
    await _submit(stack, view, user=CAROL)
    await wait_until(lambda: bool(_told(stack, CAROL)))
    assert len(_scan_posts(stack)) == 1


async def test_only_its_author_confirms_a_form(stack: Stack) -> None:
    view = await _open_run(stack, "run nmap example.com")
    response = await _submit(stack, view, user=CAROL)
    assert response.json() == {
        "response_action": "errors",
        "errors": {cards.AUTH_BLOCK: sentences.RUN_FORM_NOT_YOURS},
    }
    forged = {**view, "private_metadata": view["private_metadata"][:-3] + "AAA"}
    response = await _submit(stack, forged)
    assert response.json()["errors"] == {cards.AUTH_BLOCK: sentences.RUN_FORM_NOT_SEALED}
    await _settled(stack)
    assert stack.sandbox.writes() == []


async def test_admins_act_when_no_operators_are_set() -> None:
    async with running_stack(frozen_world(), settings={"admins": ADMIN}) as stack:
        answer = await stack.command("/scans", "run nmap example.com", user_id=BOB)
        assert NOT_AN_OPERATOR in answer.body["text"]
        view = await _open_run(stack, "run nmap example.com", user=ADMIN)
        await _submit(stack, view, user=ADMIN)
        await wait_until(lambda: bool(_told(stack, ADMIN)))
        assert len(_scan_posts(stack)) == 1


async def test_nobody_acts_when_neither_is_set() -> None:
    async with running_stack(frozen_world()) as stack:
        answer = await stack.command("/scans", "run nmap example.com")
        assert answer.body["text"] == ACTIONS_OFF
        assert "SCANBOT_OPERATORS" in answer.body["text"]
        await _settled(stack)
        assert stack.sandbox.writes() == []


async def test_the_run_limit_stops_the_next_scan_and_says_when_it_resets() -> None:
    settings = {"operators": ALICE, "run_limit": 1}
    async with running_stack(frozen_world(), settings=settings) as stack:
        first = await _open_run(stack, "run nmap example.com")
        second = await _open_run(stack, "run nmap example.org")  # opened before the first ran
        await _submit(stack, first)
        await wait_until(lambda: len(_told(stack)) == 1)
        answer = await stack.command("/scans", "run nmap example.net")
        assert "SCANBOT_RUN_LIMIT" in answer.body["text"]
        assert any(e.get("type") == "date" for e in _elements(answer.body))
        await _submit(stack, second)
        await wait_until(lambda: len(_told(stack)) == 2)
        assert "SCANBOT_RUN_LIMIT" in _told(stack)[-1]["text"]
        assert len(_scan_posts(stack)) == 1


def _elements(message: Json) -> list[Json]:
    found: list[Json] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return found


async def test_a_refusal_by_hostedscan_is_named(stack: Stack) -> None:
    view = await _open_run(stack, "run nmap example.com")
    stack.sandbox.fail_next_write(400, body={"error": "Target <!here> is not verified"})
    await _submit(stack, view)
    await wait_until(lambda: bool(_told(stack)))
    (answer,) = _told(stack)
    assert_valid_message(answer)
    assert "is not verified" in _texts([answer])
    assert "HostedScan refused the scan" in answer["text"]
    (row,), _ = await stack.runtime.store.operations.page()
    assert row.status is OperationStatus.REFUSED
    assert "not verified" in row.answer


async def test_hostedscan_rate_limiting_starts_nothing(stack: Stack) -> None:
    view = await _open_run(stack, "run nmap example.com")
    stack.sandbox.fail_next_write(429, times=5)  # no Retry-After: not retried
    await _submit(stack, view)
    await wait_until(lambda: bool(_told(stack)))
    assert _told(stack)[0]["text"] == sentences.HOSTEDSCAN_RATE_LIMITED
    assert stack.world.quota_used() == 0
    (row,), _ = await stack.runtime.store.operations.page()
    assert row.status is OperationStatus.FAILED


async def test_an_answer_lost_after_the_post_is_never_sent_again(stack: Stack) -> None:
    view = await _open_run(stack, "run nmap example.com")
    stack.sandbox.fail_next_write(502, processed=True)  # HostedScan starts it; the answer is lost
    await _submit(stack, view)
    await wait_until(lambda: bool(_told(stack)))
    assert _told(stack)[0]["text"] == sentences.OUTCOME_UNKNOWN
    await _submit(stack, view)  # trying the same confirmation again
    await wait_until(lambda: len(_told(stack)) == 2)
    assert _told(stack)[1]["text"] == sentences.OUTCOME_UNKNOWN
    assert len(_scan_posts(stack)) == 1
    (row,), _ = await stack.runtime.store.operations.page()
    assert row.status is OperationStatus.UNKNOWN


async def _started(stack: Stack, text: str = "run openvas example.com") -> str:
    view = await _open_run(stack, text)
    await _submit(stack, view)
    await wait_until(lambda: bool(_told(stack)))
    (row,), _ = await stack.runtime.store.operations.page()
    assert row.hostedscan_id is not None
    return row.hostedscan_id


async def test_the_starter_is_mentioned_in_the_thread_when_it_finishes(stack: Stack) -> None:
    await stack.command("/scans", "subscribe started finished failed", user_id=ADMIN)
    await stack.runtime.alerts.tick()  # baseline
    scan_id = await _started(stack)
    await stack.runtime.alerts.tick()  # the new scan's thread
    stack.world.set_state(scan_id, "SUCCEEDED")
    await stack.runtime.alerts.tick()
    await stack.runtime.alerts.tick()  # a second round tells nobody again
    parent = next(m for m in stack.slack.channels[CHANNEL] if scan_id in m.get("text", ""))
    thread = [m for m in stack.slack.channels[CHANNEL] if m.get("thread_ts") == parent["ts"]]
    mentions = [m for m in thread if {"type": "user", "user_id": ALICE} in _elements(m)]
    assert len(mentions) == 1
    assert_valid_message(mentions[0], allowed_mentions={f"<@{ALICE}>"})


async def test_an_over_limit_end_is_explained_to_the_starter(stack: Stack) -> None:
    await stack.runtime.alerts.tick()  # baseline; no channel subscribed: told in a DM
    scan_id = await _started(stack)
    await stack.runtime.alerts.tick()
    stack.world.set_state(scan_id, "OVER_LIMIT")
    await stack.runtime.alerts.tick()
    (dm,) = stack.slack.channels[ALICE]
    assert scan_id in _texts([dm])
    assert "over the limit" in _texts([dm])


async def test_the_audit_is_for_admins_and_pages(stack: Stack) -> None:
    for n in range(cards.AUDIT_PAGE + 2):
        await stack.runtime.store.operations.begin(
            key=None,
            user_id=ALICE,
            kind=OperationKind.REPORT,
            channel_id=CHANNEL,
            request={"report_format": "PDF", "n": n},
            at=utcnow(),
        )
    refused = await stack.command("/scans", "audit", user_id=ALICE)
    assert "Only scanbot's admins" in refused.body["text"]
    page = await stack.command("/scans", "audit", user_id=ADMIN)
    assert_valid_message(page.body, allowed_mentions={f"<@{ALICE}>", f"<#{CHANNEL}>"})
    assert f"of {cards.AUDIT_PAGE + 2}" in page.body["text"]
    button = next(e for e in _elements(page.body) if e.get("type") == "button")
    assert button["value"] == str(cards.AUDIT_PAGE)
    second = await stack.click(button["action_id"], button["value"], user_id=ADMIN)
    assert "16 to 17 of 17" in second.body["text"]
    cli = await stack.command("/scans", "audit 2", user_id=BOB)
    assert "Only scanbot's admins" in cli.body["text"]
