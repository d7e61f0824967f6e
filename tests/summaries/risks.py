"""Risks as GET /v1/risks returns them, for the summaries' tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scanbot.hostedscan.models import Risk

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def risk(
    n: int,
    level: str = "HIGH",
    *,
    age_days: float | None = 1,
    target: str = "shop.example.com",
    status: str = "OPEN",
    accepted: bool = False,
    scan_type: str = "OPENVAS",
    title: str | None = None,
    **fields: Any,
) -> Risk:
    first = None if age_days is None else (NOW - timedelta(days=age_days)).isoformat()
    return Risk.model_validate(
        {
            "id": f"risk-{n}",
            "target": target,
            "status": status,
            "is_accepted": accepted,
            "first_detected_at": first,
            "risk_definition": {
                "title": title or f"Finding {n}",
                "threat_level": level,
                "scan_type": scan_type,
            },
            **fields,
        }
    )
