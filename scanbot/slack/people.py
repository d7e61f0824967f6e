"""Who may see vulnerability data: guests and external (Slack Connect) users may not,
unless SCANBOT_ALLOW_GUESTS is on. One `users.info` per person, cached for a while."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.slack.sentences import GUEST_REFUSAL, UNVERIFIED

log = logging.getLogger(__name__)


class People:
    def __init__(
        self,
        slack: Notifier,
        *,
        allow_guests: bool = False,
        ttl: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slack = slack
        self._allow_guests = allow_guests
        self._ttl = ttl
        self._monotonic = monotonic
        self._members: dict[tuple[str, str], tuple[bool, float]] = {}

    async def refusal(self, user_id: str, team_id: str) -> str | None:
        """None if this person may see scan data; otherwise the sentence to show them."""
        if self._allow_guests:
            return None
        key = (user_id, team_id)
        cached = self._members.get(key)
        if cached is not None and self._monotonic() - cached[1] < self._ttl:
            return None if cached[0] else GUEST_REFUSAL
        try:
            user = await self._slack.user(user_id)
        except SlackFailure as failure:
            log.warning("users.info failed (%s): refusing scan data", failure.wire or failure.error)
            return UNVERIFIED
        member = not (
            user.get("is_restricted")
            or user.get("is_ultra_restricted")
            or user.get("is_stranger")
            or (team_id and user.get("team_id") and user.get("team_id") != team_id)
        )
        self._members[key] = (member, self._monotonic())
        if not member:
            log.info("refused scan data to a guest or external user")
        return None if member else GUEST_REFUSAL
