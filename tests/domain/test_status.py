"""The pipeline's status value: one health rule, and the disabled subscriptions."""

from __future__ import annotations

import pytest

from scanbot.domain.status import DEGRADED, OK, Status
from scanbot.domain.subscriptions import Subscription


@pytest.mark.parametrize(
    ("paused", "down", "health"),
    [
        (None, None, OK),
        ("", "", OK),
        ("token_revoked", None, DEGRADED),
        (None, "2026-11-01T12:00:00+00:00", DEGRADED),
        ("token_revoked", "2026-11-01T12:00:00+00:00", DEGRADED),
    ],
)
def test_degraded_while_sending_is_paused_or_polling_is_down(
    paused: str | None, down: str | None, health: str
) -> None:
    status = Status(database="sqlite", sending_paused=paused, polling_down_since=down)
    assert status.health == health


def test_failures_below_the_notice_leave_it_ok() -> None:
    assert Status(database="sqlite", poll_failures=2).health == OK


def test_disabled_are_the_subscriptions_with_a_reason() -> None:
    on = Subscription(id=1, channel_id="C1")
    off = Subscription(id=2, channel_id="C2", disabled_reason="channel_not_found")
    assert Status(database="sqlite", subscriptions=(on, off)).disabled == (off,)
