"""The notifier against the fake Slack over loopback, driven by slack_sdk's real async client:
what each call sends, and each kind of Slack failure turned into its typed failure."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from scanbot.domain.scans import ScanSummary
from scanbot.domain.threads import TriageView
from scanbot.sandbox.slack import FakeSlack
from scanbot.serving import serve_in_background
from scanbot.slack.cards import threads as thread_cards
from scanbot.slack.kit import Message
from scanbot.slack.notifier import (
    Notifier,
    OutcomeUnknown,
    Parked,
    Paused,
    Refused,
    RetryLater,
    SlackFailure,
    failure_of,
    notifier_for,
    retry_after,
)
from tests.slack.blockkit import assert_valid_message

TOKEN = "xoxb-notifier-tests"
C = "C0ALERTS"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
MESSAGE: Message = {
    "text": "an alert",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "an alert"}}],
}
SUMMARY = ScanSummary(scan_id="scan-1", type="NMAP", state="RUNNING", progress=40)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Served:
    fake: FakeSlack
    url: str
    clock: Clock

    def client(self, **options: Any) -> AsyncWebClient:
        return AsyncWebClient(token=TOKEN, base_url=f"{self.url}/api/", **options)

    def notifier(self, **options: Any) -> Notifier:
        return Notifier(self.client(**options), clock=self.clock)

    def bodies(self, method: str) -> list[dict[str, Any]]:
        return [call.body for call in self.fake.calls_to(method)]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    fake = FakeSlack(bot_token=TOKEN)
    async with serve_in_background(fake.app) as url:
        yield Served(fake, url, Clock())


# -- what each call sends --------------------------------------------------------------------


async def test_post_reply_and_notice(served: Served) -> None:
    notifier = served.notifier()
    parent = await notifier.post(C, MESSAGE)
    reply = await notifier.reply(C, parent, MESSAGE)
    broadcast = await notifier.reply(C, parent, MESSAGE, broadcast=True)
    quiet = await notifier.reply(C, parent, MESSAGE, broadcast=False)
    await notifier.notice(C, MESSAGE)
    posts = served.bodies("chat.postMessage")
    assert [p.get("thread_ts") for p in posts] == [None, parent, parent, parent, None]
    assert [p.get("reply_broadcast") for p in posts] == [None, None, True, False, None]
    # Alerts and replies never unfurl links from scan data; a notice keeps Slack's defaults.
    assert all(p["unfurl_links"] is False and p["unfurl_media"] is False for p in posts[:4])
    assert "unfurl_links" not in posts[4]
    assert "unfurl_media" not in posts[4]
    assert all(p["text"] == MESSAGE["text"] and p["blocks"] == MESSAGE["blocks"] for p in posts)
    assert len({parent, reply, broadcast, quiet}) == 4
    assert [m["ts"] for m in served.fake.thread(C, parent)] == [parent, reply, broadcast, quiet]


async def test_a_keyed_post_is_found_by_its_key(served: Served) -> None:
    notifier = served.notifier()
    since = datetime.now(UTC) - timedelta(seconds=5)
    parent = await notifier.post(C, MESSAGE, key="C0ALERTS|scan-1|finished|")
    reply = await notifier.reply(C, parent, MESSAGE, key="C0ALERTS|scan-1|risks|2")
    await notifier.post(C, MESSAGE)  # no key: no metadata
    posts = served.bodies("chat.postMessage")
    assert posts[0]["metadata"] == {
        "event_type": "scanbot_alert",
        "event_payload": {"key": "C0ALERTS|scan-1|finished|"},
    }
    assert "metadata" not in posts[2]
    assert await notifier.find_posted(C, "C0ALERTS|scan-1|finished|", since=since) == parent
    assert await notifier.find_posted(C, "C0ALERTS|scan-1|risks|2", since=since) is None
    found = await notifier.find_posted(C, "C0ALERTS|scan-1|risks|2", since=since, thread_ts=parent)
    assert found == reply
    later = datetime.now(UTC) + timedelta(minutes=5)  # only what came since: nothing
    assert await notifier.find_posted(C, "C0ALERTS|scan-1|finished|", since=later) is None
    assert all(b["include_all_metadata"] for b in served.bodies("conversations.history"))


async def test_looking_without_the_history_scope_is_paused_missing_scope(served: Served) -> None:
    served.fake.missing_scopes = {"channels:history"}
    with pytest.raises(Paused) as paused:
        await served.notifier().find_posted(C, "k", since=T0)
    assert paused.value.error == "missing_scope"


async def test_an_edit_is_always_drawn_at_the_current_time(served: Served) -> None:
    drawn: list[datetime] = []

    def card(summary: ScanSummary, *, triage: TriageView, now: datetime) -> Message:
        drawn.append(now)
        return thread_cards.parent_card(summary, triage=triage, now=now)

    notifier = Notifier(served.client(), clock=served.clock, parent_card=card)
    parent = await notifier.post(C, MESSAGE)
    view = TriageView(snoozed_until=T0 + timedelta(hours=1))
    await notifier.edit_parent(C, parent, SUMMARY, view)
    served.clock.now = T0 + timedelta(hours=2)
    await notifier.edit_parent(C, parent, SUMMARY, view)
    assert drawn == [T0, T0 + timedelta(hours=2)]
    updates = served.bodies("chat.update")
    assert [(u["channel"], u["ts"]) for u in updates] == [(C, parent), (C, parent)]
    # The snooze ended by the second edit: the card no longer draws it as running.
    assert updates[0]["blocks"] != updates[1]["blocks"]
    expected = thread_cards.parent_card(SUMMARY, triage=view, now=T0 + timedelta(hours=2))
    assert updates[1]["blocks"] == expected["blocks"]
    assert served.fake.message(C, parent) is not None
    assert_valid_message(expected)


async def test_the_real_parent_card_is_the_default(served: Served) -> None:
    notifier = served.notifier()
    parent = await notifier.post(C, MESSAGE)
    await notifier.edit_parent(C, parent, SUMMARY, TriageView())
    [update] = served.bodies("chat.update")
    assert (
        update["blocks"] == thread_cards.parent_card(SUMMARY, triage=TriageView(), now=T0)["blocks"]
    )


async def test_upload_a_file_into_a_thread(served: Served) -> None:
    notifier = served.notifier()
    parent = await notifier.post(C, MESSAGE)
    content = b"%PDF-1.7 not really\n"
    await notifier.upload_file(
        C,
        content,
        filename="scanbot-scan-1.pdf",
        title="HostedScan report",
        comment="The report, for <@U0ALICE>",
        thread_ts=parent,
    )
    assert [c.method for c in served.fake.calls] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [upload] = served.fake.uploads.values()
    assert (upload.filename, upload.content) == ("scanbot-scan-1.pdf", content)
    shared = served.fake.thread(C, parent)[-1]
    assert shared["text"] == "The report, for <@U0ALICE>"
    assert shared["files"][0]["title"] == "HostedScan report"


async def test_upload_a_file_into_the_channel(served: Served) -> None:
    await served.notifier().upload_file(
        C, b"a,b\n", filename="risks.csv", title="Risks", comment="Risks"
    )
    shared = served.fake.channels[C][-1]
    assert "thread_ts" not in shared
    assert shared["files"][0]["name"] == "risks.csv"


async def test_a_refused_upload_is_a_typed_failure(served: Served) -> None:
    served.fake.fail_next("files.completeUploadExternal", error="not_in_channel")
    with pytest.raises(Refused) as refused:
        await served.notifier().upload_file(C, b"x", filename="a.txt", title="a", comment="a")
    assert refused.value.error == "not_in_channel"


async def test_views_open_update_and_publish(served: Served) -> None:
    notifier = served.notifier()
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Risk"}, "blocks": []}
    view_id = await notifier.open_view("trigger-1", modal)
    assert served.fake.views[view_id]["title"]["text"] == "Risk"
    await notifier.update_view(view_id, {**modal, "title": {"type": "plain_text", "text": "R2"}})
    assert served.fake.views[view_id]["title"]["text"] == "R2"
    await notifier.publish_view("U0ALICE", {"type": "home", "blocks": []})
    assert [b["user_id"] for b in served.bodies("views.publish")] == ["U0ALICE"]


async def test_reads_permalink_channels_auth_and_a_whisper(served: Served) -> None:
    notifier = served.notifier()
    parent = await notifier.post(C, MESSAGE)
    link = await notifier.permalink(C, parent)
    assert link is not None
    assert parent.replace(".", "") in link
    served.fake.members["U0ALICE"] = [C, "C0OTHER"]
    assert await notifier.channels_of("U0ALICE") == {C, "C0OTHER"}
    await notifier.check_auth()
    served.fake.guests.add("U0GUEST")
    assert (await notifier.user("U0GUEST"))["is_restricted"] is True
    assert (await notifier.user("U0ALICE"))["id"] == "U0ALICE"
    await notifier.whisper(C, "U0ALICE", "only you")
    assert served.fake.ephemerals[-1]["text"] == "only you"


async def test_messages_for_operations_edit_dm_whisper_and_thread(served: Served) -> None:
    notifier = served.notifier()
    ts = await notifier.notice(C, MESSAGE)
    in_thread = await notifier.notice(C, MESSAGE, thread_ts=ts)
    assert [m["ts"] for m in served.fake.thread(C, ts)] == [ts, in_thread]
    edited: Message = {"text": "edited", "blocks": MESSAGE["blocks"]}
    await notifier.edit(C, ts, edited)
    (update,) = served.bodies("chat.update")
    assert (update["channel"], update["ts"], update["text"]) == (C, ts, "edited")
    assert update["blocks"] == MESSAGE["blocks"]
    assert await notifier.direct("U0ALICE", MESSAGE)
    assert served.bodies("chat.postMessage")[-1]["channel"] == "U0ALICE"
    await notifier.whisper_message(C, "U0ALICE", MESSAGE)
    whispered = served.fake.ephemerals[-1]
    assert (whispered["text"], whispered["blocks"]) == (MESSAGE["text"], MESSAGE["blocks"])


async def test_usergroup_members(served: Served) -> None:
    notifier = served.notifier()
    served.fake.usergroups["S0ONCALL"] = ["U0ALICE", "U0BOB"]
    assert await notifier.usergroup_members("S0ONCALL") == {"U0ALICE", "U0BOB"}
    served.fake.usergroups["S0EMPTY"] = []
    assert await notifier.usergroup_members("S0EMPTY") == frozenset()
    with pytest.raises(Parked) as caught:  # an error code the table does not know
        await notifier.usergroup_members("S0GONE")
    assert caught.value.error == "no_such_subteam"
    served.fake.fail_next("usergroups.users.list", error="missing_scope")
    with pytest.raises(Paused):
        await notifier.usergroup_members("S0ONCALL")


async def test_operation_messages_fail_typed(served: Served) -> None:
    notifier = served.notifier()
    served.fake.fail_next("chat.update", error="message_not_found")
    with pytest.raises(Refused):
        await notifier.edit(C, "1.0", MESSAGE)
    served.fake.fail_next("chat.postEphemeral", error="user_not_in_channel")
    with pytest.raises(Parked):
        await notifier.whisper_message(C, "U0ALICE", MESSAGE)
    served.fake.fail_next("chat.postMessage", status=503)
    with pytest.raises(RetryLater):
        await notifier.direct("U0ALICE", MESSAGE)


async def test_open_a_dm_and_post_there(served: Served) -> None:
    notifier = served.notifier()
    dm = await notifier.open_dm("U0BOB")
    assert dm == "D0BOB"
    assert await notifier.open_dm("U0BOB") == dm  # the same conversation every time
    await notifier.notice(dm, MESSAGE)
    assert served.fake.channels[dm][-1]["text"] == MESSAGE["text"]
    served.fake.fail_next("conversations.open", error="missing_scope")
    with pytest.raises(Paused):  # im:write not granted: an admin must reinstall
        await notifier.open_dm("U0BOB")


def test_a_bare_client_becomes_a_notifier_and_a_notifier_stays() -> None:
    client = AsyncWebClient(token=TOKEN)
    notifier = notifier_for(client)
    assert isinstance(notifier, Notifier)
    assert notifier_for(notifier) is notifier


# -- Slack's answers: each a typed failure ----------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "error"),
    [
        ({"error": "token_revoked"}, Paused, "token_revoked"),
        ({"error": "account_inactive"}, Paused, "account_inactive"),
        ({"error": "invalid_auth"}, Paused, "invalid_auth"),
        ({"error": "missing_scope"}, Paused, "missing_scope"),
        ({"error": "channel_not_found"}, Refused, "channel_not_found"),
        ({"error": "not_in_channel"}, Refused, "not_in_channel"),
        ({"error": "is_archived"}, Refused, "is_archived"),
        ({"error": "msg_too_long"}, Refused, "msg_too_long"),
        ({"error": "invalid_blocks"}, Refused, "invalid_blocks"),
        ({"error": "internal_error"}, RetryLater, "internal_error"),
        ({"error": "service_unavailable"}, RetryLater, "service_unavailable"),
        ({"status": 503}, RetryLater, "internal_error"),
        ({"status": 502, "error": "bad_gateway"}, RetryLater, "bad_gateway"),
        ({"retry_after": 7}, RetryLater, "ratelimited"),
        ({"error": "something_new"}, Parked, "something_new"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
async def test_each_slack_error_is_its_typed_failure(
    served: Served, fault: dict[str, Any], kind: type[SlackFailure], error: str
) -> None:
    served.fake.fail_next("chat.postMessage", **fault)
    with pytest.raises(SlackFailure) as caught:
        await served.notifier().post(C, MESSAGE)
    failure = caught.value
    assert type(failure) is kind
    assert failure.error == error
    assert failure.status == fault.get("status", 429 if "retry_after" in fault else 200)
    assert failure.wire is None
    assert isinstance(failure.__cause__, SlackApiError)  # the cause stays, for the log


async def test_a_429_says_when_to_come_back(served: Served) -> None:
    served.fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(RetryLater) as caught:
        await served.notifier().post(C, MESSAGE)
    assert caught.value.after == 7.0
    assert caught.value.detail == "ratelimited (HTTP 429)"


async def test_a_5xx_leaves_the_backoff_to_the_caller(served: Served) -> None:
    served.fake.fail_next("chat.update", status=503)
    with pytest.raises(RetryLater) as caught:
        await served.notifier().edit_parent(C, "1.0", SUMMARY, TriageView())
    assert caught.value.after is None
    assert caught.value.detail == "internal_error (HTTP 503)"


@pytest.mark.parametrize(
    ("error", "gone"),
    [("channel_not_found", True), ("is_archived", True), ("not_in_channel", False)],
)
async def test_a_refusal_says_whether_the_channel_is_gone(
    served: Served, error: str, gone: bool
) -> None:
    served.fake.fail_next("chat.postMessage", error=error)
    with pytest.raises(Refused) as caught:
        await served.notifier().post(C, MESSAGE)
    assert caught.value.channel_gone is gone


async def test_a_refused_view_and_edit(served: Served) -> None:
    notifier = served.notifier()
    served.fake.fail_next("views.open", error="expired_trigger_id")
    with pytest.raises(Refused):
        await notifier.open_view("t", {"type": "modal", "blocks": []})
    served.fake.fail_next("chat.update", error="message_not_found")
    with pytest.raises(Refused):
        await notifier.edit_parent(C, "1.0", SUMMARY, TriageView())
    served.fake.fail_next("chat.update", error="cant_update_message")
    with pytest.raises(Refused):
        await notifier.edit_parent(C, "1.0", SUMMARY, TriageView())


async def test_a_wrong_token_pauses(served: Served) -> None:
    client = AsyncWebClient(token="xoxb-revoked", base_url=f"{served.url}/api/")
    with pytest.raises(Paused) as caught:
        await Notifier(client).check_auth()
    assert caught.value.error == "invalid_auth"


async def test_reads_fail_typed_too(served: Served) -> None:
    notifier = served.notifier()
    served.fake.fail_next("users.conversations", error="ratelimited", status=429)
    with pytest.raises(RetryLater):
        await notifier.channels_of("U0ALICE")
    served.fake.fail_next("chat.getPermalink", error="message_not_found")
    with pytest.raises(Refused):
        await notifier.permalink(C, "1.0")


# -- no answer: nothing sent, or the answer lost -----------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: a connection there is refused


async def test_no_connection_means_nothing_was_sent() -> None:
    client = AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{_closed_port()}/api/")
    with pytest.raises(RetryLater) as caught:
        await Notifier(client).post(C, MESSAGE)
    failure = caught.value
    assert failure.error == "no connection"
    assert failure.after is None
    assert failure.status is None
    assert failure.wire is not None
    assert failure.detail.startswith("connection: ClientConnector")


async def test_no_answer_in_time_may_have_posted(served: Served) -> None:
    served.fake.fail_next("chat.postMessage", delay=0.5)
    with pytest.raises(OutcomeUnknown) as caught:
        await served.notifier(timeout=0.1).post(C, MESSAGE)
    assert caught.value.error == "no answer in time"
    assert caught.value.status is None
    # Slack had the request: it posts once the answer nobody waits for is ready.
    assert len(served.fake.calls_to("chat.postMessage")) == 1
    for _ in range(200):
        if served.fake.channels.get(C):
            break
        await asyncio.sleep(0.01)
    assert [m["text"] for m in served.fake.channels[C]] == [MESSAGE["text"]]


@contextlib.asynccontextmanager
async def _hanging_up_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads a request, then closes the connection without answering."""
    received: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(65536))
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/api/", received


