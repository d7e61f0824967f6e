"""Who may act on HostedScan through scanbot (start scans, add targets, make reports): the
people and user groups of SCANBOT_OPERATORS, else SCANBOT_ADMINS, else nobody; never guests
or people from other organisations. Group members come from `usergroups.users.list`,
cached for a while; a lookup that fails refuses (acting spends the customer's plan)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from scanbot.slack import sentences
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.slack.people import People

log = logging.getLogger(__name__)

# The refusals, under the names callers and tests read (the words: slack/sentences.py).
ACTIONS_OFF = sentences.ACTIONS_OFF
NOT_AN_OPERATOR = sentences.NOT_AN_OPERATOR
GROUPS_UNVERIFIED = sentences.GROUPS_UNVERIFIED
NO_ADMINS = sentences.NO_ADMINS
admins_only = sentences.admins_only_see


class Permissions:
    def __init__(
        self,
        notifier: Notifier,
        people: People,
        *,
        operators: frozenset[str] = frozenset(),
        admins: frozenset[str] = frozenset(),
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._notifier = notifier
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
            members = await self._notifier.usergroup_members(group)
        except SlackFailure as failure:
            log.warning("usergroups.users.list failed (%s)", failure.error)
            return None
        self._members[group] = (members, self._monotonic())
        return members
