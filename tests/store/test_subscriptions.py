"""Subscriptions on SQLite and PostgreSQL: round trips, ids never reused, per channel,
removal, the env subscription once, and the per-channel cap under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from scanbot.domain.subscriptions import MAX_SUBSCRIPTIONS_PER_CHANNEL
from scanbot.store import Store, TooManySubscriptions
from tests.store.conftest import Database


async def test_a_subscription_round_trips(store: Store) -> None:
    added = await store.subscriptions.add(
        "C1",
        types=["NMAP", "OWASP_ZAP"],
        target_contains="example.com",
        min_severity="HIGH",
        events=["finished", "risks"],
        created_by="U123",
    )
    assert (added.channel_id, added.types, added.events) == (
        "C1",
        ("NMAP", "OWASP_ZAP"),
        ("finished", "risks"),
    )
    assert (added.target_contains, added.min_severity, added.created_by) == (
        "example.com",
        "HIGH",
        "U123",
    )
    assert (added.from_env, added.disabled_reason) == (False, None)
    assert await store.subscriptions.all() == [added]


async def test_subscription_ids_increase_and_never_change(store: Store) -> None:
    a = await store.subscriptions.add("C1", events=["finished"])
    b = await store.subscriptions.add("C2", events=["finished"])
    c = await store.subscriptions.add("C1", events=["risks"])
    assert a.id < b.id < c.id
    assert await store.subscriptions.remove("C2", b.id) == 1
    assert await store.subscriptions.remove("C1", c.id) == 1
    d = await store.subscriptions.add("C1", events=["started"])
    assert d.id > c.id  # a removed number is never handed out again
    assert [s.id for s in await store.subscriptions.all()] == [a.id, d.id]


async def test_subscriptions_per_channel_and_enabled_only(store: Store) -> None:
    a = await store.subscriptions.add("C1", events=["finished"])
    b = await store.subscriptions.add("C2", events=["finished"])
    c = await store.subscriptions.add("C1", events=["risks"])
    assert await store.subscriptions.all("C1") == [a, c]
    assert await store.subscriptions.all("C2") == [b]
    assert await store.subscriptions.all("C3") == []

    assert await store.subscriptions.disable_channel("C1", "channel_not_found") == 2
    assert await store.subscriptions.disable_channel("C1", "again") == 0  # the first reason stays
    disabled = await store.subscriptions.all("C1")
    assert [s.disabled_reason for s in disabled] == ["channel_not_found"] * 2
    assert await store.subscriptions.all(enabled_only=True) == [b]
    assert await store.subscriptions.all("C1", enabled_only=True) == []


async def test_removing_touches_only_that_channel(store: Store) -> None:
    a = await store.subscriptions.add("C1", events=["finished"])
    b = await store.subscriptions.add("C2", events=["finished"])
    c = await store.subscriptions.add("C1", events=["risks"])
    assert await store.subscriptions.remove("C2", a.id) == 0  # another channel's id
    assert await store.subscriptions.remove("C1", 10_000) == 0
    assert await store.subscriptions.remove("C1", None) == 2
    assert await store.subscriptions.all() == [b]
    assert c not in await store.subscriptions.all()


async def test_the_env_subscription_is_added_once_however_many_starts(store: Store) -> None:
    results = [await store.subscriptions.ensure_env("C1", ["finished", "risks"]) for _ in range(5)]
    results += await asyncio.gather(
        *(store.subscriptions.ensure_env("C1", ["finished"]) for _ in range(5))
    )
    assert results == [True] + [False] * 9
    (env,) = await store.subscriptions.all("C1")
    assert (env.from_env, env.events, env.types, env.created_by) == (
        True,
        ("finished", "risks"),
        (),
        "SCANBOT_ALERT_CHANNEL",
    )
    await store.subscriptions.add("C2", events=["finished"])
    assert await store.subscriptions.ensure_env("C2", ["finished"]) is True


async def test_a_channel_takes_at_most_the_limit_of_subscriptions(store: Store) -> None:
    for _ in range(MAX_SUBSCRIPTIONS_PER_CHANNEL):
        await store.subscriptions.add("C1", events=["finished"])
    with pytest.raises(TooManySubscriptions) as refused:
        await store.subscriptions.add("C1", events=["risks"])
    assert refused.value.limit == MAX_SUBSCRIPTIONS_PER_CHANNEL
    assert len(await store.subscriptions.all("C1")) == MAX_SUBSCRIPTIONS_PER_CHANNEL
    await store.subscriptions.add("C2", events=["finished"])  # another channel is not full
    # Removing one makes room for one.
    first = (await store.subscriptions.all("C1"))[0]
    assert await store.subscriptions.remove("C1", first.id) == 1
    await store.subscriptions.add("C1", events=["risks"])
    with pytest.raises(TooManySubscriptions):
        await store.subscriptions.add("C1", events=["risks"])


async def test_the_env_subscription_is_never_refused_by_the_limit(store: Store) -> None:
    for channel_id in ("C1", "C2"):
        for _ in range(MAX_SUBSCRIPTIONS_PER_CHANNEL):
            await store.subscriptions.add(channel_id, events=["finished"])
    assert await store.subscriptions.ensure_env("C1", ["finished", "risks"]) is True
    env = await store.subscriptions.add("C2", events=["risks"], from_env=True)
    assert env.from_env
    for channel_id in ("C1", "C2"):
        assert len(await store.subscriptions.all(channel_id)) == MAX_SUBSCRIPTIONS_PER_CHANNEL + 1


async def test_concurrent_subscribes_never_pass_the_limit(store: Store, database: Database) -> None:
    """Two processes' stores (separate engines and connections) subscribing one channel at
    once, at one below the limit: exactly one more gets in."""
    for _ in range(MAX_SUBSCRIPTIONS_PER_CHANNEL - 1):
        await store.subscriptions.add("C1", events=["finished"])
    others = [await database.open(migrate=False) for _ in range(3)]
    try:
        await asyncio.gather(*(other.subscriptions.all("C1") for other in others))  # connected
        stores = (store, *others)
        adds = [s.subscriptions.add("C1", events=["risks"]) for s in stores * 4]
        results = await asyncio.gather(*adds, return_exceptions=True)
    finally:
        for other in others:
            await other.close()
    added = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, TooManySubscriptions)]
    assert (len(added), len(refused)) == (1, len(adds) - 1), results
    assert len(await store.subscriptions.all("C1")) == MAX_SUBSCRIPTIONS_PER_CHANNEL


async def test_replicas_starting_together_add_one_env_subscription(store: Store) -> None:
    import asyncio

    added = await asyncio.gather(
        *(store.subscriptions.ensure_env("C0ENV", ["finished"]) for _ in range(5))
    )
    assert added.count(True) == 1
    assert len(await store.subscriptions.all("C0ENV")) == 1
