"""The results store: SQLite by default, PostgreSQL by URL, through SQLAlchemy."""

from robustlab.store.schema import SCHEMA_VERSION
from robustlab.store.store import DEFAULT_STORE, Store, open_store

__all__ = ["DEFAULT_STORE", "SCHEMA_VERSION", "Store", "open_store"]
