"""HostedScan's webhook events: check a delivery's signature and freshness, then parse it.

`sign` and `signed_headers` make the same signature, for the sandbox and tests to send
events that `verify` accepts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from scanbot.hostedscan.client import validate_scan_id
from scanbot.hostedscan.errors import InvalidScanId

SIGNATURE_HEADER = "X-HOSTEDSCAN-SIGNATURE"
TIMESTAMP_HEADER = "X-HOSTEDSCAN-TIMESTAMP"
MAX_AGE = timedelta(minutes=5)

# ASCII only: int() would also take " 1", "+1", "1_0" and non-ASCII digits, none of which
# HostedScan sends. 15 digits reach past the year 30000 in milliseconds.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
# Case-insensitive: HostedScan sends lowercase, but "AB" and "ab" are the same byte, so
# refusing uppercase would add no protection and only break a proxy that rewrites it.
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


class WebhookRejected(Exception):
    """The delivery is not a genuine, fresh HostedScan event; answer `status`: 401 when the
    signature or its timestamp is wrong, 400 when a genuine signature covers a body that
    is not an event.

    The reason is words only: never the secret, the signature or the body.
    """

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _text_or_none(value: Any) -> Any:
    # A created_at we cannot read must not refuse the event: HostedScan would retry it for
    # 12 hours. A number (epoch) is kept as text, anything else dropped; the event id, not
    # the time, is what de-duplicates.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


class WebhookEvent(BaseModel):
    """One event as HostedScan posts it: `{id, created_at, type, data}`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    created_at: Annotated[str | None, BeforeValidator(_text_or_none)] = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_scan_event(self) -> bool:
        return self.type.startswith("scan.")

    @property
    def is_risk_event(self) -> bool:
        return self.type.startswith("risk.")

    @property
    def scan_id(self) -> str | None:
        """The scan a scan.* event is about, or None if it has no usable id."""
        scan_id = self.data.get("id")
        if not self.is_scan_event or not isinstance(scan_id, str):
            return None
        try:
            return validate_scan_id(scan_id)
        except InvalidScanId:
            return None


def sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 HostedScan puts in SIGNATURE_HEADER."""
    if not secret:
        raise ValueError("the webhook signing secret is empty")
    message = f"{timestamp_ms}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp_ms: int | None = None) -> dict[str, str]:
    """The signature and timestamp headers for sending `body` as HostedScan would."""
    if timestamp_ms is None:
        timestamp_ms = time.time_ns() // 1_000_000
    return {
        SIGNATURE_HEADER: sign(secret, timestamp_ms, body),
        TIMESTAMP_HEADER: str(timestamp_ms),
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _header(headers: Mapping[str, str], name: str, what: str) -> str:
    """The one value of `name`, matched case-insensitively; missing, empty or repeated is refused.

    A plain dict keeps "x-hostedscan-signature" and "X-HOSTEDSCAN-SIGNATURE" apart, and two
    different signatures leave no good way to choose, so a repeat is refused, not picked.
    """
    values = [value for key, value in headers.items() if key.lower() == name.lower()]
    if not values or not values[0]:
        raise WebhookRejected(f"missing {what}")
    if len(values) > 1:
        raise WebhookRejected(f"repeated {what}")
    return values[0]


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], datetime] = _utc_now,
) -> WebhookEvent:
    """The event in `body` if HostedScan signed it with `secret` within MAX_AGE of `now`.

    `body` must be the raw bytes as received: the signature covers them, not their JSON.
    Raises WebhookRejected otherwise; nothing in the body is read before the check.
    """
    if not secret:
        raise ValueError("the webhook signing secret is empty")
    timestamp = _header(headers, TIMESTAMP_HEADER, "timestamp")
    signature = _header(headers, SIGNATURE_HEADER, "signature")
    if _TIMESTAMP.fullmatch(timestamp) is None:
        raise WebhookRejected("malformed timestamp")
    if _SIGNATURE.fullmatch(signature) is None:
        raise WebhookRejected("malformed signature")
    # Sign the header text as sent, as HostedScan does, not a re-formatted number.
    message = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise WebhookRejected("bad signature")
    _check_fresh(int(timestamp), now())
    try:
        return WebhookEvent.model_validate_json(body)
    except ValidationError as exc:
        raise WebhookRejected("malformed event", status=400) from exc


def _check_fresh(timestamp_ms: int, now: datetime) -> None:
    """Refuse a replay of an old delivery, and a timestamp from the future that outlives one."""
    if now.tzinfo is None:
        raise ValueError("now() must return an aware datetime")
    skew_ms = timestamp_ms - round(now.timestamp() * 1000)
    max_ms = MAX_AGE // timedelta(milliseconds=1)
    if skew_ms < -max_ms:
        raise WebhookRejected("stale timestamp")
    if skew_ms > max_ms:
        raise WebhookRejected("timestamp in the future")
