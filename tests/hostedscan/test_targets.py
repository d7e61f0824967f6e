"""What HostedScan takes as a target, and what its cloud scanner would skip."""

from __future__ import annotations

import pytest

from scanbot.hostedscan.targets import is_domain_name, target_problem, unreachable_reason

GOOD = [
    "example.com",
    "www.example.com.",
    "shop-1.eu.example.co.uk",
    "déjà-vu.example",
    "203.0.113.7",
    "10.0.0.1",
    "2001:db8::1",
    "https://example.com",
    "http://example.com:8080/login?next=/",
    "https://[2001:db8::1]:8443/",
    "https://203.0.113.7/app/",
    "localhost.example.com",
]
BAD = [
    ("", "an empty target"),
    ("   ", "an empty target"),
    ("exa mple.com", "contains spaces"),
    ("example", "not an IPv4 address, URL or domain name"),
    ("localhost", "not an IPv4 address, URL or domain name"),
    ("-bad.example.com", "not an IPv4 address, URL or domain name"),
    ("example.123", "not an IPv4 address, URL or domain name"),
    ("256.1.1.1", "not an IPv4 address, URL or domain name"),
    ("a..b.com", "not an IPv4 address, URL or domain name"),
    ("<!channel>", "not an IPv4 address, URL or domain name"),
    ("ftp://example.com/", "a URL that is not http:// or https://"),
    ("https://", "a URL without a valid host"),
    ("https://exa_mple.com/", "a URL without a valid host"),
    ("https://example.com:port/", "not a valid URL"),
    ("https://[::1/", "not a valid URL"),
    ("x" * 2049, "longer than 2048 characters"),
    (("a" * 63 + ".") * 4 + "com", "not an IPv4 address, URL or domain name"),
]


@pytest.mark.parametrize("text", GOOD)
def test_a_good_target_has_no_problem(text: str) -> None:
    assert target_problem(text) is None


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_a_bad_target_says_why(text: str, problem: str) -> None:
    assert target_problem(text) == problem


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.1",
        "127.0.0.1",
        "192.168.1.20",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",
        "http://10.1.2.3:8080/",
        "https://[::1]/",
    ],
)
def test_private_addresses_are_unreachable(text: str) -> None:
    assert unreachable_reason(text) == "a private address the cloud scanner cannot reach"


@pytest.mark.parametrize("text", ["localhost", "LOCALHOST.", "http://localhost:3000/"])
def test_local_names_are_unreachable(text: str) -> None:
    assert unreachable_reason(text) == "a local name the cloud scanner cannot reach"


@pytest.mark.parametrize(
    "text",
    ["203.0.113.7", "198.51.100.1", "8.8.8.8", "2001:db8::1", "example.com", "https://a.com/"],
)
def test_public_and_documentation_addresses_are_reachable(text: str) -> None:
    assert unreachable_reason(text) is None


def test_a_domain_name_needs_two_labels() -> None:
    assert is_domain_name("a.b")
    assert not is_domain_name("a")
    assert not is_domain_name("a.")
