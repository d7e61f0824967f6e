"""THE order of risks by severity, used by routing filters, alert risk lists, triage risk
lists and held-alert summaries alike.

Known threat levels rank LOW < MEDIUM < HIGH. Anything else ranks above HIGH, and that
includes two cases on purpose: a level HostedScan adds later (CRITICAL) and an empty level
(the risk's details could not be had). Such a risk passes every severity filter and sorts
first: better a risk too many at the top of a list than a serious one filtered out or
buried at the bottom. Case and surrounding blanks are ignored.
"""

from __future__ import annotations

import math

from scanbot.domain.events import RiskDetail

# Known threat levels, least severe first.
SEVERITY_ORDER = ("LOW", "MEDIUM", "HIGH")
UNKNOWN_RANK = len(SEVERITY_ORDER)


def severity_rank(threat_level: str) -> int:
    """LOW 0 < MEDIUM 1 < HIGH 2 < anything else, the empty level included (3)."""
    level = threat_level.strip().upper()
    return SEVERITY_ORDER.index(level) if level in SEVERITY_ORDER else UNKNOWN_RANK


def cvss_score(value: str | None) -> float | None:
    """A CVSS score as a number; None when missing, not a number, or not finite."""
    if value is None:
        return None
    try:
        score = float(value)
    except ValueError:
        return None
    return score if math.isfinite(score) else None


def most_severe_first(detail: RiskDetail) -> tuple[int, bool, float, str]:
    """Sort key: most severe first, then highest CVSS (a missing or non-numeric score
    last), then risk id, so equal risks always come out in one order."""
    score = cvss_score(detail.cvss)
    return (-severity_rank(detail.threat_level), score is None, -(score or 0.0), detail.risk_id)
