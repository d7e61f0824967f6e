"""Alert threads on SQLite and PostgreSQL: a parent started with its row sent, summaries
that never go backwards, what a parent shows, triage views and queries."""

from __future__ import annotations

from datetime import timedelta

from scanbot.domain.clock import utcnow
from scanbot.domain.events import Snapshot
from scanbot.domain.operations import Begun, OperationKind, OperationStatus
from scanbot.domain.threads import Acknowledgement, AlertThread, TriageView, card_key
from scanbot.store import Store
from scanbot.store.threads import rerun_of
from tests.store.values import (
    T0,
    alert,
    outbox_column,
    queue,
    snap,
    summary,
)


async def test_starting_a_thread_stores_the_parent_and_sends_the_row(store: Store) -> None:
    first, second = await queue(store, alert("scan-a"), alert("scan-a", state="FAILED"))
    await store.outbox.mark_sending(first.id)
    await store.threads.start(first.id, first.alert, "1700000000.000100", "card-1")

    thread = await store.threads.get("scan-a", "C1")
    assert thread is not None
    assert (thread.parent_ts, thread.shown, thread.edited_at) == (
        "1700000000.000100",
        "card-1",
        None,
    )
    assert thread.summary == first.alert.event.summary
    assert [r.id for r in await store.outbox.due()] == [second.id]
    assert await outbox_column(store, first.id, "status") == "sent"
    assert await outbox_column(store, first.id, "ts") == "1700000000.000100"

    # A second parent for the same scan and channel keeps the first thread.
    await store.threads.start(second.id, second.alert, "1700000000.000200", "card-2")
    assert await store.threads.get("scan-a", "C1") == thread
    assert await store.outbox.counts() == {"sent": 2}
    assert await store.threads.get("scan-a", "C2") is None
    assert await store.threads.get("scan-b", "C1") is None


async def test_a_thread_started_late_takes_the_newest_known_state(store: Store) -> None:
    """The scan moved on while its first post was delayed: the observation found no thread
    to refresh, so the thread starts from the snapshot, and `shown` tells the sender the
    parent still shows the older card."""
    (row,) = await queue(store, alert("scan-a", state="RUNNING"))
    finished = summary("scan-a", "SUCCEEDED", progress=100.0)
    await store.snapshots.record([Snapshot(summary=finished, last_seen=T0)], [])
    await store.threads.start(row.id, row.alert, "ts-1", "card-running")

    thread = await store.threads.get("scan-a", "C1")
    assert thread is not None
    assert thread.summary == finished
    assert thread.summary_at == T0
    assert thread.shown == "card-running"
    # Later observations still replace it by the usual rule.
    later = summary("scan-a", "SUCCEEDED", progress=100.0, new_open=3)
    await store.snapshots.record([Snapshot(summary=later, last_seen=T0 + timedelta(1))], [])
    refreshed = await store.threads.get("scan-a", "C1")
    assert refreshed is not None
    assert refreshed.summary == later


async def test_a_thread_of_a_scan_without_snapshot_keeps_the_alerts_state(store: Store) -> None:
    (row,) = await queue(store, alert("scan-a", state="RUNNING"))
    await store.threads.start(row.id, row.alert, "ts-1", "card")
    thread = await store.threads.get("scan-a", "C1")
    assert thread is not None
    assert thread.summary == row.alert.event.summary
    assert thread.summary_at is None


async def test_record_refreshes_the_summary_of_every_thread_of_its_scan(store: Store) -> None:
    rows = await queue(store, alert("scan-a", "C1"), alert("scan-a", "C2"), alert("scan-b"))
    for row in rows:
        await store.threads.start(row.id, row.alert, f"ts-{row.id}", "card")

    progressed = summary("scan-a", "RUNNING", progress=80.0)
    await store.snapshots.record([Snapshot(summary=progressed, last_seen=T0)], [])

    by_key = {(t.scan_id, t.channel_id): t for t in await store.threads.all()}
    assert set(by_key) == {("scan-a", "C1"), ("scan-a", "C2"), ("scan-b", "C1")}
    assert by_key["scan-a", "C1"].summary == progressed
    assert by_key["scan-a", "C2"].summary == progressed
    assert by_key["scan-b", "C1"].summary == summary("scan-b", "SUCCEEDED")
    assert {t.shown for t in by_key.values()} == {"card"}  # the sender still has to edit


