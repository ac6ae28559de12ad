"""Bringing an article in a real browser (Chromium via Playwright): the full page
of `tutor serve --allow-uploads` over a private copy of the seed index. One dev
article's HTML uploaded as a file and one pasted text are added with a visible
progress bar, appear in the article picker at once (and in the widget's
`doc=`), and are answered with citations; an empty and a binary upload each
show ingest's one-line error and leave the library as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

from axe_audit import audit, blocking, describe  # noqa: E402
from test_browser import WAIT, _last_bot, _ready, _send  # noqa: E402

JFK_HTML = Path(__file__).resolve().parent.parent / "evals" / "articles" / "jfk-inaugural-address" / "article.html"
INGEST_WAIT = 180_000  # ms: parsing and embedding on a busy machine
BEES = """Honeybee Navigation

Honeybees find their way back to the hive by using the sun as a compass.

A forager that has found nectar returns to the hive and performs a waggle dance on the comb. \
The angle of the waggle run tells the other bees the direction of the flowers relative to the sun. \
The duration of the waggle run tells them how far away the flowers are.

On cloudy days bees can still navigate, because they see the polarized light of patches of blue sky.
"""
# Set on the status box before an upload: records whether a progress bar was ever shown in it.
WATCH_PROGRESS = """() => {
  window.tutorSawProgress = false;
  const box = document.querySelector('#tutor-add-status');
  const look = () => { if (box.querySelector('progress')) window.tutorSawProgress = true; };
  new MutationObserver(look).observe(box, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@pytest.fixture(scope="module")
def engine(seed_home, tmp_path_factory, embedder):
    from tutor.config import Settings
    from tutor.engine import Engine

    home = tmp_path_factory.mktemp("browser-uploads") / "home"
    shutil.copytree(seed_home, home)
    return Engine.open(Settings(home=home), auto_ingest=False, embedder=embedder)


@pytest.fixture(scope="module")
def tutor(engine, tmp_path_factory):
    from tutor.web.app import create_app
    from tutor.web.server import start
    from tutor.web.store import WebStore

    store = WebStore(tmp_path_factory.mktemp("web") / "web.sqlite3")
    server = start(create_app(engine, store=store, allow_uploads=True))
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _library(engine) -> dict[str, str]:
    return {d: s.content_hash for d, s in engine.index.snapshot(max_age=0).documents.items()}


def _open_control(page, tutor):
    page.goto(tutor.url + "/")
    _ready(page)
    page.locator("#tutor-add").get_by_text("Add an article").click()
    expect(page.locator("#tutor-add-go")).to_be_visible(timeout=WAIT)
    page.evaluate(WATCH_PROGRESS)


def _choose_file(page, path: Path):
    page.locator("#tutor-add-file input[type=file]").set_input_files(str(path))
    # uploaded: the component links to the server's copy (it shows the name split at the dot)
    expect(page.locator(f'#tutor-add-file a[href$="/{path.name}"]')).to_be_visible(timeout=WAIT)


def _add(page):
    page.locator("#tutor-add-go").click()


def _pick(page, title: str):
    picker = page.get_by_label("Article", exact=True)
    expect(picker).to_be_visible(timeout=WAIT)
    picker.click()
    page.get_by_role("option", name=title).click()
    expect(page.locator(".tutor-title")).to_contain_text(title, timeout=WAIT)


def _cited(page, must: str, title: str):
    answer = _last_bot(page)
    expect(answer).to_contain_text(must, timeout=WAIT)
    expect(answer.get_by_role("link", name="[1] source 1").first).to_be_visible()
    expect(answer.locator(".tutor-footnotes")).to_contain_text("source 1")
    expect(page.locator("#tutor-sources")).to_contain_text(title)


def test_an_uploaded_page_and_a_pasted_text_are_added_and_answered(page, tutor, engine, tmp_path, artifacts):
    before = _library(engine)
    article = tmp_path / "jfk-inaugural-address.html"
    shutil.copyfile(JFK_HTML, article)

    _open_control(page, tutor)
    _choose_file(page, article)
    _add(page)
    status = page.locator("#tutor-add-status")
    expect(status).to_contain_text("Added “", timeout=INGEST_WAIT)
    assert page.evaluate("window.tutorSawProgress"), "no progress bar was shown while the article was added"
    title = engine.documents["jfk-inaugural-address"].title
    expect(status).to_contain_text(title)
    page.screenshot(path=artifacts / "page-upload-added.png", full_page=True)

    _pick(page, title)
    _send(page, "What power does man hold in his mortal hands?")
    _cited(page, "abolish", title)
    page.screenshot(path=artifacts / "page-upload-answer.png", full_page=True)

    page.evaluate(WATCH_PROGRESS)
    page.locator("#tutor-add-text textarea").fill(BEES)
    _add(page)
    expect(status).to_contain_text("Added “Honeybee Navigation”", timeout=INGEST_WAIT)
    assert page.evaluate("window.tutorSawProgress"), "no progress bar was shown for the pasted text"
    expect(page.locator("#tutor-add-text textarea")).to_have_value("")
    _pick(page, "Honeybee Navigation")
    _send(page, "How do honeybees tell other bees how far away the flowers are?")
    _cited(page, "duration", "Honeybee Navigation")

    after = _library(engine)
    assert set(after) == set(before) | {"jfk-inaugural-address", "honeybee-navigation"}
    assert all(after[d] == h for d, h in before.items())

    # the widget takes the new article at once, by its doc_id
    page.goto(f"{tutor.url}/widget?doc=honeybee-navigation")
    _ready(page)
    expect(page.locator(".tutor-doc-title")).to_have_text("Honeybee Navigation")
    _send(page, "What do bees use as a compass?")
    expect(_last_bot(page)).to_contain_text("sun", timeout=WAIT)
    expect(_last_bot(page).get_by_role("link", name="[1] source 1").first).to_be_visible()


@pytest.mark.parametrize(("name", "data", "error"), [
    ("empty.md", b"", "empty.md: file is empty."),
    ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
     "photo.txt: binary file (contains NUL bytes), not text."),
])
def test_an_empty_or_binary_upload_shows_the_error_and_changes_nothing(page, tutor, engine, tmp_path, name, data,
                                                                      error):
    before = _library(engine)
    bad = tmp_path / name
    bad.write_bytes(data)
    _open_control(page, tutor)
    _choose_file(page, bad)
    _add(page)
    alert = page.locator("#tutor-add-status [role=alert]")
    expect(alert).to_have_text(error, timeout=INGEST_WAIT)
    assert "\n" not in alert.inner_text().strip()
    found = blocking(audit(page))  # the open control and its error, for axe-core
    assert not found, describe(found)
    assert _library(engine) == before
    uploads = Path(engine.settings.home) / "uploads"
    assert not (uploads / name).exists()
    # the picker lists the same articles as before
    page.reload()
    _ready(page)
    picker = page.get_by_label("Article", exact=True)
    if len(before) > 1:
        picker.click()
        expect(page.get_by_role("option")).to_have_count(len(before))
    else:
        expect(picker).to_be_hidden()
