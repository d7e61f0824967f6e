"""Answers go only to Slack's response_url hosts (and the fake Slack's); their paths never
reach a log line. End to end: tests/e2e/test_trust.py."""

from __future__ import annotations

import logging

import httpx
import pytest

from scanbot.slack.responder import Responder, ResponseUrls

API = "http://127.0.0.1:5000/api/"  # as the tests set SLACK_API_URL
MESSAGE = {"text": "hi", "blocks": []}


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/commands/T0/1/abc", True),
        ("https://hooks.slack.com/actions/T0/1/abc", True),
        ("https://HOOKS.slack.com/app/T0/1/abc", True),
        ("https://hooks.slack.com:443/commands/T0/1/abc", True),
        ("https://hooks.slack-gov.com/commands/T0/1/abc", True),
        ("http://127.0.0.1:5000/response/abc", True),  # SLACK_API_URL's origin
        ("http://hooks.slack.com/commands/T0/1/abc", False),  # not https
        ("https://hooks.slack.com:8443/commands/T0/1/abc", False),
        ("https://hooks.slack.com.evil.example/commands", False),
        ("https://hooks.slack.com@evil.example/commands", False),
        ("https://evil.example/#@hooks.slack.com/", False),
        ("https://evil.example\\@hooks.slack.com/", False),
        ("https://user:pw@hooks.slack.com/commands/T0/1/abc", False),
        ("https://slack.com.evil.example/", False),
        ("http://127.0.0.1:5001/response/abc", False),  # another port on loopback
        ("http://localhost:5000/response/abc", False),
        ("https://127.0.0.1:5000/response/abc", False),
    ],
)
def test_only_slacks_hosts_and_the_api_origin_are_allowed(url: str, allowed: bool) -> None:
    assert ResponseUrls(API).allows(httpx.URL(url)) is allowed


def test_mask_hides_response_url_paths_but_not_api_methods() -> None:
    text = (
        'HTTP Request: POST https://hooks.slack.com/commands/T0/123/SeCrEt "HTTP/1.1 200 OK"; '
        "POST http://127.0.0.1:5000/response/f00d; POST http://127.0.0.1:5000/api/chat.update; "
        "GET https://example.com/page"
    )
    masked = ResponseUrls(API).mask(text)
    assert "SeCrEt" not in masked
    assert "f00d" not in masked
    assert "https://hooks.slack.com/[response_url path redacted]" in masked
    assert "http://127.0.0.1:5000/api/chat.update" in masked
    assert "https://example.com/page" in masked


class Recorder:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return httpx.Response(200, text="ok")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/commands/T0/1/abc",
        "http://127.0.0.1:5001/response/abc",
        "not a url at all",
        "http://[::1",
    ],
)
async def test_a_foreign_response_url_is_refused_with_one_line_naming_the_host(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    responder = Responder(
        httpx.AsyncClient(transport=httpx.MockTransport(recorder)), ResponseUrls(API)
    )
    try:
        assert await responder.send(url, MESSAGE) is False
    finally:
        await responder.aclose()
    assert recorder.urls == []
    (line,) = [r.getMessage() for r in caplog.records if r.name == "scanbot.slack.responder"]
    assert "refused a response_url" in line
    assert "/commands/" not in line
    assert "/response/" not in line


async def test_a_slack_response_url_is_posted_to() -> None:
    recorder = Recorder()
    responder = Responder(
        httpx.AsyncClient(transport=httpx.MockTransport(recorder)), ResponseUrls(API)
    )
    try:
        assert await responder.send("https://hooks.slack.com/commands/T0/1/abc", MESSAGE)
    finally:
        await responder.aclose()
    assert recorder.urls == ["https://hooks.slack.com/commands/T0/1/abc"]
