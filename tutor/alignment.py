"""Align a statement with passage text and measure how well it is backed.

The support judge (`tutor.support`) and the reply assessor (`tutor.assess`)
both ask the same question: does this passage say what this statement says?
Both read the answer from one `Alignment`:

1. when the passages speak in the first person and the statement names their
   author ("Quill closed the survey" against "I declare the survey over"),
   the statement is retold as the author's "I" (`as_speaker`); then it is
   split into clauses along its parse (coordinated and subordinate clauses;
   "X says that ..." frames are dropped, "it is not true that ..." flips the
   polarity of what follows);
2. every content word of the statement is matched with every content word of
   the passages: the same lemma or stem (or a word inside a symbol-joined
   token: "Mode" in "Mode+1"), the same amount (after unit conversion), a
   WordNet synonym or near relation, or failing these a word whose embedding
   is close; names match only as written or as a derived form ("Korea",
   "Koreans"); a WordNet antonym or a different amount is a conflict;
3. each clause is aligned with its best passage *sentence* (the unit that
   covers most of its weighted words), and on that alignment article-agnostic
   features are measured: how much of the clause is covered, how much is new
   to the passages (weighted by how rare the word is), how much the passages
   have only in other sentences, the sentence similarity, and the signs of a
   contradiction - an amount, name or antonym in the place of another, a
   predicate whose polarity differs, a comparison or "only"/"all" that the
   sentence lacks, an added "because", and pairs of words bound together in
   the statement (subject and verb, verb and object, modifier and noun) that
   no passage sentence binds (who does what to whom).

Written by hand because no library aligns a claim with evidence at this
grain; it reads everything from the language layer (`tutor.language`),
WordNet (`tutor.lexicon`) and the sentence embedder. How the features combine
into a verdict is fitted, not written here (`tutor.fitting`, `tutor/models/`).

Deliberate simplifications: word embeddings are of the lemma alone (static,
cached by word); a clause's best sentence is chosen by coverage only; the
parse of the small spaCy model is evidence, not truth, so every parse-based
detector is one feature among many, weighed by the fitted model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from spacy.tokens import Doc, Span, Token

from tutor import language as L
from tutor import lexicon

SOFT = 0.5  # an aligned word needs at least this match score
STRONG = 0.9  # a match this good is "the same word" (lemma, stem, amount, synonym)
_CLAUSE_DEPS = frozenset({"conj", "advcl", "relcl", "ccomp", "parataxis", "acl"})
_TRUTH_WORDS = frozenset("true case false so".split())
_PREDICATE_POS = frozenset({"VERB", "ADJ", "AUX", "NOUN", "ADV"})


# ---- weights --------------------------------------------------------------------


@lru_cache(maxsize=65536)
def rarity(word: str) -> float:
    """How much a word says: rare words more than common ones (wordfreq's Zipf
    scale, 7 = "the", 1 = very rare), between 0.3 and 1.5."""
    from wordfreq import zipf_frequency

    z = zipf_frequency(word, "en")
    return float(min(1.5, max(0.3, (7.0 - z) / 3.0)))


_NOT_NAME_POS = frozenset({"VERB", "AUX", "ADP", "DET", "PRON", "CCONJ", "SCONJ", "PART", "PUNCT"})


def is_name(tok: Token) -> bool:
    """A proper noun or a word of a named entity; not a number, not a unit
    symbol after a degree sign ("230 °C"), and not a verb or function word the
    entity recogniser swept into a name ("Tobin distinguishes")."""
    if tok.like_num or tok.pos_ in _NOT_NAME_POS:
        return False
    if tok.i > 0 and tok.nbor(-1).text == "°":
        return False
    return tok.pos_ == "PROPN" or tok.ent_type_ in L.ENTITY_LABELS


def is_number(tok: Token) -> bool:
    return tok.like_num or tok.pos_ == "NUM"


def weight(tok: Token) -> float:
    if is_name(tok):
        return 1.5
    if is_number(tok):
        return 1.2
    return rarity(tok.lower_)


def keys(tok: Token) -> frozenset[str]:
    """What a word matches exactly: its lemma, stem and lower-case form, and
    for a token that joins words with symbols ("Mode+1", "Mode=0", "~Tobin")
    each word in it."""
    lem = L.lemma(tok)
    out = {lem, L.stem(lem), tok.lower_.replace("’", "'")}
    return frozenset(out | set(pieces(tok.text, lower=True)))


def pieces(text: str, lower: bool = False) -> list[str]:
    """The words (two letters or more) of a token that joins them with symbols
    other than a hyphen or an apostrophe; [] for an ordinary word."""
    if re.fullmatch(r"[^\W_]+(?:[-'’][^\W_]+)*", text):
        return []
    found = re.findall(r"[^\W\d_]{2,}", text)
    return [w.lower() for w in found] if lower else found


def as_speaker(doc: Doc, speakers: frozenset[str]) -> str | None:
    """The statement told in the first person, when it names the passages'
    speaker: an article speaks of its author as "I", so "Quill closed the
    survey" is "I closed the survey" and "the objection that counted for
    Quill" is "... counted for me" in the article's words. `speakers` are the
    lower-case words of the author's names (`metadata.author_words`); a name is
    the speaker's when all its words (initials aside) are speaker words. None
    when the statement names no speaker.

    >>> as_speaker(L.parse("Quill asks new keepers about Quill's tower."), frozenset({"mara", "quill"}))
    'I ask new keepers about my tower.'
    """
    if not speakers:
        return None
    swap: dict[int, tuple[int, str]] = {}  # name start -> (end, pronoun)
    verbs: set[int] = set()  # "asks" after "I" becomes "ask"
    for ent in _proper_runs(doc):
        if not all(t.lower_ in speakers for t in ent if len(t.text.rstrip(".")) > 1):
            continue
        end, root = ent.end, ent.root
        if end < len(doc) and doc[end].tag_ == "POS":
            swap[ent.start] = (end + 1, "my")
        elif root.dep_ in ("nsubj", "nsubjpass", "csubj"):
            swap[ent.start] = (end, "I")
            if root.head.tag_ == "VBZ":
                verbs.add(root.head.i)
        else:
            swap[ent.start] = (end, "me")
    if not swap:
        return None
    out, k = [], 0
    while k < len(doc):
        if k in swap:
            end, word = swap[k]
            out.append(word + doc[end - 1].whitespace_)
            k = end
            continue
        t = doc[k]
        if k in verbs:
            lemma = {"be": "am"}.get(t.lemma_, t.lemma_)
            out.append(lemma + t.whitespace_)
        else:
            out.append(t.text_with_ws)
        k += 1
    return "".join(out).strip()


def _proper_runs(doc: Doc) -> list[Span]:
    """Maximal runs of proper nouns (with initials such as "F.") in a parse."""
    runs, start = [], None
    for t in doc:
        inside = t.pos_ == "PROPN" and not t.like_num
        if inside and start is None:
            start = t.i
        elif not inside and start is not None:
            runs.append(doc[start : t.i])
            start = None
    if start is not None:
        runs.append(doc[start:])
    return runs


# ---- clauses ------------------------------------------------------------------------


@dataclass
class Clause:
    head: Token
    tokens: list[Token]  # content tokens of the clause (subject borrowed when it has none)
    negations: int  # negators in the clause (privative verbs included)
    flipped: bool  # under "it is not true that"
    text: str


def _is_frame(h: Token) -> tuple[bool, bool]:
    """(reporting frame, truth frame) for a clause head: "A argues that ...",
    "it is (not) true that ..."."""
    has_ccomp = any(c.dep_ == "ccomp" for c in h.children)
    report = has_ccomp and L.lemma(h) in L.REPORTING_VERBS
    truth = has_ccomp and any(c.lower_ in _TRUTH_WORDS and c.dep_ in ("acomp", "attr") for c in h.children)
    return report, truth


def clauses(doc: Doc | Span) -> list[Clause]:
    """The statement's clauses, each with its own content tokens.

    A clause is headed by the root or by a verb-like token hanging off another
    clause (conj, advcl, relcl, ccomp, ...). A reporting frame ("A argues that
    X") and a truth frame ("it is not true that X") are not clauses of their
    own: X is, keeping the reporter's name (an attribution to check) or, for a
    negated truth frame, with its polarity flipped. Clauses of one content
    word are modifiers and join their neighbour."""
    span = doc[:] if isinstance(doc, Doc) else doc
    heads = [t for t in span if t.dep_ == "ROOT" or (t.dep_ in _CLAUSE_DEPS and t.pos_ in ("VERB", "AUX", "ADJ"))]
    if not heads:
        return []
    head_ids = {t.i for t in heads}

    def owner(tok: Token) -> int:
        t = tok
        while t.i not in head_ids and t.head.i != t.i:
            t = t.head
        return t.i if t.i in head_ids else heads[0].i

    members: dict[int, list[Token]] = {h.i: [] for h in heads}
    for tok in span:
        members[owner(tok)].append(tok)
    flips: dict[int, bool] = {}
    reporters: dict[int, list[Token]] = {}
    out: list[Clause] = []
    for h in heads:
        toks = members[h.i]
        content = [t for t in toks if L.is_content(t)]
        negs = sum(1 for t in toks if L.is_negator(t) or (t.pos_ == "VERB" and L.lemma(t) in L.PRIVATIVE_VERBS))
        report, truth = _is_frame(h)
        if report or truth:
            for c in h.children:
                if c.dep_ == "ccomp":
                    flips[c.i] = truth and negs % 2 == 1
                    if report:
                        reporters[c.i] = [t for t in content if t.i != h.i]
            continue
        if not content:
            continue
        if h.dep_ == "conj" and not any(c.dep_ in ("nsubj", "nsubjpass") for c in h.children):
            borrowed = [t for t in members.get(owner(h.head), []) if L.is_content(t) and _in_subject(t)]
            content = borrowed + [t for t in content if t not in borrowed]
        out.append(Clause(h, content, negs, False, span.doc[toks[0].i : toks[-1].i + 1].text))
    for c in out:
        c.flipped = flips.get(c.head.i, False)
        c.tokens = reporters.get(c.head.i, []) + c.tokens
    if not out:
        content = [t for t in span if L.is_content(t)]
        return [Clause(span.root, content, L.negation_count(span), False, span.text)] if content else []
    merged: list[Clause] = []
    for c in out:
        if merged and len(c.tokens) <= 1:
            merged[-1].tokens += c.tokens
            merged[-1].negations += c.negations
        else:
            merged.append(c)
    if len(merged) > 1 and len(merged[0].tokens) <= 1:
        merged[1].tokens = merged[0].tokens + merged[1].tokens
        merged[1].negations += merged[0].negations
        merged[1].flipped = merged[1].flipped or merged[0].flipped
        merged = merged[1:]
    return merged


def _in_subject(tok: Token) -> bool:
    t = tok
    while t.head.i != t.i:
        if t.dep_ in ("nsubj", "nsubjpass"):
            return True
        t = t.head
    return False


# ---- passages and units ------------------------------------------------------------


@dataclass
class Unit:
    passage: int
    span: Span  # one sentence
    tokens: list[Token]  # content tokens
    quantities: list[L.Quantity]


@dataclass
class Passages:
    docs: list[Doc]
    units: list[Unit]
    names: set[str]
    tokens: list[Token] = field(default_factory=list)  # every content token, unit by unit
    token_unit: list[int] = field(default_factory=list)
    quantities: dict[tuple[int, int], L.Quantity] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    singles: int = 0  # units[:singles] are sentences; `pairs` are adjacent sentences of one passage
    pairs: list[tuple[int, int]] = field(default_factory=list)
    roles: list[L.Role] = field(default_factory=list)
    pair_units: list[Unit] = field(default_factory=list)
    surface: set[str] = field(default_factory=set)  # every word as written, symbol-joined ones split
    speakers: frozenset[str] = frozenset()  # the author's name words, when the passages say "I" or "we"


def prepare(passages: Sequence[str | Doc], speakers: Iterable[str] = ()) -> Passages:
    """Parse passages into sentence units for alignment. `speakers` are the
    lower-case name words of the passages' author (`metadata.author_words`):
    when the passages speak in the first person, a statement naming the author
    is aligned as the author's "I" (`as_speaker`)."""
    docs = [L.parse(p) if isinstance(p, str) else p for p in passages]
    units: list[Unit] = []
    for pi, d in enumerate(docs):
        for s in L.doc_sentences(d, attributions=True):
            span = d.char_span(s.start, s.end, alignment_mode="expand")
            if span is not None and any(L.is_content(t) for t in span):
                units.append(Unit(pi, span, [t for t in span if L.is_content(t)], L.quantities(span)))
    singles = len(units)
    names: set[str] = set()
    for d in docs:
        names |= L.names(d)
    ps = Passages(docs, units, names, texts=[d.text for d in docs], singles=singles)
    for ui, u in enumerate(units):
        ps.tokens.extend(u.tokens)
        ps.token_unit.extend([ui] * len(u.tokens))
        for q in u.quantities:
            ps.quantities[(u.passage, quantity_anchor(q, u.span.doc))] = q
    for k in range(singles - 1):
        a, b = units[k], units[k + 1]
        if a.passage == b.passage:
            ps.pairs.append((k, k + 1))
            span = a.span.doc[a.span.start : b.span.end]
            ps.pair_units.append(Unit(a.passage, span, a.tokens + b.tokens, a.quantities + b.quantities))
    ps.roles = [r for d in docs for r in L.roles(d)]
    ps.surface = {w for d in docs for t in d for w in (t.text, *pieces(t.text))}
    if any(t.lower_ in L.FIRST_PERSON for d in docs for t in d):
        written = {w.lower() for w in ps.surface}  # a name the passages write is aligned as written
        ps.speakers = frozenset(w.lower() for w in speakers) - written
    return ps


# ---- matching -------------------------------------------------------------------------

_KINDS = ("none", "exact", "number", "synonym", "related", "embedding", "antonym", "number-conflict")
_KIND = {k: i for i, k in enumerate(_KINDS)}


@dataclass(frozen=True)
class Match:
    score: float
    kind: str  # one of _KINDS
    token: Token | None


class Aligner:
    """Aligns clauses with passage units. `embed(texts) -> unit vectors` gives
    word and sentence embeddings (the tutor's sentence embedder); results are
    cached by text, so a passage set is embedded once."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], cache_size: int = 200_000):
        self._embed = embed
        self._cache: dict[str, np.ndarray] = {}
        self._size = cache_size

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            if len(self._cache) + len(todo) > self._size:
                self._cache.clear()
            for t, v in zip(todo, self._embed(todo), strict=True):
                self._cache[t] = np.asarray(v, dtype=np.float32)
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


class Grid:
    """Match scores and kinds of every statement token against every passage token."""

    def __init__(self, ctoks: list[Token], ps: Passages, aligner: Aligner):
        self.ctoks, self.ps = ctoks, ps
        n, m = len(ctoks), len(ps.tokens)
        self.score = np.zeros((n, m), dtype=np.float32)
        self.kind = np.zeros((n, m), dtype=np.int8)
        if not n or not m:
            return
        sims = aligner.vectors([L.lemma(t) for t in ctoks]) @ aligner.vectors([L.lemma(t) for t in ps.tokens]).T
        cdoc = ctoks[0].doc
        cq = {quantity_anchor(q, cdoc): q for q in L.quantities(cdoc[:])}
        pkeys = [keys(t) for t in ps.tokens]
        plem = [L.lemma(t) for t in ps.tokens]
        ppass = [ps.units[u].passage for u in ps.token_unit]
        for i, c in enumerate(ctoks):
            kc = keys(c)
            qc = cq.get(c.i)
            lc = L.lemma(c)
            cname = is_name(c)
            for j, p in enumerate(ps.tokens):
                qp = ps.quantities.get((ppass[j], p.i))
                if qc is not None or qp is not None:
                    if qc is not None and qp is not None:
                        if qc.matches(qp):
                            self.score[i, j], self.kind[i, j] = 1.0, _KIND["number"]
                        elif _comparable(qc, qp):
                            self.kind[i, j] = _KIND["number-conflict"]
                    elif kc & pkeys[j] and not (qc is not None and qc.value != 1.0):
                        self.score[i, j], self.kind[i, j] = 1.0, _KIND["exact"]
                    continue
                if kc & pkeys[j]:
                    self.score[i, j], self.kind[i, j] = 1.0, _KIND["exact"]
                    continue
                if cname or is_name(p):
                    if cname and is_name(p) and _derived_name(c.lower_, p.lower_):
                        self.score[i, j], self.kind[i, j] = 0.8, _KIND["related"]
                    continue  # names match only as written, or as a derived form
                lp = plem[j]
                if lexicon.opposed(lc, lp):
                    self.kind[i, j] = _KIND["antonym"]
                elif lexicon.synonyms(lc, lp):
                    self.score[i, j], self.kind[i, j] = 0.95, _KIND["synonym"]
                elif lexicon.related(lc, lp):
                    self.score[i, j], self.kind[i, j] = 0.8, _KIND["related"]
                else:
                    self.score[i, j], self.kind[i, j] = max(0.0, float(sims[i, j])) * 0.85, _KIND["embedding"]

    def best(self, i: int, cols: Sequence[int]) -> tuple[float, str, Token | None]:
        if not len(cols):
            return 0.0, "none", None
        j = cols[int(np.argmax(self.score[i, cols]))]
        s = float(self.score[i, j])
        return s, (_KINDS[int(self.kind[i, j])] if s > 0 else "none"), self.ps.tokens[j]


def _derived_name(a: str, b: str) -> bool:
    """One name is the other with a short ending ("Korea" and "Korean",
    "Koreans"; "Austria" and "Austrian"): a people or an adjective made of a
    place. Both at least four letters in common, the ending three at most."""
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short) and 0 < len(long_) - len(short) <= 3


def quantity_anchor(q: L.Quantity, doc: Doc) -> int:
    """The content token an amount is matched on: its number, or for "a quarter
    of an hour" (whose first token is "a") the first content word of it."""
    end = min(len(doc), q.token + len(q.text.split()) + 1)
    for t in doc[q.token : end]:
        if L.is_content(t):
            return t.i
    return q.token


def _comparable(a: L.Quantity, b: L.Quantity) -> bool:
    """Two amounts that answer the same question: the same kind of unit (or a
    bare number against anything), both ordinals or both not."""
    if a.ordinal != b.ordinal:
        return False
    if a.unit is None or b.unit is None or a.unit == b.unit:
        return True
    x, y = L._in_common_unit(a, b)
    return x is not None and y is not None


# ---- the alignment of a statement --------------------------------------------------


FEATURES = (
    "coverage",  # weighted share of the worst clause's words its best sentence matches
    "coverage_mean",  # the same, averaged over clauses
    "novel",  # weight of statement words no passage word matches
    "novel_max",  # the weightiest such word
    "misplaced",  # weight of words the passages have, but not in the clause's sentence
    "similarity",  # embedding similarity of the worst clause and its sentence
    "similarity_best",  # of the whole statement and its closest sentence
    "number_conflict",  # an amount where its sentence has another
    "number_novel",  # an amount the passages never state
    "name_novel",  # a name the passages never use
    "antonym",  # a word aligned with its opposite
    "polarity",  # an aligned predicate negated on one side only
    "negation_parity",  # the clause and its sentence differ in the parity of negations
    "comparison",  # a comparative or superlative the sentence does not back
    "restriction",  # "only", "all", "never" that the sentence lacks
    "cause",  # "because"/"so" that the sentence lacks
    "unbound",  # bound pairs of the statement that no passage sentence binds
    "unbound_share",
    "misplaced_single",  # misplaced, against the best single sentence
    "pair_gain",  # how much two adjacent sentences cover better than one
    "role_conflict",  # a verb's subject or object the passages give to another
    "clauses",
)
CAUSAL = frozenset("because since therefore thus hence so cause reason result lead due consequently".split())
_RESTRICTIVE = frozenset({"ONLY", "ALL", "NONE", "MOST"})


@dataclass
class ClauseFit:
    clause: Clause
    unit: Unit | None
    matches: list[Match]
    features: dict[str, float]


@dataclass
class Alignment:
    fits: list[ClauseFit]
    features: dict[str, float]
    unit: Unit | None  # the sentence backing the worst-backed clause (the evidence when it fails)
    notes: dict[str, list[str]] = field(default_factory=dict)  # which words set which feature


def align(statement: str | Doc, ps: Passages, aligner: Aligner) -> Alignment:
    """Align every clause of `statement` with its best sentence and measure the fit."""
    doc = L.parse(statement) if isinstance(statement, str) else statement
    told = as_speaker(doc, ps.speakers) if ps.speakers else None
    if told:
        doc = L.parse(told)
    cls = clauses(doc)
    f = dict.fromkeys(FEATURES, 0.0)
    if not cls or not ps.units:
        f["novel"] = float(sum(weight(t) for c in cls for t in c.tokens))
        return Alignment([], f, None)
    all_toks = list(dict.fromkeys(t for c in cls for t in c.tokens))
    grid = Grid(all_toks, ps, aligner)
    row = {t.i: r for r, t in enumerate(all_toks)}
    unit_cols = [[] for _ in ps.units]
    for j, ui in enumerate(ps.token_unit):
        unit_cols[ui].append(j)
    list(range(len(ps.tokens)))
    notes: dict[str, list[str]] = {}

    def note(name: str, what: str) -> None:
        notes.setdefault(name, []).append(what)

    # statement-wide: words the passages never match; names and amounts never stated
    best_any = grid.score.max(axis=1) if grid.score.size else np.zeros(len(all_toks))
    for r, t in enumerate(all_toks):
        if best_any[r] < SOFT:
            f["novel"] += weight(t)
            f["novel_max"] = max(f["novel_max"], weight(t))
            note("novel", t.text)
            if is_name(t) and L.lemma(t) not in ps.names and t.text not in ps.surface:
                f["name_novel"] += 1
                note("name_novel", t.text)
    for q in L.quantities(doc[:]):
        anchor = quantity_anchor(q, doc)
        if anchor in row and not any(q.matches(p) for p in ps.quantities.values()):
            r = row[anchor]
            if any(_KINDS[int(k)] == "number-conflict" for k in grid.kind[r]) or not ps.quantities:
                f["number_novel"] += 1
                note("number_novel", q.text)
    candidates = [(u, unit_cols[ui]) for ui, u in enumerate(ps.units)]
    candidates += [(u, unit_cols[a] + unit_cols[b]) for u, (a, b) in zip(ps.pair_units, ps.pairs, strict=True)]
    fits = []
    for c in cls:
        rows = [row[t.i] for t in c.tokens]
        w = np.array([weight(t) for t in c.tokens], dtype=np.float32)
        total = float(w.sum()) or 1.0
        covs = []
        for _, cols in candidates:
            covs.append(float((w * grid.score[np.ix_(rows, cols)].max(axis=1)).sum()) / total if cols else -1.0)
        single = int(np.argmax(covs[: len(ps.units)]))
        best = single
        for k in range(len(ps.units), len(candidates)):
            if covs[k] > covs[best] + 0.05:  # two sentences only when clearly better than one
                best = k
        unit, cols = candidates[best]
        fit = _fit(c, unit, rows, cols, grid, w, best_any, aligner, note)
        fit.features["misplaced_single"] = _misplaced(c, rows, candidates[single][1], grid, w, best_any)
        fit.features["pair_gain"] = covs[best] - covs[single]
        fits.append(fit)
    for name in ("coverage", "similarity"):
        f[name] = float(min(x.features[name] for x in fits))
    f["coverage_mean"] = float(np.mean([x.features["coverage"] for x in fits]))
    f["misplaced_single"] = float(sum(x.features["misplaced_single"] for x in fits))
    f["pair_gain"] = float(max(x.features["pair_gain"] for x in fits))
    f["role_conflict"] = float(_role_conflicts(doc, ps, note))
    for name in ("misplaced", "number_conflict", "antonym", "polarity", "negation_parity", "comparison",
                 "restriction", "cause"):
        f[name] = float(sum(x.features[name] for x in fits))
    pairs, broken = _unbound(doc, all_toks, grid, ps, note)
    f["unbound"] = float(broken)
    f["unbound_share"] = broken / pairs if pairs else 0.0
    vecs = aligner.vectors([doc.text] + [u.span.text for u in ps.units])
    f["similarity_best"] = float((vecs[1:] @ vecs[0]).max())
    f["clauses"] = float(len(fits))
    worst = min(fits, key=lambda x: x.features["coverage"])
    return Alignment(fits, f, worst.unit, notes)


def _fit(clause, unit, rows, cols, grid, w, best_any, aligner, note) -> ClauseFit:
    f: dict[str, float] = {}
    matches = []
    for r in rows:
        s, kind, tok = grid.best(r, cols)
        matches.append(Match(s, kind, tok))
    scores = np.array([m.score for m in matches], dtype=np.float32)
    total = float(w.sum()) or 1.0
    f["coverage"] = float((w * scores).sum()) / total
    f["misplaced"] = _misplaced(clause, rows, cols, grid, w, best_any)
    vecs = aligner.vectors([clause.text, unit.span.text])
    f["similarity"] = float(vecs[0] @ vecs[1])
    f["number_conflict"] = f["antonym"] = f["polarity"] = f["comparison"] = 0.0
    for k, (t, m) in enumerate(zip(clause.tokens, matches, strict=True)):
        r = rows[k]
        kinds = {_KINDS[int(grid.kind[r, j])] for j in cols}
        if m.score < 0.85:
            if is_number(t) and "number-conflict" in kinds:
                f["number_conflict"] += 1
                note("number_conflict", t.text)
            elif "antonym" in kinds and best_any[r] < 0.85 and not _negated_opposite(t, grid, r, cols):
                f["antonym"] += 1
                note("antonym", t.text)
        if m.token is not None and m.score >= 0.75 and t.pos_ in _PREDICATE_POS and m.kind != "embedding":
            if _polarity_differs(t, m.token, r, cols, grid, m.score):
                f["polarity"] += 1
                note("polarity", t.text)
        if t.tag_ in ("JJR", "RBR", "JJS", "RBS") and m.score < 0.85:
            f["comparison"] += 1
            note("comparison", t.text)
    window = _window(unit, matches)
    c_neg = (clause.negations + clause.flipped) % 2
    u_neg = L.negation_count(window) % 2
    opposite = sum(1 for r in rows if best_any[r] < 0.85 and _opposed_in(grid, r, cols))
    f["negation_parity"] = float((c_neg + u_neg + opposite) % 2 == 1)
    if f["negation_parity"]:
        note("negation_parity", clause.text)
    c_classes = L.quantifiers(clause.head.doc[:]) & _RESTRICTIVE
    u_classes = L.quantifiers(unit.span) & _RESTRICTIVE
    f["restriction"] = float(len(c_classes - u_classes))
    c_lemmas = {L.lemma(t) for t in clause.head.doc}
    f["cause"] = float(bool(c_lemmas & CAUSAL) and not ({L.lemma(t) for t in unit.span} & CAUSAL))
    return ClauseFit(clause, unit, matches, f)


def _polarity_differs(t: Token, best: Token, r: int, cols, grid: Grid, score: float) -> bool:
    """Is `t` negated where its match is not (or the reverse)? Every passage
    word that matches as well as the best one and sits in the same place (the
    same role under a head of the same lemma) is a candidate ("never negotiate
    out of fear, but never fear to negotiate" has two "negotiate"), else the
    best match: one of the same polarity is enough."""
    neg = L.negated(t)
    same = [grid.ps.tokens[j] for j in cols
            if grid.score[r, j] >= score and _KINDS[int(grid.kind[r, j])] != "embedding"]
    # of several, the ones in the same place: the same role under a head of the same lemma
    placed = [p for p in same if p.dep_ == t.dep_ and L.lemma(p.head) == L.lemma(t.head)]
    return all(L.negated(p) != neg for p in placed or [best])


def _misplaced(clause: Clause, rows, cols, grid: Grid, w, best_any) -> float:
    """Weight of the clause's words that the passages have (strong matches)
    but that the clause's sentence does not match."""
    out = 0.0
    sub = grid.score[np.ix_(rows, cols)].max(axis=1) if cols else np.zeros(len(rows))
    for k in range(len(rows)):
        if sub[k] < SOFT and best_any[rows[k]] >= STRONG:
            out += float(w[k])
    return out


def _same(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two role fillers (sets of content lemmas) name the same thing: a shared
    lemma or stem, or a WordNet synonym."""
    if not a or not b:
        return False
    sa = {L.stem(x) for x in a} | set(a)
    sb = {L.stem(x) for x in b} | set(b)
    return bool(sa & sb) or any(lexicon.synonyms(x, y) for x in a for y in b)


def _role_conflicts(doc: Doc, ps: Passages, note) -> int:
    """Clauses whose who-does-what-to-whom the passages state with another
    filler: the passages have the clause's verb with its object (or subject)
    but always with another subject (or object), and never as the clause has
    it; or they have subject and object the other way round ("leadership
    copes with complexity" where management copes with complexity and
    leadership with change)."""
    out = 0
    for r in L.roles(doc):
        if not r.subject or not r.objects:
            continue
        if _other_agent(r, ps):
            out += 1
            note("role_conflict", f"{r.verb}: {sorted(r.subject)} / {sorted(r.objects)}")
            continue
        same_verb = [p for p in ps.roles if _same(frozenset({r.verb}), frozenset({p.verb}))]
        if not same_verb:
            continue
        backed = any(_same(r.subject, p.subject) and _same(r.objects, p.objects) for p in same_verb)
        if backed:
            continue
        reversed_ = any(_same(r.subject, p.objects) and _same(r.objects, p.subject) for p in same_verb)
        other_subject = any(_same(r.objects, p.objects) and p.subject and not _same(r.subject, p.subject)
                            for p in same_verb)
        other_object = any(_same(r.subject, p.subject) and p.objects and not _same(r.objects, p.objects)
                           for p in same_verb)
        if reversed_ or (other_subject and other_object):
            out += 1
            note("role_conflict", f"{r.verb}: {sorted(r.subject)} / {sorted(r.objects)}")
    return out


def _other_agent(r: L.Role, ps: Passages) -> bool:
    """A named agent where the passages name another: "Brightwater made the
    lens" where the lens was "ground by the Halloran workshop" (the
    same or a related verb, the same object, a subject naming someone else) and
    never by the one the clause names."""
    names = r.subject & ps.names
    if not names:
        return False
    verb = frozenset({r.verb})
    alike = [p for p in ps.roles
             if (_same(verb, frozenset({p.verb})) or lexicon.related(r.verb, p.verb)) and _same(r.objects, p.objects)]
    if any(_same(r.subject, p.subject) for p in alike):
        return False
    return any(p.subject & ps.names and not (p.subject & names) for p in alike)


def _opposed_in(grid: Grid, r: int, cols: Sequence[int]) -> bool:
    """The clause word's best counterpart in the sentence is its antonym, and it
    has no better match there."""
    if not len(cols):
        return False
    kinds = grid.kind[r, cols]
    scores = grid.score[r, cols]
    return bool((kinds == _KIND["antonym"]).any()) and float(scores.max()) < 0.85


def _negated_opposite(t: Token, grid: Grid, r: int, cols: Sequence[int]) -> bool:
    """An antonym under a negation on one side only says the same ("not
    required" = "optional"): not a conflict by itself."""
    for j in cols:
        if grid.kind[r, j] == _KIND["antonym"]:
            if L.negated(t) != L.negated(grid.ps.tokens[j]):
                return True
    return False


def _window(unit: Unit, matches: list[Match]) -> Span:
    idx = [m.token.i for m in matches if m.token is not None and m.score >= SOFT and m.token.doc is unit.span.doc
           and unit.span.start <= m.token.i < unit.span.end]
    span = unit.span
    if not idx:
        return span
    return span.doc[max(span.start, min(idx) - 4) : min(span.end, max(idx) + 3)]


# ---- binding: who does what to whom --------------------------------------------------


def content_distance(a: Token, b: Token, limit: int = 6) -> int:
    """Content words on the parse path from `a` to `b` in one sentence (a
    function word on the way, such as a preposition, costs nothing, nor does
    a step between conjuncts); `limit` + 1 when farther or not in one sentence."""
    if a.doc is not b.doc or a.sent.start != b.sent.start:
        return limit + 1
    up: dict[int, int] = {}
    t, d = a, 0
    while True:
        up[t.i] = d
        if t.head.i == t.i or d > limit:
            break
        d += _cost(t)
        t = t.head
    t, d = b, 0
    while d <= limit:
        if t.i in up:
            return up[t.i] + d
        if t.head.i == t.i:
            break
        d += _cost(t)
        t = t.head
    return limit + 1


def _cost(child: Token) -> int:
    return 0 if child.dep_ in ("conj", "punct", "cc", "appos") or not L.is_content(child) else 1


def _unbound(doc: Doc, toks: list[Token], grid: Grid, ps: Passages, note) -> tuple[int, int]:
    """Pairs of statement words close in its parse (at most two content words
    apart) whose words the passages both have (strong matches), and of those,
    how many no passage sentence holds close together (within three). Swapped
    roles ("leaders plan" where managers plan), an amount moved to another
    noun, a modifier moved to another word break such pairs; a paraphrase
    mostly keeps them."""
    pairs = broken = 0
    strong = [[ps.tokens[j] for j in np.nonzero(grid.score[r] >= STRONG)[0]] for r in range(len(toks))]
    for a in range(len(toks)):
        for b in range(a + 1, len(toks)):
            if not strong[a] or not strong[b]:
                continue
            ta, tb = toks[a], toks[b]
            if keys(ta) & keys(tb) or content_distance(ta, tb) > 2:
                continue
            together = [(x, y) for x in strong[a] for y in strong[b]
                        if x.i != y.i and x.doc is y.doc and x.sent.start == y.sent.start]
            if not together:
                continue  # the passages state them in different sentences: not evidence of a swap
            pairs += 1
            if not any(content_distance(x, y) <= 3 for x, y in together):
                broken += 1
                note("unbound", f"{ta.text}-{tb.text}")
    return pairs, broken


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
