"""Webhook signatures and events, against HostedScan's own signed test vectors."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanbot.hostedscan.webhooks import (
    MAX_AGE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookEvent,
    WebhookRejected,
    sign,
    signed_headers,
    verify,
)

VECTORS_DIR = Path(__file__).parents[1] / "data" / "hostedscan-webhook-vectors"
VECTOR_NAMES = ["scan_created", "scan_updated", "risk_created", "risk_updated"]
VECTOR_SECRET = "example-secret"
VECTOR_TIMESTAMP_MS = 1676612345678
SECRET = "whsec-9d1c-DO-NOT-LEAK"


def load_vector(name: str) -> tuple[dict[str, str], bytes]:
    vector = json.loads((VECTORS_DIR / f"{name}.json").read_text())
    return vector["headers"], vector["body"].encode()


def clock_at(timestamp_ms: int, offset: timedelta = timedelta()) -> Callable[[], datetime]:
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC) + offset
    return lambda: moment


AT_VECTORS = clock_at(VECTOR_TIMESTAMP_MS)


def event_body(**fields: Any) -> bytes:
    event = {"id": "evt-1", "type": "scan.updated", "data": {"id": "a-scan-id"}} | fields
    return json.dumps(event).encode()


def sign_text(secret: str, timestamp: str, body: bytes) -> str:
    """A signature over any timestamp text, even one `sign` (which takes an int) cannot make."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def rejection(
    headers: dict[str, str], body: bytes, secret: str = SECRET, **kwargs: Any
) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verify(secret, headers, body, **kwargs)
    return caught.value


# HostedScan's vectors


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vectors_verify_with_a_clock_at_their_timestamp(name: str) -> None:
    headers, body = load_vector(name)

    event = verify(VECTOR_SECRET, headers, body, now=AT_VECTORS)

    assert event.id == "an-event-id"
    assert event.type == name.replace("_", ".")
    assert event.created_at is None  # the vectors carry none


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vectors_with_the_real_clock_are_stale(name: str) -> None:
    headers, body = load_vector(name)

    assert rejection(headers, body, VECTOR_SECRET).reason == "stale timestamp"


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_sign_reproduces_the_vectors(name: str) -> None:
    headers, body = load_vector(name)

    assert sign(VECTOR_SECRET, VECTOR_TIMESTAMP_MS, body) == headers["x-hostedscan-signature"]


def test_the_vectors_copy_keeps_its_license() -> None:
    assert "HostedScan" in (VECTORS_DIR / "LICENSE").read_text()


# Freshness


@pytest.mark.parametrize(
    "offset", [-MAX_AGE, -MAX_AGE + timedelta(seconds=1), timedelta(), MAX_AGE]
)
def test_a_timestamp_within_max_age_either_way_is_accepted(offset: timedelta) -> None:
    headers, body = load_vector("scan_created")

    verify(VECTOR_SECRET, headers, body, now=clock_at(VECTOR_TIMESTAMP_MS, -offset))


def test_a_timestamp_just_past_max_age_is_stale() -> None:
    headers, body = load_vector("scan_created")
    late = clock_at(VECTOR_TIMESTAMP_MS, MAX_AGE + timedelta(milliseconds=1))

    assert rejection(headers, body, VECTOR_SECRET, now=late).reason == "stale timestamp"


def test_a_timestamp_from_the_future_is_refused() -> None:
    headers, body = load_vector("scan_created")
    early = clock_at(VECTOR_TIMESTAMP_MS, -(MAX_AGE + timedelta(milliseconds=1)))

    assert rejection(headers, body, VECTOR_SECRET, now=early).reason == "timestamp in the future"


