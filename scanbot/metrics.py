"""What operators can graph: `GET /metrics` in Prometheus' text format (prometheus_client),
one registry per process. Calls to HostedScan and Slack are counted where they leave (an
httpx transport, the Slack client's one `api_call`); the alert pipeline reports to it."""

from __future__ import annotations

import time
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds: calls take milliseconds to seconds; alerts a poll interval or more.
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LATENCY_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120, 300, 600)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.poll_cycles = Counter(
            "scanbot_poll_cycles", "Poll cycles run, by outcome", ["outcome"], registry=registry
        )
        self.poll_seconds = Histogram(
            "scanbot_poll_cycle_seconds",
            "Poll cycle wall time",
            registry=registry,
            buckets=(*CALL_BUCKETS, 60, 120),
        )
        self.skipped_runs = Counter(
            "scanbot_poll_runs_skipped",
            "Scheduled polls skipped because the previous one still ran",
            registry=registry,
        )
        self.alerts = Counter(
            "scanbot_alerts",
            "Alerts by what happened to them: queued, sent, parked, held, retried, adopted "
            "(a post whose answer was lost, found in Slack instead of posted again)",
            ["event"],
            registry=registry,
        )
        self.alert_latency = Histogram(
            "scanbot_alert_latency_seconds",
            "From the alert's observation to Slack accepting it",
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.parent_edits = Counter(
            "scanbot_parent_edits", "Parent cards edited", registry=registry
        )
        self.outbox = Gauge(
            "scanbot_outbox_rows", "Outbox rows by status", ["status"], registry=registry
        )
        self.outbox_oldest = Gauge(
            "scanbot_outbox_oldest_due_seconds",
            "Age of the oldest row waiting to be sent (0: none)",
            registry=registry,
        )
        self.hostedscan_calls = Counter(
            "scanbot_hostedscan_requests",
            "HostedScan requests by outcome",
            ["outcome"],
            registry=registry,
        )
        self.hostedscan_seconds = Histogram(
            "scanbot_hostedscan_request_seconds",
            "HostedScan request time",
            registry=registry,
            buckets=CALL_BUCKETS,
        )
        self.slack_calls = Counter(
            "scanbot_slack_calls",
            "Slack Web API calls by method and outcome",
            ["method", "outcome"],
            registry=registry,
        )
        self.slack_seconds = Histogram(
            "scanbot_slack_call_seconds",
            "Slack Web API call time",
            ["method"],
            registry=registry,
            buckets=CALL_BUCKETS,
        )
        self.webhooks = Gauge(
            "scanbot_webhook_queue",
            "Webhook events: waiting now, and counts since start",
            ["what"],
            registry=registry,
        )
        self.reads_shared = Gauge(
            "scanbot_command_reads",
            "Command reads: fetched, or shared with an identical one",
            ["how"],
            registry=registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


def outcome_of_status(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "client_error"


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts and times every request to HostedScan (retries each count once)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            self._metrics.hostedscan_calls.labels("timeout").inc()
            raise
        except httpx.TransportError:
            self._metrics.hostedscan_calls.labels("connection").inc()
            raise
        finally:
            self._metrics.hostedscan_seconds.observe(time.perf_counter() - started)
        self._metrics.hostedscan_calls.labels(outcome_of_status(response.status_code)).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class MeteredWebClient(AsyncWebClient):
    """slack_sdk's client, each Web API call counted by method and outcome, and timed."""

    metrics: Metrics | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        metrics = self.metrics
        if metrics is None:
            return await super().api_call(api_method, **kwargs)
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await super().api_call(api_method, **kwargs)
        except Exception as exc:  # counted, then on to the notifier, which reads Slack's errors
            answer = getattr(exc, "response", None)  # Slack answered: its error code
            if isinstance(answer, AsyncSlackResponse):
                outcome = str(answer.get("error") or "error")[:40]
            else:
                outcome = "timeout" if isinstance(exc, TimeoutError) else "no_answer"
            raise
        finally:
            metrics.slack_calls.labels(api_method, outcome).inc()
            metrics.slack_seconds.labels(api_method).observe(time.perf_counter() - started)
