"""What a posture summary says, computed from a stream of risks: pure, no I/O.

`PostureCounter.add` takes one risk at a time and keeps only counts, a per-target tally of
open high risks and the few oldest overdue risks, so 100,000 open risks never sit in
memory at once. Rules:
- open risks are counted by threat level (HIGH, MEDIUM, LOW, anything else as "other");
  risks accepted in HostedScan (`is_accepted`) are counted apart and are never overdue;
- new: open risks first detected at or after `since` (the last summary);
- closed: the last summary's open count + new - open now (None with no last summary);
- overdue: open, not accepted, first detected more than the level's due days ago
  (`DueDays`; an unknown level has the high level's days); a risk with no first-detected
  date cannot be judged and is not overdue;
- top targets: the five with most open high risks (ties by name).
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scanbot.domain.severity import severity_rank
from scanbot.domain.summaries import LEVELS
from scanbot.hostedscan.models import Risk, ScanState

OTHER = "OTHER"
MAX_OVERDUE = 10  # overdue risks a summary lists
MAX_TOP_TARGETS = 5


@dataclass(frozen=True)
class DueDays:
    """Days from first detection until an open risk is overdue, per level."""

    high: int = 7
    medium: int = 30
    low: int = 90

    def of(self, level: str) -> int:
        return {"MEDIUM": self.medium, "LOW": self.low}.get(level, self.high)

    @classmethod
    def parse(cls, text: str) -> DueDays:
        """`high=7,medium=30,low=90` (any subset, any order); ValueError naming the part."""
        days: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            key = name.strip().lower()
            if not sep or key not in ("high", "medium", "low") or not value.strip().isdigit():
                raise ValueError(f"{part!r} is not level=days (high, medium or low)")
            days[key] = int(value)
        return cls(**days)


@dataclass(frozen=True)
class RiskFilter:
    """A summary's filters: scan types (API spellings), text in the target, lowest level."""

    types: tuple[str, ...] = ()
    target_contains: str | None = None
    min_severity: str | None = None

    def matches(self, risk: Risk) -> bool:
        definition = risk.risk_definition
        if self.types and definition.scan_type not in self.types:
            return False
        if self.target_contains is not None:
            where = f"{risk.target}\n{risk.target_label}".casefold()
            if self.target_contains.casefold() not in where:
                return False
        if self.min_severity is not None:
            return severity_rank(definition.threat_level) >= severity_rank(self.min_severity)
        return True


@dataclass(frozen=True)
class OverdueRisk:
    title: str
    target: str
    level: str
    first_detected: datetime
    age_days: int
    due_days: int


@dataclass(frozen=True)
class ScanTally:
    """Scans scanbot saw finish in the period, by outcome."""

    run: int = 0
    failed: int = 0
    over_limit: int = 0

    @classmethod
    def of(cls, by_state: dict[str, int]) -> ScanTally:
        return cls(
            run=sum(by_state.values()),
            failed=by_state.get(ScanState.FAILED.value, 0),
            over_limit=by_state.get(ScanState.OVER_LIMIT.value, 0),
        )


@dataclass(frozen=True)
class Posture:
    """Everything one summary shows."""

    at: datetime
    since: datetime | None
    open_by_level: dict[str, int]  # LEVELS and OTHER, accepted ones not included
    accepted: int
    new: int
    closed: int | None
    overdue_total: int
    overdue: tuple[OverdueRisk, ...]  # oldest first
    top_targets: tuple[tuple[str, int], ...]  # (target, open high risks), most first
    scans: ScanTally = field(default_factory=ScanTally)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_level.values())


class PostureCounter:
    """Feed it risks with `add`; `posture` says what they add up to."""

    def __init__(
        self,
        now: datetime,
        *,
        since: datetime | None = None,
        due: DueDays | None = None,
        risk_filter: RiskFilter | None = None,
    ) -> None:
        self._now = now
        self._since = since
        self._due = due or DueDays()
        self._filter = risk_filter or RiskFilter()
        self._open: Counter[str] = Counter({level: 0 for level in (*LEVELS, OTHER)})
        self._accepted = 0
        self._new = 0
        self._overdue_total = 0
        # A max-heap (by first detection) of the MAX_OVERDUE oldest seen so far.
        self._overdue: list[tuple[float, int, OverdueRisk]] = []
        self._order = itertools.count()
        self._high_by_target: Counter[str] = Counter()

    def add(self, risk: Risk) -> None:
        if not risk.is_open or not self._filter.matches(risk):
            return
        if risk.accepted:
            self._accepted += 1
            return
        raw = risk.risk_definition.threat_level.strip().upper()
        level = raw if raw in LEVELS else OTHER
        self._open[level] += 1
        first = risk.first_detected
        if first is not None and self._since is not None and first >= self._since:
            self._new += 1
        if level == "HIGH":
            self._high_by_target[risk.target or risk.target_label or risk.target_id] += 1
        if first is not None:
            self._check_due(risk, level, first)

    def _check_due(self, risk: Risk, level: str, first: datetime) -> None:
        due_days = self._due.of(level)
        age = self._now - first
        if age <= timedelta(days=due_days):
            return
        self._overdue_total += 1
        key = -first.timestamp()
        if len(self._overdue) == MAX_OVERDUE and key <= self._overdue[0][0]:
            return  # newer than every one kept
        item = OverdueRisk(
            title=risk.risk_definition.title,
            target=risk.target or risk.target_label or risk.target_id,
            level=level if level != OTHER else risk.risk_definition.threat_level,
            first_detected=first,
            age_days=age.days,
            due_days=due_days,
        )
        heapq.heappush(self._overdue, (key, next(self._order), item))
        if len(self._overdue) > MAX_OVERDUE:
            heapq.heappop(self._overdue)

    def posture(
        self, *, previous_open: int | None = None, scans: ScanTally | None = None
    ) -> Posture:
        open_by_level = dict(self._open)
        total = sum(open_by_level.values())
        closed = None if previous_open is None else max(0, previous_open + self._new - total)
        oldest = sorted(self._overdue, key=lambda entry: (-entry[0], entry[1]))
        top = sorted(self._high_by_target.items(), key=lambda kv: (-kv[1], kv[0]))
        return Posture(
            at=self._now,
            since=self._since,
            open_by_level=open_by_level,
            accepted=self._accepted,
            new=self._new,
            closed=closed,
            overdue_total=self._overdue_total,
            overdue=tuple(entry[2] for entry in oldest),
            top_targets=tuple(top[:MAX_TOP_TARGETS]),
            scans=scans or ScanTally(),
        )
