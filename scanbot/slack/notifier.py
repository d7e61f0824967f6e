"""The one way scanbot's services talk to Slack's Web API: post, reply, edit a parent, upload
a file, open, update or publish a view, and the few reads triage and the guest check need.

Every failure leaves as one of a small typed hierarchy (`SlackFailure`), so each caller
decides on a kind, never on Slack's error codes or aiohttp's exceptions:

- `RetryLater(after)`: Slack is busy or out of reach and nothing was done (a 429 with its
  Retry-After, a 5xx, a transient error, no connection made);
- `OutcomeUnknown`: the request may have reached Slack but the answer was lost (connection
  dropped after sending, no answer in time): a post retried may show twice;
- `Paused`: Slack refuses the app itself (token revoked, app uninstalled, a missing scope):
  nothing will work until an admin fixes it;
- `Refused(reason)`: Slack will never do this request as it stands (channel gone, not in
  it, archived, message too long, invalid blocks, ...);
- `Parked(reason)`: an answer this module does not know: neither known to pass nor known
  to be final; a sender retries it a few times, then parks the message with the reason.

Every failure keeps Slack's error code (or what went wrong on the way) in `error`, and the
original exception as its `__cause__`, for the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from scanbot.domain.clock import utcnow
from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import TriageView
from scanbot.slack.cards import threads as thread_cards
from scanbot.slack.kit import Message, View

log = logging.getLogger(__name__)

# Slack refuses the app itself: every channel at once, until an admin fixes the install.
APP_WIDE_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
# Slack will never do the request as it stands: the channel, the message or the click.
REFUSED_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "cannot_reply_to_message",
        "thread_not_found",
        "message_not_found",
        "cant_update_message",
        "expired_trigger_id",
        "invalid_trigger_id",
    }
)
# The channel itself is gone: nothing will ever be posted there again.
CHANNEL_GONE_ERRORS = frozenset({"channel_not_found", "is_archived"})
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Retry-After when Slack says it is rate limiting but not for how long.
DEFAULT_RETRY_AFTER = 1.0
# Message metadata on every alert post: its outbox key, so a post whose answer was lost can
# be found in Slack (conversations.history / .replies with include_all_metadata).
ALERT_METADATA = "scanbot_alert"
# Pages of history or replies read to find one post (200 messages each).
MAX_LOOKUP_PAGES = 5
# users.conversations pages read for one person's channels (200 channels a page).
MAX_CHANNEL_PAGES = 50

# What went wrong when no answer came (the words people read in a failure's sentence).
NO_CONNECTION = "no connection"
NO_ANSWER_IN_TIME = "no answer in time"
REQUEST_FAILED = "the request failed"


class SlackFailure(Exception):
    """Slack did not do what scanbot asked. `error`: Slack's error code, or what went wrong
    on the way; `status`: the HTTP status of Slack's answer (None: no answer came);
    `wire`: the exception's class name when no answer came (for the log and the outbox)."""

    def __init__(self, error: str, *, status: int | None = None, wire: str | None = None):
        super().__init__(error)
        self.error = error
        self.status = status
        self.wire = wire

    @property
    def detail(self) -> str:
        """One line for the log and an outbox row: the code and the HTTP status, or the
        connection failure's kind."""
        if self.wire is not None:
            return f"connection: {self.wire}"
        return f"{self.error} (HTTP {self.status})"


class RetryLater(SlackFailure):
    """Nothing was done; it may work later. `after`: the seconds Slack asked to wait (a
    429's Retry-After), None when the caller picks its own backoff."""

    def __init__(
        self,
        error: str,
        *,
        after: float | None = None,
        status: int | None = None,
        wire: str | None = None,
    ):
        super().__init__(error, status=status, wire=wire)
        self.after = after


class OutcomeUnknown(SlackFailure):
    """The request may have reached Slack, the answer did not reach scanbot: a retried post
    may show twice."""


class Paused(SlackFailure):
    """Slack refuses the app itself (token revoked, app uninstalled, account inactive, a
    missing scope): nothing works until an admin fixes the install."""


class Refused(SlackFailure):
    """Slack will never do this request as it stands."""

    @property
    def channel_gone(self) -> bool:
        """The channel is deleted or archived: nothing will be posted there again."""
        return self.error in CHANNEL_GONE_ERRORS


class Parked(SlackFailure):
    """An answer this module does not know: not known to pass, not known to be final. A
    sender tries a few times, then parks what it was sending with this reason."""


def failure_of(exc: BaseException) -> SlackFailure:
    """The failure a Slack client's exception stands for (the one table of Slack errors)."""
    if isinstance(exc, SlackApiError):
        return _failure_of_answer(exc)
    wire = exc.__class__.__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        # The connection was never made, so nothing was sent (DNS, refused, TLS handshake).
        return RetryLater(NO_CONNECTION, wire=wire)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return RetryLater(NO_ANSWER_IN_TIME, wire=wire)
    if isinstance(exc, TimeoutError):
        return OutcomeUnknown(NO_ANSWER_IN_TIME, wire=wire)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return OutcomeUnknown(NO_CONNECTION, wire=wire)
    if isinstance(exc, SlackClientError):
        return Parked(REQUEST_FAILED, wire=wire)
    raise TypeError(f"not a Slack client failure: {wire}") from exc


