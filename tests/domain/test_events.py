"""Events and alerts as values: the event-word table, the alert key, broadcasts."""

from __future__ import annotations

import pytest

from scanbot.domain.events import (
    DEFAULT_EVENTS,
    EVENT_TABLE,
    SUBSCRIBABLE_EVENTS,
    Alert,
    EventKind,
    ScanEvent,
    subscribed,
)
from scanbot.domain.scans import ScanSummary


def event(kind: EventKind, state: str = "SUCCEEDED", risk_ids: tuple[str, ...] = ()) -> ScanEvent:
    return ScanEvent(kind=kind, summary=ScanSummary(scan_id="s1", state=state), risk_ids=risk_ids)


@pytest.mark.parametrize(
    ("words", "kind", "state", "heard"),
    [
        (("started",), EventKind.STARTED, "RUNNING", True),
        (("finished",), EventKind.STARTED, "RUNNING", False),
        (("finished",), EventKind.FINISHED, "SUCCEEDED", True),
        (("finished",), EventKind.FINISHED, "FAILED", True),
        (("failed",), EventKind.FINISHED, "FAILED", True),
        (("failed",), EventKind.FINISHED, "OVER_LIMIT", True),
        (("failed",), EventKind.FINISHED, "SUCCEEDED", False),
        (("risks",), EventKind.RISKS, "RUNNING", True),
        (("started", "finished"), EventKind.RISKS, "RUNNING", False),
        (("started",), EventKind.UNKNOWN_STATE, "PAUSED", True),
        (("failed",), EventKind.UNKNOWN_STATE, "PAUSED", True),
        (("risks",), EventKind.UNKNOWN_STATE, "PAUSED", False),
        (("risks",), EventKind.GONE, "RUNNING", True),  # only ever into an existing thread
        ((), EventKind.GONE, "RUNNING", True),
        ((), EventKind.FINISHED, "SUCCEEDED", False),
    ],
)
def test_subscribed_words_let_these_kinds_through(
    words: tuple[str, ...], kind: EventKind, state: str, heard: bool
) -> None:
    assert subscribed(words, event(kind, state)) is heard


def test_the_table_speaks_only_subscribable_words() -> None:
    assert set(DEFAULT_EVENTS) <= set(SUBSCRIBABLE_EVENTS)
    for words in EVENT_TABLE.values():
        assert words <= set(SUBSCRIBABLE_EVENTS)
    # Every word hears some kind: none is dead.
    assert set().union(*EVENT_TABLE.values()) == set(SUBSCRIBABLE_EVENTS)


def test_an_alert_key_names_channel_scan_kind_and_detail() -> None:
    finished = Alert(channel_id="C1", event=event(EventKind.FINISHED, "FAILED"))
    assert finished.key == "C1|s1|finished|FAILED"
    assert Alert(channel_id="C1", event=event(EventKind.STARTED, "RUNNING")).key == "C1|s1|started|"
    risks = Alert(channel_id="C1", event=event(EventKind.RISKS, risk_ids=("r1", "r2")))
    other = Alert(channel_id="C1", event=event(EventKind.RISKS, risk_ids=("r1", "r3")))
    assert risks.key.startswith("C1|s1|risks|")
    assert len(risks.key.rsplit("|", 1)[1]) == 16
    assert risks.key != other.key


def test_only_failures_are_broadcast() -> None:
    assert Alert(channel_id="C1", event=event(EventKind.FINISHED, "FAILED")).broadcast
    assert Alert(channel_id="C1", event=event(EventKind.FINISHED, "OVER_LIMIT")).broadcast
    assert not Alert(channel_id="C1", event=event(EventKind.FINISHED, "SUCCEEDED")).broadcast
    assert not Alert(channel_id="C1", event=event(EventKind.UNKNOWN_STATE, "FAILED")).broadcast
