"""Adding an article from the web UI (`tutor.web.uploads`), without a browser:
the checks and one-line errors of `tutor ingest`, a failed upload leaving the
library exactly as it was, URLs fetched from a page served on loopback (with a
timeout and a size cap), the writer lock, and Gradio's own upload endpoint
capped per page on a live server."""

from __future__ import annotations

import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tutor.errors import IngestBusyError, InputFileError
from tutor.web.uploads import Uploads, run_with_progress, upload_limit

MB = 1024 * 1024
ARTICLES = Path(__file__).resolve().parent.parent / "evals" / "articles"
JFK_HTML = ARTICLES / "jfk-inaugural-address" / "article.html"
BEES = """Honeybee Navigation

Honeybees find their way back to the hive by using the sun as a compass.

A forager that has found nectar returns to the hive and performs a waggle dance on the comb. \
The angle of the waggle run tells the other bees the direction of the flowers relative to the sun. \
The duration of the waggle run tells them how far away the flowers are.

On cloudy days bees can still navigate, because they see the polarized light of patches of blue sky.
"""


@pytest.fixture(scope="module")
def home(seed_home, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("uploads") / "home"
    shutil.copytree(seed_home, copy)
    return copy


@pytest.fixture(scope="module")
def engine(home, embedder):
    from tutor.config import Settings
    from tutor.engine import Engine

    return Engine.open(Settings(home=home), auto_ingest=False, embedder=embedder)


@pytest.fixture(scope="module")
def uploads(engine):
    return Uploads(engine, max_mb=1.0, timeout=1.0)


def _library(engine) -> tuple[str, dict]:
    snap = engine.index.snapshot(max_age=0)
    return snap.version, {d: s.content_hash for d, s in snap.documents.items()}


def _kept_files(engine) -> list[str]:
    folder = Path(engine.settings.home) / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- refused: one line, nothing changed ------------------------------------------
SHIFT_JIS = ("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 30).encode("shift_jis")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("empty.md", b"", "empty.md: file is empty"),
    ("blank.txt", b"  \n\n\t \n", "blank.txt: file is empty"),
    ("photo.html", PNG, "photo.html: binary file (contains NUL bytes), not text"),
    ("photo.pdf", PNG, "photo.pdf: not a PDF (the file does not start with %PDF)"),
    ("novel.txt", SHIFT_JIS, "novel.txt: not UTF-8 (looks like Shift-JIS); re-save it as UTF-8"),
    ("huge.txt", b"word " * (MB // 4), "huge.txt: file is 1.2 MB; the limit for uploads is 1 MB"),
    ("report.docx", b"PK\x03\x04", "report.docx: unsupported file type '.docx'; accepted:"),
    ("no-suffix", b"text", "no-suffix: unsupported file type '(none)'"),
    ("menu.html", b"<html><body><nav>Home | About</nav></body></html>",
     "menu.html: no article text (only whitespace or boilerplate)"),
])
def test_a_bad_file_gets_the_ingest_error_and_changes_nothing(uploads, engine, tmp_path, name, data, expected):
    before, files = _library(engine), _kept_files(engine)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFileError) as caught:
        uploads.add_file(path)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message and str(tmp_path) not in message and ".staging" not in message
    assert _library(engine) == before
    assert _kept_files(engine) == files


def test_empty_pasted_text_is_refused(uploads, engine):
    before = _library(engine)
    with pytest.raises(InputFileError, match="^pasted text: file is empty$"):
        uploads.add_text(" \n\t")
    assert _library(engine) == before


def test_pasted_text_with_lone_surrogates_is_refused(uploads, engine):
    before = _library(engine)
    with pytest.raises(InputFileError, match="^pasted text: holds characters that are not text"):
        uploads.add_text("Bees\ud800 dance.")
    assert _library(engine) == before


def test_an_article_with_the_id_of_another_is_refused_not_replaced(uploads, engine, tmp_path):
    before = _library(engine)
    doc_id = next(iter(before[1]))
    path = tmp_path / f"{doc_id}.txt"
    path.write_text(BEES, encoding="utf-8")
    with pytest.raises(InputFileError, match=f"already has an article with the id '{doc_id}'.*rename the file"):
        uploads.add_file(path)
    assert _library(engine) == before
    assert not (Path(engine.settings.home) / "uploads" / path.name).exists()


def test_a_running_ingest_is_reported_in_one_line(uploads, engine):
    before, files = _library(engine), _kept_files(engine)
    with engine.index.writer_lock():  # as `tutor ingest` holds it
        with pytest.raises(IngestBusyError, match="another ingest is running .*pid \\d+"):
            uploads.add_text(BEES.replace("Honeybee", "Bumblebee"))
    assert _library(engine) == before
    assert _kept_files(engine) == files


# ---- added: in the library at once ------------------------------------------------
def test_pasted_text_is_added_and_answered_with_a_citation(uploads, engine):
    before = _library(engine)
    added = uploads.add_text(BEES)
    assert added.doc_id == "honeybee-navigation" and added.title == "Honeybee Navigation"
    version, docs = _library(engine)
    assert version != before[0]
    assert set(docs) == set(before[1]) | {added.doc_id}
    assert all(docs[d] == h for d, h in before[1].items())  # the others untouched
    assert added.doc_id in engine.documents  # no wait for the snapshot's refresh
    reply = engine.grounded.explain("How do honeybees tell other bees how far away the flowers are?",
                                    doc_id=added.doc_id)
    assert not reply.declined
    assert "duration" in reply.answer and reply.citations
    assert {c.doc_id for c in reply.citations} == {added.doc_id}
    # the same text again: the same article, nothing new
    again = uploads.add_text(BEES)
    assert again.doc_id == added.doc_id and _library(engine)[1] == docs
    # another text that begins with the same words is another article, not a replacement
    other = uploads.add_text(BEES.replace("sun as a compass", "sun and landmarks as guides"))
    assert other.doc_id == "honeybee-navigation-2"
    assert _library(engine)[1][added.doc_id] == docs[added.doc_id]


@pytest.mark.parametrize(("name", "make", "title"), [
    ("rotation-curves.pdf", lambda: (ARTICLES / "dark-matter-rotation-curves" / "article.pdf").read_bytes(),
     "The Data Behind Dark Matter"),
    ("sourdough-notes.md", lambda: b"---\ntitle: Starter Care\nauthor: A. Baker\n---\n\n# Feeding\n\n"
     b"A starter is fed with equal weights of flour and water once a day.\n", "Starter Care"),
])
def test_a_pdf_or_markdown_file_is_added_with_its_own_title(uploads, engine, tmp_path, name, make, title):
    path = tmp_path / name
    path.write_bytes(make())
    added = uploads.add_file(path)
    assert added.doc_id == Path(name).stem and added.title.startswith(title)
    snap = engine.index.snapshot(max_age=0)
    assert any(c.doc_id == added.doc_id for c in snap.chunks)
    assert (Path(engine.settings.home) / "uploads" / name).is_file()


def test_progress_is_reported_while_an_article_is_added(uploads, engine):
    statuses = list(run_with_progress(
        lambda progress: uploads.add_text(BEES.replace("Honeybee Navigation", "How Bees Navigate"), progress),
        "the pasted text",
    ))
    busy = [html for html, added in statuses if added is None]
    assert busy and all("<progress" in html for html in busy)
    assert "Adding the pasted text" in busy[0]
    html, added = statuses[-1]
    assert added is not None and added.doc_id == "how-bees-navigate"
    assert "Added “How Bees Navigate”" in html and 'role="status"' in html


def test_an_error_becomes_one_alert_line(uploads):
    statuses = list(run_with_progress(lambda progress: uploads.add_text("", progress), "the pasted text"))
    html, added = statuses[-1]
    assert added is None
    assert 'role="alert"' in html and "pasted text: file is empty." in html


def test_the_form_takes_exactly_one_article(uploads, tmp_path):
    with pytest.raises(InputFileError, match="^choose a file, paste the article's text or give its web address"):
        uploads.work_for(None, "  \n", "")
    with pytest.raises(InputFileError, match="^give one article at a time"):
        uploads.work_for(str(tmp_path / "a.md"), "Some text.", "")
    with pytest.raises(InputFileError, match="^give one article at a time"):
        uploads.work_for(None, "Some text.", "http://127.0.0.1/a.html")
    assert uploads.work_for(str(tmp_path / "notes.md"), "", " ")[0] == "notes.md"
    assert uploads.work_for(None, "", " http://127.0.0.1/a.html ")[0] == "http://127.0.0.1/a.html"
    assert uploads.work_for(None, "Some text.", None)[0] == "the pasted text"


# ---- URLs ---------------------------------------------------------------------------
class _Pages(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        kind, body, extra = self.routes.get(self.path, ("text/plain", None, {}))
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        if extra.get("sleep"):
            time.sleep(extra["sleep"])
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if not extra.get("chunked"):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Transfer-Encoding", "chunked")  # no length: the cap applies while reading
        self.end_headers()
        for i in range(0, len(body), 64 * 1024):
            piece = body[i:i + 64 * 1024]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    big = b"<html><body><article>" + b"<p>Bees dance.</p>" * (MB // 8) + b"</article></body></html>"
    _Pages.routes = {
        "/speech/jfk-inaugural-address.html": ("text/html; charset=utf-8", JFK_HTML.read_bytes(), {}),
        "/big.html": ("text/html", big, {}),
        "/big-stream": ("text/html", big, {"chunked": True}),
        "/slow.html": ("text/html", b"<p>late</p>", {"sleep": 3}),
        "/photo": ("image/png", PNG, {}),
        "/empty.txt": ("text/plain", b"", {}),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize(("path", "expected"), [
    ("/missing.html", "the server answered 404 Not Found"),
    ("/big.html", "file is 2.3 MB; the limit for uploads is 1 MB"),
    ("/big-stream", "the page is larger than the 1 MB limit for uploads"),
    ("/slow.html", "no answer within 1 s"),
    ("/photo", "unsupported content type 'image/png'"),
    ("/empty.txt", "file is empty"),
])
def test_a_bad_url_gets_one_line_and_changes_nothing(uploads, engine, site, path, expected):
    before, files = _library(engine), _kept_files(engine)
    with pytest.raises(InputFileError) as caught:
        uploads.add_url(site + path)
    message = str(caught.value)
    assert message.startswith(f"{site}{path}: {expected}") and "\n" not in message
    assert _library(engine) == before
    assert _kept_files(engine) == files


@pytest.mark.parametrize("url", ["ftp://example.org/a.txt", "file:///etc/passwd", "example.org/a.html", "http://"])
def test_only_web_addresses_are_fetched(uploads, url):
    with pytest.raises(InputFileError, match="not a web address"):
        uploads.add_url(url)


def test_an_unreachable_server_is_one_line(uploads):
    from tutor.web.server import free_port

    url = f"http://127.0.0.1:{free_port()}/a.html"
    with pytest.raises(InputFileError, match=r"^http://127\.0\.0\.1:\d+/a\.html: cannot be fetched \(.+\)$"):
        uploads.add_url(url)


def test_a_page_fetched_from_a_url_is_added(uploads, engine, site):
    seen = []
    added = uploads.add_url(site + "/speech/jfk-inaugural-address.html", lambda *step: seen.append(step))
    assert added.doc_id == "jfk-inaugural-address"
    assert "Kennedy" in added.title or "Inaugural" in added.title
    assert {"fetching", "loading", "embedding"} <= {phase for phase, _, _ in seen}
    stored = engine.documents[added.doc_id]
    assert stored.source.endswith("uploads/jfk-inaugural-address.html")
    reply = engine.grounded.explain("What power does man hold in his mortal hands?", doc_id=added.doc_id)
    assert not reply.declined and reply.citations
    assert "abolish" in reply.answer


# ---- Gradio's upload endpoint -------------------------------------------------------
def test_the_upload_cap_is_the_upload_size_only_where_uploads_are_offered():
    assert upload_limit(True, 5) == 5 * MB
    assert upload_limit(False, 5) == 0


@pytest.mark.slow
@pytest.mark.parametrize("allow", [True, False])
def test_gradios_upload_endpoint_is_capped_per_page(engine, tmp_path, allow):
    from tutor.web.app import create_app
    from tutor.web.server import start
    from tutor.web.store import WebStore

    app = create_app(engine, store=WebStore(tmp_path / "web.sqlite3"), allow_uploads=allow, max_upload_mb=1)
    server = start(app)
    try:
        def upload(prefix: str, size: int) -> httpx.Response:
            files = {"files": ("notes.txt", b"a" * size, "text/plain")}
            return httpx.post(f"{server.url}{prefix}/gradio_api/upload", files=files, timeout=30)

        small, large = upload("", 10_000), upload("", 2 * MB)
        assert large.status_code == 413 and "maximum allowed size" in large.text
        if allow:
            assert small.status_code == 200, small.text
            assert small.json()[0].endswith("notes.txt")
        else:  # the page offers no uploads: the endpoint takes none
            assert small.status_code == 413
        assert upload("/widget", 10_000).status_code == 413  # the widget never needs one
        page = httpx.get(server.url + "/", timeout=30).text
        assert ("tutor-add-go" in page) is allow  # the control's button (the stylesheet names no id)
    finally:
        server.stop()


@pytest.mark.slow
def test_tutor_serve_takes_uploads_from_the_environment_with_a_5_mb_cap(seed_home, tmp_path):
    import os
    import subprocess
    import sys

    from tutor.web.server import free_port

    home = tmp_path / "home"
    shutil.copytree(seed_home, home)
    port = free_port()
    env = {**os.environ, "TUTOR_HOME": str(home), "HF_HUB_OFFLINE": "1", "TUTOR_ALLOW_UPLOADS": "1"}
    for var in ("TUTOR_LLM", "TUTOR_CHROMA_URL", "TUTOR_MAX_UPLOAD_MB"):
        env.pop(var, None)
    server = subprocess.Popen([sys.executable, "-m", "tutor", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "the server did not come up"
            try:
                config = httpx.get(url + "/config", timeout=5).text
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert "tutor-add-go" in config and "at most 5 MB" in config

        def upload(size: int) -> int:
            files = {"files": ("notes.txt", b"a" * size, "text/plain")}
            return httpx.post(url + "/gradio_api/upload", files=files, timeout=60).status_code

        assert upload(4 * MB) == 200
        assert upload(6 * MB) == 413
    finally:
        server.terminate()
        server.communicate(timeout=30)
