"""The bot's state on SQLite and PostgreSQL: every key typed, defaults until written,
written alone or with an observation, and unknown keys left alone."""

from __future__ import annotations

import sqlalchemy as sa

from scanbot.store import Store
from scanbot.store.schema import bot_state
from scanbot.store.state import CycleMark, StateKey, StateValues
from tests.store.values import snap


async def test_a_fresh_store_reads_every_default(store: Store) -> None:
    assert await store.state.read() == StateValues()
    assert StateValues() == StateValues(
        cycles=0,
        baseline_done=False,
        last_cycle_at=None,
        poll_failures=0,
        poll_down_since=None,
        sending_paused=None,
    )


async def test_each_setter_writes_its_key_and_reads_back(store: Store) -> None:
    await store.state.set_sending_paused("token_revoked")
    await store.state.set_poll_failures(3)
    await store.state.set_poll_down_since("2026-11-01T12:00:00+00:00")
    state = await store.state.read()
    assert (state.sending_paused, state.poll_failures) == ("token_revoked", 3)
    assert state.poll_down_since == "2026-11-01T12:00:00+00:00"
    await store.state.set_sending_paused(None)
    await store.state.set_poll_down_since(None)
    await store.state.set_poll_failures(0)
    assert await store.state.read() == StateValues()


async def test_text_is_stored_as_written(store: Store) -> None:
    await store.state.set_sending_paused('é and ü, "quoted" and {braced}')
    assert (await store.state.read()).sending_paused == 'é and ü, "quoted" and {braced}'


async def test_an_observation_writes_its_mark_with_the_snapshots(store: Store) -> None:
    await store.snapshots.record([snap("scan-a")], [], mark=CycleMark())
    assert (await store.state.read()) == StateValues(baseline_done=True)  # a webhook's look
    await store.snapshots.record([], [], mark=CycleMark(4, "2026-11-01T12:00:00+00:00"))
    await store.snapshots.record([], [])  # no mark: the state is left as it was
    state = await store.state.read()
    assert (state.baseline_done, state.cycles) == (True, 4)
    assert state.last_cycle_at == "2026-11-01T12:00:00+00:00"


async def test_the_keys_are_the_values_fields() -> None:
    assert {key.value for key in StateKey} == set(StateValues.__dataclass_fields__)


async def test_keys_it_does_not_know_are_ignored(store: Store) -> None:
    """A key written by another version of scanbot (or by hand) does not break reading."""
    async with store.db.transaction() as conn:
        await conn.execute(sa.insert(bot_state).values(key="cursor", value={"page": 3}))
        await conn.execute(sa.insert(bot_state).values(key="cycles", value=9))
    assert await store.state.read() == StateValues(cycles=9)
