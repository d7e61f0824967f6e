"""What waits for people: a channel's unacknowledged alerts (`/scans triage`) and a
person's Home tab (assigned to them, unacknowledged in their channels), with permalinks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import AlertThread
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.store import Store

log = logging.getLogger(__name__)

# Slack calls a listener's follow-up may make at once (permalinks for a list).
SLACK_CONCURRENCY = 8


class WaitingAlert(NamedTuple):
    """An alert thread someone should look at: `/scans triage` and the Home tab list these."""

    summary: ScanSummary
    permalink: str | None  # None when Slack would not say
    created_at: datetime | None
    channel_id: str = ""


class Waiting:
    def __init__(self, store: Store, slack: Notifier) -> None:
        self._store = store
        self._slack = slack

    async def unacknowledged(self, channel_id: str) -> list[WaitingAlert]:
        """The channel's alerts nobody acknowledged, oldest first (`/scans triage`)."""
        return await self._waiting(await self._store.threads.unacknowledged(channel_id))

    async def home(self, user_id: str) -> tuple[list[WaitingAlert], list[WaitingAlert]]:
        """The Home tab: alerts assigned to the user, and unacknowledged ones in their
        channels (none when Slack will not say which channels those are)."""
        assigned = await self._store.threads.assigned_to(user_id)
        channels = await self._channels_of(user_id)
        waiting = [
            t for t in await self._store.threads.unacknowledged() if t.channel_id in channels
        ]
        return await self._waiting(assigned), await self._waiting(waiting)

    async def _waiting(self, threads: Sequence[AlertThread]) -> list[WaitingAlert]:
        limit = asyncio.Semaphore(SLACK_CONCURRENCY)

        async def one(thread: AlertThread) -> WaitingAlert:
            async with limit:
                link = await self._permalink(thread)
            return WaitingAlert(thread.summary, link, thread.created_at, thread.channel_id)

        return list(await asyncio.gather(*(one(thread) for thread in threads)))

    async def _permalink(self, thread: AlertThread) -> str | None:
        try:
            return await self._slack.permalink(thread.channel_id, thread.parent_ts)
        except SlackFailure as failure:
            log.info("no permalink for %s in %s: %s", thread.scan_id, thread.channel_id, failure)
            return None

    async def _channels_of(self, user_id: str) -> set[str]:
        try:
            return await self._slack.channels_of(user_id)
        except SlackFailure as failure:
            log.warning("channels of %s unknown, Home shows none of theirs: %s", user_id, failure)
            return set()
