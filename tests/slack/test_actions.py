"""Versioned, self-contained action ids and button values: patterns, encoders and their
round trips (read back by `payloads`, whose refusals tests/slack/test_payloads.py checks)."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.slack import actions, payloads

SCAN_ID = "scan-123"


@pytest.mark.parametrize("kind", [actions.DETAILS, actions.NEXT, actions.REFRESH, actions.SHARE])
def test_pattern_matches_the_kind_alone_or_indexed(kind: str) -> None:
    pattern = actions.pattern(kind)
    assert pattern.search(kind)
    assert pattern.search(actions.action_id(kind, 0))
    assert pattern.search(f"{kind}:14")
    assert actions.ANY_SCANBOT_ACTION.search(kind)
    for other in (f"{kind}:", f"{kind}:x", f"{kind}x", f"x{kind}", f"{kind}:1:2", f"{kind}:1\n"):
        assert not pattern.search(other), other


def test_kinds_do_not_match_each_other() -> None:
    kinds = [actions.DETAILS, actions.NEXT, actions.REFRESH, actions.SHARE]
    for kind in kinds:
        for other in kinds:
            assert bool(actions.pattern(kind).search(f"{other}:3")) == (kind == other)


@pytest.mark.parametrize("action_id", ["scanbot:v0:details", "scanbot:v2:next:1", "scanbot:"])
def test_any_scanbot_action_answers_old_and_future_versions(action_id: str) -> None:
    assert actions.ANY_SCANBOT_ACTION.search(action_id)
    assert not any(
        actions.pattern(kind).search(action_id)
        for kind in (actions.DETAILS, actions.NEXT, actions.REFRESH, actions.SHARE)
    )


@pytest.mark.parametrize("action_id", ["other:v1:details", "xscanbot:v1:details", ""])
def test_any_scanbot_action_leaves_others_alone(action_id: str) -> None:
    assert not actions.ANY_SCANBOT_ACTION.search(action_id)


@pytest.mark.parametrize(
    ("scan_id", "expected"),
    [
        ("abc123", "abc123"),
        ("5f0c-a_b", "5f0c-a_b"),
        ("", None),
        ("   ", None),
        ("<!channel>", None),
        ("a&b", None),
        ("x" * 2000, "x" * 2000),
        ("x" * 2001, None),
    ],
)
def test_scan_value(scan_id: str, expected: str | None) -> None:
    assert actions.scan_value(scan_id) == expected


def test_next_value_is_compact_json() -> None:
    value = actions.next_value("running openvas by:alice", 20)
    assert value == '{"v":1,"q":"running openvas by:alice","o":20}'
    assert payloads.parse_next_value(value) == ("running openvas by:alice", 20)


def test_next_value_keeps_mrkdwn_control_characters_out_of_the_payload() -> None:
    value = actions.next_value("by:<!channel> by:a&b", 10)
    assert value is not None
    assert not re.search("[<>&]", value)
    assert payloads.parse_next_value(value) == ("by:<!channel> by:a&b", 10)


def test_next_value_is_none_when_it_cannot_fit_a_button() -> None:
    assert actions.next_value("by:" + "a" * 1900, 10) is not None
    assert actions.next_value("by:" + "a" * 2000, 10) is None
    assert actions.next_value("<" * 400, 10) is None  # 6 characters each once escaped


def test_next_value_refuses_a_negative_offset() -> None:
    with pytest.raises(ValueError, match="offset"):
        actions.next_value("", -1)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.integers(min_value=0, max_value=10**12))
def test_next_value_round_trips(words: str, offset: int) -> None:
    value = actions.next_value(words, offset)
    if value is not None:
        assert len(value) <= actions.MAX_VALUE
        assert not re.search("[<>&]", value)
        assert payloads.parse_next_value(value) == (words, offset)


# --- triage kinds, block ids, compact JSON ---------------------------------------------

TRIAGE_KINDS = [
    actions.ACK,
    actions.UNACK,
    actions.ASSIGN,
    actions.SNOOZE,
    actions.UNSNOOZE,
    actions.MUTE,
    actions.UNMUTE,
    actions.THREAD_REFRESH,
    actions.RISKS,
    actions.REPORT,
    actions.RISK,
]


def test_triage_kinds_are_versioned_distinct_and_matched() -> None:
    every = [*TRIAGE_KINDS, actions.DETAILS, actions.NEXT, actions.REFRESH, actions.SHARE]
    assert len(set(every)) == len(every)
    for kind in TRIAGE_KINDS:
        assert kind.startswith("scanbot:v1:")
        assert actions.pattern(kind).match(actions.action_id(kind, 3))
        assert actions.ANY_SCANBOT_ACTION.match(kind)
        others = [k for k in every if k != kind]
        assert not any(actions.pattern(k).match(actions.action_id(kind, 0)) for k in others)
    assert actions.ASSIGN_VIEW == "scanbot:v1:assign_view"


def test_triage_block_id_round_trip() -> None:
    block_id = actions.triage_block_id(SCAN_ID)
    assert block_id == "scanbot:v1:triage:scan-123"
    assert payloads.parse_triage_block_id(block_id) == SCAN_ID


@pytest.mark.parametrize("scan_id", ["", "a<b", "a&b", "x" * 300])
def test_no_triage_block_id_for_ids_that_cannot_be_carried(scan_id: str) -> None:
    assert actions.triage_block_id(scan_id) is None


def test_compact_json_keeps_mrkdwn_controls_out() -> None:
    text = actions.compact_json({"a": "<!channel> & co"})
    assert text == '{"a":"\\u003c!channel\\u003e \\u0026 co"}'
    assert json.loads(text) == {"a": "<!channel> & co"}
