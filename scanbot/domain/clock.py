"""The one notion of "now" the layers share: an aware datetime in the machine's zone."""

from __future__ import annotations

from datetime import datetime


def utcnow() -> datetime:
    """Now, aware (stored as UTC; see store.schema.UTCDateTime)."""
    return datetime.now().astimezone()
