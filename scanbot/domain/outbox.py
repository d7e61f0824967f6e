"""The outbox: one row per alert to deliver, its status, and what a delivery attempt did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from scanbot.domain.events import Alert


class OutboxStatus(StrEnum):
    """Where a row is in its life. Stored as these strings (the `outbox.status` column)."""

    PENDING = "pending"  # waiting for its next attempt (`next_attempt_at`)
    SENDING = "sending"  # a post is under way; a crash leaves it due again
    SENT = "sent"  # posted (a parent or a reply); `ts` is the message
    DIGESTED = "digested"  # posted as part of one digest message
    PARKED = "parked"  # no retry will fix it; `last_error` says why, for an admin
    HELD = "held"  # its thread is snoozed or muted: summarised when it wakes up
    SUMMARIZED = "summarized"  # a held row told in the thread's one summary reply
    # A scheduled posture summary's row (summaries.service delivers it, the alert sender
    # never sees it): queued, then leased by one replica until sent or parked.
    SUMMARY_PENDING = "summary_pending"
    SUMMARY_SENDING = "summary_sending"
    # Held by its subscriptions' quiet hours (summaries.quiet), then released in one
    # message per channel when they end (leased by one replica while it posts).
    QUIET_HELD = "quiet_held"
    QUIET_RELEASING = "quiet_releasing"


# Rows finished with: pruned once old (see the store's housekeeping).
DONE_STATUSES = frozenset(
    {OutboxStatus.SENT, OutboxStatus.DIGESTED, OutboxStatus.PARKED, OutboxStatus.SUMMARIZED}
)


class SendOutcome(StrEnum):
    """What one delivery attempt of a row (or a digest's rows) came to."""

    SENT = "sent"
    RETRY = "retry"  # back to pending, with a later attempt
    PARKED = "parked"  # a permanent refusal
    CHANNEL_GONE = "channel_gone"  # parked, and the channel's subscriptions disabled

    @property
    def is_parked(self) -> bool:
        return self in (SendOutcome.PARKED, SendOutcome.CHANNEL_GONE)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    alert: Alert
    status: OutboxStatus
    attempts: int
    last_error: str | None = None
    ts: str | None = None
    maybe_sent: bool = False  # an earlier post's answer was lost: it may be in Slack
    created_at: datetime | None = None

    @property
    def uncertain(self) -> bool:
        """Whether an earlier post of this row may have reached Slack: its answer was lost,
        or the process died with the row "sending". Look before posting it again."""
        return self.maybe_sent or self.status is OutboxStatus.SENDING