def _failure_of_answer(exc: SlackApiError) -> SlackFailure:
    response = exc.response
    error = str(response.get("error") or "unknown")
    status = int(response.status_code)
    if error in APP_WIDE_ERRORS:
        return Paused(error, status=status)
    if error in REFUSED_ERRORS:
        return Refused(error, status=status)
    if status == 429 or error == "ratelimited":
        return RetryLater(error, after=retry_after(response.headers), status=status)
    if status >= 500 or error in TRANSIENT_ERRORS:
        return RetryLater(error, status=status)
    return Parked(error, status=status)


def retry_after(headers: Mapping[str, Any]) -> float:
    """Seconds from a Retry-After header (its name in any case); 1 when absent or unreadable."""
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return seconds if seconds > 0 else DEFAULT_RETRY_AFTER


# Everything a Slack client call can raise that `failure_of` turns into a failure.
CLIENT_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError, OSError)


def _keyed(key: str | None) -> dict[str, Any]:
    if key is None:
        return {}
    return {"metadata": {"event_type": ALERT_METADATA, "event_payload": {"key": key}}}


async def _sent(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    try:
        return await call
    except CLIENT_FAILURES as exc:
        raise failure_of(exc) from exc


class ParentCard(Protocol):
    """What draws an alert's parent (`slack.cards.threads.parent_card` is the real one)."""

    def __call__(self, summary: ScanSummary, *, triage: TriageView, now: datetime) -> Message: ...


class Notifier:
    """Slack for the sender, triage and channel commands: one client, one error policy, and
    the parent card drawn in one place, always at the clock's current time."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        parent_card: ParentCard = thread_cards.parent_card,
    ) -> None:
        self._client = client
        self._clock = clock
        self._parent_card = parent_card

    # -- messages ------------------------------------------------------------------------

    async def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        """A message of its own in the channel (an alert's parent, a digest); its ts.
        `key` goes with it as message metadata, for `find_posted`."""
        return await self._post(channel_id, message, **_keyed(key))

    async def reply(
        self,
        channel_id: str,
        thread_ts: str,
        message: Message,
        *,
        broadcast: bool | None = None,
        key: str | None = None,
    ) -> str:
        """A reply in the thread under `thread_ts`, also shown in the channel when
        `broadcast` (None: Slack's default, not shown); `key` as in `post`."""
        options: dict[str, Any] = {"thread_ts": thread_ts, **_keyed(key)}
        if broadcast is not None:
            options["reply_broadcast"] = broadcast
        return await self._post(channel_id, message, **options)

    async def find_posted(
        self, channel_id: str, key: str, *, since: datetime, thread_ts: str | None = None
    ) -> str | None:
        """The ts of the message posted with `key` (see `post`): among the replies under
        `thread_ts`, or the channel's messages since `since`; None when there is none.

        Needs `channels:history` (`groups:history` for private channels) and scanbot in the
        channel: without them Slack answers `missing_scope` (`Paused`) or `not_in_channel`
        (`Refused`), and the caller decides without knowing.
        """
        oldest = f"{max(0.0, since.timestamp() - 60):.6f}"  # a minute for clocks apart
        cursor: str | None = None
        for _ in range(MAX_LOOKUP_PAGES):
            options: dict[str, Any] = {"oldest": oldest, "limit": 200, "include_all_metadata": True}
            if cursor:
                options["cursor"] = cursor
            if thread_ts is None:
                call = self._client.conversations_history(channel=channel_id, **options)
            else:
                call = self._client.conversations_replies(
                    channel=channel_id, ts=thread_ts, **options
                )
            response = await _sent(call)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == ALERT_METADATA and payload.get("key") == key:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def notice(
        self, channel_id: str, message: Message, *, thread_ts: str | None = None
    ) -> str:
        """A message of scanbot's own in the channel (a subscription, an admin note, an
        operation's news), in the thread under `thread_ts` if given, with Slack's defaults
        for link previews; its ts ("" when Slack answers without one)."""
        options: dict[str, Any] = {} if thread_ts is None else {"thread_ts": thread_ts}
        response = await _sent(
            self._client.chat_postMessage(
                channel=channel_id, text=message["text"], blocks=message["blocks"], **options
            )
        )
        return str(response.get("ts") or "")

    async def direct(self, user_id: str, message: Message) -> str:
        """A message in the person's DM with scanbot (chat.postMessage to their user id)."""
        return await self.notice(user_id, message)

    async def _post(self, channel_id: str, message: Message, **options: Any) -> str:
        response = await _sent(
            self._client.chat_postMessage(
                channel=channel_id,
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
                unfurl_media=False,
                **options,
            )
        )
        return str(response["ts"])

    async def edit_parent(
        self, channel_id: str, ts: str, summary: ScanSummary, triage: TriageView
    ) -> None:
        """Redraw an alert's parent: the scan and its triage as they are now (an ended snooze
        is never drawn as running, whoever edits)."""
        message = self._parent_card(summary, triage=triage, now=self._clock())
        await _sent(
            self._client.chat_update(
                channel=channel_id, ts=ts, text=message["text"], blocks=message["blocks"]
            )
        )

    async def whisper(self, channel_id: str, user_id: str, text: str) -> None:
        """An ephemeral sentence only `user_id` sees in the channel."""
        await _sent(self._client.chat_postEphemeral(channel=channel_id, user=user_id, text=text))

    async def whisper_message(self, channel_id: str, user_id: str, message: Message) -> None:
        """An ephemeral message (text and blocks) only `user_id` sees in the channel."""
        await _sent(
            self._client.chat_postEphemeral(
                channel=channel_id, user=user_id, text=message["text"], blocks=message["blocks"]
            )
        )

    async def edit(self, channel_id: str, ts: str, message: Message) -> None:
        """Replace a message scanbot posted (not an alert's parent: `edit_parent` draws those)."""
        await _sent(
            self._client.chat_update(
                channel=channel_id, ts=ts, text=message["text"], blocks=message["blocks"]
            )
        )

    # -- files ---------------------------------------------------------------------------

    async def upload_file(
        self,
        channel_id: str,
        content: bytes,
        *,
        filename: str,
        title: str,
        comment: str,
        thread_ts: str | None = None,
    ) -> None:
        """Share a file in the channel (in the thread under `thread_ts` if given), with
        `comment` as its message (files.getUploadURLExternal, the upload, then
        files.completeUploadExternal)."""
        options: dict[str, Any] = {} if thread_ts is None else {"thread_ts": thread_ts}
        await _sent(
            self._client.files_upload_v2(
                channel=channel_id,
                content=content,
                filename=filename,
                title=title,
                initial_comment=comment,
                **options,
            )
        )

    # -- views ---------------------------------------------------------------------------

    async def open_view(self, trigger_id: str, view: View) -> str:
        """Open a modal on a click's trigger id (valid 3 s); the view's id."""
        response = await _sent(self._client.views_open(trigger_id=trigger_id, view=view))
        return str(response["view"]["id"])

    async def update_view(self, view_id: str, view: View) -> None:
        await _sent(self._client.views_update(view_id=view_id, view=view))

    async def publish_view(self, user_id: str, view: View) -> None:
        """The user's Home tab."""
        await _sent(self._client.views_publish(user_id=user_id, view=view))

    # -- reads ---------------------------------------------------------------------------

    async def check_auth(self) -> None:
        """Whether Slack accepts the app (auth.test): raises the failure if not."""
        await _sent(self._client.auth_test())

    async def user(self, user_id: str) -> dict[str, Any]:
        """users.info's `user` (empty when Slack answers without one)."""
        response = await _sent(self._client.users_info(user=user_id))
        user = response.get("user")
        return user if isinstance(user, dict) else {}

    async def usergroup_members(self, usergroup_id: str) -> frozenset[str]:
        """The user ids in a user group (usergroups.users.list; needs `usergroups:read`)."""
        response = await _sent(self._client.usergroups_users_list(usergroup=usergroup_id))
        users = response.get("users") or []
        return frozenset(str(u) for u in users if isinstance(u, str))

    async def open_dm(self, user_id: str) -> str:
        """The id of scanbot's direct message with the person (conversations.open; scope
        `im:write`)."""
        response = await _sent(self._client.conversations_open(users=user_id))
        channel = response.get("channel")
        return str(channel.get("id") or "") if isinstance(channel, dict) else ""

    async def permalink(self, channel_id: str, ts: str) -> str | None:
        """A link to the message; None when Slack answers without one."""
        response = await _sent(self._client.chat_getPermalink(channel=channel_id, message_ts=ts))
        link = response.get("permalink")
        return link if isinstance(link, str) else None

    async def channels_of(self, user_id: str, *, max_pages: int = MAX_CHANNEL_PAGES) -> set[str]:
        """The channels the user is in, not archived (public and private, up to `max_pages`
        pages of 200)."""
        channels: set[str] = set()
        try:
            first = await self._client.users_conversations(
                user=user_id,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
            )
            pages = 0
            async for page in first:  # follows Slack's cursor from the first page on
                channels |= {str(c["id"]) for c in page.get("channels") or [] if "id" in c}
                pages += 1
                if pages >= max_pages:
                    break
        except CLIENT_FAILURES as exc:
            raise failure_of(exc) from exc
        return channels


def notifier_for(
    slack: Notifier | AsyncWebClient, *, clock: Callable[[], datetime] = utcnow
) -> Notifier:
    """`slack` as a notifier: a bare client gets one on `clock` (scripts and tests that hold
    only a client; the app builds one notifier and passes it everywhere)."""
    return Notifier(slack, clock=clock) if isinstance(slack, AsyncWebClient) else slack
