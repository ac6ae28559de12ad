"""The tutor in a real browser (Debian's Chromium driven by Playwright).

One tutor server and one host-page server (examples/ on another port, as a
course site would be) per module; each test gets a fresh browser context, so a
fresh localStorage, i.e. a new learner. Screenshots go to the `artifacts`
folder.
"""

from __future__ import annotations

import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KOTTER = "What does management cope with, according to Kotter?"
WAIT = 20_000  # ms


@pytest.fixture(scope="module")
def tutor(engine, tmp_path_factory):
    from tutor.web.app import create_app
    from tutor.web.server import start
    from tutor.web.store import WebStore

    store = WebStore(tmp_path_factory.mktemp("web") / "web.sqlite3")
    server = start(create_app(engine, store=store))
    server.store = store
    yield server
    server.stop()


@pytest.fixture(scope="module")
def host_page():
    """examples/ served on its own port: the widget is framed from another origin."""
    handler = functools.partial(_QuietHandler, directory=str(EXAMPLES))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()


def _widget(page, tutor, host_page, mode="explain"):
    page.goto(f"{host_page}/embed.html?tutor={tutor.url}&mode={mode}")
    frame = page.frame_locator("#tutor-widget")
    _ready(frame)
    return frame


def _ready(where):
    """The message box unlocks once the page has loaded its conversation."""
    expect(where.locator("#tutor-message textarea")).to_be_editable(timeout=WAIT)


def _send(where, text):
    box = where.locator("#tutor-message textarea")
    box.fill(text)
    box.press("Enter")


def _last_bot(where):
    return where.locator('[data-testid="bot"]').last


def test_widget_in_a_host_page_answers_with_a_citation_and_its_source(page, tutor, host_page, artifacts):
    frame = _widget(page, tutor, host_page)
    _send(frame, KOTTER)
    answer = _last_bot(frame)
    expect(answer).to_contain_text("complexity", timeout=WAIT)
    expect(answer.locator("sup.tutor-ref").first).to_have_text("[1]")
    expect(answer.locator(".tutor-footnotes")).to_contain_text("copes with complexity")
    page.screenshot(path=artifacts / "widget-answer.png")

    frame.locator("#tutor-sources-drawer").get_by_text("Sources (1)").click()
    source = frame.locator("details.tutor-src").first
    source.locator("summary").click()
    mark = source.locator("mark", has_text="copes with complexity")
    expect(mark).to_be_visible()
    expect(mark).to_have_text("Management, Kotter argues, copes with complexity.")
    frame.get_by_text("Show in the article").click()
    expect(frame.locator(".tutor-article mark", has_text="copes with complexity")).to_be_visible()
    page.screenshot(path=artifacts / "widget-source-highlighted.png")


def test_socratic_switch_and_progress_survive_a_reload(page, tutor, host_page, artifacts):
    frame = _widget(page, tutor, host_page)
    frame.get_by_text("Socratic", exact=True).click()
    expect(_last_bot(frame)).to_contain_text("Socratic mode", timeout=WAIT)
    _send(frame, "Why do organizations need leadership?")
    reply = _last_bot(frame)
    expect(reply).to_contain_text("tell me", timeout=WAIT)
    expect(reply).to_contain_text(re.compile(r"\?"))
    page.screenshot(path=artifacts / "widget-socratic.png")

    page.reload()
    frame = page.frame_locator("#tutor-widget")
    expect(_last_bot(frame)).to_contain_text("tell me", timeout=WAIT)
    expect(frame.locator('[data-testid="user"]').first).to_contain_text("Why do organizations need leadership?")
    expect(frame.locator('#tutor-mode input[value="socratic"]')).to_be_checked()
    page.screenshot(path=artifacts / "widget-after-reload.png")


def test_quiz_progress_panel_is_kept_after_reload(page, tutor, artifacts):
    page.goto(tutor.url + "/")
    _ready(page)
    page.locator("#tutor-mode").get_by_text("Quiz", exact=True).click()
    expect(_last_bot(page)).to_contain_text("Question 1 of", timeout=WAIT)
    progress = page.locator("#tutor-progress")
    expect(progress).to_contain_text("0 answered")
    _send(page, "I don't know")
    expect(_last_bot(page)).to_contain_text("Question 2 of", timeout=WAIT)
    expect(progress).to_contain_text("1 answered")
    page.screenshot(path=artifacts / "page-quiz-progress.png", full_page=True)

    page.reload()
    expect(page.locator("#tutor-progress")).to_contain_text("1 answered", timeout=WAIT)
    expect(page.locator("#tutor-progress .tutor-obj").first).to_be_visible()
    expect(_last_bot(page)).to_contain_text("Question 2 of")


