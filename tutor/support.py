"""Sentence-level support: does a set of passages back up one claim?

This powers the grounding guard (each sentence an LLM writes is checked against
the retrieved passages) and the eval suite's groundedness metric. Three judges:

* `SupportScorer` (default): hand-written, deterministic, offline. Each claim is
  split into clauses; every clause must be backed by ONE passage unit (a
  sentence or a clause of it, a pronoun-led sentence borrowing the words of the
  sentence before). The best unit is the one with fewest contradicting misses,
  then highest word recall, then embedding similarity. It backs the clause when:

  1. every content word of the clause that the passages use in a related
     sentence is in that very unit, by root or through a small generic synonym
     table (so "leadership copes with complexity" cannot borrow "complexity"
     from the sentence about management, but "deal with" may stand for "cope");
  2. any other word is light ("tasks of", "clearly"): an unknown word could be a
     wrong fact ("mitochondria") or an antonym ("rejects"), which embeddings miss;
  3. near the aligned words, negations agree in parity, and quantities
     ("one-third", "most", "1990", "before", "than") and names ("Kotter", also
     from a byline or an earlier sentence) agree; the unit is not a question;
  4. roles are not swapped: words are not bound to another subject than in the
     unit, "unlike X" phrases do not count for X, and replacing the clause's
     subject by another subject of the passages does not fit clearly better;
  5. the alignment quality (embedding similarity and ordered word overlap)
     reaches `threshold`.

* `NLIJudge`: a local CrossEncoder NLI model (`--judge nli:PATH`).
* `LLMJudge`: a LangChain chat model, RAGAS-faithfulness style (`--judge llm`).

Deliberate simplifications: no parser and no WordNet. Clauses come from
punctuation and conjunctions, subjects from the first content word after a
leading adverbial, synonyms from a short generic table. These heuristics favour
precision: an unusual paraphrase ("pay too much attention" for "give undue
attention") is rejected, which for a grounding guard costs one dropped
sentence, not a hallucination. Inference across sentences ("Kotter
distinguishes ...") is out of reach.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from tutor.text import NEGATIONS, STOPWORDS, split_sentences, stem, words

# --- vocabulary -------------------------------------------------------------

_SUFFIXES = (
    "ership",
    "ship",
    "ment",
    "ers",
    "er",
    "ist",
    "is",
    "iti",
    "i",
    "al",
    "abl",
    "or",
    "ion",
)
REPORTING = frozenset(
    "argu claim state explain note suggest believ write mention point emphas observ contend "
    "assert describ insist maintain add stress remark report propos hold view see call think "
    "accord ask account opinion perspect find quot statement mean consid".split()
)
# Words a paraphrase may add although the passages never use them: light nouns and
# manner adverbs. Any other unknown word could be a wrong fact ("mitochondria" for
# "chloroplasts") or an antonym ("rejects" for "affirms"), which embeddings miss.
_LIGHT = frozenset(
    "task tasks thing things way ways kind kinds type types sort sorts aspect aspects part parts "
    "one ones basically essentially really actually".split()
)
_NOT_LIGHT_LY = frozenset("rarely seldom barely scarcely hardly only early likely daily".split())
_DISCOURSE = re.compile(
    r"\b(?:in short|in sum|in summary|in other words|that is|for example|for instance|"
    r"in fact|of course|in particular|put simply|simply put)\b,?",
    re.I,
)
_SYNONYMS = (
    "cope deal handl tackl address",
    "establish set creat build defin determin",
    "motiv inspir encourag energ",
    "import crucial essenti key vital critic signific",
    "distinct differ separ distinguish",
    "merit deserv warrant earn",
    "choos select pick opt vote",
    "go push move extend",
    "make render caus",
    "problem issu difficulti",
    "goal aim object target",
    "fear afraid scare",
    "focus concentr attend attent preoccupi",
    "use employ expend spend",
    "begin start",
    "help aid assist support",
    "show demonstr reveal",
    "big larg",
    "small littl",
    "peopl individu person",
    "bring provid deliv give",
    "task duti job respons role",
    "think believ consid feel",
    "enrich improv strengthen",
    "trap pitfal danger",
    "render make",
    "concern worri",
    "power energi",
    "less fewer lower reduc decreas",
    "more greater higher increas",
)
_QUANT_WORDS = {
    "all": "ALL",
    "every": "ALL",
    "everyone": "ALL",
    "everybody": "ALL",
    "always": "ALL",
    "each": "ALL",
    "most": "MOST",
    "majority": "MOST",
    "mostly": "MOST",
    "some": "SOME",
    "several": "SOME",
    "few": "SOME",
    "minority": "SOME",
    "many": "SOME",
    "none": "NONE",
    "nobody": "NONE",
    "nothing": "NONE",
    "no": "NONE",
    "never": "NONE",
    "half": "1/2",
    "quarter": "1/4",
    "entirely": "ALL",
    "completely": "ALL",
    "wholly": "ALL",
}
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "an": 1,
}
_FRACTIONS = {
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fifth": 5,
    "fifths": 5,
}
_PRONOUNS = frozenset("it they he she this these those which who its their them".split())
_FUNCTION = frozenset(
    "around roughly approximately nearly almost circa "
    "whether although though because since unless yet like even thus however therefore hence "
    "instead rather whereas while within without upon among toward towards onto".split()
)
_REFLEXIVE = frozenset(
    "itself themselves himself herself oneself ourselves yourself yourselves".split()
)
_LEADERS = frozenset(
    "if when while although though because as after before in within on at for by with "
    "during since unless thus likewise however typically instead moreover therefore also "
    "yet still generally usually often indeed furthermore hence so according unlike without "
    "from to under over through across around against despite among between beyond".split()
)
_CLAUSE_BREAK = re.compile(
    r"\s*;\s*|:\s+(?=[A-Z])|,\s+(?:and|but|while|whereas|so|yet|which)\s+|"
    r"\s+(?:whereas|while)\s+|,\s+(?=in contrast\b)|\s+but\s+"
)


_IRREGULAR = dict(
    pair.split(":")
    for pair in "made:make makes:make went:go gone:go goes:go took:take taken:take gave:give given:give "
    "brought:bring thought:think found:find felt:feel kept:keep held:hold saw:see seen:see "
    "said:say told:tell became:become began:begin begun:begin sold:sell bought:buy ran:run "
    "won:win lost:lose meant:mean built:build sent:send spent:spend stood:stand wrote:write "
    "written:write chose:choose chosen:choose fell:fall grew:grow grown:grow knew:know "
    "rose:rise drove:drive spoke:speak taught:teach fought:fight sought:seek caught:catch "
    "paid:pay met:meet children:child people:people men:man women:woman".split()
)


@lru_cache(maxsize=65536)
def root_word(word: str) -> str:
    """The root of one lower-case word: irregular forms, Snowball stem, then `root`."""
    return root(stem(_IRREGULAR.get(word, word)))


@lru_cache(maxsize=65536)
def root(term: str) -> str:
    """Fold derivational variants: leader/leadership -> lead, expertise -> expert."""
    for _ in range(2):
        for suf in _SUFFIXES:
            if term.endswith(suf) and len(term) - len(suf) >= 4:
                term = term[: -len(suf)]
                break
        else:
            break
    return term


_SYN_INDEX: dict[str, int] = {}
for _i, _row in enumerate(_SYNONYMS):
    for _w in _row.split():
        _SYN_INDEX.setdefault(root(_w), _i)


def synonyms(a: str, b: str) -> bool:
    ia, ib = _SYN_INDEX.get(a), _SYN_INDEX.get(b)
    return ia is not None and ia == ib


def tokens(text: str) -> list[str]:
    """Word tokens with hyphenated words split and possessive 's dropped."""
    return [re.sub(r"'s$", "", w) for w in words(text.replace("-", " "))]


