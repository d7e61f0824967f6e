"""`/scans subscribe`, `unsubscribe` and `subscriptions`: every word, refusal and reason."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.domain.events import DEFAULT_EVENTS, SUBSCRIBABLE_EVENTS
from scanbot.scans.parse import (
    BY_REASON,
    EMPTY_TARGET_REASON,
    EVENT_WORDS,
    LONG_ID_REASON,
    LONG_TARGET_REASON,
    MAX_TARGET_TEXT,
    ONE_ID_REASON,
    SEVERITY_REASON,
    SEVERITY_WITHOUT_RISKS_REASON,
    STATE_EVENTS,
    STATE_REASON,
    STATE_WORDS,
    SUBSCRIBE_REASON,
    SUBSCRIPTIONS_REASON,
    TWO_SEVERITIES_REASON,
    TWO_TARGETS_REASON,
    TYPE_WORDS,
    UNSUBSCRIBE_REASON,
    ListScans,
    ListSubscriptions,
    ShowUsage,
    Subscribe,
    SubscribeUsage,
    Unsubscribe,
    parse_list_command,
    parse_scans_command,
)

ALL_EVENTS = SUBSCRIBABLE_EVENTS


def sub(
    *types: str,
    target: str | None = None,
    severity: str | None = None,
    events: tuple[str, ...] = DEFAULT_EVENTS,
) -> Subscribe:
    return Subscribe(types=types, target_contains=target, min_severity=severity, events=events)


SUBSCRIBES = [
    # nothing but the subcommand: every scan, the default events
    ("subscribe", sub()),
    ("SUBSCRIBE", sub()),
    ("  Subscribe \t", sub()),
    # types, short and API spellings, sorted and de-duplicated like `/scans`
    ("subscribe openvas", sub("OPENVAS")),
    ("subscribe OPENVAS", sub("OPENVAS")),
    ("subscribe zap owasp_zap ZAP", sub("OWASP_ZAP")),
    ("subscribe zap_active OWASP_ZAP_ACTIVE", sub("OWASP_ZAP_ACTIVE")),
    ("subscribe sslyze nmap nmap_udp", sub("NMAP", "NMAP_UDP", "SSLYZE")),
    # target: keeps its case; one pair of quotes around it is not part of it
    ("subscribe target:shop", sub(target="shop")),
    ("subscribe target:Shop.Example.COM", sub(target="Shop.Example.COM")),
    ("subscribe TARGET:Shop", sub(target="Shop")),
    ("subscribe target:10.0.0.", sub(target="10.0.0.")),
    ("subscribe target:https://shop.example/a?b=c", sub(target="https://shop.example/a?b=c")),
    ('subscribe target:"shop"', sub(target="shop")),
    ("subscribe target:'shop'", sub(target="shop")),
    ("subscribe target:\u201cshop\u201d", sub(target="shop")),
    ("subscribe target:`shop`", sub(target="shop")),
    ('subscribe target:"shop', sub(target='"shop')),
    ("subscribe target:target:x", sub(target="target:x")),
    ("subscribe target:<!channel>", sub(target="<!channel>")),
    ("subscribe target:shop target:shop", sub(target="shop")),
    ("subscribe target:" + "x" * MAX_TARGET_TEXT, sub(target="x" * MAX_TARGET_TEXT)),
    # severity, case-insensitive, stored in the API's spelling
    ("subscribe severity:high", sub(severity="HIGH")),
    ("subscribe severity:Medium", sub(severity="MEDIUM")),
    ("subscribe SEVERITY:LOW", sub(severity="LOW")),
    ("subscribe severity:low severity:LOW", sub(severity="LOW")),
    # events, in their canonical order, de-duplicated
    ("subscribe started", sub(events=("started",))),
    ("subscribe finished", sub(events=("finished",))),
    ("subscribe failed", sub(events=("failed",))),  # the event, not the state
    ("subscribe FAILED", sub(events=("failed",))),
    ("subscribe risks", sub(events=("risks",))),
    ("subscribe risks started", sub(events=("started", "risks"))),
    ("subscribe risks finished failed started", sub(events=ALL_EVENTS)),
    ("subscribe risks risks RISKS", sub(events=("risks",))),
    ("subscribe risks severity:high", sub(severity="HIGH", events=("risks",))),
    # everything at once, in any order
    (
        "subscribe failed target:Shop openvas severity:medium zap risks",
        sub("OPENVAS", "OWASP_ZAP", target="Shop", severity="MEDIUM", events=("failed", "risks")),
    ),
    (
        "subscribe risks SEVERITY:medium OWASP_ZAP failed openvas TARGET:Shop",
        sub("OPENVAS", "OWASP_ZAP", target="Shop", severity="MEDIUM", events=("failed", "risks")),
    ),
    # any whitespace separates words
    ("subscribe\u00a0openvas\trisks\n", sub("OPENVAS", events=("risks",))),
]


@pytest.mark.parametrize(("text", "expected"), SUBSCRIBES)
def test_subscribe(text: str, expected: Subscribe) -> None:
    assert parse_scans_command(text) == expected


def usage(unknown: str | None, suggestion: str | None, reason: str | None) -> SubscribeUsage:
    return SubscribeUsage(unknown=unknown, suggestion=suggestion, reason=reason)


REFUSED_SUBSCRIBES = [
    ("subscribe help", usage(None, None, None)),
    ("subscribe HELP", usage(None, None, None)),
    # by: is refused whatever follows: scans do not carry scheduled_by
    ("subscribe by:alice", usage("by:alice", None, BY_REASON)),
    ("subscribe openvas BY:Alice", usage("BY:Alice", None, BY_REASON)),
    ("subscribe by:", usage("by:", None, BY_REASON)),
    # states are not events; the event most likely meant is offered
    ("subscribe running", usage("running", "started", STATE_REASON)),
    ("subscribe RUNNING", usage("RUNNING", "started", STATE_REASON)),
    ("subscribe queued", usage("queued", "started", STATE_REASON)),
    ("subscribe active", usage("active", "started", STATE_REASON)),
    ("subscribe succeeded", usage("succeeded", "finished", STATE_REASON)),
    ("subscribe over_limit", usage("over_limit", "failed", STATE_REASON)),
    ("subscribe Over-Limit", usage("Over-Limit", "failed", STATE_REASON)),
    ("subscribe problems", usage("problems", "failed", STATE_REASON)),
    ("subscribe risks running", usage("running", "started", STATE_REASON)),
    # target: needs text, one value, within reason
    ("subscribe target:", usage("target:", None, EMPTY_TARGET_REASON)),
    ('subscribe target:""', usage('target:""', None, EMPTY_TARGET_REASON)),
    ("subscribe target:\u201c\u201d", usage("target:\u201c\u201d", None, EMPTY_TARGET_REASON)),
    ("subscribe TARGET:", usage("TARGET:", None, EMPTY_TARGET_REASON)),
    ("subscribe target:a target:b", usage("target:b", None, TWO_TARGETS_REASON)),
    ("subscribe target:a target:A", usage("target:A", None, TWO_TARGETS_REASON)),
    (
        "subscribe target:" + "x" * (MAX_TARGET_TEXT + 1),
        usage("target:" + "x" * (MAX_TARGET_TEXT + 1), None, LONG_TARGET_REASON),
    ),
    # severity: takes three levels, once, and only with risk alerts
    ("subscribe severity:", usage("severity:", None, SEVERITY_REASON)),
    ("subscribe severity:critical", usage("severity:critical", "severity:high", SEVERITY_REASON)),
    ("subscribe severity:hgh", usage("severity:hgh", "severity:high", SEVERITY_REASON)),
    ("subscribe severity:med", usage("severity:med", "severity:medium", SEVERITY_REASON)),
    ("subscribe severity:info", usage("severity:info", "severity:low", SEVERITY_REASON)),
    ("subscribe severity:9", usage("severity:9", None, SEVERITY_REASON)),
    (
        "subscribe severity:low severity:high",
        usage("severity:high", None, TWO_SEVERITIES_REASON),
    ),
    (
        "subscribe started severity:high",
        usage("severity:high", None, SEVERITY_WITHOUT_RISKS_REASON),
    ),
    (
        "subscribe severity:LOW failed finished",
        usage("severity:LOW", None, SEVERITY_WITHOUT_RISKS_REASON),
    ),
    # other words: the nearest valid one, and what subscribe takes
    ("subscribe openvass", usage("openvass", "openvas", SUBSCRIBE_REASON)),
    ("subscribe risk", usage("risk", "risks", SUBSCRIBE_REASON)),
    ("subscribe start", usage("start", "started", SUBSCRIBE_REASON)),
    ("subscribe finish", usage("finish", "finished", SUBSCRIBE_REASON)),
    ("subscribe failures", usage("failures", "failed", SUBSCRIBE_REASON)),
    ("subscribe high", usage("high", "severity:high", SUBSCRIBE_REASON)),
    ("subscribe Critical", usage("Critical", "severity:high", SUBSCRIBE_REASON)),
    ("subscribe sev:high", usage("sev:high", "severity:high", SUBSCRIBE_REASON)),
    ("subscribe severity=Medium", usage("severity=Medium", "severity:medium", SUBSCRIBE_REASON)),
    ("subscribe target=Shop", usage("target=Shop", "target:Shop", SUBSCRIBE_REASON)),
    ("subscribe host:Shop", usage("host:Shop", "target:Shop", SUBSCRIBE_REASON)),
    ("subscribe type:OpenVAS", usage("type:OpenVAS", "openvas", SUBSCRIBE_REASON)),
    ("subscribe event:risks", usage("event:risks", "risks", SUBSCRIBE_REASON)),
    ("subscribe target", usage("target", None, EMPTY_TARGET_REASON)),
    ("subscribe Target shop", usage("Target", None, EMPTY_TARGET_REASON)),
    ("subscribe all", usage("all", None, SUBSCRIBE_REASON)),
    ("subscribe severity:all", usage("severity:all", None, SEVERITY_REASON)),
    ("subscribe subscribe", usage("subscribe", None, SUBSCRIBE_REASON)),
    ("subscribe help openvas", usage("help", None, SUBSCRIBE_REASON)),
    ("subscribe openvas xyzzy risks plugh", usage("xyzzy", None, SUBSCRIBE_REASON)),
    # hostile words are kept raw: escaping is the renderer's job
    ("subscribe <!channel>", usage("<!channel>", None, SUBSCRIBE_REASON)),
    (
        "subscribe <https://evil.example|bank.com>",
        usage("<https://evil.example|bank.com>", None, SUBSCRIBE_REASON),
    ),
    ("subscribe &amp;", usage("&amp;", None, SUBSCRIBE_REASON)),
    ("subscribe \u0440isks", usage("\u0440isks", "risks", SUBSCRIBE_REASON)),  # Cyrillic er
]


@pytest.mark.parametrize(("text", "expected"), REFUSED_SUBSCRIBES)
def test_refused_subscribe(text: str, expected: SubscribeUsage) -> None:
    assert parse_scans_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for t, e in REFUSED_SUBSCRIBES if e.suggestion is not None]
)
def test_every_suggestion_is_valid_where_it_would_stand(
    text: str, expected: SubscribeUsage
) -> None:
    assert expected.unknown is not None
    assert expected.suggestion is not None
    words = text.split()
    words[words.index(expected.unknown)] = expected.suggestion
    assert isinstance(parse_scans_command(" ".join(words)), Subscribe)


def test_every_state_word_that_is_not_an_event_is_refused_with_an_event() -> None:
    states_only = set(STATE_WORDS) - set(EVENT_WORDS)
    assert set(STATE_EVENTS) == states_only
    for word in states_only:
        result = parse_scans_command(f"subscribe {word}")
        assert result == usage(word, STATE_EVENTS[word], STATE_REASON)
        assert STATE_EVENTS[word] in EVENT_WORDS


def test_every_type_word_subscribes() -> None:
    for word, values in TYPE_WORDS.items():
        assert parse_scans_command(f"subscribe {word.upper()}") == sub(*values)


def test_reasons_are_sentences_without_mrkdwn_control_characters() -> None:
    refused = [e for _, e in REFUSED_SUBSCRIBES + UNSUBSCRIBES if isinstance(e, SubscribeUsage)]
    reasons = {e.reason for e in refused if e.reason is not None}
    reasons.add(LONG_ID_REASON)
    for reason in reasons:
        assert reason.endswith(".")
        assert not any(c in reason for c in "<>&")


def test_state_reason_names_every_event() -> None:
    for event in EVENT_WORDS:
        assert f"`{event}`" in STATE_REASON


UNSUBSCRIBES: list[tuple[str, Unsubscribe | SubscribeUsage]] = [
    ("unsubscribe 3", Unsubscribe(3)),
    ("unsubscribe #3", Unsubscribe(3)),
    ("UNSUBSCRIBE #42", Unsubscribe(42)),
    ("unsubscribe 0042", Unsubscribe(42)),
    ("unsubscribe 0", Unsubscribe(0)),
    ("unsubscribe " + "9" * 18, Unsubscribe(int("9" * 18))),
    ("unsubscribe all", Unsubscribe(None)),
    ("unsubscribe ALL", Unsubscribe(None)),
    ("  unsubscribe\tAll\n", Unsubscribe(None)),
    ("unsubscribe", usage(None, None, UNSUBSCRIBE_REASON)),
    ("unsubscribe 3 4", usage("4", None, ONE_ID_REASON)),
    ("unsubscribe all 3", usage("3", None, ONE_ID_REASON)),
    ("unsubscribe #", usage("#", None, UNSUBSCRIBE_REASON)),
    ("unsubscribe ##3", usage("##3", None, UNSUBSCRIBE_REASON)),
    ("unsubscribe -3", usage("-3", None, UNSUBSCRIBE_REASON)),
    ("unsubscribe 3.5", usage("3.5", None, UNSUBSCRIBE_REASON)),
    ("unsubscribe #3.", usage("#3.", "3", UNSUBSCRIBE_REASON)),
    ("unsubscribe 3,", usage("3,", "3", UNSUBSCRIBE_REASON)),
    ("unsubscribe al", usage("al", "all", UNSUBSCRIBE_REASON)),
    ("unsubscribe everything", usage("everything", None, UNSUBSCRIBE_REASON)),
    ("unsubscribe \u0663", usage("\u0663", None, UNSUBSCRIBE_REASON)),  # Arabic-Indic three
    ("unsubscribe \u00b3", usage("\u00b3", None, UNSUBSCRIBE_REASON)),  # superscript three
    ("unsubscribe \uff13", usage("\uff13", None, UNSUBSCRIBE_REASON)),  # full-width three
    ("unsubscribe " + "9" * 19, usage("9" * 19, None, LONG_ID_REASON)),
    # longer than int() takes by default (4,300 digits): refused, never raised
    ("unsubscribe #" + "9" * 5000, usage("#" + "9" * 5000, None, LONG_ID_REASON)),
    ("unsubscribe <!channel>", usage("<!channel>", None, UNSUBSCRIBE_REASON)),
]


@pytest.mark.parametrize(("text", "expected"), UNSUBSCRIBES)
def test_unsubscribe(text: str, expected: Unsubscribe | SubscribeUsage) -> None:
    assert parse_scans_command(text) == expected


SUBSCRIPTIONS: list[tuple[str, ListSubscriptions | SubscribeUsage]] = [
    ("subscriptions", ListSubscriptions()),
    ("SUBSCRIPTIONS", ListSubscriptions()),
    ("\tsubscriptions  ", ListSubscriptions()),
    ("subscriptions all", usage("all", None, SUBSCRIPTIONS_REASON)),
    ("subscriptions <!here> x", usage("<!here>", None, SUBSCRIPTIONS_REASON)),
]


@pytest.mark.parametrize(("text", "expected"), SUBSCRIPTIONS)
def test_subscriptions(text: str, expected: ListSubscriptions | SubscribeUsage) -> None:
    assert parse_scans_command(text) == expected


FIRST_WORD_ONLY: list[tuple[str, ListScans | ShowUsage]] = [
    # a subcommand counts only in first place, as `help` does
    ("running subscribe", ShowUsage(unknown="subscribe")),
    ("openvas unsubscribe 3", ShowUsage(unknown="unsubscribe")),
    ("failed subscriptions", ShowUsage(unknown="subscriptions")),
    # typos of the subcommands get the subcommand when first, nothing later
    ("subscibe", ShowUsage(unknown="subscibe", suggestion="subscribe")),
    ("unsubscibe 3", ShowUsage(unknown="unsubscibe", suggestion="unsubscribe")),
    ("subscription", ShowUsage(unknown="subscription", suggestion="subscriptions")),
    ("running subscibe", ShowUsage(unknown="subscibe", suggestion=None)),
]


@pytest.mark.parametrize(("text", "expected"), FIRST_WORD_ONLY)
def test_subcommands_count_only_first(text: str, expected: ListScans | ShowUsage) -> None:
    assert parse_scans_command(text) == expected


@pytest.mark.parametrize(
    "text", ["subscribe openvas", "unsubscribe all", "subscriptions", "help", "SUBSCRIBE"]
)
def test_a_list_command_never_subscribes(text: str) -> None:
    """A Next button's words go through parse_list_command: no value can subscribe anyone."""
    assert parse_list_command(text) == ShowUsage()


