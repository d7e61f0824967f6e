"""The account's older findings: risks first detected weeks before any listed scan.

A real account's risks outlive the scans that found them, so its risk list reaches back
months while its scan list shows the recent ones. Backlog risk i is drawn from the seed
and i alone (nothing is stored, so 100,000 of them cost no memory): its scan type and
definition, a target from the popular window (a few targets gather many risks), when it
was first detected (up to 16 weeks before time 0, most of them recent), and whether and
when it closes or is accepted, which may lie ahead of the clock.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from scanbot.sandbox.world.catalogue import Catalogue, RiskDefinition
from scanbot.sandbox.world.ids import BACKLOG, IdCodec, mix
from scanbot.sandbox.world.population import TYPE_CDF
from scanbot.sandbox.world.targets import URL_TYPES, Target, pool_target
from scanbot.sandbox.world.vocabulary import SCAN_TYPES

DAY = 86400.0
WEEK = 7 * DAY
OLDEST = 16 * WEEK  # the first detection furthest back
CLOSING_SHARE = 30  # percent of backlog risks that are (or will be) fixed
ACCEPTED_SHARE = 5  # percent that someone accepts in HostedScan
ACCEPT_NOTE = "Accepted risk: tracked in the quarterly review"


class OldFinding(NamedTuple):
    """Backlog risk i, apart from what the clock decides (open or closed, last detected)."""

    scan_type: str
    definition: RiskDefinition
    title: str
    target: Target
    first: float  # simulated seconds, before time 0
    closes_at: float | None
    accepted_at: float | None


class Backlog:
    """`count` older findings of the account, drawn when asked."""

    def __init__(self, ids: IdCodec, catalogue: Catalogue, window: int, count: int) -> None:
        if count < 0:
            raise ValueError("the backlog cannot hold fewer than 0 risks")
        self._ids = ids
        self._catalogue = catalogue
        self._window = window
        self.count = count

    def finding(self, i: int) -> OldFinding:
        h = mix(self._ids.seed, BACKLOG, i)
        g = mix(self._ids.seed, BACKLOG, i, 1)
        cdf_at = bisect.bisect_right(TYPE_CDF, _unit(mix(self._ids.seed, BACKLOG, i, 2), 0))
        scan_type = SCAN_TYPES[min(cdf_at, len(TYPE_CDF) - 1)]
        definition, title = self._catalogue.pick(scan_type, h)
        # Squared: the first few targets of the window gather a large share of the risks.
        index = int(self._window * _unit(g, 0) ** 2)
        target = pool_target(self._ids, index, scan_type in URL_TYPES)
        # Squared too: most first detections are recent, a long tail reaches 16 weeks back.
        first = -(3600.0 + (OLDEST - 3600.0) * _unit(g, 20) ** 2)
        closes_at = None
        if (g >> 40) % 100 < CLOSING_SHARE:
            closes_at = first + DAY * (1.0 + 119.0 * _unit(h, 44))
        accepted_at = None
        if closes_at is None and (g >> 48) % 100 < ACCEPTED_SHARE:
            accepted_at = first + DAY * (1.0 + 13.0 * _unit(g, 52))
        return OldFinding(scan_type, definition, title, target, first, closes_at, accepted_at)


def last_detected(finding: OldFinding, now: float) -> float:
    """The last weekly scan that still found it: before it closed, and not after `now`."""
    end = now if finding.closes_at is None else min(now, finding.closes_at - 1.0)
    weeks = max(0.0, (end - finding.first) // WEEK)
    return finding.first + weeks * WEEK


def _unit(h: int, shift: int) -> float:
    """Twenty bits of `h` from `shift` on, as a number in [0, 1)."""
    return ((h >> shift) & 0xFFFFF) / float(1 << 20)
