"""The web layer without a browser: rendering and escaping, the origin policy,
the SQLite store, the conversation generator (`TutorChat`), and one live
server per module for the HTTP headers and the gradio_client API."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import transcripts  # tests/ is on sys.path under pytest

from tutor.config import MAX_MESSAGE_CHARS
from tutor.corpus import Heading
from tutor.errors import ConfigError, IndexBrokenError
from tutor.web import render
from tutor.web.chat import SORRY, TutorChat
from tutor.web.security import OriginPolicy, parse_origins
from tutor.web.store import WebStore

KOTTER = "What does Kotter say management copes with?"
SCRIPT = '<img src=x onerror="alert(1)"><script>alert("xss")</script> **bold**'


# ---- rendering -----------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "**bold** _it_ `code`", "[link](http://x)", "$x$ # h", "a & b < c"],
)
def test_escaped_text_has_no_markup_left(text):
    out = render.escape_text(text)
    assert "<" not in out and ">" not in out
    for ch in "*_`[]$#":
        assert all(out[i - 1] == "\\" for i, c in enumerate(out) if c == ch)


def test_answer_markers_become_links_to_their_source_and_footnotes_say_where():
    c = _citation(n=1, text="Intro. Management copes with complexity. More.", start=100, highlight=(107, 140))
    out = render.answer_markdown("Management copes with complexity [1]. See [7].", [c], turn="t1")
    assert ('<a class="tutor-ref" href="#tutor-src-t1-1" title="Show source 1">[1]'
            '<span class="tutor-sr"> source 1: Article › Kotter</span></a>') in out
    assert "\\[7\\]" in out  # an unknown marker stays text
    footnotes = out.split('class="tutor-footnotes"')[1]
    assert 'href="#tutor-src-t1-1"' in footnotes and "</a> Article › Kotter</div>" in footnotes
    assert "copes with complexity" not in footnotes  # where the passage is, not the answer's words again
    # the Sources panel has the target of that link, with the cited sentence marked
    panel = render.turns_html([{"turn": "t1", "question": "Q?", "citations": [c]}])
    assert 'id="tutor-src-t1-1"' in panel and "<mark data-n=\"1\">Management copes with complexity.</mark>" in panel


def test_section_names_the_heading_path_without_the_article_title():
    c = _citation(n=1, text="x", start=0, highlight=(0, 1), heading="T › Part › Kotter")
    assert render.section_of(c) == "Part › Kotter"
    assert render.section_of({**c, "heading": ""}) == "T"


def test_sources_panel_keeps_every_answer_grouped_by_turn():
    a = _citation(n=1, text="First passage.", start=0, highlight=(0, 14))
    b = _citation(n=1, text="Second passage.", start=50, highlight=(50, 65))
    out = render.turns_html([{"turn": "new", "question": "Second?", "citations": [b]},
                             {"turn": "old", "question": "First?", "citations": [a]}])
    assert out.index("Second?") < out.index("First?")
    assert 'id="tutor-src-new-1"' in out and 'id="tutor-src-old-1"' in out
    assert out.count("<section") == 2 and "Latest answer" in out and "Earlier answer 1" in out
    assert '<details class="tutor-src" id="tutor-src-new-1" data-n="1" open>' in out
    assert '<details class="tutor-src" id="tutor-src-old-1" data-n="1">' in out


def test_mastery_bars_are_named():
    out = render.progress_html({"answered": 0, "correct": 0, "total": 1, "objectives": [
        {"id": "o1", "title": "The distinction", "answered": 0, "total": 1, "mastery": 0.0}]})
    assert 'role="progressbar" aria-label="Mastery: The distinction"' in out


def test_passage_marks_the_cited_sentence_and_escapes_the_rest():
    c = _citation(n=2, text="A <b>bold</b> claim. Management copes with complexity.", start=10, highlight=(31, 64))
    out = render.passages_html([c])
    assert "<mark data-n=\"2\">Management copes with complexity.</mark>" in out
    assert "&lt;b&gt;bold&lt;/b&gt;" in out and "<b>bold" not in out


def test_article_view_highlights_by_document_offsets():
    text = "Title\n\nFirst para. Cited sentence here.\n\nLast <i>para</i>."
    at = text.index("Cited")
    doc = SimpleNamespace(doc_id="d", title="T & co", text=text, headings=(Heading(0, 5, 1, "Title"),))
    c = _citation(n=1, text=text[7:39], start=7, highlight=(at, at + len("Cited sentence here.")))
    out = render.article_html(doc, [c])
    assert "<h4>Title</h4>" in out
    assert '<mark data-n="1">Cited sentence here.</mark>' in out
    assert "&lt;i&gt;para&lt;/i&gt;" in out and "T &amp; co" in out


def test_progress_panel_shows_mastery_per_objective():
    out = render.progress_html({
        "answered": 2, "correct": 1, "total": 5,
        "objectives": [{"id": "o1", "title": "Kotter <distinction>", "answered": 2, "total": 4, "mastery": 0.375}],
    })
    assert "38% mastery" in out and "2/4 asked" in out and "&lt;distinction&gt;" in out


def test_problem_page_says_how_to_fix():
    out = render.problem_html("no index at /x; run `tutor ingest` to build it")
    assert "tutor ingest" in out and "No index at /x" in out


# ---- origins ---------------------------------------------------------------------
def test_default_policy_is_loopback_only():
    p = OriginPolicy()
    assert p.allows("http://127.0.0.1:8000") and p.allows("http://localhost")
    assert not p.allows("https://evil.example") and not p.allows("http://127.0.0.1.evil.example")
    assert p.frame_ancestors().startswith("frame-ancestors 'self' http://127.0.0.1:*")


def test_allowed_origins_from_flag_or_env(monkeypatch):
    assert parse_origins("https://a.example, http://b.example:8080/") == ["https://a.example", "http://b.example:8080"]
    monkeypatch.setenv("TUTOR_ALLOWED_ORIGINS", "https://school.example")
    assert parse_origins(None) == ["https://school.example"]
    p = OriginPolicy(("https://school.example",))
    assert p.allows("https://school.example") and not p.allows("https://school.example.evil")
    assert "https://school.example" in p.frame_ancestors()
    assert OriginPolicy(("*",)).frame_ancestors() == "frame-ancestors *"


@pytest.mark.parametrize("bad", ["school.example", "https://a.example/path", "ftp://a.example", "https://"])
def test_bad_origin_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="scheme://host"):
        parse_origins(bad)


# ---- store -------------------------------------------------------------------------
def test_store_round_trip_and_reopen(tmp_path):
    path = tmp_path / "web.sqlite3"
    store = WebStore(path)
    store.save("sid", "app", {"messages": [{"role": "user", "content": "hi"}]})
    secret = store.secret()
    fid = store.add_feedback(session_id="sid", view="app", vote="like", question="q", reply="r",
                             citations=[{"n": 1}], mode="explain", doc_id="d")
    store.close()
    again = WebStore(path)  # migrations are not re-applied
    assert again.load("sid", "app") == {"messages": [{"role": "user", "content": "hi"}]}
    assert again.load("sid", "widget") is None
    assert again.secret() == secret
    [row] = again.feedback()
    assert row["id"] == fid and row["vote"] == "like" and row["citations"] == [{"n": 1}]
    with pytest.raises(ValueError, match="like, dislike"):
        again.add_feedback(session_id="s", view="app", vote="meh", question="", reply="", citations=[])


# ---- conversations (the chat generator, no server) -----------------------------------
@pytest.fixture
def chat(engine, tmp_path):
    return TutorChat(engine, WebStore(tmp_path / "web.sqlite3"))


def test_reply_streams_placeholder_then_cited_answer(chat):
    sid = chat.new_sid()
    views = list(chat.respond(sid, "app", KOTTER))
    first, last = views[0], views[-1]
    assert first.messages[-1]["content"].startswith('<span class="tutor-typing">')
    assert last.messages[0] == {"role": "user", "content": render.escape_text(KOTTER)}
    answer = last.messages[-1]["content"]
    assert "complexity" in answer and '<a class="tutor-ref" href="#tutor-src-' in answer
    assert "tutor-footnotes" in answer
    cited = " ".join(render.cited_sentences(c) for c in last.sources)
    assert "copes with complexity" in cited
    # the reply grows sentence by sentence before the final answer replaces it
    partial = [v.messages[-1]["content"] for v in views[1:-1]]
    assert len(partial) >= 2 and all("tutor-streaming" in p for p in partial)
    texts = [p.split("<span")[0] for p in partial]
    assert all(a != b and b.startswith(a) for a, b in zip(texts, texts[1:], strict=False)), texts
    assert last.turns and last.turns[0]["citations"] == last.sources


def test_empty_message_is_ignored(chat):
    sid = chat.new_sid()
    [view] = list(chat.respond(sid, "app", "   \n "))
    assert view.messages == []


def test_too_long_message_gets_a_clear_note_and_stays_in_the_box(chat):
    sid = chat.new_sid()
    long = "why " * (MAX_MESSAGE_CHARS // 4 + 10)
    [view] = list(chat.respond(sid, "app", long))
    assert len(view.messages) == 1
    note = view.messages[0]["content"]
    assert f"the limit is {MAX_MESSAGE_CHARS:,}" in note and "shorten" in note
    assert view.draft == long


def test_markup_in_a_message_is_shown_as_text(chat):
    view = list(chat.respond(chat.new_sid(), "app", SCRIPT))[-1]
    shown = view.messages[0]["content"]
    assert "<script" not in shown and "<img" not in shown and "&lt;script&gt;" in shown
    assert "\\*\\*bold\\*\\*" in shown


def test_browsers_do_not_share_conversations(chat):
    a, b = chat.new_sid(), chat.new_sid()
    list(chat.respond(a, "app", KOTTER))
    assert chat.open(b, "app").messages == []
    assert len(chat.open(a, "app").messages) == 2


def test_conversation_survives_a_restart(engine, tmp_path):
    store_path = tmp_path / "web.sqlite3"
    first = TutorChat(engine, WebStore(store_path))
    sid = first.new_sid()
    list(first.respond(sid, "widget:d:explain", KOTTER))
    first.switch_mode(sid, "widget:d:explain", "socratic")
    again = TutorChat(engine, WebStore(store_path)).open(sid, "widget:d:explain")
    assert again.mode == "socratic"
    assert "complexity" in again.messages[1]["content"]
    assert again.sources and again.sources[0]["highlights"]


def test_quiz_asks_first_and_tracks_progress(chat):
    sid = chat.new_sid()
    view = chat.switch_mode(sid, "app", "Quiz")
    assert view.mode == "quiz" and "Question 1 of" in view.messages[-1]["content"]
    assert view.progress["answered"] == 0 and view.progress["objectives"]
    view = list(chat.respond(sid, "app", "I don't know"))[-1]
    assert view.progress["answered"] == 1
    graded, nxt = view.messages[-2]["content"], view.messages[-1]["content"]
    assert "The answer:" in graded and "Question 2 of" not in graded  # one turn, one message each
    assert nxt.startswith("Question 2 of")


def test_new_conversation_asks_first_and_keeps_the_quiz_score_unless_reset(chat):
    sid = chat.new_sid()
    chat.switch_mode(sid, "app", "quiz")
    list(chat.respond(sid, "app", "I don't know"))
    view = chat.new_conversation(sid, "app")
    assert [m["content"].split(": ")[0] for m in view.messages] == ["Quiz time\\. Question 2 of 26"]
    assert view.progress["answered"] == 1  # the quiz goes on where it was
    view = chat.new_conversation(sid, "app", reset_quiz=True)
    assert view.progress["answered"] == 0 and "Question 1 of" in view.messages[-1]["content"]


def test_quiz_from_the_widget_url_opens_with_a_question(chat):
    view = chat.open(chat.new_sid(), "widget:x:quiz", mode="quiz", doc_id="no-such-article")
    assert view.doc_id == "leadership-vs-management"
    assert "Question 1 of" in view.messages[0]["content"]


def test_socratic_mode_answers_with_a_question(chat):
    sid = chat.new_sid()
    note = chat.switch_mode(sid, "app", "socratic").messages[-1]["content"]
    assert "Socratic mode" in note
    question = "Why do organizations need leadership?"
    reply = list(chat.respond(sid, "app", question))[-1].messages[-1]["content"]
    assert "?" in reply and "Let's work it out" in reply
    assert question not in reply.replace("\\", "")  # the tutor's own guiding question, not an echo


def test_a_too_long_message_note_and_mode_notes_are_their_own_messages(chat):
    sid = chat.new_sid()
    list(chat.respond(sid, "app", KOTTER))
    list(chat.respond(sid, "app", "why " * MAX_MESSAGE_CHARS))
    view = chat.switch_mode(sid, "app", "socratic")
    roles = [m["role"] for m in view.messages]
    assert roles == ["user", "assistant", "assistant", "assistant"]
    answer, length_note, mode_note = (m["content"] for m in view.messages[1:])
    assert "complexity" in answer and "limit is" not in answer and "Socratic mode" not in answer
    assert "limit is" in length_note and "Socratic mode" in mode_note


def test_new_conversation_forgets_the_chat(chat):
    sid = chat.new_sid()
    list(chat.respond(sid, "app", KOTTER))
    view = chat.new_conversation(sid, "app")
    assert view.messages == [] and view.sources == []


def test_like_and_dislike_are_stored_with_question_reply_and_citations(chat):
    sid = chat.new_sid()
    list(chat.respond(sid, "app", KOTTER))
    assert chat.rate(sid, "app", 1, True)
    assert chat.rate(sid, "app", 1, False)
    assert not chat.rate(sid, "app", 0, True)  # the learner's own message
    like, dislike = chat.store.feedback()
    assert (like["vote"], dislike["vote"]) == ("like", "dislike")
    assert like["question"] == KOTTER and "complexity" in like["reply"] and like["session_id"] == sid
    assert like["citations"][0]["doc_id"] == "leadership-vs-management"


def test_typed_error_becomes_its_message_and_a_crash_a_short_apology(chat, monkeypatch):
    from tutor.session import Session

    sid = chat.new_sid()
    chat.open(sid, "app")

    def broken(self, message):  # every request rebuilds its Session from the store
        raise IndexBrokenError("the index at /x is damaged; run `tutor ingest --rebuild`")
        yield  # pragma: no cover

    monkeypatch.setattr(Session, "stream", broken)
    last = list(chat.respond(sid, "app", KOTTER))[-1].messages[-1]["content"]
    assert "The index at /x is damaged; run `tutor ingest --rebuild`." in last

    def crash(self, message):
        yield "Partial "
        raise RuntimeError("boom\nTraceback (most recent call last)")

    monkeypatch.setattr(Session, "stream", crash)
    views = list(chat.respond(sid, "app", KOTTER))
    assert views[1].messages[-1]["content"].startswith("Partial <span")  # streamed deltas reach the page
    last = views[-1].messages[-1]["content"]
    assert SORRY in last and "Traceback" not in last and "boom" not in last


def test_ask_returns_json_with_citations_and_continues_a_session(chat):
    out = chat.ask(KOTTER)
    json.dumps(out)
    assert "complexity" in out["answer"] and not out["declined"] and out["mode"] == "explain"
    c = out["citations"][0]
    assert {"n", "doc_id", "title", "text", "score", "heading", "start", "end", "highlights"} <= set(c)
    assert chat.valid_sid(out["session_id"])
    nxt = chat.ask("Why do organizations need leadership?", "socratic", "", out["session_id"])
    assert nxt["session_id"] == out["session_id"] and nxt["mode"] == "socratic"
    with pytest.raises(ValueError, match="explain, socratic, quiz"):
        chat.ask("hi", "lecture")
    with pytest.raises(ValueError, match="unknown article"):
        chat.ask("hi", "explain", "nope")


def test_ask_starts_a_quiz_with_question_1_and_grades_nothing(chat):
    out = chat.ask("Start the quiz", "quiz")
    assert out["answer"].startswith("Quiz time. Question 1 of") and out["mode"] == "quiz"
    assert out["progress"]["answered"] == 0 and not out["partial"]
    nxt = chat.ask("I don't know", session_id=out["session_id"])  # no mode: the session keeps quiz
    assert nxt["mode"] == "quiz" and "Question 2 of" in nxt["answer"] and nxt["progress"]["answered"] == 1
    again = chat.ask("I don't know", "quiz", "", out["session_id"])  # same mode again: still grades
    assert "Question 3 of" in again["answer"] and again["progress"]["answered"] == 2
    explain = chat.ask(KOTTER, "explain", "", out["session_id"])
    assert explain["mode"] == "explain" and "complexity" in explain["answer"]
    back = chat.ask("Let's go on", "quiz", "", out["session_id"])  # back to the quiz: asks, grades nothing
    assert back["answer"].startswith("Quiz time. Question 3 of") and back["progress"]["answered"] == 2


def test_ask_streams_partial_replies_then_the_final_one(chat):
    outs = list(chat.ask_stream(KOTTER))
    partial, final = outs[:-1], outs[-1]
    assert len(partial) >= 2 and all(p["partial"] for p in partial) and not final["partial"]
    answers = [p["answer"] for p in partial]
    assert all(b.startswith(a) and b != a for a, b in zip(answers, answers[1:], strict=False))
    assert final["answer"].startswith(answers[-1].rstrip()) and final["citations"]
    assert final["responder"] == "grounded" and final["notice"] is None
    assert set(final) >= {"answer", "declined", "mode", "citations", "latency_ms", "responder", "notice",
                          "session_id", "partial"}


@pytest.mark.parametrize("transcript", transcripts.params())
def test_quiz_transcript_through_the_api(chat, transcript):
    out = chat.ask("Quiz me, please", "quiz")
    assert out["answer"].startswith("Quiz time. Question 1 of") and out["progress"]["answered"] == 0
    for turn in transcript["turns"]:
        out = chat.ask(turn["say"], session_id=out["session_id"])
        assert out["mode"] == "quiz"
        assert turn["reply"] in out["answer"] and turn["then"] in out["answer"], (turn["say"], out["answer"])
        assert [out["progress"]["correct"], out["progress"]["answered"]] == turn["progress"]


def test_one_conversation_answers_one_message_at_a_time(chat):
    sid = chat.new_sid()
    chat.open(sid, "app")
    results = []

    def learner(q):
        results.append(list(chat.respond(sid, "app", q))[-1])

    threads = [threading.Thread(target=learner, args=(q,)) for q in (KOTTER, "What do leaders do?", "Who is Kotter?")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = chat.open(sid, "app").messages
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3


class FakeLLM:
    """Streams an explain answer in pieces, as an LLM responder does."""

    def stream_explain(self, question, doc_id=None, k=4, history=None):
        from tutor.reply import Reply

        yield "Management "
        yield "copes with *complexity*."
        yield Reply(answer="Management copes with *complexity*.", declined=False, mode="explain",
                    responder="llm", notice="answered by a fake model")

    def rewrite(self, text, history):
        return text


def test_llm_deltas_stream_to_the_page_escaped(engine, tmp_path):
    chat = TutorChat(engine, WebStore(tmp_path / "web.sqlite3"), llm=FakeLLM())
    views = list(chat.respond(chat.new_sid(), "app", KOTTER))
    shown = [v.messages[-1]["content"].split("<span")[0] for v in views]
    assert shown[1:3] == ["Management ", "Management copes with \\*complexity\\*\\."]
    last = views[-1].messages
    assert last[-2]["content"] == "Management copes with \\*complexity\\*\\."  # the answer's own bubble
    assert last[-1] == render.notice_message("Answered by a fake model.")  # the notice is its own message


@pytest.fixture
def two_articles(fresh_home, embedder):
    from tests.conftest import CORPUS
    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.index import Index

    settings = Settings(home=fresh_home)
    extra = Path(__file__).parent / "data" / "article_page.html"
    report = Index(settings, embedder=embedder).ingest([CORPUS, extra])
    assert not report.failed, report.failed
    return Engine.open(settings, auto_ingest=False, embedder=embedder)


def test_picking_another_article_starts_a_conversation_about_it(two_articles, tmp_path):
    chat = TutorChat(two_articles, WebStore(tmp_path / "web.sqlite3"))
    sid = chat.new_sid()
    first = chat.open(sid, "app").doc_id
    other = next(d for d in chat.documents() if d != first)
    list(chat.respond(sid, "app", KOTTER))
    view = chat.switch_doc(sid, "app", other)
    assert view.doc_id == other and view.messages == []
    reply = list(chat.respond(sid, "app", "What is this article about?"))[-1]
    assert all(c["doc_id"] == other for c in reply.sources)
    note = chat.switch_doc(sid, "app", "nope").messages[-1]["content"]
    assert "There is no article" in note


def test_the_page_offers_an_article_picker_only_with_several_articles(engine, two_articles, tmp_path):
    from starlette.testclient import TestClient

    from tutor.web.app import create_app

    def picker_visible(eng, name):
        with TestClient(create_app(eng, store=WebStore(tmp_path / name))) as client:
            config = client.get("/config").json()
        [dropdown] = [c for c in config["components"] if c["type"] == "dropdown"]
        return dropdown["props"]["visible"]

    assert picker_visible(two_articles, "two.sqlite3") is True
    assert picker_visible(engine, "one.sqlite3") is False


# ---- a live server: headers, widget URL, API, queue ------------------------------------
@pytest.fixture(scope="module")
def live(engine, tmp_path_factory):
    from tutor.web.app import create_app
    from tutor.web.server import start

    store = WebStore(tmp_path_factory.mktemp("web") / "web.sqlite3")
    server = start(create_app(engine, store=store, concurrency=2))
    yield server
    server.stop()


def test_loopback_origins_agree_between_cors_and_framing():
    p = OriginPolicy()
    for host in ("127.0.0.1", "localhost", "[::1]"):
        for scheme in ("http", "https"):
            assert p.allows(f"{scheme}://{host}:8000") and p.allows(f"{scheme}://{host}")
            assert f"{scheme}://{host}:*" in p.frame_ancestors().split()


@pytest.mark.slow
def test_headers_limit_framing_and_cors_to_loopback(live):
    ok = httpx.get(live.url + "/", headers={"Origin": "http://127.0.0.1:5555"})
    assert ok.status_code == 200
    assert ok.headers["content-security-policy"].startswith("frame-ancestors 'self' http://127.0.0.1:*")
    assert "http://[::1]:*" in ok.headers["content-security-policy"]
    assert ok.headers["access-control-allow-origin"] == "http://127.0.0.1:5555"
    for path in ("/", "/widget/", "/gradio_api/info", "/gradio.js"):
        r = httpx.get(live.url + path, headers={"Origin": "http://[::1]:5555"})
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert r.headers.get_list("vary") == ["Origin"] or [
            v.strip() for v in ",".join(r.headers.get_list("vary")).split(",")].count("Origin") == 1, path
        assert r.headers["access-control-allow-origin"] == "http://[::1]:5555", path
    evil = httpx.get(live.url + "/gradio_api/info", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
    pre = httpx.options(live.url + "/gradio_api/queue/join", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.headers.get("access-control-allow-origin") != "https://evil.example"


@pytest.mark.slow
def test_widget_url_and_web_component_loader(live):
    r = httpx.get(live.url + "/widget?doc=leadership-vs-management&mode=quiz")
    assert r.status_code == 307 and r.headers["location"] == "/widget/?doc=leadership-vs-management&mode=quiz"
    assert httpx.get(live.url + "/widget/").status_code == 200
    js = httpx.get(live.url + "/gradio.js")
    assert js.status_code == 200 and "import(" in js.text


@pytest.mark.slow
def test_gradio_client_gets_a_cited_answer(live):
    from gradio_client import Client

    client = Client(live.url, verbose=False)
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/ask"]
    [returns] = api["returns"]
    assert returns["type"]["type"] == "object", returns  # a declared schema, not Any
    assert {"answer", "declined", "mode", "citations", "latency_ms", "responder", "notice",
            "session_id"} <= set(returns["type"]["properties"])
    assert [p["parameter_name"] for p in api["parameters"]] == ["message", "mode", "doc_id", "session_id"]
    out = client.predict(KOTTER, "explain", "", "", api_name="/ask")
    assert "complexity" in out["answer"].lower() and not out["declined"]
    assert out["citations"] and out["citations"][0]["highlights"]
    assert out["responder"] == "grounded" and out["notice"] is None and out["partial"] is False
    with pytest.raises(Exception, match="limit is"):
        client.predict("x" * (MAX_MESSAGE_CHARS + 1), api_name="/ask")


@pytest.mark.slow
def test_gradio_client_streams_the_reply_and_starts_a_quiz_with_question_1(live):
    from gradio_client import Client

    client = Client(live.url, verbose=False)
    job = client.submit(KOTTER, "explain", "", "", api_name="/ask")
    outputs = list(job)  # every update the server sent, partial ones first
    final = job.result()
    partial = [o["answer"] for o in outputs if o["partial"]]
    assert len(set(partial)) >= 2 and all(b.startswith(a) for a, b in zip(partial, partial[1:], strict=False))
    assert final["partial"] is False and "complexity" in final["answer"] and final["citations"]

    quiz = client.predict("Start the quiz", "quiz", "", "", api_name="/ask")
    assert quiz["answer"].startswith("Quiz time. Question 1 of") and quiz["progress"]["answered"] == 0
    nxt = client.predict("I don't know", api_name="/ask", session_id=quiz["session_id"])
    assert nxt["mode"] == "quiz" and "Question 2 of" in nxt["answer"] and nxt["progress"]["answered"] == 1


@pytest.mark.slow
def test_many_learners_are_queued_not_dropped(live):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    def learner(i):
        client = Client(live.url, verbose=False)
        return [client.predict(q, api_name="/ask")["answer"] for q in (KOTTER, "What do leaders do?")]

    with ThreadPoolExecutor(12) as pool:  # 12 learners against a concurrency limit of 2
        answers = list(pool.map(learner, range(12)))
    assert len(answers) == 12 and all(a and all(a) for a in answers)


@pytest.mark.slow
def test_missing_index_gives_a_page_that_says_how_to_fix_it(tmp_path):
    from starlette.testclient import TestClient

    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.web.app import create_app

    engine = Engine(Settings(home=tmp_path / "empty"))
    with TestClient(create_app(engine)) as client:
        for path in ("/config", "/widget/config"):
            config = client.get(path).text
            assert "tutor ingest" in config and "No index at" in config


def test_a_server_without_index_restarts_itself_once_the_index_works():
    from tutor.web.server import restart_when_ready

    checks, restarted = [], threading.Event()
    answers = iter([False, RuntimeError("store still down"), False, True])

    def ready():
        checks.append(1)
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def restart(argv):
        assert argv == ["python", "-m", "tutor", "serve"]
        restarted.set()

    thread = restart_when_ready(ready, ["python", "-m", "tutor", "serve"], interval=0.01, restart=restart)
    assert restarted.wait(5) and len(checks) == 4, "a failing check counts as not ready"
    thread.join(1)
    assert not thread.is_alive()


@pytest.mark.slow
def test_serve_on_a_damaged_index_recovers_after_a_rebuild_without_a_manual_restart(tmp_path, embedder):
    """The operator runs `tutor ingest --rebuild` while `tutor serve` shows the
    not-ready page; the same server process then answers."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from gradio_client import Client

    from tests.conftest import CORPUS
    from tutor.config import Settings
    from tutor.index import Index

    home = tmp_path / "home"
    Index(Settings(home=home), embedder=embedder).ingest([CORPUS])
    for f in (home / "index").rglob("chroma.sqlite3"):
        f.write_bytes(b"this is not a database" * 100)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TUTOR_HOME": str(home), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("TUTOR_LLM", None)
    env.pop("TUTOR_CHROMA_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "tutor", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "the server did not come up"
            try:
                config = httpx.get(url + "config", timeout=5).text
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert "tutor ingest --rebuild" in config and "restarts itself" in config

        Index(Settings(home=home), embedder=embedder).ingest([CORPUS], rebuild=True)

        answer = None
        while answer is None:
            assert server.poll() is None, "the server exited instead of restarting in place"
            assert time.monotonic() < deadline, "the server did not pick up the rebuilt index"
            try:
                reply = Client(url, verbose=False).predict(
                    "What does Kotter say management copes with?", api_name="/ask")
                answer = reply
            except Exception:  # noqa: BLE001 - not ready yet, restarting, or still the old page
                time.sleep(0.5)
        assert "complexity" in answer["answer"] and not answer["declined"]
        assert any("copes with complexity" in c["text"] for c in answer["citations"])
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "restarting the tutor" in output


def test_serve_rejects_a_bad_origin(capsys):
    from tutor.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--allowed-origins", "school.example"])
    assert exit_.value.code == 1
    assert "error: 'school.example' is not an origin" in capsys.readouterr().err


def _citation(n, text, start, highlight, heading="Article › Kotter"):
    from tutor.reply import Citation

    return asdict(Citation(n=n, doc_id="d", title="T", text=text, score=0.5, start=start,
                           end=start + len(text), heading=heading, highlights=[highlight]))


def test_warm_up_loads_everything_a_first_content_question_needs(seed_home, embedder):
    """A metadata question alone embeds nothing, so the warm-up also asks about
    the content: the first learner must not pay for loading the embedder, the
    support judge or WordNet's index."""
    from tutor import lexicon
    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.web.server import warm_up

    engine = Engine.open(Settings(home=seed_home), auto_ingest=False)
    assert engine.index._embedder is None and engine._scorer is None
    warm_up(engine)
    assert engine.index._embedder is not None
    assert engine._scorer is not None
    assert "members" in lexicon._data()
