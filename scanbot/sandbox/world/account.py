"""`SandboxWorld`: a simulated HostedScan account whose scans queue, run and finish as a clock
moves on; the one object the sandbox's server, its webhooks, the demo and tests talk to.

Pure and deterministic: every answer is a function of the seed, the clock's time and the
test controls called so far. The work is done by the modules beside this one: `table` (the
scans' rows), `population` (how they are drawn), `phases`, `targets`, `risks`, `results`,
`scans` (a scan's JSON) and `filters`. `server.py` puts this behind HTTP.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from scanbot.sandbox.world.catalogue import load_catalogue
from scanbot.sandbox.world.clock import SimClock
from scanbot.sandbox.world.filters import Filters, matching_scans
from scanbot.sandbox.world.ids import ARRIVALS, POPULATION, POSTS, IdCodec, mix
from scanbot.sandbox.world.population import (
    Arrivals,
    ScanParams,
    draw,
    initial_population,
    target_window,
)
from scanbot.sandbox.world.results import (
    Finding,
    Report,
    render_result,
    result_indexes,
    result_position,
)
from scanbot.sandbox.world.risks import Cursor, Risks
from scanbot.sandbox.world.scans import scan_json
from scanbot.sandbox.world.table import FixedScan, Override, ScanTable, name_index
from scanbot.sandbox.world.vocabulary import (
    JSON,
    OVER_LIMIT,
    QUEUED,
    RESULT_TYPES,
    SCAN_TYPES,
    SUCCEEDED,
)


class SandboxWorld:
    """A HostedScan account in simulation: a generated population of scans, and new ones."""

    def __init__(
        self,
        *,
        seed: int = 1,
        scans: int = 300,
        active_fraction: float = 0.05,
        clock: SimClock | None = None,
        arrivals_per_hour: float = 60.0,
    ) -> None:
        if scans < 0 or not 0.0 <= active_fraction <= 1.0 or arrivals_per_hour < 0:
            raise ValueError("scans and arrivals_per_hour >= 0, active_fraction in [0, 1]")
        self.seed = seed
        self.clock = clock if clock is not None else SimClock()
        self._window = target_window(scans)
        self._table = ScanTable(IdCodec(seed))
        self._risks = Risks(self._table, load_catalogue())
        population = random.Random(mix(seed, POPULATION))
        drawn = initial_population(
            scans, active_fraction, arrivals_per_hour, self._window, population
        )
        for created, params in drawn:
            self._table.append(params, created)
        self._arrivals = Arrivals(
            random.Random(mix(seed, ARRIVALS)), arrivals_per_hour, self._window
        )
        self._posts = random.Random(mix(seed, POSTS))

    # --- Queries ---------------------------------------------------------------------

    def list_scans(self, filters: Filters | None = None) -> list[JSON]:
        """Every scan matching `filters` (OR within a key, AND across keys), newest first."""
        scans, _ = self.scan_page(filters, limit=None)
        return scans

    def scan_page(
        self, filters: Filters | None, *, before: int | None = None, limit: int | None = 500
    ) -> tuple[list[JSON], int | None]:
        """Up to `limit` matching scans older than position `before`, and where to go on.

        Positions are creation order, so new scans never shift a page being walked. The
        returned cursor is None when no match is left.
        """
        now = self._sync()
        chosen: list[int] = []
        for seq in matching_scans(self._table, filters, now, before):
            if limit is not None and len(chosen) == limit:
                return [self._scan_json(s, now) for s in chosen], chosen[-1]
            chosen.append(seq)
        return [self._scan_json(s, now) for s in chosen], None

    def count_scans(self, filters: Filters | None = None) -> int:
        """How many scans match, without building any JSON."""
        now = self._sync()
        return sum(1 for _ in matching_scans(self._table, filters, now, None))

    def get_scan(self, scan_id: str) -> JSON | None:
        now = self._sync()
        seq = self._table.seq_of(scan_id, now)
        return None if seq is None else self._scan_json(seq, now)

    def get_risk(self, risk_id: str) -> JSON | None:
        now = self._sync()
        position = self._risks.position(risk_id, now)
        if position is None:
            return None
        return self._risks.to_json(self._risks.facts(*position, now), listed=False)

    def list_risks(self, filters: Filters | None = None) -> list[JSON]:
        risks, _ = self.risk_page(filters, limit=None)
        return risks

    def risk_page(
        self,
        filters: Filters | None,
        *,
        after: Cursor | None = None,
        limit: int | None = 500,
    ) -> tuple[list[JSON], Cursor | None]:
        """Risks newest scan first, in detection order within a scan; cursor as for scans."""
        now = self._sync()
        return self._risks.page(filters, now, after=after, limit=limit)

    def get_result(self, result_id: str) -> tuple[bytes, str] | None:
        """A finished scan's report file and its content type."""
        now = self._sync()
        position = result_position(self._table.ids, result_id)
        if position is None:
            return None
        seq, index = position
        if not self._table.exists(seq, now):
            return None
        phase = self._table.phase(seq, now)
        if index not in result_indexes(phase.state):
            return None
        facts = [self._risks.facts(seq, k, now) for k in range(phase.visible_risks)]
        report = Report(
            scan_id=self._table.scan_id(seq),
            scan_type=self._table.type_name(seq),
            state=phase.state,
            targets=[t.target for t in self._table.targets(seq)],
            findings=[Finding(f.definition.threat_level, f.title, f.target.target) for f in facts],
        )
        return render_result(RESULT_TYPES[index], report), RESULT_TYPES[index]

    # --- Changes ---------------------------------------------------------------------

    def start_scan(self, type: str, targets: Sequence[str], *, scheduled_by: str = "api") -> str:
        """What `POST /v1/scans` does: a new scan that queues, runs and finishes like others."""
        if type not in SCAN_TYPES:
            raise ValueError(f"Unknown scan type: {type}")
        if not targets or not all(isinstance(t, str) and t for t in targets):
            raise ValueError("targets must be a non-empty list of non-empty strings")
        now = self._sync()
        params = draw(
            self._posts, self._window, type_ix=SCAN_TYPES.index(type), n_targets=len(targets)
        )
        params = params._replace(sched_ix=name_index(self._table.sched_names, scheduled_by))
        seq = self._table.append(params, now)
        self._table.custom_targets[seq] = tuple(targets)
        return self._table.scan_id(seq)

    def add_scan(
        self,
        *,
        type: str,
        state: str,
        targets: list[str],
        progress: float | None = None,
        risks: int = 0,
        skipped: Sequence[tuple[str, str]] = (),
        id: str | None = None,
        **extra: object,
    ) -> str:
        """Add a fixed scan that never evolves; any type or state string is accepted.

        `skipped` pairs are (target or target id, reason). `extra` keys are merged into the
        scan's JSON as given (e.g. `results=None`), except `scheduled_by`, which is only
        used for filtering, as the service does.
        """
        now = self._sync()
        table = self._table
        scheduled_by = str(extra.pop("scheduled_by", "api"))
        seq = table.append(
            ScanParams(
                type_ix=name_index(table.type_names, type),
                final_ix=0,
                queue_s=0.0,
                run_s=0.0,
                fail_at=0,
                n_targets=len(targets),
                target_start=0,
                sched_ix=name_index(table.sched_names, scheduled_by),
                n_risks=risks,
            ),
            now,
        )
        if id is not None:
            if id in table.custom_ids or table.seq_of(id, now) is not None:
                raise ValueError(f"a scan with id {id!r} already exists")
            table.custom_ids[id] = seq
        scan_id = id if id is not None else table.scan_id(seq)
        table.custom_targets[seq] = tuple(targets)
        fixed = FixedScan(scan_id, tuple(skipped), dict(extra))
        table.overrides[seq] = Override(state=state, progress=progress, fixed=fixed)
        return scan_id

    def remove_scan(self, scan_id: str) -> None:
        """The scan and its results answer 404 from now on; its risks stay, as risks do."""
        seq = self._existing(scan_id)
        self._table.overrides.setdefault(seq, Override()).removed = True

    def set_state(self, scan_id: str, state: str, progress: float | None = None) -> None:
        """Freeze a scan in `state`; progress defaults to what the state implies."""
        now = self._sync()
        seq = self._existing(scan_id)
        override = self._table.overrides.setdefault(seq, Override())
        if progress is None and override.fixed is None:
            if state == SUCCEEDED:
                progress = 100
            elif state in (QUEUED, OVER_LIMIT):
                progress = 0
            else:
                progress = self._table.phase(seq, now).progress
        override.state = state
        override.progress = progress

    # --- Helpers ---------------------------------------------------------------------

    def _sync(self) -> float:
        """The clock's time, after appending the scans that have arrived by then."""
        now = self.clock.now()
        for created, params in self._arrivals.until(now):
            self._table.append(params, created)
        return now

    def _existing(self, scan_id: str) -> int:
        seq = self._table.seq_of(scan_id, self._sync())
        if seq is None:
            raise KeyError(scan_id)
        return seq

    def _scan_json(self, seq: int, now: float) -> JSON:
        return scan_json(self._table, self._risks, seq, now)
