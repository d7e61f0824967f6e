"""Which listener answers what: every kind of button scanbot draws reaches its own
listener, anything else the old-button sentence; the package is the only place that
registers Bolt listeners."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanbot.slack import actions
from scanbot.slack.payloads import OLD_BUTTON

from .conftest import Harness

SCANBOT = Path(__file__).resolve().parents[3] / "scanbot"
KINDS = [
    value
    for name, value in vars(actions).items()
    if name.isupper()
    and isinstance(value, str)
    and value.startswith("scanbot:v1:")
    and value not in (actions.ASSIGN_VIEW, actions.TRIAGE_BLOCK)
]


# What each kind's own listener calls first (a Next value it cannot read: its own sentence).
CALLS = {
    actions.DETAILS: "details",
    actions.REFRESH: "details",
    actions.SHARE: "details",
    actions.NEXT: "next_page",
    actions.ACK: "acknowledge",
    actions.UNACK: "undo_acknowledge",
    actions.ASSIGN: "open_assign",
    actions.SNOOZE: "snooze",
    actions.UNSNOOZE: "unsnooze",
    actions.MUTE: "mute",
    actions.UNMUTE: "unmute",
    actions.THREAD_REFRESH: "refresh",
    actions.RISKS: "show_risks",
    actions.REPORT: "report",
    actions.RISK: "open_risk",
}


def test_every_kind_scanbot_draws_has_a_listener_here() -> None:
    assert sorted(KINDS) == sorted(CALLS)


@pytest.mark.parametrize("kind", KINDS)
async def test_every_kind_reaches_its_own_listener(harness: Harness, kind: str) -> None:
    value = actions.next_value("", 0) if kind == actions.NEXT else "scan-1"
    assert value is not None
    block_id = actions.triage_block_id("scan-1")
    assert block_id is not None
    selected = "1h" if kind == actions.SNOOZE else None
    await harness.click(actions.action_id(kind, 0), value, block_id=block_id, selected=selected)
    called = [name for name, *_ in harness.triage.calls + harness.answers.calls]
    assert called == [CALLS[kind]]
    assert OLD_BUTTON not in [p.text for p in harness.responder.posted]


@pytest.mark.parametrize(
    "action_id", ["scanbot:v2:ack:0", "scanbot:v1:gone", "scanbot:v1:ack:x", "someone-else"]
)
async def test_anything_else_is_answered_as_an_old_button(harness: Harness, action_id: str) -> None:
    response = await harness.click(action_id, "scan-1")
    assert response.status == 200
    assert harness.triage.calls == harness.answers.calls == []
    (posted,) = harness.responder.posted
    assert posted.text == OLD_BUTTON
    assert posted.options == {"response_type": "ephemeral", "replace_original": False}


def test_only_the_listeners_package_registers_bolt_listeners() -> None:
    registering = re.compile(r"(?<!`)\bapp\.(command|action|view|event|shortcut|options|message)\(")
    found = {
        str(path.relative_to(SCANBOT))
        for path in SCANBOT.rglob("*.py")
        if registering.search(path.read_text())
    }
    assert found
    assert all(p.startswith("slack/listeners/") for p in found), found