async def test_a_connection_dropped_after_sending_is_an_unknown_outcome() -> None:
    async with _hanging_up_server() as (url, received):
        with pytest.raises(OutcomeUnknown) as caught:
            await Notifier(AsyncWebClient(token=TOKEN, base_url=url)).post(C, MESSAGE)
    assert caught.value.error == "no connection"
    assert caught.value.detail == "connection: ServerDisconnectedError"
    # The request reached the other end (slack_sdk itself tries such a request twice).
    assert received
    assert all(b"chat.postMessage" in r for r in received)


# -- the table itself ---------------------------------------------------------------------------


def _answer(status: int, body: dict[str, Any], headers: dict[str, str]) -> SlackApiError:
    response = AsyncSlackResponse(
        client=AsyncWebClient(token=TOKEN),
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=body,
        headers=headers,
        status_code=status,
    )
    return SlackApiError("failed", response)


def _exceptions() -> Iterator[tuple[BaseException, type[SlackFailure], str]]:
    key = aiohttp.client_reqrep.ConnectionKey("slack.com", 443, True, True, None, None, None)
    yield aiohttp.ClientConnectorError(key, OSError(111, "refused")), RetryLater, "no connection"
    yield aiohttp.ConnectionTimeoutError(), RetryLater, "no answer in time"
    yield aiohttp.SocketTimeoutError(), OutcomeUnknown, "no answer in time"
    yield TimeoutError(), OutcomeUnknown, "no answer in time"
    yield aiohttp.ServerDisconnectedError(), OutcomeUnknown, "no connection"
    yield aiohttp.ClientPayloadError("cut"), OutcomeUnknown, "no connection"
    yield ConnectionResetError(), OutcomeUnknown, "no connection"
    yield SlackRequestError("bad arguments"), Parked, "the request failed"


