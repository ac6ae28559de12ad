"""Load corpus files into clean plain-text Documents.

Holds the `Document` and `Heading` records, corpus file discovery
(`find_corpus_files`), one parser per format (.md/.markdown, .txt, .html/.htm,
.pdf), the byte-level checks (missing, empty, binary, undecodable) and the
web-boilerplate rules. Chunking is not here: `tutor/chunking.py` consumes a
`Document`.

`Document.text` is plain text: paragraphs separated by exactly one blank line,
headings as their own paragraphs (no '#'), whitespace normalised, the article's
words otherwise unchanged. Heading offsets index into it:
`doc.text[h.start:h.end] == h.text`.

>>> text, heads = clean_text("Site Name Site Map\\n\\nIntro\\n\\nBody text here.\\n\\nHome | Contact")
>>> text
'Intro\\n\\nBody text here.'
>>> [(h.text, h.level) for h in heads]
[('Intro', 2)]

Deliberate simplifications:
- Boilerplate removal is line-based rules (navigation and footer markers, a
  "Related pages" list, a trailing run of short link-title lines), not a trained
  content extractor. An article that ends in two short unpunctuated lines loses
  them.
- Plain-text headings are guessed: a short stand-alone line without sentence
  punctuation (a title-case question counts) is a level-2 heading.
- Markdown: YAML front matter, ATX '#' headings, emphasis/link/image/code markup
  stripped; no setext headings; tables stay as text.
- HTML: `<header>` is dropped except inside `<article>`, where it holds the
  article's own title and byline.
- PDF: the text layer only (no OCR); paragraphs are guessed from blank lines and
  short lines that end a sentence.
- Encodings: UTF-8, UTF-8 with BOM, UTF-16 with BOM. Anything else is refused
  rather than guessed (a silent latin-1 guess corrupts quotes).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tutor.errors import InputFileError

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
BANK_SUFFIXES = (".questions.yaml", ".questions.yml")

_HEADING_MAX_CHARS = 80
_SHORT_LINE_CHARS = 80
_BOILERPLATE_MAX_CHARS = 160
_HEADER_WINDOW = 10
_BYLINE_WINDOW = 6


@dataclass(frozen=True)
class Heading:
    """A heading paragraph of `Document.text`: text == document.text[start:end]."""

    start: int
    end: int
    level: int
    text: str


@dataclass(frozen=True)
class Document:
    """One cleaned article. `meta` holds author, byline, source url, etc."""

    doc_id: str
    title: str
    text: str
    headings: tuple[Heading, ...]
    source: str
    meta: dict = field(hash=False)
    content_hash: str


@dataclass
class _Unit:
    """A line (txt, pdf) or block (html, md) on its way into a paragraph.

    Level-0 units with the same `group` are lines of one paragraph.
    """

    text: str
    group: int
    level: int = 0


@dataclass
class _Parsed:
    blocks: list[tuple[int, str]]  # (level, text); level 0 is a paragraph
    title: str | None = None
    meta: dict = field(default_factory=dict)


# ---- whitespace and ids ---------------------------------------------------

_SPACE_RE = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE_RE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def normalize_line(line: str) -> str:
    """One line with nbsp/odd spaces as plain spaces, runs collapsed, ends trimmed."""
    return _SPACE_RE.sub(" ", _INVISIBLE_RE.sub("", line)).strip()


def squash_whitespace(text: str) -> str:
    """All whitespace (newlines too) collapsed to single spaces; for comparing quotes.

    >>> squash_whitespace("a\\u00a0 b\\n\\nc ")
    'a b c'
    """
    return " ".join(_INVISIBLE_RE.sub("", text).split())


def slugify(name: str) -> str:
    """A stable id: lowercase ASCII letters, digits and '-'.

    >>> slugify("Leadership vs. Management (2nd ed.)")
    'leadership-vs-management-2nd-ed'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _doc_id_for(path: Path, given: object) -> str:
    slug = slugify(str(given or "")) or slugify(path.stem)
    return slug or "doc-" + hashlib.sha256(path.stem.encode()).hexdigest()[:8]


