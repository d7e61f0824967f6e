"""Webhook event ids on SQLite and PostgreSQL: each is a first delivery once."""

from __future__ import annotations

from scanbot.store import Store


async def test_a_webhook_event_is_first_delivered_once(store: Store) -> None:
    assert await store.webhooks.first_delivery("evt-1") is True
    assert await store.webhooks.first_delivery("evt-1") is False
    assert await store.webhooks.first_delivery("evt-2") is True
