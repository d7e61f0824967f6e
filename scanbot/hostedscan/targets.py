"""What HostedScan takes as a target, checked before anything is sent.

HostedScan scans an IPv4 address, a URL or a fully qualified domain name (IPv6 addresses
are taken too). Its cloud scanner cannot reach private, loopback or link-local addresses:
it accepts them and skips them, so a caller may refuse them first. The documentation
ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as public
here, because examples and the sandbox use them.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_TARGET_LENGTH = 2048
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_UNREACHABLE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def target_problem(text: str) -> str | None:
    """Why `text` cannot be a HostedScan target, in words for a user; None if it can."""
    if not isinstance(text, str) or not text.strip():
        return "an empty target"
    if len(text) > MAX_TARGET_LENGTH:
        return f"longer than {MAX_TARGET_LENGTH} characters"
    if any(char.isspace() for char in text):
        return "contains spaces"
    if "://" in text:
        return _url_problem(text)
    if _ip(text) is not None or is_domain_name(text):
        return None
    return "not an IPv4 address, URL or domain name"


def unreachable_reason(text: str) -> str | None:
    """Why HostedScan's cloud scanner would skip this target (a private address, say), or None."""
    host = _host(text)
    if host is None:
        return None
    if host.lower().rstrip(".") in _LOCAL_NAMES:
        return "a local name the cloud scanner cannot reach"
    address = _ip(host)
    if address is not None and any(address in network for network in _UNREACHABLE_NETWORKS):
        return "a private address the cloud scanner cannot reach"
    return None


def is_domain_name(text: str) -> bool:
    """A fully qualified name: two labels or more, letters or digits in the last one."""
    try:
        ascii_name = text.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(_LABEL.fullmatch(label) for label in labels)


def _url_problem(text: str) -> str | None:
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018  raises ValueError for a port that is not a number
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "a URL that is not http:// or https://"
    if not host or (_ip(host) is None and not is_domain_name(host)):
        return "a URL without a valid host"
    return None


def _host(text: str) -> str | None:
    if "://" not in text:
        return text
    try:
        return urlsplit(text).hostname
    except ValueError:
        return None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
