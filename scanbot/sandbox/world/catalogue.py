"""The risk definitions a scan's findings are drawn from, read from `risk_catalogue.json`.

The file maps each scan type to its definitions (`by_scan_type`) and a few types to one
rare CRITICAL definition (`critical`). It is checked when read: an unknown scan type or
threat level, or a type with no definitions, fails loudly instead of skewing the draws.
"""

from __future__ import annotations

from functools import cache, cached_property
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scanbot.sandbox.world.vocabulary import HOSTILE_STRINGS, SCAN_TYPES, THREAT_LEVELS

CATALOGUE_FILE = "risk_catalogue.json"


class RiskDefinition(BaseModel):
    """One kind of finding: what `risk_definition` says of every risk of this kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    threat_level: str
    cvss: str | None
    description: str
    solution: str
    references: tuple[str, ...]
    additional_info: dict[str, str] = {}

    @field_validator("threat_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level not in THREAT_LEVELS:
            raise ValueError(f"threat_level must be one of {', '.join(THREAT_LEVELS)}")
        return level


class Catalogue(BaseModel):
    """The risk definitions each scan type draws from, and the rare critical ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by_scan_type: dict[str, Annotated[tuple[RiskDefinition, ...], Field(min_length=1)]]
    # Rare, and with a threat level the API does not document.
    critical: dict[str, RiskDefinition]

    @field_validator("by_scan_type", "critical")
    @classmethod
    def _known_types(cls, table: dict[str, object]) -> dict[str, object]:
        unknown = set(table) - set(SCAN_TYPES)
        if unknown:
            raise ValueError(f"unknown scan types: {', '.join(sorted(unknown))}")
        return table

    @cached_property
    def everything(self) -> tuple[RiskDefinition, ...]:
        """What a scan of a type with no definitions of its own draws from."""
        return tuple(d for defs in self.by_scan_type.values() for d in defs)

    def for_type(self, scan_type: str) -> tuple[RiskDefinition, ...]:
        return self.by_scan_type.get(scan_type, self.everything)

    def pick(self, scan_type: str, h: int) -> tuple[RiskDefinition, str]:
        """A finding's definition and title, drawn from the hash `h`: now and then the type's
        rare critical definition, now and then a hostile title in place of the usual one."""
        critical = self.critical.get(scan_type)
        if critical is not None and h % 89 == 0:
            definition = critical
        else:
            choices = self.for_type(scan_type)
            definition = choices[(h >> 4) % len(choices)]
        if (h >> 12) % 41 == 7:
            return definition, HOSTILE_STRINGS[(h >> 20) % len(HOSTILE_STRINGS)]
        return definition, definition.title


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package, read once."""
    text = resources.files("scanbot.sandbox.world").joinpath(CATALOGUE_FILE).read_text("utf-8")
    return Catalogue.model_validate_json(text)
