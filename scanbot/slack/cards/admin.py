"""Notes for the admin channel: polling failing or recovered, and the like."""

from __future__ import annotations

from scanbot.slack import kit, rich
from scanbot.slack.kit import SECTION_TEXT, Message
from scanbot.slack.text import escape, truncate

NOTE_SYMBOL = "🛠️"


def admin_note(text: str) -> Message:
    """A notice for the admin channel; `text` may hold words from outside (an error from
    HostedScan), so it is shown literally.
    """
    note = truncate(text.strip(), SECTION_TEXT - 10) if text.strip() else ""
    line = [rich.text(f"{NOTE_SYMBOL} {note or '(no details)'}")]
    blocks = [rich.paragraph(line), kit.context("scanbot notice for admins")]
    return kit.message(f"scanbot: {escape(note or '(no details)')}", blocks)
