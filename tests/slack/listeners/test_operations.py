"""The operations' listeners: the operation sub-commands reach the operations service (the
rest of `/scans` the general listener), the run confirmation is believed only when scanbot
sealed it and its author submits it, and a button value scanbot did not write is answered
before any operation runs."""

from __future__ import annotations

import logging

import pytest

from scanbot.operations.service import Caller
from scanbot.scans.parse import RunScan
from scanbot.slack import actions, sentences
from scanbot.slack.cards import operations as cards

from .conftest import ALICE, CHANNEL, GUEST, GUEST_SENTENCE, SEAL_KEY, URL, Harness

BOB = "U0BOB"


def sealed_form(user_id: str = ALICE, *, key: bytes = SEAL_KEY) -> str:
    payload = {
        "v": actions.RUN_METADATA_VERSION,
        "t": "NMAP",
        "f": "targets",
        "x": ["example.com"],
        "c": CHANNEL,
        "u": user_id,
        "n": "nonce-1",
    }
    return actions.seal(actions.compact_json(payload), key)


def auth_values(checked: bool) -> dict[str, object]:
    chosen = [{"value": cards.AUTH_VALUE}] if checked else []
    return {cards.AUTH_BLOCK: {cards.AUTH_ACTION: {"selected_options": chosen}}}


async def test_an_operation_sub_command_reaches_the_operations(harness: Harness) -> None:
    await harness.command("/scans", "run nmap example.com")
    ((name, (command,)),) = harness.operations.calls
    assert name == "command"
    assert isinstance(command, RunScan)
    (caller,) = harness.operations.callers
    assert (caller.user_id, caller.team_id, caller.channel_id) == (ALICE, "T0FAKE", CHANNEL)
    assert caller.trigger_id.endswith(".trigger")  # the modal opens on the command's trigger
    assert harness.answers.calls == []
    (posted,) = harness.responder.posted
    assert posted.text == "command done"
    assert posted.options == {"response_type": "ephemeral"}


async def test_every_other_scans_text_reaches_the_general_listener(harness: Harness) -> None:
    await harness.command("/scans", "running")
    assert harness.operations.calls == []
    assert [name for name, *_ in harness.answers.calls] == ["scans"]


async def test_no_answer_when_a_modal_opened(harness: Harness) -> None:
    harness.operations.answer = None
    await harness.command("/scans", "run nmap example.com")
    assert harness.responder.posted == []


@pytest.mark.parametrize("checked", [True, False])
async def test_a_sealed_run_form_is_confirmed_and_told_privately(
    harness: Harness, checked: bool
) -> None:
    response = await harness.submit(
        sealed_form(), auth_values(checked), callback_id=actions.RUN_VIEW, user_id=ALICE
    )
    assert response.status == 200
    assert harness.ack_body() == {}
    ((name, (form, user, team, auth)),) = harness.operations.calls
    assert name == "confirm_run"
    assert (form.scan_type, form.values, form.channel_id, form.nonce) == (
        "NMAP",
        ("example.com",),
        CHANNEL,
        "nonce-1",
    )
    assert (user, team, auth) == (ALICE, "T0FAKE", ("use_authentication", checked))
    ((method, call),) = harness.slack.calls
    assert method == "chat.postEphemeral"
    assert (call["channel"], call["user"], call["text"]) == (CHANNEL, ALICE, "confirm_run done")
    assert call["blocks"]


