"""A loopback fake of Slack's Web API and response_urls that records every call.

End-to-end tests point slack_sdk's `AsyncWebClient(base_url=f"{url}/api/")` at it, the
way bolt-python's own tests do; the demo prints what it received (`slack.terminal`).
It keeps what a person would see per channel, and can script Slack's faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from scanbot.sandbox.slack_socket import FakeSocketMode

RESPONSE_URL = "response_url"
# Slack takes at most this many posts per response_url.
RESPONSE_URL_POSTS = 5
MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
# Form fields that slack_sdk and Slack's own clients send as JSON text.
JSON_FORM_FIELDS = frozenset(
    {"blocks", "attachments", "view", "files", "metadata", "unfurls", "user_auth_blocks"}
)
# Reads that need channels:history (public channels) or groups:history (private ones).
HISTORY_READS = frozenset({"conversations.history", "conversations.replies"})
FIRST_TS = 1_700_000_000_000_000  # microseconds; every ts is later than this
_TS = re.compile(r"\d+\.\d+")

Json = dict[str, Any]
# A Web API method: the parsed body in, the fields after `"ok": true` out.
_Method = Callable[[Json, Request], Json]


@dataclass
class SlackCall:
    """One Web API call as received; `at` is `time.monotonic()`, for measuring pacing."""

    method: str
    body: dict[str, Any]
    token: str | None
    at: float


@dataclass
class ResponseUrlPost:
    """One post to a response_url that Slack accepted (refused posts are not kept)."""

    key: str
    body: dict[str, Any]
    at: float


@dataclass
class _Fault:
    error: str | None
    status: int
    retry_after: int | None
    delay: float
    times: int
    until: asyncio.Event | None = None  # answer (or fail) only once this is set
    channel: str | None = None  # only calls for this channel
    drop: bool = False  # do the call, then drop the connection before the answer


@dataclass
class UploadedFile:
    """A file announced by files.getUploadURLExternal; `content` arrives with the upload."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    meta: Json = field(default_factory=dict)


