"""Who may act on HostedScan: operators (people and user groups), else admins, else nobody;
never guests or external people; a group lookup that fails refuses. Against the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.sandbox.slack import FakeSlack
from scanbot.serving import serve_in_background
from scanbot.slack.notifier import Notifier
from scanbot.slack.people import GUEST_REFUSAL, People
from scanbot.slack.permissions import (
    ACTIONS_OFF,
    GROUPS_UNVERIFIED,
    NO_ADMINS,
    NOT_AN_OPERATOR,
    Permissions,
    admins_only,
)

TEAM = "T0FAKE"


@dataclass
class Slack:
    fake: FakeSlack
    client: AsyncWebClient

    def permissions(
        self,
        operators: frozenset[str] = frozenset(),
        admins: frozenset[str] = frozenset(),
        *,
        allow_guests: bool = False,
        now: list[float] | None = None,
    ) -> Permissions:
        clock = now or [0.0]
        people = People(Notifier(self.client), allow_guests=allow_guests)
        return Permissions(
            Notifier(self.client),
            people,
            operators=operators,
            admins=admins,
            monotonic=lambda: clock[0],
        )


@pytest.fixture
async def slack() -> AsyncIterator[Slack]:
    fake = FakeSlack(bot_token="xoxb-permissions")
    async with serve_in_background(fake.app) as url:
        yield Slack(fake, AsyncWebClient(token="xoxb-permissions", base_url=f"{url}/api/"))


async def test_nobody_may_when_neither_setting_is_there(slack: Slack) -> None:
    permissions = slack.permissions()
    assert not permissions.enabled
    assert await permissions.operator_refusal("U0ANY", TEAM) == ACTIONS_OFF
    assert slack.fake.calls == []  # not even a look-up


async def test_admins_only_when_no_operators_are_set(slack: Slack) -> None:
    permissions = slack.permissions(admins=frozenset({"U0ADMIN"}))
    assert await permissions.operator_refusal("U0ADMIN", TEAM) is None
    assert await permissions.operator_refusal("U0ANY", TEAM) == NOT_AN_OPERATOR


async def test_operators_by_id_and_by_group(slack: Slack) -> None:
    slack.fake.usergroups["S0ONCALL"] = ["U0CAROL"]
    permissions = slack.permissions(frozenset({"U0BOB", "S0ONCALL"}), frozenset({"U0ADMIN"}))
    assert await permissions.operator_refusal("U0BOB", TEAM) is None
    assert await permissions.operator_refusal("U0CAROL", TEAM) is None
    # with operators set, an admin is no operator unless listed
    assert await permissions.operator_refusal("U0ADMIN", TEAM) == NOT_AN_OPERATOR
    assert await permissions.operator_refusal("U0DAVE", TEAM) == NOT_AN_OPERATOR


async def test_group_members_are_cached_for_a_while(slack: Slack) -> None:
    slack.fake.usergroups["S0ONCALL"] = ["U0CAROL"]
    now = [0.0]
    permissions = slack.permissions(frozenset({"S0ONCALL"}), now=now)
    for _ in range(3):
        assert await permissions.operator_refusal("U0CAROL", TEAM) is None
    assert len(slack.fake.calls_to("usergroups.users.list")) == 1
    slack.fake.usergroups["S0ONCALL"] = []  # Carol left on-call
    now[0] = 301.0
    assert await permissions.operator_refusal("U0CAROL", TEAM) == NOT_AN_OPERATOR


async def test_a_failed_group_lookup_refuses(slack: Slack) -> None:
    slack.fake.usergroups["S0ONCALL"] = ["U0CAROL"]
    permissions = slack.permissions(frozenset({"S0ONCALL", "U0BOB"}))
    slack.fake.fail_next("usergroups.users.list", error="missing_scope")
    assert await permissions.operator_refusal("U0CAROL", TEAM) == GROUPS_UNVERIFIED
    assert await permissions.operator_refusal("U0BOB", TEAM) is None  # listed by id
    assert await permissions.operator_refusal("U0CAROL", TEAM) is None  # asked again


@pytest.mark.parametrize("allow_guests", [False, True])
async def test_guests_and_external_people_never_may(slack: Slack, allow_guests: bool) -> None:
    slack.fake.guests.add("U0GUEST")
    slack.fake.external.add("U0OTHER")
    slack.fake.usergroups["S0ONCALL"] = ["U0GUEST", "U0OTHER"]
    permissions = slack.permissions(
        frozenset({"S0ONCALL", "U0GUEST"}), frozenset({"U0OTHER"}), allow_guests=allow_guests
    )
    assert await permissions.operator_refusal("U0GUEST", TEAM) == GUEST_REFUSAL
    assert await permissions.operator_refusal("U0OTHER", TEAM) == GUEST_REFUSAL
    assert await permissions.admin_refusal("U0OTHER", TEAM) == GUEST_REFUSAL


async def test_admin_refusals(slack: Slack) -> None:
    assert await slack.permissions().admin_refusal("U0ANY", TEAM) == NO_ADMINS
    permissions = slack.permissions(frozenset({"U0BOB"}), frozenset({"U0ADMIN"}))
    assert await permissions.admin_refusal("U0ADMIN", TEAM) is None
    assert await permissions.admin_refusal("U0BOB", TEAM) == admins_only(frozenset({"U0ADMIN"}))
    assert "<@U0ADMIN>" in admins_only(frozenset({"U0ADMIN"}))
