"""What the web UI keeps on the server: one SQLite file, `TUTOR_HOME/web.sqlite3`.

* `conversations`: one row per (browser id, view). The browser holds only a
  random id (in `gr.BrowserState`); the row holds everything needed to rebuild
  the conversation after a reload: the `Session.to_state()` dict, the chat as
  displayed, the replies that can be rated, and the citations of the last answer.
* `feedback`: one row per like/dislike, with the question, the reply and its
  citations as JSON, the browser id and the time.
* `meta`: the secret that encrypts the browser id in localStorage (kept so that
  a restarted server still recognises returning browsers).

Deliberate simplifications: one connection behind a lock (SQLite serialises
writes anyway; a turn writes one small row); a conversation is one JSON blob
rewritten after each turn; schema changes are numbered migrations applied in
order, tracked by `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path

MIGRATIONS = (
    # 1: conversations, feedback, meta
    """
    CREATE TABLE conversations (
        sid TEXT NOT NULL,
        view TEXT NOT NULL,
        data TEXT NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (sid, view)
    );
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        view TEXT NOT NULL,
        vote TEXT NOT NULL CHECK (vote IN ('like', 'dislike')),
        question TEXT NOT NULL,
        reply TEXT NOT NULL,
        citations TEXT NOT NULL,
        mode TEXT,
        doc_id TEXT,
        created REAL NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
)


class WebStore:
    """Conversations and feedback of the web UI, in one SQLite file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- conversations ------------------------------------------------------
    def load(self, sid: str, view: str) -> dict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM conversations WHERE sid = ? AND view = ?", (sid, view)
            ).fetchone()
        return json.loads(row["data"]) if row else None

    def save(self, sid: str, view: str, data: dict) -> None:
        blob = json.dumps(data, ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO conversations (sid, view, data, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sid, view) DO UPDATE SET data = excluded.data, updated = excluded.updated",
                (sid, view, blob, time.time()),
            )

    # ---- feedback -------------------------------------------------------------
    def add_feedback(
        self,
        *,
        session_id: str,
        view: str,
        vote: str,
        question: str,
        reply: str,
        citations: list[dict],
        mode: str | None = None,
        doc_id: str | None = None,
    ) -> int:
        if vote not in ("like", "dislike"):
            raise ValueError(f"unknown vote '{vote}'; choose one of: like, dislike")
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO feedback (session_id, view, vote, question, reply, citations, mode, doc_id, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, view, vote, question, reply, json.dumps(citations, ensure_ascii=False),
                 mode, doc_id, time.time()),
            )
            return int(cur.lastrowid)

    def feedback(self) -> list[dict]:
        """Every rating, oldest first, citations decoded."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [{**dict(r), "citations": json.loads(r["citations"])} for r in rows]

    # ---- meta ------------------------------------------------------------------
    def secret(self) -> str:
        """A random secret made once per store (encrypts the browser id in localStorage)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'browser_secret'").fetchone()
            if row:
                return row["value"]
            value = secrets.token_urlsafe(24)
            self._db.execute("INSERT INTO meta (key, value) VALUES ('browser_secret', ?)", (value,))
            return value
