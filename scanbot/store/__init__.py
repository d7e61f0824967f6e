"""Persistence, one module per aggregate on a shared `Database`: SQLite by default,
PostgreSQL for several replicas."""

from scanbot.store.store import Store
from scanbot.store.subscriptions import TooManySubscriptions
from scanbot.store.urls import database_url

__all__ = ["Store", "TooManySubscriptions", "database_url"]
