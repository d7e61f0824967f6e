"""Answers through a request's `response_url`, on one shared HTTP connection pool, and
only to Slack's own response_url hosts.

Bolt's `respond()` opens a new aiohttp session for every answer; under load that costs
more CPU than the answer itself, on the loop that must also ack within 3 seconds.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from scanbot.slack.kit import Message

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Where Slack's response_urls point: hooks.slack.com, and hooks.slack-gov.com on GovSlack.
SLACK_RESPONSE_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A URL in a log line: its origin, then its path and query (up to a space or a quote).
_URL_IN_TEXT = re.compile(r"""(?P<origin>https?://[^/\s"'<>]+)(?P<rest>/[^\s"'<>]*)?""")

Origin = tuple[str, str, int]


def _origin(url: httpx.URL) -> Origin:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 0))


class ResponseUrls:
    """Which response_urls scanbot answers to: https on Slack's hosts, and the origin of
    SLACK_API_URL (the fake Slack in tests and the demo). A response_url arrives inside a
    request, so a forged one must not make scanbot post scan data anywhere else.

    Its path is a credential (anyone holding it can post as the app for 30 minutes), so
    `mask` hides the paths of these URLs in log lines.
    """

    def __init__(self, slack_api_url: str) -> None:
        api = httpx.URL(slack_api_url)
        self._origins = {("https", host, 443) for host in SLACK_RESPONSE_HOSTS} | {_origin(api)}
        self._api = (_origin(api), api.path)

    def allows(self, url: httpx.URL) -> bool:
        return _origin(url) in self._origins and not url.userinfo

    def mask(self, text: str) -> str:
        """`text` with the path of every URL on these origins replaced, except Web API
        method URLs (SLACK_API_URL's own path), which name a method and hold no secret."""
        if "://" not in text:
            return text
        return _URL_IN_TEXT.sub(self._mask_one, text)

    def _mask_one(self, match: re.Match[str]) -> str:
        rest = match["rest"] or ""
        try:
            origin = _origin(httpx.URL(match["origin"]))
        except httpx.InvalidURL:
            return match[0]
        if origin not in self._origins or not rest:
            return match[0]
        if (origin, rest[: len(self._api[1])]) == self._api:
            return match[0]
        return f"{match['origin']}/[response_url path redacted]"


class Responder:
    def __init__(self, http: httpx.AsyncClient, urls: ResponseUrls) -> None:
        self._http = http
        self._urls = urls

    @classmethod
    def create(cls, urls: ResponseUrls) -> Responder:
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        return cls(httpx.AsyncClient(timeout=TIMEOUT, limits=limits), urls)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, response_url: str, message: Message, **options: Any) -> bool:
        """Post `message` (plus response_type / replace_original options); one retry on a
        5xx or a connection failure. The URL is a credential: only its host is logged.
        A URL off Slack's hosts is refused, never posted to."""
        url = self._checked(response_url)
        if url is None:
            return False
        payload = {"text": message["text"], "blocks": message["blocks"], **options}
        host = url.host
        for attempt in (1, 2):
            try:
                response = await self._http.post(url, json=payload)
            except httpx.HTTPError as exc:
                log.warning(
                    "response_url at %s failed (%s), try %d", host, type(exc).__name__, attempt
                )
                continue
            if response.status_code < 500:
                if response.status_code != 200:
                    log.warning(
                        "response_url at %s refused the answer: HTTP %d %.80s",
                        host,
                        response.status_code,
                        response.text,
                    )
                return response.status_code == 200
            log.warning(
                "response_url at %s answered HTTP %d, try %d", host, response.status_code, attempt
            )
        return False

    def _checked(self, response_url: str) -> httpx.URL | None:
        # The URL posted to is the one parsed and checked here: no second parser to disagree.
        try:
            url = httpx.URL(response_url)
        except httpx.InvalidURL:
            log.warning("refused a response_url that is not a URL")
            return None
        if not self._urls.allows(url):
            host = f"{url.host}:{url.port}" if url.port else url.host
            log.warning("refused a response_url at %.100r: not a Slack host", host)
            return None
        return url