_CONTRAST = re.compile(
    r"\b(?:unlike|instead of|rather than|as opposed to|apart from|except for)\b[^,;.:!?]*"
    r"|,\s*not\s+[^,;.:!?]+(?=,)",  # "Managers, not leaders, plan"
    re.I,
)


def mask_contrast(text: str) -> tuple[str, list[str]]:
    """Remove 'unlike X' / 'instead of X' phrases: what they name is excluded from
    what the sentence says. Returns the rest and the excluded roots."""
    gone = [t for m in _CONTRAST.finditer(text) for t in terms(m.group())]
    return _CONTRAST.sub(" ", text), gone


def terms(text: str) -> list[str]:
    """Content roots in order, without stopwords, negations and quantity words."""
    out = []
    for w in tokens(text):
        if _skip(w) or w.endswith("n't"):
            continue
        out.append(root_word(w))
    return out


def quantities(text: str | Sequence[str]) -> frozenset[str]:
    """Numbers and quantifiers of a text or token list.

    >>> sorted(quantities("about one-third think so, and no one votes"))
    ['1/3', 'NONE']
    """
    toks = tokens(text) if isinstance(text, str) else list(text)
    found: set[str] = set()
    skip = set()
    for i, w in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if w in _NUMBER_WORDS and nxt in _FRACTIONS:
            found.add(f"{_NUMBER_WORDS[w]}/{_FRACTIONS[nxt]}")
            skip.add(i + 1)
        elif w in ("almost", "nearly") and _QUANT_WORDS.get(nxt) == "ALL":
            found.add("MOST")
            skip.add(i + 1)
        elif w in ("before", "after"):
            found.add(w.upper())  # order in time must agree
        elif w == "than":
            found.add("THAN")  # a comparison must be backed by a comparison
        elif w == "no" and nxt == "one":
            found.add("NONE")
            skip.add(i + 1)
        elif i in skip:
            continue
        elif w in _QUANT_WORDS:
            found.add(_QUANT_WORDS[w])
        elif _NUMERAL.fullmatch(w):
            found.add(w)
        elif w in _FRACTIONS:
            found.add(f"1/{_FRACTIONS[w]}")
        elif w in _NUMBER_WORDS and w not in ("a", "an"):
            found.add(str(_NUMBER_WORDS[w]))
    return frozenset(found)


