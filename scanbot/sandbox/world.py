"""A simulated HostedScan account whose scans queue, run and finish as a clock moves on.

Pure and deterministic: every answer is a function of the seed, the clock's time and the
test hooks called so far. Each scan is a compact parameter record; its JSON is computed on
demand, so 100,000 scans cost a few megabytes. `server.py` puts this behind HTTP.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import json
import math
import random
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from importlib import resources
from typing import Annotated, Any, NamedTuple
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The service's vocabulary is spelled out here, not imported from the client's models: the
# sandbox stands in for the service, so a mistake in the client must not be copied into it.
SCAN_TYPES = ("NMAP", "NMAP_UDP", "OPENVAS", "OWASP_ZAP", "OWASP_ZAP_ACTIVE", "SSLYZE")
QUEUED, RUNNING, SUCCEEDED, FAILED, OVER_LIMIT = (
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "OVER_LIMIT",
)
SCAN_STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, OVER_LIMIT)
THREAT_LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")  # CRITICAL: undocumented, and rare
SCAN_FILTER_KEYS = frozenset({"type", "state", "scheduled_by"})
RISK_FILTER_KEYS = frozenset(
    {
        "id",
        "status",
        "target_id",
        "tags",
        "risk_definition.scan_type",
        "risk_definition.threat_level",
        "risk_definition.title",
    }
)
RESULT_TYPES = ("text/html", "application/pdf", "application/xml", "application/json")

# Strings a renderer must neutralise; a small, fixed share of targets, skipped reasons and
# risk titles is one of these.
HOSTILE_STRINGS = (
    "<!channel>",
    "<!here>",
    "<https://evil.example|bank.com>",
    "*bold* _it_ ~s~ `code`",
    "&amp; & < >",
    ("a-very-long-host-name-" * 14)[:292] + ".example",
    "🔥 déjà-vu 🚀 scan.example.com",
    "\u202emoc.elpmaxe\u202c שלום مرحبا.example",
)
# Pool slots that hold a hostile string, inside the window small scans draw targets from.
_HOSTILE_SLOTS = {5: 0, 37: 1, 71: 2, 101: 3, 139: 4, 167: 5, 199: 6, 233: 7}
_HOSTILE_STRIDE = 4099  # beyond the window, one pool entry in this many is hostile too

# Simulated time 0 as a date, for the `*_detected_at` timestamps.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

JSON = dict[str, Any]
Filters = Mapping[str, Sequence[str]]


class FilterError(ValueError):
    """A filter key the API does not allow, or values that are not a list of strings."""


class SimClock:
    """Simulated seconds: `start` + real elapsed time x `speed` + manual advances."""

    def __init__(
        self,
        start: float = 0.0,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed cannot be negative")
        self._monotonic = monotonic
        self._base = start
        self._anchor = monotonic()
        self._speed = speed

    def now(self) -> float:
        return self._base + (self._monotonic() - self._anchor) * self._speed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._base += seconds

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            raise ValueError("speed cannot be negative")
        # Re-anchor first so the time already elapsed keeps the old speed: no jump.
        self._base = self.now()
        self._anchor = self._monotonic()
        self._speed = value


# --- Deterministic hashing -------------------------------------------------------------

_M64 = (1 << 64) - 1
_ODD = 0x9E37_79B9_7F4A_7C15
_ODD_INVERSE = pow(_ODD, -1, 1 << 64)
_HEX = frozenset("0123456789abcdef")


def _mix(*parts: int) -> int:
    """A 64-bit hash of some integers (splitmix64 steps): cheap, stable across runs."""
    h = 0x2545_F491_4F6C_DD1D
    for part in parts:
        h = ((h ^ (part & _M64)) * 0xBF58_476D_1CE4_E5B9) & _M64
        h ^= h >> 29
        h = (h * 0x94D0_49BB_1331_11EB) & _M64
        h ^= h >> 32
    return h


# Salts keep the hash streams for different attributes independent.
_ID_SCAN, _ID_RISK, _ID_RESULT, _ID_TARGET = 1, 2, 3, 4
_S_POPULATION, _S_ARRIVALS, _S_POSTS, _S_SKIP, _S_RISK, _S_CARRY, _S_POOL = range(10, 17)


def _iso(seconds: float) -> str:
    moment = EPOCH + timedelta(seconds=round(seconds, 3))
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


# --- The catalogue of risk definitions ---------------------------------------------------


class RiskDefinition(BaseModel):
    """One kind of finding: what `risk_definition` says of every risk of this kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    threat_level: str
    cvss: str | None
    description: str
    solution: str
    references: tuple[str, ...]
    additional_info: dict[str, str] = {}

    @field_validator("threat_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level not in THREAT_LEVELS:
            raise ValueError(f"threat_level must be one of {', '.join(THREAT_LEVELS)}")
        return level


class Catalogue(BaseModel):
    """The risk definitions each scan type draws from, and the rare critical ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by_scan_type: dict[str, Annotated[tuple[RiskDefinition, ...], Field(min_length=1)]]
    # Rare, and with a threat level the API does not document.
    critical: dict[str, RiskDefinition]

    @field_validator("by_scan_type", "critical")
    @classmethod
    def _known_types(cls, table: dict[str, object]) -> dict[str, object]:
        unknown = set(table) - set(SCAN_TYPES)
        if unknown:
            raise ValueError(f"unknown scan types: {', '.join(sorted(unknown))}")
        return table

    @cached_property
    def everything(self) -> tuple[RiskDefinition, ...]:
        """What a scan of a type with no definitions of its own draws from."""
        return tuple(d for defs in self.by_scan_type.values() for d in defs)

    def for_type(self, scan_type: str) -> tuple[RiskDefinition, ...]:
        return self.by_scan_type.get(scan_type, self.everything)


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package, read once."""
    text = resources.files("scanbot.sandbox").joinpath("risk_catalogue.json").read_text("utf-8")
    return Catalogue.model_validate_json(text)


# --- How scans are drawn -----------------------------------------------------------------

_TYPE_WEIGHTS = (25, 8, 22, 20, 10, 15)
_FINAL_STATES = (SUCCEEDED, FAILED, OVER_LIMIT)
_FINAL_WEIGHTS = (80, 12, 8)
_SCHEDULERS = ("schedule", "api", "user:alice", "user:bob", "user:carol")
_SCHEDULER_WEIGHTS = (50, 20, 10, 10, 10)
# Seconds a scan of one target runs, by type.
_RUN_SECONDS = {
    "NMAP": (60, 900),
    "NMAP_UDP": (300, 3600),
    "OPENVAS": (1800, 10800),
    "OWASP_ZAP": (300, 2400),
    "OWASP_ZAP_ACTIVE": (1800, 7200),
    "SSLYZE": (30, 300),
}
_MAX_RISKS = {
    "NMAP": 6,
    "NMAP_UDP": 4,
    "OPENVAS": 24,
    "OWASP_ZAP": 16,
    "OWASP_ZAP_ACTIVE": 20,
    "SSLYZE": 5,
}
_URL_TYPES = frozenset({"OWASP_ZAP", "OWASP_ZAP_ACTIVE"})
_POOL_SIZE = 1 << 20
_SKIPPED_REASONS = (
    "Target does not resolve to an IP address",
    "Target is not verified",
    "Private IP addresses cannot be scanned by the cloud scanner",
    "Target is on the account's exclusion list",
    "Connection refused on every port tried",
)
_WORDS = ("www", "api", "shop", "mail", "vpn", "portal", "app", "cdn", "admin", "git", "status")
_DOMAINS = ("example.com", "example.org", "example.net", "acme-corp.example", "staging.example")
_URL_PATHS = ("", "", "login", "app/", "api/v2/")
_TAGS = ("prod", "staging", "external", "internal", "pci")
_LABELS = ("", "", "", "Production web", "Payments", "Office VPN", "Customer portal")


def _cumulative(weights: Sequence[int]) -> list[float]:
    total = float(sum(weights))
    running, out = 0.0, []
    for weight in weights:
        running += weight
        out.append(running / total)
    return out


_TYPE_CDF = _cumulative(_TYPE_WEIGHTS)
_FINAL_CDF = _cumulative(_FINAL_WEIGHTS)
_SCHEDULER_CDF = _cumulative(_SCHEDULER_WEIGHTS)


def _pick(rng: random.Random, cdf: list[float]) -> int:
    return min(bisect.bisect_right(cdf, rng.random()), len(cdf) - 1)


class _Params(NamedTuple):
    type_ix: int
    final_ix: int
    queue_s: float
    run_s: float
    fail_at: int  # the progress at which a FAILED scan stops
    n_targets: int
    target_start: int
    sched_ix: int
    n_risks: int


def _target_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return 1
    if roll < 0.85:
        return rng.randint(2, 5)
    if roll < 0.97:
        return rng.randint(6, 30)
    if roll < 0.995:
        return rng.randint(31, 99)
    return rng.randint(100, 600)


def _run_seconds(rng: random.Random, type_ix: int, n_targets: int) -> float:
    low, high = _RUN_SECONDS[SCAN_TYPES[type_ix]]
    return rng.uniform(low, high) * min(1.0 + n_targets / 20.0, 20.0)


def _draw(
    rng: random.Random,
    window: int,
    *,
    type_ix: int | None = None,
    final_ix: int | None = None,
    n_targets: int | None = None,
) -> _Params:
    """One scan's parameters; the keyword arguments pin some of them."""
    type_ix = _pick(rng, _TYPE_CDF) if type_ix is None else type_ix
    final_ix = _pick(rng, _FINAL_CDF) if final_ix is None else final_ix
    n_targets = _target_count(rng) if n_targets is None else n_targets
    # Small scans reuse a window of popular targets; large ones sweep the whole pool.
    start = rng.randrange(window) if n_targets <= 30 else rng.randrange(_POOL_SIZE)
    over_limit = _FINAL_STATES[final_ix] == OVER_LIMIT
    run_s = 0.0 if over_limit else _run_seconds(rng, type_ix, n_targets)
    max_risks = _MAX_RISKS[SCAN_TYPES[type_ix]] * min(n_targets, 5)
    return _Params(
        type_ix=type_ix,
        final_ix=final_ix,
        queue_s=rng.uniform(5.0, 300.0),
        run_s=run_s,
        fail_at=rng.randint(5, 95),
        n_targets=n_targets,
        target_start=start,
        sched_ix=_pick(rng, _SCHEDULER_CDF),
        n_risks=0 if over_limit else rng.randint(0, max_risks),
    )


# --- Per-scan state that is not a plain parameter ---------------------------------------


@dataclass
class _Override:
    """What the test hooks changed about one scan; most scans have none."""

    removed: bool = False
    state: str | None = None  # set: the scan is frozen in this state
    progress: float | None = None
    fixed: _Fixed | None = None


@dataclass(frozen=True)
class _Fixed:
    """A scan added by `add_scan`: everything about it is given, nothing evolves."""

    scan_id: str
    skipped: tuple[tuple[str, str], ...]
    extra: dict[str, object]


class _Phase(NamedTuple):
    state: str
    progress: float | None
    visible_risks: int  # new_open risks detected so far


class _Target(NamedTuple):
    target_id: str
    target: str
    resolved: str
    label: str
    tags: tuple[str, ...]


class _RiskFacts(NamedTuple):
    seq: int
    k: int
    definition: RiskDefinition
    title: str
    target: _Target
    closed: bool
    accepted: bool


def _visible_for(state: str, progress: float | None, n_risks: int) -> int:
    if state == SUCCEEDED:
        return n_risks
    if state in (QUEUED, OVER_LIMIT):
        return 0
    return min(n_risks, int(n_risks * (progress or 0.0) / 100.0))


class _ScanFilter(NamedTuple):
    types: frozenset[str] | None
    states: frozenset[str] | None
    scheduled_by: frozenset[str] | None


def _parse_filters(filters: Filters | None, allowed: frozenset[str]) -> dict[str, frozenset[str]]:
    """Validated filters; a key with an empty list matches nothing, as `$in: []` would."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise FilterError("filters must be a JSON object")
    parsed: dict[str, frozenset[str]] = {}
    for key, values in filters.items():
        if key not in allowed:
            raise FilterError(f"Unknown filter key: {key}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise FilterError(f"Filter {key} must be a list of strings")
        if not all(isinstance(value, str) for value in values):
            raise FilterError(f"Filter {key} must be a list of strings")
        parsed[key] = frozenset(values)
    return parsed


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
        self._window = max(256, scans // 10)
        self._id_masks = {kind: _mix(seed, kind, 0x1D) for kind in range(1, 5)}
        # Parallel arrays, one entry per scan in creation order (its `seq`).
        self._created: array[float] = array("d")
        self._queue: array[float] = array("d")
        self._run: array[float] = array("d")
        self._type: array[int] = array("H")
        self._final: array[int] = array("B")
        self._fail_at: array[int] = array("B")
        self._n_targets: array[int] = array("H")
        self._target_start: array[int] = array("I")
        self._sched: array[int] = array("H")
        self._n_risks: array[int] = array("H")
        self._type_names: list[str] = list(SCAN_TYPES)
        self._sched_names: list[str] = list(_SCHEDULERS)
        self._overrides: dict[int, _Override] = {}
        self._custom_targets: dict[int, tuple[str, ...]] = {}
        self._custom_ids: dict[str, int] = {}
        self._arrival_rate = arrivals_per_hour / 3600.0
        # History spreads over about as long as the account's usual pace would take.
        span = max(86400.0, scans / max(arrivals_per_hour, 1.0) * 3600.0)
        self._populate(scans, active_fraction, span, random.Random(_mix(seed, _S_POPULATION)))
        self._arrivals = random.Random(_mix(seed, _S_ARRIVALS))
        self._next_arrival = 0.0  # arrivals start after time 0
        self._next_arrival = self._next_gap()
        self._posts = random.Random(_mix(seed, _S_POSTS))

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
        matches = self._matching_scans(filters, now, before)
        chosen: list[int] = []
        for seq in matches:
            if limit is not None and len(chosen) == limit:
                return [self._scan_json(s, now) for s in chosen], chosen[-1]
            chosen.append(seq)
        return [self._scan_json(s, now) for s in chosen], None

    def count_scans(self, filters: Filters | None = None) -> int:
        """How many scans match, without building any JSON."""
        now = self._sync()
        return sum(1 for _ in self._matching_scans(filters, now, None))

    def get_scan(self, scan_id: str) -> JSON | None:
        now = self._sync()
        seq = self._scan_seq(scan_id, now)
        return None if seq is None else self._scan_json(seq, now)

    def get_risk(self, risk_id: str) -> JSON | None:
        now = self._sync()
        position = self._risk_position(risk_id, now)
        if position is None:
            return None
        return self._risk_json(self._risk_facts(*position, now), listed=False)

    def list_risks(self, filters: Filters | None = None) -> list[JSON]:
        risks, _ = self.risk_page(filters, limit=None)
        return risks

    def risk_page(
        self,
        filters: Filters | None,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = 500,
    ) -> tuple[list[JSON], tuple[int, int] | None]:
        """Risks newest scan first, in detection order within a scan; cursor as for scans."""
        now = self._sync()
        parsed = _parse_filters(filters, RISK_FILTER_KEYS)
        chosen: list[_RiskFacts] = []
        cursor: tuple[int, int] | None = None
        for facts in self._matching_risks(parsed, now, after):
            if limit is not None and len(chosen) == limit:
                cursor = (chosen[-1].seq, chosen[-1].k)
                break
            chosen.append(facts)
        return [self._risk_json(f, listed=True) for f in chosen], cursor

    def get_result(self, result_id: str) -> tuple[bytes, str] | None:
        """A finished scan's report file and its content type."""
        now = self._sync()
        value = self._decode(_ID_RESULT, result_id)
        if value is None:
            return None
        seq, index = divmod(value, 4)
        if not self._scan_seq_exists(seq, now):
            return None
        phase = self._phase(seq, now)
        if index not in self._result_indexes(phase.state):
            return None
        return self._render_result(seq, index, phase, now), RESULT_TYPES[index]

    # --- Changes ---------------------------------------------------------------------

    def start_scan(self, type: str, targets: Sequence[str], *, scheduled_by: str = "api") -> str:
        """What `POST /v1/scans` does: a new scan that queues, runs and finishes like others."""
        if type not in SCAN_TYPES:
            raise ValueError(f"Unknown scan type: {type}")
        if not targets or not all(isinstance(t, str) and t for t in targets):
            raise ValueError("targets must be a non-empty list of non-empty strings")
        now = self._sync()
        params = _draw(
            self._posts, self._window, type_ix=SCAN_TYPES.index(type), n_targets=len(targets)
        )
        params = params._replace(sched_ix=self._name_index(self._sched_names, scheduled_by))
        seq = self._append(params, now)
        self._custom_targets[seq] = tuple(targets)
        return self._scan_id(seq)

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
        scheduled_by = str(extra.pop("scheduled_by", "api"))
        seq = self._append(
            _Params(
                type_ix=self._name_index(self._type_names, type),
                final_ix=0,
                queue_s=0.0,
                run_s=0.0,
                fail_at=0,
                n_targets=len(targets),
                target_start=0,
                sched_ix=self._name_index(self._sched_names, scheduled_by),
                n_risks=risks,
            ),
            now,
        )
        if id is not None:
            if id in self._custom_ids or self._scan_seq(id, now) is not None:
                raise ValueError(f"a scan with id {id!r} already exists")
            self._custom_ids[id] = seq
        scan_id = id if id is not None else self._scan_id(seq)
        self._custom_targets[seq] = tuple(targets)
        fixed = _Fixed(scan_id, tuple(skipped), dict(extra))
        self._overrides[seq] = _Override(state=state, progress=progress, fixed=fixed)
        return scan_id

    def remove_scan(self, scan_id: str) -> None:
        """The scan and its results answer 404 from now on; its risks stay, as risks do."""
        seq = self._existing(scan_id)
        self._overrides.setdefault(seq, _Override()).removed = True

    def set_state(self, scan_id: str, state: str, progress: float | None = None) -> None:
        """Freeze a scan in `state`; progress defaults to what the state implies."""
        now = self._sync()
        seq = self._existing(scan_id)
        override = self._overrides.setdefault(seq, _Override())
        if progress is None and override.fixed is None:
            if state == SUCCEEDED:
                progress = 100
            elif state in (QUEUED, OVER_LIMIT):
                progress = 0
            else:
                progress = self._phase(seq, now).progress
        override.state = state
        override.progress = progress

    # --- Population and arrivals -------------------------------------------------------

    def _populate(
        self, count: int, active_fraction: float, span: float, rng: random.Random
    ) -> None:
        """The scans that exist at time 0: most finished, `active_fraction` still going."""
        n_active = round(count * active_fraction)
        hostile_slots = sorted(_HOSTILE_SLOTS)
        drawn: list[tuple[float, _Params]] = []
        for i in range(count):
            # The first few are pinned so every type, state and hostile target shows up.
            type_ix = i if i < len(SCAN_TYPES) else None
            final_ix = (i - n_active) if 0 <= i - n_active < len(_FINAL_STATES) else None
            huge = count >= 50 and i >= count - 2
            n_targets = rng.randint(150, 400) if huge else None
            params = _draw(
                rng, self._window, type_ix=type_ix, final_ix=final_ix, n_targets=n_targets
            )
            if i < len(hostile_slots) and params.n_targets <= 30:
                params = params._replace(target_start=hostile_slots[i])
            if i < n_active:
                created, params = self._active_at_zero(
                    rng, params, queued=self._queued_pick(i, rng)
                )
            else:
                end = -rng.uniform(60.0, span)
                created = end - params.run_s - params.queue_s
            drawn.append((created, params))
        drawn.sort(key=lambda pair: pair[0])
        for created, params in drawn:
            self._append(params, created)

    @staticmethod
    def _queued_pick(i: int, rng: random.Random) -> bool:
        if i < 2:
            return i == 0  # one queued, one running, at least
        return rng.random() < 0.3

    @staticmethod
    def _active_at_zero(
        rng: random.Random, params: _Params, *, queued: bool
    ) -> tuple[float, _Params]:
        if queued:
            return -rng.uniform(0.0, params.queue_s), params
        if _FINAL_STATES[params.final_ix] == OVER_LIMIT:  # never runs: make it one that does
            params = params._replace(
                final_ix=0,
                run_s=_run_seconds(rng, params.type_ix, params.n_targets),
                n_risks=rng.randint(0, _MAX_RISKS[SCAN_TYPES[params.type_ix]]),
            )
        return -params.queue_s - rng.uniform(0.0, params.run_s), params

    def _next_gap(self) -> float:
        if self._arrival_rate <= 0:
            return math.inf
        return self._next_arrival + self._arrivals.expovariate(self._arrival_rate)

    def _sync(self) -> float:
        """The clock's time, after appending the scans that have arrived by then."""
        now = self.clock.now()
        while self._next_arrival <= now:
            self._append(_draw(self._arrivals, self._window), self._next_arrival)
            self._next_arrival = self._next_gap()
        return now

    def _append(self, params: _Params, created: float) -> int:
        self._created.append(created)
        self._queue.append(params.queue_s)
        self._run.append(params.run_s)
        self._type.append(params.type_ix)
        self._final.append(params.final_ix)
        self._fail_at.append(params.fail_at)
        self._n_targets.append(min(params.n_targets, 0xFFFF))
        self._target_start.append(params.target_start)
        self._sched.append(params.sched_ix)
        self._n_risks.append(min(params.n_risks, 0xFFFF))
        return len(self._created) - 1

    @staticmethod
    def _name_index(names: list[str], name: str) -> int:
        try:
            return names.index(name)
        except ValueError:
            names.append(name)
            return len(names) - 1

    # --- Ids ------------------------------------------------------------------------

    def _encode(self, kind: int, value: int) -> str:
        """A 24-hex id, like the service's, that decodes back to `value`."""
        scrambled = ((value * _ODD) & _M64) ^ self._id_masks[kind]
        tag = _mix(self.seed, kind, value) & 0xFFFF_FFFF
        return f"{tag:08x}{scrambled:016x}"

    def _decode(self, kind: int, text: str) -> int | None:
        if len(text) != 24 or not set(text) <= _HEX:
            return None
        value = ((int(text[8:], 16) ^ self._id_masks[kind]) * _ODD_INVERSE) & _M64
        return value if self._encode(kind, value) == text else None

    def _scan_id(self, seq: int) -> str:
        override = self._overrides.get(seq)
        if override is not None and override.fixed is not None:
            return override.fixed.scan_id
        return self._encode(_ID_SCAN, seq)

    def _scan_seq_exists(self, seq: int, now: float) -> bool:
        if not 0 <= seq < len(self._created) or self._created[seq] > now:
            return False
        override = self._overrides.get(seq)
        return override is None or not override.removed

    def _scan_seq(self, scan_id: str, now: float) -> int | None:
        seq = self._custom_ids.get(scan_id)
        if seq is None:
            seq = self._decode(_ID_SCAN, scan_id)
            # A scan added with its own id does not answer to its generated one.
            if seq is None or seq >= len(self._created) or self._scan_id(seq) != scan_id:
                return None
        return seq if self._scan_seq_exists(seq, now) else None

    def _existing(self, scan_id: str) -> int:
        seq = self._scan_seq(scan_id, self._sync())
        if seq is None:
            raise KeyError(scan_id)
        return seq

    # --- State over time -------------------------------------------------------------

    def _phase(self, seq: int, now: float) -> _Phase:
        override = self._overrides.get(seq)
        n_risks = self._n_risks[seq]
        if override is not None and override.state is not None:
            if override.fixed is not None:
                return _Phase(override.state, override.progress, n_risks)
            visible = _visible_for(override.state, override.progress, n_risks)
            return _Phase(override.state, override.progress, visible)
        age = now - self._created[seq]
        queue_s, run_s = self._queue[seq], self._run[seq]
        final = _FINAL_STATES[self._final[seq]]
        if age < queue_s:
            return _Phase(QUEUED, 0, 0)
        stop = self._fail_at[seq] if final == FAILED else 100
        if age < queue_s + run_s:
            done = (age - queue_s) / run_s * stop
            return _Phase(RUNNING, min(int(done), 99), int(n_risks * done / 100.0))
        if final == SUCCEEDED:
            return _Phase(SUCCEEDED, 100, n_risks)
        if final == FAILED:
            return _Phase(FAILED, stop, n_risks * stop // 100)
        return _Phase(OVER_LIMIT, 0, 0)

    def _matching_scans(
        self, filters: Filters | None, now: float, before: int | None
    ) -> Iterator[int]:
        """Positions of matching scans, newest first: the one loop every listing pays for."""
        parsed = _parse_filters(filters, SCAN_FILTER_KEYS)
        types = self._indexes(self._type_names, parsed.get("type"))
        scheds = self._indexes(self._sched_names, parsed.get("scheduled_by"))
        states = parsed.get("state")
        created, queue, run, final = self._created, self._queue, self._run, self._final
        type_of, sched_of, overrides = self._type, self._sched, self._overrides
        top = len(created) if before is None else min(before, len(created))
        for seq in range(top - 1, -1, -1):
            if created[seq] > now:
                continue
            if types is not None and type_of[seq] not in types:
                continue
            if scheds is not None and sched_of[seq] not in scheds:
                continue
            override = overrides.get(seq)
            if override is not None:
                if override.removed:
                    continue
                if states is not None and self._phase(seq, now).state not in states:
                    continue
            elif states is not None:
                # Inlined `_phase`: this test runs for every scan of a filtered listing.
                age = now - created[seq]
                if age < queue[seq]:
                    state = QUEUED
                elif age < queue[seq] + run[seq]:
                    state = RUNNING
                else:
                    state = _FINAL_STATES[final[seq]]
                if state not in states:
                    continue
            yield seq

    @staticmethod
    def _indexes(names: list[str], wanted: frozenset[str] | None) -> frozenset[int] | None:
        if wanted is None:
            return None
        return frozenset(i for i, name in enumerate(names) if name in wanted)

    # --- Targets ---------------------------------------------------------------------

    def _pool_target(self, index: int, as_url: bool) -> _Target:
        """Entry `index` of the account's targets, as a host or (for web scans) a URL."""
        h = _mix(self.seed, _S_POOL, index)
        target_id = self._encode(_ID_TARGET, index * 2 + as_url)
        label = _LABELS[(h >> 40) % len(_LABELS)]
        tags = tuple(tag for bit, tag in enumerate(_TAGS) if (h >> (48 + 2 * bit)) & 3 == 0)
        hostile = _HOSTILE_SLOTS.get(index)
        if hostile is None and index % _HOSTILE_STRIDE == 2047:
            hostile = (index // _HOSTILE_STRIDE) % len(HOSTILE_STRINGS)
        if hostile is not None:
            text = HOSTILE_STRINGS[hostile]
            return _Target(target_id, text, text, label, tags)
        ip = ("203.0.113." if h & 1 else "198.51.100.") + str((h >> 1) % 254 + 1)
        kind = (h >> 8) % 10
        if kind < 6:
            host = f"{_WORDS[(h >> 12) % len(_WORDS)]}-{(h >> 16) % 100}"
            host += f".{_DOMAINS[(h >> 24) % len(_DOMAINS)]}"
        elif kind < 8:
            host = ip
        elif kind < 9:
            host = ip = f"2001:db8::{(h >> 16) % 0xFFFF:x}"
        else:
            host = f"{_WORDS[(h >> 12) % len(_WORDS)]}.eu-{(h >> 16) % 4}.internal.example.com"
        if as_url:
            if ":" in host:
                url = f"http://[{host}]:8080/"
            else:
                url = f"https://{host}/{_URL_PATHS[(h >> 32) % len(_URL_PATHS)]}"
            return _Target(target_id, url, url, label, tags)
        return _Target(target_id, host, ip, label, tags)

    def _custom_target(self, text: str) -> _Target:
        digest = hashlib.blake2b(f"{self.seed}:{text}".encode(), digest_size=12).hexdigest()
        return _Target(digest, text, text, "", ())

    def _target_at(self, seq: int, slot: int) -> _Target:
        custom = self._custom_targets.get(seq)
        if custom is not None:
            return self._custom_target(custom[slot])
        as_url = self._type_names[self._type[seq]] in _URL_TYPES
        return self._pool_target((self._target_start[seq] + slot) % _POOL_SIZE, as_url)

    def _targets(self, seq: int) -> list[_Target]:
        return [self._target_at(seq, slot) for slot in range(self._n_targets[seq])]

    def _skipped(self, seq: int, targets: list[_Target]) -> dict[str, str]:
        """target_id -> why it was skipped."""
        override = self._overrides.get(seq)
        if override is not None and override.fixed is not None:
            by_text = {t.target: t.target_id for t in targets}
            return {by_text.get(key, key): reason for key, reason in override.fixed.skipped}
        skipped: dict[str, str] = {}
        for slot, target in enumerate(targets):
            h = _mix(self.seed, _S_SKIP, seq, slot)
            hostile = target.target in HOSTILE_STRINGS
            if h % 100 < (40 if hostile else 6):
                reasons = HOSTILE_STRINGS if (h >> 8) % 8 == 0 else _SKIPPED_REASONS
                skipped[target.target_id] = reasons[(h >> 16) % len(reasons)]
        return skipped

    # --- Risks -----------------------------------------------------------------------

    def _risk_id(self, seq: int, k: int) -> str:
        return self._encode(_ID_RISK, (seq << 16) | k)

    def _risk_position(self, risk_id: str, now: float) -> tuple[int, int] | None:
        value = self._decode(_ID_RISK, risk_id)
        if value is None:
            return None
        seq, k = value >> 16, value & 0xFFFF
        if not 0 <= seq < len(self._created) or self._created[seq] > now:
            return None
        return (seq, k) if k < self._phase(seq, now).visible_risks else None

    def _risk_facts(self, seq: int, k: int, now: float) -> _RiskFacts:
        h = _mix(self.seed, _S_RISK, seq, k)
        scan_type = self._type_names[self._type[seq]]
        catalogue = load_catalogue()
        critical = catalogue.critical.get(scan_type)
        if critical is not None and h % 89 == 0:
            definition = critical
        else:
            choices = catalogue.for_type(scan_type)
            definition = choices[(h >> 4) % len(choices)]
        title = definition.title
        if (h >> 12) % 41 == 7:
            title = HOSTILE_STRINGS[(h >> 20) % len(HOSTILE_STRINGS)]
        n_targets = self._n_targets[seq]
        target = (
            self._target_at(seq, (h >> 28) % n_targets)
            if n_targets
            else _Target("", "", "", "", ())
        )
        # Closed only once its scan is over: a risk found by a running scan is still open.
        closed = (h >> 36) % 4 == 0 and self._phase(seq, now).state in _FINAL_STATES
        accepted = not closed and (h >> 44) % 25 == 0
        return _RiskFacts(seq, k, definition, title, target, closed, accepted)

    def _detected_at(self, facts: _RiskFacts) -> tuple[str, str]:
        seq = facts.seq
        n_risks = max(self._n_risks[seq], 1)
        start = self._created[seq] + self._queue[seq]
        first = start + self._run[seq] * (facts.k + 1) / (n_risks + 1)
        last = start + self._run[seq] if facts.closed else first
        return _iso(first), _iso(max(first, last))

    def _risk_json(self, facts: _RiskFacts, *, listed: bool) -> JSON:
        definition = facts.definition
        first, last = self._detected_at(facts)
        risk_definition: JSON = {
            "scan_type": self._type_names[self._type[facts.seq]],
            "title": facts.title,
            "threat_level": definition.threat_level,
            "description": definition.description,
            "solution": definition.solution,
            "references": list(definition.references),
            "cvss": definition.cvss,
            "additional_info": dict(definition.additional_info),
        }
        risk: JSON = {
            "id": self._risk_id(facts.seq, facts.k),
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

    def _matching_risks(
        self, parsed: dict[str, frozenset[str]], now: float, after: tuple[int, int] | None
    ) -> Iterator[_RiskFacts]:
        ids = parsed.get("id")
        if ids is not None:
            positions = sorted(
                (p for p in (self._risk_position(i, now) for i in ids) if p is not None),
                key=lambda p: (-p[0], p[1]),
            )
            if after is not None:
                positions = [p for p in positions if (-p[0], p[1]) > (-after[0], after[1])]
            candidates: Iterable[tuple[int, int]] = positions
        else:
            candidates = self._risk_positions(parsed, now, after)
        for seq, k in candidates:
            facts = self._risk_facts(seq, k, now)
            if self._risk_matches(facts, parsed):
                yield facts

    def _risk_positions(
        self, parsed: dict[str, frozenset[str]], now: float, after: tuple[int, int] | None
    ) -> Iterator[tuple[int, int]]:
        scan_types = parsed.get("risk_definition.scan_type")
        top = len(self._created) if after is None else after[0] + 1
        for seq in range(min(top, len(self._created)) - 1, -1, -1):
            if self._created[seq] > now or not self._n_risks[seq]:
                continue
            if scan_types is not None and self._type_names[self._type[seq]] not in scan_types:
                continue
            first = after[1] + 1 if after is not None and seq == after[0] else 0
            for k in range(first, self._phase(seq, now).visible_risks):
                yield seq, k

    def _risk_matches(self, facts: _RiskFacts, parsed: dict[str, frozenset[str]]) -> bool:
        checks: dict[str, Iterable[str]] = {
            "status": ("CLOSED" if facts.closed else "OPEN",),
            "target_id": (facts.target.target_id,),
            "tags": facts.target.tags,
            "risk_definition.scan_type": (self._type_names[self._type[facts.seq]],),
            "risk_definition.threat_level": (facts.definition.threat_level,),
            "risk_definition.title": (facts.title,),
        }
        for key, values in checks.items():
            wanted = parsed.get(key)
            if wanted is not None and wanted.isdisjoint(values):
                return False
        return True

    def _carried_risks(self, seq: int, now: float) -> tuple[list[str], list[str]]:
        """still_open and closed: risks an earlier scan found, this one found again or not."""
        if seq == 0:
            return [], []
        h = _mix(self.seed, _S_CARRY, seq)
        wanted = [False] * (h % 6) + [True] * ((h >> 8) % 3)
        still_open: list[str] = []
        closed: list[str] = []
        seen: set[tuple[int, int]] = set()
        for j, want_closed in enumerate(wanted):
            for attempt in range(4):
                c = _mix(self.seed, _S_CARRY, seq, j, attempt)
                earlier = seq - 1 - c % min(seq, 50)
                n_risks = self._n_risks[earlier]
                if not n_risks or self._created[earlier] > now:
                    continue
                k = (c >> 16) % n_risks
                if (earlier, k) in seen or k >= self._phase(earlier, now).visible_risks:
                    continue
                if self._risk_facts(earlier, k, now).closed != want_closed:
                    continue
                seen.add((earlier, k))
                (closed if want_closed else still_open).append(self._risk_id(earlier, k))
                break
        return still_open, closed

    # --- JSON ------------------------------------------------------------------------

    @staticmethod
    def _result_indexes(state: str) -> tuple[int, ...]:
        if state == SUCCEEDED:
            return (0, 1, 2, 3)
        if state == FAILED:
            return (3,)  # the scanner's log
        return ()

    def _scan_json(self, seq: int, now: float) -> JSON:
        phase = self._phase(seq, now)
        override = self._overrides.get(seq)
        fixed = override.fixed if override is not None else None
        targets = self._targets(seq)
        skipped = self._skipped(seq, targets)
        started = phase.state not in (QUEUED, OVER_LIMIT)
        still_open: list[str] = []
        closed: list[str] = []
        if fixed is None and phase.state == SUCCEEDED:
            still_open, closed = self._carried_risks(seq, now)
        scan: JSON = {"id": self._scan_id(seq), "type": self._type_names[self._type[seq]]}
        scan["state"] = phase.state
        if phase.progress is not None:
            scan["progress"] = phase.progress
        scan["risks"] = {
            "new_open": [{"risk_id": self._risk_id(seq, k)} for k in range(phase.visible_risks)],
            "still_open": [{"risk_id": risk_id} for risk_id in still_open],
            "closed": [{"risk_id": risk_id} for risk_id in closed],
        }
        scan["results"] = [
            {"result_id": self._encode(_ID_RESULT, seq * 4 + i), "content_type": RESULT_TYPES[i]}
            for i in self._result_indexes(phase.state)
        ]
        scan["requested_targets"] = [
            {"target_id": t.target_id, "target": t.target} for t in targets
        ]
        scan["resolved_targets"] = [
            {"target_id": t.target_id, "resolved_target": t.resolved}
            for t in targets
            if started and t.target_id not in skipped
        ]
        scan["skipped_targets"] = [
            {"target_id": target_id, "skipped_reason": reason}
            for target_id, reason in skipped.items()
            if started or fixed is not None
        ]
        if fixed is not None:
            scan.update(fixed.extra)
        return scan

    # --- Result files ----------------------------------------------------------------

    def _render_result(self, seq: int, index: int, phase: _Phase, now: float) -> bytes:
        scan_id = self._scan_id(seq)
        scan_type = self._type_names[self._type[seq]]
        targets = [t.target for t in self._targets(seq)]
        risks = [self._risk_facts(seq, k, now) for k in range(phase.visible_risks)]
        content_type = RESULT_TYPES[index]
        if content_type == "application/json":
            report: JSON = {
                "scan_id": scan_id,
                "type": scan_type,
                "state": phase.state,
                "targets": targets,
                "risks": [
                    {
                        "title": r.title,
                        "threat_level": r.definition.threat_level,
                        "target": r.target.target,
                    }
                    for r in risks
                ],
            }
            if phase.state == FAILED:
                report["error"] = "The scanner exited early: connection reset by peer"
            return json.dumps(report, ensure_ascii=False, indent=2).encode()
        if content_type == "text/html":
            rows = "".join(
                f"<tr><td>{html.escape(r.definition.threat_level)}</td>"
                f"<td>{html.escape(r.title)}</td><td>{html.escape(r.target.target)}</td></tr>"
                for r in risks
            )
            items = "".join(f"<li>{html.escape(t)}</li>" for t in targets)
            return (
                '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(scan_type)} report {scan_id}</title></head><body>"
                f"<h1>{html.escape(scan_type)} scan {html.escape(scan_id)}</h1>"
                f"<h2>Targets</h2><ul>{items}</ul><h2>Risks</h2>"
                f"<table><tr><th>Threat</th><th>Title</th><th>Target</th></tr>{rows}</table>"
                "</body></html>\n"
            ).encode()
        if content_type == "application/xml":
            body = "".join(f"<target>{xml_escape(t)}</target>" for t in targets)
            body += "".join(
                f"<risk threat_level={quoteattr(r.definition.threat_level)} "
                f"target={quoteattr(r.target.target)}>{xml_escape(r.title)}</risk>"
                for r in risks
            )
            return (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<report scan_id={quoteattr(scan_id)} type={quoteattr(scan_type)}>"
                f"{body}</report>\n"
            ).encode()
        lines = [
            "HostedScan sandbox report",
            f"Scan {scan_id} ({scan_type})",
            f"Targets: {len(targets)}",
            f"Risks: {len(risks)}",
        ]
        lines += [f"[{r.definition.threat_level}] {r.title}" for r in risks[:40]]
        return _pdf(lines)


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with these lines, valid enough for any reader (offsets and all)."""

    def literal(text: str) -> str:
        ascii_text = text.encode("ascii", "replace").decode("ascii")[:100]
        return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 11 Tf 50 770 Td 15 TL\n"
    stream += "".join(f"({literal(line)}) '\n" for line in lines) + "ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream".encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
