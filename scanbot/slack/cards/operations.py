"""What the operations show (`/scans run`'s confirmation, started scans, refusals, the
audit): pure renderers, values from outside in rich_text or escaped plain_text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scanbot.domain.operations import (
    Operation,
    OperationKind,
    OperationStatus,
    RunPlan,
    TargetRow,
)
from scanbot.domain.scans import ScanSummary
from scanbot.scans.parse import OPERATION_HELP, OperationUsage
from scanbot.slack import actions, kit, rich
from scanbot.slack.kit import Block, Message
from scanbot.slack.text import escape, plural, shown

View = dict[str, Any]
MAX_SHOWN_TARGETS = 40
AUDIT_PAGE = 15
AUTH_BLOCK = "auth"
AUTH_ACTION = "use"
AUTH_VALUE = "yes"
KIND_WORDS: dict[OperationKind, str] = {
    OperationKind.RUN: "started a scan",
    OperationKind.RESCAN: "re-ran a scan",
    OperationKind.TARGET_ADD: "added a target",
    OperationKind.REPORT: "asked for a report",
}
STATUS_WORDS: dict[OperationStatus, str] = {
    OperationStatus.PENDING: "under way",
    OperationStatus.DONE: "done",
    OperationStatus.REFUSED: "refused by HostedScan",
    OperationStatus.FAILED: "not done",
    OperationStatus.UNKNOWN: "no answer: may have happened",
}


def _scan(scan_id: str, scan_type: str = "", *, start: bool = True) -> rich.Line:
    return kit.scan_reference(ScanSummary(scan_id=scan_id, type=scan_type), start=start)


def _message(line: rich.Line, *more: Block) -> Message:
    return kit.message(kit.fallback(line), [rich.paragraph(line), *more])


def usage(command: OperationUsage) -> Message:
    """Why the words were refused, and how the sub-command is used."""
    entry = OPERATION_HELP[command.command]
    syntax = " ".join(part for part in ("/scans", command.command, entry.arguments) if part)
    blocks: list[Block] = []
    if command.unknown is not None:
        line = [
            rich.text("Not understood: "),
            rich.value(command.unknown, kit.NAME_CHARS, code=True),
        ]
        blocks.append(rich.paragraph(line))
    blocks.append(kit.section(command.reason))
    blocks.append(kit.context(f"`{escape(syntax)}` {entry.does}."))
    return kit.message(command.reason, blocks)


def bad_targets(problems: Sequence[tuple[str, str]]) -> Message:
    """One sentence naming every target that cannot be scanned, and why; nothing was sent."""
    parts = [
        [
            rich.value(target, kit.TARGET_CHARS, code=True),
            rich.text(" ("),
            rich.value(why, kit.REASON_CHARS),
            rich.text(")"),
        ]
        for target, why in problems[: kit.MAX_KINDS]
    ]
    more = len(problems) - len(parts)
    line = [
        rich.text("Nothing was sent to HostedScan. "),
        rich.text(f"{plural(len(problems), 'target')} cannot be scanned: "),
        *rich.joined(parts, "; "),
        *([rich.text(f"; and {more} more")] if more > 0 else []),
        rich.text(". Fix or leave them out, then run it again."),
    ]
    return _message(line)


def run_loading_view() -> View:
    """Opened at once (a trigger_id lasts 3 seconds), then replaced by `run_view`."""
    return _modal("Start a scan", [rich.paragraph([rich.text("⏳ Looking up the targets…")])])


def _described(plan: RunPlan) -> rich.Line:
    given = {"targets": "", "target_ids": "id ", "tags": "tag "}[plan.field]
    names = [[rich.value(value, kit.TARGET_CHARS, code=True)] for value in plan.values[:10]]
    more = [rich.text(f" and {len(plan.values) - 10} more")] if len(plan.values) > 10 else []
    return [rich.text(f"{given}"), *rich.joined(names, ", "), *more]


def run_view(plan: RunPlan, metadata: str) -> View:
    """The confirmation: the type, every target it will scan, and "use authentication"."""
    lines = [
        rich.fact("Type", rich.text(kit.shown_type(plan.scan_type))),
        rich.fact("Asked for", *_described(plan)),
    ]
    blocks: list[Block] = [rich.paragraph(*lines)]
    if plan.shown:
        items = [
            [rich.value(t.target, kit.TARGET_CHARS, code=True)]
            + ([rich.text(" "), rich.value(t.label, kit.NAME_CHARS)] if t.label.strip() else [])
            for t in plan.shown[:MAX_SHOWN_TARGETS]
        ]
        title = [rich.bold(f"HostedScan will scan {plural(len(plan.shown), 'target')}:")]
        parts = [rich.section(title), rich.bullets(items)]
        if len(plan.shown) > MAX_SHOWN_TARGETS:
            parts.append(
                rich.section([rich.text(f"and {len(plan.shown) - MAX_SHOWN_TARGETS} more")])
            )
        blocks.append(rich.block(*parts))
    if plan.missing:
        names = [[rich.value(m, kit.TARGET_CHARS, code=True)] for m in plan.missing[:10]]
        blocks.append(rich.paragraph([rich.text("Matched no target: "), *rich.joined(names, ", ")]))
    if not plan.shown and plan.field != "targets":
        return _modal("Start a scan", [*blocks, kit.section(NOTHING_TO_SCAN_WORDS)])
    blocks.append(
        {
            "type": "input",
            "block_id": AUTH_BLOCK,
            "optional": True,
            "label": kit.plain("Authentication"),
            "element": {
                "type": "checkboxes",
                "action_id": AUTH_ACTION,
                "options": [
                    {
                        "text": kit.plain("Use authentication"),
                        "description": kit.plain("For targets with a login recorded in HostedScan"),
                        "value": AUTH_VALUE,
                    }
                ],
            },
        }
    )
    blocks.append(
        kit.context("The scan counts against the HostedScan plan; it cannot be cancelled.")
    )
    return _modal(
        "Start a scan",
        blocks,
        callback_id=actions.RUN_VIEW,
        submit=kit.plain("Start scan"),
        close=kit.plain("Cancel"),
        private_metadata=metadata,
    )


NOTHING_TO_SCAN_WORDS = (
    "Nothing to scan: no HostedScan target matches. `/scans targets` lists them."
)


def run_unavailable_view(sentence: str) -> View:
    """Why the confirmation cannot be shown; `sentence` is scanbot's own safe mrkdwn."""
    return _modal("Start a scan", [kit.section(sentence)])


