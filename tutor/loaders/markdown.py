"""Markdown with optional YAML front matter.

Front matter goes to metadata: `title`; `author`, `authors` or `by` (a string
or a list) become `author` ("A, B, C"); `date`; `summary` or `description`
become `description`; other scalar keys are kept as they are. A front matter
that is not YAML, or not a mapping, is a one-line error.

The body: ATX `#` headings (setext `===`/`---` underlines too); paragraphs are
runs of lines (hard wraps rejoined); list items and block quotes become
paragraphs; fenced and indented code blocks are kept as paragraphs of their
own. Removed from the prose: HTML comments and tags (a raw `<link>` line),
template directives (`{{ ... }}`, `{% ... %}`), images (alt text included),
badges (an image inside a link), lines that are only links, link reference
definitions, inline footnote markers (`[^1]`, `[1]` after a word) and
emphasis/link/code markup (the words stay). Tables: the separator row goes,
each other row is one paragraph, cells joined by " | ".
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import yaml

from tutor.errors import InputFileError
from tutor.loaders.blocks import (
    Parsed,
    Unit,
    footnote_body,
    join_groups,
    normalize_line,
    squash_whitespace,
    strip_footnote_markers,
    take_byline,
)

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$\r?\n?", re.S | re.M)
_ATX_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LINK_DEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_TABLE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_TEMPLATE_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_BADGE_RE = re.compile(r"\[\s*!\[[^\]]*\]\([^)]*\)\s*\]\([^)]*\)")
_TAG_RE = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
_LINK_RE = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\[[^\]]*\]|<(https?://[^>]+)>")
_INLINE_RULES = (
    (_BADGE_RE, ""),
    (_IMAGE_RE, ""),
    (re.compile(r"\[\^[^\]]+\]"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>]+)>"), r"\1"),
    (_TAG_RE, ""),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])"), r"\1"),
)
_AUTHOR_KEYS = ("author", "authors", "by")


def strip_markdown_inline(line: str) -> str:
    """Remove emphasis, link, image and code markup but keep the words.

    >>> strip_markdown_inline("A **bold** [link](http://x.org) and `code`.")
    'A bold link and code.'
    >>> strip_markdown_inline("[![build](https://ci/badge.svg)](https://ci) Text ![alt](a.png)")
    ' Text '
    """
    for rx, repl in _INLINE_RULES:
        line = rx.sub(repl, line)
    return line


def _link_only(raw: str) -> bool:
    """A line holding nothing but links, images or badges (and separators)."""
    rest = _LINK_RE.sub("", _IMAGE_RE.sub("", _BADGE_RE.sub("", raw)))
    rest = re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", rest)
    return bool(_LINK_RE.search(raw) or _IMAGE_RE.search(raw)) and not re.search(r"\w", rest)


def _scalar(value) -> str:
    if isinstance(value, _dt.date):
        return value.isoformat()
    return squash_whitespace(str(value))


def front_matter_meta(data: dict) -> dict:
    """Normalise front matter: author lists, dates, summary -> description."""
    meta: dict = {}
    for key, value in data.items():
        key = str(key).lower()
        if key in _AUTHOR_KEYS:
            names = value if isinstance(value, list) else [value]
            names = [_scalar(n.get("name", "") if isinstance(n, dict) else n) for n in names]
            if any(names):
                meta.setdefault("author", ", ".join(n for n in names if n))
        elif key in ("summary", "description"):
            meta.setdefault("description", _scalar(value))
        elif key == "date":
            meta["date"] = _scalar(value)
        elif isinstance(value, str | int | float | bool | _dt.date) or value is None:
            meta[key] = value if not isinstance(value, _dt.date) else value.isoformat()
    return meta


def split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.load(match.group(1), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 2
        raise InputFileError(f"{path}: front matter is not valid YAML (near line {line})") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: front matter must be a YAML mapping of key: value")
    return data, text[match.end() :]


def _markdown_units(body: str) -> list[Unit]:
    units: list[Unit] = []
    group, in_fence = 0, False
    lines = re.sub(r"<!--.*?-->", "", body, flags=re.S).splitlines()
    prev_blank = True
    link_only: set[int] = set()
    for i, raw in enumerate(lines):
        if _FENCE_RE.match(raw):
            in_fence, group = not in_fence, group + 1
            continue
        if in_fence:
            units.append(Unit(normalize_line(raw), group, -1) if raw.strip() else Unit("", group, -1))
            continue
        if raw.startswith(("\t", "    ")) and prev_blank and raw.strip() and not re.match(r"^\s*([-*+]|\d+[.)])\s", raw):
            group += 1  # an indented code block: its own paragraph
            units.append(Unit(normalize_line(raw), group, -1))
            continue
        if units and units[-1].level == -1 and raw.startswith(("\t", "    ")) and raw.strip():
            units.append(Unit(normalize_line(raw), group, -1))
            continue
        heading = _ATX_RE.match(raw)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if heading:
            group += 1
            units.append(Unit(strip_markdown_inline(heading.group(2)).strip(), group, len(heading.group(1))))
            group += 1
            prev_blank = True
            continue
        if raw.strip() and _SETEXT_RE.match(nxt) and prev_blank and not _TABLE_ROW_RE.match(raw):
            group += 1
            units.append(Unit(normalize_line(strip_markdown_inline(raw)), group, 1 if "=" in nxt else 2))
            group += 1
            lines[i + 1] = ""
            prev_blank = True
            continue
        prev_blank = not raw.strip()
        if _TABLE_SEP_RE.match(raw) and "-" in raw:
            group += 1
            continue
        if _TABLE_ROW_RE.match(raw):
            cells = [normalize_line(strip_markdown_inline(c)) for c in raw.strip().strip("|").split("|")]
            group += 1
            if any(cells):
                units.append(Unit(" | ".join(c for c in cells if c), group))
            group += 1
            continue
        if not raw.strip() or _RULE_RE.match(raw) or _LINK_DEF_RE.match(raw):
            group += 1
            continue
        line = _markdown_line(raw)
        if not line:
            continue
        group += 1 if re.match(r"^\s*([-*+]|\d+[.)])\s+", raw) else 0
        units.append(Unit(line, group))
        if _link_only(raw):
            link_only.add(id(units[-1]))
    # a paragraph (or list item) made only of links, images or badges is navigation
    groups_with_prose = {u.group for u in units if id(u) not in link_only}
    return [u for u in units if u.text and (u.group in groups_with_prose or u.level)]


def _markdown_line(raw: str) -> str:
    line = _TEMPLATE_RE.sub("", raw)
    line = re.sub(r"^\s*(>\s?)+", "", line)
    line = re.sub(r"^\s*[-*+]\s+", "", line)
    return normalize_line(strip_markdown_inline(line))


def parse_markdown(text: str, path: Path) -> Parsed:
    front, body = split_front_matter(text, path)
    meta = front_matter_meta(front)
    units = _markdown_units(body)
    for u in units:
        if u.level == -1:
            u.level = 0
        else:
            note = footnote_body(u.text)
            u.text = strip_footnote_markers(note if note is not None else u.text)
    blocks = take_byline(join_groups([u for u in units if u.text]), meta)
    title = meta.pop("title", None)
    return Parsed(blocks, str(title) if title else None, meta)
