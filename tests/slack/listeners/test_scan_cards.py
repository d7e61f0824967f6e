"""The buttons of /scans and /scan cards: which answer each asks for, and where it goes
(a new ephemeral card, the clicker's own card replaced, or the channel)."""

from __future__ import annotations

import logging

import pytest

from scanbot.slack import actions
from scanbot.slack.payloads import UNREADABLE_LIST_BUTTON, NextPage

from .conftest import ALICE, GUEST, GUEST_SENTENCE, URL, Harness


async def test_details_is_a_new_ephemeral_card(harness: Harness) -> None:
    await harness.click(actions.action_id(actions.DETAILS, 2), "scan-1")
    assert harness.answers.calls == [("details", ("scan-1",), {"shared_by": None})]
    (posted,) = harness.responder.posted
    assert posted.url == URL
    assert posted.options == {"response_type": "ephemeral", "replace_original": False}


@pytest.mark.parametrize("ephemeral", [True, False])
async def test_refresh_replaces_only_the_clickers_own_card(
    harness: Harness, ephemeral: bool
) -> None:
    await harness.click(actions.REFRESH, "scan-1", is_ephemeral=ephemeral)
    assert harness.answers.calls == [("details", ("scan-1",), {"shared_by": None})]
    (posted,) = harness.responder.posted
    assert posted.options == {"response_type": "ephemeral", "replace_original": ephemeral}


@pytest.mark.parametrize(("ok", "response_type"), [(True, "in_channel"), (False, "ephemeral")])
async def test_share_posts_the_card_to_the_channel_but_a_failure_to_the_clicker(
    harness: Harness, ok: bool, response_type: str
) -> None:
    harness.answers.ok = ok
    await harness.click(actions.SHARE, "scan-1", user_id=ALICE)
    assert harness.answers.calls == [("details", ("scan-1",), {"shared_by": ALICE})]
    (posted,) = harness.responder.posted
    assert posted.options == {"response_type": response_type, "replace_original": False}


async def test_next_reads_its_value_and_replaces_the_list(harness: Harness) -> None:
    value = actions.next_value("running by:alice", 10)
    assert value is not None
    await harness.click(actions.action_id(actions.NEXT, 0), value)
    assert harness.answers.calls == [("next_page", (NextPage("running by:alice", 10),), {})]
    (posted,) = harness.responder.posted
    assert posted.options == {"response_type": "ephemeral", "replace_original": True}


@pytest.mark.parametrize("value", ["", "not json", '{"v":1,"q":"x","o":-1}', "[" * 3000])
async def test_an_unreadable_next_button_gets_its_sentence_and_fetches_nothing(
    harness: Harness, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="scanbot"):
        await harness.click(actions.NEXT, value)
    assert harness.answers.calls == []
    (posted,) = harness.responder.posted
    assert posted.text == UNREADABLE_LIST_BUTTON
    assert posted.options == {"response_type": "ephemeral", "replace_original": True}
    (record,) = caplog.records
    assert record.getMessage().startswith("refused a Next button value scanbot cannot read")
    assert value[:20] not in record.getMessage() or not value  # the value itself is not logged


@pytest.mark.parametrize("kind", [actions.DETAILS, actions.REFRESH, actions.SHARE, actions.NEXT])
async def test_every_card_button_refuses_guests(harness: Harness, kind: str) -> None:
    await harness.click(kind, actions.next_value("", 0) or "", user_id=GUEST)
    assert harness.answers.calls == []
    (posted,) = harness.responder.posted
    assert posted.text == GUEST_SENTENCE
    assert posted.options == {"response_type": "ephemeral", "replace_original": False}
