"""PDF: the text layer in reading order, without running heads, page numbers or sidebars.

pdfplumber (pdfminer.six) gives every word with its position, font and size;
the layout is read from those, not guessed from the extracted lines alone:

1. Words are grouped into lines by position; a line is cut into fragments at
   horizontal gaps wider than a font size (a sidebar, a table cell or a
   second column beside the body text), and again wherever a gap straddles
   the body column's left edge.
2. The body text's font size (the size of most characters) and its column
   (the most common left edge of body-size fragments, and the usual right
   edge) are measured over the whole document. Fragments entirely outside
   that column are margin content (a sidebar, marginal notes, line numbers)
   and go. Two columns are recognised when body-size fragments start at two
   left edges, each holding a quarter of them or more, with the second past
   a third of the text width; each column is then read top to bottom.
3. Running heads and feet: a fragment in the top or bottom 12% of its page
   whose text (digits ignored) recurs on at least half the pages (two at
   least) goes, and so does a bare page number at the top or bottom of a page.
4. Paragraphs: a new one starts after a vertical gap clearly wider than the
   usual line gap, at a first-line indent, at a list item, at a change of
   font size, or after a short line that ends a sentence. A paragraph that
   runs across a page break (the page ends mid-sentence) is continued. Words
   hyphenated across a line break are joined ("struc-" + "ture").
5. Headings are fragments set larger than the body text (levels by size).
   When a PDF has none, short stand-alone lines are guessed as headings.
6. The date is the PDF's /CreationDate (day precision). The title block:
   the title is the PDF's /Title, else the largest line(s)
   on page 1 (kept as the level-1 heading). The authors are /Author, else the
   line(s) after the title that read as a list of names once superscript
   affiliation marks are dropped; those lines and the affiliations (smaller
   type above the first section heading) leave the text.

Deliberate simplifications: no OCR (a PDF without a text layer is refused);
at most two columns; tables are read row by row as lines; footnotes at the
foot of a page stay as paragraphs where they are.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import InputFileError
from tutor.loaders.blocks import (
    LIST_ITEM_RE,
    Parsed,
    join_lines,
    looks_like_heading,
    split_names,
    squash_whitespace,
    strip_footnote_markers,
    take_byline,
)

log = logging.getLogger(__name__)

_BAND = 0.12  # top/bottom share of a page where running heads and feet live
_GAP_SIZES = 1.0  # a horizontal gap this many font sizes wide separates fragments
_PAGE_NUMBER_RE = re.compile(r"^(page\s*)?(\d{1,4}|[ivxlc]{1,6})(\s*(of|/)\s*\d+)?$", re.I)
_SENTENCE_END_RE = re.compile(r"[.!?:][\"'”’)\]]*$")
_NAME_RE = re.compile(r"^[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*|\s+(?:van|von|de|der|da|di|le|la|du|del)){0,5}$")


@dataclass
class _Fragment:
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    text: str
    page_height: float
    words: list
    line: int = 0  # the line's number on its page: fragments of one line read left to right


def parse_pdf(data: bytes, path: Path) -> Parsed:
    pages, info = _read(data, path)
    frags = [f for page in pages for f in page]
    if not frags:
        raise InputFileError(f"{path}: PDF has no text layer (scanned?); run OCR on it first")
    body = _body_size(frags)
    left, right, gutter = _column(frags, body)
    frags = [g for f in frags for g in _split_at(f, left)]
    frags = [f for f in frags if not _outside(f, left, right)]
    frags = _drop_running(frags, len(pages))
    frags = _reading_order(frags, gutter)
    meta: dict = {}
    title, printed, frags = _title_block(frags, info, body, meta)
    blocks = _paragraphs(frags, body, left, gutter, right)
    if title and printed:
        blocks = [(1, title)] + [b for b in blocks if not (b[0] and b[1] == title)]
    if not any(level for level, _ in blocks[1:] if level):
        blocks = [(2 if level == 0 and looks_like_heading(t) else level, t) for level, t in blocks]
    blocks = [(lvl, strip_footnote_markers(t)) for lvl, t in blocks]
    blocks = take_byline(blocks, meta)
    return Parsed(blocks, title, meta)


# ---- reading ---------------------------------------------------------------------


def _read(data: bytes, path: Path) -> tuple[list[list[_Fragment]], dict]:
    import pdfplumber

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pdfplumber.open(io.BytesIO(data)) as pdf:
                info = dict(pdf.metadata or {})
                pages = [_page_fragments(page, i) for i, page in enumerate(pdf.pages)]
    except InputFileError:
        raise
    except Exception as exc:  # pdfminer raises many types on damaged files
        log.warning("%s: PDF library error: %r", path, exc)
        reason = squash_whitespace(str(exc))[:80] or type(exc).__name__
        raise InputFileError(f"{path}: unreadable PDF ({reason})") from None
    return pages, info


def _page_fragments(page, number: int) -> list[_Fragment]:
    words = page.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False,
                               extra_attrs=["size"])
    words = [w for w in words if w["text"].strip()]
    words.sort(key=lambda w: (round(w["top"]), w["x0"]))
    lines: list[list[dict]] = []
    extent = (0.0, 0.0)
    for w in words:
        if lines:
            overlap = min(extent[1], w["bottom"]) - max(extent[0], w["top"])
            if overlap >= 0.5 * min(extent[1] - extent[0], w["bottom"] - w["top"]):
                lines[-1].append(w)
                extent = (min(extent[0], w["top"]), max(extent[1], w["bottom"]))
                continue
        lines.append([w])
        extent = (w["top"], w["bottom"])
    frags: list[_Fragment] = []
    for number_on_page, line in enumerate(lines):
        start = len(frags)
        line.sort(key=lambda w: w["x0"])
        size = statistics.median(w["size"] for w in line)
        current = [line[0]]
        for w in line[1:]:
            if w["x0"] - current[-1]["x1"] > _GAP_SIZES * max(size, w["size"]):
                frags.append(_fragment(current, number, page.height))
                current = [w]
            else:
                current.append(w)
        frags.append(_fragment(current, number, page.height))
        for f in frags[start:]:
            f.line = number_on_page
    return frags


def _fragment(words: list[dict], page: int, height: float) -> _Fragment:
    size = max(Counter(round(w["size"], 1) for w in words).items(), key=lambda kv: (kv[1], kv[0]))[0]
    return _Fragment(
        page=page,
        x0=min(w["x0"] for w in words),
        x1=max(w["x1"] for w in words),
        top=min(w["top"] for w in words),
        bottom=max(w["bottom"] for w in words),
        size=size,
        text=" ".join(w["text"] for w in words),
        page_height=height,
        words=words,
    )


# ---- layout ------------------------------------------------------------------------


def _body_size(frags: list[_Fragment]) -> float:
    weights: Counter = Counter()
    for f in frags:
        weights[round(f.size * 2) / 2] += len(f.text)
    return weights.most_common(1)[0][0]


def _is_body(f: _Fragment, body: float) -> bool:
    return abs(f.size - body) <= 0.6


def _column(frags: list[_Fragment], body: float) -> tuple[float, float, float | None]:
    """Left edge, right edge and (for two columns) the second column's left edge."""
    main = [f for f in frags if _is_body(f, body) and len(f.text) >= 20] or frags
    starts = Counter(round(f.x0) for f in main)
    merged: Counter = Counter()
    for x, n in starts.items():  # edges a point or two apart are one edge
        key = next((k for k in merged if abs(k - x) <= 2), x)
        merged[key] += n
    left = min(x for x, n in merged.items() if n >= 0.1 * len(main))
    rights = sorted(f.x1 for f in main)
    right = rights[int(0.95 * (len(rights) - 1))]
    gutter = None
    strong = sorted(x for x, n in merged.items() if n >= 0.25 * len(main))
    if len(strong) >= 2 and strong[-1] > left + (right - left) / 3:
        second = strong[-1]
        if all(f.x1 <= second + 2 or f.x0 >= second - 2 for f in main if f.x0 < second - 2 and f.x1 > left):
            gutter = float(second)
    return float(left), float(right), gutter