def _modal(title: str, blocks: list[Block], **fields: object) -> View:
    view: View = {
        "type": "modal",
        "title": kit.plain(title),
        "close": kit.plain("Close"),
        "blocks": blocks[: kit.MAX_VIEW_BLOCKS],
    }
    view.update(fields)
    return view


def started(scan_id: str, scan_type: str, *, rescan_of: str | None = None) -> Message:
    """The answer to the person who confirmed: the new scan's id, and what follows."""
    line = [rich.text("✅ HostedScan started "), *_scan(scan_id, scan_type, start=False)]
    if rescan_of is not None:
        line += [rich.text(", a re-run of "), *_scan(rescan_of, start=False)]
    line.append(
        rich.text(
            ". Alerts follow in the channels subscribed to it; you will be mentioned when it "
            "finishes."
        )
    )
    return _message(line)


def already_started(scan_id: str) -> Message:
    line = [rich.text("This was started already: "), *_scan(scan_id, start=False), rich.text(".")]
    return _message(line)


def refused(what: str, reason: str | None) -> Message:
    """HostedScan's 400, in words: `what` is ours ("the scan"), `reason` HostedScan's."""
    line = [rich.text(f"HostedScan refused {what}")]
    if reason:
        line += [rich.text(": "), rich.value(reason, kit.REASON_CHARS), rich.text(".")]
    else:
        line.append(rich.text(" without saying why."))
    line.append(rich.text(" Nothing was started."))
    return _message(line)


def over_run_limit(limit: int, resets_at: datetime) -> Message:
    line = [
        rich.text(
            f"You have started {plural(limit, 'scan')} from Slack in the last hour, the most "
            "scanbot allows (SCANBOT_RUN_LIMIT). You can start another from "
        ),
        rich.date(resets_at, kit.DATE_FORMAT),
        rich.text("."),
    ]
    return _message(line)


