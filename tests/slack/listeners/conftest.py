"""The listener groups through Bolt, in process: a real `AsyncApp` with `listeners.register`,
requests dispatched as Slack sends them (the sandbox's request builders), and recording
fakes behind `Deps` (answers, triage, people, the response_url poster, the Web API client).
The end-to-end tests (tests/e2e) run the same listeners over HTTP against the real services."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from scanbot.sandbox.slack_user import block_action, event_callback, slash_command, view_submission
from scanbot.slack import actions, kit, listeners
from scanbot.slack.answers import Answers, Reply
from scanbot.slack.inflight import InFlight
from scanbot.slack.notifier import Notifier
from scanbot.slack.payloads import NextPage
from scanbot.slack.people import People
from scanbot.slack.responder import Responder
from scanbot.triage.service import Outcome, Triage

URL = "https://hooks.slack.com/actions/T0FAKE/1/secret"
SEAL_KEY = actions.seal_key("listener-tests-secret")
ALICE = "U0ALICE"
GUEST = "U0GUEST"
CHANNEL = "C0SECOPS"
GUEST_SENTENCE = "Sorry: no scan data for guests."


@dataclass
class Posted:
    """What a listener sent to a response_url."""

    url: str
    message: kit.Message
    options: dict[str, Any]

    @property
    def text(self) -> str:
        return self.message["text"]


class RecordingResponder:
    def __init__(self) -> None:
        self.posted: list[Posted] = []

    async def send(self, response_url: str, message: kit.Message, **options: Any) -> bool:
        self.posted.append(Posted(response_url, message, options))
        return True


class GuestCheck:
    """Refuses GUEST, lets everyone else see data; records whom it was asked about."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def refusal(self, user_id: str, team_id: str) -> str | None:
        self.asked.append((user_id, team_id))
        return GUEST_SENTENCE if user_id == GUEST else None


class RecordingAnswers:
    """Answers each call with a card naming it; `gate`, when set, holds every answer until
    the test opens it (to see that the ack left first)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.ok = True
        self.gate: asyncio.Event | None = None

    async def _answer(self, name: str, *args: Any, **kwargs: Any) -> Reply:
        self.calls.append((name, args, kwargs))
        if self.gate is not None:
            await self.gate.wait()
        text = f"{name} {args} {kwargs}"
        return Reply(kit.sentence(text)) if self.ok else Reply.failure(text)

    async def scans(self, text: str, *, channel_id: str = "", user_id: str = "") -> Reply:
        return await self._answer("scans", text, channel_id=channel_id, user_id=user_id)

    async def scan(self, text: str) -> Reply:
        return await self._answer("scan", text)

    async def details(self, scan_id: str, *, shared_by: str | None = None) -> Reply:
        return await self._answer("details", scan_id, shared_by=shared_by)

    async def next_page(self, page: NextPage) -> Reply:
        return await self._answer("next_page", page)


class RecordingTriage:
    """Every Triage method the listeners call, recorded, answering `outcome`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.outcome = Outcome(True)
        self.waiting: tuple[list[Any], list[Any]] = ([], [])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        async def action(*args: Any) -> Outcome:
            self.calls.append((name, args))
            return self.outcome

        return action

    async def home(self, user_id: str) -> tuple[list[Any], list[Any]]:
        self.calls.append(("home", (user_id,)))
        return self.waiting


class RecordingSlack:
    """The Web API calls listeners make themselves; `error` makes each one fail like Slack."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error: str | None = None

    async def _call(self, method: str, **kwargs: Any) -> AsyncSlackResponse:
        self.calls.append((method, kwargs))
        data = {"ok": self.error is None, "error": self.error}
        response = AsyncSlackResponse(
            client=None,
            http_verb="POST",
            api_url=method,
            req_args={},
            data=data,
            headers={},
            status_code=200,
        )
        if self.error is not None:
            raise SlackApiError(self.error, response)
        return response

    async def chat_postEphemeral(self, **kwargs: Any) -> AsyncSlackResponse:
        return await self._call("chat.postEphemeral", **kwargs)

    async def views_publish(self, **kwargs: Any) -> AsyncSlackResponse:
        return await self._call("views.publish", **kwargs)


@dataclass
class Harness:
    """A Bolt app with scanbot's listeners registered on recording fakes."""

    app: AsyncApp
    answers: RecordingAnswers
    triage: RecordingTriage
    people: GuestCheck
    responder: RecordingResponder
    slack: RecordingSlack
    inflight: InFlight
    deps: listeners.Deps
    acks: list[BoltResponse] = field(default_factory=list)

    async def dispatch(self, body: str, content_type: str, *, settle: bool = True) -> BoltResponse:
        request = AsyncBoltRequest(body=body, headers={"content-type": [content_type]})
        response = await self.app.async_dispatch(request)
        self.acks.append(response)
        if settle:
            await self.settled()
        return response

    async def settled(self) -> None:
        """The work after the ack is done (each listener tracks it in `inflight`)."""
        await asyncio.sleep(0)
        await self.inflight.drain(5.0)

    async def form(self, fields: dict[str, str], *, settle: bool = True) -> BoltResponse:
        body = urllib.parse.urlencode(fields)
        return await self.dispatch(body, "application/x-www-form-urlencoded", settle=settle)

    async def command(self, command: str, text: str = "", **fields: Any) -> BoltResponse:
        return await self.form(slash_command(command, text, response_url=URL, **fields))

    async def click(self, action_id: str, value: str = "", **fields: Any) -> BoltResponse:
        return await self.form(block_action(action_id, value, response_url=URL, **fields))

    async def submit(self, metadata: str, values: dict[str, Any], **fields: Any) -> BoltResponse:
        return await self.form(view_submission(actions.ASSIGN_VIEW, metadata, values, **fields))

    async def event(self, event: dict[str, Any]) -> BoltResponse:
        return await self.dispatch(event_callback(event), "application/json")

    def ack_body(self) -> dict[str, Any]:
        """The last ack's JSON body ({} for an empty ack)."""
        body = self.acks[-1].body
        return cast(dict[str, Any], json.loads(body)) if body else {}


async def authorize(**_: Any) -> AuthorizeResult:
    """Single-workspace auth without auth.test: these tests make no call to Slack's API."""
    return AuthorizeResult(
        enterprise_id=None,
        team_id="T0FAKE",
        bot_token="xoxb-test",
        bot_user_id="U0BOT",
        bot_id="B0BOT",
    )


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    answers, triage, people = RecordingAnswers(), RecordingTriage(), GuestCheck()
    responder, slack, inflight = RecordingResponder(), RecordingSlack(), InFlight()
    deps = listeners.Deps(
        cast(Answers, answers),
        inflight,
        cast(Responder, responder),
        cast(People, people),
        cast(Triage, triage),
        Notifier(cast(AsyncWebClient, slack)),  # the real seam over a recording client
        SEAL_KEY,
    )
    app = AsyncApp(
        signing_secret="not-checked-here",
        request_verification_enabled=False,  # signatures: tests/slack/test_inbound.py
        authorize=authorize,
        raise_error_for_unhandled_request=True,
    )
    listeners.register(app, deps)
    yield Harness(app, answers, triage, people, responder, slack, inflight, deps)
    await inflight.drain(5.0)
