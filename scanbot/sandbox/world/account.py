"""`SandboxWorld`: a simulated HostedScan account whose scans queue, run and finish as a clock
moves on; the one object the sandbox's server, its webhooks, the demo and tests talk to.

Pure and deterministic: every answer is a function of the seed, the clock's time, the
writes received and the test controls called so far. The work is done by the modules
beside this one: `table` (the scans' rows), `population` (how they are drawn), `phases`,
`targets` and `registry` (the target list), `risks` and `backlog`, `results`, `scans` (a
scan's JSON), `filters`, `writes` (the write bodies), `quota` and `reports`. `server.py`
puts this behind HTTP.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from scanbot.sandbox.world.backlog import Backlog
from scanbot.sandbox.world.catalogue import load_catalogue
from scanbot.sandbox.world.clock import SimClock, iso
from scanbot.sandbox.world.filters import Filters, matching_scans
from scanbot.sandbox.world.ids import ARRIVALS, POPULATION, POSTS, IdCodec, mix
from scanbot.sandbox.world.population import (
    Arrivals,
    ScanParams,
    initial_population,
    posted,
    target_window,
)
from scanbot.sandbox.world.quota import DEFAULT_PERIOD, PlanQuota
from scanbot.sandbox.world.registry import TargetBook
from scanbot.sandbox.world.reports import Reports, Timing
from scanbot.sandbox.world.results import (
    Finding,
    Report,
    RiskRow,
    render_result,
    render_risk_report,
    result_indexes,
    result_position,
)
from scanbot.sandbox.world.risks import Cursor, RiskFacts, Risks
from scanbot.sandbox.world.scans import scan_json
from scanbot.sandbox.world.table import FixedScan, Override, PostedScan, ScanTable, name_index
from scanbot.sandbox.world.targets import (
    PRIVATE_REASON,
    Target,
    custom_target,
    target_json,
    unreachable,
)
from scanbot.sandbox.world.vocabulary import (
    JSON,
    OVER_LIMIT,
    QUEUED,
    RESULT_TYPES,
    SCAN_TYPES,
    SUCCEEDED,
    THREAT_LEVELS,
)
from scanbot.sandbox.world.writes import (
    REPORT_FORMATS,
    TARGETS_FILTER_KEYS,
    ReportRequest,
    RequestError,
    ScanRequest,
    report_request,
    scan_request,
    target_request,
)

REPORT_ROWS = 500  # risks listed in a report file, worst first


class ReportAnswer(NamedTuple):
    """`GET /v1/reports/:id`: not ready yet, or the file."""

    ready: bool
    content: bytes = b""
    content_type: str = ""


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
        backlog_risks: int = 0,
        quota: int | None = None,
        quota_period: float = DEFAULT_PERIOD,
    ) -> None:
        """`backlog_risks`: older findings listed after the scans' risks, first detected up
        to 16 weeks back (0 keeps the risk list to the scans'). `quota`: scans the API may
        start per `quota_period` simulated seconds, beyond which they end OVER_LIMIT."""
        if scans < 0 or not 0.0 <= active_fraction <= 1.0 or arrivals_per_hour < 0:
            raise ValueError("scans and arrivals_per_hour >= 0, active_fraction in [0, 1]")
        self.seed = seed
        self.clock = clock if clock is not None else SimClock()
        self._window = target_window(scans)
        ids = IdCodec(seed)
        self._table = ScanTable(ids)
        catalogue = load_catalogue()
        backlog = Backlog(ids, catalogue, self._window, backlog_risks)
        self._risks = Risks(self._table, catalogue, backlog)
        self._book = TargetBook(self._table, self._window)
        self._quota = PlanQuota(quota, quota_period)
        self._reports = Reports(ids)
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

    def start_scan(
        self,
        type: str,
        targets: Sequence[str] | None = None,
        *,
        target_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        use_authentication: bool = False,
        scheduled_by: str = "api",
    ) -> str:
        """What `POST /v1/scans` does (see `post_scan`), from arguments; the new scan's id."""
        given = {"targets": targets, "target_ids": target_ids, "tags": tags}
        body: JSON = {key: list(value) for key, value in given.items() if value is not None}
        body["type"] = type
        if use_authentication:
            body["use_authentication"] = True
        return self.post_scan(body, scheduled_by=scheduled_by)

    def post_scan(self, body: Any, *, scheduled_by: str = "api") -> str:
        """`POST /v1/scans`: a new scan, QUEUED, that runs like any other, or RequestError.

        Targets named in `targets` are the account's (created if new); private addresses
        are taken but skipped when it runs. Beyond the plan's quota it ends OVER_LIMIT.
        """
        request = scan_request(body)
        targets = self._scan_targets(request)
        now = self._sync()
        skipped = {t.target_id: PRIVATE_REASON for t in targets if unreachable(t.target)}
        params = posted(
            self._posts,
            self._window,
            type_ix=SCAN_TYPES.index(request.type),
            n_targets=len(targets),
            over_limit=not self._quota.admit(now),
            scans=len(skipped) < len(targets),
        )
        params = params._replace(sched_ix=name_index(self._table.sched_names, scheduled_by))
        seq = self._table.append(params, now)
        self._table.posted[seq] = PostedScan(targets, skipped, request.use_authentication)
        return self._table.scan_id(seq)

    def _scan_targets(self, request: ScanRequest) -> tuple[Target, ...]:
        if request.kind == "targets":
            found = [self._book.adopt(text) for text in request.values]
        elif request.kind == "target_ids":
            found = [self._known_target(target_id) for target_id in request.values]
        else:
            found = self._book.tagged(frozenset(request.values))
            if not found:
                raise RequestError(f"No target has the tag {', '.join(request.values)}")
        return tuple({t.target_id: t for t in found}.values())

    def _known_target(self, target_id: str) -> Target:
        target = self._book.get(target_id)
        if target is None:
            raise RequestError(f"Unknown target id: {target_id[:80]}")
        return target

    def uses_authentication(self, scan_id: str) -> bool:
        """Whether the scan was started with `use_authentication` (it shows in no JSON)."""
        scan = self._table.posted.get(self._existing(scan_id))
        return scan is not None and scan.use_authentication

    def set_quota(self, scans: int | None, period: float = DEFAULT_PERIOD) -> None:
        """The plan's limit from now on: scans started beyond it end OVER_LIMIT."""
        self._quota.set(scans, period)

    def quota_used(self) -> int:
        """Scans started through the API within the quota's current period."""
        return self._quota.used(self._sync())

    # --- Targets ---------------------------------------------------------------------

    def get_target(self, target_id: str) -> JSON | None:
        target = self._book.get(target_id)
        return None if target is None else target_json(target)

    def list_targets(self, filters: Filters | None = None) -> list[JSON]:
        targets, _ = self.target_page(filters, limit=None)
        return targets

    def target_page(
        self, filters: Filters | None, *, before: int | None = None, limit: int | None = 500
    ) -> tuple[list[JSON], int | None]:
        """Targets newest first, as for scans; filters on `id`, `target`, `label`, `tags`."""
        self._sync()
        return self._book.page(filters, before=before, limit=limit)

    def create_target(
        self,
        target: str,
        label: str | None = None,
        tags: Sequence[str] | None = None,
        *,
        upsert: bool = False,
    ) -> JSON:
        """What `POST /v1/targets` does (see `post_target`), from arguments."""
        body: JSON = {"target": target}
        if label is not None:
            body["label"] = label
        if tags is not None:
            body["tags"] = list(tags)
        return self.post_target(body, upsert=upsert)

    def post_target(self, body: Any, *, upsert: bool = False) -> JSON:
        """`POST /v1/targets?upsert=`: the new target, or with `upsert` the existing one
        with the label and tags given; a duplicate without it is a RequestError."""
        request = target_request(body)
        self._sync()
        created = self._book.create(request.target, request.label, request.tags, upsert=upsert)
        return target_json(created)

    # --- Reports ---------------------------------------------------------------------

    def create_report(
        self,
        report_format: str,
        targets_filter: Mapping[str, Sequence[str]] | None = None,
        risks_filter: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        """What `POST /v1/reports` does (see `post_report`), from arguments."""
        body: JSON = {"report_format": report_format}
        for key, value in (("targets_filter", targets_filter), ("risks_filter", risks_filter)):
            if value is not None:
                body[key] = {k: list(v) for k, v in value.items()}
        return self.post_report(body)

    def post_report(self, body: Any) -> str:
        """`POST /v1/reports`: the new report's id; its file comes when it is ready."""
        request = report_request(body)
        filters = dict(request.risks_filter)
        if request.targets_key is not None:
            self._check_report_targets(request)
            filters[TARGETS_FILTER_KEYS[request.targets_key]] = list(request.targets)
        return self._reports.create(request.report_format, filters, _asked(request), self._sync())

    def _check_report_targets(self, request: ReportRequest) -> None:
        if TARGETS_FILTER_KEYS[request.targets_key or ""] == "target_id":
            for target_id in request.targets:
                self._known_target(target_id)
        elif not self._book.tagged(frozenset(request.targets)):
            raise RequestError(f"No target has the tag {', '.join(request.targets)}")

    def get_report(self, report_id: str) -> ReportAnswer | None:
        """`GET /v1/reports/:id`: None for an id it never gave; else not ready (this ask
        counts as a poll) or the file, listing the risks that matched when it was made."""
        job = self._reports.get(report_id)
        if job is None:
            return None
        if not job.poll(self._sync()):
            return ReportAnswer(ready=False)
        rows, total = _worst(self._risks.iterate(job.filters, job.created), REPORT_ROWS)
        content = render_risk_report(job.report_format, job.asked, rows, total)
        return ReportAnswer(True, content, REPORT_FORMATS[job.report_format])

    def set_report_timing(self, *, polls: int = 1, delay: float = 0.0) -> None:
        """Every report made from now on is ready after `polls` "not ready" answers and
        `delay` simulated seconds (the defaults: one such answer, no delay)."""
        self._reports.set_timing(Timing(polls, delay))

    def time_next_report(self, *, polls: int = 1, delay: float = 0.0, never: bool = False) -> None:
        """The next report made gets this timing (slow: many polls or a delay; or never
        ready); each call queues one, for the reports after."""
        self._reports.time_next(Timing(polls, delay, never))

    def release_report(self, report_id: str) -> None:
        """Ready at its next poll, whatever its timing (KeyError for an unknown id)."""
        self._reports.release(report_id)

    def hold_report(self, report_id: str) -> None:
        """Never ready until released (KeyError for an unknown id)."""
        self._reports.hold(report_id)

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
        for text in targets:
            self._book.register(custom_target(self.seed, text))
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


_SEVERITY = {level: rank for rank, level in enumerate(THREAT_LEVELS)}


def _worst(found: Iterable[RiskFacts], limit: int) -> tuple[list[RiskRow], int]:
    """The `limit` most severe risks (oldest first within a level) and how many there were,
    holding no more than `limit` at a time."""
    total = 0

    def counted() -> Iterable[RiskFacts]:
        nonlocal total
        for facts in found:
            total += 1
            yield facts

    worst = heapq.nsmallest(
        limit, counted(), key=lambda f: (-_SEVERITY.get(f.definition.threat_level, -1), f.first)
    )
    rows = [
        RiskRow(
            f.definition.threat_level,
            f.title,
            f.target.target,
            "CLOSED" if f.closed else "OPEN",
            iso(f.first),
        )
        for f in worst
    ]
    return rows, total


def _asked(request: ReportRequest) -> tuple[str, ...]:
    """What a report was asked for, in words, for its header."""
    lines = [f"Format: {request.report_format}"]
    if request.targets_key is not None:
        lines.append(f"Targets ({request.targets_key}): {', '.join(request.targets)}")
    lines += [f"{key}: {', '.join(values)}" for key, values in request.risks_filter.items()]
    return tuple(lines)
