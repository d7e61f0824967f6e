"""What Slack sends scanbot, as typed values: a slash command, a click, a submitted form, a
Home tab opened. The only module that reads a payload's fields and decodes what scanbot
put into a button's value, a select's block id or a view's private_metadata
(`scanbot.slack.actions` writes them).

Anything scanbot did not make (forged, altered, from another version) raises
`PayloadError`, which carries the one sentence the person is answered with; the listeners
answer it at their boundary and log its reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scanbot.slack import actions, sentences
from scanbot.slack.kit import PRIVATE_METADATA

Body = Mapping[str, Any]

# The sentences a payload scanbot cannot read is answered with (their words: slack/sentences).
OLD_BUTTON = sentences.OLD_BUTTON
UNREADABLE_LIST_BUTTON = sentences.BUTTON_UNREADABLE
FORM_NOT_SEALED = sentences.FORM_NOT_SEALED


class PayloadError(ValueError):
    """A payload scanbot did not make: `sentence` for the person, `reason` for the log."""

    def __init__(self, sentence: str, reason: str) -> None:
        super().__init__(reason)
        self.sentence = sentence
        self.reason = reason


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def text_of(value: object) -> str:
    """A field as text; a missing one (None) is empty."""
    return "" if value is None else str(value)


def user_of(body: Body) -> str:
    return text_of(body.get("user_id") or mapping(body.get("user")).get("id", ""))


def team_of(body: Body) -> str:
    return text_of(body.get("team_id") or mapping(body.get("team")).get("id", ""))


# -- slash commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A slash command: `/scans <text>` or `/scan <text>`."""

    text: str
    user_id: str
    team_id: str
    channel_id: str
    response_url: str

    @classmethod
    def of(cls, body: Body) -> Command:
        return cls(
            text=text_of(body.get("text", "")),
            user_id=user_of(body),
            team_id=team_of(body),
            channel_id=text_of(body.get("channel_id", "")),
            response_url=text_of(body.get("response_url", "")),
        )


# -- clicks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextPage:
    """What a "Next" button carries: the list's query words and where the next screen starts."""

    words: str
    offset: int


@dataclass(frozen=True)
class Click:
    """A `block_actions` request: one button clicked or one option chosen, with where it
    happened (Slack's, not the value's)."""

    action_id: str
    value: str  # a button's value
    selected: str  # a select's chosen option value
    block_id: str
    user_id: str
    team_id: str
    channel_id: str
    response_url: str
    trigger_id: str
    message_ts: str
    is_ephemeral: bool

    @classmethod
    def of(cls, body: Body) -> Click:
        listed = body.get("actions")
        action = mapping(listed[0] if isinstance(listed, list) and listed else {})
        container = mapping(body.get("container"))
        channel = mapping(body.get("channel")).get("id") or container.get("channel_id", "")
        return cls(
            action_id=text_of(action.get("action_id", "")),
            value=text_of(action.get("value", "")),
            selected=text_of(mapping(action.get("selected_option")).get("value", "")),
            block_id=text_of(action.get("block_id", "")),
            user_id=user_of(body),
            team_id=team_of(body),
            channel_id=text_of(channel),
            response_url=text_of(body.get("response_url", "")),
            trigger_id=text_of(body.get("trigger_id", "")),
            message_ts=text_of(container.get("message_ts", "")),
            is_ephemeral=bool(container.get("is_ephemeral")),
        )

    @property
    def scan_id(self) -> str:
        """The scan a card or thread button names. Trusted only as far as it is checked: a
        thread is looked up with the click's channel, an id validated before any request."""
        return self.value

    @property
    def risk_id(self) -> str:
        """The risk a risk button names (`actions.risk_value`)."""
        return self.value

    def next_page(self) -> NextPage:
        """The query and offset of a "Next" button (`actions.next_value`)."""
        try:
            words, offset = parse_next_value(self.value)
        except ValueError as exc:
            reason = f"a Next button value scanbot cannot read ({len(self.value)} chars): {exc}"
            raise PayloadError(UNREADABLE_LIST_BUTTON, reason) from exc
        return NextPage(words, offset)

    def snoozed_scan(self) -> str:
        """The scan a Snooze select is about, named by its block id (`actions.triage_block_id`)."""
        try:
            return parse_triage_block_id(self.block_id)
        except ValueError as exc:
            reason = f"a Snooze select whose block id is not scanbot's ({len(self.block_id)} chars)"
            raise PayloadError(OLD_BUTTON, reason) from exc


