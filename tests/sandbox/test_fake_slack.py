"""The fake Slack, driven by slack_sdk's real async clients over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from scanbot.sandbox.slack import FakeSlack, render_text
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


# The terminal rendering


def test_render_text_of_a_card() -> None:
    message = {
        "text": "fallback, not shown",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Scan failed"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*OpenVAS* on `a &lt;b&gt; &amp; c`"},
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Details"},
                    "action_id": "scan.details",
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*State*\nfailed"},
                    {"type": "mrkdwn", "text": "*Risks*\n3 new"},
                ],
            },
            {"type": "divider"},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "by <@U0ALICE>"},
                    {"type": "plain_text", "text": "2 min ago"},
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Next"}},
                    {"type": "button", "text": {"type": "plain_text", "text": "Subscribe"}},
                ],
            },
        ],
    }
    text = render_text(message)
    lines = text.splitlines()
    assert lines[0:2] == ["Scan failed", "==========="]
    # mrkdwn reads as Slack shows it: the markup formats, it is not shown.
    assert lines[2] == "OpenVAS on a <b> & c    [ Details ]"
    assert "  State" in lines
    assert "  3 new" in lines
    assert any(set(line) == {"─"} for line in lines)
    assert "by @U0ALICE" in text
    assert "2 min ago" in text
    assert lines[-1] == "[ Next ]  [ Subscribe ]"
    assert "fallback" not in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("&lt;!channel&gt;", "<!channel>"),
        ("&amp;lt;", "&lt;"),  # one level of escaping only
        ("&quot;kept&quot;", "&quot;kept&quot;"),  # Slack decodes no other entity
        ("<https://example.com|the site>", "the site (https://example.com)"),
        ("<https://example.com>", "https://example.com"),
        ("<!here> and <!channel>", "@here and @channel"),
        ("<#C123|alerts>", "#alerts"),
        ("<!date^1700000000^{date}|Nov 14>", "Nov 14"),
        ("<!subteam^S1|@oncall>", "@oncall"),
        ("", ""),
    ],
)
def test_render_text_of_plain_text(text: str, shown: str) -> None:
    assert render_text({"text": text}) == shown


def test_render_text_tolerates_odd_blocks() -> None:
    message = {
        "blocks": [
            {"type": "section", "accessory": {"type": "overflow", "options": []}},
            {"type": "actions", "elements": [{"type": "static_select", "placeholder": "Pick"}]},
            {"type": "image", "image_url": "https://x/y.png", "alt_text": "graph"},
            {"type": "rich_text", "elements": []},
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": "x"}]},
            {"type": "no_such_block"},
            {"type": "header"},
            "not a block",
        ],
        "files": [{"id": "F1", "name": "risks.csv"}],
    }
    text = render_text(message)
    assert "[ … ]" in text
    assert "[ Pick ▾ ]" in text
    assert "[ image: graph ]" in text
    assert "[no_such_block block]" in text
    assert text.endswith("[ file: risks.csv ]")


def test_render_text_of_a_response_url_body() -> None:
    assert render_text({"response_type": "in_channel", "text": "a &amp; b"}) == "a & b"


def text(value: str, **style: bool) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"style": style} if style else {})}


RICH_CARD = {
    "blocks": [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        text("Target:", bold=True),
                        text(" "),
                        text("*URGENT*", code=True),
                        text(" ~x~ _y_ <!channel> &amp;\n"),
                        {"type": "user", "user_id": "U0ALICE"},
                        text(" in "),
                        {"type": "channel", "channel_id": "C0SEC"},
                        text(" at "),
                        {"type": "date", "timestamp": 0, "format": "{ago}", "fallback": "then"},
                        text(": "),
                        {"type": "link", "url": "https://slack.example/p1", "text": "thread"},
                        text(" "),
                        {"type": "emoji", "name": "fire", "unicode": "1f525"},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "style": "bullet",
                    "elements": [
                        {"type": "rich_text_section", "elements": [text("one")]},
                        {"type": "rich_text_section", "elements": [text("two\nlines")]},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "style": "ordered",
                    "elements": [
                        {"type": "rich_text_section", "elements": [text("first")]},
                    ],
                },
                {"type": "rich_text_quote", "elements": [text("quoted\ntwice", italic=True)]},
                {"type": "rich_text_preformatted", "elements": [text("code  block")]},
                {
                    "type": "rich_text_section",
                    "elements": [{"type": "link", "url": "https://example.org/x"}],
                },
            ],
        }
    ]
}


def test_render_text_shows_rich_text_as_slack_does() -> None:
    assert render_text(RICH_CARD).splitlines() == [
        # Text elements show every character: nothing in them formats, links or pings.
        "Target: *URGENT* ~x~ _y_ <!channel> &amp;",
        "@U0ALICE in #C0SEC at then: thread (https://slack.example/p1) 🔥",
        "• one",
        "• two",
        "  lines",
        "1. first",
        "> quoted",
        "> twice",
        "    code  block",
        "https://example.org/x",
    ]


def test_render_text_styles_with_ansi() -> None:
    first = render_text(RICH_CARD, ansi=True).splitlines()[0]
    assert first == "\033[1mTarget:\033[22m \033[7m*URGENT*\033[27m ~x~ _y_ <!channel> &amp;"
    mrkdwn = {"text": "*bold* _it_ ~gone~ `*code*` a*b*c"}
    assert render_text(mrkdwn, ansi=True) == (
        "\033[1mbold\033[22m \033[3mit\033[23m \033[9mgone\033[29m \033[7m*code*\033[27m a*b*c"
    )
    assert render_text(mrkdwn) == "bold it gone *code* a*b*c"
    assert render_text({"text": "*`/scans`* lists"}, ansi=True) == (
        "\033[1m\033[7m/scans\033[27m\033[22m lists"
    )


@pytest.mark.parametrize(
    "message",
    [
        {"text": "red \x1b[31m\u202eevil"},
        {"blocks": [{"type": "section", "text": {"type": "plain_text", "text": "\x1b]0;x\x07"}}]},
        {
            "blocks": [
                {
                    "type": "rich_text",
                    "elements": [
                        {"type": "rich_text_section", "elements": [text("\x1b[2J\u200b")]}
                    ],
                }
            ]
        },
        {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "\u2066x\u2069"}}]},
        {"files": [{"name": "\x1b[31mreport.pdf"}]},
    ],
)
def test_render_text_never_lets_text_drive_the_terminal_or_hide(message: dict[str, Any]) -> None:
    shown = render_text(message)
    assert "\x1b" not in shown
    assert not [c for c in shown if c != "\n" and unicodedata.category(c) in ("Cc", "Cf")]
    assert "\N{REPLACEMENT CHARACTER}" in shown


def test_plain_text_is_not_parsed() -> None:
    """Slack parses no `<...>` and no formatting in plain_text; only the three entities."""
    plain = {"type": "section", "text": {"type": "plain_text", "text": "*x* <@U1> &lt;y&gt;"}}
    assert render_text({"blocks": [plain]}) == "*x* <@U1> <y>"
