"""The risks scans find: which definition, target and status each has, and their JSON.

A risk is named by its scan's `seq` and its place `k` in that scan (risk k is detected
when the scan's progress reaches it); everything else is drawn from the seed, so risks
cost nothing until asked for. Risks outlive their scan: a removed scan's risks stay. The
account's older findings (`backlog`) take the place seq -1, older than every scan: they
list after every scan's risks, in their own order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from scanbot.sandbox.world.backlog import ACCEPT_NOTE, Backlog, last_detected
from scanbot.sandbox.world.catalogue import Catalogue, RiskDefinition
from scanbot.sandbox.world.clock import iso
from scanbot.sandbox.world.filters import RISK_FILTER_KEYS, Filters, Parsed, parse_filters
from scanbot.sandbox.world.ids import CARRY, OLD_RISK_ID, RISK, RISK_ID, mix
from scanbot.sandbox.world.table import ScanTable
from scanbot.sandbox.world.targets import NO_TARGET, Target
from scanbot.sandbox.world.vocabulary import FINAL_STATES, JSON

# Where a listing goes on from: the last risk's (seq, k); (BACKLOG_SEQ, i) in the backlog.
Cursor = tuple[int, int]
BACKLOG_SEQ = -1
SCAN_ACCEPT_NOTE = "Accepted risk: behind the VPN"


class RiskFacts(NamedTuple):
    seq: int
    k: int
    definition: RiskDefinition
    title: str
    target: Target
    closed: bool
    accepted: bool
    scan_type: str
    first: float  # simulated seconds: first and last detected, and accepted
    last: float
    accepted_at: float


class Risks:
    """Every risk the account's scans have found so far, looked up, listed and rendered."""

    def __init__(
        self, table: ScanTable, catalogue: Catalogue, backlog: Backlog | None = None
    ) -> None:
        self._table = table
        self._catalogue = catalogue
        self._seed = table.ids.seed
        self._backlog = backlog if backlog is not None else Backlog(table.ids, catalogue, 1, 0)

    def risk_id(self, seq: int, k: int) -> str:
        if seq == BACKLOG_SEQ:
            return self._table.ids.encode(OLD_RISK_ID, k)
        return self._table.ids.encode(RISK_ID, (seq << 16) | k)

    def position(self, risk_id: str, now: float) -> Cursor | None:
        """The (seq, k) of a risk detected by `now`; None for any other id."""
        value = self._table.ids.decode(RISK_ID, risk_id)
        if value is None:
            return self._backlog_position(risk_id, now)
        seq, k = value >> 16, value & 0xFFFF
        if not 0 <= seq < len(self._table) or self._table.created[seq] > now:
            return None
        return (seq, k) if k < self._table.phase(seq, now).visible_risks else None

    def _backlog_position(self, risk_id: str, now: float) -> Cursor | None:
        i = self._table.ids.decode(OLD_RISK_ID, risk_id)
        if i is None or i >= self._backlog.count or self._backlog.finding(i).first > now:
            return None
        return (BACKLOG_SEQ, i)

    def facts(self, seq: int, k: int, now: float) -> RiskFacts:
        if seq == BACKLOG_SEQ:
            return self._old_facts(k, now)
        h = mix(self._seed, RISK, seq, k)
        scan_type = self._table.type_name(seq)
        definition, title = self._catalogue.pick(scan_type, h)
        target = self._table.finding_target(seq, h >> 28) or NO_TARGET
        # Closed only once its scan is over: a risk found by a running scan is still open.
        closed = (h >> 36) % 4 == 0 and self._table.phase(seq, now).state in FINAL_STATES
        accepted = not closed and (h >> 44) % 25 == 0
        first, last = self._scan_detections(seq, k, closed)
        return RiskFacts(
            seq, k, definition, title, target, closed, accepted, scan_type, first, last, last
        )

    def _scan_detections(self, seq: int, k: int, closed: bool) -> tuple[float, float]:
        """When a scan's risk was first and last detected, spread over the scan's run."""
        table = self._table
        n_risks = max(table.n_risks[seq], 1)
        start = table.created[seq] + table.queue_s[seq]
        first = start + table.run_s[seq] * (k + 1) / (n_risks + 1)
        last = start + table.run_s[seq] if closed else first
        return first, max(first, last)

    def _old_facts(self, i: int, now: float) -> RiskFacts:
        old = self._backlog.finding(i)
        closed = old.closes_at is not None and old.closes_at <= now
        accepted_at = old.accepted_at if old.accepted_at is not None else now + 1.0
        accepted = not closed and accepted_at <= now
        target = self._table.current(old.target)
        last = last_detected(old, now)
        return RiskFacts(
            BACKLOG_SEQ,
            i,
            old.definition,
            old.title,
            target,
            closed,
            accepted,
            old.scan_type,
            old.first,
            last,
            accepted_at,
        )

    def detected_at(self, facts: RiskFacts) -> tuple[str, str]:
        """When the risk was first and last detected, as the API writes them."""
        return iso(facts.first), iso(facts.last)

    def to_json(self, facts: RiskFacts, *, listed: bool) -> JSON:
        """The risk as the API shows it in a listing (`listed`) or alone."""
        definition = facts.definition
        first, last = self.detected_at(facts)
        risk_definition: JSON = {
            "scan_type": facts.scan_type,
            "title": facts.title,
            "threat_level": definition.threat_level,
            "description": definition.description,
            "solution": definition.solution,
            "references": list(definition.references),
            "cvss": definition.cvss,
            "additional_info": dict(definition.additional_info),
        }
        risk: JSON = {
            "id": self.risk_id(facts.seq, facts.k),
            "target_id": facts.target.target_id,
            "target": facts.target.target,
            "target_label": facts.target.label,
            "tags": list(facts.target.tags),
            "status": "CLOSED" if facts.closed else "OPEN",
            "is_accepted": facts.accepted,
            "accepted_by": self._acceptance(facts),
        }
        # The service's own samples put these in different places in a list and alone.
        where = risk_definition if listed else risk
        where["first_detected_at"] = first
        where["last_detected_at"] = last
        risk["risk_definition"] = risk_definition
        return risk

    def _acceptance(self, facts: RiskFacts) -> list[JSON]:
        if not facts.accepted:
            return []
        note = ACCEPT_NOTE if facts.seq == BACKLOG_SEQ else SCAN_ACCEPT_NOTE
        when = iso(facts.accepted_at)
        return [{"note": note, "created_at": when, "last_updated_at": when}]

    def page(
        self, filters: Filters | None, now: float, *, after: Cursor | None, limit: int | None
    ) -> tuple[list[JSON], Cursor | None]:
        """Up to `limit` matching risks after `after`, and the cursor (None: no more)."""
        found = self.iterate(filters, now, after=after)
        # One more than asked tells whether any are left.
        chosen = list(itertools.islice(found, None if limit is None else limit + 1))
        cursor: Cursor | None = None
        if limit is not None and len(chosen) > limit:
            chosen = chosen[:limit]
            cursor = (chosen[-1].seq, chosen[-1].k)
        return [self.to_json(f, listed=True) for f in chosen], cursor

    def iterate(
        self, filters: Filters | None, now: float, *, after: Cursor | None = None
    ) -> Iterator[RiskFacts]:
        """Every matching risk after `after`, in listing order, one at a time (the filters
        are checked at once, before the first is asked for)."""
        return self._matching(parse_filters(filters, RISK_FILTER_KEYS), now, after)

    def _matching(self, parsed: Parsed, now: float, after: Cursor | None) -> Iterator[RiskFacts]:
        ids = parsed.get("id")
        if ids is not None:
            positions = sorted(
                (p for p in (self.position(i, now) for i in ids) if p is not None),
                key=lambda p: (-p[0], p[1]),
            )
            if after is not None:
                positions = [p for p in positions if (-p[0], p[1]) > (-after[0], after[1])]
            candidates: Iterable[Cursor] = positions
        else:
            candidates = self._positions(parsed, now, after)
        for seq, k in candidates:
            facts = self.facts(seq, k, now)
            if facts.first > now:  # a backlog risk under a clock started before it
                continue
            if self._matches(facts, parsed):
                yield facts

    def _positions(self, parsed: Parsed, now: float, after: Cursor | None) -> Iterator[Cursor]:
        """Every detected risk's (seq, k): newest scan first, in detection order within one;
        then the backlog's."""
        table = self._table
        scan_types = parsed.get("risk_definition.scan_type")
        top = len(table) if after is None else after[0] + 1
        for seq in range(min(top, len(table)) - 1, -1, -1):
            if table.created[seq] > now or not table.n_risks[seq]:
                continue
            if scan_types is not None and table.type_name(seq) not in scan_types:
                continue
            first = after[1] + 1 if after is not None and seq == after[0] else 0
            for k in range(first, table.phase(seq, now).visible_risks):
                yield seq, k
        first = after[1] + 1 if after is not None and after[0] == BACKLOG_SEQ else 0
        for i in range(first, self._backlog.count):
            yield BACKLOG_SEQ, i

    def _matches(self, facts: RiskFacts, parsed: Parsed) -> bool:
        checks: dict[str, Iterable[str]] = {
            "status": ("CLOSED" if facts.closed else "OPEN",),
            "target_id": (facts.target.target_id,),
            "tags": facts.target.tags,
            "risk_definition.scan_type": (facts.scan_type,),
            "risk_definition.threat_level": (facts.definition.threat_level,),
            "risk_definition.title": (facts.title,),
        }
        for key, values in checks.items():
            wanted = parsed.get(key)
            if wanted is not None and wanted.isdisjoint(values):
                return False
        return True

    def carried(self, seq: int, now: float) -> tuple[list[str], list[str]]:
        """still_open and closed: risks an earlier scan found, this one found again or not."""
        if seq == 0:
            return [], []
        table = self._table
        h = mix(self._seed, CARRY, seq)
        wanted = [False] * (h % 6) + [True] * ((h >> 8) % 3)
        still_open: list[str] = []
        closed: list[str] = []
        seen: set[Cursor] = set()
        for j, want_closed in enumerate(wanted):
            for attempt in range(4):
                c = mix(self._seed, CARRY, seq, j, attempt)
                earlier = seq - 1 - c % min(seq, 50)
                n_risks = table.n_risks[earlier]
                if not n_risks or table.created[earlier] > now:
                    continue
                k = (c >> 16) % n_risks
                if (earlier, k) in seen or k >= table.phase(earlier, now).visible_risks:
                    continue
                if self.facts(earlier, k, now).closed != want_closed:
                    continue
                seen.add((earlier, k))
                (closed if want_closed else still_open).append(self.risk_id(earlier, k))
                break
        return still_open, closed
