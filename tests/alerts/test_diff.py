"""Snapshot diffing: every rule of the spec, the baseline, 404s, weird data, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanbot.alerts.diff import diff, missing
from scanbot.domain.events import Alert, EventKind, ScanEvent, Snapshot
from scanbot.domain.scans import ScanSummary
from scanbot.hostedscan.models import FINAL_STATES, Scan, ScanState

Q, R, S, F, OL = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "OVER_LIMIT"
STARTED, FINISHED, RISKS = EventKind.STARTED, EventKind.FINISHED, EventKind.RISKS
UNKNOWN, GONE = EventKind.UNKNOWN_STATE, EventKind.GONE
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def scan(
    state: str = R,
    new_open: tuple[str, ...] = (),
    *,
    progress: float | None = None,
    targets: tuple[str, ...] = ("example.com",),
) -> Scan:
    return Scan.model_validate(
        {
            "id": "scan-1",
            "type": "NMAP",
            "state": state,
            "progress": progress,
            "risks": {"new_open": [{"risk_id": r} for r in new_open]},
            "requested_targets": [{"target": t} for t in targets],
        }
    )


def snap(
    state: str = R,
    *,
    announced: bool = True,
    alerted: tuple[str, ...] = (),
    missing_since: datetime | None = None,
) -> Snapshot:
    return Snapshot(
        summary=ScanSummary.of(scan(state)),
        alerted_risks=frozenset(alerted),
        announced=announced,
        last_seen=T0,
        missing_since=missing_since,
    )


def kinds(events: list[ScanEvent]) -> list[EventKind]:
    return [e.kind for e in events]


# (previous, current, expected events) after the baseline; one row per rule of the spec.
RULES: list[tuple[str, Snapshot | None, Scan, list[EventKind]]] = [
    # STARTED
    ("new queued", None, scan(Q), [STARTED]),
    ("new running", None, scan(R), [STARTED]),
    ("unannounced queued -> running", snap(Q, announced=False), scan(R), [STARTED]),
    ("unannounced unknown -> running", snap("PAUSED", announced=False), scan(R), [STARTED]),
    ("unannounced still queued", snap(Q, announced=False), scan(Q), []),
    # no event
    ("announced queued -> running", snap(Q), scan(R), []),
    ("progress change", snap(R), scan(R, progress=42.0), []),
    ("nothing changed", snap(S), scan(S), []),
    ("rerun: no second STARTED", snap(S), scan(R), []),
    ("final back to queued", snap(F), scan(Q), []),
    # FINISHED
    ("running -> succeeded", snap(R), scan(S), [FINISHED]),
    ("running -> failed", snap(R), scan(F), [FINISHED]),
    ("running -> over limit", snap(R), scan(OL), [FINISHED]),
    ("queued -> succeeded", snap(Q), scan(S), [FINISHED]),
    ("never-announced -> succeeded", snap(Q, announced=False), scan(S), [FINISHED]),
    ("unknown -> succeeded", snap("PAUSED"), scan(S), [FINISHED]),
    ("empty -> failed", snap(""), scan(F), [FINISHED]),
    ("succeeded -> failed", snap(S), scan(F), [FINISHED]),
    ("new, already succeeded", None, scan(S), [FINISHED]),
    ("new, already failed", None, scan(F), [FINISHED]),
    ("new, already over limit", None, scan(OL), [FINISHED]),
    # UNKNOWN_STATE
    ("running -> unknown", snap(R), scan("PAUSED"), [UNKNOWN]),
    ("unknown -> other unknown", snap("PAUSED"), scan("HALTED"), [UNKNOWN]),
    ("running -> empty state", snap(R), scan(""), [UNKNOWN]),
    ("lower-case spelling is not a ScanState", snap(R), scan("running"), [UNKNOWN]),
    ("unknown unchanged", snap("PAUSED"), scan("PAUSED"), []),
    ("new, unknown", None, scan("PAUSED"), [UNKNOWN]),
    ("new, empty state", None, scan(""), [UNKNOWN]),
    # RISKS, and the order of events
    ("new risks while running", snap(R, alerted=("a",)), scan(R, ("a", "b")), [RISKS]),
    ("no new risks", snap(R, alerted=("a", "b")), scan(S, ("b", "a")), [FINISHED]),
    ("new running with risks", None, scan(R, ("a",)), [STARTED, RISKS]),
    ("new finished with risks", None, scan(S, ("a",)), [FINISHED, RISKS]),
    ("new unknown with risks", None, scan("X", ("a",)), [UNKNOWN, RISKS]),
    ("starts with risks", snap(Q, announced=False), scan(R, ("a",)), [STARTED, RISKS]),
    ("finishes with risks", snap(R, alerted=("a",)), scan(S, ("a", "b")), [FINISHED, RISKS]),
]


@pytest.mark.parametrize(
    ("previous", "current", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rules(previous: Snapshot | None, current: Scan, expected: list[EventKind]) -> None:
    events, _ = diff(previous, current, T1)
    assert kinds(events) == expected
    for event in events:
        assert event.summary == ScanSummary.of(current)
        assert event.previous_state == (previous.summary.state if previous else None)


@pytest.mark.parametrize("current", [r[2] for r in RULES], ids=[r[0] for r in RULES])
def test_baseline_emits_nothing(current: Scan) -> None:
    events, snapshot = diff(None, current, T0, baseline=True)
    assert events == []
    assert snapshot.alerted_risks == {r.risk_id for r in current.risks.new_open}


@pytest.mark.parametrize(
    ("state", "announced"),
    [(Q, False), (R, True), (S, True), (F, True), (OL, True), ("PAUSED", False), ("", False)],
)
def test_baseline_announces_scans_past_starting(state: str, announced: bool) -> None:
    _, snapshot = diff(None, scan(state), T0, baseline=True)
    assert snapshot.announced is announced


@pytest.mark.parametrize(
    ("previous", "state", "announced"),
    [
        (None, Q, True),  # STARTED went out
        (None, R, True),
        (None, S, True),  # first seen final: past starting, no STARTED
        (None, "PAUSED", False),
        (snap(Q, announced=False), Q, False),
        (snap(Q, announced=False), "PAUSED", False),
        (snap(Q, announced=False), R, True),
        (snap(Q, announced=False), F, True),
        (snap(S), R, True),  # a rerun keeps it
    ],
)
def test_announced(previous: Snapshot | None, state: str, announced: bool) -> None:
    _, snapshot = diff(previous, scan(state), T1)
    assert snapshot.announced is announced


def test_queued_at_baseline_gets_started_when_it_runs() -> None:
    _, first = diff(None, scan(Q), T0, baseline=True)
    events, second = diff(first, scan(R), T1)
    assert kinds(events) == [STARTED]
    assert events[0].previous_state == Q
    assert kinds(diff(second, scan(S), T1)[0]) == [FINISHED]


def test_running_at_baseline_never_gets_started() -> None:
    _, first = diff(None, scan(R, ("a",)), T0, baseline=True)
    events, _ = diff(first, scan(R, ("a", "b"), progress=50.0), T1)
    assert kinds(events) == [RISKS]
    assert events[0].risk_ids == ("b",)


def test_baseline_keeps_what_was_remembered() -> None:
    _, snapshot = diff(snap(Q, announced=True), scan(Q), T0, baseline=True)
    assert snapshot.announced is True


def test_risk_ids_are_the_unalerted_ones_sorted_and_unique() -> None:
    previous = snap(R, alerted=("m",))
    events, _ = diff(previous, scan(R, ("z", "m", "a", "z", "b", "a")), T1)
    assert [e.risk_ids for e in events] == [("a", "b", "z")]


def test_new_scan_after_baseline_alerts_all_its_new_open() -> None:
    events, _ = diff(None, scan(S, ("c", "a", "b")), T1)
    assert events[-1].risk_ids == ("a", "b", "c")


def test_snapshot_fields() -> None:
    current = scan(R, ("a", "b"), progress=12.5, targets=tuple(f"h{i}" for i in range(8)))
    _, snapshot = diff(snap(Q), current, T1)
    assert snapshot.summary == ScanSummary.of(current)
    assert snapshot.summary.target_count == 8
    assert snapshot.last_seen == T1
    assert snapshot.missing_since is None
    assert snapshot.alerted_risks == {"a", "b"}


def test_alerted_risks_are_bounded_by_new_open() -> None:
    """Ids no longer in new_open are forgotten; the set never outgrows the scan's list."""
    _, snapshot = diff(snap(R, alerted=("old", "a")), scan(R, ("a", "b")), T1)
    assert snapshot.alerted_risks == {"a", "b"}


