"""HTML pages: the article's main content, its structure and its metadata.

Pipeline (one page):

1. Parse with lxml and pre-clean the tree: scripts, styles, forms' controls,
   SVG and MathML (formula source: TeX annotations, MathML alt text) go; so do
   hidden elements (`hidden`, `aria-hidden`, inline `display:none` /
   `visibility:hidden`), figure captions and photo credits, citation
   superscripts (`<sup>[1]</sup>`) and bracketed controls inside headings
   (`[edit]`). An element dropped for its class or id (caption, credit,
   byline, share, social, related, newsletter, ...) or for being hidden is
   dropped only when it holds less than half of the page's prose (text in
   `<p>`): a wrapper called "sidebar-layout" around the article stays.
2. trafilatura extracts the main content (comments excluded) as XML with
   `head`/`p`/`list`/`table`/`quote` elements, which become the tutor's
   blocks: headings keep their level, list items and table rows become
   paragraphs (cells joined by " | "), line breaks inside a paragraph become
   spaces. It runs twice, in its precision mode and its default mode, merged
   (`_merge`): the default pass's blocks, less those only it kept that are
   short or do not end a sentence. (Measured: precision mode alone is the
   better extractor but drops whole paragraphs and words next to formulas.)
   trafilatura also gives the metadata: title, author, date (from the page's
   markup only, never guessed from a copyright line), site name, description
   and URL (JSON-LD, OpenGraph, `<meta>`, bylines).
3. readability-lxml is the fallback, chosen by measurement on the extraction
   benchmark (`benchmarks/extraction.py`): trafilatura's precision mode scores
   best on most pages but sometimes keeps only part of an article, or only a
   notice. When readability's article is more than `_FALLBACK_RATIO` times
   longer and trafilatura's text is mostly inside it (readability found *more
   of the same article*, not a different block), or more than
   `_REPLACE_RATIO` times longer whatever it holds, readability's is used.
4. If both find nothing, a plain walk over `<body>` (navigation, header,
   footer, aside and boilerplate-named elements out, same prose guard) is the
   last resort, so a short page that does have text is never refused.
5. Line rules from `blocks` finish the job (a byline paragraph into meta,
   "This article originally appeared on ...", share and subscribe lines),
   and inline footnote markers leave the sentences.

The page's `<h1>`, when it is the title and trafilatura left it out of the
body, is put back as the first (level-1) heading so the heading path starts
at the article's title.

Written by hand, and why: the pre-clean (trafilatura keeps hidden text,
figure captions, credits and formula source, and drops by class names without
looking at how much prose an element holds) and the conversion of its XML
(its text output flattens the heading levels and paragraph boundaries the
heading path and offsets need). Everything else is the two libraries.

Deliberate simplifications: one page at a time (no multi-page articles); CSS
from stylesheets is not evaluated (only inline `style` hides an element);
tables are flattened to rows.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from tutor.loaders.blocks import (
    BYLINE_RE,
    Parsed,
    Unit,
    squash_whitespace,
    strip_boilerplate,
    strip_footnote_markers,
    take_byline,
)

log = logging.getLogger(__name__)

_FALLBACK_RATIO = 2.0  # readability's article this much longer and holding ours: use it
_REPLACE_RATIO = 4.0  # this much longer: ours was not the article (a notice, a teaser)
_PROSE_GUARD = 0.5
_SAME_START = 40
_PROSE_BLOCK_CHARS = 150  # a paragraph only the recall pass kept: kept if this long and a sentence

_DROP_TAGS = {"script", "style", "noscript", "template", "svg", "math", "iframe", "object",
              "embed", "canvas", "button", "select", "textarea", "input", "option", "figcaption",
              "img", "picture", "video", "audio", "source"}
_BOILER_NAME_RE = re.compile(
    r"(?:^|[^a-z])(caption|credit|byline|share|sharing|social|related|newsletter|subscribe"
    r"|nav|menu|sidebar|footer|comment|masthead"
    r"|promo|advert|sponsor|cookie|breadcrumb|popup|modal|signup|paywall|recirc|outbrain|taboola)",
    re.IGNORECASE,
)
_WALK_DROP_TAGS = {"nav", "header", "footer", "aside", "form"}
_WALK_NAME_RE = re.compile(r"(?:^|[^a-z])(nav|menu|footer|sidebar|comment|banner)", re.IGNORECASE)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_MARKER_TEXT_RE = re.compile(r"^\s*\[\s*(?:\d{1,3}|[a-z]|citation needed|note \d+)\s*\]\s*$", re.I)
_PAGE_REF_RE = re.compile(r"^\s*:\s?p+\.\s?[\d–-]+\s*$")
_CONTROL_TEXT_RE = re.compile(r"^\s*\[[^\[\]]{1,24}\]\s*$")
_HEADING_TAGS = {f"h{i}": i for i in range(1, 7)}
_BLOCK_TAGS = set(_HEADING_TAGS) | {
    "p", "pre", "dt", "dd", "caption", "address", "li", "blockquote", "td", "th", "div",
    "section", "article", "main", "header", "ul", "ol", "dl", "table", "thead", "tbody", "tfoot",
    "tr", "figure", "body", "html", "details", "summary", "center", "hr", "form", "fieldset",
}
_LEAF_TAGS = {"p", "pre", "dt", "dd", "caption", "address"}
_SOFT_LEAF_TAGS = {"li", "blockquote", "td", "th"}


def parse_html(text: str, path: Path | None = None) -> Parsed:
    tree = _parse(text)
    if tree is None:
        return Parsed([])
    bylines = preclean(tree)
    cleaned = _serialize(tree)
    blocks, meta, title = _trafilatura(cleaned)
    if "author" not in meta:
        _author_from_bylines(bylines, meta)
    if "author" not in meta:
        _author_from_title_tag(tree, meta)
    other = _readability(cleaned)
    if _prefer_fallback(blocks, other):
        log.debug("%s: readability's article is longer; using it", path)
        blocks = other
    if not blocks:
        blocks = _walk_blocks(tree)
    blocks = _finish(blocks, meta)
    title = title or _first_h1(tree) or _title_tag(tree)
    heading = _title_heading(tree, title)
    if heading and not any(_same(t, heading[1]) for lvl, t in blocks if lvl):
        blocks = [heading] + blocks  # the title as the page shows it, which extractors leave out
    return Parsed(blocks, title, meta)


def _title_heading(tree, title: str | None) -> tuple[int, str] | None:
    """The page's first h1-h3 heading that is the article's title, as (level, text)."""
    h1 = _first_h1(tree)
    if h1 and (title is None or _same(h1, title)):
        return 1, h1
    if not title:
        return None
    for level in (1, 2, 3):
        for el in tree.iter(f"h{level}"):
            text = squash_whitespace(el.text_content())
            if text and _same(text, title):
                return level, text
    return None


# ---- parsing and pre-cleaning ---------------------------------------------------


def _parse(text: str):
    import lxml.html
    from lxml.etree import ParserError

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses an encoding declaration in str
    try:
        return lxml.html.document_fromstring(text)
    except (ParserError, ValueError):
        return None


def _serialize(tree) -> str:
    import lxml.html

    return lxml.html.tostring(tree, encoding="unicode")


def _names(el) -> str:
    return f"{el.get('id') or ''} {el.get('class') or ''}"


def _prose_lengths(root) -> dict:
    """Characters of `<p>` text under each element (one pass up each paragraph's ancestors)."""
    sizes: dict = {}
    paragraphs = root.iter("p")
    for p in paragraphs:
        n = len(squash_whitespace(p.text_content()))
        node = p
        while node is not None:
            sizes[node] = sizes.get(node, 0) + n
            node = node.getparent()
    return sizes


def _holds_most_prose(el, sizes: dict, total: int) -> bool:
    return total > 0 and sizes.get(el, 0) >= _PROSE_GUARD * total


def _hidden(el) -> bool:
    return (
        el.get("hidden") is not None
        or (el.get("aria-hidden") or "").lower() == "true"
        or bool(_HIDDEN_STYLE_RE.search(el.get("style") or ""))
    )


_BYLINE_NAME_RE = re.compile(r"(?:^|[^a-z])(byline|author)", re.IGNORECASE)


def preclean(tree) -> list[str]:
    """Remove formula source, hidden text, captions, credits and citation marks in place.

    Returns the text of the byline elements removed (for the author)."""
    body = tree.find("body")
    root = body if body is not None else tree
    sizes = _prose_lengths(root)
    total = sizes.get(root, 0)
    doomed = []
    for el in root.iter():
        if not isinstance(el.tag, str):  # comments, processing instructions
            doomed.append(el)
            continue
        tag = el.tag.lower()
        if tag == "script" and "ld+json" in (el.get("type") or ""):
            continue
        if tag in _DROP_TAGS:
            doomed.append(el)
        elif tag == "sup" and (_MARKER_TEXT_RE.match(el.text_content()) or _in_page_link(el)
                               or _PAGE_REF_RE.match(el.text_content())):
            doomed.append(el)
        elif tag in _HEADING_TAGS:
            doomed.extend(c for c in el.iterdescendants() if isinstance(c.tag, str)
                          and c.tag in ("span", "a") and _CONTROL_TEXT_RE.match(c.text_content()))
        elif (_hidden(el) or _BOILER_NAME_RE.search(_names(el))) and tag not in ("html", "body"):
            if not _holds_most_prose(el, sizes, total):
                doomed.append(el)
    bylines = [squash_whitespace(el.text_content()) for el in doomed
               if isinstance(el.tag, str) and _BYLINE_NAME_RE.search(_names(el))]
    for el in doomed:
        _drop(el)
    return [b for b in bylines if b]


def _in_page_link(sup) -> bool:
    links = sup.findall(".//a")
    text = squash_whitespace(sup.text_content())
    return len(links) == 1 and (links[0].get("href") or "").startswith("#") and len(text) <= 6


def _drop(el) -> None:
    """Remove `el` but keep the text that follows it (lxml stores it in .tail)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    previous = el.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


# ---- trafilatura ------------------------------------------------------------------


def _trafilatura(html: str) -> tuple[list[tuple[int, str]], dict, str | None]:
    """Both of trafilatura's modes, merged: see `_merge`."""
    precise, meta, title = _trafilatura_pass(html, precision=True)
    full, _, _ = _trafilatura_pass(html, precision=False)
    return _merge(precise, full), meta, title


_SENTENCE_END_RE = re.compile(r"[.!?][\"'”’)\]]*$")
_CLAUSE_END_RE = re.compile(r"[.!?:][\"'”’)\]]*$|\w$")


def _merge(precise: list[tuple[int, str]], full: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The default pass's blocks, less those only it kept that are not long sentences.

    Measured on the extraction benchmark: the precision pass is the better
    extractor, but it sometimes drops whole article paragraphs (and words
    around formulas). Of the paragraphs only the default pass keeps, long ones
    that end a sentence are nearly all article; short ones nearly all not.
    A paragraph both kept, but the precision pass cut short (it stops at an
    emptied formula), is taken whole from the default pass; so is a sentence
    of six words or more that lies between paragraphs both passes kept (a
    one-line section body next to a formula). Measured: 0.970 against 0.971
    without that last rule, for sentences an article should not lose.
    """
    if not full:
        return precise
    seen = {t for _, t in precise}
    starts = {t[:_SAME_START] for _, t in precise if len(t) >= _SAME_START}  # the same paragraph, cut short
    both = [i for i, (_, t) in enumerate(full) if t in seen]
    first, last = (both[0], both[-1]) if both else (0, -1)
    keep = [t in seen or t[:_SAME_START] in starts
            or (len(t) >= _PROSE_BLOCK_CHARS and bool(_SENTENCE_END_RE.search(t)))
            or (first < i < last and len(t.split()) >= 6 and bool(_CLAUSE_END_RE.search(t)))
            for i, (_, t) in enumerate(full)]
    out = []
    for i, (level, text) in enumerate(full):
        if level and not keep[i]:
            keep[i] = i + 1 < len(full) and keep[i + 1] and not full[i + 1][0]
        if keep[i]:
            out.append((level, text))
    return out


def _trafilatura_pass(html: str, precision: bool):
    import trafilatura

    result = trafilatura.bare_extraction(
        html,
        include_comments=False,
        favor_precision=precision,
        include_tables=True,
        include_images=False,
        with_metadata=True,
        deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
        as_dict=False,
    )
    if result is None:
        return [], {}, None
    meta = {}
    for key, attr in (("author", "author"), ("date", "date"), ("site_name", "sitename"),
                      ("description", "description"), ("source_url", "url")):
        value = getattr(result, attr, None)
        if value:
            meta[key] = squash_whitespace(str(value))
    if "author" in meta:
        meta["author"] = ", ".join(a.strip() for a in meta["author"].split(";") if a.strip())
    body = getattr(result, "body", None)
    blocks = xml_blocks(body) if body is not None else []
    title = squash_whitespace(result.title) if result.title else None
    return blocks, meta, title


def _text(el) -> str:
    """An element's text with line breaks as spaces."""
    parts = []
    for node in el.iter():
        if node.tag == "lb":
            parts.append(" ")
        if node is not el and node.tag in ("list", "table"):
            continue
        if node.text and (node is el or node.getparent().tag not in ("list", "table")):
            parts.append(node.text)
        if node is not el and node.tail:
            parts.append(node.tail)
    return squash_whitespace("".join(parts))


def xml_blocks(body) -> list[tuple[int, str]]:
    """trafilatura's XML body as (level, text) blocks."""
    out: list[tuple[int, str]] = []

    def walk(el) -> None:
        for child in el:
            tag = child.tag
            if tag == "head":
                rend = child.get("rend") or "h2"
                level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
                out.append((level, squash_whitespace("".join(child.itertext()))))
            elif tag in ("p", "code") or (tag == "quote" and child.find("p") is None):
                out.append((0, squash_whitespace("".join(_texts(child)))))
            elif tag == "list":
                for item in child.iter("item"):
                    own = _own_text(item)
                    if own:
                        out.append((0, own))
            elif tag == "table":
                for row in child.iter("row"):
                    cells = [squash_whitespace("".join(c.itertext())) for c in row.iter("cell")]
                    cells = [c for c in cells if c]
                    if cells:
                        out.append((0, " | ".join(cells)))
            elif tag == "graphic":
                continue
            else:
                walk(child)
                if child.text and child.text.strip() and tag not in ("div", "quote"):
                    out.append((0, squash_whitespace(child.text)))

    walk(body)
    return [(lvl, t) for lvl, t in out if t]


def _texts(el):
    for node in el.iter():
        if node.tag == "lb":
            yield " "
        if node.text:
            yield node.text
        if node is not el and node.tail:
            yield node.tail


def _own_text(item) -> str:
    """A list item's text without its nested lists (they are items of their own)."""
    parts = [item.text or ""]
    for child in item:
        if child.tag != "list":
            parts.append(" " if child.tag == "lb" else "".join(_texts(child)))
        parts.append(child.tail or "")
    return squash_whitespace("".join(parts))


# ---- readability fallback -----------------------------------------------------------


def _readability(html: str) -> list[tuple[int, str]]:
    import lxml.html
    from readability import Document as Readable

    try:
        summary = Readable(html).summary(html_partial=True)
    except Exception:  # noqa: BLE001 - readability raises bare errors on odd pages
        log.debug("readability failed", exc_info=True)
        return []
    if not summary.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(summary, create_parent="div")
    except Exception:  # noqa: BLE001
        return []
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    _element_blocks(root, out, pending)
    _flush(pending, out)
    return out


def _words(blocks) -> list[str]:
    return " ".join(t for _, t in blocks).lower().split()


def _prefer_fallback(mine, other) -> bool:
    """readability found more of the same article: longer, and containing most of ours."""
    a, b = _words(mine), _words(other)
    if not b:
        return False
    if not a:
        return True
    if len(b) >= _REPLACE_RATIO * len(a):
        return True
    if len(b) < _FALLBACK_RATIO * len(a):
        return False
    shingles = {tuple(b[i : i + 4]) for i in range(max(1, len(b) - 3))}
    ours = [tuple(a[i : i + 4]) for i in range(max(1, len(a) - 3))]
    return sum(s in shingles for s in ours) >= 0.5 * len(ours)


# ---- plain walk (last resort) -------------------------------------------------------


def _walk_blocks(tree) -> list[tuple[int, str]]:
    body = tree.find("body")
    root = body if body is not None else tree
    sizes = _prose_lengths(root)
    total = sizes.get(root, 0)
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if el.tag in _WALK_DROP_TAGS or _WALK_NAME_RE.search(_names(el)):
            if el.tag not in ("html", "body", "main", "article") and not _holds_most_prose(el, sizes, total):
                _drop(el)
    start = root.find(".//article")
    if start is None:
        start = root.find(".//main")
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    _element_blocks(start if start is not None else root, out, pending)
    _flush(pending, out)
    return out


def _element_blocks(node, out: list[tuple[int, str]], pending: list[str]) -> None:
    """Walk HTML block elements in order; loose inline text becomes its own paragraph."""
    if node.text:
        pending.append(node.text)
    for child in node:
        if not isinstance(child.tag, str):
            if child.tail:
                pending.append(child.tail)
            continue
        tag = child.tag.lower()
        if tag == "br":
            pending.append("\n")
        elif tag not in _BLOCK_TAGS:
            pending.append(child.text_content())
        else:
            _flush(pending, out)
            if tag in _HEADING_TAGS:
                out.append((_HEADING_TAGS[tag], squash_whitespace(child.text_content())))
            elif tag == "tr":
                cells = [squash_whitespace(c.text_content()) for c in child if c.tag in ("td", "th")]
                out.append((0, " | ".join(c for c in cells if c)))
            elif tag in _LEAF_TAGS or (tag in _SOFT_LEAF_TAGS and not any(
                    isinstance(d.tag, str) and d.tag in _BLOCK_TAGS for d in child.iterdescendants())):
                out.append((0, child.text_content()))
            else:
                _element_blocks(child, out, pending)
                _flush(pending, out)
        if child.tail:
            pending.append(child.tail)


def _flush(pending: list[str], out: list[tuple[int, str]]) -> None:
    for piece in re.split(r"\n\s*\n", "".join(pending)):
        if piece.strip():
            out.append((0, piece))
    pending.clear()


# ---- finishing ------------------------------------------------------------------------


def _finish(blocks: list[tuple[int, str]], meta: dict) -> list[tuple[int, str]]:
    units = [Unit(strip_footnote_markers(squash_whitespace(t)), i, lvl) for i, (lvl, t) in enumerate(blocks)]
    units, _ = strip_boilerplate([u for u in units if u.text], pipes=False)
    found: dict = {}
    kept = take_byline([(u.level, u.text) for u in units], found)
    if found:
        meta.setdefault("author", found["author"])
        meta.setdefault("byline", found["byline"])
    return kept


def _author_from_bylines(bylines: list[str], meta: dict) -> None:
    """'By Mara Lind' (or just 'Mara Lind') in a byline element the page marks as one."""
    for text in bylines:
        found: dict = {}
        take_byline([(0, text if BYLINE_RE.match(text) else f"By {text}")], found)
        if found.get("author") and len(found["author"]) <= 120:
            meta["author"] = found["author"]
            meta.setdefault("byline", text)
            return


_TITLE_BY_RE = re.compile(r"\bby\s+((?:[A-Z][\w'’-]*\.?\s+){0,3}[A-Z][\w'’-]+)\.?\s*$")


def _author_from_title_tag(tree, meta: dict) -> None:
    """A page whose only byline is its <title>: "The ... of X, by Jane Q. Doe."."""
    title = tree.find(".//title")
    raw = squash_whitespace(title.text_content()) if title is not None else ""
    m = _TITLE_BY_RE.search(raw)
    if m:
        meta["author"] = m.group(1).strip()


def _first_h1(tree) -> str | None:
    for h1 in tree.iter("h1"):
        text = squash_whitespace(h1.text_content())
        if text:
            return text
    return None


def _title_tag(tree) -> str | None:
    title = tree.find(".//title")
    raw = title.text_content() if title is not None else ""
    return squash_whitespace(re.split(r"\s[|–—]\s", raw)[0]) or None


def _same(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"\W+", " ", s.lower()).strip()

    return norm(a) == norm(b)
