"""Slack's requests before Bolt: the signature on the raw bytes, then a body Bolt can take."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from starlette.datastructures import Headers

from scanbot.sandbox.slack_user import block_action, signed_headers, slash_command
from scanbot.slack.inbound import SlackRequestRefused, SlackRequests

SECRET = "unit-signing-secret-0123456789"
FORM = "application/x-www-form-urlencoded"


def raw_signed(body: bytes, *, content_type: str = FORM, timestamp: int | None = None) -> Headers:
    """Headers signing `body` byte for byte, as Slack's spec defines it (any bytes)."""
    ts = str(int(time.time()) if timestamp is None else timestamp).encode()
    digest = hmac.new(SECRET.encode(), b"v0:" + ts + b":" + body, hashlib.sha256).hexdigest()
    return Headers(
        raw=[
            (b"x-slack-request-timestamp", ts),
            (b"x-slack-signature", f"v0={digest}".encode()),
            (b"content-type", content_type.encode()),
        ]
    )


def accepted(body: bytes, headers: Headers) -> dict[str, object]:
    requests = SlackRequests(SECRET)
    requests.verify(headers, body)
    return requests.bolt_request(body, headers, {}).body


def refusal(body: bytes, headers: Headers) -> SlackRequestRefused:
    with pytest.raises(SlackRequestRefused) as caught:
        accepted(body, headers)
    return caught.value


def test_a_signed_slash_command_reaches_bolt_as_its_form() -> None:
    body = urlencode(slash_command("/scan", "abc", response_url="https://hooks.slack.com/x"))
    parsed = accepted(body.encode(), Headers(signed_headers(SECRET, body)))
    assert parsed["command"] == "/scan"
    assert parsed["text"] == "abc"


@pytest.mark.parametrize(
    ("text", "user_name"),
    [("subscribe target:payload.example.com", "ana"), ("abc", "payload"), ("payload=1", "ana")],
)
def test_a_slash_command_that_mentions_payload_still_reaches_bolt_whole(
    text: str, user_name: str
) -> None:
    """Bolt's own parser takes any form with "payload" anywhere in it for a click and hands
    its listeners {}: a command about payload.example.com would get no answer."""
    form = slash_command("/scans", text, response_url="https://hooks.slack.com/x")
    form["user_name"] = user_name
    body = urlencode(form)
    requests = SlackRequests(SECRET)
    headers = Headers(signed_headers(SECRET, body))
    requests.verify(headers, body.encode())
    request = requests.bolt_request(body.encode(), headers, {})
    assert request.body["command"] == "/scans"
    assert request.body["text"] == text
    assert request.context.user_id == form["user_id"]
    assert request.context.channel_id == form["channel_id"]


def test_a_signed_click_reaches_bolt_as_its_payload() -> None:
    body = urlencode(block_action("a", "v", response_url="https://hooks.slack.com/x"))
    parsed = accepted(body.encode(), Headers(signed_headers(SECRET, body)))
    assert parsed["type"] == "block_actions"


def test_a_signed_json_event_reaches_bolt() -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}).encode()
    assert accepted(body, raw_signed(body, content_type="application/json"))["type"] == (
        "event_callback"
    )


def _without(headers: Headers, name: str) -> Headers:
    return Headers(raw=[(k, v) for k, v in headers.raw if k != name.encode()])


def _repeated(headers: Headers, name: str) -> Headers:
    extra = [(k, b"v0=" + b"0" * 64) for k, v in headers.raw if k == name.encode()]
    return Headers(raw=[*headers.raw, *extra])


BODY = b"command=%2Fscans&text="
NOT_UTF8 = b"\xff\xfe junk"


def _with(headers: Headers, name: str, value: str) -> Headers:
    return Headers(raw=[*_without(headers, name).raw, (name.encode(), value.encode())])


# Each forgery signs when the test runs: a signature made at collection goes stale in a
# long test session.
FORGERIES: dict[str, tuple[Callable[[], tuple[Headers, bytes]], str]] = {
    "unsigned": (
        lambda: (_without(raw_signed(BODY), "x-slack-signature"), BODY),
        "missing signature",
    ),
    "no-timestamp": (
        lambda: (_without(raw_signed(BODY), "x-slack-request-timestamp"), BODY),
        "missing timestamp",
    ),
    "two-signatures": (
        lambda: (_repeated(raw_signed(BODY), "x-slack-signature"), BODY),
        "repeated signature",
    ),
    "stale": (lambda: (raw_signed(BODY, timestamp=1_600_000_000), BODY), "stale timestamp"),
    "future": (
        lambda: (raw_signed(BODY, timestamp=int(time.time()) + 3600), BODY),
        "stale timestamp",
    ),
    "signed-number": (
        lambda: (
            _with(raw_signed(BODY), "x-slack-request-timestamp", f"+{int(time.time())}"),
            BODY,
        ),
        "malformed timestamp",
    ),
    "huge-timestamp": (
        lambda: (_with(raw_signed(BODY), "x-slack-request-timestamp", "9" * 5000), BODY),
        "malformed timestamp",
    ),
    "body-changed": (lambda: (raw_signed(BODY), BODY + b"&text=more"), "bad signature"),
    "not-utf8": (lambda: (raw_signed(NOT_UTF8), NOT_UTF8), "not UTF-8"),
}


@pytest.mark.parametrize(("forge", "reason"), FORGERIES.values(), ids=FORGERIES.keys())
def test_anything_slack_did_not_sign_is_refused_with_401(
    forge: Callable[[], tuple[Headers, bytes]], reason: str
) -> None:
    headers, body = forge()
    refused = refusal(body, headers)
    assert refused.status == 401
    assert reason in refused.reason


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"payload=not-json", FORM, id="payload-not-json"),
        pytest.param(b"payload=%5B1%2C2%5D", FORM, id="payload-an-array"),
        pytest.param(b"payload=%225%22", FORM, id="payload-a-string"),
        pytest.param(b"[1, 2]", "application/json", id="json-array"),
        pytest.param(b"{not json", "application/json", id="json-broken"),
        pytest.param(b"command=/x", "application/json", id="form-as-json"),
        pytest.param(_nested(100_000).encode(), "application/json", id="deep-nesting"),
        pytest.param(
            urlencode({"payload": '{"a":' * 100_000 + "1" + "}" * 100_000}).encode(),
            FORM,
            id="deep-payload",
        ),
        pytest.param(b'{"team": 5, "user": "x"}', "application/json", id="odd-shape"),
    ],
)
def test_a_signed_body_bolt_cannot_take_is_refused_with_400(body: bytes, content_type: str) -> None:
    refused = refusal(body, raw_signed(body, content_type=content_type))
    assert refused.status == 400
    assert body.decode(errors="replace")[:20] not in refused.reason  # words, never the body
