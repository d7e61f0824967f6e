"""The buttons on an alert thread and the assign window: each calls its Triage action with
the click's scan, channel and user; notices go to the clicker; forms are believed only as
scanbot sealed them (checked before the ack, refused inside the form)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from scanbot.slack import actions
from scanbot.slack.payloads import FORM_NOT_SEALED, OLD_BUTTON
from scanbot.triage.service import Outcome

from .conftest import ALICE, CHANNEL, GUEST, GUEST_SENTENCE, SEAL_KEY, URL, Harness

SCAN = "scan-9"
THREAD_BUTTONS = {
    actions.ACK: ("acknowledge", False),
    actions.UNACK: ("undo_acknowledge", False),
    actions.UNSNOOZE: ("unsnooze", False),
    actions.MUTE: ("mute", False),
    actions.UNMUTE: ("unmute", False),
    actions.THREAD_REFRESH: ("refresh", True),
    actions.RISKS: ("show_risks", True),
    actions.REPORT: ("report", True),
}
BOB = "U0BOB"


@pytest.mark.parametrize("kind", list(THREAD_BUTTONS))
async def test_a_thread_button_calls_its_action_on_the_clicks_thread(
    harness: Harness, kind: str
) -> None:
    method, _ = THREAD_BUTTONS[kind]
    await harness.click(actions.action_id(kind, 1), SCAN, user_id=ALICE, channel_id="C0OTHER")
    assert harness.ack_body() == {}
    assert harness.triage.calls == [(method, (SCAN, "C0OTHER", ALICE))]
    assert harness.responder.posted == []  # the thread itself shows what changed


@pytest.mark.parametrize("kind", list(THREAD_BUTTONS))
async def test_a_notice_goes_to_the_clicker_only(harness: Harness, kind: str) -> None:
    harness.triage.outcome = Outcome(False, "You already acknowledged this alert.")
    await harness.click(kind, SCAN)
    (posted,) = harness.responder.posted
    assert posted.url == URL
    assert posted.text == "You already acknowledged this alert."
    assert posted.options == {"response_type": "ephemeral", "replace_original": False}


@pytest.mark.parametrize("kind", list(THREAD_BUTTONS))
async def test_only_the_buttons_that_show_scan_data_refuse_guests(
    harness: Harness, kind: str
) -> None:
    method, reveals_data = THREAD_BUTTONS[kind]
    await harness.click(kind, SCAN, user_id=GUEST)
    if reveals_data:
        assert harness.triage.calls == []
        assert [p.text for p in harness.responder.posted] == [GUEST_SENTENCE]
    else:
        assert harness.triage.calls == [(method, (SCAN, CHANNEL, GUEST))]
        assert harness.people.asked == []


async def test_snooze_reads_the_scan_from_its_block_and_the_choice_from_its_option(
    harness: Harness,
) -> None:
    block_id = actions.triage_block_id(SCAN)
    assert block_id is not None
    await harness.click(actions.SNOOZE, block_id=block_id, selected="24h", user_id=ALICE)
    assert harness.triage.calls == [("snooze", (SCAN, CHANNEL, ALICE, "24h"))]


@pytest.mark.parametrize("block_id", ["b", "scanbot:v1:triage:", "scanbot:v0:triage:scan-9"])
async def test_a_snooze_from_a_block_scanbot_did_not_make_is_an_old_button(
    harness: Harness, block_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="scanbot"):
        await harness.click(actions.SNOOZE, block_id=block_id, selected="1h")
    assert harness.triage.calls == []
    (posted,) = harness.responder.posted
    assert posted.text == OLD_BUTTON
    assert posted.options == {"response_type": "ephemeral", "replace_original": False}
    assert [r.getMessage()[:28] for r in caplog.records] == ["refused a Snooze select whos"]


async def test_assign_opens_the_window_with_the_clicks_trigger_and_message(
    harness: Harness,
) -> None:
    await harness.click(actions.ASSIGN, SCAN, message_ts="1700000001.000200")
    ((method, (trigger, scan, channel, ts)),) = harness.triage.calls
    assert (method, scan, channel, ts) == ("open_assign", SCAN, CHANNEL, "1700000001.000200")
    assert trigger.endswith(".trigger")


def _values(assignee: str | None, note: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "assignee": {"user": {"type": "users_select", "selected_user": assignee}}
    }
    if note is not None:
        values["note"] = {"text": {"type": "plain_text_input", "value": note}}
    return values


async def test_a_sealed_assign_form_assigns_its_thread(harness: Harness) -> None:
    metadata = actions.assign_metadata(SCAN, "C0OTHER", "1.2", SEAL_KEY)
    response = await harness.submit(metadata, _values(BOB, "TLS"), user_id=ALICE)
    assert response.status == 200
    assert harness.ack_body() == {}  # closes the window
    assert harness.triage.calls == [("assign", (SCAN, "C0OTHER", ALICE, BOB, "TLS"))]
    assert harness.slack.calls == []  # nothing to tell


async def test_an_assign_forms_notice_is_told_privately_in_its_channel(harness: Harness) -> None:
    harness.triage.outcome = Outcome(False, "<@U0BOB> is already assigned to this alert.")
    metadata = actions.assign_metadata(SCAN, "C0OTHER", "1.2", SEAL_KEY)
    await harness.submit(metadata, _values(BOB), user_id=ALICE)
    assert harness.triage.calls == [("assign", (SCAN, "C0OTHER", ALICE, BOB, ""))]
    assert harness.slack.calls == [
        (
            "chat.postEphemeral",
            {
                "channel": "C0OTHER",
                "user": ALICE,
                "text": "<@U0BOB> is already assigned to this alert.",
            },
        )
    ]


async def test_a_notice_slack_refuses_is_logged_not_raised(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.triage.outcome = Outcome(False, "Nobody is assigned to this alert.")
    harness.slack.error = "channel_not_found"
    with caplog.at_level(logging.WARNING, logger="scanbot"):
        await harness.submit(actions.assign_metadata(SCAN, CHANNEL, "1.2", SEAL_KEY), _values(None))
    assert harness.triage.calls == [("assign", (SCAN, CHANNEL, "U0ALICE", None, ""))]
    assert [r.getMessage() for r in caplog.records] == [
        "could not tell the user privately: channel_not_found"
    ]


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        actions.assign_metadata(SCAN, CHANNEL, "1.2", actions.seal_key("another secret")),
        actions.assign_metadata(SCAN, CHANNEL, "1.2", SEAL_KEY).replace(CHANNEL, "C0OTHER"),
        '{"v":1,"scan":"scan-9","channel":"C0SECOPS","ts":"1.2"}',
    ],
)
async def test_a_form_scanbot_did_not_seal_is_refused_inside_the_form(
    harness: Harness, metadata: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="scanbot"):
        response = await harness.submit(metadata, _values(BOB))
    assert response.status == 200
    assert harness.ack_body() == {
        "response_action": "errors",
        "errors": {"assignee": FORM_NOT_SEALED},
    }
    assert harness.triage.calls == []
    assert harness.slack.calls == []
    assert [r.getMessage()[:40] for r in caplog.records] == [
        "refused an assign form whose metadata sc"
    ]


async def test_a_risk_button_opens_its_risk_and_refuses_guests(harness: Harness) -> None:
    await harness.click(actions.action_id(actions.RISK, 4), "risk-7")
    ((method, (trigger, risk)),) = harness.triage.calls
    assert (method, risk) == ("open_risk", "risk-7")
    assert trigger.endswith(".trigger")

    await harness.click(actions.RISK, "risk-7", user_id=GUEST)
    assert len(harness.triage.calls) == 1
    assert [p.text for p in harness.responder.posted] == [GUEST_SENTENCE]
