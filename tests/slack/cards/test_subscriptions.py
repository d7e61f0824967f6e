"""Subscription cards: subscribed, the channel's announcement, the list, unsubscribed and
the subscribe usage; limits, hostile strings, any input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanbot.domain.events import DEFAULT_EVENTS, SUBSCRIBABLE_EVENTS
from scanbot.domain.subscriptions import Subscription
from scanbot.hostedscan.models import ScanType
from scanbot.scans.parse import SubscribeUsage, parse_scans_command
from scanbot.slack.cards import subscriptions as subscription_cards
from scanbot.slack.cards.subscriptions import (
    describe_subscription,
    subscribe_usage,
    subscribed,
    subscriptions_list,
    unsubscribed,
)

from ..blockkit import assert_valid_message, hidden_characters, rich_markup
from .alert_samples import (
    SETTINGS,
    first_text,
    odd_text,
    subscription,
    subscriptions,
    texts,
    valid,
)

# --- subscriptions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            {"types": ("OPENVAS",), "target_contains": "shop", "min_severity": "MEDIUM"},
            "#3: finished and risks of OpenVAS scans with a target containing “shop”, "
            "risks of medium severity or higher",
        ),
        ({}, "#3: finished and risks of all scans"),
        ({"events": SUBSCRIBABLE_EVENTS}, "#3: started, finished, failed and risks of all scans"),
        ({"events": ("failed",)}, "#3: failed of all scans"),
        ({"events": ()}, "#3: no events of all scans"),
        (
            {"types": ("NMAP", "OWASP_ZAP", "NEW_SCANNER")},
            "#3: finished and risks of NMAP, OWASP ZAP or NEW_SCANNER scans",
        ),
        (
            {"target_contains": "<!channel>", "events": ("<@U1>",)},
            "#3: <@U1> of all scans with a target containing “<!channel>”",  # as shown
        ),
        (
            {"target_contains": "*URGENT*\u202e", "events": ("~x~",)},
            "#3: ~x~ of all scans with a target containing “*URGENT*\N{REPLACEMENT CHARACTER}”",
        ),
        (
            {"min_severity": "HIGH"},
            "#3: finished and risks of all scans, risks of high severity or higher",
        ),
    ],
)
def test_describe_subscription(fields: dict[str, Any], words: str) -> None:
    assert describe_subscription(subscription(**fields)) == words


def test_describe_matches_what_was_parsed() -> None:
    command = parse_scans_command("subscribe openvas target:shop severity:medium")
    assert not isinstance(command, SubscribeUsage)
    fields = vars(command)
    assert describe_subscription(subscription(**fields)) == (
        "#3: finished and risks of OpenVAS scans with a target containing “shop”, "
        "risks of medium severity or higher"
    )


def test_no_subscriptions_says_how_to_subscribe() -> None:
    message = valid(subscriptions_list([]))
    assert message["text"] == "This channel has no alert subscriptions."
    assert "`/scans subscribe`" in texts(message)


def test_subscriptions_list() -> None:
    subs = [
        subscription(id=1, from_env=True),
        subscription(id=4, types=("SSLYZE",), disabled_reason="not_in_channel <!here>"),
    ]
    message = valid(subscriptions_list(subs))
    assert message["blocks"][0]["text"]["text"] == "2 alert subscriptions in this channel"
    assert rich_markup(message["blocks"][1]) == (
        "• #1: finished and risks of all scans (set by `SCANBOT_ALERT_CHANNEL`)\n"
        "• #4: finished and risks of SSLyze scans\n"
        "⏸️ Disabled: not_in_channel <!here>"
    )
    assert message["text"] == "2 alert subscriptions in this channel: #1 and #4"


def test_many_subscriptions_stay_within_limits() -> None:
    long = "<!channel>" * 100
    subs = [
        subscription(
            id=n,
            types=tuple(ScanType),
            target_contains=long,
            min_severity="LOW",
            events=SUBSCRIBABLE_EVENTS,
            disabled_reason=long,
        )
        for n in range(300)
    ]
    message = valid(subscriptions_list(subs))
    assert "more" in texts(message)
    assert "and 290 more" in message["text"]


def test_subscribed() -> None:
    message = valid(subscribed(subscription(events=("risks",), min_severity="HIGH")))
    assert first_text(message) == (
        "✅ Subscribed #3: risks of all scans, risks of high severity or higher.\n"
        "Alerts go to this channel; `/scans unsubscribe 3` stops them."
    )
    assert message["text"] == "Subscribed #3: risks of all scans, risks of high severity or higher."


def test_subscribed_with_a_hostile_target() -> None:
    message = valid(subscribed(subscription(target_contains="<https://evil.example|bank.com>")))
    assert "“&lt;https://evil.example|bank.com&gt;”" in message["text"]


def test_subscription_announcement_names_who_and_what() -> None:
    sub = subscription(target_contains="*shop*\u202e", events=("risks",))
    message = subscription_cards.subscription_announcement(sub, "U0ALICE")
    assert_valid_message(message, allowed_mentions={"<@U0ALICE>"})
    assert first_text(message) == (
        "<@U0ALICE> subscribed this channel to scan alerts: #3: risks of all scans with a "
        "target containing “*shop*\N{REPLACEMENT CHARACTER}”."
    )
    assert message["text"] == (
        "<@U0ALICE> subscribed this channel to scan alerts: #3: risks of all scans with a "
        "target containing “\N{FULLWIDTH ASTERISK}shop\N{FULLWIDTH ASTERISK}"
        "\N{REPLACEMENT CHARACTER}”."
    )
    by_someone_odd = subscription_cards.subscription_announcement(sub, "<!channel>")
    assert_valid_message(by_someone_odd)
    assert first_text(by_someone_odd).startswith("<!channel> subscribed")  # literal text


@pytest.mark.parametrize(
    ("count", "subscription_id", "text"),
    [
        (1, 3, "Unsubscribed #3: no more of its alerts in this channel."),
        (0, 3, "This channel has no subscription #3. `/scans subscriptions` lists them."),
        (5, None, "Unsubscribed all 5 subscriptions: this channel gets no more scan alerts."),
        (1, None, "Unsubscribed this channel's only subscription: no more scan alerts here."),
        (0, None, "This channel had no subscriptions: there was nothing to stop."),
    ],
)
def test_unsubscribed(count: int, subscription_id: int | None, text: str) -> None:
    message = valid(unsubscribed(count, subscription_id))
    assert message["text"] == text
    assert first_text(message) == text


@pytest.mark.parametrize(
    "text",
    [
        "subscribe running",
        "subscribe by:alice",
        "subscribe <!channel>",
        "subscribe target:",
        "subscribe help",
        "unsubscribe",
        "unsubscribe <https://evil.example|bank.com>",
        "subscriptions &",
    ],
)
def test_subscribe_usage_for_what_the_parser_refuses(text: str) -> None:
    usage = parse_scans_command(text)
    assert isinstance(usage, SubscribeUsage)
    message = valid(subscribe_usage(usage.unknown, usage.suggestion, usage.reason))
    assert "/scans subscribe" in message["text"]
    if usage.reason:
        assert usage.reason.split()[-1] in texts(message)


def test_subscribe_usage_names_the_word_and_the_suggestion() -> None:
    message = valid(subscribe_usage("running", "started", "Subscriptions take events."))
    assert first_text(message) == (
        "scanbot cannot use `running` here. Did you mean `started`? Subscriptions take events."
    )
    assert message["text"].startswith(
        "scanbot cannot use “running” here. Did you mean “started”? Subscriptions take events."
    )


def test_subscribe_usage_names_every_event_and_the_default() -> None:
    text = texts(valid(subscribe_usage()))
    for word in SUBSCRIBABLE_EVENTS:
        assert f"`{word}`" in text
    assert " ".join(f"`{e}`" for e in DEFAULT_EVENTS) in text


# --- anything ----------------------------------------------------------------------------


@SETTINGS
@given(st.lists(subscriptions, max_size=60), subscriptions, st.integers(-1, 10**6))
def test_any_subscription_message_is_valid(
    some: list[Subscription], one: Subscription, count: int
) -> None:
    valid(subscriptions_list(some))
    valid(subscribed(one))
    valid(unsubscribed(count, one.id))
    valid(unsubscribed(count, None))
    words = describe_subscription(one)
    assert words.startswith(f"#{one.id}: ")
    assert not hidden_characters({"words": words})


@SETTINGS
@given(st.one_of(st.none(), odd_text), st.one_of(st.none(), odd_text), odd_text)
def test_any_subscribe_usage_is_valid(
    unknown: str | None, suggestion: str | None, text: str
) -> None:
    valid(subscribe_usage(unknown, suggestion, text))
