"""The SQLite file is its owner's alone: created 0600, and so are its journal files."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from scanbot.store import Store, database_url
from scanbot.store.files import make_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


async def _open(path: Path) -> Store:
    return await Store.open(database_url({}, f"sqlite:///{path}"))


@pytest.mark.parametrize("journal_mode", ["wal", "persist"])
async def test_the_database_and_its_journals_are_created_private(
    tmp_path: Path, journal_mode: str
) -> None:
    path = tmp_path / "scanbot.sqlite3"
    with umask(0):  # a umask that takes nothing away: the 0600 is scanbot's own
        store = await _open(path)
        try:
            async with store.db.engine.begin() as conn:
                await conn.execute(sa.text(f"PRAGMA journal_mode={journal_mode}"))
            await store.state.set_poll_failures(1)  # a write, so the journal files exist
            companions = [tmp_path / n for n in os.listdir(tmp_path) if n != path.name]
            assert companions, "no journal file to check"
            for companion in [path, *companions]:
                assert mode(companion) == 0o600, companion.name
        finally:
            await store.close()


async def test_a_database_from_before_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "scanbot.sqlite3"
    await (await _open(path)).close()
    path.chmod(0o644)
    (tmp_path / "scanbot.sqlite3-wal").write_bytes(b"")
    (tmp_path / "scanbot.sqlite3-wal").chmod(0o664)
    store = await _open(path)
    await store.close()
    assert mode(path) == 0o600
    assert mode(tmp_path / "scanbot.sqlite3-wal") == 0o600


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "postgresql://u@127.0.0.1:1/db"]
)
def test_anything_but_a_sqlite_file_is_left_alone(url: str, tmp_path: Path) -> None:
    before = set(Path.cwd().iterdir())
    make_private(url)
    assert set(Path.cwd().iterdir()) == before
