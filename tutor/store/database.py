"""The store itself: one class over SQLAlchemy 2 Core, for SQLite (pysqlite)
and PostgreSQL (psycopg 3). See `tutor.store` for what it keeps and why.

SQLite: `BEGIN IMMEDIATE` for every transaction (pysqlite's own transaction
handling is switched off, as SQLAlchemy's documentation recommends), WAL
journal, a 30 s busy timeout; several processes on one machine may share the
file. PostgreSQL: a pool of `POOL_SIZE` (+ `MAX_OVERFLOW`) connections per
process, each checked with a ping when taken from the pool, so connections
broken by a database restart are replaced without anyone noticing.
"""

from __future__ import annotations

import json
import logging
import secrets as _secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url

from tutor.errors import ConfigError, StoreError, StoreUnavailableError
from tutor.store import migrations

log = logging.getLogger(__name__)

POOL_SIZE = 5
MAX_OVERFLOW = 10
POOL_TIMEOUT = 10.0  # s to wait for a free pooled connection
CONNECT_TIMEOUT = 5  # s to reach PostgreSQL
SQLITE_BUSY_TIMEOUT = 30.0  # s to wait for SQLite's write lock
UNAVAILABLE = (
    "the tutor cannot reach its conversation store right now, so nothing was saved; "
    "please send your message again in a moment"
)
_UNREACHABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError)

