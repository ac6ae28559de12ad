"""The tutor in a real browser (Debian's Chromium driven by Playwright).

One tutor server and one host-page server (examples/ on another port, as a
course site would be) per module; each test gets a fresh browser context, so a
fresh localStorage, i.e. a new learner. Screenshots go to the `artifacts`
folder (test-artifacts/): the full page at 1280x800 and 390x844, the widget
inside examples/embed.html (a 440x720 frame) and at 360x640.

axe-core (the npm package, injected from node_modules; see tests/axe_audit.py)
audits the full page and the widget in each mode; any critical or serious
violation fails.
"""

from __future__ import annotations

import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import transcripts  # tests/ is on sys.path under pytest
from axe_audit import audit, blocking, describe

from tutor.config import MAX_MESSAGE_CHARS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KOTTER = "What does Kotter say management copes with?"
WAIT = 60_000  # ms: a timeout, not a timing: under load (CI beside `make bench`) the widget took over 20 s to load


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


def _frame(page):
    """The widget's Frame (for evaluate and axe), inside the host page."""
    return page.locator("#tutor-widget").element_handle().content_frame()


def _sized(browser, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    return context, context.new_page()


def _ready(where):
    """The message box unlocks once the page has loaded its conversation."""
    expect(where.locator("#tutor-message textarea")).to_be_editable(timeout=WAIT)


def _send(where, text):
    """Send once the previous reply has finished (Gradio ignores a submit while
    the last one is still running), and make sure this one was taken."""
    expect(where.locator("#tutor-chat .tutor-streaming, #tutor-chat .tutor-typing")).to_have_count(0, timeout=WAIT)
    mine = where.locator('[data-testid="user"]')
    before = mine.count()
    box = where.locator("#tutor-message textarea")
    box.fill(text)
    box.press("Enter")
    if len(text.strip()) > MAX_MESSAGE_CHARS:  # too long: stays in the box with a note, no user message
        return
    try:
        expect(mine).to_have_count(before + 1, timeout=5_000)
    except AssertionError:
        box.press("Enter")  # the previous event had not quite finished
        expect(mine).to_have_count(before + 1, timeout=WAIT)


def _last_bot(where):
    return where.locator('[data-testid="bot"]').last


def test_widget_in_a_host_page_answers_with_a_citation_and_its_source(page, tutor, host_page, artifacts):
    frame = _widget(page, tutor, host_page)
    _send(frame, KOTTER)
    answer = _last_bot(frame)
    expect(answer).to_contain_text("complexity", timeout=WAIT)
    expect(answer.get_by_role("link", name="[1] source 1").first).to_be_visible()
    expect(answer.locator(".tutor-footnotes")).to_contain_text("Leadership Versus Management")
    expect(answer.locator(".tutor-footnotes")).not_to_contain_text("copes with complexity")
    page.screenshot(path=artifacts / "widget-answer.png")

    frame.locator("#tutor-sources-drawer").get_by_text("Sources (1 in the latest answer)").click()
    source = frame.locator("details.tutor-src").first
    source.locator("summary").click()
    mark = source.locator("mark", has_text="copes with complexity")
    expect(mark).to_be_visible()
    expect(mark).to_have_text("Management, Kotter argues, copes with complexity.")
    frame.get_by_text("Show in the article").click()
    in_article = frame.locator(".tutor-article mark", has_text="copes with complexity")
    expect(in_article).to_be_visible()
    expect(in_article).to_be_in_viewport()  # opened at the highlight, not at the top
    page.screenshot(path=artifacts / "widget-source-highlighted.png")


def test_socratic_switch_and_progress_survive_a_reload(page, tutor, host_page, artifacts):
    frame = _widget(page, tutor, host_page)
    frame.get_by_text("Socratic", exact=True).click()
    expect(_last_bot(frame)).to_contain_text("Socratic mode", timeout=WAIT)
    _send(frame, "Why do organizations need leadership?")
    reply = _last_bot(frame)
    expect(reply).to_contain_text("Let's work it out", timeout=WAIT)
    expect(reply).to_contain_text(re.compile(r"\?"))
    expect(reply).not_to_contain_text("Why do organizations need leadership?")
    page.screenshot(path=artifacts / "widget-socratic.png")

    page.reload()
    frame = page.frame_locator("#tutor-widget")
    expect(_last_bot(frame)).to_contain_text("Let's work it out", timeout=WAIT)
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


# ---- the quiz asks before it grades; labeled transcripts ------------------------------
@pytest.mark.parametrize("transcript", transcripts.params())
def test_quiz_transcript_in_the_widget(page, tutor, host_page, transcript):
    """A new quiz through the widget URL: Question 1 first, nothing graded; each
    labeled turn's feedback, then the next question as a message of its own."""
    frame = _widget(page, tutor, host_page, mode="quiz")
    bots = frame.locator('[data-testid="bot"]')
    expect(bots).to_have_count(1)
    expect(bots.first).to_contain_text("Question 1 of")
    drawer = frame.locator("#tutor-progress-drawer")
    expect(drawer).to_contain_text("Quiz progress: 0 correct of 0 answered")
    count = 1
    for turn in transcript["turns"]:
        _send(frame, turn["say"])
        moves_on = turn["then"].startswith("Question")
        count += 2 if moves_on else 1
        expect(bots).to_have_count(count, timeout=WAIT)
        correct, answered = turn["progress"]
        expect(drawer).to_contain_text(f"{correct} correct of {answered} answered", timeout=WAIT)
        if moves_on:  # feedback and next question: two bubbles
            expect(bots.nth(count - 2)).to_contain_text(turn["reply"])
            expect(bots.nth(count - 2)).not_to_contain_text("Question ")
            expect(bots.nth(count - 1)).to_have_text(re.compile(rf"^{turn['then']}"))
        else:
            expect(bots.nth(count - 1)).to_contain_text(turn["reply"])
            expect(bots.nth(count - 1)).to_contain_text(turn["then"])


# ---- one turn, one message ------------------------------------------------------------
def test_each_notice_is_its_own_message(page, tutor):
    page.goto(tutor.url + "/")
    _ready(page)
    _send(page, KOTTER)
    bots = page.locator('[data-testid="bot"]')
    expect(bots.first.locator("a.tutor-ref").first).to_be_visible(timeout=WAIT)
    _send(page, "why " * 600)
    expect(bots).to_have_count(2, timeout=WAIT)
    page.locator("#tutor-mode").get_by_text("Quiz", exact=True).click()
    expect(bots).to_have_count(3, timeout=WAIT)
    answer, length_note, opener = bots.nth(0), bots.nth(1), bots.nth(2)
    expect(length_note).to_contain_text("the limit is")
    expect(opener).to_contain_text("Question 1 of")
    expect(answer).not_to_contain_text("the limit is")
    expect(answer).not_to_contain_text("Question 1 of")
    expect(length_note).not_to_contain_text("Question 1 of")
    # each is its own bubble: none is inside another
    boxes = [bots.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"] <= boxes[2]["y"]


# ---- live citations ----------------------------------------------------------------------
def _assert_source_in_view(where, link):
    """After activating `link` ([n]), its source is open and its cited sentence is
    highlighted, in the viewport and focused."""
    target = link.get_attribute("href").lstrip("#")
    source = where.locator(f"#{target}")
    expect(source).to_have_attribute("open", "")
    mark = source.locator("mark").first
    expect(mark).to_be_visible()
    expect(mark).to_be_in_viewport()
    expect(mark).to_be_focused()


def test_citation_link_opens_the_source_with_the_sentence_in_view_on_the_page(browser, tutor, artifacts):
    context, page = _sized(browser, 1280, 800)
    try:
        page.goto(tutor.url + "/")
        _ready(page)
        _send(page, KOTTER)
        expect(_last_bot(page).locator("a.tutor-ref").first).to_be_visible(timeout=WAIT)
        _send(page, "What is the trap of technical experts under threat?")
        expect(page.locator('[data-testid="bot"]')).to_have_count(2, timeout=WAIT)
        expect(_last_bot(page).locator("a.tutor-ref").first).to_be_visible(timeout=WAIT)
        # the Sources panel keeps both answers' sources, newest first
        expect(page.locator("#tutor-sources .tutor-turn")).to_have_count(2)
        page.get_by_role("tab", name="Article").click()  # the link must bring the Sources back
        first_answer_link = page.locator('[data-testid="bot"]').first.locator("a.tutor-ref").first
        first_answer_link.click()
        _assert_source_in_view(page, first_answer_link)
        expect(page.locator(f"{first_answer_link.get_attribute('href')} mark").first).to_contain_text(
            "copes with complexity")
        page.screenshot(path=artifacts / "page-1280x800-citation.png")
        # the keyboard works too: focus the link, press Enter
        latest = _last_bot(page).locator("a.tutor-ref").first
        latest.focus()
        page.keyboard.press("Enter")
        _assert_source_in_view(page, latest)
    finally:
        context.close()


def test_citation_link_opens_the_source_with_the_sentence_in_view_in_the_widget(page, tutor, host_page,
                                                                                  artifacts):
    frame = _widget(page, tutor, host_page)
    _send(frame, KOTTER)
    link = _last_bot(frame).locator("a.tutor-ref").first
    expect(link).to_be_visible(timeout=WAIT)
    link.click()
    _assert_source_in_view(frame, link)
    page.screenshot(path=artifacts / "widget-citation-clicked.png")


# ---- streaming ---------------------------------------------------------------------------
RECORD_STATES = """() => {
  window.__tutorStates = [];
  new MutationObserver(() => {
    const bots = document.querySelectorAll('[data-testid="bot"]');
    const last = bots[bots.length - 1];
    if (!last) return;
    const text = last.innerText.trim();
    const seen = window.__tutorStates;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_reply_text_grows_while_streaming(page, tutor):
    page.goto(tutor.url + "/")
    _ready(page)
    page.evaluate(RECORD_STATES)
    _send(page, KOTTER)
    expect(_last_bot(page).locator("a.tutor-ref").first).to_be_visible(timeout=WAIT)
    states = page.evaluate("() => window.__tutorStates")
    final = states[-1]
    partial = [s for s in states[:-1] if s not in ("…", final)]
    assert len(partial) >= 2, states
    grown = [s.rstrip("▍ ") for s in partial]
    assert all(len(b) > len(a) and b.startswith(a[:20]) for a, b in zip(grown, grown[1:], strict=False)), grown


# ---- layout --------------------------------------------------------------------------------
FITS = """() => {
  const doc = document.documentElement;
  const ids = ['#tutor-mode', '#tutor-message', '#tutor-send', '#tutor-new', '#tutor-chat',
               '#tutor-sources-drawer'];
  const out = {scroll: [doc.scrollHeight, doc.clientHeight, doc.scrollWidth, doc.clientWidth], outside: []};
  for (const sel of ids) {
    const el = document.querySelector(sel);
    if (!el || !el.getClientRects().length) { out.outside.push(sel + ' missing'); continue; }
    const r = el.getBoundingClientRect();
    if (r.top < 0 || r.left < 0 || r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5)
      out.outside.push(`${sel} ${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.right)},${Math.round(r.bottom)}`);
  }
  out.scrollers = [...document.querySelectorAll('*')].filter(e => {
    const s = getComputedStyle(e);
    return /(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1 && e.clientHeight > 0;
  }).length;
  return out;
}"""


def _assert_fits(where, label):
    fit = where.evaluate(FITS)
    height, client, width, client_width = fit["scroll"]
    assert height <= client and width <= client_width, (label, fit)  # the page itself does not scroll
    assert not fit["outside"], (label, fit)  # nothing clipped
    assert fit["scrollers"] <= 1, (label, fit)  # one scroll region at most (the conversation)


def test_widget_fits_440x720_inside_the_host_page_and_360x640(browser, page, tutor, host_page, artifacts):
    page.set_viewport_size({"width": 1280, "height": 900})
    frame = _widget(page, tutor, host_page)
    assert _frame(page).evaluate("() => [innerWidth, innerHeight]") == [440, 720]
    _assert_fits(_frame(page), "embed 440x720 on load")
    _send(frame, KOTTER)
    expect(_last_bot(frame).locator("a.tutor-ref").first).to_be_visible(timeout=WAIT)
    _send(frame, "What do leaders do?")
    expect(frame.locator('[data-testid="bot"]')).to_have_count(2, timeout=WAIT)
    _assert_fits(_frame(page), "embed 440x720 after two answers")
    page.locator("#tutor-widget").screenshot(path=artifacts / "widget-440x720-in-embed.png")
    page.screenshot(path=artifacts / "embed-page-1280x900.png")

    context, small = _sized(browser, 360, 640)
    try:
        small.goto(tutor.url + "/widget/?mode=quiz")
        _ready(small)
        expect(_last_bot(small)).to_contain_text("Question 1 of")
        _assert_fits(small, "widget 360x640")
        small.screenshot(path=artifacts / "widget-360x640.png")
    finally:
        context.close()


def test_full_page_on_a_phone_shows_the_message_box_on_load(browser, tutor, artifacts):
    context, page = _sized(browser, 390, 844)
    try:
        page.goto(tutor.url + "/")
        _ready(page)
        expect(page.locator("#tutor-message textarea")).to_be_in_viewport(ratio=1)
        expect(page.locator("#tutor-send")).to_be_in_viewport(ratio=1)
        page.screenshot(path=artifacts / "page-390x844.png")
    finally:
        context.close()


def test_full_page_at_1280x800(browser, tutor, artifacts):
    context, page = _sized(browser, 1280, 800)
    try:
        page.goto(tutor.url + "/")
        _ready(page)
        expect(page.locator("#tutor-message textarea")).to_be_in_viewport(ratio=1)
        _send(page, KOTTER)
        expect(_last_bot(page).locator("a.tutor-ref").first).to_be_visible(timeout=WAIT)
        page.screenshot(path=artifacts / "page-1280x800.png")
    finally:
        context.close()


# ---- one clear control, with a confirmation that keeps the quiz score -----------------------
def test_new_conversation_asks_first_and_keeps_the_quiz_score(page, tutor, host_page):
    frame = _widget(page, tutor, host_page, mode="quiz")
    expect(frame.locator('#tutor-chat button[aria-label="Clear"]')).to_be_hidden()  # no second clear control
    _send(frame, "I don't know")
    drawer = frame.locator("#tutor-progress-drawer")
    expect(drawer).to_contain_text("0 correct of 1 answered", timeout=WAIT)
    bots = frame.locator('[data-testid="bot"]')
    expect(bots).to_have_count(3)

    frame.locator("#tutor-new").click()
    expect(frame.locator("#tutor-confirm")).to_be_visible()
    expect(frame.locator("#tutor-clear-chat")).to_be_focused()
    frame.locator("#tutor-clear-cancel").click()
    expect(frame.locator("#tutor-confirm")).to_be_hidden()
    expect(bots).to_have_count(3)  # nothing cleared

    frame.locator("#tutor-new").click()
    frame.locator("#tutor-clear-chat").click()
    expect(bots).to_have_count(1, timeout=WAIT)
    expect(bots.first).to_contain_text("Question 2 of")  # the quiz goes on
    expect(drawer).to_contain_text("0 correct of 1 answered")

    frame.locator("#tutor-new").click()
    frame.locator("#tutor-clear-all").click()
    expect(drawer).to_contain_text("0 correct of 0 answered", timeout=WAIT)
    expect(bots.first).to_contain_text("Question 1 of")


# ---- accessibility ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["explain", "socratic", "quiz"])
def test_axe_finds_no_serious_violation_on_the_full_page(browser, tutor, mode):
    context, page = _sized(browser, 1280, 800)
    try:
        page.goto(tutor.url + "/")
        _ready(page)
        if mode != "explain":
            page.locator("#tutor-mode").get_by_text(mode.capitalize(), exact=True).click()
            expect(_last_bot(page)).to_be_visible(timeout=WAIT)
        _send(page, KOTTER if mode != "quiz" else "I don't know")
        expect(page.locator('[data-testid="bot"]').last).not_to_contain_text("…", timeout=WAIT)
        page.wait_for_timeout(600)  # let message animations settle before colours are measured
        found = blocking(audit(page))
        assert not found, describe(found)
        page.get_by_role("tab", name="Article").click()
        found = blocking(audit(page))
        assert not found, describe(found)
    finally:
        context.close()


@pytest.mark.parametrize("mode", ["explain", "socratic", "quiz"])
def test_axe_finds_no_serious_violation_in_the_widget(page, tutor, host_page, mode):
    frame = _widget(page, tutor, host_page, mode=mode)
    found = blocking(audit(_frame(page)))
    assert not found, describe(found)
    _send(frame, KOTTER if mode != "quiz" else "I don't know")
    expect(frame.locator('[data-testid="bot"]').last).not_to_contain_text("…", timeout=WAIT)
    for drawer in ("#tutor-sources-drawer", "#tutor-progress-drawer"):
        toggle = frame.locator(f"{drawer} > button").first
        if toggle.is_visible():
            toggle.click()
    frame.locator("#tutor-new").click()  # the confirmation too
    expect(frame.locator("#tutor-confirm")).to_be_visible()
    page.wait_for_timeout(600)
    found = blocking(audit(_frame(page)))
    assert not found, describe(found)


def test_keyboard_mode_switch_is_one_named_group_and_focus_is_visible(page, tutor):
    page.goto(tutor.url + "/")
    _ready(page)
    group = page.get_by_role("radiogroup", name="Mode")
    expect(group).to_be_visible()
    expect(group.get_by_role("radio")).to_have_count(3)
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            return {tag: e.tagName, type: e.type || '', name: e.name || '', id: e.id || e.closest('[id]')?.id || '',
                    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }""")
        stops.append(info)
        if info["tag"] == "TEXTAREA":
            break
    radios = [s for s in stops if s["type"] == "radio"]
    assert len(radios) == 1, stops  # one tab stop for the group; arrows move within it
    assert stops[-1]["tag"] == "TEXTAREA", stops  # the message box is reachable
    assert all(s["outline"] for s in stops if s["tag"] in ("BUTTON", "INPUT", "A", "TEXTAREA")), stops
    page.keyboard.press("Shift+Tab")
    before = page.evaluate("() => document.activeElement.value")
    del before  # focus walked back; now the radio group takes arrow keys
    radio = page.locator('#tutor-mode input[value="explain"]')
    radio.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator('#tutor-mode input[value="socratic"]')).to_be_checked()
    expect(_last_bot(page)).to_contain_text("Socratic mode", timeout=WAIT)


def test_chat_messages_are_labelled_by_speaker(page, tutor):
    page.goto(tutor.url + "/")
    _ready(page)
    _send(page, KOTTER)
    expect(page.get_by_role("article", name="Your message")).to_have_count(1, timeout=WAIT)
    expect(page.get_by_role("article", name="Tutor's message")).to_have_count(1)
