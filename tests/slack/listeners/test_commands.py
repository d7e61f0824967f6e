"""/scans and /scan: ack at once, the answer through the response_url, guests refused."""

from __future__ import annotations

import asyncio

from scanbot.slack.listeners.commands import CommandListeners

from ..blockkit import assert_valid_message
from .conftest import ALICE, CHANNEL, GUEST, GUEST_SENTENCE, URL, Harness


async def test_scans_answers_with_the_text_channel_and_user(harness: Harness) -> None:
    response = await harness.command("/scans", "running openvas", user_id=ALICE)
    assert response.status == 200
    assert harness.ack_body() == {}
    assert harness.answers.calls == [
        ("scans", ("running openvas",), {"channel_id": CHANNEL, "user_id": ALICE})
    ]
    (posted,) = harness.responder.posted
    assert posted.url == URL
    assert posted.options == {"response_type": "ephemeral"}
    assert posted.text.startswith("scans ('running openvas',)")
    assert_valid_message(posted.message)


async def test_scan_answers_with_the_text(harness: Harness) -> None:
    await harness.command("/scan", "  abc  ")
    assert harness.answers.calls == [("scan", ("  abc  ",), {})]
    (posted,) = harness.responder.posted
    assert posted.options == {"response_type": "ephemeral"}


async def test_a_guest_is_refused_before_anything_is_fetched(harness: Harness) -> None:
    for command in ("/scans", "/scan"):
        await harness.command(command, "abc", user_id=GUEST)
    assert harness.answers.calls == []
    assert [p.text for p in harness.responder.posted] == [GUEST_SENTENCE] * 2
    assert {p.options["replace_original"] for p in harness.responder.posted} == {False}
    assert harness.people.asked == [(GUEST, "T0FAKE")] * 2


async def test_the_ack_leaves_before_the_answer_is_ready(harness: Harness) -> None:
    harness.answers.gate = asyncio.Event()
    response = await harness.command(
        "/scans",
        "",
    )
    assert response.status == 200  # acked while the answer is still held
    assert harness.responder.posted == []
    assert len(harness.inflight) == 1  # tracked: a shutdown waits for it
    harness.answers.gate.set()
    await harness.settled()
    assert len(harness.responder.posted) == 1
    assert len(harness.inflight) == 0


async def test_the_handlers_are_plain_methods_a_test_can_call(harness: Harness) -> None:
    acked: list[object] = []

    async def ack(*args: object, **kwargs: object) -> None:
        acked.append((args, kwargs))

    body = {"text": "abc", "user_id": ALICE, "team_id": "T1", "response_url": URL}
    await CommandListeners(harness.deps).scan(ack, body)
    assert acked == [((), {})]
    assert harness.people.asked == [(ALICE, "T1")]
    assert harness.answers.calls == [("scan", ("abc",), {})]
