"""Slack's requests to /slack/events, checked before Bolt sees them.

First the signature, on the raw bytes (nothing is parsed before that), then that the
signed body is one Bolt can take: a JSON object, a form whose `payload=` is a JSON
object, or a plain form (a slash command). Anything else is refused with a reason in
words for one log line; Bolt gets a request it can dispatch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.async_app import AsyncBoltRequest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.internals import build_normalized_headers, extract_content_type
from slack_sdk.signature import SignatureVerifier
from starlette.datastructures import Headers

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
MAX_AGE_SECONDS = 5 * 60  # Slack's own window, as slack_sdk applies it
# ASCII digits only: int() would also take " 1", "+1", "1_0" and non-ASCII digits.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
# What a body that passed its signature can still get wrong, as Bolt parses it: not
# JSON (ValueError), nested past Python's recursion limit, or of a shape Bolt's context
# extraction trips on (e.g. "team": 5).
_MALFORMED = (ValueError, TypeError, AttributeError, LookupError, RecursionError)


class SlackRequestRefused(Exception):
    """Answer `status` (401: not signed by Slack; 400: signed but malformed).

    The reason is words only: never the body, the signature or the secret.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SlackRequests:
    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def verify(self, headers: Headers, body: bytes) -> None:
        """Refuse (401) a request Slack did not sign with our secret within 5 minutes."""
        timestamp = _one(headers, TIMESTAMP_HEADER, "timestamp")
        signature = _one(headers, SIGNATURE_HEADER, "signature")
        if _TIMESTAMP.fullmatch(timestamp) is None:
            raise SlackRequestRefused(401, "malformed timestamp")
        if abs(self._verifier.clock.now() - int(timestamp)) > MAX_AGE_SECONDS:
            raise SlackRequestRefused(401, "stale timestamp")
        try:
            valid = self._verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError:
            # slack_sdk hashes the body as UTF-8 text, all Slack ever sends: other bytes
            # cannot carry its signature (and Bolt could not read them either).
            raise SlackRequestRefused(401, "body is not UTF-8, so not signed by Slack") from None
        if not valid:
            raise SlackRequestRefused(401, "bad signature")

    def bolt_request(
        self, body: bytes, headers: Headers, query: Mapping[str, str]
    ) -> AsyncBoltRequest:
        """A `body` that `verify` accepted (so UTF-8) as Bolt's request, or a refusal (400)
        if Bolt cannot take it."""
        text = body.decode("utf-8")
        bolt_headers = build_normalized_headers(dict(headers))
        try:
            parsed = parse_slack_body(text, extract_content_type(bolt_headers))
        except _MALFORMED:
            raise SlackRequestRefused(400, "body is neither a form nor JSON") from None
        if not isinstance(parsed, dict):
            raise SlackRequestRefused(400, "body is not a JSON object")
        try:
            request = AsyncBoltRequest(body=text, query=dict(query), headers=bolt_headers)
            if request.body != parsed:
                # Bolt takes any form with "payload" anywhere in it (a command's text, a
                # user name) for a click, and would hand the listener {}: give it the body.
                request.body = parsed
                request.context = build_async_context(AsyncBoltContext({}), parsed)
        except _MALFORMED:
            raise SlackRequestRefused(400, "payload of an unexpected shape") from None
        return request


def parse_slack_body(text: str, content_type: str | None) -> Any:
    """A body as Slack means it: JSON (events), a form whose `payload` field is JSON
    (interactions), or a plain form (slash commands)."""
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return json.loads(form["payload"])
    return form


def _one(headers: Headers, name: str, what: str) -> str:
    """The one value of header `name`; missing, empty or repeated is refused (two
    signatures leave no good way to choose)."""
    values = headers.getlist(name)
    if not values or not values[0]:
        raise SlackRequestRefused(401, f"missing {what}")
    if len(values) > 1:
        raise SlackRequestRefused(401, f"repeated {what}")
    return values[0]
