"""A small async client for HostedScan's REST API; it knows nothing of Slack."""

from scanbot.hostedscan.client import HostedScanClient, validate_scan_id
from scanbot.hostedscan.errors import (
    BadRequest,
    BadResponse,
    HostedScanError,
    InvalidScanId,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from scanbot.hostedscan.models import Risk, Scan, ScanPage, ScanState, ScanType

__all__ = [
    "BadRequest",
    "BadResponse",
    "HostedScanClient",
    "HostedScanError",
    "InvalidScanId",
    "NotFound",
    "RateLimited",
    "Risk",
    "Scan",
    "ScanPage",
    "ScanState",
    "ScanType",
    "Unauthorized",
    "Unavailable",
    "validate_scan_id",
]
