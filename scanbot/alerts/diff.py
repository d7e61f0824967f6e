"""Turn one poll's view of a scan into events, given what the poller remembered about it.

Pure: data in, (events, new snapshot) out. The rules, in the order events come out:

- STARTED: a scan first seen (after the baseline) QUEUED or RUNNING, or a scan not yet
  announced that is now RUNNING (typically QUEUED at the baseline, RUNNING now). Once per
  scan: `Snapshot.announced` remembers it, and a scan RUNNING or final is past starting
  even when no STARTED went out (the baseline, or a scan first seen already finished:
  STARTED is never invented for it).
- FINISHED: the scan enters SUCCEEDED, FAILED or OVER_LIMIT from a different state
  (unknown ones included), or is first seen (after the baseline) in one.
- UNKNOWN_STATE: the scan enters a state that is no `ScanState` (the empty string
  included), from a different state, or is first seen (after the baseline) in one.
- RISKS: the ids in `risks.new_open` not alerted yet, sorted.
- Nothing else: progress changes and an announced scan going QUEUED -> RUNNING only
  change the snapshot (the card is edited elsewhere).

A state going backwards (a rerun: SUCCEEDED -> RUNNING) emits no second STARTED, since
`announced` stays set; when the scan finishes again FINISHED is emitted again. Its alert
key (`channel|scan|finished|STATE`) equals the first one when the final state is the
same, so the outbox drops it as a duplicate; a different final state (it failed this
time) is news and gets through. That is the intended behaviour, not a bug.

The baseline (the first run on an empty store) records every scan and emits nothing.
"""

from __future__ import annotations

from datetime import datetime

from scanbot.domain.events import EventKind, ScanEvent, Snapshot
from scanbot.domain.scans import ScanSummary
from scanbot.hostedscan.models import FINAL_STATES, ScanHead, ScanState

_KNOWN_STATES = frozenset(state.value for state in ScanState)
# States of a scan that is past starting: announcing it as started would be news of old.
_PAST_STARTING = frozenset({ScanState.RUNNING.value, *FINAL_STATES})
_STARTING = frozenset({ScanState.QUEUED.value, ScanState.RUNNING.value})


def diff(
    previous: Snapshot | None, current: ScanHead, now: datetime, *, baseline: bool = False
) -> tuple[list[ScanEvent], Snapshot]:
    """The events between `previous` (None: never seen) and `current`, and what to remember.

    A previous snapshot marked missing (one 404) that answers again was a blip: the new
    snapshot has no `missing_since`, and the scan is diffed as usual.
    """
    summary = ScanSummary.of(current)
    new_open = _new_open_ids(current)
    started = not baseline and _starts(previous, summary.state)
    events = [] if baseline else _events(previous, summary, new_open, started=started)
    snapshot = Snapshot(
        summary=summary,
        # Only ids still in new_open are kept, so the set is bounded by the scan's own list.
        # Safe because a scan's new_open only grows while it runs: an id that left it is
        # not expected back (and if it did come back, alerting it again is the lesser harm).
        alerted_risks=frozenset(new_open),
        announced=_announced(previous, summary.state, started),
        last_seen=now,
    )
    return events, snapshot


def missing(previous: Snapshot, now: datetime) -> tuple[list[ScanEvent], Snapshot | None]:
    """The scan answered 404: remember when the first time, drop it (GONE) the second time.

    One 404 can be a blip of the service; two in a row mean the scan was deleted.
    """
    if previous.missing_since is None:
        return [], previous.model_copy(update={"missing_since": now})
    gone = ScanEvent(
        kind=EventKind.GONE, summary=previous.summary, previous_state=previous.summary.state
    )
    return [gone], None


def _events(
    previous: Snapshot | None, summary: ScanSummary, new_open: list[str], *, started: bool
) -> list[ScanEvent]:
    previous_state = previous.summary.state if previous is not None else None
    kinds = [EventKind.STARTED] if started else []
    kinds += _state_change(previous_state, summary.state)
    events = [ScanEvent(kind=k, summary=summary, previous_state=previous_state) for k in kinds]
    risk_ids = _unalerted(previous, new_open)
    if risk_ids:
        events.append(
            ScanEvent(
                kind=EventKind.RISKS,
                summary=summary,
                previous_state=previous_state,
                risk_ids=risk_ids,
            )
        )
    return events


def _new_open_ids(scan: ScanHead) -> list[str]:
    """The scan's new_open ids, each once, in the service's order."""
    return list(dict.fromkeys(ref.risk_id for ref in scan.risks.new_open))


def _starts(previous: Snapshot | None, state: str) -> bool:
    if previous is None:
        return state in _STARTING
    return not previous.announced and state == ScanState.RUNNING


def _state_change(previous_state: str | None, state: str) -> list[EventKind]:
    """FINISHED or UNKNOWN_STATE when the scan enters such a state (or is first seen in one)."""
    if state == previous_state:
        return []
    if state in FINAL_STATES:
        return [EventKind.FINISHED]
    if state not in _KNOWN_STATES:
        return [EventKind.UNKNOWN_STATE]
    return []


def _unalerted(previous: Snapshot | None, new_open: list[str]) -> tuple[str, ...]:
    alerted = previous.alerted_risks if previous is not None else frozenset()
    return tuple(sorted(risk_id for risk_id in new_open if risk_id not in alerted))


def _announced(previous: Snapshot | None, state: str, started: bool) -> bool:
    was_announced = previous is not None and previous.announced
    return was_announced or started or state in _PAST_STARTING