_meta = MetaData()
conversations = Table(
    "conversations", _meta,
    Column("sid", Text, primary_key=True),
    Column("view", Text, primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated", Float, nullable=False),
    Column("version", Integer, nullable=False),
)
feedback_table = Table(
    "feedback", _meta,
    Column("id", Integer, primary_key=True),
    Column("session_id", Text, nullable=False),
    Column("view", Text, nullable=False),
    Column("vote", Text, nullable=False),
    Column("question", Text, nullable=False),
    Column("reply", Text, nullable=False),
    Column("citations", Text, nullable=False),
    Column("mode", Text),
    Column("doc_id", Text),
    Column("created", Float, nullable=False),
)
meta_table = Table(
    "meta", _meta,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)


class StoreConflict(Exception):  # noqa: N818 - a signal to retry, not an error a user sees
    """The conversation changed since it was read (another instance or thread wrote a turn)."""


@dataclass(frozen=True)
class Stored:
    """A conversation as read: its data and the version to write back against."""

    data: dict
    version: int


def database_url(url: str | Path) -> URL:
    """A SQLAlchemy URL from `postgresql://...`, `sqlite:///path` or a plain file path.

    >>> database_url("postgresql://tutor:pw@db.example:5432/tutor").drivername
    'postgresql+psycopg'
    """
    if isinstance(url, Path) or "://" not in str(url):
        return URL.create("sqlite", database=str(Path(url).expanduser()))
    try:
        parsed = make_url(str(url))
    except (sa_exc.ArgumentError, ValueError):
        scheme = str(url).split("://", 1)[0]
        raise ConfigError(
            f"the database URL ({scheme}://...) cannot be parsed; write it as "
            "postgresql://user:password@host:port/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):  # postgres:// as many hosts write it
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError("a SQLite store needs a file: sqlite:///path/to/web.sqlite3")
        return parsed.set(drivername="sqlite")
    raise ConfigError(
        f"unsupported database '{backend}' in the database URL; use "
        "postgresql://user:password@host:port/database (or sqlite:///path)"
    )


class Store:
    """Conversations, feedback and the browser-id secret, in SQLite or PostgreSQL.

    Nothing touches the database until the first call, which also applies any
    pending migrations, so a store can be made while its database is down."""

    def __init__(self, url: str | Path):
        self.url = database_url(url)
        self.dialect = "postgresql" if self.url.get_backend_name() == "postgresql" else "sqlite"
        self.where = self.url.render_as_string(hide_password=True).replace("+psycopg", "")
        self.engine = self._make_engine()
        self._ready = False
        self._ready_lock = threading.Lock()

    def _make_engine(self) -> Engine:
        if self.dialect == "postgresql":
            return create_engine(
                self.url,
                pool_size=POOL_SIZE,
                max_overflow=MAX_OVERFLOW,
                pool_timeout=POOL_TIMEOUT,
                pool_pre_ping=True,
                pool_recycle=1800,
                connect_args={"connect_timeout": CONNECT_TIMEOUT, "application_name": "article-tutor"},
            )
        Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            self.url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    def close(self) -> None:
        self.engine.dispose()

    # ---- plumbing -------------------------------------------------------------
    @contextmanager
    def _transaction(self, action: str, quiet: bool = False) -> Iterator:
        """One transaction; an unreachable database becomes `StoreUnavailableError`."""
        self._migrate(quiet)
        with self._errors(action, quiet), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _errors(self, action: str, quiet: bool = False) -> Iterator[None]:
        try:
            yield
        except (StoreConflict, StoreError):
            raise
        except sa_exc.IntegrityError:
            raise
        except _UNREACHABLE as exc:
            detail = _first_line(exc)
            (log.debug if quiet else log.warning)("the conversation store at %s is unreachable while %s: %s", self.where, action, detail)
            raise StoreUnavailableError(UNAVAILABLE, detail=detail, where=self.where) from None
        except sa_exc.SQLAlchemyError as exc:
            raise StoreError(
                f"the conversation store at {self.where} failed while {action} ({_first_line(exc)})"
            ) from None

    def _migrate(self, quiet: bool = False) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with self._errors("applying migrations", quiet), self.engine.begin() as conn:
                applied = migrations.apply(conn, self.dialect)
            if applied:
                log.info("conversation store %s: applied migrations %s", self.where, applied)
            self._ready = True

    def ping(self) -> None:
        """Raise `StoreUnavailableError` unless the database answers (and is
        migrated); not logged, the caller decides what a failure means."""
        with self._transaction("checking the connection", quiet=True) as conn:
            conn.exec_driver_sql("SELECT 1")

    def schema_version(self) -> int:
        with self._transaction("reading the schema version") as conn:
            return int(conn.exec_driver_sql("SELECT MAX(version) FROM tutor_migrations").scalar() or 0)

    # ---- conversations ------------------------------------------------------------
    def get(self, sid: str, view: str) -> Stored | None:
        with self._transaction("reading a conversation") as conn:
            row = conn.execute(
                select(conversations.c.data, conversations.c.version).where(
                    conversations.c.sid == sid, conversations.c.view == view
                )
            ).first()
        return Stored(json.loads(row.data), int(row.version)) if row else None

    def put(self, sid: str, view: str, data: dict, *, version: int) -> int:
        """Write a conversation read at `version` (0: new); returns its new version.

        Raises `StoreConflict` when the stored row is no longer at `version`:
        someone else wrote a turn in between, and the caller must re-read."""
        blob = json.dumps(data, ensure_ascii=False)
        now = time.time()
        try:
            with self._transaction("saving a conversation") as conn:
                if version == 0:
                    conn.execute(insert(conversations).values(
                        sid=sid, view=view, data=blob, updated=now, version=1))
                    return 1
                done = conn.execute(
                    update(conversations)
                    .where(conversations.c.sid == sid, conversations.c.view == view,
                           conversations.c.version == version)
                    .values(data=blob, updated=now, version=version + 1)
                )
                if done.rowcount != 1:
                    raise StoreConflict(f"conversation {sid}/{view} is no longer at version {version}")
                return version + 1
        except sa_exc.IntegrityError:
            raise StoreConflict(f"conversation {sid}/{view} was created meanwhile") from None

    def load(self, sid: str, view: str) -> dict | None:
        """The conversation's data only (for tools and tests)."""
        stored = self.get(sid, view)
        return stored.data if stored else None

    def save(self, sid: str, view: str, data: dict) -> int:
        """Write unconditionally, last writer wins (for tools and tests; the
        tutor itself writes with `put`)."""
        while True:
            stored = self.get(sid, view)
            try:
                return self.put(sid, view, data, version=stored.version if stored else 0)
            except StoreConflict:
                continue

    # ---- feedback -------------------------------------------------------------------
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
        with self._transaction("saving feedback") as conn:
            return int(conn.execute(
                insert(feedback_table).values(
                    session_id=session_id, view=view, vote=vote, question=question, reply=reply,
                    citations=json.dumps(citations, ensure_ascii=False), mode=mode, doc_id=doc_id,
                    created=time.time(),
                ).returning(feedback_table.c.id)
            ).scalar_one())

    def feedback(self) -> list[dict]:
        """Every rating, oldest first, citations decoded."""
        with self._transaction("reading feedback") as conn:
            rows = conn.execute(select(feedback_table).order_by(feedback_table.c.id)).mappings().all()
        return [{**dict(r), "citations": json.loads(r["citations"])} for r in rows]

    # ---- meta -------------------------------------------------------------------------
    def secret(self) -> str:
        """The random secret that encrypts the browser id in localStorage: made
        once per store, so every instance (and every restart) recognises the
        same browsers."""
        value = self._meta("browser_secret")
        if value is not None:
            return value
        try:
            with self._transaction("saving the browser secret") as conn:
                conn.execute(insert(meta_table).values(key="browser_secret", value=_secrets.token_urlsafe(24)))
        except sa_exc.IntegrityError:
            pass  # another instance made it first: use theirs
        value = self._meta("browser_secret")
        if value is None:  # pragma: no cover - the row was just written
            raise StoreError(f"the conversation store at {self.where} lost its browser secret")
        return value

    def _meta(self, key: str) -> str | None:
        with self._transaction("reading settings") as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip()
    return text.splitlines()[0][:200] if text else type(inner).__name__
