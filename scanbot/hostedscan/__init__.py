"""A small async client for HostedScan's REST API; it knows nothing of Slack."""

from scanbot.hostedscan.client import HostedScanClient, risk_filters, validate_scan_id
from scanbot.hostedscan.errors import (
    BadRequest,
    BadResponse,
    HostedScanError,
    InvalidRequest,
    InvalidScanId,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from scanbot.hostedscan.models import (
    Acceptance,
    ReportFile,
    Risk,
    RiskPage,
    Scan,
    ScanHead,
    ScanPage,
    ScanState,
    ScanType,
    Target,
    TargetPage,
)
from scanbot.hostedscan.targets import target_problem, unreachable_reason

__all__ = [
    "Acceptance",
    "BadRequest",
    "BadResponse",
    "HostedScanClient",
    "HostedScanError",
    "InvalidRequest",
    "InvalidScanId",
    "NotFound",
    "OutcomeUnknown",
    "RateLimited",
    "ReportFile",
    "Risk",
    "RiskPage",
    "Scan",
    "ScanHead",
    "ScanPage",
    "ScanState",
    "ScanType",
    "Target",
    "TargetPage",
    "Unauthorized",
    "Unavailable",
    "risk_filters",
    "target_problem",
    "unreachable_reason",
    "validate_scan_id",
]
