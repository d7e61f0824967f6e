"""Triage as the listeners, the channel commands and the alert service call it: one object
over its parts, each in its own module:

- `actions`: what people change from a thread (acknowledge, assign, snooze, mute);
- `lookups`: what they look at, fetched from HostedScan (refresh, risks, a risk, the report);
- `held`: alerts held while a thread was quiet, and snoozes that ended;
- `home`: what waits for people (`/scans triage`, the Home tab).

A click's method never raises: it answers an `Outcome` with one sentence for the clicker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from scanbot.alerts.risks import RiskDetails
from scanbot.domain.clock import utcnow
from scanbot.hostedscan import HostedScanClient
from scanbot.slack.notifier import Notifier
from scanbot.store import Store
from scanbot.triage.actions import Actions, Assigned
from scanbot.triage.held import SCANBOT, HeldAlerts
from scanbot.triage.home import Waiting, WaitingAlert
from scanbot.triage.lookups import Lookups
from scanbot.triage.thread import Outcome, ThreadVoice, TriageRenderer

__all__ = ["SCANBOT", "Outcome", "Triage", "TriageRenderer", "WaitingAlert"]


class Triage:
    def __init__(
        self,
        store: Store,
        slack: Notifier,
        hostedscan: HostedScanClient,
        risk_details: RiskDetails,
        *,
        clock: Callable[[], datetime] = utcnow,
        render: TriageRenderer,
        seal_key: bytes,
        assigned: Assigned | None = None,
    ) -> None:
        """`seal_key` seals what the assign window carries (`actions.seal_key` of a secret
        every replica holds): a form that comes back altered changes nothing. `assigned`
        tells the person assigned (a DM, `summaries.direct`)."""
        voice = ThreadVoice(store, slack)
        self.held = HeldAlerts(voice, render=render, clock=clock)
        self.actions = Actions(
            voice, self.held, render=render, seal_key=seal_key, clock=clock, assigned=assigned
        )
        self.lookups = Lookups(voice, hostedscan, risk_details, render=render, clock=clock)
        self.home_tab = Waiting(store, slack)

    # -- actions --------------------------------------------------------------------------

    async def acknowledge(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.actions.acknowledge(scan_id, channel_id, user_id)

    async def undo_acknowledge(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.actions.undo_acknowledge(scan_id, channel_id, user_id)

    async def open_assign(
        self, trigger_id: str, scan_id: str, channel_id: str, message_ts: str
    ) -> Outcome:
        return await self.actions.open_assign(scan_id, channel_id, trigger_id, message_ts)

    def assign_form(self, private_metadata: str) -> tuple[str, str] | None:
        return self.actions.assign_form(private_metadata)

    async def assign(
        self, scan_id: str, channel_id: str, user_id: str, assignee: str | None, note: str = ""
    ) -> Outcome:
        return await self.actions.assign(scan_id, channel_id, user_id, assignee, note)

    async def snooze(self, scan_id: str, channel_id: str, user_id: str, choice: str) -> Outcome:
        return await self.actions.snooze(scan_id, channel_id, user_id, choice)

    async def unsnooze(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.actions.unsnooze(scan_id, channel_id, user_id)

    async def mute(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.actions.mute(scan_id, channel_id, user_id)

    async def unmute(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.actions.unmute(scan_id, channel_id, user_id)

    # -- lookups --------------------------------------------------------------------------

    async def refresh(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.lookups.refresh(scan_id, channel_id, user_id)

    async def show_risks(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.lookups.show_risks(scan_id, channel_id, user_id)

    async def open_risk(self, trigger_id: str, risk_id: str) -> Outcome:
        return await self.lookups.open_risk(trigger_id, risk_id)

    async def report(self, scan_id: str, channel_id: str, user_id: str) -> Outcome:
        return await self.lookups.report(scan_id, channel_id, user_id)

    # -- held alerts ----------------------------------------------------------------------

    async def release_held(self, now: datetime | None = None) -> int:
        return await self.held.release_held(now)

    async def expire_snoozes(self, now: datetime | None = None) -> int:
        return await self.held.expire_snoozes(now)

    # -- what waits for people ------------------------------------------------------------

    async def unacknowledged(self, channel_id: str) -> list[WaitingAlert]:
        return await self.home_tab.unacknowledged(channel_id)

    async def home(self, user_id: str) -> tuple[list[WaitingAlert], list[WaitingAlert]]:
        return await self.home_tab.home(user_id)
