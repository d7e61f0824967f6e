"""Answers on its own: a command or a click in, a message out, every failure one sentence
(the log gets the cause), against a fake HostedScan (httpx.MockTransport). The end-to-end
tests (tests/e2e/test_commands.py) run the same answers behind Slack's requests."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from scanbot.hostedscan import HostedScanClient
from scanbot.scans.parse import ChannelCommand, ShowTriage
from scanbot.slack.answers import Answers, Reply
from scanbot.slack.payloads import UNREADABLE_LIST_BUTTON, NextPage

from ..hostedscan.fakes import KEY, FakeHostedScan, make_client, ok, scan, status
from .blockkit import assert_valid_message, readable

SCAN = {**scan("scan-1"), "targets": ["shop.example.com"], "created_at": "2026-11-01T12:00:00Z"}


def text_of(reply: Reply) -> str:
    return " ".join(readable(reply.message["blocks"])) + " " + reply.message["text"]


class RecordingChannelCommands:
    def __init__(self, error: Exception | None = None) -> None:
        self.handled: list[tuple[ChannelCommand, str, str]] = []
        self.error = error

    async def handle(self, command: ChannelCommand, channel_id: str, user_id: str) -> Reply:
        self.handled.append((command, channel_id, user_id))
        if self.error is not None:
            raise self.error
        return Reply.failure("handled")


@pytest.fixture
async def fake() -> FakeHostedScan:
    return FakeHostedScan(ok({"data": [SCAN], "next_page_token": None}))


@pytest.fixture
async def client(fake: FakeHostedScan) -> AsyncIterator[HostedScanClient]:
    async with make_client(fake, max_attempts=1) as hostedscan:
        yield hostedscan


async def test_scans_lists_through_hostedscan(
    client: HostedScanClient, fake: FakeHostedScan
) -> None:
    reply = await Answers(client).scans("running")
    assert reply.ok
    assert_valid_message(reply.message)
    assert "scan-1" in text_of(reply)
    assert fake.paths == ["/v1/scans"]
    assert fake.params("filters") == ['{"state":["RUNNING"]}']


async def test_help_and_unknown_words_ask_nothing_of_hostedscan(
    client: HostedScanClient, fake: FakeHostedScan
) -> None:
    for text in ("help", "runnnig"):
        reply = await Answers(client).scans(text)
        assert reply.ok
        assert_valid_message(reply.message)
    assert "running" in text_of(await Answers(client).scans("runnnig"))  # the suggestion
    assert fake.requests == []


async def test_a_channel_subcommand_goes_to_the_channel_commands(client: HostedScanClient) -> None:
    channel = RecordingChannelCommands()
    reply = await Answers(client, channel_commands=channel).scans(
        "triage", channel_id="C1", user_id="U1"
    )
    assert reply.message["text"] == "handled"
    assert channel.handled == [(ShowTriage(), "C1", "U1")]


async def test_a_channel_subcommand_outside_a_channel_is_one_sentence(
    client: HostedScanClient,
) -> None:
    for answers in (Answers(client), Answers(client, channel_commands=RecordingChannelCommands())):
        reply = await answers.scans("subscribe", channel_id="")  # the CLI has no channel
        assert not reply.ok
        assert reply.message["text"] == "That acts on a Slack channel: run it in Slack."


async def test_a_channel_subcommand_that_fails_is_an_error_reference(
    client: HostedScanClient, caplog: pytest.LogCaptureFixture
) -> None:
    channel = RecordingChannelCommands(RuntimeError("database is locked"))
    with caplog.at_level(logging.ERROR, logger="scanbot"):
        reply = await Answers(client, channel_commands=channel).scans("triage", channel_id="C1")
    assert not reply.ok
    reference = re.search(r"error reference `([0-9a-f]{8})`", reply.message["text"])
    assert reference is not None
    assert "database is locked" not in reply.message["text"]
    (record,) = caplog.records
    assert reference.group(1) in record.getMessage()
    assert record.exc_info is not None


async def test_scan_shows_one_scan(client: HostedScanClient, fake: FakeHostedScan) -> None:
    fake.replies = [ok({"data": SCAN})]
    reply = await Answers(client).scan("scan-1")
    assert reply.ok
    assert_valid_message(reply.message)
    assert fake.paths == ["/v1/scans/scan-1"]


async def test_scan_without_an_id_is_usage(client: HostedScanClient, fake: FakeHostedScan) -> None:
    reply = await Answers(client).scan("")
    assert reply.ok
    assert "/scan" in text_of(reply)
    assert fake.requests == []


@pytest.mark.parametrize("scan_id", ["a b", "<!channel>", "x" * 129, "../etc"])
async def test_a_bad_id_is_refused_without_a_request(
    client: HostedScanClient, fake: FakeHostedScan, scan_id: str
) -> None:
    reply = await Answers(client).details(scan_id)
    assert not reply.ok
    assert "is not a scan id" in reply.message["text"]
    assert "<!channel>" not in reply.message["text"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [
        (status(404), "HostedScan has no scan `scan-1`"),
        (status(401), "HostedScan rejected scanbot's API key"),
        (status(429), "HostedScan is busy or not answering right now"),
        (status(503), "HostedScan is busy or not answering right now"),
        (ok({"data": {"id": 3}}), "HostedScan sent an answer scanbot could not use"),
        (httpx.Response(200, text="<html>"), "HostedScan sent an answer scanbot could not use"),
    ],
)
async def test_each_hostedscan_failure_is_one_sentence(
    client: HostedScanClient,
    fake: FakeHostedScan,
    caplog: pytest.LogCaptureFixture,
    answer: httpx.Response,
    sentence: str,
) -> None:
    fake.replies = [answer]
    with caplog.at_level(logging.DEBUG, logger="scanbot"):
        reply = await Answers(client).details("scan-1")
    assert not reply.ok
    assert reply.message["text"].startswith(sentence)
    assert_valid_message(reply.message)
    assert KEY not in caplog.text
    assert KEY not in reply.message["text"]


async def test_an_answer_past_the_deadline_is_the_busy_sentence(fake: FakeHostedScan) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return ok({"data": SCAN})

    fake.replies = [slow]  # type: ignore[list-item]
    async with make_client(fake, max_attempts=1) as client:
        async with asyncio.timeout(2):
            reply = await Answers(client, deadline=0.05).details("scan-1")
    assert reply.message["text"].startswith("HostedScan is busy or not answering right now")


async def test_share_makes_the_public_copy(client: HostedScanClient, fake: FakeHostedScan) -> None:
    fake.replies = [ok({"data": SCAN})]
    reply = await Answers(client).details("scan-1", shared_by="U0ALICE")
    assert reply.ok
    assert_valid_message(reply.message, allowed_mentions=["<@U0ALICE>"])
    assert "<@U0ALICE>" in str(reply.message)


async def test_next_page_runs_the_same_query_from_its_offset(
    client: HostedScanClient, fake: FakeHostedScan
) -> None:
    fake.replies = [ok({"data": [scan(f"s{i}") for i in range(12)], "next_page_token": None})]
    first = await Answers(client).scans("running")
    second = await Answers(client).next_page(NextPage("running", 10))
    assert first.ok
    assert second.ok
    assert "s11" in text_of(second)
    assert "s0 " not in text_of(second)
    assert fake.params("filters") == ['{"state":["RUNNING"]}'] * 2


@pytest.mark.parametrize("words", ["subscribe finished", "triage", "help", "bogus words here"])
async def test_a_next_button_never_runs_a_subcommand(
    client: HostedScanClient, fake: FakeHostedScan, words: str
) -> None:
    channel = RecordingChannelCommands()
    reply = await Answers(client, channel_commands=channel).next_page(NextPage(words, 0))
    assert reply.message["text"] == UNREADABLE_LIST_BUTTON
    assert channel.handled == []
    assert fake.requests == []