async def test_an_answer_slack_will_not_whisper_goes_to_a_dm(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.slack.error = "user_not_in_channel"
    with caplog.at_level(logging.INFO, logger="scanbot"):
        await harness.submit(
            sealed_form(), auth_values(False), callback_id=actions.RUN_VIEW, user_id=ALICE
        )
    assert [m for m, _ in harness.slack.calls] == ["chat.postEphemeral", "chat.postMessage"]
    assert harness.slack.calls[1][1]["channel"] == ALICE
    assert "could not tell the user the answer: user_not_in_channel" in caplog.text


@pytest.mark.parametrize(
    ("metadata", "user", "sentence"),
    [
        (sealed_form(key=b"another key"), ALICE, sentences.RUN_FORM_NOT_SEALED),
        (sealed_form()[:-2] + "xx", ALICE, sentences.RUN_FORM_NOT_SEALED),
        ("", ALICE, sentences.RUN_FORM_NOT_SEALED),
        (sealed_form(), BOB, sentences.RUN_FORM_NOT_YOURS),
    ],
    ids=["other key", "altered", "empty", "not the author"],
)
async def test_a_form_refused_is_answered_inside_the_form(
    harness: Harness, metadata: str, user: str, sentence: str
) -> None:
    response = await harness.submit(
        metadata, auth_values(True), callback_id=actions.RUN_VIEW, user_id=user
    )
    assert response.status == 200
    assert harness.ack_body() == {
        "response_action": "errors",
        "errors": {cards.AUTH_BLOCK: sentence},
    }
    assert harness.operations.calls == []
    assert harness.slack.calls == []


@pytest.mark.parametrize(
    ("kind", "value", "call"),
    [
        (actions.TARGETS_NEXT, cards.targets_next_value("web", 10), ("targets", ("web", 10))),
        (actions.TARGETS_NEXT, cards.targets_next_value(None, 0), ("targets", (None, 0))),
        (
            actions.REPORT_RETRY,
            cards.report_value("r-1", "HTML"),
            ("retry_report", ("r-1", "HTML", "1700000000.000100")),
        ),
        (actions.AUDIT_NEXT, "20", ("audit", (20,))),
        (actions.AUDIT_NEXT, "-3", ("audit", (0,))),
        (actions.AUDIT_NEXT, "1" * 30, ("audit", (0,))),
        (actions.RESCAN, "scan-1", ("rescan", ("scan-1",))),
        (actions.REPORT_TARGETS, "scan-1", ("report_for_scan", ("scan-1",))),
    ],
)
async def test_each_button_passes_what_it_carries(
    harness: Harness, kind: str, value: str | None, call: tuple[str, tuple[object, ...]]
) -> None:
    assert value is not None
    await harness.click(actions.action_id(kind, 0), value)
    assert harness.operations.calls == [call]
    (caller,) = harness.operations.callers
    assert isinstance(caller, Caller)
    assert caller.channel_id == CHANNEL


async def test_an_upsert_button_carries_the_target_checked_again(harness: Harness) -> None:
    value = actions.upsert_value("example.com", "web", ("prod",))
    assert value is not None
    await harness.click(actions.action_id(actions.TARGET_UPSERT, 0), value)
    ((name, (target,)),) = harness.operations.calls
    assert name == "upsert_target"
    assert (target.target, target.label, target.tags) == ("example.com", "web", ("prod",))


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (actions.TARGETS_NEXT, "scan-1"),
        (actions.TARGETS_NEXT, '{"v":2,"q":"","o":0}'),
        (actions.REPORT_RETRY, '{"r":"r-1","f":"DOCX"}'),
        (actions.TARGET_UPSERT, '{"t":"not a host!","l":null,"g":[]}'),
        (actions.TARGET_UPSERT, "[" * 5000),
    ],
)
async def test_a_value_scanbot_did_not_write_runs_nothing(
    harness: Harness, kind: str, value: str
) -> None:
    await harness.click(actions.action_id(kind, 0), value)
    assert harness.operations.calls == []
    (posted,) = harness.responder.posted
    assert posted.text == sentences.OPERATION_BUTTON_UNREADABLE
    assert posted.options == {"response_type": "ephemeral", "replace_original": False}
    assert posted.url == URL


async def test_show_risks_refuses_guests(harness: Harness) -> None:
    await harness.click(actions.action_id(actions.SCAN_RISKS, 0), "scan-1", user_id=GUEST)
    assert harness.answers.calls == []
    (posted,) = harness.responder.posted
    assert posted.text == GUEST_SENTENCE
    await harness.click(actions.action_id(actions.SCAN_RISKS, 0), "scan-1")
    assert [name for name, *_ in harness.answers.calls] == ["risks"]
