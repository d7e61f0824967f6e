"""`/scans summary …` in a channel or DM: schedule, replace or stop its posture summaries,
in the time zone given (`tz:`) or else the one Slack has for the person who typed it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from scanbot.domain.clock import utcnow
from scanbot.domain.summaries import WEEKLY
from scanbot.scans.parse import ScheduleSummary, SummaryCommand, known_zone
from scanbot.slack.answers import Reply
from scanbot.slack.cards import summaries as summary_cards
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.store import Store

log = logging.getLogger(__name__)

DEFAULT_ZONE = "UTC"


async def user_timezone(slack: Notifier, user_id: str) -> str:
    """The IANA time zone Slack has for `user_id` (`users.info`'s `tz`), else UTC."""
    try:
        user = await slack.user(user_id)
    except SlackFailure as failure:
        log.warning("users.info failed (%s): using UTC", failure.detail)
        return DEFAULT_ZONE
    zone = user.get("tz")
    return zone if isinstance(zone, str) and known_zone(zone) else DEFAULT_ZONE


class SummaryCommands:
    def __init__(
        self,
        store: Store,
        slack: Notifier,
        *,
        changed: Callable[[], Awaitable[object]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._slack = slack
        self._changed = changed  # rebuilds the cron jobs (the service's `sync`)
        self._clock = clock

    async def handle(self, command: SummaryCommand, channel_id: str, user_id: str) -> Reply:
        reply = await self._handle(command, channel_id, user_id)
        if self._changed is not None:
            await self._changed()
        return reply

    async def _handle(self, command: SummaryCommand, channel_id: str, user_id: str) -> Reply:
        if not isinstance(command, ScheduleSummary):
            return Reply(summary_cards.stopped(await self._store.summaries.remove(channel_id)))
        tz = command.tz or await user_timezone(self._slack, user_id)
        schedule = await self._store.summaries.set(
            channel_id,
            period=command.period,
            at=f"{command.at:%H:%M}",
            tz=tz,
            weekday=command.weekday if command.period == WEEKLY else None,
            types=command.types,
            target_contains=command.target_contains,
            min_severity=command.min_severity,
            created_by=user_id,
            now=self._clock(),
        )
        return Reply(summary_cards.scheduled(schedule))