def quantity_ok(claim_q: frozenset[str], unit_q: frozenset[str]) -> bool:
    """Every quantity of the claim is stated or entailed ('some' by any positive one)."""
    for q in claim_q:
        if q in unit_q:
            continue
        if q == "SOME" and unit_q - {"NONE"}:
            continue
        if q == "1" and not unit_q:  # "one" as an article-like word: "one theorist"
            continue
        return False
    return True


def _is_rhetorical(sentence: str) -> bool:
    """'But is not leadership ...?' asserts; 'Do managers need ...?' does not."""
    toks = words(sentence)[:4]
    return sentence.rstrip().endswith("?") and any(
        t in NEGATIONS or t.endswith("n't") for t in toks
    )


def negation_parity_count(toks: Sequence[str], rhetorical: bool) -> int:
    n = sum(1 for w in toks if w in NEGATIONS or w.endswith("n't"))
    return max(0, n - 1) if rhetorical else n


def _names(
    text: str,
    known: frozenset[str],
    vocab: frozenset[str] = frozenset(),
    lower: frozenset[str] = frozenset(),
) -> list[str]:
    """Capitalised words that name someone or something, unless the passages also
    write them in lower case (`lower`). A sentence-initial word counts when the
    passages capitalise it mid-sentence (`known`) or never use it at all
    (`vocab`): an unknown capitalised subject must not pass as a paraphrase."""
    out = []
    raw = re.findall(r"[A-Za-z][A-Za-z'’]*", text)
    for i, w in enumerate(raw):
        base = re.sub(r"['’]s?$", "", w)
        low = base.lower()
        if not base[:1].isupper() or _skip(low) or base == "I" or low in lower:
            continue
        if (
            i == 0
            and low not in known
            and (not vocab or root_word(low) in vocab or low in _QUANT_WORDS)
        ):
            continue
        out.append(low)
    return out


# --- passage units ------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    passage: int
    sentence: int  # global sentence number
    text: str
    toks: tuple[str, ...]
    roots: tuple[str | None, ...]  # content root per token, None for function words
    terms: tuple[str, ...]  # the roots that are not None, in order
    termset: frozenset[str]
    context: frozenset[str]  # roots of the antecedent sentence, for "they ..." sentences
    names: frozenset[str]  # who the unit is attributed to, and names it mentions
    question: bool  # a genuine question, which asserts nothing
    rhetorical: bool  # "Is not leadership ...?", which asserts
    is_clause: bool
    excluded: frozenset[str]  # named only in an "unlike ..." phrase

    def span(self, mapped: set[str], before: int = 5) -> tuple[str, ...]:
        """Tokens from a little before the first to just after the last word aligned with a claim,
        so that a negation or quantity elsewhere in the sentence does not count."""
        idx = [i for i, r in enumerate(self.roots) if r in mapped]
        if not idx:
            return self.toks
        return self.toks[max(0, idx[0] - before) : idx[-1] + 4]


@dataclass
class _Passages:
    units: list[_Unit]
    vocab: frozenset[str]
    subjects: frozenset[str]
    names: frozenset[str]
    known_caps: frozenset[str]
    lower: frozenset[str]


_LEAD_CLAUSE = re.compile(
    r"^\s*[\"“]?((?:if|when|while|although|though|because|as|after|before|since|unless|once)\b"
    r"[^,;]{3,100}),\s*(.+)$",
    re.I | re.S,
)
_AND_SUBJECT = re.compile(r"\s+and\s+(?=(?:the\s+|a\s+|an\s+)?([A-Za-z]+))")


def _strip_adverbials(text: str) -> str:
    """'In contrast, leaders ...' -> 'leaders ...'; 'Management, Kotter argues, ...' stays."""
    for _ in range(3):
        m = re.match(r"^\s*[\"“(]?([A-Za-z'’-]+)([^,;:]{0,120}?),\s+(.*)$", text, re.S)
        if not m:
            break
        first = m.group(1).lower()
        if first in _LEADERS or (first.endswith("ly") and len(m.group(2).split()) <= 1):
            text = m.group(3)
        else:
            break
    return text


_NUMERAL = re.compile(r"\d+(?:s|st|nd|rd|th)?")


def _skip(w: str) -> bool:
    return (
        w in STOPWORDS
        or w in _FUNCTION
        or w in NEGATIONS
        or w in _QUANT_WORDS
        or w in _NUMBER_WORDS
        or w in _FRACTIONS
        or w in _REFLEXIVE
        or _NUMERAL.fullmatch(w) is not None
    )


def subject_of(text: str) -> str | None:
    """The first content root after leading adverbials; None when a pronoun leads.

    >>> subject_of("In contrast, leaders establish direction.")
    'lead'
    """
    for w in tokens(_strip_adverbials(text))[:8]:
        if w in _PRONOUNS or w in ("i", "we", "you"):
            return None
        if not _skip(w):
            return root_word(w)
    return None


