"""What the web tutor keeps between requests, behind one interface (`Store`):

* `conversations`: one row per (browser id, view): the `Session.to_state()`
  dict (mode, history, Socratic target, quiz progress), the chat as shown, the
  replies that can be rated and the citations of the last answer, as one JSON
  document, plus a `version`;
* `feedback`: one row per like/dislike, with question, reply, citations (JSON),
  browser id and time;
* `meta`: the secret that encrypts the browser id in localStorage.

Two back ends through SQLAlchemy 2 (the same queries, the same numbered
migrations in `tutor.store.migrations`):

* SQLite, `TUTOR_HOME/web.sqlite3`: the embedded default, one machine;
* PostgreSQL through psycopg 3, `TUTOR_DATABASE_URL=postgresql://user:password@host:port/db`
  (or `tutor serve --database-url`): one store for every instance of a school,
  so any instance can answer any learner's next message.

Concurrency: a turn is one row write (atomic). `Store.get()` returns the data
with its version; `Store.put(..., version=v)` writes only if the row is still
at `v` and raises `StoreConflict` otherwise: the caller (`TutorChat`) re-reads
and answers again on the newer state, so two instances answering the same
conversation never overwrite each other's turn (optimistic concurrency rather
than row locks, because a reply can take seconds and no transaction should
stay open that long).

Availability: a database that cannot be reached raises `StoreUnavailableError`
(a `TutorError` whose message is one short sentence for the learner) and
nothing is written; pooled connections are pinged before use, so once the
database is back the next request simply works, without a restart.
"""

from __future__ import annotations

from tutor.store.database import Store, StoreConflict, Stored, database_url

__all__ = ["Store", "StoreConflict", "Stored", "database_url", "open_store"]


def open_store(settings) -> Store:
    """The store the settings name: `TUTOR_DATABASE_URL`, else `TUTOR_HOME/web.sqlite3`."""
    return Store(settings.store_url)