@pytest.mark.parametrize(
    ("exc", "kind", "error"), list(_exceptions()), ids=lambda v: type(v).__name__
)
def test_each_client_exception_is_its_typed_failure(
    exc: BaseException, kind: type[SlackFailure], error: str
) -> None:
    failure = failure_of(exc)
    assert (type(failure), failure.error, failure.wire) == (kind, error, type(exc).__name__)


def test_an_answer_without_an_error_code() -> None:
    failure = failure_of(_answer(502, {}, {}))
    assert (type(failure), failure.error, failure.status) == (RetryLater, "unknown", 502)


def test_the_app_wide_errors_win_over_the_status() -> None:
    assert isinstance(failure_of(_answer(500, {"error": "token_revoked"}, {})), Paused)


def test_anything_else_is_not_a_slack_failure() -> None:
    with pytest.raises(TypeError):
        failure_of(ValueError("not Slack's"))


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": "2"}, 2.0),  # aiohttp keeps the server's spelling
        ({"Retry-After": "0.5"}, 0.5),
        ({}, 1.0),
        ({"Retry-After": ""}, 1.0),
        ({"Retry-After": "soon"}, 1.0),
        ({"Retry-After": "-3"}, 1.0),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float) -> None:
    assert retry_after(headers) == seconds
    failure = failure_of(_answer(429, {"error": "ratelimited"}, headers))
    assert isinstance(failure, RetryLater)
    assert failure.after == seconds
