"""The opening every thread button shares (`tracked`) and the boundary around a click, on
fakes: no Slack, no store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import AlertThread
from scanbot.slack.sentences import INTERNAL_ERROR, NOT_TRACKED
from scanbot.triage.thread import Outcome, boundary, tracked

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@dataclass
class Threads:
    known: dict[tuple[str, str], AlertThread]
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def get(self, scan_id: str, channel_id: str) -> AlertThread | None:
        self.asked.append((scan_id, channel_id))
        return self.known.get((scan_id, channel_id))


@dataclass
class Store:
    threads: Threads


@dataclass
class Voice:
    store: Store


def _thread(scan_id: str, channel_id: str) -> AlertThread:
    summary = ScanSummary(scan_id=scan_id, type="NMAP", state="RUNNING")
    return AlertThread(
        scan_id=scan_id,
        channel_id=channel_id,
        parent_ts="1.0",
        summary=summary,
        shown="card",
        edited_at=None,
        created_at=T0,
    )


class Part:
    def __init__(self, *threads: AlertThread) -> None:
        self.voice = Voice(Store(Threads({(t.scan_id, t.channel_id): t for t in threads})))
        self.seen: list[tuple[AlertThread, str, str]] = []

    @tracked
    async def act(self, thread: AlertThread, user_id: str, note: str = "") -> Outcome:
        self.seen.append((thread, user_id, note))
        if note == "boom":
            raise RuntimeError("a bug in the action")
        return Outcome(True, f"{user_id} {note}")

    @boundary
    async def plain(self, value: str) -> Outcome:
        raise ValueError(value)


async def test_a_tracked_thread_is_handed_to_the_action() -> None:
    thread = _thread("scan-1", "C1")
    part = Part(thread)
    assert await part.act("scan-1", "C1", "U1", note="hi") == Outcome(True, "U1 hi")
    assert part.seen == [(thread, "U1", "hi")]
    assert part.voice.store.threads.asked == [("scan-1", "C1")]


async def test_a_thread_not_tracked_is_said_and_the_action_not_run() -> None:
    part = Part(_thread("scan-1", "C1"))
    assert await part.act("scan-1", "C2", "U1") == Outcome(False, NOT_TRACKED)
    assert await part.act("scan-2", "C1", "U1") == Outcome(False, NOT_TRACKED)
    assert part.seen == []


async def test_whatever_escapes_is_logged_and_the_clicker_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    part = Part(_thread("scan-1", "C1"))
    with caplog.at_level(logging.ERROR):
        assert await part.act("scan-1", "C1", "U1", "boom") == Outcome(False, INTERNAL_ERROR)
        assert await part.plain("odd") == Outcome(False, INTERNAL_ERROR)
    assert "triage act failed" in caplog.text
    assert "triage plain failed" in caplog.text
    assert "a bug in the action" in caplog.text


def test_the_wrapped_method_keeps_its_name() -> None:
    assert Part.act.__name__ == "act"
    assert Part.plain.__name__ == "plain"
