"""Every sentence the operations say by themselves, in one place: safe mrkdwn of scanbot's
own words (values from outside go through the renderers in slack/cards/operations.py)."""

from __future__ import annotations

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


def internal_error(reference: str) -> str:
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
OLD_BUTTON = "This button's data could not be read, so nothing was changed: run the command again."
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
