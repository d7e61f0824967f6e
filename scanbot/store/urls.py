"""Which database to use: SQLite by default, PostgreSQL when a URL points at one."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from scanbot.settings import ConfigError

DEFAULT_URL = "sqlite:///scanbot.sqlite3"


def database_url(environ: Mapping[str, str], configured: str | None) -> URL:
    """The async SQLAlchemy URL for `configured` (SCANBOT_DATABASE_URL), else Heroku's
    DATABASE_URL, else a SQLite file in the working directory.

    On Heroku (DYNO set) SQLite is refused: a dyno's disk is wiped at every restart.
    """
    name = "SCANBOT_DATABASE_URL" if configured else "DATABASE_URL"
    raw = configured or environ.get("DATABASE_URL") or DEFAULT_URL
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(f"{name} is malformed: expected sqlite:/// or postgresql://.") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if environ.get("DYNO"):
            raise ConfigError(
                f"{name} points at SQLite, whose file Heroku wipes at every restart: "
                "add Heroku Postgres and let DATABASE_URL point at it."
            )
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgres", "postgresql"):
        query = dict(url.query)
        sslmode = query.pop("sslmode", None)
        if sslmode is not None:  # libpq spelling -> asyncpg's
            query["ssl"] = sslmode
        return url.set(drivername="postgresql+asyncpg", query=query)
    raise ConfigError(f"{name} is malformed: scanbot supports SQLite and PostgreSQL URLs only.")
