"""Thread values: when a triage view is quiet, snooze options, and the card key that decides
when a parent is edited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import Acknowledgement, SnoozeChoice, TriageView, card_key

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("view", "state", "quiet"),
    [
        (TriageView(), "RUNNING", False),
        (TriageView(muted=True), "SUCCEEDED", True),
        (TriageView(snoozed_until=T0 + timedelta(seconds=1)), "RUNNING", True),
        (TriageView(snoozed_until=T0), "RUNNING", False),  # ended at T0
        (TriageView(snoozed_in_state="RUNNING"), "RUNNING", True),
        (TriageView(snoozed_in_state="RUNNING"), "FAILED", False),  # the state moved on
    ],
)
def test_is_quiet(view: TriageView, state: str, quiet: bool) -> None:
    assert view.is_quiet(T0, state) is quiet


def test_snooze_choices() -> None:
    assert [c.duration for c in SnoozeChoice] == [
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(hours=24),
        None,
    ]
    assert [c.label for c in SnoozeChoice] == [
        "1 hour",
        "4 hours",
        "24 hours",
        "the next state change",
    ]


def test_card_key_moves_with_what_the_card_shows_only() -> None:
    base = ScanSummary(scan_id="s1", state="RUNNING", progress=41.0, new_open=2)
    key = card_key(base)
    assert key == "RUNNING|4|2|0|0#|None|None|False"
    assert card_key(base.model_copy(update={"progress": 49.9})) == key  # same 10% step
    assert card_key(base.model_copy(update={"progress": 50.0})) != key
    assert card_key(base.model_copy(update={"progress": None})).startswith("RUNNING|-1|")
    assert card_key(base.model_copy(update={"progress": 250.0})).startswith("RUNNING|10|")
    assert card_key(base.model_copy(update={"targets": ("x",)})) == key  # not on the key
    assert card_key(base.model_copy(update={"still_open": 1})) != key
    acked = TriageView(acknowledgements=(Acknowledgement(user_id="U1", at=T0),))
    assert card_key(base, acked) != key
    assert card_key(base, TriageView()) == key
