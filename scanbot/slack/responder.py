"""Answers through a request's `response_url`, on one shared HTTP connection pool.

Bolt's `respond()` opens a new aiohttp session for every answer; under load that costs
more CPU than the answer itself, on the loop that must also ack within 3 seconds.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from scanbot.slack.blocks import Message

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class Responder:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def create(cls) -> Responder:
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        return cls(httpx.AsyncClient(timeout=TIMEOUT, limits=limits))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, response_url: str, message: Message, **options: Any) -> bool:
        """Post `message` (plus response_type / replace_original options); one retry on a
        5xx or a connection failure. The URL is a credential: only its host is logged."""
        payload = {"text": message["text"], "blocks": message["blocks"], **options}
        host = urlsplit(response_url).hostname or "?"
        for attempt in (1, 2):
            try:
                response = await self._http.post(response_url, json=payload)
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