def _subject_phrase(text: str, subjects: frozenset[str]) -> str | None:
    toks = re.findall(r"\S+", _strip_adverbials(text))
    for i, tok in enumerate(toks[:6]):
        w = tokens(tok)
        if w and root_word(w[-1]) in subjects:
            return " ".join(toks[: i + 1]).strip(',;:"“”')
    return None


def _split_clauses(sentence: str, subjects: frozenset[str], lead: bool) -> list[tuple[str, bool]]:
    """Clauses of a sentence as (text, coordinate). Coordinate clauses ("..., and
    they ...", "...; leadership ...") may borrow the subject of the clause before;
    a leading subordinate clause ("If ..., they ...") is split off only when `lead`."""
    parts = [p.strip(' ,"“”') for p in _CLAUSE_BREAK.split(sentence)]
    parts = [q for p in parts for q in _split_and(p, subjects)]
    out = [(p, True) for p in parts if terms(p)]
    if lead and out:
        m = _LEAD_CLAUSE.match(out[0][0])
        if m and len(terms(m.group(2))) >= 2:
            out[:1] = [(m.group(1), False), (m.group(2), False)]
    return out


def _split_and(text: str, subjects: frozenset[str]) -> list[str]:
    """Split at a plain 'and' that starts a new subject: '... and leadership copes ...'."""
    for m in _AND_SUBJECT.finditer(text):
        left, right = text[: m.start()], text[m.end() :]
        if re.search(r",\s*[\w'’-]+(?:\s+[\w'’-]+)?\s*$", left):
            continue  # the end of a list: "leaders, managers and technical experts"
        if (
            root_word(m.group(1).lower()) in subjects
            and len(terms(left)) >= 2
            and len(terms(right)) >= 2
        ):
            return [left] + _split_and(right, subjects)
    return [text]


def _last_subject(text: str, subjects: frozenset[str]) -> str | None:
    """The last content word: what a following 'which ...' refers to."""
    found = [w for w in re.findall(r"[A-Za-z'’]+", text) if not _skip(w.lower())]
    return found[-1] if found else None


def _with_subject(parts: list[tuple[str, bool]], subjects: frozenset[str]) -> list[str]:
    """Give coordinate clauses that lack a subject the subject of the clause before."""
    out = [parts[0][0]]
    phrase = _subject_phrase(parts[0][0], subjects)
    for part, coordinate in parts[1:]:
        own = subject_of(part)
        first = words(part)[:1]
        if not coordinate or (own in subjects and not (first and first[0] in _PRONOUNS)):
            out.append(part)
            phrase = _subject_phrase(part, subjects) or phrase
            continue
        if first and first[0] in ("which", "who") and (rel := _last_subject(out[-1], subjects)):
            part = rel + " " + part.split(None, 1)[-1]
        elif phrase and first and first[0] in _PRONOUNS:
            rest = part.split(None, 1)
            part = phrase + (" " + rest[1] if len(rest) > 1 else "")
        elif phrase:
            part = phrase + " " + part
        out.append(part)
    return out


def _clauses_with_subjects(text: str, subjects: frozenset[str], lead: bool) -> list[str]:
    parts = _split_clauses(text, subjects, lead)
    return _with_subject(parts, subjects) if parts else []


def _byline_names(sentence: str) -> list[str]:
    s = sentence.strip()
    if s[:1] in "~—–" or (len(s.split()) <= 4 and all(w[:1].isupper() for w in s.split())):
        return [w.lower().strip(".~—–-") for w in s.split() if len(w.strip(".~—–-")) > 1]
    return []


_THIRD_PERSON = re.compile(
    r"\b(?:they|them|their|it|its|he|she|his|her|these|those)\b|^\W*each\b", re.I
)


def _needs_antecedent(text: str, subjects: frozenset[str]) -> bool:
    """A sentence whose pronoun has no candidate antecedent before it in the sentence."""
    m = _THIRD_PERSON.search(text)
    if not m:
        return False
    before = text[: m.start()]
    if re.search(r"[A-Za-z]s['’](?![A-Za-z])|['’]s\b", before):
        return False
    return not any(root_word(w) in subjects for w in tokens(before))


def _build_passages(passages: Sequence[str]) -> _Passages:
    sents: list[tuple[int, str]] = []
    for pi, p in enumerate(passages):
        sents += [(pi, s.text) for s in split_sentences(p or "", attributions=False)]
    lower = frozenset(w for _, s in sents for w in re.findall(r"\b[a-z][a-z]+", s))
    known_caps = (
        frozenset(  # capitalised mid-sentence and never written in lower case
            w.lower() for _, s in sents for w in re.findall(r"(?<=[a-z,;:(] )[A-Z][a-z]+", s)
        )
        - lower
    )
    subjects = frozenset(  # of sentences and of ';'-clauses: list commas mislead
        s for _, t in sents for c in [t] + t.split(";")[1:] if (s := subject_of(c))
    )
    units: list[_Unit] = []
    scope: frozenset[str] = frozenset()
    ctx: frozenset[str] = frozenset()
    for si, (pi, text) in enumerate(sents):
        same = si > 0 and sents[si - 1][0] == pi
        if not same:
            scope, ctx = frozenset(), frozenset()
        nxt = sents[si + 1][1] if si + 1 < len(sents) and sents[si + 1][0] == pi else ""
        if _byline_names(text) and same:
            continue
        own = frozenset(_names(text, known_caps, lower=lower)) | frozenset(_byline_names(nxt))
        scope = own or scope
        prev = frozenset(terms(sents[si - 1][1])) | ctx if same else frozenset()
        ctx = prev if _needs_antecedent(text, subjects) else frozenset()
        units += _sentence_units(pi, si, text, ctx, scope, subjects)
    vocab = frozenset(t for u in units for t in u.terms + tuple(u.excluded))
    names = frozenset(n for u in units for n in u.names)
    return _Passages(units, vocab, subjects, names, known_caps, lower)


