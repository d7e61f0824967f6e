"""Admin notes: words from outside shown literally, within limits, for any input."""

from __future__ import annotations

import pytest
from hypothesis import given

from scanbot.slack.cards.admin import admin_note

from .alert_samples import SETTINGS, first_text, odd_text, valid

# --- admin notes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("HostedScan polling fails: 503", "🛠️ HostedScan polling fails: 503"),
        ("error <!channel> & <https://evil.example|x>", "🛠️ error <!channel> & <https://evil"),
        ("*URGENT* ~x~\u202e", "🛠️ *URGENT* ~x~\N{REPLACEMENT CHARACTER}"),
        ("", "🛠️ (no details)"),
        ("  \n ", "🛠️ (no details)"),
        ("x" * 20_000, "🛠️ xxx"),
    ],
)
def test_admin_note(text: str, shown: str) -> None:
    message = valid(admin_note(text))
    assert first_text(message).startswith(shown)
    assert message["text"].startswith("scanbot: ")


# --- anything ----------------------------------------------------------------------------


@SETTINGS
@given(odd_text)
def test_any_admin_note_is_valid(text: str) -> None:
    valid(admin_note(text))