def finished(user_id: str, scan_id: str, scan_type: str, state: str, explanation: str) -> Message:
    """The starter, told in the scan's thread (or privately) that it finished."""
    line = [
        rich.user(user_id),
        rich.text(" "),
        *_scan(scan_id, scan_type),
        rich.text(f", which you started, finished: {kit.shown_state(state)}."),
    ]
    if explanation:
        line.append(rich.text(" " + explanation))
    return _message(line)


def rescanned(old_scan_id: str, new_scan_id: str, user_id: str) -> Message:
    """The old scan's thread: it was re-run, by whom, as which scan."""
    line = [
        rich.text("🔁 "),
        rich.user(user_id),
        rich.text(" re-ran this scan as "),
        *_scan(new_scan_id, start=False),
        rich.text("."),
    ]
    return _message(line)


def reruns(old_scan_id: str, user_id: str) -> Message:
    """The new scan's thread: what it re-runs."""
    line = [
        rich.text("🔁 This scan re-runs "),
        *_scan(old_scan_id, start=False),
        rich.text(", started by "),
        rich.user(user_id),
        rich.text("."),
    ]
    return _message(line)


def audit_page(rows: Sequence[Operation], offset: int, total: int) -> Message:
    """A page of the audit, newest first, with a Next button while more remain."""
    if not rows:
        return kit.sentence("Nothing was done through scanbot yet." if not offset else "No more.")
    items = [_audit_line(row) for row in rows]
    title = [
        rich.bold(
            f"What people did through scanbot ({offset + 1} to {offset + len(rows)} "
            f"of {total}, newest first)"
        )
    ]
    blocks: list[Block] = [rich.block(rich.section(title), rich.bullets(items))]
    if offset + len(rows) < total:
        blocks.append(
            kit.actions_row(kit.button("Next", actions.AUDIT_NEXT, 0, str(offset + len(rows))))
        )
    return kit.message(kit.fallback(title), blocks)


def _audit_line(row: Operation) -> rich.Line:
    line = [
        rich.date(row.at, kit.DATE_FORMAT),
        rich.text(" "),
        rich.user(row.user_id),
        rich.text(f" {KIND_WORDS.get(row.kind, row.kind.value)} in "),
        rich.channel(row.channel_id),
        rich.text(": "),
        rich.value(_asked(row), kit.TARGET_CHARS, code=True),
        rich.text(f" — {STATUS_WORDS[row.status]}"),
    ]
    if row.hostedscan_id:
        line += [rich.text(", "), rich.value(row.hostedscan_id, kit.ID_CHARS, code=True)]
    if row.answer:
        line += [rich.text(": "), rich.value(row.answer, kit.REASON_CHARS)]
    return line


def _asked(row: Operation) -> str:
    """What was asked, in a few words: `OPENVAS targets example.com, …`."""
    words = []
    for key, value in row.request.items():
        shown_value = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        words.append(f"{key} {shown_value}")
    return shown("; ".join(words), kit.TARGET_CHARS)


TARGETS_PAGE = 10


def targets_next_value(text: str | None, offset: int) -> str | None:
    value = actions.compact_json({"v": 1, "q": text or "", "o": offset})
    return value if len(value) <= actions.MAX_VALUE else None


def targets_page(
    rows: Sequence[TargetRow], text: str | None, offset: int, *, more: bool
) -> Message:
    """A screen of targets: each with its label, tags, open risks and last detection."""
    if not rows:
        said = "No HostedScan target" + (" contains that text." if text else " yet.")
        return kit.sentence(said if not offset else "No more targets.")
    title = [rich.bold(f"HostedScan targets {offset + 1} to {offset + len(rows)}")]
    if text:
        title += [rich.text(" containing "), rich.value(text, kit.NAME_CHARS, code=True)]
    blocks: list[Block] = [
        rich.block(rich.section(title), rich.bullets(_target_line(r) for r in rows))
    ]
    if more:
        value = targets_next_value(text, offset + len(rows))
        if value is not None:
            blocks.append(kit.actions_row(kit.button("Next", actions.TARGETS_NEXT, 0, value)))
    return kit.message(kit.fallback(title), blocks)


