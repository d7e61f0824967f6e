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

from scanbot.scans.parse import AddTarget, parse_target
from scanbot.slack import actions, sentences
from scanbot.slack.cards.operations import AUTH_ACTION, AUTH_BLOCK, AUTH_VALUE
from scanbot.slack.kit import PRIVATE_METADATA

Body = Mapping[str, Any]

# The sentences a payload scanbot cannot read is answered with (their words: slack/sentences).
OLD_BUTTON = sentences.OLD_BUTTON
UNREADABLE_LIST_BUTTON = sentences.BUTTON_UNREADABLE
FORM_NOT_SEALED = sentences.FORM_NOT_SEALED
OPERATION_BUTTON_UNREADABLE = sentences.OPERATION_BUTTON_UNREADABLE
MAX_AUDIT_OFFSET_DIGITS = 8


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
    trigger_id: str = ""  # opens a modal (the run confirmation) for 3 s

    @classmethod
    def of(cls, body: Body) -> Command:
        return cls(
            text=text_of(body.get("text", "")),
            user_id=user_of(body),
            team_id=team_of(body),
            channel_id=text_of(body.get("channel_id", "")),
            response_url=text_of(body.get("response_url", "")),
            trigger_id=text_of(body.get("trigger_id", "")),
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

    def targets_page(self) -> tuple[str | None, int]:
        """The filter text and offset of a targets "Next" button (`cards.targets_next_value`)."""
        try:
            return parse_targets_next_value(self.value)
        except ValueError as exc:
            reason = f"a targets Next value scanbot cannot read ({len(self.value)} chars): {exc}"
            raise PayloadError(OPERATION_BUTTON_UNREADABLE, reason) from exc

    def report_retry(self) -> tuple[str, str]:
        """The report id and format of a late report's Retry (`cards.report_value`)."""
        try:
            return parse_report_value(self.value)
        except ValueError as exc:
            reason = f"a report Retry value scanbot cannot read ({len(self.value)} chars): {exc}"
            raise PayloadError(OPERATION_BUTTON_UNREADABLE, reason) from exc

    def upsert_target(self) -> AddTarget:
        """The target "Update the existing target" names (`actions.upsert_value`), checked
        again as the parser checks a typed one."""
        command = parse_upsert_value(self.value)
        if command is None:
            reason = f"an upsert value scanbot cannot read ({len(self.value)} chars)"
            raise PayloadError(OPERATION_BUTTON_UNREADABLE, reason)
        return command

    @property
    def audit_offset(self) -> int:
        """Where the audit's next page starts (anything unreadable: the first page)."""
        value = self.value
        readable = value.isascii() and value.isdigit() and len(value) <= MAX_AUDIT_OFFSET_DIGITS
        return int(value) if readable else 0

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


@dataclass(frozen=True)
class RunForm:
    """What a sealed run confirmation carries: the plan, its channel, its author, a nonce."""

    scan_type: str
    field: str
    values: tuple[str, ...]
    channel_id: str
    user_id: str
    nonce: str


@dataclass(frozen=True)
class RunSubmission:
    """A submitted run confirmation: the sealed form, who submitted it (its author: anyone
    else is refused) and whether the scan uses the targets' authentication."""

    form: RunForm
    user_id: str
    team_id: str
    use_authentication: bool

    @classmethod
    def of(cls, body: Body, *, key: bytes) -> RunSubmission:
        """PayloadError for a form scanbot did not seal with `key`, or someone else's."""
        view = mapping(body.get("view"))
        metadata = text_of(view.get("private_metadata", ""))
        try:
            form = parse_run_metadata(metadata, key=key)
        except ValueError as exc:
            reason = f"a run form whose metadata scanbot did not seal ({len(metadata)} chars)"
            raise PayloadError(sentences.RUN_FORM_NOT_SEALED, reason) from exc
        user_id = user_of(body)
        if form.user_id != user_id:
            reason = f"a run form of {form.user_id:.20} submitted by {user_id:.20}"
            raise PayloadError(sentences.RUN_FORM_NOT_YOURS, reason)
        values = mapping(mapping(view.get("state")).get("values"))
        chosen = mapping(mapping(values.get(AUTH_BLOCK)).get(AUTH_ACTION))
        options = chosen.get("selected_options")
        use_authentication = isinstance(options, list) and any(
            mapping(option).get("value") == AUTH_VALUE for option in options
        )
        return cls(form, user_id, team_of(body), use_authentication)


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


def parse_run_metadata(text: str, *, key: bytes) -> RunForm:
    """The run confirmation's content (`Operations.run_form`'s seal), if scanbot sealed it
    with `key`; ValueError on anything else."""
    if len(text) > PRIVATE_METADATA:
        raise ValueError("run metadata is longer than any private_metadata")
    try:
        payload = json.loads(actions.unseal(text, key))
    except RecursionError as exc:
        raise ValueError("run metadata is not scanbot's") from exc
    if not isinstance(payload, dict) or payload.get("v") != actions.RUN_METADATA_VERSION:
        raise ValueError("run metadata has an unknown version")
    values = payload.get("x")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("run metadata's targets are not strings")
    fields = [payload.get(k) for k in ("t", "f", "c", "u", "n")]
    if not all(isinstance(v, str) and v for v in fields):
        raise ValueError("run metadata's fields must be non-empty strings")
    scan_type, field, channel_id, user_id, nonce = (str(v) for v in fields)
    return RunForm(scan_type, field, tuple(values), channel_id, user_id, nonce)


def parse_targets_next_value(value: str) -> tuple[str | None, int]:
    """`(text, offset)` from a targets Next button; ValueError on anything else."""
    if len(value) > actions.MAX_VALUE:
        raise ValueError("longer than any button value")
    try:
        payload = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise ValueError("not a scanbot value") from exc
    if not isinstance(payload, dict) or set(payload) != {"v", "q", "o"} or payload["v"] != 1:
        raise ValueError("not a targets Next value")
    text, offset = payload["q"], payload["o"]
    if not isinstance(text, str) or type(offset) is not int or offset < 0:
        raise ValueError("not a targets Next value")
    return text or None, offset


def parse_report_value(value: str) -> tuple[str, str]:
    """`(report_id, format)` from a Retry button; ValueError on anything else."""
    try:
        payload = json.loads(value) if len(value) <= actions.MAX_VALUE else None
    except (ValueError, RecursionError) as exc:
        raise ValueError("not a scanbot value") from exc
    if not isinstance(payload, dict) or set(payload) != {"r", "f"}:
        raise ValueError("not a report Retry value")
    report_id, report_format = payload["r"], payload["f"]
    if not isinstance(report_id, str) or report_format not in ("PDF", "HTML"):
        raise ValueError("not a report Retry value")
    return report_id, report_format


def parse_upsert_value(value: str) -> AddTarget | None:
    """The target an upsert button names (`actions.upsert_value`), checked again as the
    parser checks it; None for anything else."""
    try:
        payload = json.loads(value) if len(value) <= actions.MAX_VALUE else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict) or set(payload) != {"t", "l", "g"}:
        return None
    target, label, tags = payload["t"], payload["l"], payload["g"]
    if not isinstance(target, str) or not (label is None or isinstance(label, str)):
        return None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return None
    words = ["add", target, *([f"label:{label}"] if label else []), *(f"tag:{t}" for t in tags)]
    parsed = parse_target(words)
    return parsed if isinstance(parsed, AddTarget) else None
