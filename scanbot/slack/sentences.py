"""Every sentence scanbot says when something did not work: what was wrong, what to do.

Callers decide what happened and log the cause; the words live here, so the same failure
reads the same wherever it happens. Text from outside (an id, Slack's error code) is
escaped here, as it goes into mrkdwn.
"""

from __future__ import annotations

from scanbot.hostedscan import (
    HostedScanError,
    InvalidScanId,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from scanbot.slack.text import escape, user_mention

# -- Slack failures, told to the person who clicked -----------------------------------------

# Slack's error code -> what it means for the person who clicked (unlisted: the code itself).
SLACK_HINTS = {
    "not_in_channel": "scanbot is not in this channel: /invite @scanbot",
    "channel_not_found": "Slack cannot find this channel for scanbot",
    "is_archived": "the channel is archived",
    "ratelimited": "Slack is rate limiting scanbot; try again in a minute",
    "expired_trigger_id": "the click is too old to open a window; click again",
    "invalid_trigger_id": "the click is too old to open a window; click again",
    "missing_scope": "scanbot lacks a Slack permission for this; ask an admin",
    "message_not_found": "the alert's message is gone",
}


def slack_refused(error: str, doing: str) -> str:
    """`doing` is what scanbot tried, as in "reply in the thread"."""
    return f"Slack did not let scanbot {doing} ({SLACK_HINTS.get(error, error)})."


def saved_but_slack_refused(error: str, doing: str) -> str:
    """The store changed, the thread could not say so."""
    return "Saved, but " + slack_refused(error, doing)


PARENT_NOT_UPDATED = "Slack did not let scanbot update the alert; try again soon."

# -- Slack failures, for an admin reading the log (an alert that was parked) ------------------

PARK_HINTS = {
    "not_in_channel": "not_in_channel: invite scanbot to the channel (/invite @scanbot), "
    "or grant the chat:write.public scope",
    "channel_not_found": "channel_not_found: the channel was deleted, or is private and "
    "scanbot is not in it",
    "is_archived": "is_archived: the channel is archived",
}


def park_hint(error: str) -> str:
    return PARK_HINTS.get(error, error)


# -- Subscribing: scanbot must be able to post in the channel --------------------------------

CANNOT_POST = {
    "not_in_channel": "scanbot is not in this channel: invite it with `/invite @scanbot`, "
    "then subscribe again.",
    "channel_not_found": "scanbot cannot see this channel: in a private channel, invite it with "
    "`/invite @scanbot`; in a public one, ask an admin to grant the `chat:write.public` scope "
    "and reinstall the app.",
    "is_archived": "This channel is archived: scanbot cannot post here.",
    "restricted_action": "This workspace does not let scanbot post here; ask an admin.",
}


def not_subscribed(error: str) -> str:
    reason = CANNOT_POST.get(error, f"Slack refused scanbot's post here ({escape(error)}).")
    return f"Not subscribed. {reason}"


def too_many_subscriptions(limit: int) -> str:
    return (
        f"This channel already has {limit} alert subscriptions, the most it "
        "can have: remove one with `/scans unsubscribe &lt;n&gt;` (`/scans "
        "subscriptions` lists their numbers), then subscribe again."
    )


def admins_only(who: str) -> str:
    """`who`: the admins' mentions."""
    return f"Only scanbot's admins can change this channel's alerts: {who}."


# -- Who may see scan data ------------------------------------------------------------------

GUEST_REFUSAL = (
    "Sorry: scan results are sensitive, so scanbot does not show them to guests or to "
    "people from other organisations. Ask a member of this workspace for what you need."
)
UNVERIFIED = (
    "scanbot could not check who you are with Slack just now, so it shows no scan data. "
    "Try again in a minute; if it keeps happening, ask an admin (scanbot needs `users:read`)."
)

# -- Commands and buttons --------------------------------------------------------------------

NEEDS_A_CHANNEL = "That acts on a Slack channel: run it in Slack."
BUTTON_UNREADABLE = "This button's data could not be read. Run `/scans` again for a fresh list."
OLD_BUTTON = (
    "This button is from another version of scanbot and no longer works. "
    "Run `/scans` or `/scan &lt;id&gt;` for a fresh card."
)
FORM_NOT_SEALED = (
    "This form is out of date or was not made by scanbot, so nothing was changed: "
    "close it and press Assign… on the alert again."
)


# -- HostedScan failures ---------------------------------------------------------------------


def command_failed(
    exc: BaseException, shown_id: str, reference: str, *, queued: bool = False
) -> str:
    """Why `/scan`, `/scans` or a card button got no card. `shown_id` is the scan id asked
    for, escaped; `reference` is the error reference the log names (said only when the log
    is where the answer is); `queued`: the deadline passed with requests waiting for
    scanbot's own limit on HostedScan requests (not HostedScan's)."""
    if isinstance(exc, InvalidScanId):
        return (
            f"`{shown_id}` is not a scan id: ids are letters, digits, `_` and `-`, "
            "at most 128 characters. Run `/scans` to find one."
        )
    if isinstance(exc, NotFound):
        return f"HostedScan has no scan `{shown_id}`. Check the id, or run `/scans` to list them."
    if isinstance(exc, Unauthorized):
        return (
            "HostedScan rejected scanbot's API key. Ask an admin to check the "
            "`HOSTEDSCAN_API_KEY` setting."
        )
    if isinstance(exc, RateLimited):
        return "HostedScan is busy (it is rate limiting scanbot) right now. Try again in a minute."
    if isinstance(exc, TimeoutError) and queued:
        return (
            "scanbot is busy: many requests are waiting for its own limit on HostedScan "
            "requests (HostedScan itself is fine). Try again in a minute."
        )
    if isinstance(exc, Unavailable | TimeoutError):
        return "HostedScan is busy or not answering right now. Try again in a minute."
    if isinstance(exc, HostedScanError):
        return (
            "HostedScan sent an answer scanbot could not use. Try again shortly; if it "
            f"keeps happening, give an admin the error reference `{reference}`."
        )
    return (
        f"Sorry, something went wrong inside scanbot (error reference `{reference}`). "
        "Try again; an admin can find the details in the log."
    )


def lookup_failed(exc: HostedScanError, what: str) -> str:
    """Why a thread's button could not show `what` ("scan `abc`", "the report of ...")."""
    if isinstance(exc, NotFound):
        return f"HostedScan no longer has {what}: it was deleted or never existed."
    if isinstance(exc, InvalidScanId):
        return f"{what[0].upper()}{what[1:]} is not a HostedScan id."
    if isinstance(exc, Unauthorized):
        return "HostedScan refused scanbot's API key; ask an admin to check it."
    if isinstance(exc, RateLimited):
        return "HostedScan is rate limiting scanbot; try again in a minute."
    return f"HostedScan could not give {what} right now; try again in a minute."


def code(text: str) -> str:
    """An id from outside, shown in code style (escaped, at most 80 characters)."""
    return f"`{escape(text[:80])}`"


# -- Alert threads ---------------------------------------------------------------------------

NOT_TRACKED = (
    "This alert is no longer tracked: scanbot has forgotten its thread (the scan was "
    "deleted or is long finished), so nothing was changed."
)
INTERNAL_ERROR = "Something went wrong inside scanbot; the details are in its log."
SNOOZE_CHOICES = "Snooze for 1 hour, 4 hours, 24 hours, or until the next state change."
FINISHED_CANNOT_WAIT = (
    "This scan has finished, so its state will not change again: snooze it for a while, or mute it."
)

# -- A click that changed nothing (told to the clicker only) --------------------------------

ALREADY_ACKNOWLEDGED = "You already acknowledged this alert."
NOT_ACKNOWLEDGED = "You had not acknowledged this alert."
NOBODY_ASSIGNED = "Nobody is assigned to this alert."
NOT_SNOOZED = "This alert is not snoozed."
ALREADY_MUTED = "This alert is already muted."
NOT_MUTED = "This alert is not muted."


def already_assigned(mention: str) -> str:
    return f"{mention} is already assigned to this alert."


def already_snoozed(label: str, *, until_a_change: bool) -> str:
    """`label`: the snooze option as people read it ("1 hour", "the next state change")."""
    span = "until" if until_a_change else "for"
    return f"This alert is already snoozed {span} {label}."


def no_new_risks(scan_id: str) -> str:
    return f"Scan {code(scan_id)} has no newly open risks."


# -- Acting on HostedScan (scanbot/operations, the operations' listeners) ------------------

RUN_FORM_NOT_SEALED = (
    "This form is out of date or was not made by scanbot, so nothing was started: close it "
    "and run `/scans run` again."
)
RUN_FORM_NOT_YOURS = "Only the person who ran `/scans run` can confirm this scan."
TARGETS_TOO_LONG = (
    "These targets are too long to confirm in one form: add them with `/scans target add` "
    "and a `tag:`, then run `/scans run <type> tag:<tag>`."
)
NOTHING_TO_SCAN = "Nothing to scan: no HostedScan target matches. `/scans targets` lists them."
HOSTEDSCAN_BUSY = (
    "HostedScan is busy or not answering right now, and nothing was started. Try again in a minute."
)
HOSTEDSCAN_RATE_LIMITED = (
    "HostedScan asked scanbot to slow down, and nothing was started. Try again in a minute."
)
OUTCOME_UNKNOWN = (
    "HostedScan did not answer in time, so scanbot cannot tell whether the scan started. "
    "Look with `/scans active` before starting it again."
)
KEY_REJECTED = (
    "HostedScan rejected scanbot's API key, so nothing was done. Ask an admin to check the "
    "`HOSTEDSCAN_API_KEY` setting."
)
ALREADY_UNDER_WAY = "This scan is being started already: its answer follows."
OVER_LIMIT_EXPLAINED = (
    "HostedScan ended it as over the limit: the account's plan allows no more scans of this "
    "kind for now. Nothing was scanned; an admin can raise the plan in HostedScan, or run it "
    "again once the plan's period renews."
)
RESCAN_NOT_FINISHED = "This scan has not finished yet: it can be re-run once it has."
RESCAN_NO_TARGETS = (
    "HostedScan does not say which targets this scan had, so it cannot be re-run from here: "
    "use `/scans run`."
)
SLACK_FAILED = "Slack did not take scanbot's window just now: try again."


def operation_failed_inside(reference: str) -> str:
    return (
        f"Sorry, something went wrong inside scanbot (error reference `{reference}`). "
        "Try again; an admin can find the details in the log."
    )


def refused_before_answer(reference: str) -> str:
    return (
        "HostedScan sent an answer scanbot could not use, so whether it acted is unknown. "
        f"Give an admin the error reference `{reference}`."
    )


FORM_USED = "This confirmation was used already and did not start a scan: run `/scans run` again."
TARGET_OUTCOME_UNKNOWN = (
    "HostedScan did not answer in time, so scanbot cannot tell whether the target was "
    "added: `/scans targets` shows whether it was."
)
OPERATION_BUTTON_UNREADABLE = (
    "This button's data could not be read, so nothing was changed: run the command again."
)
REPORT_CANNOT_POST = (
    "scanbot cannot post in this channel, so it asked HostedScan for nothing: invite it with "
    "`/invite @scanbot`, then ask again."
)
REPORT_NOT_UPLOADED = (
    "HostedScan made the report, but Slack did not take scanbot's upload: scanbot needs the "
    "`files:write` scope (ask an admin), then ask again."
)
REPORT_NO_TARGETS = (
    "HostedScan does not say which targets this scan had, so no report was asked for: use "
    "`/scans report` with `target:` or `tag:`."
)

# -- Who may act on HostedScan (scanbot/slack/permissions.py) --------------------------------

ACTIONS_OFF = (
    "Starting scans, adding targets and making reports from Slack are off. An admin "
    "turns them on by setting `SCANBOT_OPERATORS` (Slack user or user group ids) or "
    "`SCANBOT_ADMINS`, then restarting scanbot."
)
NOT_AN_OPERATOR = (
    "Only scanbot's operators can start scans, add targets or make reports: ask one of them, "
    "or ask an admin to add you to `SCANBOT_OPERATORS`."
)
GROUPS_UNVERIFIED = (
    "scanbot could not check your user groups with Slack just now, so it did nothing. Try "
    "again in a minute; if it keeps happening, ask an admin (scanbot needs `usergroups:read`)."
)
NO_ADMINS = "Only scanbot's admins can see this, and none is set: an admin sets `SCANBOT_ADMINS`."


def admins_only_see(admins: frozenset[str]) -> str:
    who = ", ".join(user_mention(admin) for admin in sorted(admins))
    return f"Only scanbot's admins can see this: {who}."
