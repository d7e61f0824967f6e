"""Summary schedule cards: scheduled, stopped, listed under the subscriptions; any text."""

from __future__ import annotations

from hypothesis import given

from scanbot.domain.subscriptions import Subscription
from scanbot.domain.summaries import SummarySchedule
from scanbot.slack.cards.subscriptions import describe_subscription, subscriptions_list
from scanbot.slack.cards.summaries import describe_schedule, scheduled, stopped, with_schedules

from ..blockkit import assert_valid_message, readable
from .alert_samples import odd_text

WEEKLY = SummarySchedule(
    id=1, channel_id="C1", period="weekly", weekday=0, at="09:00", tz="Europe/Berlin",
    types=("OPENVAS",), target_contains="shop", min_severity="HIGH",
)  # fmt: skip
DAILY = SummarySchedule(id=2, channel_id="C1", period="daily", at="17:30", tz="UTC")


def test_a_schedule_in_words() -> None:
    assert describe_schedule(DAILY) == "daily at 17:30 (UTC)"
    assert describe_schedule(WEEKLY) == (
        "weekly on Monday at 09:00 (Europe/Berlin), OpenVAS risks, targets containing “shop”, "
        "high severity or higher"
    )


def test_scheduled_and_stopped() -> None:
    answer = scheduled(WEEKLY)
    assert_valid_message(answer)
    assert "weekly on Monday at 09:00" in " ".join(readable(answer["blocks"]))
    for count, words in [(0, "nothing to stop"), (1, "1 scheduled summary"), (2, "2 scheduled")]:
        message = stopped(count)
        assert_valid_message(message)
        assert words in message["text"]


def test_schedules_listed_under_the_subscriptions() -> None:
    subscription = Subscription(
        id=3, channel_id="C1", quiet_start="22:00", quiet_end="07:00", tz="Asia/Tokyo"
    )
    listing = subscriptions_list([subscription])
    assert with_schedules(listing, []) == listing
    both = with_schedules(listing, [DAILY, WEEKLY])
    assert_valid_message(both)
    shown = " ".join(readable(both["blocks"]))
    assert "quiet 22:00-07:00 (Asia/Tokyo)" in shown
    assert "Summary daily at 17:30 (UTC)" in shown
    assert "2 scheduled summaries" in both["text"]
    everything = subscription.model_copy(update={"quiet_all": True})
    assert describe_subscription(everything).endswith("for every alert")


@given(target=odd_text, zone=odd_text)
def test_any_text_is_shown_safely(target: str, zone: str) -> None:
    odd = WEEKLY.model_copy(update={"target_contains": target, "tz": zone})
    assert_valid_message(scheduled(odd))
    assert_valid_message(with_schedules(subscriptions_list([]), [odd] * 12))