def _sentence_units(pi, si, text, ctx, scope, subjects) -> list[_Unit]:
    question = text.rstrip().rstrip("\"”'").endswith("?")
    rhetorical = question and _is_rhetorical(text)
    clauses = _clauses_with_subjects(text, subjects, lead=True)
    pieces = [(text, False)] + [(c, True) for c in clauses if len(clauses) > 1]
    out = []
    for piece, is_clause in pieces:
        kept, excluded = mask_contrast(piece)
        toks = tuple(tokens(kept))
        roots = tuple(None if _skip(w) or w.endswith("n't") else root_word(w) for w in toks)
        content = tuple(r for r in roots if r)
        out.append(
            _Unit(
                pi,
                si,
                piece,
                toks,
                roots,
                content,
                frozenset(content),
                ctx,
                scope,
                question and not rhetorical,
                rhetorical,
                is_clause,
                frozenset(excluded) - frozenset(content),
            )
        )
    return out


# --- alignment ------------------------------------------------------------------


@dataclass(frozen=True)
class _Clause:
    text: str
    terms: tuple[str, ...]
    names: frozenset[str]
    quants: frozenset[str]
    negs: int
    surface: dict  # root -> the word the claim used


@dataclass
class _Match:
    unit: _Unit
    hard_miss: list[str]
    foreign_miss: list[str]
    recall: float
    precision: float
    order: float
    n: int
    leftover: int  # unit words no clause word maps to: room for a paraphrase
    mapped: set[str]
    sim: float = 0.0


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _align(clause: _Clause, unit: _Unit, ps: _Passages) -> _Match:
    """Map each clause word to the unit: same root, synonym, or the unit's antecedent.
    Misses are 'hard' when the passages use the word elsewhere, else 'foreign'."""
    hard, foreign, mapped = [], [], []
    has = unit.termset
    counted = 0
    for t in clause.terms:
        if t in REPORTING and t not in has:
            continue
        counted += 1
        if t in has:
            mapped.append(t)
        elif t in unit.context:
            continue
        elif syn := next((u for u in unit.terms if synonyms(t, u)), None):
            mapped.append(syn)
        elif t in ps.vocab:
            hard.append(t)
        else:
            foreign.append(t)
    n = max(1, counted)
    recall = 1 - (len(hard) + len(foreign)) / n
    content = has - REPORTING
    got = set(mapped)
    precision = len(got) / max(1, len(content))
    order = _lcs(mapped, [u for u in unit.terms if u in got]) / max(1, len(mapped))
    leftover = len(content - got - unit.names)
    return _Match(unit, hard, foreign, recall, precision, order, n, leftover, got)


def _binding_conflicts(
    clause: _Clause, unit: _Unit, subjects: frozenset[str], names: frozenset[str]
) -> float:
    """Share of words whose nearest preceding subject differs between clause and unit.
    Names are transparent: "Management, Kotter argues, copes" binds "copes" to management."""

    def owners(seq):
        own, cur, joined = {}, set(), False
        for t in seq:
            if t in names:
                continue
            if t in subjects:
                cur = cur | {t} if joined else {t}  # "leadership and management expend"
                joined = True
            else:
                joined = False
                if cur:
                    own.setdefault(t, set()).update(cur)
        return own

    c_own, u_own = owners(clause.terms), owners(unit.terms)
    present = unit.termset
    checked = conflicts = 0
    for t, cs in c_own.items():
        us = u_own.get(t)
        if not us or not (cs & present):
            continue
        checked += 1
        conflicts += not (cs & us)
    return conflicts / checked if checked else 0.0


# --- the scorer -------------------------------------------------------------------


@dataclass(frozen=True)
class SupportResult:
    """Whether a claim is supported, how confidently, and by what."""

    supported: bool
    score: float
    passage: int | None
    evidence: str | None
    reason: str


class Judge(Protocol):
    def score(self, claim: str, passages: Sequence[str]) -> SupportResult: ...


class _LRU:
    """A small thread-safe least-recently-used cache (the web app shares one scorer)."""

    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
            return None

    def put(self, key, value):
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_PENALTY = {"partly covered": 0.6, "not covered": 1.0}  # contradictions: 0.3


