"""Title, threat level, target and CVSS of newly open risks, at the fewest requests.

A few ids: `GET /v1/risks/:id` each (bounded concurrency, cached). Many ids of one scan
type: page `GET /v1/risks` filtered to open risks of that type and join by id, which
costs ceil(open risks of the type / 500) requests instead of one per id. Whatever cannot
be had is left out: the alert still goes out with the ids and their count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Collection, Mapping

from scanbot.domain.events import RiskDetail
from scanbot.hostedscan import HostedScanClient, HostedScanError, Risk

log = logging.getLogger(__name__)


def detail_of(risk: Risk) -> RiskDetail:
    definition = risk.risk_definition
    return RiskDetail(
        risk_id=risk.id,
        title=definition.title,
        threat_level=definition.threat_level,
        target=risk.target or risk.target_label,
        cvss=definition.cvss,
        accepted=risk.accepted,
    )


class RiskDetails:
    def __init__(
        self,
        hostedscan: HostedScanClient,
        *,
        concurrency: int = 8,
        one_by_one_up_to: int = 20,
        cache_size: int = 20_000,
    ) -> None:
        self._hostedscan = hostedscan
        self._concurrency = concurrency
        self._one_by_one_up_to = one_by_one_up_to
        self._cache: OrderedDict[str, RiskDetail] = OrderedDict()
        self._cache_size = cache_size

    async def fetch(self, ids_by_scan_type: Mapping[str, Collection[str]]) -> dict[str, RiskDetail]:
        """Details for as many of the ids as can be had; never raises for an API failure."""
        found: dict[str, RiskDetail] = {}
        for scan_type, ids in ids_by_scan_type.items():
            wanted = [risk_id for risk_id in ids if risk_id not in found]
            found |= {r: self._cache[r] for r in wanted if r in self._cache}
            missing = [risk_id for risk_id in wanted if risk_id not in found]
            if not missing:
                continue
            try:
                if len(missing) <= self._one_by_one_up_to or not scan_type:
                    fetched = await self._one_by_one(missing)
                else:
                    fetched = await self._by_listing(scan_type, set(missing))
            except HostedScanError as exc:
                log.warning("risk details unavailable for %d risk(s): %s", len(missing), exc)
                continue
            self._remember(fetched)
            found |= fetched
        return found

    async def _one_by_one(self, ids: list[str]) -> dict[str, RiskDetail]:
        limit = asyncio.Semaphore(self._concurrency)

        async def one(risk_id: str) -> RiskDetail | None:
            async with limit:
                try:
                    return detail_of(await self._hostedscan.get_risk(risk_id))
                except HostedScanError as exc:
                    log.info("no details for risk %.40s: %s", risk_id, exc.__class__.__name__)
                    return None

        results = await asyncio.gather(*(one(risk_id) for risk_id in ids))
        return {detail.risk_id: detail for detail in results if detail is not None}

    async def _by_listing(self, scan_type: str, ids: set[str]) -> dict[str, RiskDetail]:
        filters = {"status": ["OPEN"], "risk_definition.scan_type": [scan_type]}
        found: dict[str, RiskDetail] = {}
        async with contextlib.aclosing(self._hostedscan.list_risks(filters)) as risks:
            async for risk in risks:
                if risk.id in ids:
                    found[risk.id] = detail_of(risk)
                    if len(found) == len(ids):
                        break  # no need for the remaining pages
        return found

    def _remember(self, details: Mapping[str, RiskDetail]) -> None:
        self._cache.update(details)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
