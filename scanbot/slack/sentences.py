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
from scanbot.slack.text import escape

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


def command_failed(exc: BaseException, shown_id: str, reference: str) -> str:
    """Why `/scan`, `/scans` or a card button got no card. `shown_id` is the scan id asked
    for, escaped; `reference` is the error reference the log names (said only when the log
    is where the answer is)."""
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
    if isinstance(exc, RateLimited | Unavailable | TimeoutError):
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
