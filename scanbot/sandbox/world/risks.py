"""The risks scans find: which definition, target and status each has, and their JSON.

A risk is named by its scan's `seq` and its place `k` in that scan (risk k is detected
when the scan's progress reaches it); everything else is drawn from the seed, so risks
cost nothing until asked for. Risks outlive their scan: a removed scan's risks stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from scanbot.sandbox.world.catalogue import Catalogue, RiskDefinition
from scanbot.sandbox.world.clock import iso
from scanbot.sandbox.world.filters import RISK_FILTER_KEYS, Filters, Parsed, parse_filters
from scanbot.sandbox.world.ids import CARRY, RISK, RISK_ID, mix
from scanbot.sandbox.world.table import ScanTable
from scanbot.sandbox.world.targets import NO_TARGET, Target
from scanbot.sandbox.world.vocabulary import FINAL_STATES, HOSTILE_STRINGS, JSON

# Where a listing goes on from: the last risk's (seq, k).
Cursor = tuple[int, int]


class RiskFacts(NamedTuple):
    seq: int
    k: int
    definition: RiskDefinition
    title: str
    target: Target
    closed: bool
    accepted: bool


class Risks:
    """Every risk the account's scans have found so far, looked up, listed and rendered."""

    def __init__(self, table: ScanTable, catalogue: Catalogue) -> None:
        self._table = table
        self._catalogue = catalogue
        self._seed = table.ids.seed

    def risk_id(self, seq: int, k: int) -> str:
        return self._table.ids.encode(RISK_ID, (seq << 16) | k)

    def position(self, risk_id: str, now: float) -> Cursor | None:
        """The (seq, k) of a risk detected by `now`; None for any other id."""
        value = self._table.ids.decode(RISK_ID, risk_id)
        if value is None:
            return None
        seq, k = value >> 16, value & 0xFFFF
        if not 0 <= seq < len(self._table) or self._table.created[seq] > now:
            return None
        return (seq, k) if k < self._table.phase(seq, now).visible_risks else None

    def facts(self, seq: int, k: int, now: float) -> RiskFacts:
        h = mix(self._seed, RISK, seq, k)
        scan_type = self._table.type_name(seq)
        critical = self._catalogue.critical.get(scan_type)
        if critical is not None and h % 89 == 0:
            definition = critical
        else:
            choices = self._catalogue.for_type(scan_type)
            definition = choices[(h >> 4) % len(choices)]
        title = definition.title
        if (h >> 12) % 41 == 7:
            title = HOSTILE_STRINGS[(h >> 20) % len(HOSTILE_STRINGS)]
        n_targets = self._table.n_targets[seq]
        target = self._table.target_at(seq, (h >> 28) % n_targets) if n_targets else NO_TARGET
        # Closed only once its scan is over: a risk found by a running scan is still open.
        closed = (h >> 36) % 4 == 0 and self._table.phase(seq, now).state in FINAL_STATES
        accepted = not closed and (h >> 44) % 25 == 0
        return RiskFacts(seq, k, definition, title, target, closed, accepted)

    def detected_at(self, facts: RiskFacts) -> tuple[str, str]:
        """When the risk was first and last detected, spread over its scan's run."""
        table, seq = self._table, facts.seq
        n_risks = max(table.n_risks[seq], 1)
        start = table.created[seq] + table.queue_s[seq]
        first = start + table.run_s[seq] * (facts.k + 1) / (n_risks + 1)
        last = start + table.run_s[seq] if facts.closed else first
        return iso(first), iso(max(first, last))

    def to_json(self, facts: RiskFacts, *, listed: bool) -> JSON:
        """The risk as the API shows it in a listing (`listed`) or alone."""
        definition = facts.definition
        first, last = self.detected_at(facts)
        risk_definition: JSON = {
            "scan_type": self._table.type_name(facts.seq),
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
            "accepted_by": (
                [
                    {
                        "note": "Accepted risk: behind the VPN",
                        "created_at": last,
                        "last_updated_at": last,
                    }
                ]
                if facts.accepted
                else []
            ),
        }
        # The service's own samples put these in different places in a list and alone.
        where = risk_definition if listed else risk
        where["first_detected_at"] = first
        where["last_detected_at"] = last
        risk["risk_definition"] = risk_definition
        return risk

    def page(
        self, filters: Filters | None, now: float, *, after: Cursor | None, limit: int | None
    ) -> tuple[list[JSON], Cursor | None]:
        """Up to `limit` matching risks after `after`, and the cursor (None: no more)."""
        parsed = parse_filters(filters, RISK_FILTER_KEYS)
        chosen: list[RiskFacts] = []
        cursor: Cursor | None = None
        for facts in self._matching(parsed, now, after):
            if limit is not None and len(chosen) == limit:
                cursor = (chosen[-1].seq, chosen[-1].k)
                break
            chosen.append(facts)
        return [self.to_json(f, listed=True) for f in chosen], cursor

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
            if self._matches(facts, parsed):
                yield facts

    def _positions(self, parsed: Parsed, now: float, after: Cursor | None) -> Iterator[Cursor]:
        """Every detected risk's (seq, k): newest scan first, in detection order within one."""
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

    def _matches(self, facts: RiskFacts, parsed: Parsed) -> bool:
        checks: dict[str, Iterable[str]] = {
            "status": ("CLOSED" if facts.closed else "OPEN",),
            "target_id": (facts.target.target_id,),
            "tags": facts.target.tags,
            "risk_definition.scan_type": (self._table.type_name(facts.seq),),
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
