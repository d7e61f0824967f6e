"""Fresh databases for tests: a SQLite file, or a throwaway schema on an external PostgreSQL.

PostgreSQL is optional locally (its tests skip and say why) and required in CI, where a
skipped PostgreSQL test is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_ENV = "SCANBOT_TEST_POSTGRES_URL"  # e.g. postgresql://postgres@127.0.0.1:5432/test
KINDS = ("sqlite", "postgres")


def postgres_url_or_skip() -> str:
    """The test server's URL; skip without one, except in CI, where that is a failure."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"PostgreSQL tests need {POSTGRES_ENV}, and in CI a skipped PostgreSQL test "
            "is a failure: point it at a server, e.g. postgresql://postgres@127.0.0.1:5432/test.",
            pytrace=False,
        )
    pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (an optional external service)")


def admin_dsn(url: str) -> str:
    """A plain libpq DSN asyncpg accepts, whatever driver the URL names."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(kind: str, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """An empty database: (URL for SCANBOT_DATABASE_URL, connect_args for Store.open).

    On PostgreSQL a schema of its own, dropped afterwards; the URL carries it as libpq
    `options=-csearch_path=...`, so a process that reads only the URL lands there too.
    """
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'scanbot.sqlite3'}", {}
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}: expected one of {KINDS}")
    server = postgres_url_or_skip()
    schema = f"scanbot_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(admin_dsn(server))
    try:
        # A test that leaks a transaction must fail the DROP, not hang the suite.
        await admin.execute("SET lock_timeout = '10s'")
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield (
                url.render_as_string(hide_password=False),
                {"server_settings": {"search_path": schema}},
            )
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()
