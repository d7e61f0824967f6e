"""HostedScan's webhooks for the sandbox: watch a world and post signed events when its scans move.

Like the real service, it pushes `{id, created_at, type, data}` signed with the endpoint's
secret; unlike it, it does not retry a refused delivery: the receiver's poll catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from datetime import UTC, datetime
from typing import Any, NamedTuple

import httpx

from scanbot.hostedscan.webhooks import signed_headers
from scanbot.sandbox.world import SandboxWorld

logger = logging.getLogger("scanbot.sandbox")

JSON = dict[str, Any]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _ScanView(NamedTuple):
    """The part of a scan whose change is a scan.updated event."""

    state: str | None
    progress: float | None


class WebhookSender:
    """Posts signed events to `url` for what changed in `world` since the last look.

    `types` are the event types the endpoint subscribes to (None: all of them).
    """

    def __init__(
        self,
        world: SandboxWorld,
        url: str,
        secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        clock_ms: Callable[[], int] = _now_ms,
        types: Collection[str] | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the webhook signing secret is empty")
        self._world = world
        self._url = url
        self._secret = secret
        self._http = http
        self._clock_ms = clock_ms
        self._types = None if types is None else frozenset(types)
        self._scans: dict[str, _ScanView] | None = None  # None until the first look
        self._risks: set[str] = set()
        self._lock = asyncio.Lock()

    async def emit_changes(self) -> list[JSON]:
        """Post an event for each change since the last call; return those accepted (2xx).

        The first call only takes in the world as it is, so a new sender sends no flood.
        """
        async with self._lock:
            events = self._changes()
            if not events:
                return []
            async with self._client() as http:
                return [event for event in events if await self._deliver(http, event)]

    async def run(self, every: float) -> None:
        """Emit the changes every `every` seconds until cancelled."""
        if self._http is not None:
            await self._every(every)
            return
        # One connection pool for the whole run, not one per look.
        async with httpx.AsyncClient(timeout=10.0) as http:
            self._http = http
            try:
                await self._every(every)
            finally:
                self._http = None

    async def _every(self, seconds: float) -> None:
        while True:
            await self.emit_changes()
            await asyncio.sleep(seconds)

    def _changes(self) -> list[JSON]:
        """The events for what changed since the last look, and remember what was seen."""
        scans = self._world.list_scans(None)
        first_look = self._scans is None
        before = self._scans or {}
        self._scans = {}
        events: list[JSON] = []
        for scan in scans:
            view = _ScanView(scan.get("state"), scan.get("progress"))
            self._scans[scan["id"]] = view
            if first_look:
                self._risks.update(_new_open(scan))
                continue
            if scan["id"] not in before:
                events.append(self._event("scan.created", scan))
            elif before[scan["id"]] != view:
                events.append(self._event("scan.updated", scan))
            events += self._new_risk_events(scan)
        return [event for event in events if self._types is None or event["type"] in self._types]

    def _new_risk_events(self, scan: JSON) -> list[JSON]:
        events: list[JSON] = []
        for risk_id in _new_open(scan):
            if risk_id in self._risks:
                continue
            self._risks.add(risk_id)
            risk = self._world.get_risk(risk_id)
            if risk is not None:
                events.append(self._event("risk.created", risk))
        return events

    def _event(self, event_type: str, data: JSON) -> JSON:
        created = datetime.fromtimestamp(self._clock_ms() / 1000, UTC)
        return {
            "id": f"evt_{uuid.uuid4().hex}",
            "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "type": event_type,
            "data": data,
        }

    async def _deliver(self, http: httpx.AsyncClient, event: JSON) -> bool:
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = signed_headers(self._secret, body, timestamp_ms=self._clock_ms())
        headers["Content-Type"] = "application/json"
        # Each delivery is a boundary: one refused or lost event must not stop the others.
        try:
            response = await http.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            logger.warning("webhook %s (%s) not delivered: %r", event["id"], event["type"], exc)
            return False
        if not response.is_success:
            logger.warning(
                "webhook %s (%s) refused: HTTP %d",
                event["id"],
                event["type"],
                response.status_code,
            )
            return False
        logger.info("webhook %s (%s) delivered", event["id"], event["type"])
        return True

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._http is not None:
            yield self._http
            return
        async with httpx.AsyncClient(timeout=10.0) as http:
            yield http


def _new_open(scan: JSON) -> list[str]:
    risks = scan.get("risks") or {}
    return [str(r["risk_id"]) for r in risks.get("new_open") or [] if "risk_id" in r]