def _split_at(f: _Fragment, edge: float) -> list[_Fragment]:
    """Cut a fragment where one word ends left of `edge` and the next starts at it."""
    words = sorted(f.words, key=lambda w: w["x0"])
    for i in range(1, len(words)):
        if words[i - 1]["x1"] < edge - 1 <= words[i]["x0"] and words[i]["x0"] - words[i - 1]["x1"] > 0.4 * f.size:
            parts = [_fragment(words[:i], f.page, f.page_height), _fragment(words[i:], f.page, f.page_height)]
            for part in parts:
                part.line = f.line
            return parts
    return [f]


def _outside(f: _Fragment, left: float, right: float) -> bool:
    return f.x1 < left - 2 or f.x0 > right + 2


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def _in_band(f: _Fragment) -> bool:
    return f.top < _BAND * f.page_height or f.bottom > (1 - _BAND) * f.page_height


def _drop_running(frags: list[_Fragment], n_pages: int) -> list[_Fragment]:
    pages_with: dict[str, set[int]] = {}
    for f in frags:
        if _in_band(f):
            pages_with.setdefault(_running_key(f.text), set()).add(f.page)
    need = max(2, (n_pages + 1) // 2)
    running = {k for k, pages in pages_with.items() if len(pages) >= need}
    by_page: dict[int, list[_Fragment]] = {}
    for f in frags:
        by_page.setdefault(f.page, []).append(f)
    kept = []
    for page in sorted(by_page):
        items = by_page[page]
        first, last = min(items, key=lambda f: f.top), max(items, key=lambda f: f.bottom)
        for f in items:
            if _in_band(f) and _running_key(f.text) in running:
                continue
            if _PAGE_NUMBER_RE.match(f.text.strip()) and (_in_band(f) or f is first or f is last):
                continue
            kept.append(f)
    return kept


def _reading_order(frags: list[_Fragment], gutter: float | None) -> list[_Fragment]:
    out: list[_Fragment] = []
    by_page: dict[int, list[_Fragment]] = {}
    for f in frags:
        by_page.setdefault(f.page, []).append(f)
    for page in sorted(by_page):
        items = sorted(by_page[page], key=lambda f: (f.line, f.x0))
        if gutter is None:
            out.extend(items)
            continue
        band: list[_Fragment] = []
        for f in items:
            spans = f.x0 < gutter - 2 and f.x1 > gutter + 2
            if spans:
                out.extend(sorted(band, key=lambda g: (g.x0 >= gutter - 2, g.line, g.x0)))
                band = []
                out.append(f)
            else:
                band.append(f)
        out.extend(sorted(band, key=lambda g: (g.x0 >= gutter - 2, g.line, g.x0)))
    return out


# ---- the title block ---------------------------------------------------------------------


def _plain_words(f: _Fragment) -> str:
    """A fragment's text without superscript marks (small digits, symbols, letters)."""
    keep = []
    for w in sorted(f.words, key=lambda w: w["x0"]):
        text = w["text"]
        if w["size"] < 0.85 * f.size:
            text = re.sub(r"[\d*†‡§]+", "", text)
        keep.append(text)
    text = " ".join(t for t in keep if t)
    return re.sub(r"\s+(?=,)", "", re.sub(r"(?<=[a-z])\d{1,2}(?=[\s,]|$)", "", text))


def _title_block(frags: list[_Fragment], info: dict, body: float, meta: dict):
    first_page = [f for f in frags if f.page == frags[0].page]
    title = _info_value(info, "Title")
    author = _info_value(info, "Author")
    printed = False
    drop: set[int] = set()
    if first_page:
        biggest = max(f.size for f in first_page)
        top_lines = []
        if biggest > body + 1:
            for i, f in enumerate(frags):
                if f.page != frags[0].page or f.size < biggest - 0.5:
                    if top_lines:
                        break
                    continue
                top_lines.append(i)
        if top_lines:
            found = squash_whitespace(" ".join(frags[i].text for i in top_lines))
            if not title or _same(title, found):
                title = title or found
                printed = True
                drop.update(top_lines)
            start = top_lines[-1] + 1
        else:
            start = 0
        names: list[str] = []
        names_size = 0.0
        j = start
        first = frags[0].page
        lines_seen = 0
        while j < len(frags) and frags[j].page == first and lines_seen < 4:
            k = j
            while k < len(frags) and frags[k].page == first and frags[k].line == frags[j].line:
                k += 1
            line = frags[j:k]
            candidate = " ".join(_plain_words(f) for f in line).strip(" ,")
            candidate = re.sub(r"\s+(?=,)", "", candidate)
            items = [p for p in re.split(r"\s*(?:,|\band\b|&)\s*", candidate) if p]
            size = max(f.size for f in line)
            same_size = not names or abs(size - names_size) < 0.6
            if (items and all(_NAME_RE.match(p) and len(p.split()) >= 2 for p in items)
                    and min(f.size for f in line) >= body - 0.6 and same_size):
                names_size = size
                names.extend(split_names(candidate))
                drop.update(range(j, k))
                j = k
                lines_seen += 1
            else:
                break
        if names and not author:
            author = ", ".join(names)
        if names:  # affiliations: smaller type between the names and the first heading
            while j < len(frags) and frags[j].page == first and frags[j].size < body - 0.6:
                drop.add(j)
                j += 1
    if author:
        meta["author"] = author
    created = re.match(r"D:(\d{4})(\d{2})(\d{2})", str(info.get("CreationDate") or ""))
    if created:
        meta["date"] = "-".join(created.groups())
    return title, printed, [f for i, f in enumerate(frags) if i not in drop]


_PLACEHOLDER_INFO_RE = re.compile(r"^(untitled|anonymous|unknown|none|\(.*\))$|\.(docx?|odt|tex|pdf|rtf|indd)$", re.I)


def _info_value(info: dict, key: str) -> str | None:
    """A /Title or /Author from the PDF's info, unless it is a tool's placeholder."""
    value = info.get(key)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "ignore")
    text = squash_whitespace(str(value or ""))
    return None if not text or _PLACEHOLDER_INFO_RE.search(text) else text


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", "", a.lower()) == re.sub(r"\W+", "", b.lower())


