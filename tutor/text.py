r"""Small text utilities shared by chunking, retrieval, the support scorer and
assessment: sentence spans with character offsets, word tokens, stems.

Deliberate simplifications: sentence splitting is rule-based (abbreviations,
initials, quotes, ellipses) rather than a trained model; stemming is Snowball
English. Both are deterministic and fast, which the grounded responder needs.

>>> [s.text for s in split_sentences('Dr. Terry asks. "Is it so?" Yes.')]
['Dr. Terry asks.', '"Is it so?"', 'Yes.']
>>> [s.text for s in split_sentences('"Do it right." ~Peter F. Drucker', attributions=True)]
['"Do it right." ~Peter F. Drucker']
>>> [s.text for s in split_sentences('"Do it right." ~Peter F. Drucker')]
['"Do it right."', '~Peter F. Drucker']
>>> content_terms("Management copes with complexity.")
['manag', 'cope', 'complex']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")

STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from as into onto over
    under about above below between through during before after is are was were be been
    being am do does did doing done have has had having i me my we our ours you your he him
    his she her it its they them their theirs this that these those there here what which
    who whom whose when where why how all any both each few more most other some such only
    own same so than too very can could should would will shall may might must just also
    s t up down out off again further once let lets let's per via upon according say says
    said tell tells told article author text passage""".split()
)

NEGATIONS = frozenset(
    "not no never none nobody nothing neither nor without cannot can't don't doesn't didn't "
    "isn't aren't wasn't weren't won't wouldn't shouldn't couldn't hardly n't".split()
)

_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st jr sr vs etc e.g i.e fig no vol inc ltd co".split()
)

_ATTRIBUTION_MARKS = ("~", "—", "–", "-- ")
_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_SENT_END_RE = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+|$)")


@dataclass(frozen=True)
class Span:
    """A piece of a text with its character offsets: text == source[start:end]."""

    start: int
    end: int
    text: str


def split_sentences(text: str, offset: int = 0, attributions: bool = False) -> list[Span]:
    """Split `text` into sentences; offsets are into `text` shifted by `offset`.

    Paragraph breaks (blank lines) and heading lines always end a sentence. With
    `attributions`, a quotation keeps the rest of its line when that starts with
    "~" or a dash ('"..." ~Peter F. Drucker'): right for article text, where a
    byline ends its line; free text keeps the attribution as its own sentence.
    """
    spans: list[Span] = []
    for block in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        _split_block(block.group(), block.start(), spans, attributions)
    return [Span(s.start + offset, s.end + offset, s.text) for s in spans]


def _split_block(block: str, base: int, out: list[Span], attributions: bool) -> None:
    start = 0
    for m in _SENT_END_RE.finditer(block):
        end = m.end()
        if end <= start:
            continue  # inside an attribution already emitted
        last_word = re.findall(r"[A-Za-z.]+$", block[start : m.start() + 1].rstrip(".!?\"'”’)]"))
        word = (last_word[0] if last_word else "").lower().rstrip(".")
        if m.group().startswith(".") and (word in _ABBREVIATIONS or len(word) == 1):
            continue  # "Dr." or an initial like "F."
        if m.group().startswith("...") and end < len(block) and not block[end:end + 1].isspace():
            continue
        if attributions and block[end:].lstrip().startswith(_ATTRIBUTION_MARKS):
            # a quotation keeps its attribution line: '"..." ~Peter F. Drucker'
            newline = block.find("\n", end)
            end = len(block) if newline < 0 else newline
        _emit(block, base, start, end, out)
        start = end
    _emit(block, base, start, len(block), out)


def _emit(block: str, base: int, start: int, end: int, out: list[Span]) -> None:
    piece = block[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    s, e = start + lead, end - trail
    if e > s:
        out.append(Span(base + s, base + e, block[s:e]))


def words(text: str) -> list[str]:
    """Lower-cased word tokens; contractions stay whole ("don't")."""
    return [w.lower().replace("’", "'") for w in _WORD_RE.findall(text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word.lower())


def content_terms(text: str) -> list[str]:
    """Stems of the words that carry content (no stopwords, no negations), in order."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and w not in NEGATIONS]


def negation_count(text: str) -> int:
    toks = words(text)
    return sum(1 for w in toks if w in NEGATIONS or w.endswith("n't"))