class FakeSlack:
    """Slack's Web API on loopback: `POST /api/{method}`, response_urls, file uploads."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake",  # noqa: S107 - a fake server's fake token
        app_token: str = "xapp-1-fake",  # noqa: S107 - the app-level token, for Socket Mode
        team_id: str = "T0FAKE",
        bot_user_id: str = "U0BOT",
        socket_mode: FakeSocketMode | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        # apps.connections.open hands out this server's websocket URLs (Socket Mode).
        self.socket_mode = socket_mode
        self.revoked_tokens: set[str] = set()
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id.removeprefix("U")
        self.calls: list[SlackCall] = []
        self.responses: list[ResponseUrlPost] = []
        # What a person would see, per channel id, oldest first: top-level messages and
        # replies alike (a reply has `thread_ts`), with chat.update's edits applied.
        self.channels: dict[str, list[Json]] = {}
        self.ephemerals: list[Json] = []  # each with `channel` and `user_to`
        self.views: dict[str, Json] = {}
        self.uploads: dict[str, UploadedFile] = {}
        # People, for users.info and users.conversations: guests (is_restricted), people
        # from another organisation (Slack Connect), and who is in which channels (when a
        # user is not listed: every channel this fake has seen a message in).
        self.guests: set[str] = set()
        self.external: set[str] = set()
        self.members: dict[str, list[str]] = {}
        # User groups (S… ids) and their members, for usergroups.users.list.
        self.usergroups: dict[str, list[str]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self.dropped = 0  # answers dropped after the call was done (`fail_next(drop=True)`)
        # Scopes the app was not granted: conversations.history and .replies answer
        # `missing_scope` when theirs is among them (e.g. {"channels:history"}).
        self.missing_scopes: set[str] = set()
        self._response_posts: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._last_micros = FIRST_TS
        self._methods: dict[str, _Method] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "users.conversations": self._users_conversations,
            "chat.getPermalink": self._permalink,
            "conversations.open": self._conversations_open,
            "apps.connections.open": self._connections_open,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "usergroups.users.list": self._usergroup_users,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{key}", self._response_url, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
            ]
        )

    # What tests and the demo read.

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def response_url(self, base_url: str) -> str:
        """Mint a fresh response_url on this server, served at `base_url`."""
        key = secrets.token_hex(8)
        self._response_posts[key] = 0
        return f"{base_url.rstrip('/')}/response/{key}"

    def responses_to(self, url_or_key: str) -> list[ResponseUrlPost]:
        key = url_or_key.rstrip("/").rsplit("/", 1)[-1]
        return [post for post in self.responses if post.key == key]

    def message(self, channel: str, ts: str) -> Json | None:
        return next((m for m in self.channels.get(channel, []) if m["ts"] == ts), None)

    def thread(self, channel: str, ts: str) -> list[Json]:
        """The parent at `ts` and its replies, oldest first."""
        return [
            m for m in self.channels.get(channel, []) if m["ts"] == ts or m.get("thread_ts") == ts
        ]

    # ASYNC109: `timeout=` is this fake's documented API, like pytest-style waiters.
    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SlackCall]:
        """Every call to `method` once there are at least `count`; TimeoutError otherwise."""
        await self._wait(
            lambda: len(self.calls_to(method)) >= count, timeout, f"{count} {method} call(s)"
        )
        return self.calls_to(method)

    async def wait_for_responses(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[ResponseUrlPost]:
        """Every accepted response_url post once there are at least `count`."""
        await self._wait(
            lambda: len(self.responses) >= count, timeout, f"{count} response_url post(s)"
        )
        return list(self.responses)

    async def wait_for_response_to(
        self,
        url: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ResponseUrlPost:
        """The first post to this response_url, once it arrives."""
        await self._wait(lambda: bool(self.responses_to(url)), timeout, f"a post to {url}")
        return self.responses_to(url)[0]

    async def _wait(self, done: Callable[[], bool], seconds: float, what: str) -> None:
        # Polling, not a Condition: the server may run on another thread's loop.
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() >= deadline:
                seen = ", ".join(call.method for call in self.calls) or "nothing"
                raise TimeoutError(f"waited {seconds}s for {what}; calls so far: {seen}")
            await asyncio.sleep(0.01)

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        delay: float = 0.0,
        times: int = 1,
        until: asyncio.Event | None = None,
        channel: str | None = None,
        drop: bool = False,
    ) -> None:
        """Script a fault for the next `times` calls to `method` (or "response_url").

        `retry_after` alone gives HTTP 429 + Retry-After + `ratelimited`; `error` alone an
        `{"ok": false}` answer with 200 (for a response_url, 400 with the error as text,
        as Slack does); a 5xx `status` an error answer; `delay` alone answers normally but
        late, so a client that timed out may still have posted; `until` holds the answer
        until the event is set (a slow Slack, released by the test). `channel` limits the
        fault to calls for that channel. `drop` does the call (a post is stored) and then
        drops the connection before the answer: the client cannot know it happened.
        Faults queue in order.
        """
        if retry_after is not None and status == 200:
            status = 429
        fault = _Fault(error, status, retry_after, delay, times, until, channel, drop)
        self._faults.setdefault(method, []).append(fault)

    # The HTTP side.

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        try:
            body = await _read_body(request)
        except _SlackError as e:
            self.calls.append(SlackCall(method, {}, _bearer(request), time.monotonic()))
            return JSONResponse({"ok": False, "error": e.error})
        token = _bearer(request) or _str_or_none(body.get("token"))
        self.calls.append(SlackCall(method, body, token, time.monotonic()))
        refused = self._refuse(method, token)
        if refused is not None:
            return JSONResponse({"ok": False, "error": refused})
        faulted = await self._apply_fault(method, _api_fault_response, body.get("channel"))
        if isinstance(faulted, _Dropped):
            faulted.answer = self._answer(method, body, request)
        if faulted is not None:
            return faulted
        return self._answer(method, body, request)

    def _answer(self, method: str, body: Json, request: Request) -> Response:
        handler = self._methods.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        if method in HISTORY_READS:
            private = str(body.get("channel", "")).startswith("G")
            needed = "groups:history" if private else "channels:history"
            if needed in self.missing_scopes:
                return JSONResponse({"ok": False, "error": "missing_scope", "needed": needed})
        try:
            return JSONResponse({"ok": True, **handler(body, request)})
        except _SlackError as e:
            return JSONResponse({"ok": False, "error": e.error})

    def _refuse(self, method: str, token: str | None) -> str | None:
        """Slack's answer to a token that may not call `method`, or None."""
        if token is not None and token in self.revoked_tokens:
            return "token_revoked"
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == wanted:
            return None
        if token in (self.app_token, self.bot_token):
            return "not_allowed_token_type"  # a bot token for Socket Mode, or the other way
        return "invalid_auth"

    async def _response_url(self, request: Request) -> Response:
        key = request.path_params["key"]
        if key not in self._response_posts:
            return PlainTextResponse("no_service", status_code=404)
        raw = await request.body()  # before any delay, so a client gone by then still posted
        faulted = await self._apply_fault(RESPONSE_URL, _webhook_fault_response)
        if faulted is not None:
            return faulted
        if self._response_posts[key] >= RESPONSE_URL_POSTS:
            return PlainTextResponse("used_url", status_code=404)
        try:
            body = json.loads(raw)
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        self._response_posts[key] += 1
        self.responses.append(ResponseUrlPost(key, body, time.monotonic()))
        return PlainTextResponse("ok")

    async def _upload(self, request: Request) -> Response:
        upload = self.uploads.get(request.path_params["file_id"])
        if upload is None:
            return PlainTextResponse("file_not_found", status_code=404)
        form = await request.form() if _is_multipart(request) else None
        if form is not None:
            part = next((v for v in form.values() if isinstance(v, UploadFile)), None)
            upload.content = await part.read() if part else b""
            await form.close()
        else:
            upload.content = await request.body()
        return PlainTextResponse(f"OK - {len(upload.content)}")

    async def _apply_fault(
        self, method: str, answer: Callable[[_Fault], Response], channel: object = None
    ) -> Response | None:
        queue = self._faults.get(method)
        fault = next((f for f in queue or () if f.channel in (None, channel)), None)
        if queue is None or fault is None:
            return None
        fault.times -= 1
        if fault.times <= 0:
            queue.remove(fault)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.until is not None:
            await fault.until.wait()
        if fault.drop:
            self.dropped += 1
            return _Dropped()
        if fault.error is None and fault.status == 200:
            return None  # only late: answer as usual
        return answer(fault)

    # The methods: each takes the parsed body and answers the fields after `"ok": true`.

    def _auth_test(self, body: Json, request: Request) -> Json:
        return {
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "scanbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, body: Json, request: Request) -> Json:
        channel = _require(body, "channel", "channel_not_found")
        message = self._new_message(body)
        parent_ts = _str_or_none(body.get("thread_ts"))
        if parent_ts:
            parent = self._thread_parent(channel, parent_ts)
            message["thread_ts"] = parent["ts"]
            message["parent_user_id"] = parent.get("user", self.bot_user_id)
            message["reply_broadcast"] = _truthy(body.get("reply_broadcast"))
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = message["ts"]
        self.channels.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    def _update(self, body: Json, request: Request) -> Json:
        channel = _require(body, "channel", "channel_not_found")
        ts = _require(body, "ts", "message_not_found")
        message = self.message(channel, ts)
        if message is None:
            raise _SlackError("message_not_found")
        # Fields left out keep their old value, as in Slack (`blocks: []` clears them).
        message.update(_content(body))
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        answer = {"channel": channel, "ts": ts, "text": message.get("text", "")}
        return {**answer, "message": dict(message)}

    def _post_ephemeral(self, body: Json, request: Request) -> Json:
        channel = _require(body, "channel", "channel_not_found")
        user = _require(body, "user", "user_not_found")
        message = {**self._new_message(body), "channel": channel, "user_to": user}
        self.ephemerals.append(message)
        return {"message_ts": message["ts"]}

    def _views_open(self, body: Json, request: Request) -> Json:
        _require(body, "trigger_id", "invalid_trigger_id")
        return {"view": self._store_view(_view(body))}

    def _views_update(self, body: Json, request: Request) -> Json:
        view_id = _str_or_none(body.get("view_id"))
        external_id = _str_or_none(body.get("external_id"))
        old = next(
            (
                v
                for v in self.views.values()
                if v["id"] == view_id or (external_id and v.get("external_id") == external_id)
            ),
            None,
        )
        if old is None:
            raise _SlackError("not_found")
        return {"view": self._store_view(_view(body), view_id=old["id"])}

    def _views_publish(self, body: Json, request: Request) -> Json:
        user = _require(body, "user_id", "user_not_found")
        home = next((v for v in self.views.values() if v.get("user_id") == user), None)
        view = {**_view(body), "user_id": user}
        return {"view": self._store_view(view, view_id=home["id"] if home else None)}

    def _get_upload_url(self, body: Json, request: Request) -> Json:
        filename = _require(body, "filename", "invalid_arguments")
        try:
            length = int(body.get("length", ""))
        except ValueError:
            raise _SlackError("invalid_arguments") from None
        file_id = self._next_id("F")
        self.uploads[file_id] = UploadedFile(file_id, filename, length)
        base = str(request.base_url).rstrip("/")
        return {"upload_url": f"{base}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, body: Json, request: Request) -> Json:
        wanted = body.get("files")
        if not isinstance(wanted, list) or not wanted:
            raise _SlackError("invalid_arguments")
        files = []
        for item in wanted:
            upload = self.uploads.get(str(item.get("id", ""))) if isinstance(item, dict) else None
            if upload is None or upload.content is None:
                raise _SlackError("file_not_found")
            upload.meta = {
                "id": upload.file_id,
                "name": upload.filename,
                "title": item.get("title") or upload.filename,
                "size": len(upload.content),
            }
            files.append(dict(upload.meta))
        channel = _str_or_none(body.get("channel_id"))
        if channel:
            comment = str(body.get("initial_comment") or "")
            share: Json = {"channel": channel, "text": comment, "files": files}
            share["thread_ts"] = body.get("thread_ts")
            self._post_message({k: v for k, v in share.items() if v}, request)
        return {"files": files}

    def _connections_open(self, body: Json, request: Request) -> Json:
        if self.socket_mode is None or self.socket_mode.url is None:
            raise _SlackError("internal_error")  # no Socket Mode server behind this fake
        return {"url": self.socket_mode.new_url()}

    def _conversations_info(self, body: Json, request: Request) -> Json:
        channel = _require(body, "channel", "channel_not_found")
        return {
            "channel": {
                "id": channel,
                "name": channel.lower().lstrip("#"),
                "is_channel": channel.startswith("C"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": True,
                "context_team_id": self.team_id,
            }
        }

    def _users_info(self, body: Json, request: Request) -> Json:
        user = _require(body, "user", "user_not_found")
        name = "scanbot" if user == self.bot_user_id else f"user-{user.lower()}"
        return {
            "user": {
                "id": user,
                "team_id": "T0OTHERORG" if user in self.external else self.team_id,
                "is_restricted": user in self.guests,
                "is_ultra_restricted": False,
                "is_stranger": user in self.external,
                "name": name,
                "real_name": name.replace("-", " ").title(),
                "tz": "Europe/London",
                "is_bot": user == self.bot_user_id,
                "deleted": False,
                "profile": {"display_name": name, "real_name": name.replace("-", " ").title()},
            }
        }

    def _users_conversations(self, body: Json, request: Request) -> Json:
        user = str(body.get("user") or "")
        channels = self.members.get(user, sorted(self.channels))
        start = int(body.get("cursor") or 0)  # two a page, so callers must follow cursors
        page = channels[start : start + 2]
        cursor = str(start + 2) if start + 2 < len(channels) else ""
        return {
            "channels": [{"id": channel} for channel in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _usergroup_users(self, body: Json, request: Request) -> Json:
        group = _require(body, "usergroup", "no_such_subteam")
        if group not in self.usergroups:
            raise _SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _permalink(self, body: Json, request: Request) -> Json:
        channel = _require(body, "channel", "channel_not_found")
        ts = _require(body, "message_ts", "message_not_found")
        permalink = f"https://fake-slack.example/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": permalink}

    def _history(self, body: Json, request: Request) -> Json:
        """A channel's messages, newest first (top level and broadcast replies), between
        `oldest` and `latest` (exclusive unless `inclusive`), `limit` at most, one page."""
        channel = _require(body, "channel", "channel_not_found")
        shown = [
            m
            for m in self.channels.get(channel, [])
            if m.get("thread_ts", m["ts"]) == m["ts"] or m.get("reply_broadcast")
        ]
        return {"messages": self._page(shown[::-1], body), "has_more": False}

    def _replies(self, body: Json, request: Request) -> Json:
        """A thread's parent and replies, oldest first."""
        channel = _require(body, "channel", "channel_not_found")
        ts = _require(body, "ts", "thread_not_found")
        if self.message(channel, ts) is None:
            raise _SlackError("thread_not_found")
        return {"messages": self._page(self.thread(channel, ts), body), "has_more": False}

    def _page(self, messages: list[Json], body: Json) -> list[Json]:
        inclusive = _truthy(body.get("inclusive"))
        oldest, latest = float(body.get("oldest") or 0), float(body.get("latest") or 1e12)

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        metadata = _truthy(body.get("include_all_metadata"))
        page = [
            {k: v for k, v in m.items() if metadata or k != "metadata"}
            for m in messages
            if within(float(m["ts"]))
        ]
        return page[: int(body.get("limit") or 100)]

    def _conversations_open(self, body: Json, request: Request) -> Json:
        """The bot's direct message with one person (`users`): the same id every time."""
        users = [u for u in str(body.get("users") or "").split(",") if u.strip()]
        if len(users) != 1:
            raise _SlackError("users_list_not_supplied" if not users else "not_implemented")
        if users[0] in self.external:
            raise _SlackError("cannot_dm_bot")  # stands for Slack's refusals to open one
        return {"channel": {"id": f"D{users[0].lstrip('UW')}", "is_im": True}}

    # Helpers for the methods.

    def _new_message(self, body: Json) -> Json:
        content = _content(body)
        return {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
            "ts": self._next_ts(),
            "text": "",
            **content,
        }

    def _thread_parent(self, channel: str, thread_ts: str) -> Json:
        if not _TS.fullmatch(thread_ts):
            raise _SlackError("invalid_thread_ts")
        target = self.message(channel, thread_ts)
        if target is None:
            # Slack itself may swallow such a reply silently; failing loudly finds the bug.
            raise _SlackError("thread_not_found")
        parent = self.message(channel, str(target.get("thread_ts", target["ts"])))
        return parent if parent is not None else target

    def _store_view(self, view: Json, *, view_id: str | None = None) -> Json:
        view_id = view_id or self._next_id("V")
        stored = {**view, "id": view_id, "team_id": self.team_id, "hash": self._next_id("h")}
        self.views[view_id] = stored
        return dict(stored)

    def _next_ts(self) -> str:
        # Like Slack's: the time of posting, in microseconds, strictly increasing (so a
        # history read with `oldest` sees what was posted after that time).
        micros = max(FIRST_TS, self._last_micros + 100, time.time_ns() // 1000)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):04d}"


class _Dropped(Response):
    """The call was done; the connection drops after the status line, before the body."""

    answer: Response | None = None

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"512")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"ok": tr', "more_body": True})
        # Returning with the body unfinished makes uvicorn close the connection.


class _SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _api_fault_response(fault: _Fault) -> Response:
    default = "ratelimited" if fault.status == 429 else "internal_error"
    error = fault.error or (default if fault.status != 200 else "unknown_error")
    headers = {}
    if fault.status == 429:
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    return JSONResponse({"ok": False, "error": error}, status_code=fault.status, headers=headers)


def _webhook_fault_response(fault: _Fault) -> Response:
    status = 400 if fault.status == 200 else fault.status
    default = "rate_limited" if status == 429 else "internal_error" if status >= 500 else "error"
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    return PlainTextResponse(fault.error or default, status_code=status, headers=headers)


async def _read_body(request: Request) -> Json:
    """Query string and body merged, as Slack reads them; JSON-encoded form fields decoded."""
    body: Json = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        raw = await request.body()
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise _SlackError("invalid_json") from None
        if not isinstance(parsed, dict):
            raise _SlackError("invalid_json")
        body.update(parsed)
        return body
    if _is_multipart(request):
        async with request.form() as form:
            for name, value in form.multi_items():
                body[name] = await value.read() if isinstance(value, UploadFile) else value
    else:
        body.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    for name in JSON_FORM_FIELDS & body.keys():
        if isinstance(body[name], str):
            # Bad JSON is left as sent: the method then refuses it, as Slack would.
            with contextlib.suppress(ValueError):
                body[name] = json.loads(body[name])
    return body


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _require(body: Json, name: str, error: str) -> str:
    value = _str_or_none(body.get(name))
    if not value:
        raise _SlackError(error)
    return value


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _content(body: Json) -> Json:
    """The visible part of a message: text, blocks, attachments, files."""
    content: Json = {}
    if "text" in body:
        content["text"] = str(body["text"])
    if "blocks" in body:
        blocks = body["blocks"]
        if not _valid_blocks(blocks, MAX_BLOCKS):
            raise _SlackError("invalid_blocks")
        content["blocks"] = blocks
    for name in ("attachments", "files", "metadata"):
        if name in body:
            content[name] = body[name]
    has_any = content.get("text") or content.get("blocks") or content.get("files")
    if not has_any and not content.get("attachments"):
        raise _SlackError("no_text")
    return content


def _valid_blocks(blocks: Any, limit: int) -> bool:
    return (
        isinstance(blocks, list)
        and len(blocks) <= limit
        and all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks)
    )


def _view(body: Json) -> Json:
    view = body.get("view")
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        raise _SlackError("invalid_arguments")
    if not _valid_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS):
        raise _SlackError("invalid_blocks")
    return {**view, **({"external_id": body["external_id"]} if "external_id" in body else {})}