def _target_line(row: TargetRow) -> rich.Line:
    line = [rich.value(row.target, kit.TARGET_CHARS, code=True)]
    if row.label.strip():
        line += [rich.text(" "), rich.value(row.label, kit.NAME_CHARS)]
    if row.tags:
        tags = [[rich.value(tag, kit.NAME_CHARS, code=True)] for tag in row.tags[:10]]
        line += [rich.text(" · tags "), *rich.joined(tags, " ")]
    line.append(rich.text(f" · {plural(row.open_risks, 'open risk')}"))
    if row.last_detected is not None:
        line += [rich.text(" · last found "), rich.date(row.last_detected, kit.DATE_FORMAT)]
    line += [rich.text(" · id "), rich.value(row.target_id, kit.ID_CHARS, code=True)]
    return line


def target_added(row: TargetRow, *, updated: bool) -> Message:
    line = [
        rich.text("✅ HostedScan " + ("updated" if updated else "added") + " the target "),
        *_target_line(row),
        rich.text(". Scan it with "),
        rich.value(f"/scans run <type> id:{row.target_id}", kit.TARGET_CHARS, code=True),
        rich.text("."),
    ]
    return _message(line)


def target_exists(target: str, reason: str | None, upsert_value: str | None) -> Message:
    """HostedScan refused a new target (most likely it exists): offer to update it instead."""
    line = [
        rich.text("HostedScan refused to add "),
        rich.value(target, kit.TARGET_CHARS, code=True),
    ]
    if reason:
        line += [rich.text(": "), rich.value(reason, kit.REASON_CHARS)]
    line.append(rich.text("."))
    blocks: list[Block] = [rich.paragraph(line)]
    if upsert_value is not None:
        line.append(rich.text(" If it exists already, its label and tags can be set instead."))
        blocks = [
            rich.paragraph(line),
            kit.actions_row(
                kit.button("Update the existing target", actions.TARGET_UPSERT, 0, upsert_value)
            ),
        ]
    return kit.message(kit.fallback(line), blocks)


def report_value(report_id: str, report_format: str) -> str:
    return actions.compact_json({"r": report_id, "f": report_format})


def _report_words(asked: Sequence[str]) -> rich.Line:
    """ " (openvas, tag:prod)": what the report covers, in the words typed."""
    if not asked:
        return []
    return [rich.text(" ("), rich.value(", ".join(asked), kit.TARGET_CHARS), rich.text(")")]


def report_preparing(report_format: str, user_id: str, asked: Sequence[str]) -> Message:
    """Posted at once in the channel, edited when the file is there (or is not in time)."""
    line = [
        rich.text(f"⏳ HostedScan is preparing a {report_format} report of open risks"),
        *_report_words(asked),
        rich.text(", asked by "),
        rich.user(user_id),
        rich.text("…"),
    ]
    return _message(line)


def report_ready(report_format: str, user_id: str, asked: Sequence[str]) -> Message:
    line = [
        rich.text(f"📄 The {report_format} report of open risks"),
        *_report_words(asked),
        rich.text(", asked by "),
        rich.user(user_id),
        rich.text(", is below."),
    ]
    return _message(line)


def report_late(
    report_format: str, report_id: str, seconds: float, asked: Sequence[str]
) -> Message:
    """Not ready in time: said, with a button that looks again (no second report asked)."""
    line = [
        rich.text(f"⌛ HostedScan had not finished the {report_format} report"),
        *_report_words(asked),
        rich.text(
            f" after {round(seconds)} seconds. Retry looks for it again; nothing new is asked."
        ),
    ]
    retry = kit.button("Retry", actions.REPORT_RETRY, 0, report_value(report_id, report_format))
    return kit.message(kit.fallback(line), [rich.paragraph(line), kit.actions_row(retry)])


def report_comment(report_format: str) -> str:
    return f"HostedScan report ({report_format}), open risks"


def unknown_targets(values: Sequence[str]) -> Message:
    """`target:` values that match no HostedScan target; nothing was asked."""
    names = [[rich.value(v, kit.TARGET_CHARS, code=True)] for v in values[: kit.MAX_KINDS]]
    line = [
        rich.text("No HostedScan target is "),
        *rich.joined(names, ", "),
        rich.text(", so no report was asked for. `target:` takes a target id or its exact text; "),
        rich.text("/scans targets lists them."),
    ]
    return _message(line)
