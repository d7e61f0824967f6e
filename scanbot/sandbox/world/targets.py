"""The account's targets: a large, seeded pool of hosts and URLs, and why some get skipped.

Pure: a pool entry is a function of the seed and its index, so the pool costs no memory.
Small scans draw their targets from a window at the start of the pool, so targets recur
across scans as a real account's do; a fixed few entries are hostile strings. A target
given by name (a write's) is checked as the service checks it: an IPv4 or IPv6 address,
an http(s) URL or a domain name; a private address is taken but never scanned.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import NamedTuple
from urllib.parse import urlsplit

from scanbot.sandbox.world.ids import POOL, SKIP, TARGET_ID, IdCodec, mix
from scanbot.sandbox.world.vocabulary import HOSTILE_STRINGS, JSON

POOL_SIZE = 1 << 20
# Pool slots that hold a hostile string, inside the window small scans draw targets from.
HOSTILE_SLOTS = {5: 0, 37: 1, 71: 2, 101: 3, 139: 4, 167: 5, 199: 6, 233: 7}
_HOSTILE_STRIDE = 4099  # beyond the window, one pool entry in this many is hostile too
# Web scanners are given URLs; the others hosts.
URL_TYPES = frozenset({"OWASP_ZAP", "OWASP_ZAP_ACTIVE"})

PRIVATE_REASON = "Private IP addresses cannot be scanned by the cloud scanner"
_SKIPPED_REASONS = (
    "Target does not resolve to an IP address",
    "Target is not verified",
    PRIVATE_REASON,
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


def target_json(target: Target) -> JSON:
    """A target as `GET /v1/targets` shows it."""
    return {
        "id": target.target_id,
        "target": target.target,
        "label": target.label,
        "tags": list(target.tags),
    }


MAX_TARGET_LENGTH = 2048
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# What the cloud scanner cannot reach: RFC 1918, loopback, link-local, shared, unspecified,
# multicast and reserved space, and their IPv6 kin. Documentation ranges count as public.
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/127",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


def invalid_target(text: str) -> bool:
    """True unless `text` is an IP address, an http(s) URL with a valid host, or a domain."""
    if not text or len(text) > MAX_TARGET_LENGTH or any(c.isspace() for c in text):
        return True
    host: str | None = text
    if "://" in text:
        try:
            parts = urlsplit(text)
            host = parts.hostname
            _ = parts.port  # a port that is not a number raises
        except ValueError:
            return True
        if parts.scheme not in ("http", "https"):
            return True
    return not host or (_address(host) is None and not _domain(host))


def unreachable(text: str) -> bool:
    """A private (or loopback, link-local...) address, or localhost: taken, never scanned."""
    host: str | None = text
    if "://" in text:
        try:
            host = urlsplit(text).hostname
        except ValueError:
            return False
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    address = _address(host)
    return address is not None and any(address in net for net in _PRIVATE_NETWORKS)


def _domain(text: str) -> bool:
    try:
        labels = text.rstrip(".").encode("idna").decode("ascii").split(".")
    except UnicodeError:
        return False
    if len(labels) < 2 or labels[-1].isdigit() or sum(map(len, labels)) > 253:
        return False
    return all(_DNS_LABEL.fullmatch(label) for label in labels)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