# ---- paragraphs -------------------------------------------------------------------------


def _indented(frags: list[_Fragment], n: int, f: _Fragment, col_left: float, body: float) -> bool:
    """Is the line after `f` (on its page) indented as well?"""
    if n >= len(frags) or frags[n].page != f.page:
        return False
    return frags[n].x0 - col_left > 0.8 * body and abs(frags[n].x0 - f.x0) < 0.5 * body


def _paragraphs(frags: list[_Fragment], body: float, left: float, gutter: float | None,
                right: float) -> list[tuple[int, str]]:
    heading_sizes = sorted({f.size for f in frags if f.size > body + 0.9 and len(f.text) <= 200},
                           reverse=True)
    level_of = {s: min(i + 2, 6) for i, s in enumerate(heading_sizes)}
    gaps = [b.top - a.bottom for a, b in zip(frags, frags[1:], strict=False)
            if a.page == b.page and _is_body(a, body) and _is_body(b, body) and 0 <= b.top - a.bottom < 2 * body]
    line_gap = statistics.median(gaps) if gaps else 0.3 * body
    blocks: list[tuple[int, list[str]]] = []  # parts joined once at the end: linear time
    prev: _Fragment | None = None
    open_para = False
    for n, f in enumerate(frags):
        level = level_of.get(f.size, 0)
        if level:
            if blocks and blocks[-1][0] == level and prev is not None and prev.size == f.size \
                    and prev.page == f.page and f.top - prev.bottom < body:
                blocks[-1][1].append(f.text)  # a heading over two lines
            else:
                blocks.append((level, [f.text]))
            open_para = False
            prev = f
            continue
        col_left = gutter if gutter is not None and f.x0 >= gutter - 2 else left
        col_right = right if gutter is None or f.x0 >= gutter - 2 else gutter - body
        new = not open_para or prev is None
        if not new:
            same_page = prev.page == f.page
            ended = bool(_SENTENCE_END_RE.search(prev.text))
            if same_page and abs(f.top - prev.top) < 0.5 * f.size:
                blocks[-1][1].extend(["|", f.text])  # a cell beside the last one
                prev = f
                continue
            if not same_page:
                new = ended or f.text[:1].isupper() and prev.x1 < col_right - 3 * body
            else:
                gap = f.top - prev.bottom
                new = (
                    gap > line_gap + 0.3 * body
                    or gap < -body  # next column
                    or abs(f.size - prev.size) > 0.6
                    or (f.x0 - col_left > 0.8 * body and prev.x0 - col_left < 0.5 * body
                        and not _indented(frags, n + 1, f, col_left, body))  # not a hanging indent
                    or (ended and prev.x1 < col_right - 3 * body)
                )
            new = new or bool(LIST_ITEM_RE.match(f.text))
        if new:
            blocks.append((0, [f.text]))
        else:
            parts = blocks[-1][1]
            joined = join_lines(parts[-1], f.text, dehyphenate=True)
            if joined.startswith(parts[-1] + " "):
                parts.append(f.text)
            else:
                parts[-1] = joined
        open_para = True
        prev = f
    return [(level, " ".join(parts)) for level, parts in blocks]
