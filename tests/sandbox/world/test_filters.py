"""Listing filters: OR within a key, AND across keys, refused when the API would refuse."""

from __future__ import annotations

from typing import Any

import pytest

from scanbot.sandbox.world import FilterError, SandboxWorld
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
