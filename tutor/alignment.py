"""Align a statement with passage text and measure how well it is backed.

The support judge (`tutor.support`) and the reply assessor (`tutor.assess`)
both ask the same question: does this passage say what this statement says?
Both read the answer from one `Alignment`:

1. the statement is split into clauses along its parse (coordinated and
   subordinate clauses; "X says that ..." frames are dropped, "it is not true
   that ..." flips the polarity of what follows);
2. each clause is aligned with its best *unit* of the passages (a sentence,
   or two adjacent sentences of one passage): each content word of the clause
   goes to the unit word that matches it best - the same lemma or stem, the
   same amount (after unit conversion), a WordNet synonym or near relation, or
   failing all these a word whose embedding is close;
3. on that alignment, article-agnostic features are measured: how much of the
   clause is covered and how much is new, the sentence similarity, and the
   signs of a contradiction - a number, name or antonym in the place of
   another, a negation on one side only, a comparison turned around, an added
   "only"/"all" or "because", and roles swapped between who does what.

Written by hand because no library aligns a claim with evidence at this
grain; it reads everything from the language layer (`tutor.language`),
WordNet (`tutor.lexicon`) and the sentence embedder. How the features combine
into a verdict is fitted, not written here (`tutor/models/`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from spacy.tokens import Doc, Span, Token

from tutor import language as L
from tutor import lexicon

SOFT = 0.5  # an aligned word needs at least this match score
_CAUSAL = frozenset("because since therefore thus hence so cause result lead due consequently".split())
_RESTRICTIVE_CLASSES = frozenset({"ONLY", "ALL", "NONE", "MOST"})
_RESTRICTIVE_WORDS = frozenset("only alone solely exclusively specifically first entirely completely merely".split())
_SAME_WORDS = frozenset("same identical equal equivalent unchanged".split())
_CLAUSE_DEPS = frozenset({"conj", "advcl", "relcl", "ccomp", "parataxis", "acl"})
_TRUTH_WORDS = frozenset("true case false so".split())


# ---- weights --------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _rarity(word: str) -> float:
    """How much a word says: rare words more than common ones (wordfreq's Zipf
    scale, 7 = "the", 1 = very rare), between 0.3 and 1.5."""
    from wordfreq import zipf_frequency

    z = zipf_frequency(word, "en")
    return float(min(1.5, max(0.3, (7.0 - z) / 3.0)))


def weight(tok: Token) -> float:
    if tok.pos_ == "PROPN" or tok.ent_type_ in L.ENTITY_LABELS:
        return 1.5
    if tok.like_num or tok.pos_ == "NUM":
        return 1.2
    return _rarity(tok.lower_)


def keys(tok: Token) -> frozenset[str]:
    lem = L.lemma(tok)
    return frozenset({lem, L.stem(lem), tok.lower_.replace("’", "'")})


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
                        reporters[c.i] = [t for t in content if t.pos_ == "PROPN" or t.ent_type_ == "PERSON"]
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
    span: Span  # one sentence, or two adjacent ones
    tokens: list[Token]  # content tokens
    quantities: list[L.Quantity]


@dataclass
class Passages:
    docs: list[Doc]
    units: list[Unit]
    sentences: list[tuple[int, Span]]
    keys: dict[str, list[tuple[int, Token]]]  # key -> (unit index of the sentence, token)
    names: set[str]
    texts: list[str] = field(default_factory=list)


def prepare(passages: Sequence[str | Doc]) -> Passages:
    docs = [L.parse(p) if isinstance(p, str) else p for p in passages]
    sents: list[tuple[int, Span]] = []
    for pi, d in enumerate(docs):
        sents.extend((pi, s) for s in d.sents if any(L.is_content(t) for t in s))
    units: list[Unit] = []
    index: dict[str, list[tuple[int, Token]]] = {}
    for k, (pi, s) in enumerate(sents):
        units.append(_unit(pi, s))
        for t in units[-1].tokens:
            for key in keys(t):
                index.setdefault(key, []).append((k, t))
    for k in range(len(sents) - 1):
        (pa, a), (pb, b) = sents[k], sents[k + 1]
        if pa == pb:
            units.append(_unit(pa, a.doc[a.start : b.end]))
    names = set()
    for d in docs:
        names |= L.names(d)
    return Passages(docs, units, sents, index, names, [d.text for d in docs])


def _unit(pi: int, span: Span) -> Unit:
    return Unit(pi, span, [t for t in span if L.is_content(t)], L.quantities(span))


# ---- matching -------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    score: float
    kind: str  # exact, number, synonym, related, embedding, antonym, number-conflict, none
    token: Token | None


NONE = Match(0.0, "none", None)


class Aligner:
    """Aligns clauses with passage units. `embed(texts) -> unit vectors` gives
    word and sentence embeddings (the tutor's sentence embedder); results are
    cached by text, so a passage set is embedded once."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]):
        self._embed = embed
        self._cache: dict[str, np.ndarray] = {}

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            for t, v in zip(todo, self._embed(todo), strict=True):
                self._cache[t] = np.asarray(v, dtype=np.float32)
            if len(self._cache) > 200_000:
                self._cache.clear()
                return self.vectors(texts)
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def word_sims(self, a: list[Token], b: list[Token]) -> np.ndarray:
        if not a or not b:
            return np.zeros((len(a), len(b)), dtype=np.float32)
        la = [L.lemma(t) for t in a]
        lb = [L.lemma(t) for t in b]
        return self.vectors(la) @ self.vectors(lb).T


def _quantity_of(tok: Token, qs: dict[int, L.Quantity]) -> L.Quantity | None:
    return qs.get(tok.i)


def match(c: Token, p: Token, sim: float, cq: L.Quantity | None, pq: L.Quantity | None) -> Match:
    if cq is not None or pq is not None:
        if cq is not None and pq is not None:
            return Match(1.0, "number", p) if cq.matches(pq) else Match(0.0, "number-conflict", p)
        if keys(c) & keys(p):
            return Match(1.0, "exact", p)
        return NONE
    if keys(c) & keys(p):
        return Match(1.0, "exact", p)
    lc, lp = L.lemma(c), L.lemma(p)
    if lexicon.antonyms(lc, lp):
        return Match(0.0, "antonym", p)
    if lexicon.synonyms(lc, lp):
        return Match(0.95, "synonym", p)
    if lexicon.related(lc, lp):
        return Match(0.85, "related", p)
    return Match(max(0.0, float(sim)) * 0.8, "embedding", p)


# ---- the alignment of a statement --------------------------------------------------


FEATURES = (
    "coverage", "unsupported", "similarity", "similarity_best", "number_conflict", "name_conflict",
    "antonym", "negation", "comparison", "restriction", "cause", "broken_pairs", "length", "clauses",
)
_KINDS = ("none", "exact", "number", "synonym", "related", "embedding", "antonym", "number-conflict")
_KIND = {k: i for i, k in enumerate(_KINDS)}


@dataclass
class ClauseFit:
    clause: Clause
    unit: Unit | None
    matches: list[Match]  # per clause token: its best match in the unit
    features: dict[str, float]


@dataclass
class Alignment:
    fits: list[ClauseFit]
    features: dict[str, float]
    unit: Unit | None  # the unit backing the worst-backed clause (the evidence when it fails)


class _Grid:
    """Match scores and kinds of every statement token against every passage token."""

    def __init__(self, ctoks: list[Token], ps: Passages, aligner: Aligner):
        self.ptoks = [t for u in ps.units[: len(ps.sentences)] for t in u.tokens]
        self.col = {
            (pi, t.i): j
            for j, (pi, t) in enumerate((u.passage, t) for u in ps.units[: len(ps.sentences)] for t in u.tokens)
        }
        n, m = len(ctoks), len(self.ptoks)
        self.score = np.zeros((n, m), dtype=np.float32)
        self.kind = np.zeros((n, m), dtype=np.int8)
        if not n or not m:
            return
        sims = aligner.word_sims(ctoks, self.ptoks)
        doc = ctoks[0].doc
        cq = {q.token: q for q in L.quantities(doc[:])}
        pq: dict[tuple[int, int], L.Quantity] = {}
        for u in ps.units[: len(ps.sentences)]:
            for q in u.quantities:
                pq[(u.passage, q.token)] = q
        pkeys = [keys(t) for t in self.ptoks]
        ppass = [u.passage for u in ps.units[: len(ps.sentences)] for _ in u.tokens]
        for i, c in enumerate(ctoks):
            kc = keys(c)
            qc = cq.get(c.i)
            lc = L.lemma(c)
            for j, p in enumerate(self.ptoks):
                qp = pq.get((ppass[j], p.i))
                if qc is not None or qp is not None:
                    if qc is not None and qp is not None:
                        ok = qc.matches(qp)
                        self.score[i, j], self.kind[i, j] = (1.0, _KIND["number"]) if ok else (0.0, _KIND["number-conflict"])
                    elif kc & pkeys[j]:
                        self.score[i, j], self.kind[i, j] = 1.0, _KIND["exact"]
                    continue
                if kc & pkeys[j]:
                    self.score[i, j], self.kind[i, j] = 1.0, _KIND["exact"]
                    continue
                if c.pos_ == "PROPN" or p.pos_ == "PROPN":
                    continue  # names match only as written
                lp = L.lemma(p)
                if lexicon.antonyms(lc, lp):
                    self.kind[i, j] = _KIND["antonym"]
                elif lexicon.synonyms(lc, lp):
                    self.score[i, j], self.kind[i, j] = 0.95, _KIND["synonym"]
                elif lexicon.related(lc, lp):
                    self.score[i, j], self.kind[i, j] = 0.75, _KIND["related"]
                else:
                    self.score[i, j], self.kind[i, j] = max(0.0, float(sims[i, j])) * 0.8, _KIND["embedding"]

    def columns(self, unit: Unit) -> list[int]:
        return [self.col[(unit.passage, t.i)] for t in unit.tokens if (unit.passage, t.i) in self.col]


def align(statement: str | Doc, ps: Passages, aligner: Aligner) -> Alignment:
    """Align every clause of `statement` with its best unit and measure the fit."""
    doc = L.parse(statement) if isinstance(statement, str) else statement
    cls = clauses(doc)
    if not cls or not ps.units:
        f = dict.fromkeys(FEATURES, 0.0)
        f["unsupported"] = float(sum(len(c.tokens) for c in cls))
        return Alignment([], f, None)
    all_toks = list(dict.fromkeys(t for c in cls for t in c.tokens))
    grid = _Grid(all_toks, ps, aligner)
    row_of = {t.i: r for r, t in enumerate(all_toks)}
    unit_cols = [grid.columns(u) for u in ps.units]
    fits = []
    for c in cls:
        rows = [row_of[t.i] for t in c.tokens]
        w = np.array([weight(t) for t in c.tokens], dtype=np.float32)
        total = float(w.sum()) or 1.0
        best = None
        for ui, cols in enumerate(unit_cols):
            if not cols:
                continue
            sub = grid.score[np.ix_(rows, cols)]
            cov = float((w * sub.max(axis=1)).sum()) / total
            if best is None or cov > best[0] + 1e-6 or (abs(cov - best[0]) <= 1e-6 and len(cols) < len(unit_cols[best[1]])):
                best = (cov, ui)
        if best is None:
            continue
        unit = ps.units[best[1]]
        fits.append(_fit(c, unit, rows, unit_cols[best[1]], grid, w, ps, aligner, doc))
    features = _combine(fits)
    vecs = aligner.vectors([doc.text] + [u.span.text for u in ps.units])
    features["similarity_best"] = float((vecs[1:] @ vecs[0]).max())
    features["clauses"] = float(len(fits))
    worst = min(fits, key=lambda f: f.features["coverage"]) if fits else None
    return Alignment(fits, features, worst.unit if worst else None)


def _fit(clause, unit, rows, cols, grid, w, ps, aligner, doc) -> ClauseFit:
    sub = grid.score[np.ix_(rows, cols)]
    kinds = grid.kind[np.ix_(rows, cols)]
    best_j = sub.argmax(axis=1)
    matches = []
    for r, j in enumerate(best_j):
        s = float(sub[r, j])
        matches.append(Match(s, _KINDS[int(kinds[r, j])] if s > 0 else "none", grid.ptoks[cols[j]] if s > 0 else None))
    f = dict.fromkeys(FEATURES, 0.0)
    scores = sub.max(axis=1)
    total = float(w.sum()) or 1.0
    f["coverage"] = float((w * scores).sum()) / total
    f["unsupported"] = float((w * (scores < SOFT)).sum())
    f["length"] = float(len(clause.tokens))
    vecs = aligner.vectors([clause.text, unit.span.text])
    f["similarity"] = float(vecs[0] @ vecs[1])
    ctoks = clause.tokens
    unit_names = any(t.pos_ == "PROPN" or t.ent_type_ in L.ENTITY_LABELS for t in unit.tokens)
    for r, c in enumerate(ctoks):
        good = scores[r] >= 0.85
        kinds_r = {_KINDS[int(k)] for k in kinds[r]}
        if not good and "antonym" in kinds_r:
            f["antonym"] += 1
        if c.like_num or c.pos_ == "NUM":
            if not good and ("number-conflict" in kinds_r):
                f["number_conflict"] += 1
        is_name = (c.pos_ == "PROPN" or c.ent_type_ in L.ENTITY_LABELS) and not c.like_num
        if is_name and scores[r] < 1.0 and L.lemma(c) not in ps.names:
            f["name_conflict"] += 1.0 if unit_names else 0.5
    # negation: an aligned predicate negated on one side only; parity of the clause and the unit
    for c, m in zip(ctoks, matches, strict=True):
        if m.token is not None and m.kind in ("exact", "synonym") and c.pos_ in ("VERB", "ADJ", "AUX", "NOUN"):
            if L.negated(c) != L.negated(m.token):
                f["negation"] += 1
    window = _window(unit, matches)
    if (clause.negations + clause.flipped) % 2 != L.negation_count(window) % 2:
        f["negation"] += 0.5
    for c, m in zip(ctoks, matches, strict=True):
        if c.tag_ in ("JJR", "RBR", "JJS", "RBS") and m.kind not in ("exact", "synonym"):
            f["comparison"] += 1
    c_words = {t.lower_ for t in doc}
    u_words = {t.lower_ for t in unit.span}
    if c_words & _SAME_WORDS and any(t.tag_ in ("JJR", "RBR") for t in unit.span):
        f["comparison"] += 1
    if u_words & _SAME_WORDS and any(t.tag_ in ("JJR", "RBR") for t in doc):
        f["comparison"] += 1
    c_classes = L.quantifiers(doc) & _RESTRICTIVE_CLASSES
    u_classes = L.quantifiers(window) & _RESTRICTIVE_CLASSES
    f["restriction"] = float(len(c_classes - u_classes)) + 0.5 * len((c_words & _RESTRICTIVE_WORDS) - u_words)
    f["cause"] = float(bool({L.lemma(t) for t in doc} & _CAUSAL) and not ({L.lemma(t) for t in unit.span} & _CAUSAL))
    f["broken_pairs"] = float(_broken_pairs(clause, rows, grid))
    return ClauseFit(clause, unit, matches, f)


def _window(unit: Unit, matches: list[Match]) -> Span:
    idx = [m.token.i for m in matches if m.token is not None and m.score >= SOFT and m.token.doc is unit.span.doc]
    span = unit.span
    if not idx:
        return span
    return span.doc[max(span.start, min(idx) - 4) : min(span.end, max(idx) + 3)]


_TIGHT = frozenset({"nsubj", "nsubjpass", "dobj", "amod", "compound", "nummod", "poss", "attr", "acomp",
                    "pobj", "npadvmod", "agent", "dative", "oprd", "quantmod", "appos"})


def tight_pairs(tokens: list[Token]) -> list[tuple[Token, Token]]:
    """Pairs of content words bound together by the parse: a modifier and its
    noun, a number and what it counts, a verb and its subject or object (through
    a preposition: "copes with complexity" binds copes-complexity), the subject
    and the complement of "be"."""
    have = {t.i for t in tokens}
    out = []
    for t in tokens:
        if t.dep_ not in _TIGHT:
            continue
        head = t.head
        if t.dep_ in ("pobj",) and head.dep_ in ("prep", "agent"):
            head = head.head
        if head.i in have and head.i != t.i:
            out.append((t, head))
        if t.dep_ in ("attr", "acomp") and head.lemma_ == "be":
            out.extend((t, s) for s in head.children if s.dep_ in ("nsubj", "nsubjpass") and s.i in have)
    return out


def tree_distance(a: Token, b: Token, limit: int = 4) -> int:
    """Edges between two tokens of one sentence (limit + 1 when farther or apart)."""
    if a.doc is not b.doc or a.sent.start != b.sent.start:
        return limit + 1
    up = {}
    t, d = a, 0
    while d <= limit:
        up[t.i] = d
        if t.head.i == t.i:
            break
        t, d = t.head, d + 1
    t, d = b, 0
    while d <= limit:
        if t.i in up:
            return up[t.i] + d
        if t.head.i == t.i:
            break
        t, d = t.head, d + 1
    return limit + 1


def _broken_pairs(clause: Clause, rows: list[int], grid) -> int:
    """Tight pairs of the clause (`tight_pairs`) whose words the passages do
    contain, but never bound together: in no sentence are an instance of one
    and an instance of the other within three edges of each other. Swapped
    roles ("leaders plan" where managers plan) and numbers or modifiers moved
    to another noun break such pairs; a paraphrase mostly keeps them."""
    pos = {t.i: r for t, r in zip(clause.tokens, rows, strict=True)}
    broken = 0
    for a, b in tight_pairs(clause.tokens):
        ra, rb = pos.get(a.i), pos.get(b.i)
        if ra is None or rb is None:
            continue
        alt_a = [grid.ptoks[j] for j in np.nonzero(grid.score[ra] >= 0.9)[0]]
        alt_b = [grid.ptoks[j] for j in np.nonzero(grid.score[rb] >= 0.9)[0]]
        if not alt_a or not alt_b:
            continue
        if not any(tree_distance(x, y) <= 3 for x in alt_a for y in alt_b if x.i != y.i or x.doc is not y.doc):
            broken += 1
    return broken


def _combine(fits: list[ClauseFit]) -> dict[str, float]:
    out = dict.fromkeys(FEATURES, 0.0)
    if not fits:
        return out
    for name in FEATURES:
        vals = [f.features[name] for f in fits]
        out[name] = float(min(vals)) if name in ("coverage", "similarity") else float(sum(vals))
    return out


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
