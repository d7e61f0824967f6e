"""The SQLite database file holds scan data and Slack ids: readable by its owner only.

SQLite creates a database file 0644 (less the umask); its -journal, -wal and -shm files
take the database file's mode. So the file is created 0600 before SQLite opens it, and a
file from an older scanbot is tightened once.
"""

from __future__ import annotations

import logging
import os
import stat

from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

PRIVATE = 0o600
_COMPANIONS = ("", "-journal", "-wal", "-shm")


def make_private(url: URL | str) -> None:
    """Create the SQLite file of `url` 0600, or tighten it (and its companions) to 0600.
    Anything but a SQLite file on disk (PostgreSQL, `:memory:`, a `file:` URI) is left."""
    url = make_url(url)
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if path.startswith("file:") or url.query.get("uri"):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE))
        return
    except FileExistsError:
        pass
    for name in (path + suffix for suffix in _COMPANIONS):
        _tighten(name)


def _tighten(path: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & ~PRIVATE:
            os.chmod(path, PRIVATE)
            log.info("made %s readable by its owner only (was %o)", path, mode)
    except FileNotFoundError:
        return
    except OSError as exc:  # not ours to change: say so, and go on
        log.warning("could not make %s private: %s", path, exc.strerror)