class SupportScorer:
    """The default, deterministic judge (see the module docstring).

    `threshold` bounds the alignment quality (embedding similarity and word
    overlap of the claim and its best unit) that a clause passing every check
    must still reach. Embeddings of passage units and claims are cached by text.
    """

    def __init__(self, embedder=None, threshold: float = 0.55, cache_size: int = 8192):
        self._embedder = embedder
        self.threshold = threshold
        self._vectors = _LRU(cache_size)
        self._passages = _LRU(64)

    @property
    def embedder(self):
        if self._embedder is None:
            from tutor.embedder import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    # embeddings, cached by text
    def _embed(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        out, todo = {}, []
        for t in dict.fromkeys(texts):
            v = self._vectors.get(t)
            if v is None:
                todo.append(t)
            else:
                out[t] = v
        if todo:
            for t, v in zip(todo, self.embedder.embed(todo), strict=True):
                self._vectors.put(t, v)
                out[t] = v
        return out

    def _prepare(self, passages: Sequence[str]) -> _Passages:
        key = tuple(passages)
        ps = self._passages.get(key)
        if ps is None:
            ps = _build_passages(passages)
            self._passages.put(key, ps)
        return ps

    def score(self, claim: str, passages: Sequence[str]) -> SupportResult:
        return self.score_many([claim], passages)[0]

    def score_many(self, claims: Sequence[str], passages: Sequence[str]) -> list[SupportResult]:
        kept = [p for p in passages if p and p.strip()]
        ps = self._prepare(kept)
        if not ps.units:
            return [SupportResult(False, 0.0, None, None, "no passages") for _ in claims]
        verbatim = [_verbatim(c, kept) for c in claims]
        split = [self._clauses(c, ps) if v is None else [] for c, v in zip(claims, verbatim, strict=True)]
        texts = [u.text for u in ps.units] + [cl.text for cls in split for cl in cls]
        vecs = self._embed(texts)
        return [v or self._judge(cls, ps, vecs) for cls, v in zip(split, verbatim, strict=True)]

    def _clauses(self, claim: str, ps: _Passages) -> list[_Clause]:
        claim = (claim or "").strip()
        if not terms(claim):
            return []
        parts = _clauses_with_subjects(claim, ps.subjects, lead=False) or [claim]
        out = []
        for p in parts:
            p = _DISCOURSE.sub(" ", mask_contrast(p)[0]).strip() or p
            names = frozenset(_names(p, ps.known_caps | ps.names, ps.vocab, ps.lower))
            gone = {root_word(n) for n in names}
            surface = {root_word(w): w for w in reversed(tokens(p))}
            t = tuple(x for x in terms(p) if x not in gone)
            out.append(
                _Clause(
                    p, t, names, quantities(p), negation_parity_count(tokens(p), False), surface
                )
            )
        return out

    def _judge(self, clauses: list[_Clause], ps: _Passages, vecs) -> SupportResult:
        if not clauses:
            return SupportResult(False, 0.0, None, None, "empty claim")
        results = [self._judge_clause(c, ps, vecs) for c in clauses]
        worst = min(results, key=lambda r: (r.supported, r.score))
        if len(results) > 1 and not worst.supported and any(r.supported for r in results):
            return SupportResult(
                False, worst.score, worst.passage, worst.evidence, "partly covered"
            )
        if worst.supported:
            ev = " ".join(dict.fromkeys(r.evidence for r in results if r.evidence))
            return SupportResult(True, worst.score, worst.passage, ev, "supported")
        return worst

    def _judge_clause(self, clause: _Clause, ps: _Passages, vecs) -> SupportResult:
        cv = vecs[clause.text]
        matches = [_align(clause, u, ps) for u in ps.units]
        for m in matches:
            m.sim = float(cv @ vecs[m.unit.text])
        _soften(clause, matches, ps)
        best = max(matches, key=_rank)
        verdict = self._verdict(clause, best, ps)
        quality = self._quality(best)
        ok = verdict == "supported" and quality >= self.threshold
        if verdict == "supported" and not ok:
            verdict = "partly covered" if best.recall >= 0.5 else "not covered"
        score = quality if ok else min(quality, 0.99 * self.threshold) * _PENALTY.get(verdict, 0.3)
        return SupportResult(ok, round(score, 4), best.unit.passage, best.unit.text, verdict)

    @staticmethod
    def _quality(m: _Match) -> float:
        lex = m.recall * (0.5 + 0.5 * m.order)
        return 0.55 * m.sim + 0.45 * lex

    def _verdict(self, clause: _Clause, m: _Match, ps: _Passages) -> str:
        u = m.unit
        if m.hard_miss or m.foreign_miss and not _tolerated(m, clause):
            if set(m.hard_miss) & u.excluded or m.hard_miss and self._better_swap(clause, m, ps):
                return "role swap"
            return "partly covered" if m.recall >= 0.5 else "not covered"
        missing_names = clause.names - u.names - set(u.terms)
        if missing_names:
            return "wrong attribution" if u.names - clause.names else "not covered"
        span = u.span(m.mapped | {root_word(n) for n in clause.names})
        if not quantity_ok(clause.quants, quantities(span)):
            return "quantity mismatch"
        if clause.negs % 2 != negation_parity_count(span, u.rhetorical) % 2:
            return "negation mismatch"
        if u.question and not {"whether", "question", "ask"} & set(tokens(clause.text)):
            return "not asserted"
        names = frozenset(root_word(n) for n in ps.names | clause.names)
        if _binding_conflicts(clause, u, ps.subjects, names) > 0.5 or self._better_swap(
            clause, m, ps
        ):
            return "role swap"
        return "supported"

    def _better_swap(self, clause: _Clause, m: _Match, ps: _Passages) -> bool:
        """Does replacing a subject of the clause with another subject of the passages
        give a clause that the passages back up clearly better? Then it is a swap."""
        own = [t for t in clause.terms if t in ps.subjects]
        base = _lex(m) if not m.hard_miss else 0.0
        for t in own:
            for s in ps.subjects - set(clause.terms):
                alt = _Clause(
                    clause.text,
                    tuple(s if x == t else x for x in clause.terms),
                    clause.names,
                    clause.quants,
                    clause.negs,
                    clause.surface,
                )
                for u in ps.units:
                    if s not in u.terms:
                        continue
                    am = _align(alt, u, ps)
                    if not am.hard_miss and _tolerated(am, alt) and _lex(am) > base + 0.15:
                        return True
        return False


def _verbatim(claim: str, passages: Sequence[str]) -> SupportResult | None:
    """A claim copied from a passage sentence (the whole sentence, or most of it,
    as when a quotation is cited without its attribution) is supported by it."""
    text = " ".join((claim or "").split()).strip(" \"'“”")
    if len(terms(text)) < 2:
        return None
    for i, p in enumerate(passages):
        flat = " ".join(p.split())
        for s in split_sentences(flat):
            if text in s.text and len(text) >= 0.6 * len(s.text):
                return SupportResult(True, 1.0, i, s.text, "supported")
    return None


def _soften(clause: _Clause, matches: list[_Match], ps: _Passages, floor: float = 0.45) -> None:
    """A missed word the passages use only in unrelated sentences ("tasks" of the
    author's intellectual task) is not evidence of a contradiction: treat it as
    foreign, i.e. as a possible rewording. Subjects and names always stay hard."""
    related = {
        t: max((m.sim for m in matches if t in m.unit.termset), default=0.0)
        for t in set(clause.terms) & ps.vocab
    }
    for m in matches:
        soft = [t for t in m.hard_miss if t not in ps.subjects and related.get(t, 0.0) < floor]
        if soft:
            m.hard_miss = [t for t in m.hard_miss if t not in soft]
            m.foreign_miss = m.foreign_miss + soft


def _lex(m: _Match) -> float:
    """Lexical fit: F1 of words matched directly (not through an antecedent), times order."""
    direct = len(m.mapped) / m.n
    f1 = 2 * direct * m.precision / max(1e-9, direct + m.precision)
    return f1 * (0.5 + 0.5 * m.order)


def _tolerated(m: _Match, clause: _Clause) -> bool:
    """Unmatched words are allowed only if light: 'tasks of', 'clearly'."""
    for t in m.foreign_miss:
        w = clause.surface.get(t, t)
        if w not in _LIGHT and not (w.endswith("ly") and w not in _NOT_LIGHT_LY):
            return False
    return True


def _rank(m: _Match):
    return (-len(m.hard_miss), round(m.recall, 3), 0.6 * m.sim + 0.4 * m.precision)


# --- other judges -------------------------------------------------------------------


class NLIJudge:
    """A local sentence-transformers CrossEncoder NLI model (`--judge nli:PATH`).

    The claim is supported when some passage entails it with probability >= 0.5.
    The label order is read from the model's `config.json` (`id2label`), never
    assumed; the model is loaded with `local_files_only`, so nothing is downloaded.
    """

    def __init__(self, path: str, threshold: float = 0.5):
        from pathlib import Path

        from tutor.errors import ConfigError

        config = Path(path) / "config.json"
        if not config.is_file():
            raise ConfigError(f"NLI judge: '{path}' is not a local model folder (no config.json)")
        labels = {int(k): v.lower() for k, v in json.loads(config.read_text())["id2label"].items()}
        found = [i for i, name in labels.items() if name.startswith("entail")]
        if not found:
            raise ConfigError(f"NLI judge: no entailment label in {sorted(labels.values())}")
        self.entail, self.labels, self.threshold = found[0], labels, threshold
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(path, device="cpu", local_files_only=True)

    def score(self, claim: str, passages: Sequence[str]) -> SupportResult:
        passages = [p for p in passages if p and p.strip()]
        if not (claim or "").strip() or not passages:
            return SupportResult(
                False, 0.0, None, None, "empty claim" if passages else "no passages"
            )
        probs = np.asarray(self._model.predict([(p, claim) for p in passages], apply_softmax=True))
        best = int(np.argmax(probs[:, self.entail]))
        p = float(probs[best, self.entail])
        if p >= self.threshold:
            return SupportResult(True, p, best, passages[best], "supported")
        top = self.labels[int(np.argmax(probs[best]))]
        return SupportResult(
            False,
            p,
            best,
            passages[best],
            "contradicted" if top.startswith("contra") else "not entailed",
        )


_SPLIT_PROMPT = """Break the statement below into short atomic statements, each one a single fact \
that can be checked on its own. Replace pronouns with what they refer to.
Answer with JSON only, exactly in this form: {{"statements": ["...", "..."]}}

Statement: {claim}"""

_VERIFY_PROMPT = """Decide for each statement whether the numbered passages support it. A statement \
is supported only if the passages state it or directly imply it; swapped roles, negations, other \
numbers or other people make it unsupported.
Answer with JSON only, exactly in this form:
{{"verdicts": [{{"statement": "...", "supported": true, "passage": 1}}]}}

Passages:
{passages}

Statements:
{statements}"""


def parse_json_answer(text: str):
    """The first JSON object or array in a model's answer (code fences, prose around
    it and trailing commas tolerated); None when there is none."""
    text = re.sub(r"```(?:json)?", "", text or "")
    for opener, closer in (("{", "}"), ("[", "]")):
        start = text.find(opener)
        while start != -1:
            end = text.rfind(closer)
            while end > start:
                chunk = re.sub(r",\s*([}\]])", r"\1", text[start : end + 1])
                try:
                    return json.loads(chunk)
                except ValueError:
                    end = text.rfind(closer, start, end)
            start = text.find(opener, start + 1)
    return None


class LLMJudge:
    """RAGAS-faithfulness style judge over a LangChain chat model (`--judge llm`):
    1. the model splits the claim into atomic statements;
    2. the model says for each whether the passages support it;
    3. the claim is supported only if every statement is.
    An unreadable answer makes the claim unsupported; it never raises."""

    def __init__(self, chat_model, max_statements: int = 8):
        self.model = chat_model
        self.max_statements = max_statements

    def _ask(self, prompt: str):
        from tutor.errors import LLMError

        try:
            answer = self.model.invoke(prompt)
        except Exception as exc:  # noqa: BLE001 - any backend failure is one typed error
            raise LLMError(f"the judge model failed: {exc}") from None
        return parse_json_answer(
            getattr(answer, "content", answer) if not isinstance(answer, str) else answer
        )

    def statements(self, claim: str) -> list[str]:
        data = self._ask(_SPLIT_PROMPT.format(claim=claim))
        items = data.get("statements") if isinstance(data, dict) else data
        if not isinstance(items, list):
            return []
        return [s.strip() for s in items if isinstance(s, str) and s.strip()][: self.max_statements]

    def verdicts(
        self, statements: Sequence[str], passages: Sequence[str]
    ) -> list[tuple[bool, int | None]]:
        numbered = "\n".join(f"[{i + 1}] {p}" for i, p in enumerate(passages))
        listed = "\n".join(f"- {s}" for s in statements)
        data = self._ask(_VERIFY_PROMPT.format(passages=numbered, statements=listed))
        items = data.get("verdicts") if isinstance(data, dict) else data
        if not isinstance(items, list) or len(items) < len(statements):
            return []
        out = []
        for item in items[: len(statements)]:
            if not isinstance(item, dict):
                return []
            ok = item.get("supported", item.get("verdict"))
            ok = (
                ok
                if isinstance(ok, bool)
                else str(ok).strip().lower() in ("1", "yes", "true", "supported")
            )
            n = item.get("passage")
            out.append((ok, n - 1 if isinstance(n, int) and 1 <= n <= len(passages) else None))
        return out

    def score(self, claim: str, passages: Sequence[str]) -> SupportResult:
        passages = [p for p in passages if p and p.strip()]
        if not (claim or "").strip() or not passages:
            return SupportResult(
                False, 0.0, None, None, "empty claim" if passages else "no passages"
            )
        statements = self.statements(claim)
        verdicts = self.verdicts(statements, passages) if statements else []
        if not verdicts:
            return SupportResult(False, 0.0, None, None, "judge answer unreadable")
        share = sum(ok for ok, _ in verdicts) / len(verdicts)
        where = next((n for ok, n in verdicts if ok and n is not None), None)
        evidence = passages[where] if where is not None else None
        if share == 1.0:
            return SupportResult(True, 1.0, where, evidence, "supported")
        return SupportResult(
            False, share, where, evidence, "partly covered" if share else "not covered"
        )


JUDGES = ("default", "nli:PATH", "llm")


def make_judge(spec: str | None, chat_model=None) -> Judge:
    """`None`/"default" -> SupportScorer; "nli:PATH" -> NLIJudge; "llm" -> LLMJudge."""
    spec = (spec or "default").strip()
    if spec == "default":
        return SupportScorer()
    if spec.startswith("nli:") and spec[4:].strip():
        return NLIJudge(spec[4:].strip())
    if spec == "llm":
        if chat_model is None:
            raise ValueError(
                "judge 'llm' needs a configured chat model (TUTOR_LLM); "
                f"accepted judges: {', '.join(JUDGES)}"
            )
        return LLMJudge(chat_model)
    raise ValueError(f"unknown judge '{spec}'; accepted judges: {', '.join(JUDGES)}")
