"""The summary as Slack shows it: valid Block Kit, every number said, late and first-time
wording, hostile titles and targets shown literally, within limits at any size."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.domain.events import Alert, EventKind, ScanEvent
from scanbot.domain.scans import ScanSummary
from scanbot.domain.subscriptions import Subscription
from scanbot.domain.summaries import SummarySchedule
from scanbot.summaries.card import NOT_ENOUGH_HISTORY, assigned_dm, posture_summary, quiet_release
from scanbot.summaries.compute import PostureCounter, ScanTally
from tests.slack.blockkit import assert_valid_message, readable
from tests.slack.cards.alert_samples import odd_text
from tests.summaries.risks import NOW, risk

DAILY = SummarySchedule(id=1, channel_id="C1", period="daily", at="09:00", tz="Europe/Berlin")
WEEKLY = DAILY.model_copy(update={"period": "weekly", "weekday": 0})


def shown(message: dict) -> str:  # type: ignore[type-arg]
    return "\n".join(readable(message["blocks"]))


def test_a_summary_says_every_number() -> None:
    counter = PostureCounter(NOW, since=NOW - timedelta(days=1))
    for n, (level, age) in enumerate([("HIGH", 10), ("HIGH", 0.5), ("MEDIUM", 40), ("LOW", 2)]):
        counter.add(risk(n, level, age_days=age, target=f"host{n % 2}.example.com"))
    counter.add(risk(9, "HIGH", accepted=True))
    posture = counter.posture(previous_open=5, scans=ScanTally(run=7, failed=2, over_limit=1))
    message = posture_summary(posture, DAILY, due_at=NOW)
    assert_valid_message(message)
    text = shown(message)
    assert "Daily security summary" in text
    assert "*Open risks:* 4 — 🔴 High *2* · 🟠 Medium *1* · 🟡 Low *1*" in text
    assert "accepted in HostedScan: 1 (not counted)" in text
    assert "*1* new, *2* closed" in text
    assert "7 (2 failed, 1 over limit)" in text
    assert "*Overdue:* 2 open past their due date" in text
    assert "Finding 2 · `host0.example.com` · open 40 days (due within 30)" in text
    assert "`host0.example.com` · 1 open high risk" in text
    assert "Sent late" not in text
    assert message["text"].startswith("Daily security summary: 4 open risks, 1 new, 2 overdue")


def test_first_late_and_without_a_chart() -> None:
    posture = PostureCounter(NOW).posture()
    message = posture_summary(
        posture, WEEKLY, due_at=NOW - timedelta(hours=3), late=True, chart_note=NOT_ENOUGH_HISTORY
    )
    assert_valid_message(message)
    text = shown(message)
    assert "Weekly security summary" in text
    assert "Sent late: it was due" in text
    assert "this is the first one" in text
    assert "trend chart needs at least two days" in text
    assert "No open high risks" in text
    assert "(late)" in message["text"]


@settings(max_examples=40, deadline=None)
@given(title=odd_text, target=odd_text, count=st.integers(0, 30))
def test_any_titles_and_targets_are_shown_safely(title: str, target: str, count: int) -> None:
    counter = PostureCounter(NOW)
    for n in range(count):
        counter.add(risk(n, "HIGH", age_days=100 + n, target=target * (n % 3 + 1), title=title))
    assert_valid_message(posture_summary(counter.posture(), DAILY, due_at=NOW))


def test_many_long_overdue_risks_stay_within_limits() -> None:
    counter = PostureCounter(NOW)
    for n in range(100_000 // 50):
        counter.add(risk(n, "HIGH", age_days=30 + n, target="t" * 300 + str(n), title="x" * 900))
    message = posture_summary(counter.posture(), DAILY, due_at=NOW)
    assert_valid_message(message)
    assert "*Overdue:* 2,000 open past their due date" in shown(message)


@settings(max_examples=30, deadline=None)
@given(
    scan_id=odd_text, permalink=st.one_of(st.none(), st.just("https://x.slack.com/archives/C1/p1"))
)
def test_the_assignees_dm(scan_id: str, permalink: str | None) -> None:
    summary = ScanSummary(scan_id=scan_id, type="OPENVAS", state="SUCCEEDED")
    message = assigned_dm(summary, "C0SECOPS", "U0ALICE", permalink)
    allowed = ["<@U0ALICE>", "<#C0SECOPS>", "<https://x.slack.com/"]
    assert_valid_message(message, allowed_mentions=allowed)
    assert ("Open the alert's thread" in shown(message)) is (permalink is not None)


@settings(max_examples=30, deadline=None)
@given(scan_id=odd_text, count=st.integers(1, 300))
def test_the_quiet_hours_release(scan_id: str, count: int) -> None:
    summary = ScanSummary(scan_id=scan_id, type="NMAP", state="SUCCEEDED")
    alerts = [Alert(channel_id="C1", event=ScanEvent(kind=EventKind.FINISHED, summary=summary))]
    quiet = Subscription(id=1, channel_id="C1", quiet_start="22:00", quiet_end="07:00", tz="UTC")
    message = quiet_release(alerts * count, [quiet])
    assert_valid_message(message)
    assert "Quiet hours (22:00-07:00 (UTC)) are over" in shown(message)
