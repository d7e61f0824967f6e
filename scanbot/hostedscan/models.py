"""Pydantic models of HostedScan's objects, tolerant of what the real service sends.

Unknown `type` / `state` / `threat_level` values are kept as strings, missing or null
lists become empty, text that is missing, null or not text reads as "", `progress` may be
absent, and extra fields are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, GetCoreSchemaHandler
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic_core import core_schema


class ScanType(StrEnum):
    NMAP = "NMAP"
    NMAP_UDP = "NMAP_UDP"
    OPENVAS = "OPENVAS"
    OWASP_ZAP = "OWASP_ZAP"
    OWASP_ZAP_ACTIVE = "OWASP_ZAP_ACTIVE"
    SSLYZE = "SSLYZE"


class ScanState(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    OVER_LIMIT = "OVER_LIMIT"

    @property
    def is_active(self) -> bool:
        return self in (ScanState.QUEUED, ScanState.RUNNING)


ACTIVE_STATES = frozenset({ScanState.QUEUED, ScanState.RUNNING})
FINAL_STATES = frozenset({ScanState.SUCCEEDED, ScanState.FAILED, ScanState.OVER_LIMIT})


def _none_to_empty_list(value: Any) -> Any:
    return [] if value is None else value


class _EmptyWhenNotText:
    """Text the service may omit, send as null or as something else: read as "". Done by
    pydantic-core itself (a default on error), not by a Python validator per field: a
    listing has some 35 such fields per scan, and a Python call for each was a quarter of
    validating it (0.42 -> 0.31 s per 10,000 scans)."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_default_schema(handler(source), default="", on_error="default")


# Marks a list the service may omit or send as null.
OrEmpty = BeforeValidator(_none_to_empty_list)


Text = Annotated[str, _EmptyWhenNotText]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


@pydantic_dataclass(frozen=True, slots=True, config=ConfigDict(extra="ignore"))
class RiskRef:
    """One risk id in a scan's lists: a slotted dataclass, not a model. A listing holds
    some 15 per scan; as models they were a quarter of validating it (0.31 -> 0.23 s per
    10,000 scans)."""

    risk_id: str


class ScanRisks(_Model):
    new_open: Annotated[list[RiskRef], OrEmpty] = Field(default_factory=list)
    still_open: Annotated[list[RiskRef], OrEmpty] = Field(default_factory=list)
    closed: Annotated[list[RiskRef], OrEmpty] = Field(default_factory=list)


class ResultFile(_Model):
    result_id: str
    content_type: Text = ""


class RequestedTarget(_Model):
    target_id: Text = ""
    target: Text = ""


class ResolvedTarget(_Model):
    target_id: Text = ""
    resolved_target: Text = ""


class SkippedTarget(_Model):
    target_id: Text = ""
    skipped_reason: Text = ""


def _risks_or_empty(value: Any) -> Any:
    return {} if value is None else value


class ScanHead(_Model):
    """What the alert poller needs of a scan: its listing parses only this (a `Scan` is
    one too). The result files and resolved and skipped targets are left unread."""

    id: str
    # Kept as the service's string: a type or state this code does not know must
    # survive parsing. Use `known_type` / `known_state` to branch on them.
    type: Text = ""
    state: Text = ""
    progress: float | None = None
    risks: Annotated[ScanRisks, BeforeValidator(_risks_or_empty)] = Field(default_factory=ScanRisks)
    requested_targets: Annotated[list[RequestedTarget], OrEmpty] = Field(default_factory=list)

    @property
    def known_type(self) -> ScanType | None:
        try:
            return ScanType(self.type)
        except ValueError:
            return None

    @property
    def known_state(self) -> ScanState | None:
        try:
            return ScanState(self.state)
        except ValueError:
            return None


class Scan(ScanHead):
    results: Annotated[list[ResultFile], OrEmpty] = Field(default_factory=list)
    resolved_targets: Annotated[list[ResolvedTarget], OrEmpty] = Field(default_factory=list)
    skipped_targets: Annotated[list[SkippedTarget], OrEmpty] = Field(default_factory=list)


class ScanPage(_Model):
    """One page of `GET /v1/scans`; `next_page_token` is None on the last page."""

    scans: list[Scan]
    next_page_token: str | None = None


class RiskDefinition(_Model):
    scan_type: Text = ""
    title: Text = ""
    threat_level: Text = ""
    description: Text = ""
    solution: Text = ""
    references: Annotated[list[str], OrEmpty] = Field(default_factory=list)
    cvss: str | None = None
    first_detected_at: str | None = None
    last_detected_at: str | None = None


class Acceptance(_Model):
    """One entry of a risk's `accepted_by`: why and when someone accepted it in HostedScan."""

    note: Text = ""
    created_at: str | None = None
    last_updated_at: str | None = None


class Risk(_Model):
    id: str
    target_id: Text = ""
    target: Text = ""
    target_label: Text = ""
    tags: Annotated[list[str], OrEmpty] = Field(default_factory=list)
    status: Text = ""
    is_accepted: bool | None = None
    accepted_by: Annotated[list[Acceptance], OrEmpty] = Field(default_factory=list)
    first_detected_at: str | None = None
    last_detected_at: str | None = None
    risk_definition: Annotated[RiskDefinition, BeforeValidator(_risks_or_empty)] = Field(
        default_factory=RiskDefinition
    )

    @property
    def detected_at(self) -> str | None:
        """The sample responses put this at the top level or inside the definition."""
        return self.last_detected_at or self.risk_definition.last_detected_at

    @property
    def first_detected(self) -> datetime | None:
        """When the risk was first detected (top level or inside the definition), or None."""
        return parse_time(self.first_detected_at or self.risk_definition.first_detected_at)

    @property
    def last_detected(self) -> datetime | None:
        return parse_time(self.detected_at)

    @property
    def is_open(self) -> bool:
        return self.status == "OPEN"

    @property
    def accepted(self) -> bool:
        """Accepted in HostedScan: not to be alerted on or counted as overdue."""
        return bool(self.is_accepted)


class RiskPage(_Model):
    """One page of `GET /v1/risks`; `next_page_token` is None on the last page."""

    risks: list[Risk]
    next_page_token: str | None = None


class Target(_Model):
    """A target of the account: an IPv4 address, URL or domain name, with its label and tags."""

    id: str
    target: Text = ""
    label: Text = ""
    tags: Annotated[list[str], OrEmpty] = Field(default_factory=list)


class TargetPage(_Model):
    """One page of `GET /v1/targets`; `next_page_token` is None on the last page."""

    targets: list[Target]
    next_page_token: str | None = None


@dataclass(frozen=True)
class ReportFile:
    """A report from `GET /v1/reports/:id`: the file's bytes and the type the service gave."""

    report_id: str
    content: bytes
    content_type: str


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 moment as an aware datetime (UTC if it names no zone); None if unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
