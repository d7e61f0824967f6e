"""slack_sdk's connection-error retry, kept for reads and edits, off for posts."""

from __future__ import annotations

import pytest
from aiohttp import ServerDisconnectedError
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.state import RetryState

from scanbot.slack.retries import ConnectionRetriesButPosts, connection_retries


def _request(method: str) -> HttpRequest:
    return HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})


@pytest.mark.parametrize(
    ("method", "retried"),
    [
        ("chat.postMessage", False),
        ("chat.postEphemeral", False),
        ("files.completeUploadExternal", False),
        ("chat.update", True),
        ("conversations.history", True),
        ("auth.test", True),
    ],
)
async def test_a_lost_connection_is_retried_except_for_posts(method: str, retried: bool) -> None:
    handler = ConnectionRetriesButPosts()
    can = await handler.can_retry_async(
        state=RetryState(), request=_request(method), error=ServerDisconnectedError()
    )
    assert can is retried


async def test_the_app_client_has_no_default_handler_left() -> None:
    (handler,) = connection_retries()
    assert isinstance(handler, ConnectionRetriesButPosts)
