"""Several tutor instances serving one school: a real PostgreSQL (the shared
session and feedback store), a real `chroma run` server (the shared index) and
two `tutor serve` processes on two ports, each with its own empty TUTOR_HOME,
so nothing they share can come from a local file.

One learner's Socratic dialogue and quiz alternate between the instances turn
by turn; turns sent to both at once all land; `tutor ingest` into the shared
index is seen by both running instances; PostgreSQL stopped mid-conversation
gives a clear message and, once it is back, the conversation continues with no
turn lost or doubled. In a real Chromium, the page served through a
round-robin proxy by one instance is reloaded from the other and the
conversation is still there; likes given on both land in one table.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from tests.servers import Chroma, Tutor, tutor_env

pytestmark = pytest.mark.slow

SEED = "leadership-vs-management"
KOTTER = "What does Kotter say management copes with?"
EXTRA = Path(__file__).parent / "data" / "article_page.html"
WAIT = 60_000  # ms, browser (generous: two servers and Chromium share the cores)


@pytest.fixture(scope="module")
def school(postgres, tmp_path_factory):
    """PostgreSQL + Chroma server + the seed ingested once + two instances."""
    from tutor.config import Settings
    from tutor.index import Index

    base = tmp_path_factory.mktemp("school")
    database = postgres.create_database()
    chroma = Chroma(base / "chroma")
    shared = {"TUTOR_CHROMA_URL": chroma.url, "TUTOR_DATABASE_URL": database}
    instances = []
    try:
        ingest = subprocess.run([sys.executable, "-m", "tutor", "ingest", str(CORPUS)],
                                env=tutor_env(base / "operator", **shared), capture_output=True, text=True,
                                timeout=300)
        assert ingest.returncode == 0, ingest.stderr
        version = Index(Settings(home=base / "operator", chroma_url=chroma.url)).snapshot(check_model=False).version
        for name in ("a", "b"):
            instances.append(Tutor(tutor_env(base / name, **shared), log=base / f"{name}.log"))
        for t in instances:
            t.wait_ready()
        yield {"a": instances[0], "b": instances[1], "database": database, "chroma": chroma,
               "version": version, "base": base, "env": tutor_env(base / "operator", **shared)}
    finally:
        for t in instances:
            t.close()
        chroma.close()


def _client(tutor):
    from gradio_client import Client

    return Client(tutor.url, verbose=False)


@pytest.fixture(scope="module")
def clients(school):
    return _client(school["a"]), _client(school["b"])


def _ask(client, message, mode="explain", sid="", doc=SEED):
    return client.predict(message, mode, doc, sid, api_name="/ask")


def test_an_instance_joins_without_ingesting_and_keeps_nothing_locally(school):
    from tutor.config import Settings
    from tutor.index import Index

    now = Index(Settings(home=school["base"] / "x", chroma_url=school["chroma"].url)).snapshot(check_model=False)
    assert now.version == school["version"], "starting an instance published a new index version"
    for name in ("a", "b"):
        home = school["base"] / name
        assert not (home / "index").exists() and not (home / "web.sqlite3").exists()


def test_a_socratic_dialogue_alternates_between_instances(clients):
    a, b = clients
    first = _ask(a, "Why do organizations need leadership?", "socratic")
    sid = first["session_id"]
    assert "Let's work it out" in first["answer"]
    hint = _ask(b, "hint", "socratic", sid)  # only an instance that knows the target can hint
    assert hint["answer"].startswith("Hint:") and hint["session_id"] == sid
    miss = _ask(a, "I don't know", "socratic", sid)
    assert "Hint:" in miss["answer"] and "Here is the answer" not in miss["answer"]
    reveal = _ask(b, "I don't know", "socratic", sid)  # the second miss, counted across instances
    assert "Here is the answer" in reveal["answer"]


def test_a_quiz_alternates_between_instances_and_counts_every_answer(clients):
    a, b = clients
    start = _ask(b, "Quiz me, please", "quiz")  # starting a quiz asks the first question, grades nothing
    sid = start["session_id"]
    assert start["progress"]["answered"] == 0 and "Question 1 of" in start["answer"]
    for turn in range(1, 6):
        reply = _ask((a, b)[turn % 2], "I don't know", "quiz", sid)
        assert reply["session_id"] == sid
        assert reply["progress"]["answered"] == turn, reply["progress"]
        assert f"Question {turn + 1} of" in reply["answer"]


def test_turns_sent_to_both_instances_at_once_all_land(school, clients):
    from tutor.store import Store

    a, b = clients
    sid = _ask(a, KOTTER)["session_id"]
    questions = ["What do leaders do?", "What does leadership cope with?", "Who is Kotter?",
                 "What do managers do?"]
    errors = []

    def send(client, q):
        try:
            _ask(client, q, "explain", sid)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(c, q)) for c, q in zip([a, b, a, b], questions, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    history = Store(school["database"]).load(sid, "api")["state"]["history"]
    learner = [t["text"] for t in history if t["role"] == "learner"]
    assert learner[0] == KOTTER and sorted(learner[1:]) == sorted(questions)
    assert [t["role"] for t in history] == ["learner", "tutor"] * 5


def test_postgres_stopped_mid_conversation_gives_a_clear_message_and_loses_no_turn(postgres, school, clients):
    from gradio_client.exceptions import AppError

    a, b = clients
    sid = _ask(a, "Quiz me, please", "quiz")["session_id"]  # asks question 1
    assert _ask(b, "I don't know", "quiz", sid)["progress"]["answered"] == 1
    assert _ask(a, "I don't know", "quiz", sid)["progress"]["answered"] == 2
    pids = (school["a"].proc.pid, school["b"].proc.pid)
    postgres.stop()
    try:
        for client in (a, b):
            with pytest.raises(AppError) as err:
                _ask(client, "I don't know", "quiz", sid)
            assert "cannot reach its conversation store" in str(err.value) and "again" in str(err.value)
            assert "Traceback" not in str(err.value) and postgres.password not in str(err.value)
    finally:
        postgres.start()
    back = _ask(b, "I don't know", "quiz", sid)
    assert back["progress"]["answered"] == 3 and "Question 4 of" in back["answer"]
    assert _ask(a, "I don't know", "quiz", sid)["progress"]["answered"] == 4
    for tutor, pid in zip((school["a"], school["b"]), pids, strict=True):
        assert tutor.proc.poll() is None and tutor.proc.pid == pid
        assert "restarting" not in tutor.output()


# ---- a real browser through a round-robin proxy ------------------------------------------------
@pytest.mark.browser
def test_a_reload_served_by_the_other_instance_keeps_the_conversation(school, artifacts):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from benchmarks.proxy import start
    from tutor.store import Store

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    expect = playwright_api.expect
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
    proxy = start([school["a"].url, school["b"].url])
    store = Store(school["database"])
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=args)
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(proxy.url)
            box = page.locator("#tutor-message textarea")
            expect(box).to_be_editable(timeout=WAIT)
            box.fill(KOTTER)
            box.press("Enter")
            bot = page.locator('[data-testid="bot"]')
            expect(bot.last).to_contain_text("complexity", timeout=WAIT)
            _like_last(page)
            _wait_for_feedback(store, 1)
            assert list(proxy.proxy.sessions.values()) == [0], "the page was not served by one instance"

            page.reload()
            expect(page.locator("#tutor-message textarea")).to_be_editable(timeout=WAIT)
            assert sorted(proxy.proxy.sessions.values()) == [0, 1], "the reload went to the same instance"
            expect(page.locator('[data-testid="user"]').first).to_contain_text(KOTTER, timeout=WAIT)
            expect(bot.last).to_contain_text("complexity")
            page.screenshot(path=artifacts / "scale-reload-other-instance.png")

            box = page.locator("#tutor-message textarea")
            box.fill("What do leaders do?")
            box.press("Enter")
            expect(page.locator('[data-testid="user"]')).to_have_count(2, timeout=WAIT)
            expect(page.locator('[data-testid="user"]').last).to_contain_text("What do leaders do?")
            expect(bot.last).to_contain_text("direction", timeout=WAIT)  # the reply, not the placeholder
            _like_last(page)
            _wait_for_feedback(store, 2)
            browser.close()
    finally:
        proxy.stop()
    rows = [r for r in store.feedback() if r["view"] == "app"]
    assert [r["question"] for r in rows] == [KOTTER, "What do leaders do?"]
    assert len({r["session_id"] for r in rows}) == 1  # one browser, recognised by both instances


def test_an_instance_started_while_postgres_is_down_waits_then_serves(postgres, school, clients):
    import httpx

    a, _ = clients
    sid = _ask(a, "Quiz me, please", "quiz")["session_id"]  # asks question 1
    assert _ask(a, "I don't know", "quiz", sid)["progress"]["answered"] == 1
    postgres.stop()
    late = None
    try:
        late = Tutor(tutor_env(school["base"] / "c", TUTOR_CHROMA_URL=school["chroma"].url,
                               TUTOR_DATABASE_URL=school["database"]), log=school["base"] / "c.log")
        deadline = time.monotonic() + 120
        while "waiting for it" not in late.output():
            assert late.proc.poll() is None, late.output()
            assert time.monotonic() < deadline, late.output()
            time.sleep(0.3)
        assert postgres.password not in late.output()
        with pytest.raises(httpx.HTTPError):
            httpx.get(late.url + "config", timeout=2)  # not serving learners it cannot remember
        postgres.start()
        late.wait_ready()
        reply = _ask(_client(late), "I don't know", "quiz", sid)  # continues the quiz begun on A
        assert reply["progress"]["answered"] == 2
    finally:
        if not postgres.running():
            postgres.start()
        if late is not None:
            late.close()


def _like_last(page) -> None:
    """Like the last reply once it has finished streaming (a streaming reply is
    not ratable yet); its buttons show on hover."""
    from playwright.sync_api import expect

    expect(page.locator("#tutor-chat .tutor-streaming, #tutor-chat .tutor-typing")).to_have_count(0, timeout=WAIT)
    page.locator('[data-testid="bot"]').last.hover()
    page.get_by_role("button", name="Like").last.click()


def _wait_for_feedback(store, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len([r for r in store.feedback() if r["view"] == "app"]) < n:
        assert time.monotonic() < deadline, f"feedback row {n} never reached the store"
        time.sleep(0.2)


# runs last: it adds an article, which changes the page's default article
def test_an_ingest_into_the_shared_index_reaches_both_running_instances(school, clients):
    from tutor.corpus import load_document

    doc_id = load_document(EXTRA).doc_id
    done = subprocess.run([sys.executable, "-m", "tutor", "ingest", str(EXTRA)], env=school["env"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for client in clients:
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = _ask(client, "What do leaders help people cope with?", "explain", "", doc_id)
                break
            except Exception:  # noqa: BLE001 - "unknown article" until the instance sees the new version
                assert time.monotonic() < deadline, "a running instance did not pick up the new index version"
                time.sleep(0.5)
        assert not reply["declined"] and {c["doc_id"] for c in reply["citations"]} == {doc_id}, reply
        assert "change" in reply["answer"]
        assert "complexity" in _ask(client, KOTTER)["answer"]  # the seed is still there
    for name in ("a", "b"):
        assert "restarting" not in school[name].output()
