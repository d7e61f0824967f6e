"""The guest check the listeners run before showing scan data: members pass, guests,
strangers and people of another workspace are refused, a failed check refuses (fails
closed) without being remembered, answers are cached for a while."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from aiohttp import ClientConnectionError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from scanbot.slack.notifier import Notifier
from scanbot.slack.people import People
from scanbot.slack.sentences import GUEST_REFUSAL, UNVERIFIED

TEAM = "T0HOME"


class Users:
    """users.info over a table of users; `failure` makes the next calls fail."""

    def __init__(self, **users: dict[str, Any]) -> None:
        self.users = users
        self.asked: list[str] = []
        self.failure: Exception | None = None

    async def users_info(self, *, user: str) -> AsyncSlackResponse:
        self.asked.append(user)
        if self.failure is not None:
            raise self.failure
        data = {"ok": True, "user": {"id": user, "team_id": TEAM, **self.users.get(user, {})}}
        return AsyncSlackResponse(
            client=None,
            http_verb="POST",
            api_url="users.info",
            req_args={},
            data=data,
            headers={},
            status_code=200,
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def people(users: Users, clock: Clock | None = None, **options: Any) -> People:
    notifier = Notifier(cast(AsyncWebClient, users))  # the real seam over a fake client
    return People(notifier, monotonic=clock or Clock(), **options)


@pytest.mark.parametrize(
    ("fields", "team_id", "refusal"),
    [
        ({}, TEAM, None),
        ({}, "", None),  # a request without a team names none to compare
        ({"is_restricted": True}, TEAM, GUEST_REFUSAL),
        ({"is_ultra_restricted": True}, TEAM, GUEST_REFUSAL),
        ({"is_stranger": True}, TEAM, GUEST_REFUSAL),
        ({"team_id": "T0OTHER"}, TEAM, GUEST_REFUSAL),  # Slack Connect
    ],
)
async def test_who_may_see_scan_data(
    fields: dict[str, Any], team_id: str, refusal: str | None
) -> None:
    users = Users(U1=fields)
    assert await people(users).refusal("U1", team_id) == refusal
    assert users.asked == ["U1"]


async def test_with_guests_allowed_nobody_is_asked_about() -> None:
    users = Users(U1={"is_restricted": True})
    assert await people(users, allow_guests=True).refusal("U1", TEAM) is None
    assert users.asked == []


async def test_an_answer_is_remembered_for_its_ttl_per_user_and_team() -> None:
    users, clock = Users(U1={}, U2={"is_restricted": True}), Clock()
    check = people(users, clock, ttl=600.0)
    for _ in range(3):
        assert await check.refusal("U1", TEAM) is None
        assert await check.refusal("U2", TEAM) == GUEST_REFUSAL
    assert users.asked == ["U1", "U2"]
    await check.refusal("U1", "T0ELSE")  # another team: asked again
    clock.now += 599.0
    await check.refusal("U1", TEAM)
    assert users.asked == ["U1", "U2", "U1"]
    clock.now += 1.0
    await check.refusal("U1", TEAM)
    assert users.asked == ["U1", "U2", "U1", "U1"]


@pytest.mark.parametrize(
    "failure",
    [
        SlackApiError(
            "missing_scope",
            AsyncSlackResponse(
                client=None,
                http_verb="POST",
                api_url="users.info",
                req_args={},
                data={"ok": False, "error": "missing_scope"},
                headers={},
                status_code=200,
            ),
        ),
        ClientConnectionError("refused"),
        TimeoutError(),
        OSError("unreachable"),
    ],
)
async def test_a_check_that_fails_refuses_and_is_not_remembered(
    failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    users = Users(U1={})
    check = people(users)
    users.failure = failure
    with caplog.at_level(logging.WARNING, logger="scanbot"):
        assert await check.refusal("U1", TEAM) == UNVERIFIED
    assert [r.getMessage()[:17] for r in caplog.records] == ["users.info failed"]
    users.failure = None
    assert await check.refusal("U1", TEAM) is None  # asked again once Slack answers
    assert users.asked == ["U1", "U1"]
