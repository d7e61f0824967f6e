"""The `/scans` subcommands that act on one channel: subscribe, unsubscribe, subscriptions
(alerts) and triage (the channel's unacknowledged alerts)."""

from __future__ import annotations

import logging

from scanbot.scans.parse import (
    ChannelCommand,
    ListSubscriptions,
    ScheduleSummary,
    ShowTriage,
    StopSummary,
    Subscribe,
    SubscribeUsage,
    Unsubscribe,
)
from scanbot.slack import sentences
from scanbot.slack.answers import Reply
from scanbot.slack.cards import home as home_cards
from scanbot.slack.cards import subscriptions as subscription_cards
from scanbot.slack.cards import summaries as summary_cards
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.slack.text import user_mention
from scanbot.store import Store, TooManySubscriptions
from scanbot.summaries.commands import SummaryCommands, user_timezone
from scanbot.triage.service import Triage

log = logging.getLogger(__name__)


class ChannelCommandHandler:
    def __init__(
        self,
        store: Store,
        slack: Notifier,
        triage: Triage,
        *,
        admins: frozenset[str] = frozenset(),
        summary_commands: SummaryCommands | None = None,
    ) -> None:
        self._store = store
        self._slack = slack
        self._triage = triage
        self._admins = admins
        self._summaries = summary_commands or SummaryCommands(store, slack)

    async def handle(self, command: ChannelCommand, channel_id: str, user_id: str) -> Reply:
        if isinstance(command, ShowTriage):
            waiting = await self._triage.unacknowledged(channel_id)
            rows = [(w.summary, w.permalink, w.created_at) for w in waiting]
            return Reply(home_cards.triage_list(channel_id, rows))
        if isinstance(command, SubscribeUsage):
            return Reply(
                subscription_cards.subscribe_usage(
                    command.unknown, command.suggestion, command.reason
                )
            )
        if isinstance(command, ListSubscriptions):
            subscriptions = await self._store.subscriptions.all(channel_id)
            listing = subscription_cards.subscriptions_list(subscriptions)
            schedules = await self._store.summaries.all(channel_id)
            return Reply(summary_cards.with_schedules(listing, schedules))
        if self._admins and user_id not in self._admins:
            who = ", ".join(user_mention(admin) for admin in sorted(self._admins))
            return Reply.failure(sentences.admins_only(who))
        if isinstance(command, Unsubscribe):
            removed = await self._store.subscriptions.remove(channel_id, command.subscription_id)
            return Reply(subscription_cards.unsubscribed(removed, command.subscription_id))
        if isinstance(command, ScheduleSummary | StopSummary):
            return await self._summaries.handle(command, channel_id, user_id)
        return await self._subscribe(command, channel_id, user_id)

    async def _subscribe(self, command: Subscribe, channel_id: str, user_id: str) -> Reply:
        quiet = None if command.quiet is None else command.quiet.words().split("-")
        tz = command.tz
        if quiet is not None and tz is None:
            tz = await user_timezone(self._slack, user_id)
        try:
            subscription = await self._store.subscriptions.add(
                channel_id,
                types=command.types,
                target_contains=command.target_contains,
                min_severity=command.min_severity,
                events=command.events,
                created_by=user_id,
                quiet=None if quiet is None else (quiet[0], quiet[1]),
                quiet_all=command.quiet_all,
                tz=tz,
            )
        except TooManySubscriptions as full:
            return Reply.failure(sentences.too_many_subscriptions(full.limit))
        # Say it in the channel: that also proves scanbot can post there.
        announcement = subscription_cards.subscription_announcement(subscription, user_id)
        try:
            await self._slack.notice(channel_id, announcement)
        except SlackFailure as failure:
            await self._store.subscriptions.remove(channel_id, subscription.id)
            log.warning(
                "subscribing %s failed: scanbot cannot post there (%s)", channel_id, failure.error
            )
            return Reply.failure(sentences.not_subscribed(failure.error))
        return Reply(subscription_cards.subscribed(subscription))
