"""The summaries' I/O: stream HostedScan's open risks into a `PostureCounter`."""

from __future__ import annotations

import contextlib
from datetime import datetime

from scanbot.hostedscan import HostedScanClient
from scanbot.summaries.compute import DueDays, Posture, PostureCounter, RiskFilter, ScanTally


async def compute_posture(
    hostedscan: HostedScanClient,
    now: datetime,
    *,
    risk_filter: RiskFilter | None = None,
    since: datetime | None = None,
    previous_open: int | None = None,
    scans: ScanTally | None = None,
    due: DueDays | None = None,
) -> Posture:
    """The posture of every open risk matching `risk_filter`, page by page: the types go
    to the API's filter, the target text and severity are checked here (the API has no
    substring or minimum-level filter)."""
    wanted = risk_filter or RiskFilter()
    counter = PostureCounter(now, since=since, due=due, risk_filter=wanted)
    listing = hostedscan.list_risks(statuses=["OPEN"], scan_types=list(wanted.types))
    async with contextlib.aclosing(listing) as risks:
        async for risk in risks:
            counter.add(risk)
    return counter.posture(previous_open=previous_open, scans=scans)
