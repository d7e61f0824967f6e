"""A simulated HostedScan account for the sandbox: `SandboxWorld` and its `SimClock`.

`account` is the facade; the other modules are its parts (see its docstring). The risk
definitions live in `risk_catalogue.json`, shipped as package data.
"""

from scanbot.sandbox.world.account import REPORT_ROWS, ReportAnswer, SandboxWorld
from scanbot.sandbox.world.clock import EPOCH, SimClock
from scanbot.sandbox.world.filters import (
    RISK_FILTER_KEYS,
    SCAN_FILTER_KEYS,
    FilterError,
    Filters,
)
from scanbot.sandbox.world.quota import DEFAULT_PERIOD
from scanbot.sandbox.world.registry import TARGET_FILTER_KEYS, TargetExists
from scanbot.sandbox.world.vocabulary import (
    FAILED,
    HOSTILE_STRINGS,
    JSON,
    OVER_LIMIT,
    QUEUED,
    RESULT_TYPES,
    RUNNING,
    SCAN_STATES,
    SCAN_TYPES,
    SUCCEEDED,
    THREAT_LEVELS,
)
from scanbot.sandbox.world.writes import RequestError

__all__ = [
    "DEFAULT_PERIOD",
    "EPOCH",
    "FAILED",
    "HOSTILE_STRINGS",
    "JSON",
    "OVER_LIMIT",
    "QUEUED",
    "REPORT_ROWS",
    "RESULT_TYPES",
    "RISK_FILTER_KEYS",
    "RUNNING",
    "SCAN_FILTER_KEYS",
    "SCAN_STATES",
    "SCAN_TYPES",
    "SUCCEEDED",
    "TARGET_FILTER_KEYS",
    "THREAT_LEVELS",
    "FilterError",
    "Filters",
    "ReportAnswer",
    "RequestError",
    "SandboxWorld",
    "SimClock",
    "TargetExists",
]
