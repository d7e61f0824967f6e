"""The client's own small error hierarchy; every HTTP or parsing failure becomes one of these.

Messages never contain the API key or request headers: they are safe to log and to
show to an admin. The user-facing sentences live in `scanbot.slack`, not here.
"""

from __future__ import annotations


class HostedScanError(Exception):
    """Base class: something went wrong talking to HostedScan."""


class InvalidScanId(HostedScanError, ValueError):
    """The id is not a plausible HostedScan id (of a scan, risk, target...); no request was made."""

    def __init__(self, scan_id: str, kind: str = "scan") -> None:
        super().__init__(f"{kind} ids are letters, digits, '_' and '-', at most 128 characters")
        self.scan_id = scan_id
        self.kind = kind


class InvalidRequest(HostedScanError, ValueError):
    """The caller asked for something the API cannot take (no targets, two kinds of targets,
    an unknown report format...); no request was made. The message says what, in words."""


class NotFound(HostedScanError):
    """404: no resource at that path (an unknown scan, risk or result id)."""


class Unauthorized(HostedScanError):
    """401 (or 403): the API key was rejected."""


class BadRequest(HostedScanError):
    """400 (or another 4xx): HostedScan refused the request.

    `reason` is what HostedScan said it refused, taken from the body whatever its shape,
    cleaned to one line of at most `REASON_MAX` characters with the key scrubbed: safe to
    show a user once escaped for the medium. None when the body said nothing usable.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class RateLimited(HostedScanError):
    """429, still so after the client's retries. `retry_after` is in seconds, if given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(HostedScanError):
    """5xx, timeouts and connection errors, still so after the client's retries."""


class OutcomeUnknown(Unavailable):
    """A write (POST) failed after it may have reached HostedScan: a timeout, a dropped
    connection, a 5xx. It was not retried, since that could do it twice; whether it took
    effect is unknown (look before trying again: a scan may have started)."""


class BadResponse(HostedScanError):
    """A 2xx answer that is not JSON, or JSON of the wrong shape."""
