"""Who may act on HostedScan through scanbot (start scans, add targets, make reports): the
people and user groups of SCANBOT_OPERATORS, else SCANBOT_ADMINS, else nobody; never guests
or people from other organisations. Group members come from `usergroups.users.list`,
cached for a while; a lookup that fails refuses (acting spends the customer's plan)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from scanbot.slack.people import People
from scanbot.slack.text import user_mention

log = logging.getLogger(__name__)

ACTIONS_OFF = (
    "Starting scans, adding targets and making reports from Slack are off. An admin "
    "turns them on by setting `SCANBOT_OPERATORS` (Slack user or user group ids) or "
    "`SCANBOT_ADMINS`, then restarting scanbot."
)
NOT_AN_OPERATOR = (
    "Only scanbot's operators can start scans, add targets or make reports: ask one of them, "
    "or ask an admin to add you to `SCANBOT_OPERATORS`."
)
GROUPS_UNVERIFIED = (
    "scanbot could not check your user groups with Slack just now, so it did nothing. Try "
    "again in a minute; if it keeps happening, ask an admin (scanbot needs `usergroups:read`)."
)
NO_ADMINS = "Only scanbot's admins can see this, and none is set: an admin sets `SCANBOT_ADMINS`."


def admins_only(admins: frozenset[str]) -> str:
    who = ", ".join(user_mention(admin) for admin in sorted(admins))
    return f"Only scanbot's admins can see this: {who}."


class Permissions:
    def __init__(
        self,
        slack: AsyncWebClient,
        people: People,
        *,
        operators: frozenset[str] = frozenset(),
        admins: frozenset[str] = frozenset(),
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slack = slack
        self._people = people
        self._users = frozenset(o for o in operators if not o.startswith("S"))
        self._groups = tuple(sorted(o for o in operators if o.startswith("S")))
        self._admins = admins
        self._ttl = ttl
        self._monotonic = monotonic
        self._members: dict[str, tuple[frozenset[str], float]] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._users or self._groups or self._admins)

    async def operator_refusal(self, user_id: str, team_id: str) -> str | None:
        """None if this person may act on HostedScan; otherwise the sentence to show them."""
        if not self.enabled:
            return ACTIONS_OFF
        refusal = await self._people.refusal(user_id, team_id, always=True)
        if refusal is not None:
            return refusal
        if not (self._users or self._groups):
            return None if user_id in self._admins else NOT_AN_OPERATOR
        if user_id in self._users:
            return None
        unverified = False
        for group in self._groups:
            members = await self._group_members(group)
            if members is None:
                unverified = True
            elif user_id in members:
                return None
        return GROUPS_UNVERIFIED if unverified else NOT_AN_OPERATOR

    async def viewer_refusal(self, user_id: str, team_id: str) -> str | None:
        """None if this person may see HostedScan's data (no guest, no external person)."""
        return await self._people.refusal(user_id, team_id)

    async def admin_refusal(self, user_id: str, team_id: str) -> str | None:
        """None if this person is one of SCANBOT_ADMINS (and a member of this workspace)."""
        if not self._admins:
            return NO_ADMINS
        if user_id not in self._admins:
            return admins_only(self._admins)
        return await self._people.refusal(user_id, team_id, always=True)

    async def _group_members(self, group: str) -> frozenset[str] | None:
        cached = self._members.get(group)
        if cached is not None and self._monotonic() - cached[1] < self._ttl:
            return cached[0]
        try:
            response = await self._slack.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            log.warning("usergroups.users.list failed (%s)", exc.response.get("error"))
            return None
        except (ClientError, TimeoutError, OSError) as exc:
            log.warning("usergroups.users.list failed (%s)", exc.__class__.__name__)
            return None
        users = response.get("users") or []
        members = frozenset(str(u) for u in users if isinstance(u, str))
        self._members[group] = (members, self._monotonic())
        return members
