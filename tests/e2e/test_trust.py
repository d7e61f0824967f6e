"""What scanbot believes and what it shows, end to end: answers go only to Slack's hosts,
and /healthz tells strangers counts only."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest

from scanbot.sandbox.slack import FakeSlack
from scanbot.sandbox.slack_user import slash_command
from scanbot.serving import serve_in_background
from tests.e2e.conftest import (
    BOT_TOKEN,
    HEALTH_AUTH,
    Stack,
    frozen_world,
    running_stack,
    wait_until,
)

CHANNEL = "C0SECOPS"


@pytest.fixture
async def alerting() -> AsyncIterator[Stack]:
    """Every cycle a full sweep, so a scan added already finished is seen at once."""
    async with running_stack(frozen_world(), settings={"full_sweep_every": 1}) as stack:
        yield stack


async def test_an_answer_is_never_posted_to_a_foreign_response_url(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    scan_id = stack.world.list_scans(None)[0]["id"]
    foreign = FakeSlack(bot_token=BOT_TOKEN)  # another server on loopback: not Slack's

    def refusals() -> list[str]:
        lines = (r.getMessage() for r in caplog.records)
        return [line for line in lines if "refused a response_url" in line]

    async with serve_in_background(foreign.app) as foreign_url:
        url = foreign.response_url(foreign_url)
        for command, text in [("/scan", scan_id), ("/scans", "")]:
            response = await stack.send(slash_command(command, text, response_url=url))
            assert response.status_code == 200
        await wait_until(lambda: len(refusals()) == 2)  # both answers were ready, and refused
    assert foreign.responses == []
    origin = foreign_url.removeprefix("http://")
    assert all(origin in line and "/response/" not in line for line in refusals())
    # The control: the same command with the (fake) Slack's response_url is answered.
    assert (await stack.command("/scan", scan_id)).body["blocks"]


async def _subscribe(stack: Stack) -> None:
    answer = await stack.command("/scans", "subscribe finished", channel_id=CHANNEL)
    assert "Not subscribed" not in json.dumps(answer.body)
    await stack.runtime.alerts.tick()  # the baseline


async def _park_an_alert(stack: Stack) -> str:
    """A channel alert Slack refused for good, parked with its reason; its scan id."""
    await _subscribe(stack)
    scan_id = stack.world.add_scan(type="NMAP", state="SUCCEEDED", targets=["x.example"])
    stack.slack.fail_next("chat.postMessage", error="invalid_blocks")
    await stack.runtime.alerts.tick()
    return str(scan_id)


async def test_healthz_shows_strangers_counts_only(alerting: Stack) -> None:
    stack = alerting
    scan_id = await _park_an_alert(stack)
    public = await stack.http.get(f"{stack.app_url}/healthz")
    assert public.status_code == 200
    shown = public.json()
    assert shown["status"] == "ok"
    assert shown["outbox"]["parked"] == 1
    for detail in (CHANNEL, scan_id, "invalid_blocks", "version", "last_cycle_at"):
        assert detail not in public.text
    details = await stack.health()  # with the bearer token
    assert details["alerts"]["parked"] == [
        {"channel": CHANNEL, "scan": scan_id, "reason": "invalid_blocks"}
    ]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong-token-0123456789", f"Basic {HEALTH_AUTH['Authorization'].split()[1]}", "Bearer"],
)
async def test_healthz_refuses_a_wrong_token(stack: Stack, authorization: str) -> None:
    response = await stack.http.get(
        f"{stack.app_url}/healthz", headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert "alerts" not in response.json()


async def test_without_a_health_token_no_details_are_shown_over_http() -> None:
    async with running_stack(frozen_world(), settings={"health_token": None}) as stack:
        public = await stack.http.get(f"{stack.app_url}/healthz")
        with_header = await stack.http.get(f"{stack.app_url}/healthz", headers=HEALTH_AUTH)
    assert public.status_code == 200
    assert "alerts" not in public.json()
    assert with_header.status_code == 401
    assert "alerts" not in with_header.text
