"""What waits for on-call: the `/scans triage` list and the Home tab; limits, hostile
strings, any input."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanbot.slack.cards.home import home_view, triage_list

from ..blockkit import (
    assert_valid_message,
)
from .alert_samples import HOSTILE
from .triage_samples import (
    ALICE,
    CHANNEL,
    NOW,
    PERMALINK,
    SETTINGS,
    channel_links,
    channels,
    dates,
    home_rows,
    raw_free,
    summary,
    texts,
    thread_rows,
    user_ids,
    valid,
    valid_view,
)

# --- /scans triage and the Home tab ------------------------------------------------------


def test_triage_list_of_nothing() -> None:
    message = valid(triage_list(CHANNEL, []), channel_ids=[CHANNEL])
    assert texts(message) == f"Nothing waiting for acknowledgement in <#{CHANNEL}>."


def test_triage_list_oldest_first() -> None:
    threads = [
        (summary(scan_id="new"), PERMALINK, NOW),
        (summary(scan_id="unknown"), None, None),
        (
            summary(scan_id="old", state="SUCCEEDED"),
            PERMALINK + "?thread_ts=1&cid=C",
            NOW - timedelta(days=2),
        ),
        (summary(scan_id="naive"), None, (NOW - timedelta(days=1)).replace(tzinfo=None)),
    ]
    message = triage_list(CHANNEL, threads)
    assert_valid_message(
        message, allowed_mentions={f"<#{CHANNEL}>", f"<{PERMALINK}", *dates(message)}
    )
    lines = [line for line in texts(message).splitlines() if line.startswith("• ")]
    assert [line.split("`")[1] for line in lines] == ["old", "naive", "new", "unknown"]
    assert lines[0] == (
        "• `old` · OpenVAS · ✅ succeeded · since "
        "<!date^1714399380^{ago}|2024-04-29 14:03 UTC> · "
        f"<{PERMALINK}?thread_ts=1&cid=C|thread>"
    )
    assert lines[-1].endswith("age unknown · no link to the thread")
    assert message["text"] == "4 alert threads waiting for acknowledgement"


@pytest.mark.parametrize(
    "permalink",
    [
        "<!channel>",
        "https://evil.example|bank.com",
        "javascript:alert(1)",
        "http://a.example",
        "https://a b",
    ],
)
def test_triage_list_links_only_permalinks(permalink: str) -> None:
    message = valid(triage_list("<!channel>", [(summary(), permalink, NOW)]))
    assert "no link to the thread" in texts(message)


def test_triage_list_of_500_threads() -> None:
    threads = [
        (
            summary(scan_id=f"<!channel>{n}" * 5, type="<!here>" * 20),
            PERMALINK,
            NOW + timedelta(minutes=n),
        )
        for n in range(500)
    ]
    message = valid(triage_list(CHANNEL, threads), links=[PERMALINK], channel_ids=[CHANNEL])
    assert "and " in texts(message).splitlines()[-1]
    assert message["text"] == "500 alert threads waiting for acknowledgement"


def home(
    view: dict[str, Any], users: Iterable[str] = (), channel_ids: Iterable[str] = ()
) -> dict[str, Any]:
    return valid_view(view, users=users, extra={*channel_links(*channel_ids), f"<{PERMALINK}"})


def test_home_view_empty() -> None:
    view = home(home_view(ALICE, [], []), users=[ALICE])
    assert view["type"] == "home"
    shown = texts(view)
    assert "Nothing is assigned to you." in shown
    assert "Nothing is waiting for acknowledgement." in shown


def test_home_view() -> None:
    view = home(
        home_view(
            ALICE,
            [(summary(), CHANNEL, PERMALINK)],
            [(summary(scan_id="s2", state="RUNNING"), "C0OTHER", None)],
        ),
        users=[ALICE],
        channel_ids=[CHANNEL, "C0OTHER"],
    )
    shown = texts(view)
    assert "*Assigned to you* (1)" in shown
    assert f"• `scan-123` · OpenVAS · ❌ failed · <#{CHANNEL}> · <{PERMALINK}|thread>" in shown
    assert "• `s2` · OpenVAS · 🔄 running · <#C0OTHER> · no link to the thread" in shown
    assert "*Waiting for acknowledgement in your channels* (1)" in shown


def test_home_view_of_many_hostile_threads() -> None:
    many = [(summary(scan_id=h * 30, type=h * 10), h, h) for h in HOSTILE] * 80
    view = home(home_view("<!channel>", many, many))
    assert len(view["blocks"]) <= 100
    assert "and " in texts(view)


# --- anything ----------------------------------------------------------------------------


@SETTINGS
@given(channels, st.lists(thread_rows, max_size=60))
def test_any_triage_list_is_valid(channel: str, threads: list[Any]) -> None:
    message = triage_list(channel, threads)
    allowed = {*channel_links(channel), f"<{PERMALINK}", *dates(message)}
    assert_valid_message(message, allowed_mentions=allowed)
    raw_free(message)


@SETTINGS
@given(user_ids, st.lists(home_rows, max_size=60), st.lists(home_rows, max_size=60))
def test_any_home_view_is_valid(user_id: str, mine: list[Any], waiting: list[Any]) -> None:
    channel_ids = [row[1] for row in [*mine, *waiting]]
    home(home_view(user_id, mine, waiting), users=[user_id], channel_ids=channel_ids)