async def test_a_thread_summary_is_never_replaced_by_an_older_one(store: Store) -> None:
    """A Refresh stored what it fetched at T0+10s; a poll that fetched at T0+5s (its write
    came later) must not put the older summary back; one fetched later does."""
    (row,) = await queue(store, alert("scan-a", state="RUNNING"))
    await store.threads.start(row.id, row.alert, "ts-1", "card")
    refreshed = summary("scan-a", "RUNNING", progress=70.0)
    assert await store.threads.store_summary(refreshed, T0 + timedelta(seconds=10)) == 1

    older = summary("scan-a", "RUNNING", progress=40.0)
    await store.snapshots.record([Snapshot(summary=older, last_seen=T0 + timedelta(seconds=5))], [])
    thread = await store.threads.get("scan-a", "C1")
    assert thread is not None
    assert (thread.summary, thread.summary_at) == (refreshed, T0 + timedelta(seconds=10))
    assert (await store.snapshots.read(["scan-a"]))["scan-a"].summary == older  # the poller's own
    assert await store.threads.store_summary(older, T0 + timedelta(seconds=9)) == 0

    same_time = summary("scan-a", "RUNNING", progress=75.0)
    assert await store.threads.store_summary(same_time, T0 + timedelta(seconds=10)) == 1
    later = Snapshot(summary=summary("scan-a", progress=90.0), last_seen=T0 + timedelta(seconds=60))
    await store.snapshots.record([later], [])
    thread = await store.threads.get("scan-a", "C1")
    assert thread is not None
    assert (thread.summary, thread.summary_at) == (later.summary, later.last_seen)


async def test_a_summary_further_along_wins_whatever_its_time(store: Store) -> None:
    """Clocks of two replicas a little apart: a finished scan is never drawn as running
    because its poll's clock was behind the Refresh's."""
    (row,) = await queue(store, alert("scan-a", state="QUEUED"))
    await store.threads.start(row.id, row.alert, "ts-1", "card")
    assert await store.threads.store_summary(summary("scan-a", "RUNNING", progress=99.0), T0) == 1
    assert (
        await store.threads.store_summary(summary("scan-a", "QUEUED"), T0 - timedelta(seconds=2))
        == 0
    )
    finished = snap("scan-a", "SUCCEEDED", last_seen=T0 - timedelta(seconds=2))
    await store.snapshots.record([finished], [])
    thread = await store.threads.get("scan-a", "C1")
    assert thread is not None
    assert (thread.summary.state, thread.summary_at) == ("SUCCEEDED", finished.last_seen)


async def test_store_summary_reaches_every_thread_of_the_scan_only(store: Store) -> None:
    rows = await queue(store, alert("scan-a", "C1"), alert("scan-a", "C2"), alert("scan-b"))
    for row in rows:
        await store.threads.start(row.id, row.alert, f"ts-{row.id}", "card")
    fetched = summary("scan-a", "FAILED")
    assert await store.threads.store_summary(fetched, T0) == 2
    by_key = {(t.scan_id, t.channel_id): t.summary for t in await store.threads.all()}
    assert by_key == {
        ("scan-a", "C1"): fetched,
        ("scan-a", "C2"): fetched,
        ("scan-b", "C1"): summary("scan-b", "SUCCEEDED"),
    }
    assert await store.threads.store_summary(summary("scan-z", "FAILED"), T0) == 0  # no thread


async def test_mark_shown_records_what_the_parent_shows(store: Store) -> None:
    (row,) = await queue(store, alert("scan-a"))
    await store.threads.start(row.id, row.alert, "ts-1", "card-1")
    await store.threads.mark_shown("scan-a", "C1", "card-2")
    thread = await store.threads.get("scan-a", "C1")
    assert thread is not None
    assert thread.shown == "card-2"
    assert thread.edited_at is not None
    assert abs(thread.edited_at - utcnow()) < timedelta(minutes=1)


# -- triage views and queries ---------------------------------------------------------------


async def started(store: Store, scan_id: str, channel_id: str = "C1") -> AlertThread:
    (row,) = await queue(store, alert(scan_id, channel_id))
    await store.threads.start(row.id, row.alert, f"ts-{scan_id}-{channel_id}", "card")
    thread = await store.threads.get(scan_id, channel_id)
    assert thread is not None
    return thread


