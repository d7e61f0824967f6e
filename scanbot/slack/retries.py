"""slack_sdk's retry of connection errors, minus the calls a retry could do twice.

Its default handler sends any request again when the connection failed, also one Slack
had already acted on: a `chat.postMessage` whose answer was lost then shows twice. For
those calls the sender's outbox (which looks before it posts again) is the only retry.
"""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

# Calls that create something each time they are done.
NOT_RETRIED = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "files.completeUploadExternal", "chat.meMessage"}
)


class ConnectionRetriesButPosts(AsyncConnectionErrorRetryHandler):
    """Retries a call whose connection failed, unless it is one in `NOT_RETRIED`."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in NOT_RETRIED:
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def connection_retries() -> list[AsyncRetryHandler]:
    return [ConnectionRetriesButPosts()]
