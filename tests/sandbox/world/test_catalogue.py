"""The risk catalogue: the shipped file covers every scan type; a bad file is refused."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from scanbot.sandbox.world.catalogue import CATALOGUE_FILE, Catalogue, load_catalogue
from scanbot.sandbox.world.vocabulary import HOSTILE_STRINGS, SCAN_TYPES

DEFINITION = {
    "title": "A finding",
    "threat_level": "LOW",
    "cvss": None,
    "description": "What it is.",
    "solution": "What to do.",
    "references": [],
}


def test_the_catalogue_ships_as_package_data() -> None:
    path = resources.files("scanbot.sandbox.world").joinpath(CATALOGUE_FILE)
    assert path.is_file()
    assert Catalogue.model_validate_json(path.read_text("utf-8")) == load_catalogue()


def test_every_scan_type_has_definitions_and_critical_ones_are_apart() -> None:
    catalogue = load_catalogue()
    assert set(catalogue.by_scan_type) == set(SCAN_TYPES)
    levels = {d.threat_level for defs in catalogue.by_scan_type.values() for d in defs}
    assert levels == {"LOW", "MEDIUM", "HIGH"}
    assert catalogue.critical
    assert {d.threat_level for d in catalogue.critical.values()} == {"CRITICAL"}
    with_info = [d for d in catalogue.everything if d.additional_info]
    assert with_info
    assert all(isinstance(v, str) for d in with_info for v in d.additional_info.values())


def test_a_type_with_no_definitions_of_its_own_draws_from_all() -> None:
    catalogue = load_catalogue()
    assert catalogue.for_type("NMAP") == catalogue.by_scan_type["NMAP"]
    assert catalogue.for_type("NMAP_TCP_V2") == catalogue.everything
    assert len(catalogue.everything) == sum(len(d) for d in catalogue.by_scan_type.values())


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        pytest.param(
            {"by_scan_type": {"NMAPP": [DEFINITION]}, "critical": {}},
            "unknown scan types: NMAPP",
            id="unknown-scan-type",
        ),
        pytest.param(
            {"by_scan_type": {"NMAP": [{**DEFINITION, "threat_level": "SEVERE"}]}, "critical": {}},
            "threat_level must be one of",
            id="unknown-threat-level",
        ),
        pytest.param(
            {"by_scan_type": {"NMAP": []}, "critical": {}},
            "at least 1 item",
            id="type-without-definitions",
        ),
        pytest.param(
            {"by_scan_type": {"NMAP": [{**DEFINITION, "severity": "x"}]}, "critical": {}},
            "Extra inputs are not permitted",
            id="unknown-field",
        ),
        pytest.param(
            {"by_scan_type": {"NMAP": [{**DEFINITION, "title": ""}]}, "critical": {}},
            "at least 1 character",
            id="empty-title",
        ),
        pytest.param(
            {"by_scan_type": {}, "critical": {"SSLYZE": {**DEFINITION, "references": "x"}}},
            "references",
            id="references-not-a-list",
        ),
    ],
)
def test_a_bad_catalogue_is_refused(document: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Catalogue.model_validate_json(json.dumps(document))


def test_pick_draws_the_types_definitions_a_rare_critical_and_hostile_titles() -> None:
    catalogue = load_catalogue()
    picks = [catalogue.pick("OPENVAS", h * 0x9E3779B97F4A7C15 % 2**64) for h in range(4000)]
    definitions = {d.title for d, _ in picks}
    assert definitions <= {d.title for d in catalogue.for_type("OPENVAS")} | {
        catalogue.critical["OPENVAS"].title
    }
    critical = sum(d.threat_level == "CRITICAL" for d, _ in picks)
    assert 0 < critical < len(picks) / 40
    hostile = [title for d, title in picks if title != d.title]
    assert hostile
    assert set(hostile) <= set(HOSTILE_STRINGS)
    assert picks == [catalogue.pick("OPENVAS", h * 0x9E3779B97F4A7C15 % 2**64) for h in range(4000)]
