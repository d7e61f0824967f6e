"""Which database a deployment gets from its environment, and refusals worded for people."""

from __future__ import annotations

import pytest

from scanbot.alerts.leader import asyncpg_dsn
from scanbot.settings import ConfigError
from scanbot.store import database_url

SECRET = "hunter2-do-not-echo"


def test_sqlite_urls_use_aiosqlite() -> None:
    url = database_url({}, "sqlite:////var/lib/scanbot/db.sqlite3")
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == "/var/lib/scanbot/db.sqlite3"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg2"])
def test_postgres_urls_use_asyncpg(scheme: str) -> None:
    url = database_url({}, f"{scheme}://bot:{SECRET}@db.example:6543/alerts")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "bot",
        SECRET,
        "db.example",
        6543,
        "alerts",
    )


def test_libpq_sslmode_becomes_asyncpg_ssl() -> None:
    url = database_url({}, "postgres://bot@db.example/alerts?sslmode=require")
    assert dict(url.query) == {"ssl": "require"}


def test_other_query_parameters_pass_through() -> None:
    url = database_url({}, "postgresql://bot@db.example/alerts?options=-csearch_path%3Dtenant")
    assert dict(url.query) == {"options": "-csearch_path=tenant"}


def test_scanbot_database_url_wins_over_database_url() -> None:
    environ = {"DATABASE_URL": "postgres://heroku@db.example/app"}
    assert database_url(environ, "sqlite:///mine.sqlite3").database == "mine.sqlite3"
    assert database_url(environ, None).host == "db.example"
    assert database_url(environ, "").host == "db.example"  # an empty setting is no setting


def test_default_is_a_sqlite_file_in_the_working_directory() -> None:
    url = database_url({}, None)
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == "scanbot.sqlite3"


@pytest.mark.parametrize("configured", [None, "sqlite:///scanbot.sqlite3"])
def test_heroku_refuses_sqlite_with_a_sentence(configured: str | None) -> None:
    with pytest.raises(ConfigError) as refused:
        database_url({"DYNO": "web.1"}, configured)
    message = str(refused.value)
    assert "Heroku" in message
    assert "DATABASE_URL" in message
    assert message.endswith(".")


def test_heroku_accepts_postgres() -> None:
    environ = {"DYNO": "web.1", "DATABASE_URL": "postgres://heroku@db.example/app"}
    assert database_url(environ, None).drivername == "postgresql+asyncpg"


@pytest.mark.parametrize(
    "raw",
    [
        "garbage",
        f"://bot:{SECRET}@db.example",
        f"mysql://bot:{SECRET}@db.example/alerts",
        f"postgresql://bot:{SECRET}@db.example:notaport/alerts",
        f"postgresql://bot:{SECRET}@[::1/alerts",
    ],
)
@pytest.mark.parametrize("variable", ["SCANBOT_DATABASE_URL", "DATABASE_URL"])
def test_bad_urls_are_refused_naming_the_variable_not_the_password(raw: str, variable: str) -> None:
    configured = raw if variable == "SCANBOT_DATABASE_URL" else None
    with pytest.raises(ConfigError) as refused:
        database_url({"DATABASE_URL": raw}, configured)
    message = str(refused.value)
    assert message.startswith(f"{variable} is malformed")
    assert message.endswith(".")
    assert SECRET not in message
    assert refused.value.__cause__ is None  # the chained parser error could echo the URL


def test_leader_dsn_keeps_sslmode_and_the_password() -> None:
    url = database_url({}, f"postgres://bot:{SECRET}@db.example/alerts?sslmode=require")
    assert asyncpg_dsn(url) == f"postgresql://bot:{SECRET}@db.example/alerts?sslmode=require"
