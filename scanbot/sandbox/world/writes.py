"""The bodies the write endpoints take, checked as the service checks them.

Each check turns a decoded JSON body into a small request, or raises `RequestError` whose
message is the one sentence the 400 answer carries: what was refused and why. Unknown
keys are refused too (the real service may ignore them; refusing catches a client's typo
in tests). Whether ids and tags exist is the world's to judge, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from scanbot.sandbox.world.targets import invalid_target
from scanbot.sandbox.world.vocabulary import SCAN_TYPES, THREAT_LEVELS

MAX_SCAN_TARGETS = 1000  # values in one POST /v1/scans
MAX_TAGS = 10
MAX_LABEL = 256
MAX_TAG = 64
TARGET_KINDS = ("targets", "target_ids", "tags")
REPORT_FORMATS = {"PDF": "application/pdf", "HTML": "text/html"}
# targets_filter key -> the risk filter it becomes (the docs also spell target ids `id`)
TARGETS_FILTER_KEYS = {"target_ids": "target_id", "id": "target_id", "tag": "tags"}
RISKS_FILTER_VALUES: dict[str, tuple[str, ...] | None] = {
    "status": ("OPEN", "CLOSED"),
    "risk_definition.scan_type": SCAN_TYPES,
    "risk_definition.threat_level": THREAT_LEVELS,
    "risk_definition.title": None,  # any title
}


class RequestError(ValueError):
    """A write the API refuses with 400; the message says what and why."""


class ScanRequest(NamedTuple):
    type: str
    kind: str  # one of TARGET_KINDS
    values: tuple[str, ...]
    use_authentication: bool


class TargetRequest(NamedTuple):
    target: str
    label: str | None
    tags: tuple[str, ...] | None


class ReportRequest(NamedTuple):
    report_format: str
    targets_key: str | None  # "target_ids" or "tag"
    targets: tuple[str, ...]
    risks_filter: dict[str, list[str]]


def scan_request(body: Any) -> ScanRequest:
    fields = _object(body, ("type", *TARGET_KINDS, "use_authentication"))
    scan_type = fields.get("type")
    if scan_type is None:
        raise RequestError("type is required: one of " + ", ".join(SCAN_TYPES))
    if not isinstance(scan_type, str) or scan_type not in SCAN_TYPES:
        raise RequestError(f"Unknown scan type: {_shown(scan_type)}")
    given = [kind for kind in TARGET_KINDS if kind in fields]
    if len(given) != 1:
        raise RequestError("Give exactly one of targets, target_ids or tags")
    kind = given[0]
    values = _strings(kind, fields[kind], limit=MAX_SCAN_TARGETS)
    if kind == "targets":
        bad = next((value for value in values if invalid_target(value)), None)
        if bad is not None:
            raise RequestError(
                f"Invalid target: {_shown(bad)} (use an IPv4 address, a URL or a domain name)"
            )
    use_authentication = fields.get("use_authentication", False)
    if not isinstance(use_authentication, bool):
        raise RequestError("use_authentication must be true or false")
    return ScanRequest(scan_type, kind, tuple(dict.fromkeys(values)), use_authentication)


def target_request(body: Any) -> TargetRequest:
    fields = _object(body, ("target", "label", "tags"))
    target = fields.get("target")
    if target is None:
        raise RequestError("target is required: an IPv4 address, a URL or a domain name")
    if not isinstance(target, str) or invalid_target(target):
        raise RequestError(
            f"Invalid target: {_shown(target)} (use an IPv4 address, a URL or a domain name)"
        )
    label = fields.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        raise RequestError(f"label must be text of at most {MAX_LABEL} characters")
    tags = fields.get("tags")
    if tags is not None:
        tags = tuple(dict.fromkeys(_strings("tags", tags, limit=MAX_TAGS, empty=True)))
        if any(len(tag) > MAX_TAG for tag in tags):
            raise RequestError(f"a tag is at most {MAX_TAG} characters")
    return TargetRequest(target, label, tags)


def report_request(body: Any) -> ReportRequest:
    fields = _object(body, ("report_format", "targets_filter", "risks_filter"))
    report_format = fields.get("report_format")
    if not isinstance(report_format, str) or report_format not in REPORT_FORMATS:
        raise RequestError(f"report_format must be PDF or HTML, not {_shown(report_format)}")
    targets_key: str | None = None
    targets: tuple[str, ...] = ()
    if fields.get("targets_filter") is not None:
        targets_filter = _lists("targets_filter", fields["targets_filter"], TARGETS_FILTER_KEYS)
        if len(targets_filter) != 1:
            raise RequestError("targets_filter takes one of target_ids or tag")
        ((targets_key, values),) = targets_filter.items()
        targets = tuple(values)
    risks_filter: dict[str, list[str]] = {}
    if fields.get("risks_filter") is not None:
        risks_filter = _lists("risks_filter", fields["risks_filter"], RISKS_FILTER_VALUES)
        for key, values in risks_filter.items():
            allowed = RISKS_FILTER_VALUES[key]
            wrong = next((v for v in values if allowed is not None and v not in allowed), None)
            if wrong is not None:
                raise RequestError(f"risks_filter {key} cannot be {_shown(wrong)}")
    return ReportRequest(str(report_format), targets_key, targets, risks_filter)


def _object(body: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise RequestError("The body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise RequestError(f"Unknown field: {_shown(unknown[0])}")
    return body


def _lists(name: str, value: Any, allowed: Mapping[str, object]) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise RequestError(f"{name} must be an object of lists")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise RequestError(f"Unknown {name} key: {_shown(unknown[0])}")
    return {key: _strings(f"{name} {key}", values) for key, values in value.items()}


def _strings(name: str, value: Any, *, limit: int | None = None, empty: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise RequestError(f"{name} must be a list of non-empty strings")
    if not value and not empty:
        raise RequestError(f"{name} must not be empty")
    if limit is not None and len(value) > limit:
        raise RequestError(f"{name} takes at most {limit} values, not {len(value)}")
    return value


def _shown(value: object) -> str:
    """A value quoted into a refusal: as JSON would show it, cut short."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
