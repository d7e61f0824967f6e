"""What a risk alert keeps of HostedScan's risk: title, level, target, CVSS, acceptance."""

from __future__ import annotations

import pytest

from scanbot.alerts.risks import detail_of
from scanbot.hostedscan import Risk


@pytest.mark.parametrize(("is_accepted", "accepted"), [(True, True), (False, False), (None, False)])
def test_detail_carries_acceptance(is_accepted: bool | None, accepted: bool) -> None:
    risk = Risk.model_validate(
        {
            "id": "r1",
            "target": "app.example.com",
            "status": "OPEN",
            "is_accepted": is_accepted,
            "risk_definition": {"title": "TLS 1.0", "threat_level": "MEDIUM", "cvss": "5.3"},
        }
    )
    detail = detail_of(risk)
    assert (detail.title, detail.threat_level, detail.target, detail.cvss) == (
        "TLS 1.0",
        "MEDIUM",
        "app.example.com",
        "5.3",
    )
    assert detail.accepted is accepted