def test_a_timestamp_in_seconds_is_refused_as_stale() -> None:
    # The header is milliseconds; reading seconds as milliseconds lands in 1970.
    body = event_body()
    now = clock_at(VECTOR_TIMESTAMP_MS)
    headers = signed_headers(SECRET, body, timestamp_ms=VECTOR_TIMESTAMP_MS // 1000)

    assert rejection(headers, body, now=now).reason == "stale timestamp"


@pytest.mark.parametrize(
    "timestamp",
    [
        "abc",
        "1676612345.678",
        " 1676612345678",
        "+1676612345678",
        "-1676612345678",
        "1_676_612_345_678",
        "١٦٧٦٦١٢٣٤٥٦٧٨",  # Arabic-Indic digits: int() would take them
        "1" * 40,
    ],
)
def test_a_non_numeric_timestamp_is_refused(timestamp: str) -> None:
    body = event_body()
    # Signed over the exact header text, so only the timestamp's form can be at fault.
    headers = {SIGNATURE_HEADER: sign_text(SECRET, timestamp, body), TIMESTAMP_HEADER: timestamp}

    assert rejection(headers, body, now=AT_VECTORS).reason == "malformed timestamp"


def test_a_naive_clock_is_a_programming_error() -> None:
    headers, body = load_vector("scan_created")

    with pytest.raises(ValueError, match="aware"):
        verify(VECTOR_SECRET, headers, body, now=lambda: datetime(2023, 2, 17))


# Signatures and headers


def test_every_changed_byte_of_the_body_is_refused() -> None:
    headers, body = load_vector("scan_created")
    for index in range(len(body)):
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        reason = rejection(headers, changed, VECTOR_SECRET, now=AT_VECTORS).reason
        assert reason == "bad signature", index


def test_an_appended_byte_is_refused() -> None:
    headers, body = load_vector("scan_created")

    assert rejection(headers, body + b" ", VECTOR_SECRET, now=AT_VECTORS).reason == "bad signature"


def test_a_wrong_secret_is_refused() -> None:
    headers, body = load_vector("scan_created")

    refused = rejection(headers, body, "other-secret", now=AT_VECTORS)
    assert refused.reason == "bad signature"
    assert refused.status == 401


def test_a_changed_timestamp_is_refused() -> None:
    headers, body = load_vector("scan_created")
    headers["x-hostedscan-timestamp"] = str(VECTOR_TIMESTAMP_MS + 1)

    assert rejection(headers, body, VECTOR_SECRET, now=AT_VECTORS).reason == "bad signature"


@pytest.mark.parametrize(
    ("dropped", "reason"),
    [
        ("x-hostedscan-signature", "missing signature"),
        ("x-hostedscan-timestamp", "missing timestamp"),
    ],
)
def test_a_missing_header_is_refused(dropped: str, reason: str) -> None:
    headers, body = load_vector("scan_created")
    del headers[dropped]

    assert rejection(headers, body, VECTOR_SECRET, now=AT_VECTORS).reason == reason


def test_an_empty_signature_is_refused() -> None:
    headers, body = load_vector("scan_created")
    headers["x-hostedscan-signature"] = ""

    assert rejection(headers, body, VECTOR_SECRET, now=AT_VECTORS).reason == "missing signature"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda sig: "z" + sig[1:],  # not hex
        lambda sig: sig[:-2],  # too short
        lambda sig: sig + "00",  # too long
        lambda sig: sig[:32] + " " + sig[33:],  # bytes.fromhex would skip the space
        lambda sig: "sha256=" + sig,  # another service's format
        lambda sig: sig + "\n",
    ],
)
def test_a_malformed_signature_is_refused(mangle: Callable[[str], str]) -> None:
    headers, body = load_vector("scan_created")
    headers["x-hostedscan-signature"] = mangle(headers["x-hostedscan-signature"])

    reason = rejection(headers, body, VECTOR_SECRET, now=AT_VECTORS).reason
    assert reason == "malformed signature"


def test_uppercase_hex_is_accepted_as_the_same_signature() -> None:
    # HostedScan sends lowercase; uppercase is the same MAC, so refusing it protects nothing.
    headers, body = load_vector("scan_created")
    headers["x-hostedscan-signature"] = headers["x-hostedscan-signature"].upper()

    assert verify(VECTOR_SECRET, headers, body, now=AT_VECTORS).scan_id == "a-scan-id"


