"""Acting on HostedScan for a person in Slack: `/scans run` (a confirmation, then one POST),
Re-scan (one POST per scan, whoever clicks), the audit, and telling a starter when their
scan finished.

Every action that spends the customer's plan is checked (`Permissions`), recorded before
HostedScan is asked (`store.operations.begin`, under a once-only key and the per-user run
limit) and closed with HostedScan's answer. A method never raises: it answers a message
for the person, one sentence when something failed; the log gets the cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scanbot.domain.clock import utcnow
from scanbot.domain.operations import (
    Begun,
    Operation,
    OperationKind,
    OperationStatus,
    OverRunLimit,
    RunPlan,
    RunTarget,
    TargetRow,
)
from scanbot.domain.scans import FINAL_STATES
from scanbot.hostedscan import (
    BadRequest,
    HostedScanClient,
    InvalidScanId,
    NotFound,
    RateLimited,
    Scan,
    Unauthorized,
    Unavailable,
    validate_scan_id,
)
from scanbot.hostedscan.errors import HostedScanError, InvalidRequest, OutcomeUnknown
from scanbot.hostedscan.models import ReportFile, ScanState, Target, parse_time
from scanbot.scans.parse import (
    AddTarget,
    BadTargets,
    ListTargets,
    MakeReport,
    OperationCommand,
    OperationUsage,
    RunScan,
    ShowAudit,
)
from scanbot.slack import actions, kit, sentences
from scanbot.slack.cards import operations as cards
from scanbot.slack.kit import Message
from scanbot.slack.notifier import Notifier, SlackFailure
from scanbot.slack.payloads import RunForm, parse_run_metadata
from scanbot.slack.permissions import Permissions
from scanbot.store import Store

log = logging.getLogger(__name__)

View = dict[str, Any]
DEFAULT_DEADLINE = 12.0
MAX_RESOLVED = 1000  # targets counted for one tag's confirmation; beyond, "1000+" is enough
FINISH_BATCH = 200
# How long a started scan is watched for its end (and a re-run for its thread): one that
# has not finished by then (deleted, or stuck) stops costing a look every delivery round.
WATCH_WINDOW = timedelta(days=7)
DEFAULT_REPORT_WAIT = 90.0
REPORT_FIRST_PAUSE = 0.5
REPORT_MAX_PAUSE = 10.0
MAX_RISKS_COUNTED = 5000  # risks read for one screen of targets' counts
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Caller:
    """Who asked, from where (Slack's fields, not a button's value)."""

    user_id: str
    team_id: str
    channel_id: str
    trigger_id: str = ""


class Operations:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        hostedscan: HostedScanClient,
        permissions: Permissions,
        *,
        seal_key: bytes,
        run_limit: int,
        clock: Callable[[], datetime] = utcnow,
        deadline: float = DEFAULT_DEADLINE,
        report_wait: float = DEFAULT_REPORT_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._hostedscan = hostedscan
        self._permissions = permissions
        self._seal_key = seal_key
        self._run_limit = run_limit
        self._clock = clock
        self._deadline = deadline
        self._report_wait = report_wait
        self._sleep = sleep

    # --- commands ----------------------------------------------------------------------

    async def command(self, command: OperationCommand, caller: Caller) -> Message | None:
        """The answer to an operation sub-command; None when a modal opened instead, or a
        report was posted in the channel."""
        if isinstance(command, MakeReport):  # waits for the file longer than a command's deadline
            return await self.report(command, caller)
        try:
            async with asyncio.timeout(self._deadline):
                return await self._command(command, caller)
        except Exception as exc:  # the boundary of one request: never let it escape
            return _failure(exc)

    async def _command(self, command: OperationCommand, caller: Caller) -> Message | None:
        if isinstance(command, OperationUsage):
            return cards.usage(command)
        if isinstance(command, ShowAudit):
            return await self.audit(command.offset, caller)
        if isinstance(command, ListTargets):
            return await self.targets(command.text, command.offset, caller)
        refusal = await self._permissions.operator_refusal(caller.user_id, caller.team_id)
        if refusal is not None:
            return kit.sentence(refusal)
        if isinstance(command, BadTargets):
            return cards.bad_targets(command.problems)
        if isinstance(command, RunScan):
            return await self._open_run(command, caller)
        if isinstance(command, AddTarget):
            return await self._add_target(command, caller, upsert=False)
        raise NotImplementedError(type(command).__name__)

    async def audit(self, offset: int, caller: Caller) -> Message:
        """A page of the audit, for admins only."""
        refusal = await self._permissions.admin_refusal(caller.user_id, caller.team_id)
        if refusal is not None:
            return kit.sentence(refusal)
        rows, total = await self._store.operations.page(offset=offset, limit=cards.AUDIT_PAGE)
        return cards.audit_page(rows, offset, total)

    async def viewer_refusal(self, caller: Caller) -> str | None:
        """Why this person may not see HostedScan's data (a guest), or None."""
        return await self._permissions.viewer_refusal(caller.user_id, caller.team_id)

    # --- targets -------------------------------------------------------------------------

    async def targets(self, text: str | None, offset: int, caller: Caller) -> Message:
        """A screen of HostedScan's targets (those whose target or label has `text`), with
        their open risks and newest detection; anyone but guests may look."""
        refusal = await self._permissions.viewer_refusal(caller.user_id, caller.team_id)
        if refusal is not None:
            return kit.sentence(refusal)
        try:
            async with asyncio.timeout(self._deadline):
                rows, more = await self._target_rows(text, offset)
        except Exception as exc:  # the boundary of one request
            return _failure(exc)
        return cards.targets_page(rows, text, offset, more=more)

    async def _target_rows(self, text: str | None, offset: int) -> tuple[list[TargetRow], bool]:
        page: list[Target] = []
        more = False
        async with contextlib.aclosing(self._hostedscan.list_targets(text=text)) as targets:
            position = 0
            async for target in targets:
                if position >= offset:
                    if len(page) == cards.TARGETS_PAGE:
                        more = True
                        break
                    page.append(target)
                position += 1
        if not page:
            return [], False
        counts: dict[str, int] = {}
        latest: dict[str, datetime] = {}
        ids = [t.id for t in page]
        async with contextlib.aclosing(self._hostedscan.list_risks(target_ids=ids)) as risks:
            seen = 0
            async for risk in risks:
                seen += 1
                if risk.status == "OPEN":
                    counts[risk.target_id] = counts.get(risk.target_id, 0) + 1
                found = parse_time(risk.detected_at)
                if found is not None and found > latest.get(risk.target_id, found - _TICK):
                    latest[risk.target_id] = found
                if seen >= MAX_RISKS_COUNTED:
                    break
        rows = [
            TargetRow(
                target_id=t.id,
                target=t.target,
                label=t.label,
                tags=tuple(t.tags),
                open_risks=counts.get(t.id, 0),
                last_detected=latest.get(t.id),
            )
            for t in page
        ]
        return rows, more

    async def _add_target(self, command: AddTarget, caller: Caller, *, upsert: bool) -> Message:
        """POST /v1/targets, audited; a duplicate refused offers to update it (upsert)."""
        request: dict[str, Any] = {"target": command.target, "upsert": upsert}
        if command.label is not None:
            request["label"] = command.label
        if command.tags:
            request["tags"] = list(command.tags)
        begun = await self._record(caller, OperationKind.TARGET_ADD, request)
        operation = begun.operation
        try:
            target = await self._hostedscan.create_target(
                command.target, command.label, command.tags, upsert=upsert
            )
        except BadRequest as exc:
            await self._finish(operation, OperationStatus.REFUSED, exc.reason or "")
            value = (
                None
                if upsert
                else actions.upsert_value(command.target, command.label, command.tags)
            )
            return cards.target_exists(command.target, exc.reason, value)
        except OutcomeUnknown as exc:
            await self._finish(operation, OperationStatus.UNKNOWN, exc.__class__.__name__)
            return kit.sentence(sentences.TARGET_OUTCOME_UNKNOWN)
        except HostedScanError as exc:
            await self._finish(operation, OperationStatus.FAILED, exc.__class__.__name__)
            return kit.sentence(_sentence(exc))
        await self._finish(operation, OperationStatus.DONE, target.target, target.id)
        row = TargetRow(
            target_id=target.id, target=target.target, label=target.label, tags=tuple(target.tags)
        )
        return cards.target_added(row, updated=upsert)

    async def upsert_target(self, command: AddTarget, caller: Caller) -> Message:
        """The "Update the existing target" button: the same target, with upsert."""
        try:
            async with asyncio.timeout(self._deadline):
                refusal = await self._permissions.operator_refusal(caller.user_id, caller.team_id)
                if refusal is not None:
                    return kit.sentence(refusal)
                return await self._add_target(command, caller, upsert=True)
        except Exception as exc:  # the boundary of one click
            return _failure(exc)

    # --- reports -------------------------------------------------------------------------

    async def report(self, command: MakeReport, caller: Caller) -> Message | None:
        """POST /v1/reports, a message in the channel that it is being prepared, then the
        file uploaded there and the message edited; late: a Retry button instead."""
        try:
            async with asyncio.timeout(self._deadline):
                refusal = await self._permissions.operator_refusal(caller.user_id, caller.team_id)
                if refusal is not None:
                    return kit.sentence(refusal)
                targets_filter, missing = await self._report_targets(command)
            if missing:
                return cards.unknown_targets(missing)
            return await self._report(command, caller, targets_filter)
        except Exception as exc:  # the boundary of one request
            return _failure(exc)

    async def _record(self, caller: Caller, kind: OperationKind, request: dict[str, Any]) -> Begun:
        """An action without a once-only key or a run limit: always recorded."""
        begun = await self._store.operations.begin(
            key=None,
            user_id=caller.user_id,
            kind=kind,
            channel_id=caller.channel_id,
            request=request,
            at=self._clock(),
        )
        assert isinstance(begun, Begun)  # no key, no run limit: nothing can refuse it
        return begun

    async def report_for_scan(self, scan_id: str, caller: Caller) -> Message | None:
        """ "Report for these targets" on a scan's card: a PDF of their open risks."""
        try:
            async with asyncio.timeout(self._deadline):
                refusal = await self._permissions.operator_refusal(caller.user_id, caller.team_id)
                if refusal is not None:
                    return kit.sentence(refusal)
                scan = await self._hostedscan.get_scan(validate_scan_id(scan_id))
            ids = [t.target_id for t in scan.requested_targets if t.target_id]
            if not ids:
                return kit.sentence(sentences.REPORT_NO_TARGETS)
            command = MakeReport(targets=tuple(dict.fromkeys(ids)))
            return await self._report(command, caller, {"target_ids": list(command.targets)})
        except Exception as exc:  # the boundary of one click
            return _failure(exc)

    async def _report_targets(
        self, command: MakeReport
    ) -> tuple[dict[str, list[str]] | None, list[str]]:
        """The report's targets_filter: tags as given, `target:` values as target ids (an id,
        or a target's exact text), and the values that matched no target."""
        if command.tags:
            return {"tag": list(command.tags)}, []
        if not command.targets:
            return None, []
        ids: list[str] = []
        missing: list[str] = []
        for value in command.targets:
            found = await self._target_id(value)
            if found is None:
                missing.append(value)
            else:
                ids.append(found)
        return {"target_ids": list(dict.fromkeys(ids))}, missing

    async def _target_id(self, value: str) -> str | None:
        try:
            return (await self._hostedscan.get_target(validate_scan_id(value, "target"))).id
        except (InvalidScanId, NotFound):
            pass
        wanted = value.casefold()
        async with contextlib.aclosing(self._hostedscan.list_targets(text=value)) as targets:
            async for target in targets:
                if target.target.casefold() == wanted:
                    return target.id
        return None

    async def _report(
        self, command: MakeReport, caller: Caller, targets_filter: dict[str, list[str]] | None
    ) -> Message | None:
        asked = _report_asked(command)
        preparing = cards.report_preparing(command.report_format, caller.user_id, asked)
        ts = await self._post_ts(caller.channel_id, preparing)
        if ts is None:
            return kit.sentence(sentences.REPORT_CANNOT_POST)
        risks_filter: dict[str, list[str]] = {"status": ["OPEN"]}
        if command.types:
            risks_filter["risk_definition.scan_type"] = list(command.types)
        if command.threat_levels:
            risks_filter["risk_definition.threat_level"] = list(command.threat_levels)
        request: dict[str, Any] = {"report_format": command.report_format, **risks_filter}
        if targets_filter:
            request.update(targets_filter)
        begun = await self._record(caller, OperationKind.REPORT, request)
        try:
            async with asyncio.timeout(self._deadline):
                report_id = await self._hostedscan.create_report(
                    command.report_format, targets_filter, risks_filter
                )
        except Exception as exc:
            status = (
                OperationStatus.REFUSED if isinstance(exc, BadRequest) else OperationStatus.FAILED
            )
            if isinstance(exc, OutcomeUnknown):
                status = OperationStatus.UNKNOWN
            await self._finish(
                begun.operation, status, getattr(exc, "reason", None) or exc.__class__.__name__
            )
            failure = (
                cards.refused("the report", exc.reason)
                if isinstance(exc, BadRequest)
                else _failure(exc)
            )
            await self._update(caller.channel_id, ts, failure)
            return None
        await self._finish(begun.operation, OperationStatus.DONE, "asked", report_id)
        await self._deliver_report(report_id, command.report_format, caller, ts, asked)
        return None

    async def _deliver_report(
        self, report_id: str, report_format: str, caller: Caller, ts: str, asked: list[str]
    ) -> None:
        """Wait (bounded) for the file, upload it, and edit the message either way."""
        report = await self._wait_for_report(report_id)
        if report is None:
            late = cards.report_late(report_format, report_id, self._report_wait, asked)
            await self._update(caller.channel_id, ts, late)
            return
        extension = "pdf" if report_format == "PDF" else "html"
        try:
            await self._notifier.upload_file(
                caller.channel_id,
                report.content,
                filename=f"hostedscan-report-{report_id}.{extension}",
                title=f"HostedScan report ({report_format})",
                comment=cards.report_comment(report_format),
            )
        except SlackFailure as failure:
            log.warning("could not upload report %s: %s", report_id, failure.error)
            await self._update(caller.channel_id, ts, kit.sentence(sentences.REPORT_NOT_UPLOADED))
            return
        log.info(
            "uploaded report %s (%d bytes) to %s", report_id, len(report.content), caller.channel_id
        )
        await self._update(
            caller.channel_id, ts, cards.report_ready(report_format, caller.user_id, asked)
        )

    async def _wait_for_report(self, report_id: str) -> ReportFile | None:
        """GET /v1/reports/:id with a growing pause, for at most the report wait."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self._report_wait
        pause = REPORT_FIRST_PAUSE
        while True:
            try:
                report = await self._hostedscan.get_report(report_id)
            except HostedScanError as exc:
                log.warning("report %s not fetched: %s", report_id, exc.__class__.__name__)
                report = None
            if report is not None:
                return report
            left = end - loop.time()
            if left <= 0:
                return None
            await self._sleep(min(pause, left))
            pause = min(pause * 2, REPORT_MAX_PAUSE)

    async def retry_report(
        self, report_id: str, report_format: str, caller: Caller, message_ts: str
    ) -> Message | None:
        """Retry on a late report: look for the same report again (nothing new asked)."""
        try:
            async with asyncio.timeout(self._deadline):
                refusal = await self._permissions.operator_refusal(caller.user_id, caller.team_id)
            if refusal is not None:
                return kit.sentence(refusal)
            preparing = cards.report_preparing(report_format, caller.user_id, [])
            await self._update(caller.channel_id, message_ts, preparing)
            await self._deliver_report(report_id, report_format, caller, message_ts, [])
        except Exception as exc:  # the boundary of one click
            return _failure(exc)
        return None

    async def _post_ts(self, channel: str, message: Message) -> str | None:
        try:
            return await self._notifier.notice(channel, message) or None
        except SlackFailure as failure:
            log.warning("could not post in %s: %s", channel, failure.error)
            return None

    async def _update(self, channel: str, ts: str, message: Message) -> None:
        try:
            await self._notifier.edit(channel, ts, message)
        except SlackFailure as failure:
            log.warning("could not edit the report message: %s", failure.error)

    # --- /scans run: the confirmation ---------------------------------------------------

    async def _open_run(self, command: RunScan, caller: Caller) -> Message | None:
        over = await self._store.operations.run_limit_reached(
            caller.user_id, self._clock(), self._run_limit
        )
        if over is not None:
            return cards.over_run_limit(over.limit, over.resets_at)
        field, values = _chosen(command)
        form = RunForm(
            command.scan_type,
            field,
            values,
            caller.channel_id,
            caller.user_id,
            secrets.token_urlsafe(12),
        )
        metadata = self._seal(form)
        if len(metadata) > kit.PRIVATE_METADATA:
            return kit.sentence(sentences.TARGETS_TOO_LONG)
        plan = RunPlan(scan_type=command.scan_type, field=field, values=values)
        try:
            if field == "targets":
                shown = tuple(RunTarget(target=value) for value in values)
                view = cards.run_view(plan.model_copy(update={"shown": shown}), metadata)
                await self._notifier.open_view(caller.trigger_id, view)
                return None
            view_id = await self._notifier.open_view(caller.trigger_id, cards.run_loading_view())
        except SlackFailure as failure:
            log.warning("could not open the run confirmation: %s", failure.error)
            return kit.sentence(sentences.SLACK_FAILED)
        try:
            view = cards.run_view(await self._resolve(plan), metadata)
        except HostedScanError as exc:
            view = cards.run_unavailable_view(_sentence(exc))
        try:
            await self._notifier.update_view(view_id, view)
        except SlackFailure as failure:
            log.warning("could not show the run confirmation: %s", failure.error)
        return None

    async def _resolve(self, plan: RunPlan) -> RunPlan:
        """The targets the ids or tags name, from GET /v1/targets."""
        found: list[RunTarget] = []
        missing: list[str] = []
        if plan.field == "target_ids":
            for target_id in plan.values:
                try:
                    target = await self._hostedscan.get_target(target_id)
                except NotFound:
                    missing.append(target_id)
                    continue
                found.append(RunTarget(target=target.target, label=target.label))
        else:
            wanted = set(plan.values)
            seen: set[str] = set()
            async for target in self._hostedscan.list_targets({"tags": list(plan.values)}):
                if wanted.isdisjoint(target.tags) or len(found) >= MAX_RESOLVED:
                    continue
                seen.update(wanted.intersection(target.tags))
                found.append(RunTarget(target=target.target, label=target.label))
            missing = [tag for tag in plan.values if tag not in seen]
        return plan.model_copy(update={"shown": tuple(found), "missing": tuple(missing)})

    def _seal(self, form: RunForm) -> str:
        payload = {
            "v": actions.RUN_METADATA_VERSION,
            "t": form.scan_type,
            "f": form.field,
            "x": list(form.values),
            "c": form.channel_id,
            "u": form.user_id,
            "n": form.nonce,
        }
        return actions.seal(actions.compact_json(payload), self._seal_key)

    def run_form(self, private_metadata: str) -> RunForm | None:
        """The confirmation's content if scanbot sealed it; None for anything else."""
        try:
            return parse_run_metadata(private_metadata, key=self._seal_key)
        except ValueError:
            return None

    # --- /scans run: the submission -----------------------------------------------------

    async def confirm_run(
        self, form: RunForm, user_id: str, team_id: str, *, use_authentication: bool
    ) -> Message:
        """Start the confirmed scan, once per form however often it is submitted."""
        try:
            refusal = await self._permissions.operator_refusal(user_id, team_id)
            if refusal is not None:
                return kit.sentence(refusal)
            request = {
                "type": form.scan_type,
                form.field: list(form.values),
                "use_authentication": use_authentication,
            }
            begun = await self._store.operations.begin(
                key=f"run:{form.nonce}",
                user_id=user_id,
                kind=OperationKind.RUN,
                channel_id=form.channel_id,
                request=request,
                at=self._clock(),
                run_limit=self._run_limit,
            )
            if isinstance(begun, OverRunLimit):
                return cards.over_run_limit(begun.limit, begun.resets_at)
            if not begun.created:
                return _earlier(begun.operation)
            scan = await self._start(
                begun.operation,
                form.scan_type,
                {form.field: list(form.values)},
                use_authentication=use_authentication,
            )
            if not isinstance(scan, Scan):
                return scan
            return cards.started(scan.id, scan.type or form.scan_type)
        except Exception as exc:  # the boundary of one submission
            return _failure(exc)

    async def _start(
        self,
        operation: Operation,
        scan_type: str,
        targets: dict[str, list[str]],
        *,
        use_authentication: bool,
    ) -> Scan | Message:
        """POST /v1/scans for a recorded operation, and record HostedScan's answer."""
        status, answer, reply = OperationStatus.FAILED, "", None
        try:
            scan = await self._hostedscan.start_scan(
                scan_type,
                targets=targets.get("targets"),
                target_ids=targets.get("target_ids"),
                tags=targets.get("tags"),
                use_authentication=use_authentication,
            )
        except BadRequest as exc:
            status, answer = OperationStatus.REFUSED, exc.reason or ""
            reply = cards.refused("the scan", exc.reason)
        except OutcomeUnknown as exc:
            status, answer = OperationStatus.UNKNOWN, exc.__class__.__name__
            reply = kit.sentence(sentences.OUTCOME_UNKNOWN)
        except HostedScanError as exc:
            answer = exc.__class__.__name__
            reply = kit.sentence(_sentence(exc))
        except Exception:
            await self._finish(operation, OperationStatus.UNKNOWN, "scanbot failed")
            raise
        else:
            await self._finish(operation, OperationStatus.DONE, scan.state, scan.id)
            log.info("started scan %s (%s) for %s", scan.id, scan_type, operation.user_id)
            return scan
        log.warning("starting a %s scan failed: %s %s", scan_type, status.value, answer[:80])
        await self._finish(operation, status, answer)
        return reply

    async def _finish(
        self, operation: Operation, status: OperationStatus, answer: str, made: str | None = None
    ) -> None:
        await self._store.operations.finish(
            operation.id, status, at=self._clock(), answer=answer, hostedscan_id=made
        )

    # --- Re-scan ------------------------------------------------------------------------

    async def rescan(self, scan_id: str, caller: Caller) -> Message:
        """Re-run a finished scan: its type on its targets, once however many click."""
        try:
            async with asyncio.timeout(self._deadline):
                return await self._rescan(scan_id, caller)
        except Exception as exc:  # the boundary of one click
            return _failure(exc)

    async def _rescan(self, scan_id: str, caller: Caller) -> Message:
        refusal = await self._permissions.operator_refusal(caller.user_id, caller.team_id)
        if refusal is not None:
            return kit.sentence(refusal)
        old = await self._hostedscan.get_scan(validate_scan_id(scan_id))
        if old.state not in FINAL_STATES:
            return kit.sentence(sentences.RESCAN_NOT_FINISHED)
        targets = _rerun_targets(old)
        if targets is None:
            return kit.sentence(sentences.RESCAN_NO_TARGETS)
        field, values = targets
        begun = await self._store.operations.begin(
            key=f"rescan:{old.id}",
            user_id=caller.user_id,
            kind=OperationKind.RESCAN,
            channel_id=caller.channel_id,
            request={"rescan_of": old.id, "type": old.type, field: values},
            at=self._clock(),
            run_limit=self._run_limit,
        )
        if isinstance(begun, OverRunLimit):
            return cards.over_run_limit(begun.limit, begun.resets_at)
        if not begun.created:
            return _earlier(begun.operation)
        scan = await self._start(
            begun.operation, old.type, {field: values}, use_authentication=False
        )
        if not isinstance(scan, Scan):
            return scan
        thread = await self._store.threads.get(old.id, caller.channel_id)
        if thread is not None:
            await self._post(
                thread.channel_id,
                cards.rescanned(old.id, scan.id, caller.user_id),
                thread.parent_ts,
            )
        return cards.started(scan.id, scan.type or old.type, rescan_of=old.id)

    async def _post(self, channel: str, message: Message, thread_ts: str | None = None) -> bool:
        try:
            await self._notifier.notice(channel, message, thread_ts=thread_ts)
        except SlackFailure as failure:
            log.warning("could not post in %s: %s", channel, failure.error)
            return False
        return True

    async def _direct(self, user_id: str, message: Message) -> bool:
        try:
            await self._notifier.direct(user_id, message)
        except SlackFailure as failure:
            log.warning("could not tell %s in a DM: %s", user_id, failure.error)
            return False
        return True

    # --- telling the starter -------------------------------------------------------------

    async def notify_finished(self) -> int:
        """After each delivery round: link each re-run's new thread to the scan it re-runs,
        and tell each starter whose scan finished. Each once (a conditional mark)."""
        return await self._link_reruns() + await self._tell_finished_scans()

    async def _link_reruns(self) -> int:
        linked = 0
        since = self._clock() - WATCH_WINDOW
        waiting = await self._store.operations.awaiting_link(since=since, limit=FINISH_BATCH)
        for operation in waiting:
            new_id = operation.hostedscan_id or ""
            thread = await self._store.threads.get(new_id, operation.channel_id)
            if thread is None:
                continue  # no thread yet (or the channel is not subscribed to it)
            if not await self._store.operations.mark_linked(operation.id, self._clock()):
                continue
            old_id = str(operation.request.get("rescan_of", ""))
            message = cards.reruns(old_id, operation.user_id)
            linked += await self._post(thread.channel_id, message, thread.parent_ts)
        return linked

    async def _tell_finished_scans(self) -> int:
        """Mention each starter whose scan finished, in its alert thread if the channel has
        one, else privately; an OVER_LIMIT end explained."""
        since = self._clock() - WATCH_WINDOW
        waiting = await self._store.operations.awaiting_finish(since=since, limit=FINISH_BATCH)
        if not waiting:
            return 0
        snapshots = await self._store.snapshots.read([o.hostedscan_id or "" for o in waiting])
        told = 0
        for operation in waiting:
            snapshot = snapshots.get(operation.hostedscan_id or "")
            if snapshot is None or snapshot.summary.state not in FINAL_STATES:
                continue
            if not await self._store.operations.mark_notified(operation.id, self._clock()):
                continue
            summary = snapshot.summary
            told += await self._tell_finished(operation, summary.state, summary.type)
        return told

    async def _tell_finished(self, operation: Operation, state: str, scan_type: str) -> int:
        scan_id = operation.hostedscan_id or ""
        explanation = sentences.OVER_LIMIT_EXPLAINED if state == ScanState.OVER_LIMIT else ""
        message = cards.finished(operation.user_id, scan_id, scan_type, state, explanation)
        thread = await self._store.threads.get(scan_id, operation.channel_id)
        if thread is not None:
            return int(await self._post(thread.channel_id, message, thread.parent_ts))
        return int(await self._direct(operation.user_id, message))


