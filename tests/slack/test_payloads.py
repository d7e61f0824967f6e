"""Incoming Slack payloads as typed values: what every kind of request carries, and the one
typed error for what scanbot did not write (values, block ids, sealed forms)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.sandbox.slack_user import block_action, event_callback, slash_command, view_submission
from scanbot.slack import actions, payloads
from scanbot.slack.cards import triage as triage_cards
from scanbot.slack.payloads import (
    FORM_NOT_SEALED,
    OLD_BUTTON,
    UNREADABLE_LIST_BUTTON,
    AssignForm,
    Click,
    Command,
    HomeOpened,
    NextPage,
    PayloadError,
    parse_assign_metadata,
)

from .cards.alert_samples import odd_text
from .cards.triage_samples import KEY, SETTINGS

URL = "https://hooks.slack.com/actions/T0FAKE/1/abc"
SCAN_ID = "scan-123"


def clicked(action_id: str, value: str = "", **fields: Any) -> Click:
    return Click.of(
        json.loads(block_action(action_id, value, response_url=URL, **fields)["payload"])
    )


def submitted(metadata: str, values: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    form = view_submission(actions.ASSIGN_VIEW, metadata, values or {}, **fields)
    body: dict[str, Any] = json.loads(form["payload"])
    return body


# -- what each request carries --------------------------------------------------------------


def test_a_slash_command() -> None:
    form = slash_command("/scans", "running", response_url=URL, user_id="U1", channel_id="C1")
    assert Command.of(form) == Command(
        text="running", user_id="U1", team_id="T0FAKE", channel_id="C1", response_url=URL
    )


def test_a_button_click() -> None:
    click = clicked(actions.action_id(actions.ACK, 0), SCAN_ID, user_id="U1", channel_id="C1")
    assert (click.action_id, click.scan_id, click.risk_id) == ("scanbot:v1:ack:0", SCAN_ID, SCAN_ID)
    assert (click.user_id, click.team_id, click.channel_id) == ("U1", "T0FAKE", "C1")
    assert click.response_url == URL
    assert click.trigger_id.endswith(".trigger")
    assert click.message_ts == "1700000000.000100"
    assert click.is_ephemeral is True
    assert clicked(actions.DETAILS, SCAN_ID, is_ephemeral=False).is_ephemeral is False


def test_a_select_click_carries_its_option_and_block_id() -> None:
    block_id = actions.triage_block_id(SCAN_ID)
    assert block_id is not None
    click = clicked(actions.SNOOZE, block_id=block_id, selected="4h")
    assert click.selected == "4h"
    assert click.value == ""
    assert click.snoozed_scan() == SCAN_ID


def test_a_click_from_a_message_without_a_channel_field_takes_the_container_s() -> None:
    body = json.loads(
        block_action(actions.ACK, SCAN_ID, response_url=URL, channel_id="C9")["payload"]
    )
    del body["channel"]
    assert Click.of(body).channel_id == "C9"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"actions": []},
        {"actions": "x", "user": "U1", "team": 3, "container": None, "channel": []},
        {"actions": [None], "user": {"id": None}, "response_url": None},
        {"actions": [{"value": 7, "selected_option": "4h", "block_id": None}]},
    ],
)
def test_a_malformed_click_is_read_as_empty_fields_never_an_exception(body: dict[str, Any]) -> None:
    click = Click.of(body)
    assert click.user_id == ""
    assert click.response_url == ""
    assert click.selected == ""
    with pytest.raises(PayloadError):
        click.snoozed_scan()


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "actions",
                        "user",
                        "team",
                        "container",
                        "channel",
                        "value",
                        "id",
                        "view",
                        "state",
                        "values",
                        "private_metadata",
                    ]
                ),
                inner,
                max_size=4,
            )
        ),
    )
)
def test_any_body_reads_into_typed_values_or_the_one_error(raw: Any) -> None:
    body = raw if isinstance(raw, dict) else {"actions": raw}
    click = Click.of(body)
    assert all(isinstance(getattr(click, f), str) for f in ("value", "channel_id", "user_id"))
    for decode in (click.next_page, click.snoozed_scan, lambda: AssignForm.of(body, key=KEY)):
        with contextlib.suppress(PayloadError):
            decode()
    Command.of(body)
    HomeOpened.of(body, body)


def test_home_opened() -> None:
    body = json.loads(event_callback({"type": "app_home_opened", "user": "U1", "tab": "home"}))
    opened = HomeOpened.of(body, body["event"])
    assert opened == HomeOpened(user_id="U1", team_id="T0FAKE", tab="home")
    assert opened.is_home
    assert not HomeOpened.of(body, {"user": "U1", "tab": "messages"}).is_home
    assert HomeOpened.of(body, {"user": "U1"}).is_home  # older payloads name no tab


# -- a Next button --------------------------------------------------------------------------


def test_a_next_button_reads_back_what_scanbot_wrote() -> None:
    value = actions.next_value("running by:<!channel>", 20)
    assert value is not None
    assert clicked(actions.NEXT, value).next_page() == NextPage("running by:<!channel>", 20)


@pytest.mark.parametrize("value", ["", "junk", '{"v":9,"q":"","o":0}', "[" * 5000])
def test_an_unreadable_next_button_is_the_one_error_with_its_sentence(value: str) -> None:
    with pytest.raises(PayloadError) as refused:
        clicked(actions.NEXT, value).next_page()
    assert refused.value.sentence == UNREADABLE_LIST_BUTTON
    assert refused.value.reason.startswith("a Next button value scanbot cannot read")
    assert isinstance(refused.value, ValueError)


def test_a_snooze_select_of_another_version_is_the_old_button_sentence() -> None:
    with pytest.raises(PayloadError) as refused:
        clicked(actions.SNOOZE, block_id="scanbot:v0:triage:x", selected="1h").snoozed_scan()
    assert refused.value.sentence == OLD_BUTTON


# -- an assign form -------------------------------------------------------------------------


def test_an_assign_form_scanbot_sealed() -> None:
    metadata = actions.assign_metadata(SCAN_ID, "C1", "1.2", KEY)
    values = {
        "assignee": {"user": {"type": "users_select", "selected_user": "U2"}},
        "note": {"text": {"type": "plain_text_input", "value": "look at TLS"}},
    }
    form = AssignForm.of(submitted(metadata, values, user_id="U1"), key=KEY)
    assert form == AssignForm(SCAN_ID, "C1", "1.2", "U1", "U2", "look at TLS")


def test_an_assign_form_with_nobody_picked_and_no_note_unassigns() -> None:
    metadata = actions.assign_metadata(SCAN_ID, "C1", "1.2", KEY)
    values: dict[str, Any] = {"assignee": {"user": {"selected_user": None}}, "note": {}}
    form = AssignForm.of(submitted(metadata, values), key=KEY)
    assert (form.assignee, form.note) == (None, "")


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "junk",
        actions.assign_metadata(SCAN_ID, "C1", "1.2", actions.seal_key("another secret")),
        actions.assign_metadata(SCAN_ID, "C1", "1.2", KEY).replace("C1", "C2"),
        '{"v":1,"scan":"scan-123","channel":"C1","ts":"1.2"}',
    ],
)
def test_an_assign_form_scanbot_did_not_seal_is_the_one_error(metadata: str) -> None:
    with pytest.raises(PayloadError) as refused:
        AssignForm.of(submitted(metadata), key=KEY)
    assert refused.value.sentence == FORM_NOT_SEALED
    assert refused.value.reason.startswith(
        f"an assign form whose metadata scanbot did not seal ({len(metadata)} chars)"
    )


def test_the_triage_renderer_reads_assign_metadata_with_the_same_decoder() -> None:
    metadata = actions.assign_metadata(SCAN_ID, "C1", "1.2", KEY)
    assert triage_cards.parse_assign_metadata(metadata, key=KEY) == (SCAN_ID, "C1", "1.2")
    with pytest.raises(ValueError, match="not sealed"):
        triage_cards.parse_assign_metadata(metadata[:-1], key=KEY)


# -- refusals of the decoders (moved from test_actions.py and cards/test_triage.py) ---------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not json",
        "[]",
        "null",
        '"text"',
        '{"v":1,"q":"x"}',
        '{"v":1,"o":1}',
        '{"v":1,"q":"x","o":1,"extra":0}',
        '{"v":2,"q":"x","o":1}',
        '{"v":"1","q":"x","o":1}',
        '{"v":true,"q":"x","o":1}',
        '{"v":1.0,"q":"x","o":1}',
        '{"v":1,"q":3,"o":1}',
        '{"v":1,"q":null,"o":1}',
        '{"v":1,"q":"x","o":-1}',
        '{"v":1,"q":"x","o":1.5}',
        '{"v":1,"q":"x","o":"10"}',
        '{"v":1,"q":"x","o":true}',
        '{"v":1,"q":"x","o":null}',
        "[" * 1999,
        '{"v":1,"q":"' + "a" * 2000 + '","o":1}',
    ],
)
def test_parse_next_value_refuses_anything_malformed(value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - one error type for every malformation
        payloads.parse_next_value(value)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(["v", "q", "o", "x"]), inner, max_size=4)
            ),
        ).map(json.dumps),
    )
)
def test_parse_next_value_raises_only_value_error(value: str) -> None:
    try:
        words, offset = payloads.parse_next_value(value)
    except ValueError:
        return
    assert isinstance(words, str)
    assert type(offset) is int
    assert offset >= 0


@pytest.mark.parametrize(
    "block_id",
    ["", "scanbot:v1:triage:", "scanbot:v1:triage", "other:scan-1", "scanbot:v1:triage:<x>"],
)
def test_parse_triage_block_id_refuses_others(block_id: str) -> None:
    with pytest.raises(ValueError, match="triage block id"):
        payloads.parse_triage_block_id(block_id)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "null",
        "[]",
        "{}",
        "not json",
        '{"v":2,"scan":"s","channel":"C"}',
        '{"v":2,"scan":"s","channel":"C","ts":"1","x":1}',
        '{"v":1,"scan":"s","channel":"C","ts":"1"}',
        '{"v":3,"scan":"s","channel":"C","ts":"1"}',
        '{"v":true,"scan":"s","channel":"C","ts":"1"}',
        '{"v":2.0,"scan":"s","channel":"C","ts":"1"}',
        '{"v":"2","scan":"s","channel":"C","ts":"1"}',
        '{"v":2,"scan":1,"channel":"C","ts":"1"}',
        '{"v":2,"scan":"","channel":"C","ts":"1"}',
        '{"v":2,"scan":"s","channel":null,"ts":"1"}',
        '{"v":2,"scan":"s","channel":"C","ts":" "}',
        "[" * 100_000,
        '{"v":2,"scan":"' + "x" * 3000 + '","channel":"C","ts":"1"}',
    ],
)
def test_parse_assign_metadata_refuses_malformed(text: str) -> None:
    """Even sealed with scanbot's key, only the shape assign_modal makes is read."""
    with pytest.raises(ValueError, match=r"."):
        parse_assign_metadata(actions.seal(text, KEY), key=KEY)


@SETTINGS
@given(st.text(max_size=200) | odd_text)
def test_any_metadata_parses_or_raises_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_assign_metadata(text, key=KEY)
