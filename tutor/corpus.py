"""Load corpus files into clean plain-text Documents.

This module holds the `Document` and `Heading` records and the entry points
(`load_document`, `find_corpus_files`, `clean_text`); the work is done by one
loader per format in `tutor/loaders/` (html, markdown, text, pdf), on top of
shared line/block rules (`loaders/blocks.py`) and file handling
(`loaders/files.py`: walking folders, size limit, decoding). Chunking is not
here: `tutor/chunking.py` consumes a `Document`.

`Document.text` is plain text: paragraphs separated by exactly one blank line,
headings as their own paragraphs (no '#'), whitespace normalised, the article's
words otherwise unchanged. Heading offsets index into it:
`doc.text[h.start:h.end] == h.text`. The text is assembled in one pass, so
loading is linear in the size of the file.

`Document.meta` holds what the article says about itself, where it says it:
`author` (names joined by ", "), `date` (ISO), `site_name`, `description`,
`source_url`, `byline` (the byline paragraph taken out of the text), plus any
other scalar front matter keys. The title is `Document.title`.

>>> text, heads = clean_text("Site Name Site Map\\n\\nIntro\\n\\nBody text here.\\n\\nHome | Contact")
>>> text
'Intro\\n\\nBody text here.'
>>> [(h.text, h.level) for h in heads]
[('Intro', 2)]

Deliberate simplifications (more in each loader's docstring):
- One file is one article; no multi-page web articles, no archives.
- Plain-text headings are guessed: a short stand-alone line without sentence
  punctuation (a title-case question counts) is a level-2 heading.
- Encodings: UTF-8, or a BOM, or an HTML page's declared charset. Other bytes
  are refused with the likely encoding named, not guessed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tutor.errors import InputFileError
from tutor.loaders import blocks as _blocks
from tutor.loaders import files as _files
from tutor.loaders.blocks import (  # noqa: F401 - public helpers, re-exported
    Parsed,
    is_boilerplate_line,
    looks_like_heading,
    normalize_line,
    squash_whitespace,
)
from tutor.loaders.files import (  # noqa: F401 - re-exported
    BANK_SUFFIXES,
    DEFAULT_MAX_MB,
    SUPPORTED_SUFFIXES,
)
from tutor.loaders.markdown import strip_markdown_inline  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Heading:
    """A heading paragraph of `Document.text`: text == document.text[start:end]."""

    start: int
    end: int
    level: int
    text: str


@dataclass(frozen=True)
class Document:
    """One cleaned article. `meta` holds author, byline, date, source url, etc."""

    doc_id: str
    title: str
    text: str
    headings: tuple[Heading, ...]
    source: str
    meta: dict = field(hash=False)
    content_hash: str


# ---- ids ----------------------------------------------------------------------------


def slugify(name: str) -> str:
    """A stable id: lowercase ASCII letters, digits and '-'.

    >>> slugify("Bees vs. Wasps (2nd ed.)")
    'bees-vs-wasps-2nd-ed'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _doc_id_for(path: Path, given: object) -> str:
    slug = slugify(str(given or "")) or slugify(path.stem)
    return slug or "doc-" + hashlib.sha256(path.stem.encode()).hexdigest()[:8]


# ---- finding and loading ------------------------------------------------------------


def find_corpus_files(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand `paths` into corpus files; report missing, unreadable and unsupported ones.

    Directories are walked in sorted order without recursion; hidden files and
    folders, question banks and files of unsupported types inside them are
    skipped silently. Returns (files, problems), each problem a (path,
    one-line message) pair.
    """
    return _files.find_corpus_files(paths)


def load_document(path: Path, max_mb: float = DEFAULT_MAX_MB) -> Document:
    """Load and clean one corpus file; InputFileError names the file and the reason.

    `max_mb` is the size limit (0 for none)."""
    from tutor.loaders.html import parse_html
    from tutor.loaders.markdown import parse_markdown
    from tutor.loaders.pdf import parse_pdf
    from tutor.loaders.text import parse_text

    path = Path(path)
    suffix = path.suffix.lower()
    data = _files.read_file(path, max_mb)  # missing, folder, too big: before the type check
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputFileError(_files.unsupported(path))
    if not data.strip():
        raise InputFileError(f"{path}: file is empty")
    if suffix == ".pdf":
        if not data.lstrip().startswith(b"%PDF"):
            raise InputFileError(f"{path}: not a PDF (the file does not start with %PDF)")
        parsed = parse_pdf(data, path)
    else:
        html = suffix in (".html", ".htm")
        text = _files.decode(data, path, html=html)
        parser = parse_html if html else parse_markdown if suffix in (".md", ".markdown") else parse_text
        parsed = parser(text, path)
    return _build_document(path, parsed)


def _build_document(path: Path, parsed: Parsed) -> Document:
    text, headings = assemble(parsed.blocks)
    if not text:
        raise InputFileError(f"{path}: no article text (only whitespace or boilerplate)")
    meta = {k: v for k, v in parsed.meta.items() if v not in (None, "")}
    doc_id = _doc_id_for(path, meta.pop("id", None))
    title = str(meta.pop("title", "") or "").strip()
    title = title or (parsed.title or "").strip() or _first_title(headings)
    title = title or path.stem.replace("-", " ").replace("_", " ").title()
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return Document(doc_id, title, text, headings, str(path), meta, digest)


def _first_title(headings: tuple[Heading, ...]) -> str:
    for h in headings:
        if not _blocks.is_numeral_heading(h.text):
            return _blocks.tidy_title(h.text)
    return ""


def assemble(blocks: list[tuple[int, str]]) -> tuple[str, tuple[Heading, ...]]:
    """Join blocks with blank lines, recording heading offsets (one pass)."""
    parts: list[str] = []
    headings: list[Heading] = []
    pos = 0
    for level, raw in blocks:
        text = squash_whitespace(raw)
        if not text:
            continue
        if parts:
            pos += 2
        if level:
            headings.append(Heading(pos, pos + len(text), level, text))
        parts.append(text)
        pos += len(text)
    return "\n\n".join(parts), tuple(headings)


def clean_text(raw: str) -> tuple[str, tuple[Heading, ...]]:
    """Clean a plain-text web capture: boilerplate out, paragraphs and headings found."""
    from tutor.loaders.text import parse_text

    return assemble(parse_text(raw).blocks)