def test_missing_once_remembers_when() -> None:
    previous = snap(R, alerted=("a",))
    events, snapshot = missing(previous, T1)
    assert events == []
    assert snapshot == previous.model_copy(update={"missing_since": T1})


def test_missing_twice_is_gone() -> None:
    previous = snap(R, missing_since=T0)
    events, snapshot = missing(previous, T1)
    assert snapshot is None
    assert kinds(events) == [GONE]
    assert events[0].summary == previous.summary
    assert events[0].previous_state == R


def test_a_blip_clears_missing_since_and_diffs_normally() -> None:
    _, marked = missing(snap(R, alerted=("a",)), T0)
    assert marked is not None
    events, snapshot = diff(marked, scan(S, ("a", "b")), T1)
    assert kinds(events) == [FINISHED, RISKS]
    assert events[1].risk_ids == ("b",)
    assert snapshot.missing_since is None
    assert kinds(missing(snapshot, T1)[0]) == []  # a later 404 starts counting again


def test_rerun_finishing_the_same_way_repeats_the_alert_key() -> None:
    """Documented: the second FINISHED is a duplicate the outbox drops; a new outcome is not."""
    seen: list[ScanEvent] = []
    previous: Snapshot | None = None
    for state in (Q, R, S, R, S, R, F):
        events, previous = diff(previous, scan(state), T1)
        seen += events
    assert kinds(seen) == [STARTED, FINISHED, FINISHED, FINISHED]
    keys = [Alert(channel_id="C1", event=e).key for e in seen]
    assert keys[1] == keys[2] != keys[3]