# ---- finding files --------------------------------------------------------


def _is_bank(path: Path) -> bool:
    return path.name.lower().endswith(BANK_SUFFIXES)


def _unsupported(path: Path) -> str:
    accepted = " ".join(SUPPORTED_SUFFIXES)
    return f"{path}: unsupported file type '{path.suffix or '(none)'}'; accepted: {accepted}"


def find_corpus_files(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand `paths` into corpus files; report missing and unsupported ones.

    Directories are walked recursively in sorted order; hidden files and folders,
    question banks and files of unsupported types inside them are skipped silently.
    Returns (files, problems), each problem a (path, one-line message) pair.
    """
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(_walk_dir(path))
        elif not path.exists():
            problems.append((path, f"{path}: no such file or directory"))
        elif _is_bank(path):
            continue
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            problems.append((path, _unsupported(path)))
        else:
            files.append(path)
    return list(dict.fromkeys(files)), problems


def _walk_dir(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        wanted = path.suffix.lower() in SUPPORTED_SUFFIXES and not _is_bank(path)
        if path.is_file() and wanted and not hidden:
            found.append(path)
    return found


# ---- loading --------------------------------------------------------------


def load_document(path: Path) -> Document:
    """Load and clean one corpus file; InputFileError names the file and the reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory, not a corpus file")
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputFileError(_unsupported(path))
    data = _read_bytes(path)
    if not data.strip():
        raise InputFileError(f"{path}: file is empty")
    if suffix == ".pdf":
        parsed = _parse_pdf(data, path)
    else:
        parsed = _TEXT_PARSERS[suffix](_decode(data, path), path)
    return _build_document(path, parsed)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _build_document(path: Path, parsed: _Parsed) -> Document:
    text, headings = _assemble(parsed.blocks)
    if not text:
        raise InputFileError(f"{path}: no article text (only whitespace or boilerplate)")
    meta = dict(parsed.meta)
    doc_id = _doc_id_for(path, meta.pop("id", None))
    title = str(meta.pop("title", "") or "").strip()
    title = title or parsed.title or (headings[0].text if headings else "")
    title = title or path.stem.replace("-", " ").replace("_", " ").title()
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return Document(doc_id, title, text, headings, str(path), meta, digest)


def _assemble(blocks: list[tuple[int, str]]) -> tuple[str, tuple[Heading, ...]]:
    """Join blocks with blank lines, recording heading offsets."""
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


# ---- decoding -------------------------------------------------------------


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; anything else is refused."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in data:
        raise InputFileError(f"{path}: binary file (contains NUL bytes), not text")
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if _looks_binary(data):
            raise InputFileError(f"{path}: binary file, not text") from exc
        raise InputFileError(
            f"{path}: not valid {encoding.upper()} text (bad byte at offset {exc.start}); "
            "re-save it as UTF-8"
        ) from exc
    if _control_share(text) > 0.05:
        raise InputFileError(f"{path}: binary file (mostly control characters), not text")
    if not text.strip():
        raise InputFileError(f"{path}: file holds only whitespace")
    return text


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    control = sum(1 for b in sample if (b < 32 and b not in b"\t\n\r\f\v") or b == 127)
    high = sum(1 for b in sample if b >= 128)
    return control > 0.05 * len(sample) or high > 0.3 * len(sample)


def _control_share(text: str) -> float:
    sample = text[:8192]
    bad = sum(1 for c in sample if unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r\f\v")
    return bad / max(1, len(sample))


# ---- boilerplate rules ----------------------------------------------------

_I = re.IGNORECASE
_NAV_MARK_RE = re.compile(
    r"\bsite ?map\b|^skip to (main )?content\b|^(main )?(menu|navigation)$|^you are here\b"
    r"|^home\s*[|>»›]",
    _I,
)
_BOILERPLATE_RES = (
    _NAV_MARK_RE,
    re.compile(r"^(Website|Web site|Site|Web design|Designed|Built|Hosted) (by|with)\b"),
    re.compile(r"^Powered by\b"),
    re.compile(r"^(Copyright\b.*(\d{4}|©)|©|\(c\) ?\d{4})"),
    re.compile(r"\ball rights reserved\b|\bwebsite builder\b", _I),
    re.compile(r"^(skip|jump) to\b|^back to top\b|^print (this )?page\b", _I),
    re.compile(r"\bcookies?\b.*\b(use|accept|consent|policy|settings)\b|\baccept (all )?cookies", _I),
    re.compile(r"^(subscribe|sign up)\b.*\b(newsletter|updates|e-?mail|free)\b|^subscribe$", _I),
    re.compile(r"^(share (this|on)|follow us|like us on)\b", _I),
    re.compile(r"^(privacy policy|terms (of (use|service)|and conditions)|contact us|about us)$", _I),
)
_RELATED_RE = re.compile(
    r"^(related (pages|articles|posts|links|reading|content|stories)"
    r"|you (might|may) also (like|enjoy)|more (articles|stories)\b|recommended (reading|for you)"
    r"|popular (posts|articles))\b",
    _I,
)
_SENTENCE_END_RE = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")
_LIST_ITEM_RE = re.compile(r"^([-*+•]|\d+[.)])\s+")


def _is_pipe_nav(line: str) -> bool:
    """'Home | Contact |', 'About » Team': short items between separators."""
    if not re.search(r"[|»›]", line):
        return False
    items = [p.strip() for p in re.split(r"[|»›]", line) if p.strip()]
    return all(len(p.split()) <= 4 and not _SENTENCE_END_RE.search(p) for p in items)


def is_boilerplate_line(line: str) -> bool:
    """True for a site navigation, footer, cookie or subscribe line."""
    if len(line) > _BOILERPLATE_MAX_CHARS:
        return False
    return _is_pipe_nav(line) or any(rx.search(line) for rx in _BOILERPLATE_RES)


def _is_short_line(line: str) -> bool:
    """A link-title-like line: short and not ending a sentence."""
    return len(line) <= _SHORT_LINE_CHARS and not re.search(r"[.!?][\"'”’)\]]*$", line)


def _strip_boilerplate(units: list[_Unit]) -> tuple[list[_Unit], list[str]]:
    """Remove header navigation, related-link lists, footer lines and a trailing link block.

    Returns the kept units and the text of the dropped header lines.
    """
    units, header = _strip_header(units)
    units = _cut_related(units)
    units = [u for u in units if not is_boilerplate_line(u.text)]
    return _strip_trailing(units), header


def _strip_header(units: list[_Unit]) -> tuple[list[_Unit], list[str]]:
    """Drop a leading run of short lines that ends at a navigation marker ('Site Map')."""
    marks = [i for i, u in enumerate(units[:_HEADER_WINDOW]) if _NAV_MARK_RE.search(u.text)]
    if not marks:
        return units, []
    head = units[: marks[-1] + 1]
    if not all(_is_short_line(u.text) or is_boilerplate_line(u.text) for u in head):
        return units, []
    return units[marks[-1] + 1 :], [u.text for u in head]


def _cut_related(units: list[_Unit]) -> list[_Unit]:
    """Drop a 'Related Pages:' marker and the short link-title lines after it."""
    kept: list[_Unit] = []
    skipping = False
    for unit in units:
        if len(unit.text) <= _SHORT_LINE_CHARS and _RELATED_RE.search(unit.text):
            skipping = True
        elif skipping and not _is_short_line(unit.text):
            skipping = False
        if not skipping:
            kept.append(unit)
    return kept


def _strip_trailing(units: list[_Unit]) -> list[_Unit]:
    """Drop a trailing block of two or more short non-sentence lines (footer links)."""
    end = len(units)
    while end and _is_short_line(units[end - 1].text) and not _LIST_ITEM_RE.match(units[end - 1].text):
        end -= 1
    while 0 < end < len(units) and units[end].group == units[end - 1].group:
        end += 1  # never cut a paragraph in half
    return units[:end] if len(units) - end >= 2 else units


def _page_title(header: list[str]) -> tuple[str | None, str | None]:
    """From header lines like [site name, page title, 'Site name Site Map']: (page, site)."""
    navs = [h for h in header if is_boilerplate_line(h)]
    names = [h for h in header if h not in navs]
    sites = [n for n in names if any(n in nav for nav in navs)]
    pages = [n for n in names if n not in sites]
    return (pages[-1] if pages else None), (sites[0] if sites else None)


# ---- paragraphs, headings, bylines (shared by txt, html, pdf) --------------

_BYLINE_RE = re.compile(r"^[Bb]y\s+(?P<name>[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,4})\s*(?:,|$|[-|–—]\s)")


def _join_groups(units: list[_Unit], dehyphenate: bool = False) -> list[tuple[int, str]]:
    """Merge level-0 units of the same group into one paragraph each."""
    blocks: list[tuple[int, str]] = []
    last_group = None
    for unit in units:
        if unit.level == 0 and blocks and blocks[-1][0] == 0 and unit.group == last_group:
            blocks[-1] = (0, _join_lines(blocks[-1][1], unit.text, dehyphenate))
        else:
            blocks.append((unit.level, unit.text))
        last_group = unit.group
    return blocks


def _join_lines(left: str, right: str, dehyphenate: bool) -> str:
    if dehyphenate and re.search(r"[a-z]-$", left) and right[:1].islower():
        return left[:-1] + right
    return f"{left} {right}"


def _take_byline(blocks: list[tuple[int, str]], meta: dict) -> list[tuple[int, str]]:
    """Move an early 'by Dr. X, author of ...' paragraph into meta."""
    for i, (level, text) in enumerate(blocks[:_BYLINE_WINDOW]):
        match = _BYLINE_RE.match(text)
        if level == 0 and match and len(text) <= _BOILERPLATE_MAX_CHARS:
            meta.setdefault("author", match.group("name").rstrip(".,"))
            meta.setdefault("byline", text)
            return blocks[:i] + blocks[i + 1 :]
    return blocks


def looks_like_heading(paragraph: str) -> bool:
    """A short stand-alone line without sentence punctuation (or a title-case question).

    >>> looks_like_heading("Leadership Versus Management Quote")
    True
    >>> looks_like_heading("What is the Difference Between Leadership and Management?")
    True
    >>> looks_like_heading("John Kotter (1990) is one theorist.")
    False
    """
    text = paragraph.strip()
    if not text or len(text) > _HEADING_MAX_CHARS or text.endswith((",", ";")):
        return False
    if not (text[0].isupper() or text[0].isdigit()) or not re.search(r"[A-Za-z]", text):
        return False
    ends = list(_SENTENCE_END_RE.finditer(text))
    if not ends:
        return True
    return len(ends) == 1 and ends[0].end() == len(text) and text.endswith("?") and _title_case(text)


def _title_case(text: str) -> bool:
    long_words = [w for w in re.findall(r"[A-Za-z]+", text) if len(w) >= 4]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words)


def _mark_headings(blocks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(2 if level == 0 and looks_like_heading(text) else level, text) for level, text in blocks]


# ---- plain text -----------------------------------------------------------


def _text_units(raw: str) -> list[_Unit]:
    units: list[_Unit] = []
    group = 0
    for line in raw.splitlines():
        line = normalize_line(line)
        if not line or _LIST_ITEM_RE.match(line):
            group += 1
        if line:
            units.append(_Unit(line, group))
    return units


def _parse_text(raw: str, path: Path | None = None) -> _Parsed:
    units, header = _strip_boilerplate(_text_units(raw))
    page, site = _page_title(header)
    meta: dict = {"site_name": site} if site else {}
    blocks = _take_byline(_join_groups(units), meta)
    return _Parsed(_mark_headings(blocks), page, meta)


def clean_text(raw: str) -> tuple[str, tuple[Heading, ...]]:
    """Clean a plain-text web capture: boilerplate out, paragraphs and headings found."""
    return _assemble(_parse_text(raw).blocks)


# ---- markdown -------------------------------------------------------------

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$\r?\n?", re.S | re.M)
_ATX_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LINK_DEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_INLINE_RULES = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>]+)>"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])"), r"\1"),
)