async def test_views_read_each_threads_acknowledgements_oldest_first(store: Store) -> None:
    a, b, c = [await started(store, f"scan-{n}") for n in "abc"]
    await store.triage.acknowledge("scan-a", "C1", "U2", T0 + timedelta(minutes=1))
    await store.triage.acknowledge("scan-a", "C1", "U1", T0)
    await store.triage.acknowledge("scan-b", "C1", "U3", T0)
    await store.triage.assign("scan-c", "C1", "U1", "U9", T0)
    await store.triage.set_muted("scan-c", "C1", "U1", True, T0)
    c = await store.threads.get("scan-c", "C1") or c

    views = await store.threads.views([a, b, c])
    assert [[ack.user_id for ack in v.acknowledgements] for v in views] == [
        ["U1", "U2"],
        ["U3"],
        [],
    ]
    assert (views[2].assignee, views[2].muted) == ("U9", True)
    assert await store.threads.view(a) == views[0]  # one thread: the same view, one query
    assert await store.threads.views([]) == []
    assert views[0].acknowledgements[0] == Acknowledgement(user_id="U1", at=T0)


async def rescan(store: Store, old_id: str, status: OperationStatus, new_id: str | None) -> None:
    """A Re-scan operation of `old_id`, closed with `status` and the new scan id."""
    begun = await store.operations.begin(
        key=f"rescan:{old_id}",
        user_id="U1",
        kind=OperationKind.RESCAN,
        channel_id="C1",
        request={"rescan_of": old_id, "type": "NMAP", "target_ids": ["t1"]},
        at=T0,
    )
    assert isinstance(begun, Begun)
    await store.operations.finish(begun.operation.id, status, at=T0, hostedscan_id=new_id)


async def test_views_say_which_scan_a_rerun_reruns(store: Store) -> None:
    new, plain, pending, other_channel = [
        await started(store, scan_id, channel)
        for scan_id, channel in (
            ("scan-new", "C1"),
            ("scan-plain", "C1"),
            ("scan-pending", "C1"),
            ("scan-new", "C2"),
        )
    ]
    await rescan(store, "scan-old", OperationStatus.DONE, "scan-new")
    await rescan(store, "scan-x", OperationStatus.PENDING, None)
    await rescan(store, "scan-y", OperationStatus.REFUSED, "scan-pending")  # no scan made
    run = await store.operations.begin(
        key="run:1",
        user_id="U1",
        kind=OperationKind.RUN,
        channel_id="C1",
        request={"type": "NMAP", "targets": ["a.example.com"]},
        at=T0,
    )
    assert isinstance(run, Begun)
    await store.operations.finish(
        run.operation.id, OperationStatus.DONE, at=T0, hostedscan_id="scan-plain"
    )

    views = await store.threads.views([new, plain, pending, other_channel])
    assert [v.rerun_of for v in views] == ["scan-old", None, None, "scan-old"]
    assert (await store.threads.view(new)).rerun_of == "scan-old"  # one thread: the same
    assert (await store.threads.view(plain)).rerun_of is None
    assert card_key(new.summary, views[0]) != card_key(new.summary, TriageView())


def test_rerun_of_reads_the_request_else_the_key() -> None:
    assert rerun_of("rescan:a", {"rescan_of": "b"}) == "b"
    assert rerun_of("rescan:a", {}) == "a"
    assert rerun_of("rescan:a", None) == "a"
    assert rerun_of("run:1", {"type": "NMAP"}) is None
    assert rerun_of(None, {"rescan_of": ""}) is None
    assert rerun_of("rescan:", {"rescan_of": 7}) is None


async def test_unacknowledged_and_assigned_threads(store: Store) -> None:
    a = await started(store, "scan-a")
    await started(store, "scan-b", "C2")
    c = await started(store, "scan-c")
    await store.triage.acknowledge("scan-b", "C2", "U1", T0)
    await store.triage.assign("scan-c", "C1", "U1", "U7", T0)

    unacked = await store.threads.unacknowledged()
    assert [t.scan_id for t in unacked] == ["scan-a", "scan-c"]  # oldest first
    assert [t.scan_id for t in await store.threads.unacknowledged("C2")] == []
    assert [t.scan_id for t in await store.threads.unacknowledged("C1")] == ["scan-a", "scan-c"]
    assert await store.threads.assigned_to("U7") == [await store.threads.get("scan-c", "C1")]
    assert await store.threads.assigned_to("U1") == []
    assert (a.scan_id, c.scan_id) == ("scan-a", "scan-c")


async def test_threads_with_held_alerts(store: Store) -> None:
    await started(store, "scan-a")
    await started(store, "scan-b")
    later = await queue(store, alert("scan-a", state="FAILED"), alert("scan-b", "C2"))
    for row in later:
        await store.outbox.hold(row.id)  # scan-b's is for another channel: no thread there
    assert [t.scan_id for t in await store.threads.with_held_alerts()] == ["scan-a"]
