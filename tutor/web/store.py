"""The web UI's store: `WebStore` is `tutor.store.Store` (SQLite under
TUTOR_HOME by default, PostgreSQL with TUTOR_DATABASE_URL). `WebStore(path)`
opens a SQLite file, `WebStore("postgresql://...")` a PostgreSQL database."""

from __future__ import annotations

from tutor.store import Store as WebStore
from tutor.store import StoreConflict, Stored, open_store

__all__ = ["WebStore", "StoreConflict", "Stored", "open_store"]