def strip_markdown_inline(line: str) -> str:
    """Remove emphasis, link, image and code markup but keep the words.

    >>> strip_markdown_inline("A **bold** [link](http://x.org) and `code`.")
    'A bold link and code.'
    """
    for rx, repl in _INLINE_RULES:
        line = rx.sub(repl, line)
    return line


def _split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.load(match.group(1), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 2
        raise InputFileError(f"{path}: front matter is not valid YAML (near line {line})") from exc
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: front matter must be a YAML mapping of key: value")
    return data, text[match.end() :]


def _markdown_units(body: str) -> list[_Unit]:
    units: list[_Unit] = []
    group, in_fence = 0, False
    for raw in re.sub(r"<!--.*?-->", "", body, flags=re.S).splitlines():
        if _FENCE_RE.match(raw):
            in_fence, group = not in_fence, group + 1
            continue
        heading = None if in_fence else _ATX_RE.match(raw)
        line = raw if in_fence else _markdown_line(raw)
        if heading:
            group += 1
            units.append(_Unit(strip_markdown_inline(heading.group(2)), group, len(heading.group(1))))
            group += 1
        elif not line or _RULE_RE.match(raw) or _LINK_DEF_RE.match(raw):
            group += 1
        else:
            group += 1 if re.match(r"^\s*([-*+]|\d+[.)])\s+", raw) else 0
            units.append(_Unit(line, group))
    return units


def _markdown_line(raw: str) -> str:
    line = re.sub(r"^\s*(>\s?)+", "", raw)
    line = re.sub(r"^\s*[-*+]\s+", "", line)
    return normalize_line(strip_markdown_inline(line))


def _parse_markdown(text: str, path: Path) -> _Parsed:
    front, body = _split_front_matter(text, path)
    blocks = _join_groups(_markdown_units(body))
    return _Parsed(blocks, None, front)


# ---- html -----------------------------------------------------------------

_DROP_TAGS = ("script", "style", "noscript", "nav", "footer", "aside", "form", "iframe", "svg",
              "template", "button", "select", "canvas", "object", "embed")
_BOILER_ATTR_RE = re.compile(
    r"(?:^|[^a-z])(nav|menu|footer|sidebar|cookie|breadcrumb|share|sharing|social|related"
    r"|banner|comment|newsletter|popup)",
    _I,
)
_BOILER_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
_NEVER_DROP = {"html", "body", "article", "main"}
_HEADING_TAGS = {f"h{i}": i for i in range(1, 7)}
_LEAF_TAGS = {"p", "pre", "dt", "dd", "figcaption", "caption", "address"}
_SOFT_LEAF_TAGS = {"li", "blockquote", "td", "th"}
_BLOCK_TAGS = set(_HEADING_TAGS) | _LEAF_TAGS | _SOFT_LEAF_TAGS | {
    "div", "section", "article", "main", "header", "ul", "ol", "dl", "table", "thead", "tbody",
    "tr", "figure", "body", "html", "details", "summary", "center", "hr",
}


def _is_boiler_element(tag) -> bool:
    if tag.name in _NEVER_DROP or tag.attrs is None:
        return False
    if tag.name in _DROP_TAGS:
        return True
    if tag.name == "header":
        return tag.find_parent("article") is None
    if str(tag.get("role", "")).lower() in _BOILER_ROLES:
        return True
    names = " ".join([str(tag.get("id", ""))] + list(tag.get("class", []) or []))
    return bool(_BOILER_ATTR_RE.search(names))


def _html_root(soup):
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in list(soup.find_all(True)):
        if not tag.decomposed and _is_boiler_element(tag):
            tag.decompose()
    return soup.find("article") or soup.find("main") or soup.body or soup


def _html_blocks(node, out: list[tuple[int, str]], pending: list[str]) -> None:
    """Walk block elements in order; loose inline text becomes its own paragraph."""
    from bs4 import NavigableString, Tag

    for child in node.children:
        if isinstance(child, NavigableString):
            if type(child) is NavigableString:
                pending.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        if child.name not in _BLOCK_TAGS:
            pending.append(child.get_text())
            continue
        _flush(pending, out)
        if child.name in _HEADING_TAGS:
            out.append((_HEADING_TAGS[child.name], child.get_text()))
        elif child.name in _LEAF_TAGS or (
            child.name in _SOFT_LEAF_TAGS and not child.find(list(_BLOCK_TAGS))
        ):
            out.append((0, child.get_text()))
        else:
            _html_blocks(child, out, pending)
            _flush(pending, out)


def _flush(pending: list[str], out: list[tuple[int, str]]) -> None:
    for piece in re.split(r"\n\s*\n", "".join(pending)):
        if piece.strip():
            out.append((0, piece))
    pending.clear()


def _html_meta(soup) -> dict:
    meta: dict = {}
    author = soup.find("meta", attrs={"name": "author"})
    if author and author.get("content"):
        meta["author"] = author["content"].strip()
    canonical = soup.find("link", rel="canonical") or soup.find("meta", property="og:url")
    url = canonical and (canonical.get("href") or canonical.get("content"))
    if url:
        meta["source_url"] = str(url).strip()
    return meta


def _html_title(soup, blocks: list[tuple[int, str]]) -> str | None:
    h1 = next((squash_whitespace(t) for level, t in blocks if level == 1), None)
    if h1:
        return h1
    raw = soup.title.get_text() if soup.title else ""
    return squash_whitespace(re.split(r"\s[|–—]\s", raw)[0]) or None


def _parse_html(text: str, path: Path) -> _Parsed:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    meta = _html_meta(soup)
    raw_blocks: list[tuple[int, str]] = []
    _html_blocks(_html_root(soup), raw_blocks, [])
    units = [_Unit(squash_whitespace(t), i, lvl) for i, (lvl, t) in enumerate(raw_blocks)]
    units, _ = _strip_boilerplate([u for u in units if u.text])
    blocks = _take_byline([(u.level, u.text) for u in units], meta)
    return _Parsed(blocks, _html_title(soup, blocks), meta)


# ---- pdf ------------------------------------------------------------------

_PAGE_NUMBER_RE = re.compile(r"^(page\s*)?\d+(\s*(of|/)\s*\d+)?$", _I)


def _parse_pdf(data: bytes, path: Path) -> _Parsed:
    pages, meta = _pdf_pages(data, path)
    if not "".join(pages).strip():
        raise InputFileError(f"{path}: PDF has no text layer (scanned?); run OCR on it first")
    units, _ = _strip_boilerplate(_pdf_units(pages))
    blocks = _take_byline(_join_groups(units, dehyphenate=True), meta)
    return _Parsed(_mark_headings(blocks), meta.pop("title", None), meta)


def _pdf_pages(data: bytes, path: Path) -> tuple[list[str], dict]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except Exception as exc:  # pypdf raises many types on damaged files
        reason = squash_whitespace(str(exc))[:80] or type(exc).__name__
        raise InputFileError(f"{path}: unreadable PDF ({reason})") from exc
    meta = {k: squash_whitespace(str(info.get(f"/{k.title()}") or "")) for k in ("title", "author")}
    return pages, {k: v for k, v in meta.items() if v}


def _pdf_units(pages: list[str]) -> list[_Unit]:
    """Lines become paragraphs: a blank line, or a short line ending a sentence, ends one."""
    units: list[_Unit] = []
    group = 0
    for page in pages:
        lines = [normalize_line(line) for line in page.splitlines()]
        width = max((len(line) for line in lines), default=0)
        for line in lines:
            if not line or _PAGE_NUMBER_RE.match(line):
                group += 0 if line else 1
                continue
            if units and units[-1].group == group and _ends_pdf_paragraph(units[-1].text, width):
                group += 1
            units.append(_Unit(line, group))
    return units


def _ends_pdf_paragraph(line: str, width: int) -> bool:
    short = len(line) < 0.8 * width
    return short and (bool(re.search(r"[.!?:][\"'”’)\]]*$", line)) or looks_like_heading(line))


_TEXT_PARSERS = {
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".txt": _parse_text,
    ".html": _parse_html,
    ".htm": _parse_html,
}
