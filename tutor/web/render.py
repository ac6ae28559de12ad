"""HTML and Markdown for the web UI: chat messages with numbered footnotes, the
sources panel (cited passages, and the article with the cited sentences
highlighted), and the quiz progress panel.

Every piece of text that comes from a learner or an article is escaped here,
once, before it reaches the page: chat messages are rendered as Markdown, so
learner text is HTML-escaped *and* Markdown-escaped (`<script>` and `**x**`
both show literally); panels are raw HTML, so their text is HTML-escaped.

Citations arrive as plain dicts (`dataclasses.asdict(Citation)`, as stored in
SQLite): `n`, `doc_id`, `title`, `text`, `heading`, `start`, `end` (passage
offsets into the document text) and `highlights` ([start, end] of each cited
sentence, also document offsets).

Deliberate simplifications: an article is shown as paragraphs split on blank
lines, headings recognised by their offsets; highlights that overlap are merged.
"""

from __future__ import annotations

import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")
_MARKER = re.compile(r"\[(\d+)\]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


# ---- chat messages ------------------------------------------------------------
def escape_text(text: str) -> str:
    """Text that a Markdown renderer shows exactly as typed, never as markup.

    >>> print(escape_text("<b>*hi*</b>"))
    &lt;b&gt;\\*hi\\*&lt;/b&gt;
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def user_message(text: str) -> dict:
    return {"role": "user", "content": escape_text(text)}


def notice_message(text: str) -> dict:
    """A short message from the tutor about the conversation itself (errors, mode changes)."""
    return {"role": "assistant", "content": f"<span class=\"tutor-notice\">{html.escape(text)}</span>"}


def answer_markdown(answer: str, citations: list[dict], turn: str | None = None) -> str:
    """The answer with its [n] markers as links to their sources, then one
    footnote per citation saying where the passage is:

        Bees make honey. <a class="tutor-ref" href="#tutor-src-T-1"
        title="Show source 1">[1]<span class="tutor-sr"> source 1: Honey</span></a>
        <div class="tutor-footnotes"><div><a ...>1</a> Article › Honey</div></div>

    `turn` is the id of this answer's sources in the Sources panel (see
    `sources_html`); activating a link opens that source, its cited sentence
    highlighted and scrolled into view (the page's script, `tutor/web/page.js`).
    """
    known = {int(c["n"]): c for c in citations}
    out, last = [], 0
    for m in _MARKER.finditer(answer):
        out.append(escape_text(answer[last : m.start()]))
        n = int(m.group(1))
        out.append(_ref(known[n], turn, f"[{n}]") if n in known else escape_text(m.group(0)))
        last = m.end()
    out.append(escape_text(answer[last:]))
    body = "".join(out).strip()
    if not citations:
        return body
    notes = "".join(f"<div>{_ref(c, turn, str(int(c['n'])), footnote=True)} {html.escape(section_of(c))}</div>"
                    for c in citations)
    return f'{body}\n\n<div class="tutor-footnotes">{notes}</div>'


def partial_markdown(text: str) -> str:
    """An answer while it is still being written (markers stay plain text)."""
    return f'{escape_text(text)}<span class="tutor-streaming" aria-hidden="true"></span>'


def source_id(turn: str | None, n: int) -> str:
    return f"tutor-src-{turn or 'last'}-{int(n)}"


def _ref(c: dict, turn: str | None, label: str, footnote: bool = False) -> str:
    """A link to source n; its accessible name says which source and where it is
    (a visually hidden span: Gradio's sanitizer drops aria-label)."""
    n = int(c["n"])
    cls = "tutor-fn" if footnote else "tutor-ref"
    return (f'<a class="{cls}" href="#{source_id(turn, n)}" title="Show source {n}">{label}'
            f'<span class="tutor-sr"> source {n}: {html.escape(section_of(c))}</span></a>')


def section_of(c: dict) -> str:
    """Where a cited passage is: its heading path without the article's own
    title, or the title when the passage has no heading of its own."""
    parts = [p.strip() for p in (c.get("heading") or "").split("›") if p.strip()]
    if len(parts) > 1 and parts[0] == c.get("title"):
        parts = parts[1:]
    return " › ".join(parts) or c.get("title") or "the article"


def cited_sentences(c: dict) -> str:
    """The highlighted sentences of a citation, read from its passage text."""
    parts = []
    for start, end in c.get("highlights") or []:
        a, b = start - c["start"], end - c["start"]
        if 0 <= a < b <= len(c["text"]):
            parts.append(c["text"][a:b])
    return " … ".join(parts)


def _oneline(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


# ---- sources panel --------------------------------------------------------------
EMPTY_SOURCES = (
    '<div class="tutor-sources tutor-empty">Ask a question: the passages each answer '
    "comes from appear here, with the cited sentences highlighted.</div>"
)


def passages_html(citations: list[dict], *, expanded: bool = True, turn: str | None = None) -> str:
    """One collapsible block per cited passage, the cited sentences in <mark>;
    `expanded=False` shows only the headings until one is opened."""
    if not citations:
        return EMPTY_SOURCES
    return f'<div class="tutor-sources">{_passage_blocks(citations, expanded, turn)}</div>'


def _passage_blocks(citations: list[dict], expanded: bool, turn: str | None) -> str:
    blocks = []
    for c in citations:
        heading = f'<span class="tutor-src-heading">{html.escape(section_of(c))}</span>'
        blocks.append(
            f'<details class="tutor-src" id="{source_id(turn, c["n"])}" data-n="{int(c["n"])}"'
            f'{" open" if expanded else ""}>'
            f'<summary><span class="tutor-n">{int(c["n"])}</span> '
            f'<span class="tutor-src-title">{html.escape(c["title"])}</span>{heading}</summary>'
            f'<blockquote class="tutor-passage">{_passage_body(c)}</blockquote></details>'
        )
    return "".join(blocks)


def turns_html(turns: list[dict], *, expanded_latest: bool = True) -> str:
    """The sources of every answer, newest first, each under the question it
    answered (`TutorChat` turns: {"turn", "question", "citations"}). The newest
    answer's passages are open; older ones open on demand (or from their [n])."""
    if not turns:
        return EMPTY_SOURCES
    groups = []
    for i, t in enumerate(turns):
        q = t.get("question") or "The tutor's question"
        label = "Latest answer" if i == 0 else f"Earlier answer {len(turns) - i}"
        groups.append(
            f'<section class="tutor-turn" aria-label="{html.escape(label)}: sources">'
            f'<p class="tutor-turn-q"><span class="tutor-turn-label">{html.escape(label)}</span> '
            f"{html.escape(_oneline(q, 140))}</p>"
            f"{_passage_blocks(t['citations'], expanded_latest and i == 0, t.get('turn'))}</section>"
        )
    return f'<div class="tutor-sources">{"".join(groups)}</div>'


def _passage_body(c: dict) -> str:
    text, base = c["text"], int(c.get("start") or 0)
    spans = [(s - base, e - base, int(c["n"])) for s, e in c.get("highlights") or []]
    spans = [(a, b, n) for a, b, n in spans if 0 <= a < b <= len(text)]
    return _paragraphs_with_marks(text, 0, spans, headings={})


def article_html(doc, citations: list[dict]) -> str:
    """The whole article, cited sentences highlighted and numbered.

    `doc` is a `StoredDocument` (title, text, headings with document offsets).
    """
    spans = [
        (int(s), int(e), int(c["n"]))
        for c in citations
        if c.get("doc_id") == doc.doc_id
        for s, e in c.get("highlights") or []
    ]
    headings = {h.start: h.level for h in doc.headings}
    body = _paragraphs_with_marks(doc.text, 0, spans, headings)
    return f'<article class="tutor-article"><h3>{html.escape(doc.title)}</h3>{body}</article>'


def sources_html(turns: list[dict], documents: dict, *, compact: bool) -> str:
    """The sources view of the widget: every answer's passages, then the
    article(s) of the latest answer behind a toggle, its cited sentences marked."""
    if not turns:
        return EMPTY_SOURCES
    citations = turns[0]["citations"]
    parts = [turns_html(turns, expanded_latest=not compact)]
    for doc_id in dict.fromkeys(c["doc_id"] for c in citations):
        doc = documents.get(doc_id)
        if doc is not None:
            parts.append(
                f'<details class="tutor-in-article"><summary>Show in the article: '
                f"{html.escape(doc.title)}</summary>{article_html(doc, citations)}</details>"
            )
    return "".join(parts)


def _paragraphs_with_marks(text: str, offset: int, spans, headings: dict[int, int]) -> str:
    spans = _merge(sorted(spans))
    out, pos = [], 0
    pieces = _PARAGRAPH_BREAK.split(text)
    for piece in pieces:
        start = text.index(piece, pos) if piece else pos
        end = start + len(piece)
        pos = end
        if not piece.strip():
            continue
        inner = _marked(text, start, end, spans)
        level = headings.get(offset + start)
        if level is not None:
            tag = f"h{min(6, 3 + level)}"
            out.append(f"<{tag}>{inner}</{tag}>")
        else:
            out.append(f"<p>{inner}</p>")
    return "".join(out)


def _marked(text: str, start: int, end: int, spans) -> str:
    out, pos = [], start
    for a, b, n in spans:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        out.append(html.escape(text[pos:a]))
        out.append(f'<mark data-n="{n}">{html.escape(text[a:b])}</mark><sup class="tutor-ref">{n}</sup>')
        pos = b
    out.append(html.escape(text[pos:end]))
    return "".join(out).replace("\n", "<br>")


def _merge(spans):
    merged: list[tuple[int, int, int]] = []
    for a, b, n in spans:
        if merged and a < merged[-1][1]:
            pa, pb, pn = merged[-1]
            merged[-1] = (pa, max(pb, b), pn)
        else:
            merged.append((a, b, n))
    return merged


# ---- quiz progress ----------------------------------------------------------------
def progress_html(progress: dict) -> str:
    """Score and a mastery bar per learning objective (from `Session.progress()`)."""
    objectives = progress.get("objectives") or []
    if not objectives:
        return '<div class="tutor-progress tutor-empty">No quiz questions for this article yet.</div>'
    rows = []
    for o in objectives:
        pct = round(float(o["mastery"]) * 100)
        rows.append(
            f'<div class="tutor-obj"><div class="tutor-obj-title">{html.escape(o["title"])}</div>'
            f'<div class="tutor-bar" role="progressbar" aria-label="Mastery: {html.escape(o["title"])}" '
            f'aria-valuenow="{pct}" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuetext="{pct}% mastery"><span style="width:{pct}%"></span></div>'
            f'<div class="tutor-obj-num">{pct}% mastery · {int(o["answered"])}/{int(o["total"])} asked</div></div>'
        )
    head = (
        f'<div class="tutor-score">Score: <b>{int(progress["correct"])}</b> correct of '
        f'{int(progress["answered"])} answered · {int(progress.get("total", 0))} questions in all</div>'
    )
    return f'<div class="tutor-progress">{head}{"".join(rows)}</div>'


# ---- whole-page messages ------------------------------------------------------------
def problem_html(message: str) -> str:
    """The page shown instead of the tutor when it cannot answer at all (e.g. no index)."""
    return (
        '<div class="tutor-problem"><h2>The tutor is not ready</h2>'
        f"<p>{html.escape(sentence(message))}</p>"
        "<p>To fix it, build the index from a terminal (or start the Chroma server again). "
        "The tutor checks every few seconds and restarts itself once the index works; "
        "reload this page a few seconds after that.</p>"
        "<pre>tutor ingest            # the packaged article\n"
        "tutor ingest PATH...    # your own articles\n"
        "tutor ingest --rebuild  # if the index is damaged</pre></div>"
    )


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, final full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."

