import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.slack import actions
from scanbot.slack.text import (
    UNKNOWN_STATE_SYMBOL,
    escape,
    plural,
    progress_bar,
    state_symbol,
    truncate,
    user_mention,
)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("", ""),
        ("example.com", "example.com"),
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<https://evil.example|bank.com>", "&lt;https://evil.example|bank.com&gt;"),
        ("&amp;", "&amp;amp;"),  # already-escaped text from outside is still text
        ("*bold* _it_ `code` \"q\" 'a'", "*bold* _it_ `code` \"q\" 'a'"),
        ("日本語 🔥", "日本語 🔥"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven char", 10, "eleven ch…"),
        ("abc", 1, "…"),
        ("word   spaces", 8, "word…"),  # no dangling spaces before the ellipsis
        ("ab &amp; cd", 6, "ab…"),  # "ab &a" would end mid-entity
        ("ab &amp; cd", 9, "ab &amp;…"),
        ("x&lt;y", 4, "x…"),
        ("x&lt;y", 5, "x…"),
        ("x&lt;y", 6, "x&lt;y"),
        ("&gt;&gt;&gt;", 7, "&gt;…"),
        ("hi <@U123ABC> there", 8, "hi…"),  # never half a mention
        ("hi <@U123ABC> there", 15, "hi <@U123ABC>…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


def test_truncate_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="limit"):
        truncate("abc", 0)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=60))
def test_truncate_never_splits_an_entity(raw: str, limit: int) -> None:
    cut = truncate(escape(raw), limit)
    assert len(cut) <= limit
    body = cut.removesuffix("…")
    # Every "&" left is the start of a whole entity.
    assert all(
        body.startswith(("&amp;", "&lt;", "&gt;"), i) for i, c in enumerate(body) if c == "&"
    )
    if len(escape(raw)) <= limit:
        assert cut == escape(raw)


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (30, "▰▰▰▱▱▱▱▱▱▱ 30%"),
        (0, "▱▱▱▱▱▱▱▱▱▱ 0%"),
        (100, "▰▰▰▰▰▰▰▰▰▰ 100%"),
        (99.9, "▰▰▰▰▰▰▰▰▰▱ 99%"),  # not full before it is
        (5.5, "▱▱▱▱▱▱▱▱▱▱ 5%"),
        (None, "▱▱▱▱▱▱▱▱▱▱ 0%"),
        (-20, "▱▱▱▱▱▱▱▱▱▱ 0%"),
        (250, "▰▰▰▰▰▰▰▰▰▰ 100%"),
        (math.nan, "▱▱▱▱▱▱▱▱▱▱ 0%"),
        (math.inf, "▰▰▰▰▰▰▰▰▰▰ 100%"),
        (-math.inf, "▱▱▱▱▱▱▱▱▱▱ 0%"),
    ],
)
def test_progress_bar(progress: float | None, expected: str) -> None:
    assert progress_bar(progress) == expected


@pytest.mark.parametrize(
    ("width", "expected"), [(1, "▱ 50%"), (4, "▰▰▱▱ 50%"), (20, "▰" * 10 + "▱" * 10 + " 50%")]
)
def test_progress_bar_width(width: int, expected: str) -> None:
    assert progress_bar(50, width) == expected


def test_progress_bar_refuses_no_width() -> None:
    with pytest.raises(ValueError, match="width"):
        progress_bar(50, 0)


@pytest.mark.parametrize("state", ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "OVER_LIMIT"])
def test_each_known_state_has_its_own_symbol(state: str) -> None:
    assert state_symbol(state) != UNKNOWN_STATE_SYMBOL
    others = {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "OVER_LIMIT"} - {state}
    assert state_symbol(state) not in {state_symbol(other) for other in others}


@pytest.mark.parametrize("state", ["", "PAUSED", "running", "<!channel>"])
def test_unknown_states_share_one_symbol(state: str) -> None:
    assert state_symbol(state) == UNKNOWN_STATE_SYMBOL


@pytest.mark.parametrize(
    ("n", "word", "many", "expected"),
    [
        (0, "scan", None, "0 scans"),
        (1, "scan", None, "1 scan"),
        (2, "scan", None, "2 scans"),
        (1500, "target", None, "1,500 targets"),
        (2, "entry", "entries", "2 entries"),
        (1, "entry", "entries", "1 entry"),
    ],
)
def test_plural(n: int, word: str, many: str | None, expected: str) -> None:
    assert plural(n, word, many) == expected


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("U123ABC", "<@U123ABC>"),
        ("W0123ABCD", "<@W0123ABCD>"),
        ("U12", "<@U12>"),
        ("U1", "U1"),  # too short to be an id
        ("u123abc", "u123abc"),
        ("B123ABC", "B123ABC"),  # a bot, not a user
        ("U123ABC>", "U123ABC&gt;"),
        ("U123ABC\n", "U123ABC\n"),  # "$" would have let the newline through
        ("<!channel>", "&lt;!channel&gt;"),
        ("U" + "A" * 100, "U" + "A" * 100),  # far longer than any real id
        ("", ""),
    ],
)
def test_user_mention(user_id: str, expected: str) -> None:
    assert user_mention(user_id) == expected


# --- actions ---------------------------------------------------------------------------


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
    assert actions.parse_next_value(value) == ("running openvas by:alice", 20)


def test_next_value_keeps_mrkdwn_control_characters_out_of_the_payload() -> None:
    value = actions.next_value("by:<!channel> by:a&b", 10)
    assert value is not None
    assert not re.search("[<>&]", value)
    assert actions.parse_next_value(value) == ("by:<!channel> by:a&b", 10)


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
        assert actions.parse_next_value(value) == (words, offset)


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
        actions.parse_next_value(value)


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
        words, offset = actions.parse_next_value(value)
    except ValueError:
        return
    assert isinstance(words, str)
    assert type(offset) is int
    assert offset >= 0
