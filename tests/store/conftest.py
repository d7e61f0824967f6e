"""Every store test runs on SQLite and on PostgreSQL, each time in a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scanbot.store import Store, database_url
from tests.databases import KINDS, fresh_database


@dataclass(frozen=True)
class Database:
    kind: str
    url: str  # as SCANBOT_DATABASE_URL would hold it
    connect_args: dict[str, Any]

    async def open(self, *, migrate: bool = True, with_connect_args: bool = True) -> Store:
        return await Store.open(
            database_url({}, self.url),
            migrate=migrate,
            connect_args=self.connect_args if with_connect_args else None,
        )


@pytest.fixture(params=KINDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_database(request.param, tmp_path) as (url, connect_args):
        yield Database(request.param, url, connect_args)


@pytest.fixture
async def store(database: Database) -> AsyncIterator[Store]:
    opened = await database.open()
    try:
        yield opened
    finally:
        await opened.close()
