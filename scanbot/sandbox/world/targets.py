"""The account's targets: a large, seeded pool of hosts and URLs, and why some get skipped.

Pure: a pool entry is a function of the seed and its index, so the pool costs no memory.
Small scans draw their targets from a window at the start of the pool, so targets recur
across scans as a real account's do; a fixed few entries are hostile strings.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from scanbot.sandbox.world.ids import POOL, SKIP, TARGET_ID, IdCodec, mix
from scanbot.sandbox.world.vocabulary import HOSTILE_STRINGS

POOL_SIZE = 1 << 20
# Pool slots that hold a hostile string, inside the window small scans draw targets from.
HOSTILE_SLOTS = {5: 0, 37: 1, 71: 2, 101: 3, 139: 4, 167: 5, 199: 6, 233: 7}
_HOSTILE_STRIDE = 4099  # beyond the window, one pool entry in this many is hostile too
# Web scanners are given URLs; the others hosts.
URL_TYPES = frozenset({"OWASP_ZAP", "OWASP_ZAP_ACTIVE"})

_SKIPPED_REASONS = (
    "Target does not resolve to an IP address",
    "Target is not verified",
    "Private IP addresses cannot be scanned by the cloud scanner",
    "Target is on the account's exclusion list",
    "Connection refused on every port tried",
)
_WORDS = ("www", "api", "shop", "mail", "vpn", "portal", "app", "cdn", "admin", "git", "status")
_DOMAINS = ("example.com", "example.org", "example.net", "acme-corp.example", "staging.example")
_URL_PATHS = ("", "", "login", "app/", "api/v2/")
_TAGS = ("prod", "staging", "external", "internal", "pci")
_LABELS = ("", "", "", "Production web", "Payments", "Office VPN", "Customer portal")


class Target(NamedTuple):
    target_id: str
    target: str
    resolved: str
    label: str
    tags: tuple[str, ...]


NO_TARGET = Target("", "", "", "", ())


def pool_target(ids: IdCodec, index: int, as_url: bool) -> Target:
    """Entry `index` of the account's targets, as a host or (for web scans) a URL."""
    h = mix(ids.seed, POOL, index)
    target_id = ids.encode(TARGET_ID, index * 2 + as_url)
    label = _LABELS[(h >> 40) % len(_LABELS)]
    tags = tuple(tag for bit, tag in enumerate(_TAGS) if (h >> (48 + 2 * bit)) & 3 == 0)
    hostile = HOSTILE_SLOTS.get(index)
    if hostile is None and index % _HOSTILE_STRIDE == 2047:
        hostile = (index // _HOSTILE_STRIDE) % len(HOSTILE_STRINGS)
    if hostile is not None:
        text = HOSTILE_STRINGS[hostile]
        return Target(target_id, text, text, label, tags)
    ip = ("203.0.113." if h & 1 else "198.51.100.") + str((h >> 1) % 254 + 1)
    kind = (h >> 8) % 10
    if kind < 6:
        host = f"{_WORDS[(h >> 12) % len(_WORDS)]}-{(h >> 16) % 100}"
        host += f".{_DOMAINS[(h >> 24) % len(_DOMAINS)]}"
    elif kind < 8:
        host = ip
    elif kind < 9:
        host = ip = f"2001:db8::{(h >> 16) % 0xFFFF:x}"
    else:
        host = f"{_WORDS[(h >> 12) % len(_WORDS)]}.eu-{(h >> 16) % 4}.internal.example.com"
    if as_url:
        if ":" in host:
            url = f"http://[{host}]:8080/"
        else:
            url = f"https://{host}/{_URL_PATHS[(h >> 32) % len(_URL_PATHS)]}"
        return Target(target_id, url, url, label, tags)
    return Target(target_id, host, ip, label, tags)


def custom_target(seed: int, text: str) -> Target:
    """A target given by name (a started or added scan's): its id is a digest of the name."""
    digest = hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=12).hexdigest()
    return Target(digest, text, text, "", ())


def skipped_targets(seed: int, seq: int, targets: list[Target]) -> dict[str, str]:
    """target_id -> why the scanner skipped it; hostile targets are skipped more often."""
    skipped: dict[str, str] = {}
    for slot, target in enumerate(targets):
        h = mix(seed, SKIP, seq, slot)
        hostile = target.target in HOSTILE_STRINGS
        if h % 100 < (40 if hostile else 6):
            reasons = HOSTILE_STRINGS if (h >> 8) % 8 == 0 else _SKIPPED_REASONS
            skipped[target.target_id] = reasons[(h >> 16) % len(reasons)]
    return skipped
