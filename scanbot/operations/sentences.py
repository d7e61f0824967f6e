"""The operations' sentences under the names the operations (and their tests) use; the
words live in `scanbot.slack.sentences` with every other sentence."""

from __future__ import annotations

from scanbot.slack.sentences import (
    ALREADY_UNDER_WAY,
    FORM_USED,
    HOSTEDSCAN_BUSY,
    HOSTEDSCAN_RATE_LIMITED,
    KEY_REJECTED,
    NOTHING_TO_SCAN,
    OUTCOME_UNKNOWN,
    OVER_LIMIT_EXPLAINED,
    REPORT_CANNOT_POST,
    REPORT_NO_TARGETS,
    REPORT_NOT_UPLOADED,
    RESCAN_NO_TARGETS,
    RESCAN_NOT_FINISHED,
    RUN_FORM_NOT_SEALED,
    RUN_FORM_NOT_YOURS,
    SLACK_FAILED,
    TARGET_OUTCOME_UNKNOWN,
    TARGETS_TOO_LONG,
    refused_before_answer,
)
from scanbot.slack.sentences import OPERATION_BUTTON_UNREADABLE as OLD_BUTTON
from scanbot.slack.sentences import operation_failed_inside as internal_error

__all__ = [
    "ALREADY_UNDER_WAY",
    "FORM_USED",
    "HOSTEDSCAN_BUSY",
    "HOSTEDSCAN_RATE_LIMITED",
    "KEY_REJECTED",
    "NOTHING_TO_SCAN",
    "OLD_BUTTON",
    "OUTCOME_UNKNOWN",
    "OVER_LIMIT_EXPLAINED",
    "REPORT_CANNOT_POST",
    "REPORT_NOT_UPLOADED",
    "REPORT_NO_TARGETS",
    "RESCAN_NOT_FINISHED",
    "RESCAN_NO_TARGETS",
    "RUN_FORM_NOT_SEALED",
    "RUN_FORM_NOT_YOURS",
    "SLACK_FAILED",
    "TARGETS_TOO_LONG",
    "TARGET_OUTCOME_UNKNOWN",
    "internal_error",
    "refused_before_answer",
]