def test_weird_data_never_crashes() -> None:
    raw: dict[str, Any] = {"id": "s", "state": None, "progress": None, "risks": None}
    events, snapshot = diff(None, Scan.model_validate(raw), T1)
    assert kinds(events) == [UNKNOWN]
    assert snapshot.summary.progress is None
    assert diff(snapshot, Scan.model_validate(raw), T1)[0] == []


def test_huge_new_open_with_duplicates() -> None:
    ids = tuple(f"r{i:05d}" for i in range(10_000))
    events, snapshot = diff(snap(R, alerted=ids[:10]), scan(R, ids + ids[::-1]), T1)
    assert kinds(events) == [RISKS]
    assert events[0].risk_ids == ids[10:]
    assert len(snapshot.alerted_risks) == 10_000
    assert diff(snapshot, scan(R, ids), T1)[0] == []


# --- properties ---------------------------------------------------------------------------

STATES = st.one_of(
    st.sampled_from([*ScanState, "", "PAUSED", "running"]),
    st.text(max_size=6),
)
OBSERVATIONS = st.lists(
    st.tuples(
        STATES,
        st.lists(st.sampled_from("abcdefgh"), max_size=3),  # ids added to new_open
        st.one_of(st.none(), st.floats(0, 100)),
        st.booleans(),  # a 404 blip before this observation
        st.booleans(),  # new_open listed in reverse order
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(observations=OBSERVATIONS, baseline=st.booleans())
def test_any_sequence_of_observations(
    observations: list[tuple[str, list[str], float | None, bool, bool]], baseline: bool
) -> None:
    previous: Snapshot | None = None
    new_open: list[str] = []
    at_baseline: set[str] = set()
    all_events: list[ScanEvent] = []
    for i, (state, added, progress, blip, reverse) in enumerate(observations):
        now = T0 + timedelta(minutes=i)
        if blip and previous is not None:
            gone, previous = missing(previous, now)
            assert gone == []
        new_open += added
        current = scan(state, tuple(new_open[::-1] if reverse else new_open), progress=progress)
        is_baseline = baseline and i == 0
        events, snapshot = diff(previous, current, now, baseline=is_baseline)
        if is_baseline:
            assert events == []
            at_baseline = set(new_open)
        _check_one_diff(previous, events)
        # idempotence: the same observation again changes nothing worth telling
        again, same = diff(snapshot, current, now + timedelta(seconds=1))
        assert again == []
        assert same.model_copy(update={"last_seen": now}) == snapshot
        all_events += events
        previous = snapshot

    assert kinds(all_events).count(STARTED) <= 1
    alerted = [r for e in all_events if e.kind is RISKS for r in e.risk_ids]
    assert len(alerted) == len(set(alerted))
    assert set(alerted) == set(new_open) - at_baseline


def _check_one_diff(previous: Snapshot | None, events: list[ScanEvent]) -> None:
    order = [STARTED, UNKNOWN, FINISHED, RISKS]
    found = kinds(events)
    assert found == sorted(found, key=order.index)
    assert len(set(found)) == len(found)
    assert not {UNKNOWN, FINISHED} <= set(found)
    for event in events:
        if event.kind is FINISHED:
            assert event.summary.state in FINAL_STATES
        if event.kind in (FINISHED, UNKNOWN):
            assert event.previous_state != event.summary.state
        if event.kind is STARTED:
            assert previous is None or not previous.announced