@pytest.mark.parametrize("case", [str.upper, str.lower, str.title])
def test_header_names_are_case_insensitive(case: Callable[[str], str]) -> None:
    headers, body = load_vector("scan_created")
    headers = {case(name): value for name, value in headers.items()}

    assert verify(VECTOR_SECRET, headers, body, now=AT_VECTORS).id == "an-event-id"


def test_a_header_given_twice_in_different_cases_is_refused() -> None:
    body = event_body()
    headers = signed_headers(SECRET, body, timestamp_ms=VECTOR_TIMESTAMP_MS)
    headers["x-hostedscan-signature"] = sign(SECRET, VECTOR_TIMESTAMP_MS, b"{}")

    assert rejection(headers, body, now=AT_VECTORS).reason == "repeated signature"


@pytest.mark.parametrize("function", [sign, verify])
def test_an_empty_secret_is_refused_outright(function: Callable[..., Any]) -> None:
    headers, body = load_vector("scan_created")
    args = (0, body) if function is sign else (headers, body)

    with pytest.raises(ValueError, match="secret is empty"):
        function("", *args)


def test_no_rejection_reveals_the_secret_or_the_signature() -> None:
    body = event_body()
    good = signed_headers(SECRET, body, timestamp_ms=VECTOR_TIMESTAMP_MS)
    signature = good[SIGNATURE_HEADER]
    attempts: list[tuple[dict[str, str], bytes, Callable[[], datetime]]] = [
        (good, body + b"x", AT_VECTORS),
        (good, body, lambda: datetime.now(UTC)),
        (good, body, clock_at(VECTOR_TIMESTAMP_MS, -2 * MAX_AGE)),
        ({**good, SIGNATURE_HEADER: signature.upper()[:-1] + "G"}, body, AT_VECTORS),
        ({**good, SIGNATURE_HEADER: signature[:-1]}, body, AT_VECTORS),
        ({**good, TIMESTAMP_HEADER: "soon"}, body, AT_VECTORS),
        ({TIMESTAMP_HEADER: good[TIMESTAMP_HEADER]}, body, AT_VECTORS),
        (
            signed_headers(SECRET, b"[]", timestamp_ms=VECTOR_TIMESTAMP_MS),
            b"[]",
            AT_VECTORS,
        ),
    ]
    for headers, sent, now in attempts:
        exc = rejection(headers, sent, now=now)
        for shown in (str(exc), repr(exc), exc.reason):
            assert SECRET not in shown
            assert signature not in shown.lower()
            assert headers.get(SIGNATURE_HEADER, "-") not in shown


# Round trips


@given(body=st.binary(max_size=512), timestamp_ms=st.integers(0, 10**13))
def test_a_signed_body_never_fails_on_its_signature(body: bytes, timestamp_ms: int) -> None:
    headers = signed_headers(SECRET, body, timestamp_ms=timestamp_ms)
    try:
        verify(SECRET, headers, body, now=clock_at(timestamp_ms))
    except WebhookRejected as exc:
        reason: str | None = exc.reason
    else:
        reason = None
    assert reason in (None, "malformed event")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    event_id=st.text(min_size=1, max_size=40),
    event_type=st.text(min_size=1, max_size=30),
    data=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
)
def test_sign_and_verify_round_trip_an_event(
    event_id: str, event_type: str, data: dict[str, Any]
) -> None:
    body = json.dumps({"id": event_id, "type": event_type, "data": data}).encode()
    headers = signed_headers(SECRET, body, timestamp_ms=VECTOR_TIMESTAMP_MS)

    event = verify(SECRET, headers, body, now=AT_VECTORS)

    assert (event.id, event.type, event.data) == (event_id, event_type, data)


@given(body=st.binary(min_size=1, max_size=256), data=st.data())
def test_any_flipped_bit_is_a_bad_signature(body: bytes, data: st.DataObject) -> None:
    headers = signed_headers(SECRET, body, timestamp_ms=VECTOR_TIMESTAMP_MS)
    index = data.draw(st.integers(0, len(body) - 1))
    bit = data.draw(st.integers(0, 7))
    changed = body[:index] + bytes([body[index] ^ (1 << bit)]) + body[index + 1 :]

    assert rejection(headers, changed, now=AT_VECTORS).reason == "bad signature"