def test_widget_opens_in_quiz_mode_from_its_url(page, tutor, host_page, artifacts):
    frame = _widget(page, tutor, host_page, mode="quiz")
    expect(_last_bot(frame)).to_contain_text("Question 1 of")
    drawer = frame.locator("#tutor-progress-drawer")
    expect(drawer).to_contain_text("Quiz progress: 0 correct of 0 answered")
    _send(frame, "I don't know")
    expect(drawer).to_contain_text("0 correct of 1 answered", timeout=WAIT)
    drawer.get_by_text("Quiz progress").click()
    expect(frame.locator("#tutor-progress .tutor-obj").first).to_be_visible()
    page.screenshot(path=artifacts / "widget-quiz.png")


def test_full_page_shows_sources_and_highlighted_article(page, tutor, artifacts):
    page.goto(tutor.url + "/")
    expect(page.locator("#tutor-chat button.example").first).to_be_visible(timeout=WAIT)
    _ready(page)
    _send(page, KOTTER)
    expect(_last_bot(page)).to_contain_text("complexity", timeout=WAIT)
    expect(page.locator("#tutor-sources mark", has_text="copes with complexity")).to_have_text(
        "Management, Kotter argues, copes with complexity.")
    page.get_by_role("tab", name="Article").click()
    expect(page.locator("#tutor-article mark", has_text="copes with complexity")).to_be_visible()

    page.locator('[data-testid="bot"]').last.hover()
    page.get_by_role("button", name="Like").last.click()
    expect(page.get_by_text("your feedback is saved")).to_be_visible(timeout=WAIT)
    [row] = [r for r in tutor.store.feedback() if r["question"] == KOTTER]
    assert row["vote"] == "like" and "complexity" in row["reply"] and row["citations"]
    page.screenshot(path=artifacts / "page-article-highlight.png", full_page=True)

    _send(page, "What is the trap of technical experts under threat?")
    expect(_last_bot(page)).to_contain_text("expert", timeout=WAIT)
    late = page.locator("#tutor-article mark").first
    expect(late).to_contain_text("technical expertise")
    expect(late).to_be_in_viewport()  # the article panel scrolled to the cited sentence


def test_script_in_a_message_is_shown_as_text_and_never_runs(page, tutor, host_page, artifacts):
    frame = _widget(page, tutor, host_page)
    attack = '<img src=x onerror="alert(1)"><script>alert("xss")</script> **not bold**'
    _send(frame, attack)
    mine = frame.locator('[data-testid="user"]').last
    expect(mine).to_contain_text('<img src=x onerror="alert(1)"><script>alert("xss")</script> **not bold**', timeout=WAIT)
    expect(mine.locator("img, script, strong")).to_have_count(0)
    expect(_last_bot(frame)).not_to_contain_text("…", timeout=WAIT)
    page.wait_for_timeout(500)
    assert page.dialogs == []
    page.screenshot(path=artifacts / "widget-script-as-text.png")


def test_two_browsers_do_not_see_each_others_conversation(browser, tutor):
    a, b = browser.new_context(), browser.new_context()
    try:
        pa, pb = a.new_page(), b.new_page()
        pa.goto(tutor.url + "/")
        _ready(pa)
        _send(pa, "What do leaders do?")
        expect(_last_bot(pa)).to_contain_text("leaders", timeout=WAIT)
        pb.goto(tutor.url + "/")
        expect(pb.locator("#tutor-chat button.example").first).to_be_visible(timeout=WAIT)
        expect(pb.locator('[data-testid="user"]')).to_have_count(0)
    finally:
        a.close()
        b.close()


def test_web_component_snippet_works_from_another_origin(page, tutor, host_page, artifacts):
    page.goto(f"{host_page}/embed.html?tutor={tutor.url}&component=1")
    app = page.locator("gradio-app")
    _ready(app)
    _send(app, KOTTER)
    expect(app.locator('[data-testid="bot"]').last).to_contain_text("complexity", timeout=WAIT)
    app.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "web-component.png", full_page=True)


def test_missing_index_page_says_how_to_fix_it(page, tmp_path, artifacts):
    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.web.app import create_app
    from tutor.web.server import start

    server = start(create_app(Engine(Settings(home=tmp_path / "empty"))))
    try:
        for path in ("/", "/widget"):
            page.goto(server.url + path)
            expect(page.get_by_text("The tutor is not ready")).to_be_visible(timeout=WAIT)
            expect(page.locator(".tutor-problem pre")).to_contain_text("tutor ingest")
        page.screenshot(path=artifacts / "not-ready.png")
    finally:
        server.stop()
