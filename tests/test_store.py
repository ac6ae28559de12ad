"""The session and feedback store on both back ends: SQLite in a temp folder and
a real PostgreSQL cluster (tests.servers.Postgres). Migrations, optimistic
concurrency, the browser secret, a database that goes away and comes back,
and TutorChat on top: two chats on one store stand for two instances."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tutor.errors import ConfigError, StoreError, StoreUnavailableError
from tutor.store import Store, StoreConflict, migrations
from tutor.web import render
from tutor.web.chat import TutorChat

KOTTER = "What does Kotter say management copes with?"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "web.sqlite3")
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture
def pg_url(postgres):
    return postgres.create_database()


# ---- the store ---------------------------------------------------------------------
def test_versions_refuse_a_write_made_against_a_stale_read(url):
    store = Store(url)
    assert store.get("s", "app") is None
    assert store.put("s", "app", {"turns": 1}, version=0) == 1
    with pytest.raises(StoreConflict):
        store.put("s", "app", {"turns": 1}, version=0)  # made meanwhile by someone else
    first = store.get("s", "app")
    assert (first.data, first.version) == ({"turns": 1}, 1)
    assert store.put("s", "app", {"turns": 2}, version=1) == 2
    with pytest.raises(StoreConflict):
        store.put("s", "app", {"turns": "lost"}, version=1)
    assert store.get("s", "app").data == {"turns": 2}
    assert store.get("s", "widget:d:explain") is None
    store.save("s", "app", {"turns": 3})  # unconditional, for tools
    assert store.load("s", "app") == {"turns": 3} and store.get("s", "app").version == 3


def test_feedback_secret_and_migrations_survive_a_reopen(url):
    store = Store(url)
    secret = store.secret()
    fid = store.add_feedback(session_id="s", view="app", vote="like", question="q", reply="r",
                             citations=[{"n": 1, "text": "é"}], mode="explain", doc_id="d")
    with pytest.raises(ValueError, match="like, dislike"):
        store.add_feedback(session_id="s", view="app", vote="meh", question="", reply="", citations=[])
    store.close()
    again = Store(url)
    assert again.secret() == secret and len(secret) >= 24
    [row] = again.feedback()
    assert row["id"] == fid and row["vote"] == "like" and row["citations"] == [{"n": 1, "text": "é"}]
    assert row["mode"] == "explain" and row["doc_id"] == "d" and row["created"] > 0
    assert again.schema_version() == migrations.LATEST
    # migrations ran once: one bookkeeping row per step
    with again.engine.connect() as conn:
        steps = [r[0] for r in conn.exec_driver_sql("SELECT version FROM tutor_migrations ORDER BY version")]
    assert steps == [m.number for m in migrations.MIGRATIONS]


def test_instances_starting_together_migrate_once_and_share_one_secret(url):
    stores = [Store(url) for _ in range(4)]
    secrets_seen, errors = [], []

    def start(store):
        try:
            secrets_seen.append(store.secret())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(secrets_seen)) == 1
    assert stores[0].schema_version() == migrations.LATEST


def test_a_store_made_before_versions_is_migrated_in_place(tmp_path):
    path = tmp_path / "web.sqlite3"
    old = sqlite3.connect(path)  # the schema as the first release wrote it
    old.executescript(migrations.MIGRATIONS[0].sqlite[0] + ";" + migrations.MIGRATIONS[0].sqlite[1] + ";"
                      + migrations.MIGRATIONS[0].sqlite[2] + "; PRAGMA user_version = 1;")
    old.execute("INSERT INTO conversations VALUES ('s', 'app', '{\"kept\": true}', 1.0)")
    old.execute("INSERT INTO meta VALUES ('browser_secret', 'old-secret')")
    old.commit()
    old.close()
    store = Store(path)
    assert store.get("s", "app").data == {"kept": True} and store.get("s", "app").version == 1
    assert store.secret() == "old-secret"  # returning browsers are still recognised
    assert store.put("s", "app", {"kept": "and changed"}, version=1) == 2
    assert store.schema_version() == migrations.LATEST


def test_a_schema_newer_than_the_code_is_refused(url):
    store = Store(url)
    store.ping()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO tutor_migrations (version, name, applied) VALUES ({migrations.LATEST + 1}, 'future', 0)")
    with pytest.raises(StoreError, match="newer than this tutor knows.*upgrade the tutor"):
        Store(url).get("s", "app")


@pytest.mark.parametrize("bad, message", [
    ("mysql://u:hunter2@db/tutor", "unsupported database 'mysql'"),
    ("sqlite://", "needs a file"),
    ("postgresql://u:hunter2@db:notaport/x", "cannot be parsed"),
])
def test_a_bad_database_url_is_one_clear_line_without_the_password(bad, message):
    with pytest.raises(ConfigError, match=message) as err:
        Store(bad)
    assert "hunter2" not in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("given", ["postgresql://u:p@db:5433/t", "postgres://u:p@db:5433/t",
                                   "postgresql+psycopg://u:p@db:5433/t"])
def test_postgres_urls_are_driven_by_psycopg(given):
    from tutor.store import database_url

    url = database_url(given)
    assert (url.drivername, url.host, url.port, url.database) == ("postgresql+psycopg", "db", 5433, "t")
    assert Store(given).where == "postgresql://u:***@db:5433/t"  # nothing is connected yet


def test_cli_rejects_a_bad_database_url(capsys):
    from tutor.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--database-url", "mysql://u:hunter2@db/tutor"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unsupported database 'mysql'") and "hunter2" not in err


def test_serve_with_a_sqlite_store_it_cannot_open_is_one_error_line(capsys, tmp_path):
    from tutor.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--database-url", f"sqlite:///{tmp_path}"])  # a folder, not a file
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the conversation store at sqlite:///") and "cannot be opened" in err
    assert len(err.strip().splitlines()) == 1


def test_postgres_down_is_a_short_error_and_the_same_store_recovers(postgres, pg_url):
    store = Store(pg_url)
    store.put("s", "app", {"turn": 1}, version=0)
    postgres.stop()
    try:
        with pytest.raises(StoreUnavailableError) as err:
            store.get("s", "app")
        assert "cannot reach its conversation store" in str(err.value) and "again" in str(err.value)
        assert "Connection refused" in err.value.detail or "connection" in err.value.detail.lower()
        assert postgres.password not in err.value.where and "***" in err.value.where
        with pytest.raises(StoreUnavailableError):
            store.put("s", "app", {"turn": 2}, version=1)
    finally:
        postgres.start()
    # the pool's connections died with the server; the next call gets a fresh one
    assert store.get("s", "app").data == {"turn": 1}
    assert store.put("s", "app", {"turn": 2}, version=1) == 2


def test_pooled_connections_broken_by_a_restart_are_replaced(postgres, pg_url):
    store = Store(pg_url)
    hold = [store.engine.connect() for _ in range(3)]  # fill the pool with live connections
    for conn in hold:
        conn.close()
    postgres.stop()
    postgres.start()
    for i in range(5):  # every pooled connection is dead now; none of these may fail
        store.put(f"s{i}", "app", {"i": i}, version=0)
    assert [store.get(f"s{i}", "app").data["i"] for i in range(5)] == list(range(5))


# ---- TutorChat on a shared store (two chats = two instances) --------------------------------
def test_a_turn_saved_meanwhile_by_another_instance_is_not_lost(engine, url, monkeypatch):
    """Instance A reads the conversation, and while it answers, instance B saves
    a turn of the same conversation; A's write is refused and A answers again
    on the newer conversation: both turns are kept, B's first."""
    from tutor.session import Session

    a, b = TutorChat(engine, Store(url)), TutorChat(engine, Store(url))
    sid = a.new_sid()
    a.open(sid, "app")
    real = Session.stream
    interleaved = []

    def stream(self, message):
        if message == KOTTER and not interleaved:
            interleaved.append(True)
            list(b.respond(sid, "app", "What do leaders do?"))  # B's whole turn lands first
        yield from real(self, message)

    monkeypatch.setattr(Session, "stream", stream)
    views = list(a.respond(sid, "app", KOTTER))
    assert interleaved and "complexity" in views[-1].messages[-1]["content"]
    shown = [m["content"] for m in b.open(sid, "app").messages if m["role"] == "user"]
    assert shown == [render.escape_text("What do leaders do?"), render.escape_text(KOTTER)]
    assert len(b.open(sid, "app").messages) == 4
    history = [t["text"] for t in Store(url).load(sid, "app")["state"]["history"] if t["role"] == "learner"]
    assert history == ["What do leaders do?", KOTTER]


