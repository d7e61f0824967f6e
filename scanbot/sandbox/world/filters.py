"""The `filters` a listing accepts, checked as the API checks them, and the scan listing loop.

Filters are OR within a key and AND across keys; a key with an empty list matches nothing,
as `$in: []` would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from scanbot.sandbox.world.table import ScanTable
from scanbot.sandbox.world.vocabulary import FINAL_STATES, QUEUED, RUNNING

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

Filters = Mapping[str, Sequence[str]]
Parsed = dict[str, frozenset[str]]


class FilterError(ValueError):
    """A filter key the API does not allow, or values that are not a list of strings."""


def parse_filters(filters: Filters | None, allowed: frozenset[str]) -> Parsed:
    """Validated filters, key -> the values wanted."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise FilterError("filters must be a JSON object")
    parsed: Parsed = {}
    for key, values in filters.items():
        if key not in allowed:
            raise FilterError(f"Unknown filter key: {key}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise FilterError(f"Filter {key} must be a list of strings")
        if not all(isinstance(value, str) for value in values):
            raise FilterError(f"Filter {key} must be a list of strings")
        parsed[key] = frozenset(values)
    return parsed


def matching_scans(
    table: ScanTable, filters: Filters | None, now: float, before: int | None
) -> Iterator[int]:
    """Positions of matching scans, newest first: the one loop every listing pays for."""
    parsed = parse_filters(filters, SCAN_FILTER_KEYS)
    types = name_indexes(table.type_names, parsed.get("type"))
    scheds = name_indexes(table.sched_names, parsed.get("scheduled_by"))
    states = parsed.get("state")
    created, queue, run, final = table.created, table.queue_s, table.run_s, table.final_ix
    type_of, sched_of, overrides = table.type_ix, table.sched_ix, table.overrides
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
            if states is not None and table.phase(seq, now).state not in states:
                continue
        elif states is not None:
            # `phases.scheduled_phase` inlined: this test runs for every scan of a listing.
            age = now - created[seq]
            if age < queue[seq]:
                state = QUEUED
            elif age < queue[seq] + run[seq]:
                state = RUNNING
            else:
                state = FINAL_STATES[final[seq]]
            if state not in states:
                continue
        yield seq


def name_indexes(names: list[str], wanted: frozenset[str] | None) -> frozenset[int] | None:
    """The indexes of the wanted names; None (no filter) stays None."""
    if wanted is None:
        return None
    return frozenset(i for i, name in enumerate(names) if name in wanted)
