"""Outbox statuses as stored, and what a delivery attempt came to."""

from __future__ import annotations

from scanbot.domain.outbox import DONE_STATUSES, OutboxStatus, SendOutcome


def test_statuses_are_the_strings_the_database_holds() -> None:
    assert [s.value for s in OutboxStatus] == [
        "pending",
        "sending",
        "sent",
        "digested",
        "parked",
        "held",
        "summarized",
        "summary_pending",
        "summary_sending",
        "quiet_held",
        "quiet_releasing",
    ]
    assert max(len(s.value) for s in OutboxStatus) <= 16  # the status column's width
    assert OutboxStatus("parked") is OutboxStatus.PARKED


def test_rows_waiting_are_never_done() -> None:
    waiting = {OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD}
    waiting |= {OutboxStatus.SUMMARY_PENDING, OutboxStatus.SUMMARY_SENDING}
    waiting |= {OutboxStatus.QUIET_HELD, OutboxStatus.QUIET_RELEASING}
    assert not waiting & DONE_STATUSES


def test_parked_outcomes() -> None:
    assert [o for o in SendOutcome if o.is_parked] == [
        SendOutcome.PARKED,
        SendOutcome.CHANNEL_GONE,
    ]