def _chosen(command: RunScan) -> tuple[str, tuple[str, ...]]:
    if command.target_ids:
        return "target_ids", command.target_ids
    if command.tags:
        return "tags", command.tags
    return "targets", command.hosts


def _earlier(operation: Operation) -> Message:
    """The answer to a form submitted again, or a second Re-scan: what the first did."""
    if operation.status is OperationStatus.DONE and operation.hostedscan_id:
        return cards.already_started(operation.hostedscan_id)
    if operation.status in (OperationStatus.PENDING, OperationStatus.UNKNOWN):
        return kit.sentence(
            sentences.ALREADY_UNDER_WAY
            if operation.status is OperationStatus.PENDING
            else sentences.OUTCOME_UNKNOWN
        )
    return kit.sentence(sentences.FORM_USED)


def _sentence(exc: HostedScanError) -> str:
    if isinstance(exc, Unauthorized):
        return sentences.KEY_REJECTED
    if isinstance(exc, RateLimited):
        return sentences.HOSTEDSCAN_RATE_LIMITED
    if isinstance(exc, OutcomeUnknown):
        return sentences.OUTCOME_UNKNOWN
    if isinstance(exc, Unavailable):
        return sentences.HOSTEDSCAN_BUSY
    if isinstance(exc, InvalidScanId | InvalidRequest):
        return sentences.NOTHING_TO_SCAN
    reference = secrets.token_hex(4)
    log.error("HostedScan answer not usable (error reference %s)", reference, exc_info=exc)
    return sentences.refused_before_answer(reference)


def _failure(exc: Exception) -> Message:
    if isinstance(exc, TimeoutError):
        log.warning("an operation ran out of time")
        return kit.sentence(sentences.HOSTEDSCAN_BUSY)
    if isinstance(exc, HostedScanError):
        return kit.sentence(_sentence(exc))
    reference = secrets.token_hex(4)
    log.error("unexpected error (error reference %s)", reference, exc_info=exc)
    return kit.sentence(sentences.operation_failed_inside(reference))


def _report_asked(command: MakeReport) -> list[str]:
    """What the report covers, in the words typed (for the messages about it)."""
    words = [w.lower() for w in command.types] + [w.lower() for w in command.threat_levels]
    words += [f"target:{t}" for t in command.targets] + [f"tag:{t}" for t in command.tags]
    return words


def _rerun_targets(scan: Scan) -> tuple[str, list[str]] | None:
    """What a re-run posts: the old scan's requested target ids, else its targets as text."""
    ids = [t.target_id for t in scan.requested_targets if t.target_id]
    if ids:
        return "target_ids", list(dict.fromkeys(ids))
    texts = [t.target for t in scan.requested_targets if t.target]
    return ("targets", list(dict.fromkeys(texts))) if texts else None
