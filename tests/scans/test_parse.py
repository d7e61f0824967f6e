"""The `/scans` and `/scan` parsers: every word, alias, spelling and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanbot.scans.parse import (
    SUBCOMMANDS,
    ListScans,
    ShowScan,
    ShowUsage,
    known_words,
    parse_scan_command,
    parse_scans_command,
)
from scanbot.scans.query import ScanQuery

Q, R, S, F, OL = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "OVER_LIMIT"


def states(*values: str) -> ListScans:
    return ListScans(ScanQuery(states=values))


def types(*values: str) -> ListScans:
    return ListScans(ScanQuery(types=values))


def by(*values: str) -> ListScans:
    return ListScans(ScanQuery(scheduled_by=values))


LISTS = [
    ("", ListScans(ScanQuery())),
    ("   ", ListScans(ScanQuery())),
    ("\t\n \u00a0", ListScans(ScanQuery())),
    # states, in every accepted spelling
    ("queued", states(Q)),
    ("running", states(R)),
    ("succeeded", states(S)),
    ("failed", states(F)),
    ("over_limit", states(OL)),
    ("over-limit", states(OL)),
    ("OVER_LIMIT", states(OL)),
    ("Over-Limit", states(OL)),
    ("RUNNING", states(R)),
    ("rUnNiNg", states(R)),
    # aliases
    ("active", states(Q, R)),
    ("finished", states(F, OL, S)),
    ("problems", states(F, OL)),
    ("ACTIVE", states(Q, R)),
    ("active finished", states(F, OL, Q, R, S)),
    ("problems failed over_limit", states(F, OL)),
    # types, short and API spellings
    ("nmap", types("NMAP")),
    ("nmap_udp", types("NMAP_UDP")),
    ("NMAP_UDP", types("NMAP_UDP")),
    ("openvas", types("OPENVAS")),
    ("OpenVAS", types("OPENVAS")),
    ("zap", types("OWASP_ZAP")),
    ("owasp_zap", types("OWASP_ZAP")),
    ("OWASP_ZAP", types("OWASP_ZAP")),
    ("zap_active", types("OWASP_ZAP_ACTIVE")),
    ("owasp_zap_active", types("OWASP_ZAP_ACTIVE")),
    ("sslyze", types("SSLYZE")),
    ("SSLyze", types("SSLYZE")),
    ("zap owasp_zap ZAP", types("OWASP_ZAP")),
    ("sslyze nmap", types("NMAP", "SSLYZE")),
    # scheduled_by keeps its case and is otherwise opaque
    ("by:alice", by("alice")),
    ("by:Alice", by("Alice")),
    ("BY:Alice", by("Alice")),
    ("By:API", by("API")),
    ("by:alice by:Alice", by("Alice", "alice")),
    ("by:bob by:alice by:bob", by("alice", "bob")),
    ("by:by:x", by("by:x")),
    ("by:alice@example.com", by("alice@example.com")),
    ("by:Zoë", by("Zoë")),
    ("by:<!channel>", by("<!channel>")),
    ("by:running", by("running")),
    # AND across keys, sorted so word order does not matter
    ("running openvas", ListScans(ScanQuery(states=(R,), types=("OPENVAS",)))),
    ("openvas running", ListScans(ScanQuery(states=(R,), types=("OPENVAS",)))),
    (
        "by:carol active zap nmap failed",
        ListScans(
            ScanQuery(states=(F, Q, R), types=("NMAP", "OWASP_ZAP"), scheduled_by=("carol",))
        ),
    ),
    # whitespace of every kind separates words
    ("  running\t\tnmap \n", ListScans(ScanQuery(states=(R,), types=("NMAP",)))),
    ("running\u00a0nmap", ListScans(ScanQuery(states=(R,), types=("NMAP",)))),
    ("running\u2003nmap\u3000zap", ListScans(ScanQuery(states=(R,), types=("NMAP", "OWASP_ZAP")))),
    ("running\r\nfailed", states(F, R)),
    ("running " * 5000, states(R)),
]


@pytest.mark.parametrize(("text", "expected"), LISTS)
def test_lists(text: str, expected: ListScans) -> None:
    assert parse_scans_command(text) == expected


USAGE = [
    ("help", ShowUsage()),
    ("HELP", ShowUsage()),
    ("  help  ", ShowUsage()),
    ("help running", ShowUsage()),
    ("help whatever words", ShowUsage()),
    # a subcommand counts only in first place; elsewhere nothing near it is valid
    ("running help", ShowUsage(unknown="help", suggestion=None)),
    ("nmap HELP", ShowUsage(unknown="HELP", suggestion=None)),
    # typos get the nearest valid word, whatever their case
    ("runing", ShowUsage(unknown="runing", suggestion="running")),
    ("RUNNNING", ShowUsage(unknown="RUNNNING", suggestion="running")),
    ("hlep", ShowUsage(unknown="hlep", suggestion="help")),
    ("nmap hlep", ShowUsage(unknown="hlep", suggestion=None)),
    ("suceeded", ShowUsage(unknown="suceeded", suggestion="succeeded")),
    ("openvass", ShowUsage(unknown="openvass", suggestion="openvas")),
    ("zap-active", ShowUsage(unknown="zap-active", suggestion="zap_active")),
    ("overlimit", ShowUsage(unknown="overlimit", suggestion="over_limit")),
    ("nmap udp", ShowUsage(unknown="udp", suggestion=None)),
    ("problem", ShowUsage(unknown="problem", suggestion="problems")),
    ("Activ", ShowUsage(unknown="Activ", suggestion="active")),
    # `by` written another way keeps the name
    ("by=Alice", ShowUsage(unknown="by=Alice", suggestion="by:Alice")),
    ("by-alice", ShowUsage(unknown="by-alice", suggestion="by:alice")),
    ("by:", ShowUsage(unknown="by:", suggestion=None)),
    ("running BY:", ShowUsage(unknown="BY:", suggestion=None)),
    ("by", ShowUsage(unknown="by", suggestion=None)),
    ("by alice", ShowUsage(unknown="by", suggestion=None)),
    # the first bad word is the one reported, as typed
    ("running xyzzy plugh", ShowUsage(unknown="xyzzy", suggestion=None)),
    ("running Failedd nmapp", ShowUsage(unknown="Failedd", suggestion="failed")),
    # hostile or odd words are kept raw: escaping is the renderer's job
    ("<!channel>", ShowUsage(unknown="<!channel>", suggestion=None)),
    ("running <!here>", ShowUsage(unknown="<!here>", suggestion=None)),
    ("<https://evil|bank.com>", ShowUsage(unknown="<https://evil|bank.com>", suggestion=None)),
    ("&amp;", ShowUsage(unknown="&amp;", suggestion=None)),
    ("*bold*", ShowUsage(unknown="*bold*", suggestion=None)),
    ("running,failed", ShowUsage(unknown="running,failed", suggestion="running")),
    ("state:running", ShowUsage(unknown="state:running", suggestion="running")),
    ("`running`", ShowUsage(unknown="`running`", suggestion="running")),
    # unicode: look-alikes and invisible characters are not the word they resemble
    ("runnïng", ShowUsage(unknown="runnïng", suggestion="running")),
    ("running\u200b", ShowUsage(unknown="running\u200b", suggestion="running")),
    ("\u0440unning", ShowUsage(unknown="\u0440unning", suggestion="running")),  # Cyrillic er
    (
        "\uff52\uff55\uff4e",
        ShowUsage(unknown="\uff52\uff55\uff4e", suggestion=None),
    ),  # full-width "run"
    ("扫描", ShowUsage(unknown="扫描", suggestion=None)),
    ("🔥", ShowUsage(unknown="🔥", suggestion=None)),
]


@pytest.mark.parametrize(("text", "expected"), USAGE)
def test_usage(text: str, expected: ShowUsage) -> None:
    assert parse_scans_command(text) == expected


def test_very_long_unknown_word_is_kept_whole() -> None:
    word = "x" * 100_000
    assert parse_scans_command(f"running {word}") == ShowUsage(unknown=word, suggestion=None)


def test_very_long_by_value() -> None:
    name = "a" * 10_000
    assert parse_scans_command(f"by:{name}") == by(name)


def test_many_words() -> None:
    filters = [w for w in known_words() if w not in SUBCOMMANDS]
    text = " ".join(filters * 200 + [f"by:user{i}" for i in range(500)])
    result = parse_scans_command(text)
    assert isinstance(result, ListScans)
    assert result.query.states == (F, OL, Q, R, S)
    assert len(result.query.types) == 6
    assert len(result.query.scheduled_by) == 500


def test_offset_starts_at_zero() -> None:
    assert parse_scans_command("running").offset == 0  # type: ignore[union-attr]


def test_equal_queries_compare_equal_whatever_the_spelling() -> None:
    a = parse_scans_command("active zap by:bob by:al")
    b = parse_scans_command("by:al RUNNING owasp_zap queued by:bob ZAP")
    assert a == b
    assert hash(a) == hash(b)


def test_values_are_plain_api_strings() -> None:
    result = parse_scans_command("running zap")
    assert isinstance(result, ListScans)
    assert result.query.filters() == {"state": ["RUNNING"], "type": ["OWASP_ZAP"]}
    assert type(result.query.states[0]) is str
    assert type(result.query.types[0]) is str


def test_known_words() -> None:
    words = known_words()
    assert words[0] == "help"
    assert set(SUBCOMMANDS) <= set(words)
    assert len(words) == len(set(words))
    for word in words:
        if word not in SUBCOMMANDS:
            assert isinstance(parse_scans_command(word), ListScans), word
    assert all(word == word.lower() for word in words)


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for t, e in USAGE if e.unknown and e.suggestion]
)
def test_every_suggestion_is_valid_where_it_would_stand(text: str, expected: ShowUsage) -> None:
    assert expected.unknown is not None
    assert expected.suggestion is not None
    words = text.split()
    words[words.index(expected.unknown)] = expected.suggestion
    result = parse_scans_command(" ".join(words))
    assert result == ShowUsage() or result != expected


# Words the parser could produce, drawn from what users type.
by_values = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda s: s.split() == [s]
)
filter_words = st.sampled_from([w for w in known_words() if w not in SUBCOMMANDS])
any_word = st.one_of(filter_words, by_values.map(lambda v: f"by:{v}"), filter_words.map(str.upper))
separators = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\r\n", "\u3000"])


@given(st.lists(st.tuples(any_word, separators), max_size=12))
def test_round_trip(pairs: list[tuple[str, str]]) -> None:
    text = "".join(word + sep for word, sep in pairs)
    result = parse_scans_command(text)
    assert isinstance(result, ListScans)
    again = parse_scans_command(result.query.words())
    assert again == result
    assert isinstance(again, ListScans)
    assert again.query.describe() == result.query.describe()


@given(st.text(max_size=200))
def test_any_text_gives_a_command_and_valid_lists_round_trip(text: str) -> None:
    result = parse_scans_command(text)
    if isinstance(result, ListScans):
        assert parse_scans_command(result.query.words()) == result
        for values in (result.query.states, result.query.types, result.query.scheduled_by):
            assert list(values) == sorted(set(values))
    elif isinstance(result, ShowUsage):
        assert result.unknown is None or result.unknown in text.split()
        assert (
            result.suggestion is None
            or result.suggestion.startswith("by:")
            or (result.suggestion in known_words())
        )


SCAN = [
    ("abc123", ShowScan("abc123")),
    ("  abc123\n", ShowScan("abc123")),
    ("\u00a0ABC-123\t", ShowScan("ABC-123")),
    ("running", ShowScan("running")),
    ("<!channel>", ShowScan("<!channel>")),
    ("x" * 5000, ShowScan("x" * 5000)),
    ("", ShowUsage()),
    (" \t\n", ShowUsage()),
    ("help", ShowUsage()),
    ("HELP", ShowUsage()),
    ("help abc", ShowUsage()),
    ("abc def", ShowUsage(unknown="def")),
    ("abc def ghi", ShowUsage(unknown="def")),
    ("abc\u00a0def", ShowUsage(unknown="def")),
]


@pytest.mark.parametrize(("text", "expected"), SCAN)
def test_scan(text: str, expected: ShowScan | ShowUsage) -> None:
    assert parse_scan_command(text) == expected
