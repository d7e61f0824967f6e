import math
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.slack.text import (
    INVISIBLE_MARK,
    UNKNOWN_STATE_SYMBOL,
    escape,
    escape_plain,
    is_channel_id,
    plural,
    progress_bar,
    shown,
    state_symbol,
    truncate,
    user_mention,
    visible,
)

MARK = INVISIBLE_MARK
# Spelt out: ruff rightly flags the characters themselves as confusable.
STAR, LOW, TILDE, GRAVE = (
    "\N{FULLWIDTH ASTERISK}",
    "\N{FULLWIDTH LOW LINE}",
    "\N{FULLWIDTH TILDE}",
    "\N{FULLWIDTH GRAVE ACCENT}",
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
        # mrkdwn has no escape for formatting: the characters become their fullwidth forms.
        (
            "*bold* _it_ `code` ~x~",
            f"{STAR}bold{STAR} {LOW}it{LOW} {GRAVE}code{GRAVE} {TILDE}x{TILDE}",
        ),
        ("*URGENT*", f"{STAR}URGENT{STAR}"),
        ("\"q\" 'a'", "\"q\" 'a'"),
        # Between two letters or digits nothing can open or close: left as typed.
        ("snake_case a*b 2~3", "snake_case a*b 2~3"),
        ("__init__ x_ _y", f"{LOW}{LOW}init{LOW}{LOW} x{LOW} {LOW}y"),
        ("a`b", f"a{GRAVE}b"),  # a backtick always changes
        ("日本語 🔥", "日本語 🔥"),
        ("bidi\u202eevil\u202c zero\u200bwidth", f"bidi{MARK}evil{MARK} zero{MARK}width"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("*URGENT* _x_ ~y~ `z`", "*URGENT* _x_ ~y~ `z`"),  # plain_text formats nothing
        ("<!channel> & co", "&lt;!channel&gt; &amp; co"),
        ("a\u2066b\u2069", f"a{MARK}b{MARK}"),
    ],
)
def test_escape_plain(raw: str, plain: str) -> None:
    assert escape_plain(raw) == plain


@pytest.mark.parametrize(
    ("raw", "shown_as"),
    [
        ("example.com", "example.com"),
        ("*URGENT*\u202e", f"*URGENT*{MARK}"),  # the characters stay; the override shows
        ("<!channel> & co", "<!channel> & co"),  # rich_text shows it as typed: not escaped
        # Each bidi override, embedding and isolate, and each zero-width character.
        *((f"a{chr(c)}b", f"a{MARK}b") for c in range(0x202A, 0x202F)),
        *((f"a{chr(c)}b", f"a{MARK}b") for c in range(0x2066, 0x206A)),
        *((f"a{c}b", f"a{MARK}b") for c in "\u200b\u200c\u200d\u2060\ufeff"),
        # Other marks and format characters, tags, fillers, controls.
        *((f"a{c}b", f"a{MARK}b") for c in "\u200e\u200f\u061c\u180e\u00ad\u034f"),
        ("flag\U000e0067\U000e0062\U000e007f", f"flag{MARK}"),  # one mark per run
        ("a\u3164b\u115fc\u2800d", f"a{MARK}b{MARK}c{MARK}d"),
        ("\x1b[31mred\x1b[0m", f"{MARK}[31mred{MARK}[0m"),  # no terminal escapes either
        ("a\x00b\x7fc\x9bd", f"a{MARK}b{MARK}c{MARK}d"),
        ("a\ud800b", f"a{MARK}b"),  # a lone surrogate: no JSON encoder should carry it
        ("tab\there\r\nline", "tab here \nline"),  # whitespace controls read as spaces
        ("\u200b\u200b\u200b" * 1000, MARK),
        ("👩\u200d💻", f"👩{MARK}💻"),  # a joined emoji comes apart, visibly: the price of no ZWJ
        # Variation selectors, accents and other scripts stay.
        ("\u2764\ufe0f é 漢字 עברית", "\u2764\ufe0f é 漢字 עברית"),
    ],
)
def test_visible(raw: str, shown_as: str) -> None:
    assert visible(raw) == shown_as


def test_visible_marks_every_format_control_and_surrogate_character() -> None:
    """Checked against this Python's Unicode database, so a newer Unicode's format
    characters are noticed here first."""
    missed = [
        f"U+{c:04X}"
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cf", "Cc", "Cs")
        and chr(c) != "\n"
        and visible(chr(c)) not in (MARK, " ")
    ]
    assert missed == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_visible_leaves_nothing_hidden(raw: str) -> None:
    out = visible(raw)
    assert len(out) <= len(raw)
    assert not [c for c in out if c != "\n" and unicodedata.category(c) in ("Cf", "Cc", "Cs")]
    assert visible(out) == out


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("  two\n words ", 40, "two words"),
        ("", 40, "(blank)"),
        ("   ", 40, "(blank)"),
        ("\u200b", 40, MARK),  # only invisible: shown as something, not as blank
        ("*URGENT*\u202e", 40, f"*URGENT*{MARK}"),
        ("x" * 50, 10, "xxxxxxxxx…"),
    ],
)
def test_shown(value: str, limit: int, expected: str) -> None:
    assert shown(value, limit) == expected


@pytest.mark.parametrize(
    ("channel_id", "expected"),
    [("C0123ABC", True), ("G0123", True), ("D0123", False), ("C1", False), ("C0123\n", False)],
)
def test_is_channel_id(channel_id: str, expected: bool) -> None:
    assert is_channel_id(channel_id) is expected


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
        ("https://x.example/a_b", 21, "https://x.example/a_b"),
        ("https://x.example/a_b", 20, "https://x.example/a…"),  # no `_` left to close
        ("a*_~`b", 5, "a…"),
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
        ("*U123*", f"{STAR}U123{STAR}"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("U" + "A" * 100, "U" + "A" * 100),  # far longer than any real id
        ("", ""),
    ],
)
def test_user_mention(user_id: str, expected: str) -> None:
    assert user_mention(user_id) == expected