# -- forms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignForm:
    """A submitted assign window: the thread scanbot sealed into it, who submitted it, whom
    they picked (None: nobody, which unassigns) and their note."""

    scan_id: str
    channel_id: str
    message_ts: str
    user_id: str
    assignee: str | None
    note: str

    @classmethod
    def of(cls, body: Body, *, key: bytes) -> AssignForm:
        """The form, if scanbot sealed its private_metadata with `key`; PayloadError for a form
        altered, forged, from an older scanbot or sealed with another secret."""
        view = mapping(body.get("view"))
        metadata = text_of(view.get("private_metadata", ""))
        try:
            scan_id, channel_id, message_ts = parse_assign_metadata(metadata, key=key)
        except ValueError as exc:
            reason = (
                f"an assign form whose metadata scanbot did not seal ({len(metadata)} chars): "
                f"{str(exc)[:120]}"
            )
            raise PayloadError(FORM_NOT_SEALED, reason) from exc
        values = mapping(mapping(view.get("state")).get("values"))
        return cls(
            scan_id=scan_id,
            channel_id=channel_id,
            message_ts=message_ts,
            user_id=user_of(body),
            assignee=form_value(values, "assignee", "user", "selected_user"),
            note=form_value(values, "note", "text", "value") or "",
        )


def form_value(values: Mapping[str, Any], block: str, action: str, key: str) -> str | None:
    """One input's value from a view's state, None when absent or not a string."""
    value = mapping(mapping(values.get(block)).get(action)).get(key)
    return value if isinstance(value, str) else None


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeOpened:
    """`app_home_opened`: someone opened one of scanbot's tabs."""

    user_id: str
    team_id: str
    tab: str

    @classmethod
    def of(cls, body: Body, event: Body) -> HomeOpened:
        return cls(
            user_id=text_of(event.get("user", "")),
            team_id=team_of(body),
            tab=text_of(event.get("tab", "home")),
        )

    @property
    def is_home(self) -> bool:
        return self.tab == "home"


# -- the values scanbot wrote, read back ------------------------------------------------------


def parse_next_value(value: str) -> tuple[str, int]:
    """`(query_words, offset)` from a "Next" value (`actions.next_value`); ValueError on
    anything malformed."""
    if len(value) > actions.MAX_VALUE:
        raise ValueError("Next value is longer than any button value")
    try:
        payload = json.loads(value)
    except RecursionError as exc:  # deeply nested arrays: not ours
        raise ValueError("Next value is not a scanbot value") from exc
    if not isinstance(payload, dict) or set(payload) != {"v", "q", "o"}:
        raise ValueError("Next value does not have the keys v, q and o")
    version, words, offset = payload["v"], payload["q"], payload["o"]
    # `type(...) is int`: JSON's true and 1.0 are not versions or offsets.
    if type(version) is not int or version != actions.NEXT_VERSION:
        raise ValueError(f"Next value has an unknown version: {version!r:.20}")
    if not isinstance(words, str):
        raise ValueError("Next value's query is not a string")
    if type(offset) is not int or offset < 0:
        raise ValueError("Next value's offset is not a whole number >= 0")
    return words, offset


def parse_triage_block_id(block_id: str) -> str:
    """The scan id in an `actions.triage_block_id`; ValueError on anything else."""
    prefix = f"{actions.TRIAGE_BLOCK}:"
    scan_id = block_id.removeprefix(prefix)
    if not block_id.startswith(prefix) or actions.triage_block_id(scan_id) != block_id:
        raise ValueError("not a scanbot triage block id")
    return scan_id


def parse_assign_metadata(text: str, *, key: bytes) -> tuple[str, str, str]:
    """`(scan_id, channel_id, message_ts)` from the assign window (`actions.assign_metadata`),
    if scanbot sealed it with `key`; ValueError on anything else (the seal is checked before
    anything is parsed)."""
    if len(text) > PRIVATE_METADATA:
        raise ValueError("assign metadata is longer than any private_metadata")
    text = actions.unseal(text, key)
    try:
        payload = json.loads(text)
    except RecursionError as exc:  # deeply nested arrays: not ours
        raise ValueError("assign metadata is not scanbot's") from exc
    if not isinstance(payload, dict) or set(payload) != {"v", "scan", "channel", "ts"}:
        raise ValueError("assign metadata does not have the keys v, scan, channel and ts")
    version = payload["v"]
    if type(version) is not int or version != actions.ASSIGN_METADATA_VERSION:
        raise ValueError(f"assign metadata has an unknown version: {version!r:.20}")
    fields = (payload["scan"], payload["channel"], payload["ts"])
    if not all(isinstance(field, str) and field.strip() for field in fields):
        raise ValueError("assign metadata's scan, channel and ts must be non-empty strings")
    scan_id, channel_id, message_ts = fields
    return scan_id, channel_id, message_ts
