"""Persistence behind a small interface: SQLite by default, PostgreSQL for several replicas."""

from scanbot.store.store import AlertThread, OutboxRow, Store, TooManySubscriptions
from scanbot.store.urls import database_url

__all__ = ["AlertThread", "OutboxRow", "Store", "TooManySubscriptions", "database_url"]
