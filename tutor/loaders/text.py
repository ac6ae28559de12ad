"""Plain text: web captures and hard-wrapped books.

Lines between blank lines are one paragraph (hard-wrapped text is rejoined
with spaces; words are not de-hyphenated, since a book's "to-day" may fall at
a line end). A list item starts a paragraph of its own. Headings are guessed:
a short stand-alone paragraph without sentence punctuation. The title is the
first heading that is not a bare number ("IX", "Chapter 3"); an all-capitals
title is put in title case.

An RFC 822 style header at the top ("Title:", "Author:", "Created:" lines, as
PEPs and RFCs have) is the document's metadata, not its text.

Removed from the prose: web boilerplate lines (see `blocks`), ASCII table
borders (`+----+`; the cells of a `| a | b |` row are kept as one row of text),
bracketed image placeholders ("[Illustration: ...]"), `_underscore_`
emphasis marks (the words stay) and inline footnote markers. An indented footnote body ("    [66] Compare ...") stays as its own
paragraph without the marker.
"""

from __future__ import annotations

import re
from pathlib import Path

from tutor.loaders.blocks import (
    LIST_ITEM_RE,
    Parsed,
    Unit,
    footnote_body,
    is_numeral_heading,
    join_groups,
    mark_headings,
    normalize_line,
    page_title,
    strip_boilerplate,
    strip_footnote_markers,
    take_byline,
    tidy_title,
)

_BORDER_RE = re.compile(r"^\s*[+|]?(?:[-=+]{3,}[+|]?)+\s*$")
_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_EMPHASIS_RE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_PLACEHOLDER_RE = re.compile(r"^\[(?:illustration|image|picture|figure|photo)\b[^\]]*\]$", re.I)


def _row(line: str) -> str:
    cells = [normalize_line(c) for c in line.strip().strip("|").split("|")]
    return " | ".join(c for c in cells if c)


def text_units(raw: str) -> list[Unit]:
    units: list[Unit] = []
    group = 0
    for raw_line in raw.splitlines():
        if _BORDER_RE.match(raw_line):
            group += 1
            continue
        if _ROW_RE.match(raw_line):
            row = _row(raw_line)
            group += 1
            if row:
                units.append(Unit(row, group))
            group += 1
            continue
        line = normalize_line(raw_line)
        if not line or LIST_ITEM_RE.match(line):
            group += 1
        if line:
            units.append(Unit(line, group))
    return units


def _drop_placeholders(blocks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(lvl, t) for lvl, t in blocks if not _PLACEHOLDER_RE.match(t)]


def _footnotes(blocks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out = []
    for level, text in blocks:
        body = footnote_body(text) if level == 0 else None
        text = strip_footnote_markers(body if body is not None else text)
        out.append((level, _EMPHASIS_RE.sub(r"\1", text)))
    return out


_FIELD_RE = re.compile(r"^([A-Z][A-Za-z]+(?:-[A-Za-z]+)*):[ \t]+(\S.*)$")
_FIELD_KEYS = {"title": "title", "subject": "title", "author": "author", "authors": "author", "from": "author",
               "date": "date", "created": "date", "published": "date"}


def header_fields(raw: str) -> tuple[dict, str]:
    """An RFC 822 style header at the top of a text file (as PEPs, RFCs and
    mail archives have: "Title: ...", "Author: ...", "Created: ...", at least
    three such lines before the first blank line) as metadata, and the text
    after it. E-mail addresses are dropped from names."""
    lines = raw.lstrip("\ufeff").splitlines()
    fields: list[tuple[str, str]] = []
    end = None
    for n, line in enumerate(lines):
        if not line.strip():
            end = n
            break
        m = _FIELD_RE.match(line)
        if m:
            fields.append((m.group(1).lower(), m.group(2).strip()))
        elif line[:1] in " \t" and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
        else:
            return {}, raw
    if end is None or len(fields) < 3:
        return {}, raw
    meta: dict = {}
    for key, value in fields:
        target = _FIELD_KEYS.get(key)
        if target and target not in meta:
            value = re.sub(r"\s*<[^>]*>|\s*\([^)]*@[^)]*\)", "", value).strip(" ,")
            if value:
                meta[target] = value
    return meta, "\n".join(lines[end + 1 :])


def parse_text(raw: str, path: Path | None = None) -> Parsed:
    fields, raw = header_fields(raw)
    units, header = strip_boilerplate(text_units(raw))
    page, site = page_title(header)
    meta: dict = {"site_name": site} if site else {}
    meta.update({k: v for k, v in fields.items() if k != "title"})
    blocks = _footnotes(_drop_placeholders(join_groups(units)))
    blocks = take_byline(blocks, meta)
    # reStructuredText's "... as follows::" introduces a literal block: a sentence, not a heading
    blocks = [(0, t[:-1]) if t.endswith("::") else (lvl, t) for lvl, t in mark_headings(blocks)]
    title = fields.get("title") or page or next(
        (tidy_title(t) for lvl, t in blocks if lvl and not is_numeral_heading(t)), None
    )
    return Parsed(blocks, title, meta)
