"""Shared pieces of every loader: lines, blocks, boilerplate lines, bylines, headings.

A loader turns a file into a `Parsed`: an ordered list of blocks `(level, text)`
(level 0 is a paragraph, 1-6 a heading), a title and a metadata dict.
`tutor.corpus` assembles the blocks into `Document.text` and heading offsets.

Line-based boilerplate rules stay here for plain-text web captures (the seed is
one) and as a last line of defence after the HTML extractor. They are generic
(navigation bars, copyright and "powered by" lines, cookie and subscribe
prompts, "Related pages" lists); none exists for one site.

Footnote markers: an inline marker such as `imagined.[66]` or `tested. [1]`
(digits, or a few letters, in square brackets, glued to the word or
punctuation before it) is removed from the sentence. A marker that is the
object of a sentence ("is in [6].") is kept. Footnote *bodies* stay in the text
as their own paragraphs, without their leading marker: editors' notes are text
a learner may ask about, and a question bank may quote them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_HEADING_MAX_CHARS = 80
_SHORT_LINE_CHARS = 80
BOILERPLATE_MAX_CHARS = 160
_HEADER_WINDOW = 10
_BYLINE_WINDOW = 6


@dataclass
class Unit:
    """A line (txt, pdf) or block (html, md) on its way into a paragraph.

    Level-0 units with the same `group` are lines of one paragraph.
    """

    text: str
    group: int
    level: int = 0


@dataclass
class Parsed:
    blocks: list[tuple[int, str]]  # (level, text); level 0 is a paragraph
    title: str | None = None
    meta: dict = field(default_factory=dict)


# ---- whitespace -------------------------------------------------------------

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


def control_share(text: str) -> float:
    sample = text[:8192]
    bad = sum(1 for c in sample if unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r\f\v")
    return bad / max(1, len(sample))


# ---- footnote markers ---------------------------------------------------------

# one or more markers glued to the word or punctuation before them: "imagined.[66]",
# "coefficients,[1][2]", "[3]:p. 7"; or after a sentence end and a space: "tested. [1] (The"
_MARK = r"\[(?:\d{1,3}|citation needed|note \d{1,3})\](?::\s?p+\.\s?\d+)?"
_GLUED_MARKS_RE = re.compile(rf"(?<=[^\s\[(\]])(?:{_MARK})+")
_SPACED_MARKS_RE = re.compile(rf"(?<=[.!?;,:\"'”’)])\s(?:{_MARK})+(?=\s|$)")
_LEADING_MARK_RE = re.compile(r"^\s*\[(\d{1,3})\]\s+(?=\S)")


def strip_footnote_markers(text: str) -> str:
    """Remove inline footnote/citation markers that interrupt a sentence.

    >>> strip_footnote_markers("harder than I imagined.[66] While my care [1][2] grew")
    'harder than I imagined. While my care [1][2] grew'
    >>> strip_footnote_markers("at least in the pair tested. [1] (The numbers)")
    'at least in the pair tested. (The numbers)'
    >>> strip_footnote_markers("more is in [6].")
    'more is in [6].'
    """
    return _SPACED_MARKS_RE.sub("", _GLUED_MARKS_RE.sub("", text))


def footnote_body(text: str) -> str | None:
    """The text of a footnote paragraph ('[66] Compare ...'), else None."""
    match = _LEADING_MARK_RE.match(text)
    return text[match.end() :] if match else None


# ---- boilerplate lines --------------------------------------------------------

_I = re.IGNORECASE
NAV_MARK_RE = re.compile(
    r"\bsite ?map\b|^skip to (main )?content\b|^(main )?(menu|navigation)$|^you are here\b"
    r"|^home\s*[|>»›]",
    _I,
)
_BOILERPLATE_RES = (
    NAV_MARK_RE,
    re.compile(r"^(Website|Web site|Site|Web design|Designed|Built|Hosted) (by|with)\b"),
    re.compile(r"^Powered by\b"),
    re.compile(r"^(Copyright\b.*(\d{4}|©)|©|\(c\) ?\d{4})"),
    re.compile(r"\ball rights reserved\b|\bwebsite builder\b", _I),
    re.compile(r"^(skip|jump) to\b|^back to top\b|^print (this )?page\b", _I),
    re.compile(r"\bcookies?\b.*\b(use|accept|consent|policy|settings)\b|\baccept (all )?cookies", _I),
    re.compile(r"^(subscribe|sign up)\b.*\b(newsletter|updates|e-?mail|free)\b|^subscribe$", _I),
    re.compile(r"^(share (this|on)|follow us|like us on)\b", _I),
    re.compile(r"^(privacy policy|terms (of (use|service)|and conditions)|contact us|about us)$", _I),
    re.compile(r"^this (article|story|post) (was )?(originally )?(appeared|published|first appeared)\b", _I),
)
_RELATED_RE = re.compile(
    r"^(related (pages|articles|posts|links|reading|content|stories)"
    r"|you (might|may) also (like|enjoy)|more (articles|stories)\b|recommended (reading|for you)"
    r"|popular (posts|articles)|read more|see also:)\b",
    _I,
)
SENTENCE_END_RE = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")
LIST_ITEM_RE = re.compile(r"^([-*+•]|\d+[.)])\s+")


def _is_pipe_nav(line: str) -> bool:
    """'Home | Contact |', 'About » Team': short items between separators."""
    if not re.search(r"[|»›]", line):
        return False
    items = [p.strip() for p in re.split(r"[|»›]", line) if p.strip()]
    return all(len(p.split()) <= 4 and not SENTENCE_END_RE.search(p) for p in items)


def is_boilerplate_line(line: str) -> bool:
    """True for a site navigation, footer, cookie or subscribe line."""
    if len(line) > BOILERPLATE_MAX_CHARS:
        return False
    return _is_pipe_nav(line) or any(rx.search(line) for rx in _BOILERPLATE_RES)


def is_short_line(line: str) -> bool:
    """A link-title-like line: short and not ending a sentence."""
    return len(line) <= _SHORT_LINE_CHARS and not re.search(r"[.!?][\"'”’)\]]*$", line)


def strip_boilerplate(units: list[Unit], *, pipes: bool = True) -> tuple[list[Unit], list[str]]:
    """Remove header navigation, related-link lists, footer lines and a trailing link block.

    Returns the kept units and the text of the dropped header lines. `pipes`
    False keeps lines made of short items between '|' (table rows).
    """
    units, header = _strip_header(units)
    units = _cut_related(units)
    units = [u for u in units if not (is_boilerplate_line(u.text) and (pipes or "|" not in u.text))]
    return _strip_trailing(units), header


def _strip_header(units: list[Unit]) -> tuple[list[Unit], list[str]]:
    """Drop a leading run of short lines that ends at a navigation marker ('Site Map')."""
    marks = [i for i, u in enumerate(units[:_HEADER_WINDOW]) if NAV_MARK_RE.search(u.text)]
    if not marks:
        return units, []
    head = units[: marks[-1] + 1]
    if not all(is_short_line(u.text) or is_boilerplate_line(u.text) for u in head):
        return units, []
    return units[marks[-1] + 1 :], [u.text for u in head]


def _cut_related(units: list[Unit]) -> list[Unit]:
    """Drop a 'Related Pages:' marker and the short link-title lines after it."""
    kept: list[Unit] = []
    skipping = False
    for unit in units:
        if len(unit.text) <= _SHORT_LINE_CHARS and _RELATED_RE.search(unit.text):
            skipping = True
        elif skipping and not is_short_line(unit.text):
            skipping = False
        if not skipping:
            kept.append(unit)
    return kept


def _strip_trailing(units: list[Unit]) -> list[Unit]:
    """Drop a trailing block of two or more short non-sentence lines (footer links)."""
    end = len(units)
    while end and is_short_line(units[end - 1].text) and not LIST_ITEM_RE.match(units[end - 1].text) \
            and units[end - 1].level == 0:
        end -= 1
    while 0 < end < len(units) and units[end].group == units[end - 1].group:
        end += 1  # never cut a paragraph in half
    return units[:end] if len(units) - end >= 2 else units


def page_title(header: list[str]) -> tuple[str | None, str | None]:
    """From header lines like [site name, page title, 'Site name Site Map']: (page, site)."""
    navs = [h for h in header if is_boilerplate_line(h)]
    names = [h for h in header if h not in navs]
    sites = [n for n in names if any(n in nav for nav in navs)]
    pages = [n for n in names if n not in sites]
    return (pages[-1] if pages else None), (sites[0] if sites else None)


# ---- paragraphs, headings, bylines ----------------------------------------------

_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|van|von|de|der|da|di|le|la|du|del|bin|al))*"
BYLINE_RE = re.compile(
    rf"^(?:[Bb]y|BY|Written by|Posted by|Author:|Authors:)\s+(?P<name>{_NAME}"
    rf"(?:\s*(?:,|and|&)\s*{_NAME}){{0,5}})\s*(?:,|$|[-|–—•·]\s|\d)"
)


def join_groups(units: list[Unit], dehyphenate: bool = False) -> list[tuple[int, str]]:
    """Merge level-0 units of the same group into one paragraph each (linear time)."""
    pieces: list[tuple[int, list[str]]] = []
    last_group = None
    for unit in units:
        if unit.level == 0 and pieces and pieces[-1][0] == 0 and unit.group == last_group:
            lines = pieces[-1][1]
            if dehyphenate and _HYPHEN_END_RE.search(lines[-1]) and unit.text[:1].islower():
                lines[-1] = lines[-1][:-1] + unit.text
            else:
                lines.append(unit.text)
        else:
            pieces.append((unit.level, [unit.text]))
        last_group = unit.group
    return [(level, " ".join(lines)) for level, lines in pieces]


_HYPHEN_END_RE = re.compile(r"[a-z]-$")


def join_lines(left: str, right: str, dehyphenate: bool) -> str:
    if dehyphenate and re.search(r"[a-z]-$", left) and right[:1].islower():
        return left[:-1] + right
    return f"{left} {right}"


def split_names(names: str) -> list[str]:
    """'A. Writer, B. Other and C. Third' -> the three names."""
    parts = re.split(r"\s*(?:,|\band\b|&)\s*", names)
    return [p.strip(" .,") if not p.strip().endswith(".") or len(p.split()) > 1 else p.strip()
            for p in parts if p.strip(" .,")]


def take_byline(blocks: list[tuple[int, str]], meta: dict) -> list[tuple[int, str]]:
    """Move an early 'by Dr. X, author of ...' paragraph into meta."""
    for i, (level, text) in enumerate(blocks[:_BYLINE_WINDOW]):
        match = BYLINE_RE.match(text)
        if level == 0 and match and len(text) <= BOILERPLATE_MAX_CHARS:
            names = split_names(match.group("name"))
            if names:
                meta.setdefault("author", ", ".join(n.rstrip(".,") if len(n) > 3 else n for n in names))
                meta.setdefault("byline", text)
                return blocks[:i] + blocks[i + 1 :]
    return blocks


def looks_like_heading(paragraph: str) -> bool:
    """A short stand-alone line without sentence punctuation (or a title-case question).

    >>> looks_like_heading("Leadership Versus Management Quote")
    True
    >>> looks_like_heading("What is the Difference Between Leadership and Management?")
    True
    >>> looks_like_heading("Jane Smith (1990) is one theorist.")
    False
    """
    text = paragraph.strip()
    if not text or len(text) > _HEADING_MAX_CHARS or text.endswith((",", ";")):
        return False
    if not (text[0].isupper() or text[0].isdigit()) or not re.search(r"[A-Za-z]", text):
        return False
    ends = list(SENTENCE_END_RE.finditer(text))
    if not ends:
        return True
    return len(ends) == 1 and ends[0].end() == len(text) and text.endswith("?") and _title_case(text)


def _title_case(text: str) -> bool:
    long_words = [w for w in re.findall(r"[A-Za-z]+", text) if len(w) >= 4]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words)


def mark_headings(blocks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(2 if level == 0 and looks_like_heading(text) else level, text) for level, text in blocks]


_SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on", "or",
                "the", "to", "with"}
_NUMERAL_RE = re.compile(r"^(?:(?:chapter|part|section|book)\s+)?(?:[ivxlcdm]+|\d+)\.?$", _I)


def is_numeral_heading(text: str) -> bool:
    """'IX', '3.', 'Chapter 4': a number, not a title."""
    return bool(_NUMERAL_RE.match(text.strip()))


def tidy_title(text: str) -> str:
    """An ALL-CAPS title in title case ('PLAN FOR A BOOK' -> 'Plan for a Book')."""
    text = squash_whitespace(text)
    letters = [c for c in text if c.isalpha()]
    if not letters or any(c.islower() for c in letters) or len(letters) < 4:
        return text
    words = text.lower().split(" ")
    return " ".join(w if i and w in _SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words))
