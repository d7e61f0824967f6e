"""HostedScan's words as the sandbox speaks them: scan types, states, threat levels, files.

The service's vocabulary is spelled out here, not imported from the client's models: the
sandbox stands in for the service, so a mistake in the client must not be copied into it.
"""

from __future__ import annotations

from typing import Any

SCAN_TYPES = ("NMAP", "NMAP_UDP", "OPENVAS", "OWASP_ZAP", "OWASP_ZAP_ACTIVE", "SSLYZE")
QUEUED, RUNNING, SUCCEEDED, FAILED, OVER_LIMIT = (
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "OVER_LIMIT",
)
SCAN_STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, OVER_LIMIT)
# The states a generated scan ends in; a scan stores its index into this tuple.
FINAL_STATES = (SUCCEEDED, FAILED, OVER_LIMIT)
THREAT_LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")  # CRITICAL: undocumented, and rare
RESULT_TYPES = ("text/html", "application/pdf", "application/xml", "application/json")

# Strings a renderer must neutralise; a small, fixed share of targets, skipped reasons and
# risk titles is one of these.
HOSTILE_STRINGS = (
    "<!channel>",
    "<!here>",
    "<https://evil.example|bank.com>",
    "*bold* _it_ ~s~ `code`",
    "&amp; & < >",
    ("a-very-long-host-name-" * 14)[:292] + ".example",
    "🔥 déjà-vu 🚀 scan.example.com",
    "\u202emoc.elpmaxe\u202c שלום مرحبا.example",
)

JSON = dict[str, Any]
