"""Listing filters: OR within a key, AND across keys, refused when the API would refuse."""

from __future__ import annotations

from typing import Any

import pytest

from scanbot.sandbox.world import FilterError, SandboxWorld
from scanbot.sandbox.world.filters import (
    RISK_FILTER_KEYS,
    SCAN_FILTER_KEYS,
    matching_scans,
    name_indexes,
    parse_filters,
)
from scanbot.sandbox.world.ids import IdCodec
from scanbot.sandbox.world.population import ScanParams
from scanbot.sandbox.world.table import Override, ScanTable
from tests.sandbox.world.conftest import frozen


def test_filters_or_within_a_key_and_across_keys(world: SandboxWorld) -> None:
    scans = world.list_scans(None)
    got = world.list_scans({"state": ["SUCCEEDED", "FAILED"], "type": ["NMAP"]})
    expected = [s for s in scans if s["state"] in ("SUCCEEDED", "FAILED") and s["type"] == "NMAP"]
    assert got == expected
    assert got
    assert world.list_scans({"state": ["succeeded"]}) == []  # spelled as the API spells it
    assert world.list_scans({"state": []}) == []


def test_scheduled_by_filters_without_being_shown() -> None:
    world = frozen()
    mine = world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x"], scheduled_by="bot")
    assert [s["id"] for s in world.list_scans({"scheduled_by": ["bot"]})] == [mine]
    by_schedule = world.list_scans({"scheduled_by": ["schedule"]})
    by_api = world.list_scans({"scheduled_by": ["api"]})
    assert by_schedule
    assert by_api
    both = world.list_scans({"scheduled_by": ["schedule", "api"]})
    assert len(both) == len(by_schedule) + len(by_api)


@pytest.mark.parametrize(
    "filters",
    [{"colour": ["red"]}, {"state": "RUNNING"}, {"state": [1]}, ["state"]],
)
def test_bad_filters_are_refused(world: SandboxWorld, filters: Any) -> None:
    with pytest.raises(FilterError):
        world.list_scans(filters)


# --- Parsing and the listing loop on their own -----------------------------------------


def test_parsed_filters_are_sets_and_an_empty_list_stays_empty() -> None:
    assert parse_filters(None, SCAN_FILTER_KEYS) == {}
    assert parse_filters({"state": ["A", "B", "A"], "type": ()}, SCAN_FILTER_KEYS) == {
        "state": frozenset({"A", "B"}),
        "type": frozenset(),
    }


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        pytest.param({"colour": ["red"]}, "Unknown filter key: colour", id="unknown-key"),
        pytest.param({"state": "RUNNING"}, "Filter state must be a list", id="a-string"),
        pytest.param({"state": b"RUNNING"}, "Filter state must be a list", id="bytes"),
        pytest.param({"state": 3}, "Filter state must be a list", id="a-number"),
        pytest.param({"state": ["A", 1]}, "Filter state must be a list", id="not-all-strings"),
        pytest.param(["state"], "filters must be a JSON object", id="not-an-object"),
    ],
)
def test_parse_refuses_what_the_api_refuses(filters: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filters(filters, SCAN_FILTER_KEYS)


def test_risk_keys_are_not_scan_keys() -> None:
    assert parse_filters({"status": ["OPEN"]}, RISK_FILTER_KEYS) == {"status": frozenset({"OPEN"})}
    with pytest.raises(FilterError):
        parse_filters({"status": ["OPEN"]}, SCAN_FILTER_KEYS)


def test_name_indexes() -> None:
    assert name_indexes(["a", "b"], None) is None
    assert name_indexes(["a", "b", "c"], frozenset({"c", "a", "zz"})) == frozenset({0, 2})


def test_the_listing_loop_goes_newest_first_over_scans_that_exist() -> None:
    table = ScanTable(IdCodec(1))
    params = ScanParams(0, 0, 10.0, 100.0, 50, 1, 0, 0, 0)
    for created in (-500.0, -50.0, -5.0, 30.0):  # finished, running, queued, not yet
        table.append(params, created)
    assert list(matching_scans(table, None, 0.0, None)) == [2, 1, 0]
    assert list(matching_scans(table, None, 0.0, 2)) == [1, 0]
    assert list(matching_scans(table, {"state": ["RUNNING", "QUEUED"]}, 0.0, None)) == [2, 1]
    table.overrides[1] = Override(removed=True)
    table.overrides[0] = Override(state="QUEUED", progress=0)
    assert list(matching_scans(table, {"state": ["QUEUED"]}, 0.0, None)) == [2, 0]
    assert list(matching_scans(table, {"type": ["SSLYZE"]}, 0.0, None)) == []
