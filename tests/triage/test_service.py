"""Triage as its callers see it (`triage/service.py`): every thread button answers a thread
scanbot no longer tracks the same way, through the one opening (`thread.tracked`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from scanbot.slack.sentences import NOT_TRACKED
from scanbot.triage.service import Outcome, Triage
from tests.triage.conftest import (
    CHANNEL,
    U1,
    U2,
    Harness,
    slack_methods,
)

# -- no such thread ------------------------------------------------------------------------

Action = Callable[[Triage, str], Awaitable[Outcome]]
THREAD_ACTIONS: dict[str, Action] = {
    "acknowledge": lambda t, s: t.acknowledge(s, CHANNEL, U1),
    "undo_acknowledge": lambda t, s: t.undo_acknowledge(s, CHANNEL, U1),
    "open_assign": lambda t, s: t.open_assign("trigger-1", s, CHANNEL, "1700000000.000100"),
    "assign": lambda t, s: t.assign(s, CHANNEL, U1, U2, "yours"),
    "snooze": lambda t, s: t.snooze(s, CHANNEL, U1, "1h"),
    "unsnooze": lambda t, s: t.unsnooze(s, CHANNEL, U1),
    "mute": lambda t, s: t.mute(s, CHANNEL, U1),
    "unmute": lambda t, s: t.unmute(s, CHANNEL, U1),
    "refresh": lambda t, s: t.refresh(s, CHANNEL, U1),
    "show_risks": lambda t, s: t.show_risks(s, CHANNEL, U1),
    "report": lambda t, s: t.report(s, CHANNEL, U1),
}


async def test_a_thread_no_longer_tracked_is_said_and_nothing_called(harness: Harness) -> None:
    h = harness
    scan_id = h.scan()  # HostedScan has it; scanbot has no thread for it
    await h.thread(h.scan())  # another thread exists
    before = len(h.slack.calls)
    for action in THREAD_ACTIONS.values():
        assert await action(h.triage, scan_id) == Outcome(False, NOT_TRACKED)
    assert NOT_TRACKED.startswith("This alert is no longer tracked: ")
    assert slack_methods(h, before) == []
    assert h.sandbox.count() == 0


async def test_the_facade_passes_each_click_to_its_part(harness: Harness) -> None:
    h = harness
    thread = await h.thread(h.scan())
    # open_assign: the listeners give the trigger id first, the part the thread first.
    outcome = await h.triage.open_assign("trigger-9", thread.scan_id, CHANNEL, thread.parent_ts)
    assert outcome == Outcome(True)
    (call,) = h.slack.calls_to("views.open")
    assert call.body["trigger_id"] == "trigger-9"
    assert await h.triage.acknowledge(thread.scan_id, CHANNEL, U1) == Outcome(True)
    assert h.triage.assign_form("not sealed") is None
    assert await h.triage.release_held() == 0
    assert await h.triage.expire_snoozes() == 0
    assert [w.summary.scan_id for w in await h.triage.unacknowledged(CHANNEL)] == []