def test_signed_headers_default_to_now_and_verify_with_the_real_clock() -> None:
    body = event_body()
    headers = signed_headers(SECRET, body)

    assert set(headers) == {SIGNATURE_HEADER, TIMESTAMP_HEADER}
    assert headers[SIGNATURE_HEADER] == headers[SIGNATURE_HEADER].lower()
    assert verify(SECRET, headers, body).id == "evt-1"


# Event parsing (bodies are signed: only the shape is under test)


def verified(body: bytes) -> WebhookEvent:
    headers = signed_headers(SECRET, body, timestamp_ms=VECTOR_TIMESTAMP_MS)
    return verify(SECRET, headers, body, now=AT_VECTORS)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"scan.created"',
        b"null",
        b'{"type": "scan.created", "data": {}}',
        b'{"id": "evt-1", "data": {}}',
        b'{"id": "", "type": "scan.created"}',
        b'{"id": 7, "type": "scan.created"}',
        b'{"id": "evt-1", "type": null}',
        b'{"id": "evt-1", "type": "scan.created", "data": []}',
        b'{"id": "evt-1", "type": "scan.created", "data": "a-scan-id"}',
    ],
)
def test_a_signed_body_that_is_not_an_event_is_malformed(body: bytes) -> None:
    headers = signed_headers(SECRET, body, timestamp_ms=VECTOR_TIMESTAMP_MS)

    refused = rejection(headers, body, now=AT_VECTORS)
    assert refused.reason == "malformed event"
    assert refused.status == 400  # genuinely signed: the sender's bug, not a forgery


@pytest.mark.parametrize("name", ["scan_created", "scan_updated"])
def test_scan_events_name_their_scan(name: str) -> None:
    headers, body = load_vector(name)
    event = verify(VECTOR_SECRET, headers, body, now=AT_VECTORS)

    assert (event.scan_id, event.is_scan_event, event.is_risk_event) == ("a-scan-id", True, False)


@pytest.mark.parametrize("name", ["risk_created", "risk_updated"])
def test_risk_events_are_risk_events_without_a_scan_id(name: str) -> None:
    headers, body = load_vector(name)
    event = verify(VECTOR_SECRET, headers, body, now=AT_VECTORS)

    assert (event.scan_id, event.is_scan_event, event.is_risk_event) == (None, False, True)
    assert event.data["risk_definition"]["threat_level"] == "LOW"


@pytest.mark.parametrize("event_type", ["scan.succeeded", "risk.opened", "risk.closed"])
def test_older_event_names_are_classified_too(event_type: str) -> None:
    event = verified(event_body(type=event_type))

    assert event.is_scan_event == event_type.startswith("scan.")
    assert event.is_risk_event == event_type.startswith("risk.")


@pytest.mark.parametrize("event_type", ["account.updated", "scanner.created", "Scan.created", "x"])
def test_unknown_types_are_neither(event_type: str) -> None:
    event = verified(event_body(type=event_type))

    assert (event.scan_id, event.is_scan_event, event.is_risk_event) == (None, False, False)


@pytest.mark.parametrize("scan_id", ["../x", "a/b", "", "a" * 129, 42, None, ["a"]])
def test_an_unusable_scan_id_gives_none(scan_id: object) -> None:
    event = verified(event_body(data={"id": scan_id}))

    assert event.is_scan_event
    assert event.scan_id is None


def test_a_scan_event_without_data_has_no_scan_id() -> None:
    body = json.dumps({"id": "evt-1", "type": "scan.created"}).encode()

    assert verified(body).scan_id is None


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2023-02-17T05:39:05.678Z", "2023-02-17T05:39:05.678Z"),
        (1676612345678, "1676612345678"),
        ({}, None),
    ],
)
def test_created_at_never_refuses_an_event(created_at: object, expected: str | None) -> None:
    event = verified(event_body(created_at=created_at, extra="ignored"))

    assert event.created_at == expected
