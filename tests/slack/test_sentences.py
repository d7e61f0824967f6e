"""The failure sentences: one per failure, escaped where text comes from outside. Their
use end to end: tests/e2e (commands, triage, subscriptions) and tests/triage."""

from __future__ import annotations

import httpx
import pytest

from scanbot.hostedscan import (
    BadResponse,
    HostedScanError,
    InvalidScanId,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from scanbot.slack import sentences


def _unavailable() -> Unavailable:
    return Unavailable("HostedScan answered 503")


@pytest.mark.parametrize(
    ("exc", "starts"),
    [
        (InvalidScanId("bad id"), "`x&lt;1&gt;` is not a scan id"),
        (NotFound("gone"), "HostedScan has no scan `x&lt;1&gt;`."),
        (Unauthorized("key"), "HostedScan rejected scanbot's API key."),
        (RateLimited("slow down"), "HostedScan is busy or not answering right now."),
        (_unavailable(), "HostedScan is busy or not answering right now."),
        (TimeoutError(), "HostedScan is busy or not answering right now."),
        (BadResponse("junk"), "HostedScan sent an answer scanbot could not use."),
        (HostedScanError("other"), "HostedScan sent an answer scanbot could not use."),
        (RuntimeError("bug"), "Sorry, something went wrong inside scanbot (error reference"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "",
)
def test_a_command_failure_is_one_sentence(exc: BaseException, starts: str) -> None:
    sentence = sentences.command_failed(exc, "x&lt;1&gt;", "ab12cd34")
    assert sentence.startswith(starts)
    # The reference is said only where the log holds the answer.
    said = isinstance(exc, BadResponse | RuntimeError) or type(exc) is HostedScanError
    assert ("`ab12cd34`" in sentence) is said


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (NotFound("gone"), "HostedScan no longer has scan `a`: it was deleted or never existed."),
        (InvalidScanId("bad"), "Scan `a` is not a HostedScan id."),
        (Unauthorized("key"), "HostedScan refused scanbot's API key; ask an admin to check it."),
        (RateLimited("slow"), "HostedScan is rate limiting scanbot; try again in a minute."),
        (_unavailable(), "HostedScan could not give scan `a` right now; try again in a minute."),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "",
)
def test_a_thread_lookup_failure_is_one_sentence(exc: HostedScanError, sentence: str) -> None:
    assert sentences.lookup_failed(exc, f"scan {sentences.code('a')}") == sentence


def test_code_escapes_and_shortens() -> None:
    assert sentences.code("<!channel>") == "`&lt;!channel&gt;`"
    assert sentences.code("x" * 200) == f"`{'x' * 80}`"


def test_slack_refusals_say_what_to_do() -> None:
    assert sentences.slack_refused("is_archived", "reply in the thread") == (
        "Slack did not let scanbot reply in the thread (the channel is archived)."
    )
    assert sentences.slack_refused("new_code", "show the risk") == (
        "Slack did not let scanbot show the risk (new_code)."
    )
    assert sentences.saved_but_slack_refused("no connection", "reply in the thread") == (
        "Saved, but Slack did not let scanbot reply in the thread (no connection)."
    )


def test_not_subscribed_names_the_fix_and_escapes_unknown_codes() -> None:
    assert sentences.not_subscribed("not_in_channel").startswith(
        "Not subscribed. scanbot is not in this channel: invite it with `/invite @scanbot`"
    )
    assert sentences.not_subscribed("<b>") == (
        "Not subscribed. Slack refused scanbot's post here (&lt;b&gt;)."
    )


def test_park_hints_for_the_log() -> None:
    assert sentences.park_hint("not_in_channel").startswith("not_in_channel: invite scanbot")
    assert sentences.park_hint("msg_too_long") == "msg_too_long"


def test_the_http_error_types_are_not_sentences() -> None:
    # An httpx error is not a HostedScan failure: it is scanbot's own, with a reference.
    sentence = sentences.command_failed(httpx.ConnectError("x"), "a", "ref")
    assert sentence.startswith("Sorry, something went wrong inside scanbot")
