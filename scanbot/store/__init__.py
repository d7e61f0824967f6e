"""Persistence behind a small interface: SQLite by default, PostgreSQL for several replicas."""

from scanbot.store.store import Store, TooManySubscriptions
from scanbot.store.urls import database_url

__all__ = ["Store", "TooManySubscriptions", "database_url"]
