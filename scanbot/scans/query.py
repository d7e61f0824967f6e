"""What `/scans` asks for: a filter over states, types and `scheduled_by`, in the API's terms."""

from __future__ import annotations

from dataclasses import dataclass

from scanbot.hostedscan.models import ScanState, ScanType

# How a type or state reads in a sentence; unknown values read as themselves.
TYPE_NAMES: dict[str, str] = {
    ScanType.NMAP: "NMAP",
    ScanType.NMAP_UDP: "NMAP UDP",
    ScanType.OPENVAS: "OpenVAS",
    ScanType.OWASP_ZAP: "OWASP ZAP",
    ScanType.OWASP_ZAP_ACTIVE: "OWASP ZAP active",
    ScanType.SSLYZE: "SSLyze",
}
STATE_NAMES: dict[str, str] = {
    ScanState.QUEUED: "queued",
    ScanState.RUNNING: "running",
    ScanState.SUCCEEDED: "succeeded",
    ScanState.FAILED: "failed",
    ScanState.OVER_LIMIT: "over limit",
}


def type_name(scan_type: str) -> str:
    return TYPE_NAMES.get(scan_type, scan_type or "unknown type")


def state_name(state: str) -> str:
    return STATE_NAMES.get(state, state.lower() if state else "unknown state")


def _or_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass(frozen=True)
class ScanQuery:
    """OR within each tuple, AND across them; an empty tuple means no filter on that key.

    Values are the API's spellings (`OWASP_ZAP`, `OVER_LIMIT`); `scheduled_by` is opaque
    and keeps its case. Tuples are sorted and de-duplicated by the parser.
    """

    states: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    scheduled_by: tuple[str, ...] = ()

    def filters(self) -> dict[str, list[str]]:
        """The API's `filters` object (before JSON encoding); keys only for set filters."""
        pairs = {"state": self.states, "type": self.types, "scheduled_by": self.scheduled_by}
        return {key: list(values) for key, values in pairs.items() if values}

    def describe(self) -> str:
        """The filter in words, e.g. "running or queued OpenVAS scans scheduled by alice".

        Not escaped: `scheduled_by` comes from the user, so renderers escape this.
        """
        words = []
        if self.states:
            words.append(_or_list([state_name(s) for s in self.states]))
        if self.types:
            words.append(_or_list([type_name(t) for t in self.types]))
        if not words:
            words.append("all")
        words.append("scans")
        if self.scheduled_by:
            words.append("scheduled by " + _or_list(list(self.scheduled_by)))
        return " ".join(words)

    def words(self) -> str:
        """Command text that parses back to this same query (for button values)."""
        parts = [s.lower() for s in self.states] + [t.lower() for t in self.types]
        parts += [f"by:{who}" for who in self.scheduled_by]
        return " ".join(parts)