def test_many_turns_at_once_from_two_instances_all_land(engine, url):
    a, b = TutorChat(engine, Store(url)), TutorChat(engine, Store(url))
    sid = a.new_sid()
    a.open(sid, "app")
    questions = [KOTTER, "What do leaders do?", "Who is Kotter?", "What does leadership cope with?",
                 "What do managers do?", "Why do organizations need leadership?"]
    threads = [threading.Thread(target=lambda c=c, q=q: list(c.respond(sid, "app", q)))
               for c, q in zip([a, b] * 3, questions, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = a.open(sid, "app").messages
    assert sorted(m["content"] for m in messages if m["role"] == "user") == sorted(map(render.escape_text, questions))
    assert [m["role"] for m in messages] == ["user", "assistant"] * len(questions)


def test_a_store_that_goes_down_mid_conversation_loses_no_turn(engine, postgres, pg_url):
    chat = TutorChat(engine, Store(pg_url))
    sid = chat.new_sid()
    chat.switch_mode(sid, "app", "quiz")
    list(chat.respond(sid, "app", "I don't know"))
    before = chat.open(sid, "app")
    assert before.progress["answered"] == 1
    postgres.stop()
    try:
        views = list(chat.respond(sid, "app", "I don't know"))
        last = views[-1]
        assert "cannot reach its conversation store" in last.messages[-1]["content"]
        assert last.draft == "I don't know"  # the message stays in the box to send again
        assert "The tutor cannot reach" in chat.open(sid, "app").messages[-1]["content"]
        with pytest.raises(StoreUnavailableError):
            chat.rate(sid, "app", len(before.messages) - 1, True)
    finally:
        postgres.start()
    after = chat.open(sid, "app")
    assert after.messages == before.messages and after.progress["answered"] == 1
    again = list(chat.respond(sid, "app", "I don't know"))[-1]
    assert again.progress["answered"] == 2 and "Question 3 of" in again.messages[-1]["content"]


def test_a_store_that_goes_down_while_a_reply_is_computed_keeps_nothing_of_that_turn(
        engine, postgres, pg_url, monkeypatch):
    from tutor.session import Session

    chat = TutorChat(engine, Store(pg_url))
    sid = chat.new_sid()
    list(chat.respond(sid, "app", KOTTER))
    before = chat.open(sid, "app")
    real = Session.stream

    def stream(self, message):
        yield from real(self, message)
        postgres.stop()  # after the reply, before it is saved

    monkeypatch.setattr(Session, "stream", stream)
    try:
        last = list(chat.respond(sid, "app", "What do leaders do?"))[-1]
    finally:
        if not postgres.running():
            postgres.start()
    monkeypatch.setattr(Session, "stream", real)
    assert last.messages[:-1] == before.messages  # the page shows the conversation as stored
    assert "cannot reach its conversation store" in last.messages[-1]["content"]
    assert last.draft == "What do leaders do?"
    assert chat.open(sid, "app").messages == before.messages
    again = list(chat.respond(sid, "app", "What do leaders do?"))[-1]
    assert [m["role"] for m in again.messages] == ["user", "assistant"] * 2
