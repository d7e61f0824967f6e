"""The client's own small error hierarchy; every HTTP or parsing failure becomes one of these.

Messages never contain the API key or request headers: they are safe to log and to
show to an admin. The user-facing sentences live in `scanbot.slack`, not here.
"""

from __future__ import annotations


class HostedScanError(Exception):
    """Base class: something went wrong talking to HostedScan."""


class InvalidScanId(HostedScanError, ValueError):
    """The id is not a plausible scan id; no request was made."""

    def __init__(self, scan_id: str) -> None:
        super().__init__("scan ids are letters, digits, '_' and '-', at most 128 characters")
        self.scan_id = scan_id


class NotFound(HostedScanError):
    """404: no resource at that path (an unknown scan, risk or result id)."""


class Unauthorized(HostedScanError):
    """401 (or 403): the API key was rejected."""


class BadRequest(HostedScanError):
    """400: HostedScan refused the parameters (a filter it does not know, say)."""


class RateLimited(HostedScanError):
    """429, still so after the client's retries. `retry_after` is in seconds, if given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(HostedScanError):
    """5xx, timeouts and connection errors, still so after the client's retries."""


class BadResponse(HostedScanError):
    """A 2xx answer that is not JSON, or JSON of the wrong shape."""
