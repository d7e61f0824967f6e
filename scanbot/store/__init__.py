"""Persistence behind a small interface: SQLite by default, PostgreSQL for several replicas."""

from scanbot.store.store import AlertThread, OutboxRow, Store
from scanbot.store.urls import database_url

__all__ = ["AlertThread", "OutboxRow", "Store", "database_url"]
