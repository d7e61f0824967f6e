"""Webhook event ids on SQLite and PostgreSQL: each is a first delivery once; the work an
event asks for is pending until done."""

from __future__ import annotations

from datetime import timedelta

from scanbot.domain.clock import utcnow
from scanbot.store import Store
from scanbot.store.webhooks import WebhookWork


async def test_a_webhook_event_is_first_delivered_once(store: Store) -> None:
    assert await store.webhooks.first_delivery("evt-1") is True
    assert await store.webhooks.first_delivery("evt-1") is False
    assert await store.webhooks.first_delivery("evt-2") is True


async def test_work_is_pending_until_done(store: Store) -> None:
    since = utcnow() - timedelta(minutes=1)
    assert await store.webhooks.first_delivery("evt-1", scan_id="scan-a")
    assert await store.webhooks.first_delivery("evt-2", risks=True)
    assert await store.webhooks.first_delivery("evt-3")  # nothing to do: done at once
    assert await store.webhooks.pending(since) == [
        WebhookWork("evt-1", "scan-a", False),
        WebhookWork("evt-2", None, True),
    ]
    assert await store.webhooks.pending(utcnow() + timedelta(minutes=1)) == []
    await store.webhooks.done(["evt-1"])
    assert [w.event_id for w in await store.webhooks.pending(since)] == ["evt-2"]
    assert not await store.webhooks.first_delivery("evt-1", scan_id="scan-a")
