"""The Gradio app: the full tutor at `/`, the compact widget at `/widget`, and
the `/ask` API endpoint; `create_app()` builds all of it as one FastAPI app,
`tutor.web.server.launch()` serves it.

Pages:
* `/` - chat (streamed replies, like/dislike), mode switch, article picker
  (when the index holds several), starter questions, new conversation (with a
  confirmation that keeps the quiz score unless the learner resets it too); on
  the right, the quiz progress (in quiz mode) and the sources of every answer
  (grouped by turn), and the article with the latest cited sentences highlighted.
  With uploads allowed, "Add an article" (file, pasted text or URL;
  `tutor.web.uploads`) adds to the library and to the picker at once.
* `/widget?doc=<doc_id>&mode=<explain|socratic|quiz>` - the same conversation
  machinery in a compact layout for iframes and `<gradio-app>`: chat with
  footnotes, mode switch, and a "Sources" drawer with passages and article.

Each `[n]` in an answer is a link to its source: `page.js` (loaded into the
page head) opens the Sources panel or drawer there, the cited sentence
highlighted and scrolled into view.
* `/gradio.js` - Gradio's web-component loader, served locally so that
  `<gradio-app src=".../widget">` works without any CDN.

The browser keeps a random id in `gr.BrowserState` (localStorage, encrypted);
all conversation state lives on the server (`tutor.web.chat.TutorChat`).
Every event handler here only translates between components and `TutorChat`.

If the index is missing or unreadable, both pages show how to fix it instead
of the tutor, and the API answers with the same message.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TypedDict

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Gradio's queue recomputes a pandas summary of all recorded events after every
# event by default; every 200 events is plenty for /monitoring (which is off anyway).
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "200")

import gradio as gr  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import FileResponse, RedirectResponse  # noqa: E402

from tutor.errors import TutorError  # noqa: E402
from tutor.session import MODES  # noqa: E402
from tutor.web import render  # noqa: E402
from tutor.web.chat import ChatView, TutorChat  # noqa: E402
from tutor.web.security import OriginPolicy, install  # noqa: E402
from tutor.web.store import WebStore, open_store  # noqa: E402
from tutor.web.uploads import DEFAULT_UPLOAD_MB, Uploads, upload_limit  # noqa: E402
from tutor.web.uploads import panel as upload_panel  # noqa: E402

log = logging.getLogger(__name__)

API_NAME = "ask"
DEFAULT_CONCURRENCY = 4
MODE_CHOICES = [(m.capitalize(), m) for m in MODES]
STORAGE_KEY = "article-tutor-browser"
CSS_PATH = Path(__file__).with_name("style.css")
JS_PATH = Path(__file__).with_name("page.js")
# Seconds between streamed pieces: a composed reply arrives sentence by sentence
# in the browser (pieces sent in one burst would be painted as one update).
STREAM_PACE = 0.02
SCROLL_TO_MARK = """() => { setTimeout(() => {
  const box = document.querySelector('#tutor-article .tutor-article');
  const mark = box && box.querySelector('mark');
  if (mark) box.scrollTop = Math.max(0, mark.offsetTop - 80);
}, 50); }"""
THEME = gr.themes.Default(primary_hue="indigo", neutral_hue="slate").set(
    # WCAG AA (4.5:1) for muted text, links, tabs and the primary button
    body_text_color_subdued="*neutral_600",
    block_label_text_color="*neutral_700",
    block_info_text_color="*neutral_600",
    input_placeholder_color="*neutral_500",
    color_accent="*primary_600",
    color_accent_soft="*primary_100",
    link_text_color="*primary_700",
    button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700",
    button_primary_text_color="white",
    button_secondary_text_color="*neutral_800",
)


class Citation(TypedDict):
    n: int
    doc_id: str
    title: str
    text: str
    score: float
    heading: str
    start: int
    end: int
    highlights: list[list[int]]


class AskReply(TypedDict):
    """What `/ask` returns (and, with `"partial": true`, yields while streaming)."""

    answer: str
    declined: bool
    mode: str
    citations: list[Citation]
    latency_ms: float
    responder: str
    notice: str | None
    session_id: str
    partial: bool


def create_app(
    engine,
    *,
    store: WebStore | None = None,
    llm=None,
    allowed_origins: list[str] | tuple[str, ...] = (),
    concurrency: int = DEFAULT_CONCURRENCY,
    allow_uploads: bool = False,
    max_upload_mb: float = DEFAULT_UPLOAD_MB,
) -> FastAPI:
    """The whole web app: `/` (full tutor), `/widget`, `/ask` API, `/gradio.js`.

    `store` defaults to the one the settings name (`TUTOR_DATABASE_URL`, else
    `TUTOR_HOME/web.sqlite3`); it must be reachable (the browser-id secret is
    read from it here, so that every instance encrypts the same way); `llm` is an optional
    `LLMResponder`; `concurrency` is how many replies are computed at once
    (further requests wait in Gradio's queue, none is dropped). `allow_uploads`
    adds "Add an article" to the full page (`tutor.web.uploads`); Gradio's upload
    endpoint takes files of at most `max_upload_mb` there, and none elsewhere.
    """
    store = store or open_store(engine.settings)
    chat = TutorChat(engine, store, llm=llm, pace=STREAM_PACE)
    problem = _index_problem(chat)
    if problem:
        log.warning("the tutor is not ready: %s", problem)
        main, widget = _problem_page(problem, api=True), _problem_page(problem, api=False)
    else:
        secret = store.secret()
        uploads = Uploads(engine, max_mb=max_upload_mb) if allow_uploads else None
        main = _main_page(chat, secret, uploads)
        widget = _widget_page(chat, secret)
    for blocks in (main, widget):
        # No size limit: learners wait, none is turned away. Queue positions are sent
        # every 2 s rather than to every waiting client each time a job starts (which
        # costs O(waiting) messages per reply under load).
        blocks.queue(default_concurrency_limit=concurrency, max_size=None, status_update_rate=2)

    app = FastAPI(title="Article tutor", docs_url=None, redoc_url=None, openapi_url=None)
    install(app, OriginPolicy(tuple(allowed_origins)))
    app.state.chat = chat
    app.state.problem = problem  # None when the tutor is ready
    app.state.blocks = {"main": main, "widget": widget}

    @app.get("/widget", include_in_schema=False)
    def widget_slash(request: Request):
        query = request.url.query
        return RedirectResponse(f"/widget/{'?' + query if query else ''}", status_code=307)

    @app.get("/gradio.js", include_in_schema=False)
    def web_component_loader():
        return FileResponse(
            Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js",
            media_type="text/javascript",
        )

    css = CSS_PATH.read_text(encoding="utf-8")
    widget_css = css + CSS_PATH.with_name("widget.css").read_text(encoding="utf-8")
    head = f"<script>{JS_PATH.read_text(encoding='utf-8')}</script>"
    offers_uploads = allow_uploads and not problem
    gr.mount_gradio_app(app, widget, path="/widget", theme=THEME, css=widget_css, footer_links=[],
                        show_error=False, enable_monitoring=False, head=head,
                        max_file_size=upload_limit(False))
    gr.mount_gradio_app(app, main, path="", theme=THEME, css=css, footer_links=["api"],
                        show_error=False, enable_monitoring=False, head=head,
                        max_file_size=upload_limit(offers_uploads, max_upload_mb))
    return app


def _index_problem(chat: TutorChat) -> str | None:
    try:
        if not chat.documents():
            return "the index holds no articles"
    except TutorError as exc:
        return str(exc)
    return None


# ---- the two pages ---------------------------------------------------------------
def _main_page(chat: TutorChat, secret: str, uploads: Uploads | None = None) -> gr.Blocks:
    docs = chat.documents()
    first = next(iter(docs))
    with gr.Blocks(title="Article tutor", analytics_enabled=False) as page:
        browser = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=secret)
        ctx = gr.State(None)
        with gr.Row(elem_classes="tutor-header", equal_height=True):
            header = gr.HTML(_title_html(docs[first].title, compact=False))
            new = gr.Button("New conversation", size="sm", variant="secondary", scale=0,
                            min_width=120, elem_id="tutor-new")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                doc = gr.Dropdown(
                    [(d.title, d.doc_id) for d in docs.values()], value=first, label="Article",
                    visible=len(docs) > 1, interactive=True,
                )
                mode = _mode_radio(scale=3)
                confirm = _confirm_row()
                chatbot = _chatbot(chat.starters(first), height=540)
                with gr.Row(elem_classes="tutor-input"):
                    message = _message_box()
                    send = gr.Button("Send", variant="primary", scale=0, min_width=90, elem_id="tutor-send")
                if uploads is not None:
                    upload_panel(uploads, doc)
            with gr.Column(scale=2, min_width=320, elem_classes="tutor-side"):
                progress = gr.HTML("", visible=False, elem_id="tutor-progress")
                with gr.Tabs():
                    with gr.Tab("Sources", id="sources"):
                        sources = gr.HTML(render.EMPTY_SOURCES, elem_id="tutor-sources")
                    with gr.Tab("Article", id="article") as article_tab:
                        article = gr.HTML(render.article_html(docs[first], []), elem_id="tutor-article")
        # bring the first highlighted sentence into view (browser-side only)
        article.change(None, js=SCROLL_TO_MARK)
        article_tab.select(None, js=SCROLL_TO_MARK)

        def paint(view: ChatView):
            docs_now = chat.documents()
            doc_obj = docs_now.get(view.doc_id) if view.doc_id else None
            return (
                view.messages,
                view.draft,
                render.turns_html(view.turns),
                render.article_html(doc_obj, view.sources) if doc_obj else "",
                _progress_update(view),
                view.mode,
            )

        panels = [chatbot, message, sources, article, progress, mode]
        _wire(page, chat, browser, ctx, panels, paint, view_for=lambda request: ("app", None, "explain", True),
              message=message, send=send, mode=mode, new=new, confirm=confirm, chatbot=chatbot,
              doc=doc, header=header)

        def ask(message: str, mode: str = "", doc_id: str = "", session_id: str = "") -> AskReply:
            """Ask the tutor. mode: explain | socratic | quiz, or empty to keep the
            session's mode (explain for a new session); doc_id: an article id, or empty
            for the first; session_id: empty to start, or the returned one to continue.
            Starting a quiz (a new session in quiz mode, or a switch to quiz) returns
            Question 1 and grades nothing. Streams: partial replies ("partial": true,
            the answer so far), then the final one ("partial": false)."""
            try:
                yield from chat.ask_stream(message, mode, doc_id, session_id)
            except (TutorError, ValueError) as exc:
                raise gr.Error(render.sentence(str(exc)), print_exception=False) from None

        gr.api(_typed(ask), api_name=API_NAME)

    return page


def _widget_page(chat: TutorChat, secret: str) -> gr.Blocks:
    docs = chat.documents()
    first = next(iter(docs))
    with gr.Blocks(title="Article tutor", analytics_enabled=False, fill_height=True) as page:
        browser = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=secret)
        ctx = gr.State(None)
        with gr.Column(elem_classes="tutor-widget-top"):
            with gr.Row(elem_classes="tutor-header", equal_height=True):
                header = gr.HTML(_title_html(docs[first].title, compact=True))
                new = gr.Button("New chat", size="sm", variant="secondary", scale=0, min_width=80,
                                elem_id="tutor-new")
            doc = gr.Dropdown([(d.title, d.doc_id) for d in docs.values()], value=first, visible=False,
                              label="Article", container=False)
            mode = _mode_radio(scale=3)
            confirm = _confirm_row()
        chatbot = _chatbot(chat.starters(first), height=None, scale=1)
        with gr.Row(elem_classes="tutor-input"):
            message = _message_box()
            send = gr.Button("Send", variant="primary", scale=0, min_width=70, elem_id="tutor-send")
        with gr.Accordion("Quiz progress", open=False, visible=False, elem_id="tutor-progress-drawer",
                          elem_classes="tutor-drawer") as progress_box:
            progress = gr.HTML("", visible=False, elem_id="tutor-progress")
        with gr.Accordion("Sources", open=False, elem_id="tutor-sources-drawer",
                          elem_classes="tutor-drawer") as drawer:
            sources = gr.HTML(render.EMPTY_SOURCES, elem_id="tutor-sources")

        def paint(view: ChatView):
            n = len(view.turns)
            return (
                view.messages,
                view.draft,
                render.sources_html(view.turns, chat.documents(), compact=True),
                gr.Accordion(label=f"Sources ({len(view.sources)} in the latest answer)" if n else "Sources"),
                _progress_update(view),
                view.mode,
                _progress_drawer(view),
            )

        def view_for(request: gr.Request | None):
            params = dict(request.query_params) if request is not None else {}
            doc_id = params.get("doc") or None
            wanted = (params.get("mode") or "explain").lower()
            wanted = wanted if wanted in MODES else "explain"
            # the host page fixes the article; without ?doc= the learner may pick one
            return f"widget:{chat.pick_doc(doc_id)}:{wanted}", doc_id, wanted, doc_id is None

        panels = [chatbot, message, sources, drawer, progress, mode, progress_box]
        _wire(page, chat, browser, ctx, panels, paint, view_for=view_for,
              message=message, send=send, mode=mode, new=new, confirm=confirm, chatbot=chatbot,
              doc=doc, header=header)
    return page


def _problem_page(problem: str, api: bool) -> gr.Blocks:
    with gr.Blocks(title="Article tutor: not ready", analytics_enabled=False) as page:
        gr.HTML(render.problem_html(problem))
        if api:
            def ask(message: str, mode: str = "", doc_id: str = "", session_id: str = "") -> AskReply:
                """The tutor is not ready; see the error message."""
                raise gr.Error(render.sentence(problem), print_exception=False)

            gr.api(_typed(ask), api_name=API_NAME)
    return page


def _typed(fn):
    """`fn` with its annotations evaluated (this module uses postponed
    annotations), so Gradio can declare the endpoint's parameter and return types."""
    import inspect

    fn.__annotations__ = inspect.get_annotations(fn, eval_str=True)
    return fn


# ---- shared pieces ------------------------------------------------------------------
def _mode_radio(scale: int) -> gr.Radio:
    """One radio group named "Mode" (page.js gives its inputs one name: one tab stop)."""
    return gr.Radio(MODE_CHOICES, value="explain", label="Mode", show_label=False, container=False,
                    scale=scale, elem_id="tutor-mode")


class _Confirm:
    def __init__(self, row, keep, reset, cancel):
        self.row, self.keep, self.reset, self.cancel = row, keep, reset, cancel


def _confirm_row() -> _Confirm:
    """Asked before the chat is cleared: clear only the chat (the quiz score and
    position stay), clear the quiz score too, or cancel."""
    with gr.Row(visible=False, elem_id="tutor-confirm", elem_classes="tutor-confirm") as row:
        gr.HTML('<p class="tutor-confirm-text" role="alert">Clear this conversation? '
                "Your quiz score stays unless you reset it too.</p>")
        keep = gr.Button("Clear the chat", size="sm", variant="primary", elem_id="tutor-clear-chat")
        reset = gr.Button("Clear chat and quiz score", size="sm", variant="secondary",
                          elem_id="tutor-clear-all")
        cancel = gr.Button("Cancel", size="sm", variant="secondary", elem_id="tutor-clear-cancel")
    return _Confirm(row, keep, reset, cancel)


def _chatbot(starters: list[str], height: int | None, scale: int | None = None) -> gr.Chatbot:
    return gr.Chatbot(
        value=[],
        height=height,
        scale=scale,
        show_label=False,
        label="Conversation",
        elem_id="tutor-chat",
        examples=_examples(starters),
        placeholder="Ask about the article, or pick a question to start.",
        feedback_options=("Like", "Dislike"),
        latex_delimiters=[],
        sanitize_html=True,
        render_markdown=True,
        line_breaks=True,
        buttons=["copy"],
        layout="bubble",
        group_consecutive_messages=False,  # a notice or the next question is its own bubble
    )


PLACEHOLDER = "Ask, or answer the tutor…"


def _message_box() -> gr.Textbox:
    """Locked until the page has loaded its conversation (see `on_load`)."""
    return gr.Textbox(
        placeholder="Loading…", interactive=False, label="Your message",
        show_label=False, container=False, lines=1, max_lines=6, scale=8,
        elem_id="tutor-message", autofocus=False,
    )


def _examples(starters: list[str]) -> list[dict]:
    return [{"text": q, "display_text": q} for q in starters]


def _title_html(title: str, compact: bool, home: str = "/") -> str:
    import html

    if compact:
        return (f'<div class="tutor-title compact"><h1><span class="tutor-badge">Tutor</span> '
                f'<span class="tutor-doc-title">{html.escape(title)}</span></h1>'
                f'<a href="{html.escape(home)}" target="_blank" rel="noopener" '
                'title="Open the full tutor in a new tab">full tutor ↗</a></div>')
    return (f'<div class="tutor-title"><h1>Article tutor</h1><p>Learning from <b>{html.escape(title)}</b>: '
            "answers cite the article; switch to Socratic to be guided, or Quiz to test yourself.</p></div>")


def _progress_drawer(view: ChatView):
    """The widget keeps the progress panel folded, its score in the label."""
    p = view.progress if view.mode == "quiz" else None
    if not p:
        return gr.Accordion(visible=False)
    return gr.Accordion(label=f"Quiz progress: {p['correct']} correct of {p['answered']} answered",
                        visible=True)


def _progress_update(view: ChatView):
    if view.mode != "quiz" or view.progress is None:
        return gr.HTML(visible=False)
    return gr.HTML(render.progress_html(view.progress), visible=True)


FOCUS_FIRST_CHOICE = "() => { setTimeout(() => document.querySelector('#tutor-clear-chat')?.focus(), 80); }"
FOCUS_NEW = "() => { setTimeout(() => document.querySelector('#tutor-new')?.focus(), 80); }"


def _wire(page, chat: TutorChat, browser, ctx, panels, paint, *, view_for, message, send, mode,
          new, confirm: _Confirm, chatbot, doc, header) -> None:
    # view_for(request) -> (view key, requested doc_id, requested mode, article picker allowed)
    """Connect one page's components to TutorChat (same events on both pages)."""

    def on_load(stored, request: gr.Request):
        sid = stored if chat.valid_sid(stored) else chat.new_sid()
        view, doc_id, wanted, picker = view_for(request)
        # absolute, so the widget's link also works inside <gradio-app> on another site
        home = f"{request.url.scheme}://{request.url.netloc}/" if request is not None else "/"
        state = {"sid": sid, "view": view, "picker": picker, "home": home}
        shown = chat.open(sid, view, mode=wanted, doc_id=doc_id)
        painted = _with_doc(shown, paint, chat)
        painted[1] = gr.Textbox(value="", interactive=True, placeholder=PLACEHOLDER)
        return (sid, state, *painted, *_doc_controls(chat, shown, state))

    def on_send(text, state):
        if not state:
            yield paint(ChatView([render.notice_message("The page is still loading; try again.")],
                                 [], "explain", None, draft=text))
            return
        for shown in chat.respond(state["sid"], state["view"], text):
            yield paint(shown)

    def on_example(state, selected: gr.SelectData):
        value = selected.value if isinstance(selected.value, dict) else {"text": str(selected.value)}
        yield from on_send(value.get("text", ""), state)

    def on_mode(new_mode, state):
        if not state:
            return paint(ChatView([], [], new_mode, None))
        return paint(chat.switch_mode(state["sid"], state["view"], new_mode))

    def on_doc(doc_id, state):
        if not state:
            return (*paint(ChatView([], [], "explain", doc_id)), gr.Dropdown(), gr.HTML())
        shown = chat.switch_doc(state["sid"], state["view"], doc_id)
        return (*_with_doc(shown, paint, chat), *_doc_controls(chat, shown, state))

    def clearing(reset_quiz: bool):
        def on_clear(state):
            if not state:
                return (*paint(ChatView([], [], "explain", None)), gr.Row(visible=False))
            shown = chat.new_conversation(state["sid"], state["view"], reset_quiz=reset_quiz)
            return (*paint(shown), gr.Row(visible=False))
        return on_clear

    def on_like(state, liked: gr.LikeData):
        try:
            if state and chat.rate(state["sid"], state["view"], liked.index, liked.liked):
                gr.Info("Thanks, your feedback is saved.", duration=2)
        except TutorError as exc:
            gr.Warning(render.sentence(str(exc)), duration=5)

    private = {"api_visibility": "private"}
    page.load(on_load, [browser], [browser, ctx, *panels, doc, header], **private)
    # "multiple": a message sent while the browser still thinks the last reply is
    # running is not dropped; TutorChat answers one message of a conversation at a time
    gr.on([message.submit, send.click], on_send, [message, ctx], panels, show_progress="hidden",
          trigger_mode="multiple", **private)
    chatbot.example_select(on_example, [ctx], panels, show_progress="hidden", **private)
    mode.input(on_mode, [mode, ctx], panels, show_progress="hidden", **private)
    doc.input(on_doc, [doc, ctx], [*panels, doc, header], show_progress="hidden", **private)
    new.click(lambda: gr.Row(visible=True), None, [confirm.row], js=FOCUS_FIRST_CHOICE, queue=False, **private)
    confirm.cancel.click(lambda: gr.Row(visible=False), None, [confirm.row], js=FOCUS_NEW, queue=False,
                         **private)
    for button, reset_quiz in ((confirm.keep, False), (confirm.reset, True)):
        button.click(clearing(reset_quiz), [ctx], [*panels, confirm.row], show_progress="hidden", **private)
    chatbot.like(on_like, [ctx], None, **private)


def _with_doc(shown: ChatView, paint, chat: TutorChat):
    """Paint plus the chatbot's starter questions for the conversation's article."""
    painted = list(paint(shown))
    painted[0] = gr.Chatbot(value=shown.messages, examples=_examples(chat.starters(shown.doc_id)))
    return painted


def _doc_controls(chat: TutorChat, shown: ChatView, state: dict):
    """The article picker (only with several articles, and not in a widget the host
    page fixed to one article; its choices are the index's articles now, so an
    article ingested after the server started is offered) and the page title."""
    try:
        docs = chat.documents()
    except TutorError:
        docs = {}
    title = docs[shown.doc_id].title if shown.doc_id in docs else ""
    visible = len(docs) > 1 and state["picker"]
    compact = state["view"] != "app"
    choices = [(d.title, d.doc_id) for d in docs.values()]
    return (gr.Dropdown(choices=choices, value=shown.doc_id, visible=visible),
            _title_html(title, compact, state.get("home", "/")))
