"""The scan table: rows by creation order, existence over time, ids, targets, overrides."""

from __future__ import annotations

from typing import Any

from scanbot.sandbox.world.ids import SCAN_ID, IdCodec
from scanbot.sandbox.world.phases import Phase
from scanbot.sandbox.world.population import ScanParams
from scanbot.sandbox.world.table import FixedScan, Override, ScanTable, name_index
from scanbot.sandbox.world.vocabulary import QUEUED, RUNNING, SCAN_TYPES


def row(**changes: Any) -> ScanParams:
    params = ScanParams(
        type_ix=0,
        final_ix=0,
        queue_s=10.0,
        run_s=100.0,
        fail_at=50,
        n_targets=2,
        target_start=0,
        sched_ix=0,
        n_risks=4,
    )
    return params._replace(**changes)


def test_rows_are_named_by_creation_order_and_ids_lead_back() -> None:
    table = ScanTable(IdCodec(1))
    assert [table.append(row(), -10.0), table.append(row(type_ix=2), -5.0)] == [0, 1]
    assert len(table) == 2
    assert table.type_name(1) == SCAN_TYPES[2]
    assert table.seq_of(table.scan_id(1), 0.0) == 1
    assert table.scan_id(0) == IdCodec(1).encode(SCAN_ID, 0)
    assert table.seq_of(IdCodec(2).encode(SCAN_ID, 0), 0.0) is None
    assert table.seq_of(table.ids.encode(SCAN_ID, 7), 0.0) is None  # no such row


def test_a_scan_exists_from_its_creation_until_removed() -> None:
    table = ScanTable(IdCodec(1))
    seq = table.append(row(), 50.0)
    assert not table.exists(seq, 49.0)
    assert table.seq_of(table.scan_id(seq), 49.0) is None
    assert table.exists(seq, 50.0)
    table.overrides[seq] = Override(removed=True)
    assert not table.exists(seq, 50.0)
    assert not table.exists(-1, 50.0)


def test_an_added_scan_answers_to_its_given_id_only() -> None:
    table = ScanTable(IdCodec(1))
    seq = table.append(row(), 0.0)
    table.overrides[seq] = Override(state="PAUSED", fixed=FixedScan("mine", (), {}))
    table.custom_ids["mine"] = seq
    assert table.scan_id(seq) == "mine"
    assert table.seq_of("mine", 0.0) == seq
    assert table.seq_of(table.ids.encode(SCAN_ID, seq), 0.0) is None


def test_counts_are_capped_to_what_the_arrays_hold() -> None:
    table = ScanTable(IdCodec(1))
    seq = table.append(row(n_targets=70_000, n_risks=1 << 20), 0.0)
    assert (table.n_targets[seq], table.n_risks[seq]) == (0xFFFF, 0xFFFF)


def test_phase_follows_the_clock_unless_frozen() -> None:
    table = ScanTable(IdCodec(1))
    seq = table.append(row(), 0.0)
    assert table.phase(seq, 5.0) == Phase(QUEUED, 0, 0)
    assert table.phase(seq, 60.0) == Phase(RUNNING, 50, 2)
    table.overrides[seq] = Override(state=QUEUED, progress=0)
    assert table.phase(seq, 60.0) == Phase(QUEUED, 0, 0)


def test_targets_come_from_the_pool_or_by_name() -> None:
    table = ScanTable(IdCodec(1))
    pooled = table.append(row(n_targets=3, target_start=300), 0.0)
    named = table.append(row(n_targets=2), 0.0)
    table.custom_targets[named] = ("a.example.com", "<!here>")
    assert len({t.target_id for t in table.targets(pooled)}) == 3
    assert [t.target for t in table.targets(named)] == ["a.example.com", "<!here>"]
    assert table.target_at(pooled, 1) == table.targets(pooled)[1]


def test_an_added_scan_skips_what_it_was_told_by_target_or_id() -> None:
    table = ScanTable(IdCodec(1))
    seq = table.append(row(n_targets=2), 0.0)
    table.custom_targets[seq] = ("a.example.com", "b.example.com")
    skipped = (("b.example.com", "Not verified"), ("t-gone", "Removed"))
    table.overrides[seq] = Override(fixed=FixedScan("x", skipped, {}))
    b_id = table.targets(seq)[1].target_id
    assert table.skipped(seq, table.targets(seq)) == {b_id: "Not verified", "t-gone": "Removed"}


def test_name_index_finds_or_appends() -> None:
    names = ["a", "b"]
    assert name_index(names, "b") == 1
    assert name_index(names, "c") == 2
    assert names == ["a", "b", "c"]
