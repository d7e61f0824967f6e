"""One logging style (stdlib, %-style), with every configured secret masked as a last guard."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose INFO and DEBUG lines are theirs, not ours: one line per call is ours to
# write. At DEBUG they speak (httpx names every URL it posts to; see `masks`).
NOISY = ("httpx", "httpcore", "slack_bolt", "slack_sdk", "aiohttp.access", "alembic")
# Bolt's signature check logs the whole body and signature of a request it refuses, at
# INFO. scanbot refuses those before Bolt sees them; these loggers stay quiet regardless.
BODY_DUMPS = ("slack_bolt.AsyncRequestVerification", "slack_bolt.RequestVerification")


class RedactSecrets(logging.Filter):
    """Replace any known secret value in a record's final text with "[redacted]", then
    apply each of `masks` (text -> text, e.g. hiding response_url paths).

    The code never logs secrets on purpose; this catches a library that would.
    """

    def __init__(self, secrets: Iterable[str], masks: Iterable[Callable[[str], str]] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        self._masks = tuple(masks)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets and not self._masks:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        for secret in self._secrets:
            message = message.replace(secret, "[redacted]")
            text = text.replace(secret, "[redacted]")
        for mask in self._masks:
            message, text = mask(message), mask(text)
        record.msg, record.args = message, None
        record.exc_text = text or None
        return True


def silence_body_dumps() -> None:
    """Call after building the Bolt app: Bolt sets its loggers' levels from the root's
    when it builds them, overriding anything set before."""
    for name in BODY_DUMPS:
        logging.getLogger(name).setLevel(logging.WARNING)


def redacting_handler(
    secrets: Iterable[str] = (),
    masks: Iterable[Callable[[str], str]] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """The one handler scanbot logs through: FORMAT, to stderr unless `stream`, redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactSecrets(secrets, masks))
    return handler


def configure_logging(
    level: str,
    secrets: Iterable[str] = (),
    *,
    masks: Iterable[Callable[[str], str]] = (),
) -> None:
    root = logging.getLogger()
    root.handlers[:] = [redacting_handler(secrets, masks)]
    root.setLevel(level)
    if level != "DEBUG":
        for noisy in NOISY:
            logging.getLogger(noisy).setLevel(logging.WARNING)
