"""The Home tab: published for the person who opened it, unless a guest or another tab."""

from __future__ import annotations

import logging

import pytest

from scanbot.domain.scans import ScanSummary
from scanbot.triage.service import WaitingAlert

from ..blockkit import assert_valid_view
from .conftest import ALICE, CHANNEL, GUEST, Harness


async def test_the_home_tab_is_published_for_its_user(harness: Harness) -> None:
    waiting = WaitingAlert(ScanSummary(scan_id="scan-1", state="FAILED"), None, None, CHANNEL)
    harness.triage.waiting = ([], [waiting])
    response = await harness.event({"type": "app_home_opened", "user": ALICE, "tab": "home"})
    assert response.status == 200
    assert harness.triage.calls == [("home", (ALICE,))]
    ((method, call),) = harness.slack.calls
    assert method == "views.publish"
    assert call["user_id"] == ALICE
    assert_valid_view(call["view"], allowed_mentions=[f"<#{CHANNEL}>", f"<@{ALICE}>"])
    assert "scan-1" in str(call["view"])


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_home_opened", "user": ALICE, "tab": "messages"},
        {"type": "app_home_opened", "user": GUEST, "tab": "home"},
    ],
)
async def test_another_tab_or_a_guest_gets_nothing(harness: Harness, event: dict[str, str]) -> None:
    await harness.event(event)
    assert harness.triage.calls == []
    assert harness.slack.calls == []


async def test_a_home_tab_slack_refuses_is_logged_not_raised(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.slack.error = "not_enabled"
    with caplog.at_level(logging.WARNING, logger="scanbot"):
        await harness.event({"type": "app_home_opened", "user": ALICE})
    assert [r.getMessage() for r in caplog.records] == [
        "could not publish the Home tab: not_enabled"
    ]
