"""Every scan as a row of parallel arrays, what the test controls changed, and its ids.

A scan is named by its `seq`, its position in creation order. Rows hold only the drawn
parameters (a few dozen bytes), so 100,000 scans cost a few megabytes; everything else
about a scan (its phase, targets, JSON) is computed from its row when asked.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from scanbot.sandbox.world.ids import SCAN_ID, IdCodec
from scanbot.sandbox.world.phases import Phase, frozen_phase, scheduled_phase
from scanbot.sandbox.world.population import SCHEDULERS, ScanParams
from scanbot.sandbox.world.targets import (
    POOL_SIZE,
    URL_TYPES,
    Target,
    custom_target,
    pool_target,
    skipped_targets,
)
from scanbot.sandbox.world.vocabulary import FINAL_STATES, SCAN_TYPES


@dataclass(frozen=True)
class FixedScan:
    """A scan added by `add_scan`: everything about it is given, nothing evolves."""

    scan_id: str
    skipped: tuple[tuple[str, str], ...]
    extra: dict[str, object]


@dataclass(frozen=True)
class PostedScan:
    """A scan started through `POST /v1/scans`: its targets as resolved when it was posted,
    which of them the scanner skips (and why), and whether it was asked to authenticate."""

    targets: tuple[Target, ...]
    skipped: dict[str, str]
    use_authentication: bool

    @property
    def scanned(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.target_id not in self.skipped)


@dataclass
class Override:
    """What the test controls changed about one scan; most scans have none."""

    removed: bool = False
    state: str | None = None  # set: the scan is frozen in this state
    progress: float | None = None
    fixed: FixedScan | None = None


class ScanTable:
    """The account's scans, oldest first; read-mostly, appended to as scans arrive."""

    def __init__(self, ids: IdCodec) -> None:
        self.ids = ids
        # Parallel arrays, one entry per scan in creation order (its `seq`).
        self.created: array[float] = array("d")
        self.queue_s: array[float] = array("d")
        self.run_s: array[float] = array("d")
        self.type_ix: array[int] = array("H")
        self.final_ix: array[int] = array("B")
        self.fail_at: array[int] = array("B")
        self.n_targets: array[int] = array("H")
        self.target_start: array[int] = array("I")
        self.sched_ix: array[int] = array("H")
        self.n_risks: array[int] = array("H")
        # Names the index arrays point into; an added scan may bring a new one.
        self.type_names: list[str] = list(SCAN_TYPES)
        self.sched_names: list[str] = list(SCHEDULERS)
        self.overrides: dict[int, Override] = {}
        self.custom_targets: dict[int, tuple[str, ...]] = {}
        self.custom_ids: dict[str, int] = {}
        self.posted: dict[int, PostedScan] = {}
        # target_id -> (label, tags) given by a write since: shown wherever the target is.
        self.relabelled: dict[str, tuple[str, tuple[str, ...]]] = {}

    def __len__(self) -> int:
        return len(self.created)

    def append(self, params: ScanParams, created: float) -> int:
        """A new row; its `seq`."""
        self.created.append(created)
        self.queue_s.append(params.queue_s)
        self.run_s.append(params.run_s)
        self.type_ix.append(params.type_ix)
        self.final_ix.append(params.final_ix)
        self.fail_at.append(params.fail_at)
        self.n_targets.append(min(params.n_targets, 0xFFFF))
        self.target_start.append(params.target_start)
        self.sched_ix.append(params.sched_ix)
        self.n_risks.append(min(params.n_risks, 0xFFFF))
        return len(self.created) - 1

    def type_name(self, seq: int) -> str:
        return self.type_names[self.type_ix[seq]]

    # --- Ids ------------------------------------------------------------------------

    def scan_id(self, seq: int) -> str:
        override = self.overrides.get(seq)
        if override is not None and override.fixed is not None:
            return override.fixed.scan_id
        return self.ids.encode(SCAN_ID, seq)

    def exists(self, seq: int, now: float) -> bool:
        """Created by `now` and not removed."""
        if not 0 <= seq < len(self.created) or self.created[seq] > now:
            return False
        override = self.overrides.get(seq)
        return override is None or not override.removed

    def seq_of(self, scan_id: str, now: float) -> int | None:
        """The scan this id names, if it exists at `now`."""
        seq = self.custom_ids.get(scan_id)
        if seq is None:
            seq = self.ids.decode(SCAN_ID, scan_id)
            # A scan added with its own id does not answer to its generated one.
            if seq is None or seq >= len(self.created) or self.scan_id(seq) != scan_id:
                return None
        return seq if self.exists(seq, now) else None

    # --- State over time -------------------------------------------------------------

    def phase(self, seq: int, now: float) -> Phase:
        override = self.overrides.get(seq)
        n_risks = self.n_risks[seq]
        if override is not None and override.state is not None:
            fixed = override.fixed is not None
            return frozen_phase(override.state, override.progress, n_risks, fixed=fixed)
        return scheduled_phase(
            now - self.created[seq],
            self.queue_s[seq],
            self.run_s[seq],
            FINAL_STATES[self.final_ix[seq]],
            self.fail_at[seq],
            n_risks,
        )

    # --- Targets ---------------------------------------------------------------------

    def target_at(self, seq: int, slot: int) -> Target:
        posted = self.posted.get(seq)
        if posted is not None:
            return self.current(posted.targets[slot])
        custom = self.custom_targets.get(seq)
        if custom is not None:
            return self.current(custom_target(self.ids.seed, custom[slot]))
        as_url = self.type_name(seq) in URL_TYPES
        index = (self.target_start[seq] + slot) % POOL_SIZE
        return self.current(pool_target(self.ids, index, as_url))

    def current(self, target: Target) -> Target:
        """The target with the label and tags a write gave it since, if any."""
        if not self.relabelled:
            return target
        given = self.relabelled.get(target.target_id)
        return target if given is None else target._replace(label=given[0], tags=given[1])

    def finding_target(self, seq: int, pick: int) -> Target | None:
        """The target the `pick`-th draw of a finding lands on: one the scan really scanned."""
        posted = self.posted.get(seq)
        if posted is not None:
            scanned = posted.scanned
            return self.current(scanned[pick % len(scanned)]) if scanned else None
        n_targets = self.n_targets[seq]
        return self.target_at(seq, pick % n_targets) if n_targets else None

    def targets(self, seq: int) -> list[Target]:
        return [self.target_at(seq, slot) for slot in range(self.n_targets[seq])]

    def skipped(self, seq: int, targets: list[Target]) -> dict[str, str]:
        """target_id -> why it was skipped; an added scan's are given by target or id."""
        override = self.overrides.get(seq)
        if override is not None and override.fixed is not None:
            by_text = {t.target: t.target_id for t in targets}
            return {by_text.get(key, key): reason for key, reason in override.fixed.skipped}
        posted = self.posted.get(seq)
        if posted is not None:
            return posted.skipped
        return skipped_targets(self.ids.seed, seq, targets)


def name_index(names: list[str], name: str) -> int:
    """The index of `name` in `names`, appending it if it is new."""
    try:
        return names.index(name)
    except ValueError:
        names.append(name)
        return len(names) - 1