def test_list_commands_are_unchanged() -> None:
    for text in ["", "running openvas by:alice", "failed", "finished problems"]:
        assert parse_list_command(text) == parse_scans_command(text)
        assert isinstance(parse_scans_command(text), ListScans)


# Words valid after `subscribe`, and the whole command's meaning they should produce.
plain_words = [*TYPE_WORDS, *EVENT_WORDS, "severity:high", "severity:medium", "severity:low"]
subscribe_words = st.sampled_from(plain_words).flatmap(lambda w: st.sampled_from([w, w.upper()]))
EMPTY_QUOTES = ('""', "''", "``", "\u201c\u201d", "\u2018\u2019")


@settings(max_examples=150, deadline=None)
@given(st.lists(subscribe_words, max_size=10), st.text(min_size=1, max_size=30))
def test_any_valid_subscribe(words: list[str], target: str) -> None:
    target_word = "target:" + "".join(target.split())
    result = parse_scans_command(" ".join(["subscribe", *words, target_word]))
    severities = {w.lower() for w in words if w.lower().startswith("severity:")}
    events = [e for e in EVENT_WORDS if e in {w.lower() for w in words}] or list(DEFAULT_EVENTS)
    if target_word == "target:" or target_word[7:] in EMPTY_QUOTES:  # word errors come first
        assert result == usage(target_word, None, EMPTY_TARGET_REASON)
        return
    if len(severities) > 1 or (severities and "risks" not in events):
        assert isinstance(result, SubscribeUsage)
        assert result.reason in (TWO_SEVERITIES_REASON, SEVERITY_WITHOUT_RISKS_REASON)
        return
    assert isinstance(result, Subscribe)
    assert result.events == tuple(events)
    assert list(result.types) == sorted(set(result.types))
    assert result.target_contains is not None
    assert result.target_contains in target_word
    assert result.min_severity in (None, "HIGH", "MEDIUM", "LOW")


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["subscribe", "unsubscribe", "subscriptions"]),
    st.lists(st.text(max_size=20), max_size=5),
)
def test_any_words_after_a_subcommand_give_a_command(subcommand: str, words: list[str]) -> None:
    text = " ".join([subcommand, *words])
    result = parse_scans_command(text)
    assert isinstance(result, Subscribe | Unsubscribe | ListSubscriptions | SubscribeUsage)
    if isinstance(result, SubscribeUsage):
        assert result.unknown is None or result.unknown in text.split()
        assert result.suggestion is None or result.suggestion != result.unknown
