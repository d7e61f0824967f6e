"""What people look at from an alert thread, fetched from HostedScan when asked: the scan as
it is now (Refresh), its new risks, one risk's window, the report file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from scanbot.alerts.risks import RiskDetails
from scanbot.domain.clock import utcnow
from scanbot.domain.events import RiskDetail
from scanbot.domain.scans import ScanSummary
from scanbot.domain.severity import most_severe_first
from scanbot.domain.threads import AlertThread
from scanbot.hostedscan import HostedScanClient, HostedScanError, Scan
from scanbot.slack import sentences
from scanbot.slack.notifier import SlackFailure
from scanbot.slack.sentences import code
from scanbot.triage.thread import (
    Outcome,
    ThreadVoice,
    TriageRenderer,
    boundary,
    slack_failed,
    tracked,
)

log = logging.getLogger(__name__)

# Report kinds, best first: what a person can open from Slack.
REPORT_KINDS = (("application/pdf", "pdf", "PDF"), ("text/html", "html", "HTML"))


class Lookups:
    def __init__(
        self,
        voice: ThreadVoice,
        hostedscan: HostedScanClient,
        risk_details: RiskDetails,
        *,
        render: TriageRenderer,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.voice = voice
        self._store = voice.store
        self._hostedscan = hostedscan
        self._risk_details = risk_details
        self._render = render
        self._clock = clock

    @tracked
    async def refresh(self, thread: AlertThread, user_id: str) -> Outcome:
        """Fetch the scan and store it as the threads' summary (unless a newer one is stored:
        `Threads.store_summary`), then redraw the parent from what is stored, so every later
        redraw starts from it and the card never goes backwards."""
        scan = await self._scan(thread.scan_id)
        if isinstance(scan, Outcome):
            return scan
        # Dated when the answer was in hand, as the poller dates what it observes.
        await self._store.threads.store_summary(ScanSummary.of(scan), self._clock())
        if not await self.voice.edit_parent(thread):
            return Outcome(False, sentences.PARENT_NOT_UPDATED)
        await self._record(thread, user_id, "refresh", scan.state)
        return Outcome(True)

    @tracked
    async def show_risks(self, thread: AlertThread, user_id: str) -> Outcome:
        scan = await self._scan(thread.scan_id)
        if isinstance(scan, Outcome):
            return scan
        ids = [ref.risk_id for ref in scan.risks.new_open]
        if not ids:
            return Outcome(False, sentences.no_new_risks(thread.scan_id))
        details = await self._risk_details.fetch({scan.type: ids})
        risks = sorted(
            (details.get(risk_id) or RiskDetail(risk_id=risk_id) for risk_id in ids),
            key=most_severe_first,
        )
        message = self._render.risks_list(ScanSummary.of(scan), risks, len(ids))
        try:
            await self.voice.reply(thread, message)
        except SlackFailure as failure:
            return slack_failed(failure, "list the risks in the thread")
        await self._record(thread, user_id, "risks", f"{len(ids)} new")
        return Outcome(True)

    @boundary
    async def open_risk(self, trigger_id: str, risk_id: str) -> Outcome:
        # The trigger id lives 3 s, HostedScan may take longer: open a window first, fill later.
        slack = self.voice.slack
        try:
            view_id = await slack.open_view(trigger_id, self._render.risk_modal_loading(risk_id))
        except SlackFailure as failure:
            return slack_failed(failure, "open the risk window")
        try:
            view = self._render.risk_modal(await self._hostedscan.get_risk(risk_id))
        except HostedScanError as exc:
            log.warning("risk %.40s unavailable: %s", risk_id, exc)
            reason = sentences.lookup_failed(exc, f"risk {code(risk_id)}")
            view = self._render.risk_modal_unavailable(risk_id, reason)
        try:
            await slack.update_view(view_id, view)
        except SlackFailure as failure:
            return slack_failed(failure, "show the risk")
        return Outcome(True)

    @tracked
    async def report(self, thread: AlertThread, user_id: str) -> Outcome:
        scan_id, channel_id = thread.scan_id, thread.channel_id
        scan = await self._scan(scan_id)
        if isinstance(scan, Outcome):
            return scan
        now = self._clock()
        chosen = report_file(scan)
        if chosen is None:
            try:
                await self.voice.reply(thread, self._render.report_missing(scan_id))
            except SlackFailure as failure:
                return slack_failed(failure, "reply in the thread")
            await self._record(thread, user_id, "report", "none", now)
            return Outcome(True)
        result_id, content_type, extension, kind = chosen
        try:
            result = await self._hostedscan.get_result(result_id)
        except HostedScanError as exc:
            log.warning("report of %s unavailable: %s", scan_id, exc)
            what = f"the report of scan {code(scan_id)}"
            return Outcome(False, sentences.lookup_failed(exc, what))
        try:
            await self.voice.slack.upload_file(
                channel_id,
                result.content,
                filename=f"scanbot-{scan_id}.{extension}",
                title=f"HostedScan report of scan {scan_id} ({kind})",
                comment=self._render.report_comment(scan_id, content_type, user_id),
                thread_ts=thread.parent_ts,
            )
        except SlackFailure as failure:
            return slack_failed(failure, "upload the report")
        detail = f"{kind}, {len(result.content)} bytes"
        await self._record(thread, user_id, "report", detail, now)
        log.info("uploaded the %s report of %s to %s (%s)", kind, scan_id, channel_id, detail)
        return Outcome(True)

    async def _record(
        self,
        thread: AlertThread,
        user_id: str,
        action: str,
        detail: str,
        at: datetime | None = None,
    ) -> None:
        """The audit trail's line for a look (nothing in the thread's state changed)."""
        await self._store.triage.record(
            thread.scan_id, thread.channel_id, user_id, action, detail, at or self._clock()
        )

    async def _scan(self, scan_id: str) -> Scan | Outcome:
        try:
            return await self._hostedscan.get_scan(scan_id)
        except HostedScanError as exc:
            log.warning("scan %s unavailable: %s", scan_id, exc)
            return Outcome(False, sentences.lookup_failed(exc, f"scan {code(scan_id)}"))


def report_file(scan: Scan) -> tuple[str, str, str, str] | None:
    """(result id, content type, file extension, kind) of the best report, or None."""
    for content_type, extension, kind in REPORT_KINDS:
        for result in scan.results:
            if result.content_type.split(";")[0].strip().lower() == content_type:
                return result.result_id, content_type, extension, kind
    return None
