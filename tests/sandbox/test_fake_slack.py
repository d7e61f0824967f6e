"""The fake Slack, driven by slack_sdk's real async clients over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from scanbot.sandbox.slack import FakeSlack
from scanbot.serving import serve_in_background

TOKEN = "xoxb-test-token"
C = "C0ALERTS"


@dataclass
class Served:
    fake: FakeSlack
    url: str

    def client(self, token: str = TOKEN, **options: Any) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=f"{self.url}/api/", **options)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    fake = FakeSlack(bot_token=TOKEN)
    async with serve_in_background(fake.app) as url:
        yield Served(fake, url)


@pytest.fixture
def fake(served: Served) -> FakeSlack:
    return served.fake


@pytest.fixture
def client(served: Served) -> AsyncWebClient:
    return served.client()


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# Identity and auth


async def test_auth_test(client: AsyncWebClient, fake: FakeSlack) -> None:
    answer = await client.auth_test()
    assert answer["ok"] is True
    assert answer["user_id"] == "U0BOT"
    assert answer["team_id"] == "T0FAKE"
    assert answer["bot_id"]
    assert answer["team"]
    assert answer["url"].startswith("https://")
    [call] = fake.calls_to("auth.test")
    assert call.token == TOKEN
    assert call.at > 0


async def test_custom_identity() -> None:
    fake = FakeSlack(bot_token="xoxb-other", team_id="T42", bot_user_id="U42")
    async with serve_in_background(fake.app) as url:
        answer = await AsyncWebClient(token="xoxb-other", base_url=f"{url}/api/").auth_test()
    assert (answer["team_id"], answer["user_id"]) == ("T42", "U42")


async def test_wrong_token_is_invalid_auth_and_recorded(served: Served) -> None:
    with pytest.raises(SlackApiError) as caught:
        await served.client("xoxb-wrong").chat_postMessage(channel=C, text="hi")
    assert caught.value.response["error"] == "invalid_auth"
    assert served.fake.calls_to("chat.postMessage")[0].token == "xoxb-wrong"
    assert served.fake.channels == {}


async def test_missing_token_is_invalid_auth(served: Served) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{served.url}/api/auth.test")
    assert answer.json() == {"ok": False, "error": "invalid_auth"}
    assert served.fake.calls[0].token is None


async def test_token_in_form_body_is_accepted(served: Served) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{served.url}/api/auth.test", data={"token": TOKEN})
    assert answer.json()["ok"] is True


async def test_unknown_method_is_refused_and_recorded(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("chat.scheduleMessage", json={"channel": C, "text": "later"})
    assert caught.value.response["error"] == "unknown_method"
    [call] = fake.calls_to("chat.scheduleMessage")
    assert call.body == {"channel": C, "text": "later"}


# Messages


async def test_post_message_as_json(client: AsyncWebClient, fake: FakeSlack) -> None:
    blocks = [section("*hello*")]
    answer = await client.chat_postMessage(channel=C, text="hello", blocks=blocks)
    assert answer["channel"] == C
    assert answer["message"]["text"] == "hello"
    assert answer["message"]["blocks"] == blocks
    [call] = fake.calls_to("chat.postMessage")
    assert call.body["blocks"] == blocks
    [shown] = fake.channels[C]
    assert shown["ts"] == answer["ts"]
    assert shown["text"] == "hello"
    assert shown["blocks"] == blocks
    assert "thread_ts" not in shown


async def test_post_message_as_form_decodes_json_fields(served: Served) -> None:
    blocks = [section("a & b")]
    form = {"channel": C, "text": "fallback", "blocks": json.dumps(blocks)}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{served.url}/api/chat.postMessage", data=form, headers=headers)
    assert answer.json()["ok"] is True
    assert served.fake.calls[0].body == {"channel": C, "text": "fallback", "blocks": blocks}
    assert served.fake.channels[C][0]["blocks"] == blocks


async def test_ts_strictly_increase_across_channels(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    stamps = []
    for i in range(30):
        answer = await client.chat_postMessage(channel=f"C{i % 3}", text=str(i))
        stamps.append(answer["ts"])
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    assert [float(ts) for ts in stamps] == sorted({float(ts) for ts in stamps})
    assert float(stamps[0]) >= 1_700_000_000
    assert sum(len(messages) for messages in fake.channels.values()) == 30


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"text": "no channel"}, "channel_not_found"),
        ({"channel": C}, "no_text"),
        ({"channel": C, "text": ""}, "no_text"),
        ({"channel": C, "text": "x", "blocks": "not a list"}, "invalid_blocks"),
        ({"channel": C, "text": "x", "blocks": [{"no": "type"}]}, "invalid_blocks"),
        ({"channel": C, "text": "x", "blocks": [section("b")] * 51}, "invalid_blocks"),
        ({"channel": C, "text": "x", "thread_ts": "yesterday"}, "invalid_thread_ts"),
        ({"channel": C, "text": "x", "thread_ts": "1600000000.000001"}, "thread_not_found"),
    ],
)
async def test_post_message_refusals(
    client: AsyncWebClient, fake: FakeSlack, fields: dict[str, object], error: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("chat.postMessage", json=fields)
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error
    assert fake.channels.get(C, []) == []


async def test_fifty_blocks_are_fine(client: AsyncWebClient) -> None:
    answer = await client.chat_postMessage(channel=C, text="x", blocks=[section("b")] * 50)
    assert answer["ok"]


async def test_thread_replies_sit_with_their_parent(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    parent = await client.chat_postMessage(channel=C, text="scan failed")
    other = await client.chat_postMessage(channel=C, text="another alert")
    one = await client.chat_postMessage(channel=C, text="retrying", thread_ts=parent["ts"])
    two = await client.chat_postMessage(
        channel=C, text="failed again", thread_ts=parent["ts"], reply_broadcast=True
    )
    # A reply to a reply lands in the same thread, as in Slack.
    three = await client.chat_postMessage(channel=C, text="gave up", thread_ts=one["ts"])
    assert three["message"]["thread_ts"] == parent["ts"]
    thread = fake.thread(C, parent["ts"])
    assert [m["text"] for m in thread] == ["scan failed", "retrying", "failed again", "gave up"]
    head = thread[0]
    assert head["reply_count"] == 3
    assert head["latest_reply"] == three["ts"]
    assert head["thread_ts"] == parent["ts"]
    assert thread[1]["reply_broadcast"] is False
    assert thread[2]["reply_broadcast"] is True
    assert fake.thread(C, other["ts"]) == [fake.message(C, other["ts"])]
    assert two["message"]["thread_ts"] == parent["ts"]


async def test_reply_broadcast_sent_as_form(served: Served) -> None:
    fake = served.fake
    parent = await served.client().chat_postMessage(channel=C, text="parent")
    form = {"channel": C, "text": "r", "thread_ts": parent["ts"], "reply_broadcast": "1"}
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{served.url}/api/chat.postMessage",
            data=form,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert fake.channels[C][-1]["reply_broadcast"] is True


async def test_update_edits_the_stored_message(client: AsyncWebClient, fake: FakeSlack) -> None:
    posted = await client.chat_postMessage(channel=C, text="running 10%", blocks=[section("10%")])
    answer = await client.chat_update(channel=C, ts=posted["ts"], text="running 50%")
    assert answer["ts"] == posted["ts"]
    [shown] = fake.channels[C]
    assert shown["text"] == "running 50%"
    assert shown["blocks"] == [section("10%")]  # left out: kept, as in Slack
    assert shown["edited"]["user"] == "U0BOT"
    await client.chat_update(channel=C, ts=posted["ts"], text="done", blocks=[section("100%")])
    assert fake.channels[C][0]["blocks"] == [section("100%")]
    assert len(fake.channels[C]) == 1


async def test_update_of_unknown_message(client: AsyncWebClient, fake: FakeSlack) -> None:
    posted = await client.chat_postMessage(channel=C, text="here")
    for channel, ts in [(C, "1600000000.000100"), ("C0OTHER", posted["ts"])]:
        with pytest.raises(SlackApiError) as caught:
            await client.chat_update(channel=channel, ts=ts, text="edit")
        assert caught.value.response["error"] == "message_not_found"
    assert fake.channels[C][0]["text"] == "here"


async def test_post_ephemeral(client: AsyncWebClient, fake: FakeSlack) -> None:
    answer = await client.chat_postEphemeral(channel=C, user="U0ALICE", text="only you")
    assert answer["message_ts"]
    assert fake.channels.get(C) is None
    [shown] = fake.ephemerals
    assert (shown["channel"], shown["user_to"], shown["text"]) == (C, "U0ALICE", "only you")
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("chat.postEphemeral", json={"channel": C, "text": "to nobody"})
    assert caught.value.response["error"] == "user_not_found"


# Views, files, look-ups


async def test_views_open_update_publish(client: AsyncWebClient, fake: FakeSlack) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Triage"}, "blocks": []}
    opened = await client.views_open(trigger_id="1.trigger", view=modal)
    view_id = opened["view"]["id"]
    assert opened["view"]["title"]["text"] == "Triage"
    updated = await client.views_update(
        view_id=view_id, view={**modal, "blocks": [section("more")]}
    )
    assert updated["view"]["id"] == view_id
    assert fake.views[view_id]["blocks"] == [section("more")]
    home = {"type": "home", "blocks": [section("welcome")]}
    published = await client.views_publish(user_id="U0ALICE", view=home)
    again = await client.views_publish(user_id="U0ALICE", view=home)
    assert published["view"]["id"] == again["view"]["id"]
    with pytest.raises(SlackApiError) as caught:
        await client.views_update(view_id="V0NOPE", view=modal)
    assert caught.value.response["error"] == "not_found"
    with pytest.raises(SlackApiError) as caught:
        await client.views_open(trigger_id="1.trigger", view={"type": "nonsense"})
    assert caught.value.response["error"] == "invalid_arguments"


async def test_files_upload_v2(client: AsyncWebClient, fake: FakeSlack) -> None:
    parent = await client.chat_postMessage(channel=C, text="report follows")
    answer = await client.files_upload_v2(
        channel=C,
        content="target,risk\nexample.com,high\n",
        filename="risks.csv",
        title="Risks",
        initial_comment="Here are the risks",
        thread_ts=parent["ts"],
    )
    [file] = answer["files"]
    assert file["title"] == "Risks"
    assert fake.uploads[file["id"]].content == b"target,risk\nexample.com,high\n"
    assert [c.method for c in fake.calls] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    shared = fake.channels[C][-1]
    assert shared["thread_ts"] == parent["ts"]
    assert shared["text"] == "Here are the risks"
    assert shared["files"][0]["name"] == "risks.csv"


async def test_complete_upload_needs_the_upload(client: AsyncWebClient) -> None:
    url = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError) as caught:
        await client.files_completeUploadExternal(files=[{"id": url["file_id"]}])
    assert caught.value.response["error"] == "file_not_found"


async def test_conversations_and_users_info(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = await client.conversations_info(channel=C)
    assert channel["channel"]["id"] == C
    assert channel["channel"]["is_member"] is True
    user = await client.users_info(user="U0ALICE")
    assert user["user"]["id"] == "U0ALICE"
    assert user["user"]["name"]
    assert user["user"]["is_bot"] is False
    assert (await client.users_info(user="U0BOT"))["user"]["is_bot"] is True
    assert fake.calls_to("users.info")[0].body == {"user": "U0ALICE"}


# response_url


async def test_response_url_takes_five_posts(served: Served) -> None:
    url = served.fake.response_url(served.url)
    hook = AsyncWebhookClient(url)
    for i in range(5):
        answer = await hook.send(text=f"reply {i}", response_type="ephemeral")
        assert (answer.status_code, answer.body) == (200, "ok")
    sixth = await hook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    posts = served.fake.responses_to(url)
    assert [p.body["text"] for p in posts] == [f"reply {i}" for i in range(5)]
    assert posts == served.fake.responses_to(posts[0].key)


async def test_response_urls_are_separate(served: Served) -> None:
    first = served.fake.response_url(served.url)
    second = served.fake.response_url(served.url + "/")
    assert first != second
    await AsyncWebhookClient(second).send_dict({"text": "b", "replace_original": True})
    await AsyncWebhookClient(first).send_dict({"text": "a", "blocks": [section("a")]})
    assert [p.body["text"] for p in await served.fake.wait_for_responses(2)] == ["b", "a"]
    assert served.fake.responses_to(first)[0].body["blocks"] == [section("a")]
    assert served.fake.responses_to(second)[0].body["replace_original"] is True


async def test_unknown_response_url(served: Served) -> None:
    answer = await AsyncWebhookClient(f"{served.url}/response/nope").send(text="x")
    assert answer.status_code == 404
    assert served.fake.responses == []


async def test_response_url_refuses_bad_json(served: Served) -> None:
    url = served.fake.response_url(served.url)
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            url, content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert (answer.status_code, answer.text) == (400, "invalid_payload")


# Scripted faults


async def test_rate_limit_surfaces_as_429_with_retry_after(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=C, text="alert")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"
    assert fake.channels.get(C) is None
    # Only the next call was faulted.
    assert (await client.chat_postMessage(channel=C, text="alert"))["ok"]
    assert len(fake.calls_to("chat.postMessage")) == 2
    assert len(fake.channels[C]) == 1


async def test_rate_limit_retried_by_slack_sdk_handler(served: Served) -> None:
    served.fake.fail_next("chat.postMessage", retry_after=0)
    client = served.client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    assert (await client.chat_postMessage(channel=C, text="alert"))["ok"]
    assert len(served.fake.calls_to("chat.postMessage")) == 2


async def test_error_answers_with_200(client: AsyncWebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", error="not_in_channel")
    fake.fail_next("chat.postMessage", error="invalid_blocks")
    for error in ("not_in_channel", "invalid_blocks"):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel=C, text="alert")
        assert caught.value.response.status_code == 200
        assert caught.value.response["error"] == error
    assert fake.channels.get(C) is None


async def test_fault_times_and_other_methods_untouched(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    fake.fail_next("chat.update", error="cant_update_message", times=2)
    assert (await client.chat_postMessage(channel=C, text="fine"))["ok"]
    posted = fake.channels[C][0]
    for _ in range(2):
        with pytest.raises(SlackApiError):
            await client.chat_update(channel=C, ts=posted["ts"], text="edit")
    assert (await client.chat_update(channel=C, ts=posted["ts"], text="edit"))["ok"]


async def test_server_error(client: AsyncWebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=500)
    fake.fail_next("chat.postMessage", status=503, error="service_unavailable")
    for status in (500, 503):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel=C, text="alert")
        assert caught.value.response.status_code == status
    assert fake.channels.get(C) is None


async def test_delay_past_the_client_timeout_still_posts(served: Served) -> None:
    served.fake.fail_next("chat.postMessage", delay=0.6)
    client = served.client(timeout=0.2)
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel=C, text="slow")
    assert served.fake.channels.get(C) is None
    # Slack went on and posted it: the client cannot know, a retry would duplicate it.
    await asyncio.sleep(0.8)
    assert served.fake.channels[C][0]["text"] == "slow"


async def test_delay_with_error(client: AsyncWebClient, fake: FakeSlack) -> None:
    fake.fail_next("auth.test", delay=0.1, error="fatal_error")
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response["error"] == "fatal_error"


@pytest.mark.parametrize(
    ("fault", "status", "body"),
    [
        ({"error": "invalid_blocks"}, 400, "invalid_blocks"),
        ({"error": "expired_url", "status": 404}, 404, "expired_url"),
        ({"status": 500}, 500, "internal_error"),
        ({"retry_after": 3}, 429, "rate_limited"),
    ],
)
async def test_response_url_faults(
    served: Served, fault: dict[str, int | str], status: int, body: str
) -> None:
    served.fake.fail_next("response_url", **fault)  # type: ignore[arg-type]
    url = served.fake.response_url(served.url)
    hook = AsyncWebhookClient(url)
    answer = await hook.send(text="x")
    assert (answer.status_code, answer.body) == (status, body)
    if status == 429:
        assert answer.headers["Retry-After"] == "3"
    assert served.fake.responses == []
    assert (await hook.send(text="y")).status_code == 200
    assert [p.body["text"] for p in served.fake.responses_to(url)] == ["y"]


async def test_response_url_delay(served: Served) -> None:
    served.fake.fail_next("response_url", delay=0.6)
    url = served.fake.response_url(served.url)
    with pytest.raises(TimeoutError):
        await AsyncWebhookClient(url, timeout=0.2).send(text="late")  # type: ignore[arg-type]
    await served.fake.wait_for_responses(1, timeout=3)


# Waiting


async def test_wait_for_calls(served: Served) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.1)
        client = served.client()
        for i in range(3):
            await client.chat_postMessage(channel=C, text=str(i))

    task = asyncio.create_task(post_later())
    calls = await served.fake.wait_for_calls("chat.postMessage", 3)
    assert [call.body["text"] for call in calls] == ["0", "1", "2"]
    assert calls[0].at <= calls[1].at <= calls[2].at
    await task


async def test_wait_times_out_saying_what_it_saw(client: AsyncWebClient, fake: FakeSlack) -> None:
    await client.auth_test()
    with pytest.raises(TimeoutError, match=r"auth\.test"):
        await fake.wait_for_calls("chat.postMessage", timeout=0.1)
    with pytest.raises(TimeoutError):
        await fake.wait_for_responses(timeout=0.05)


async def test_a_dropped_answer_leaves_the_post_done(served: Served) -> None:
    """Slack accepted the post; the connection drops before the answer (no SDK retry)."""
    client = served.client(retry_handlers=[])
    served.fake.fail_next("chat.postMessage", drop=True)
    with pytest.raises(aiohttp.ClientError):
        await client.chat_postMessage(channel=C, text="once")
    assert [m["text"] for m in served.fake.channels[C]] == ["once"]
    assert served.fake.dropped == 1
    await client.chat_postMessage(channel=C, text="twice")  # the next call answers
    assert len(served.fake.channels[C]) == 2


async def test_history_and_replies_carry_metadata_when_asked(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    metadata = {"event_type": "scanbot_alert", "event_payload": {"key": "k1"}}
    parent = await client.chat_postMessage(channel=C, text="parent", metadata=metadata)
    reply = await client.chat_postMessage(
        channel=C, text="reply", thread_ts=parent["ts"], metadata=metadata
    )
    await client.chat_postMessage(channel=C, text="later")

    history = await client.conversations_history(channel=C, include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["later", "parent"]
    assert history["messages"][1]["metadata"] == metadata
    bare = await client.conversations_history(channel=C, oldest=parent["ts"])
    assert [m["text"] for m in bare["messages"]] == ["later"]
    assert all("metadata" not in m for m in bare["messages"])

    thread = await client.conversations_replies(
        channel=C, ts=parent["ts"], include_all_metadata=True
    )
    assert [m["ts"] for m in thread["messages"]] == [parent["ts"], reply["ts"]]
    assert thread["messages"][1]["metadata"] == metadata


async def test_history_without_its_scope_is_refused(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    fake.missing_scopes = {"channels:history"}
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_history(channel=C)
    assert refused.value.response["error"] == "missing_scope"
    await client.chat_postMessage(channel="G0PRIVATE", text="x")
    assert (await client.conversations_history(channel="G0PRIVATE"))["ok"]
