"""The alert pipeline's health as one value, which `scanbot status` and /healthz both
render (healthz: only the counts without its token; see web.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scanbot.domain.outbox import OutboxRow
from scanbot.domain.subscriptions import Subscription

OK = "ok"
DEGRADED = "degraded"


@dataclass(frozen=True)
class Status:
    database: str  # the dialect: sqlite or postgresql
    leading: bool = False  # this replica polls and sends (a running one; the CLI: False)
    last_cycle_at: str | None = None
    poll_failures: int = 0
    polling_down_since: str | None = None
    sending_paused: str | None = None  # why Slack refused the app
    # Why a post whose answer was lost could not be looked for (then posted again)
    resend_check_unavailable: str | None = None
    outbox: Mapping[str, int] = field(default_factory=dict)  # rows per status
    parked: tuple[OutboxRow, ...] = ()  # newest first, as many as asked for
    subscriptions: tuple[Subscription, ...] = ()

    @property
    def health(self) -> str:
        """ "degraded" while sending is paused or polling is down, else "ok"."""
        return DEGRADED if self.sending_paused or self.polling_down_since else OK

    @property
    def disabled(self) -> tuple[Subscription, ...]:
        return tuple(s for s in self.subscriptions if s.disabled_reason)
