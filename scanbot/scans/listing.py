"""One screen of a `/scans` answer: the exact totals over every page, and the entries shown."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterable
from dataclasses import dataclass, field

from scanbot.hostedscan.models import Scan
from scanbot.scans.query import ScanQuery

PAGE_SIZE = 10


@dataclass(frozen=True)
class ScanListing:
    query: ScanQuery
    total: int
    entries: tuple[Scan, ...]
    offset: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def next_offset(self) -> int | None:
        """Where the "Next" button continues, or None on the last screen."""
        end = self.offset + len(self.entries)
        return end if end < self.total else None


async def collect_listing(
    scans: AsyncIterable[Scan], query: ScanQuery, *, offset: int = 0, page_size: int = PAGE_SIZE
) -> ScanListing:
    """Stream every scan once, counting all of them but keeping only one screen in memory."""
    by_state: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    entries: list[Scan] = []
    total = 0
    async for scan in scans:
        if offset <= total < offset + page_size:
            entries.append(scan)
        by_state[scan.state] += 1
        by_type[scan.type] += 1
        total += 1
    return ScanListing(query, total, tuple(entries), offset, dict(by_state), dict(by_type))
