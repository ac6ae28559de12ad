"""Hybrid retrieval: dense (Chroma) + BM25 over the same chunks, plus each
candidate's best-matching sentence, fused by a weighted sum of calibrated
scores (cosines and BM25 scaled to the best candidate), diversified with maximal marginal relevance, and gated
by a relevance floor that decides whether the article covers a question at all.

Deliberate simplifications: BM25 runs in memory over the whole snapshot (built
once per index version; fine up to ~10^5 chunks); the floor is a fixed cosine
threshold on the best chunk, calibrated on the seed's in- and out-of-scope
questions, with a lexical rescue for short keyword questions.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import bm25s
import numpy as np

from tutor.chunking import Chunk
from tutor.index import Index, Snapshot, store_errors
from tutor.text import Span, content_terms, split_sentences

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

W_CHUNK, W_SENTENCE, W_LEXICAL = 0.3, 0.55, 0.15
DENSE_FLOOR = 0.40  # best chunk/sentence cosine below this: the article does not cover it
LEXICAL_RESCUE = 0.30  # ...unless the cosine is at least this and its key terms all match
UNKNOWN_SHARE = 0.5  # a question whose key terms the articles mostly never use...
UNKNOWN_FLOOR = 0.60  # ...needs a clearly higher cosine to count as covered
# (as does a "what is/are X" question whose X the articles never name)
# Stems of words that a question can use about any topic: not counted as unknown.
GENERIC = frozenset(
    "happen get make come go take give put keep kind sort type thing way mean point part lot seem "
    "usual often realli actual exact much mani whole".split()
)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused, diversified relevance (higher is better)
    dense: float  # cosine similarity of the chunk to the query
    lexical: float  # BM25 score normalised to the best candidate (0..1)


@dataclass(frozen=True)
class Retrieval:
    query: str
    hits: list[Hit]
    covered: bool
    best_dense: float
    query_vector: np.ndarray  # of `focus`
    snapshot: Snapshot
    focus: str = ""  # the query without attribution frames ("according to Kotter")


class SentenceCache:
    """Sentence spans and embeddings of chunks, per index version.

    Retrieval ranks chunks also by their best sentence, and the grounded
    responder picks sentences; both read from here, so a warm question costs
    one query embedding."""

    def __init__(self, index: Index, max_items: int = 100_000):
        self._index = index  # the embedder is loaded on first use, not at start-up
        self.max_items = max_items
        self._spans: dict[tuple[str, str], list[Span]] = {}
        self._vecs: dict[tuple, np.ndarray] = {}
        self._lock = threading.Lock()

    def spans(self, version: str, chunk: Chunk) -> list[Span]:
        key = (version, chunk.chunk_id)
        spans = self._spans.get(key)
        if spans is None:
            spans = [
                s for s in split_sentences(chunk.text, offset=chunk.start, attributions=True)
                if len(content_terms(s.text)) >= 2
            ]
            self._spans[key] = spans
        return spans

    def vectors(self, version: str, items: list[tuple[str, Span]]) -> np.ndarray:
        keys = [(version, doc, s.start, s.end) for doc, s in items]
        with self._lock:
            missing = {k: s.text for k, (_, s) in zip(keys, items, strict=True) if k not in self._vecs}
        if missing:
            vecs = self._index.embedder.embed(list(missing.values()))
            with self._lock:
                if len(self._vecs) + len(missing) > self.max_items:
                    self._vecs.clear()
                self._vecs.update(zip(missing, vecs, strict=True))
        with self._lock:
            if not keys:
                return np.zeros((0, self._index.embedder.dim), dtype=np.float32)
            return np.stack([self._vecs[k] for k in keys])


class _Bm25:
    """BM25 over a snapshot's chunks, keyed by the snapshot version."""

    def __init__(self, snapshot: Snapshot):
        self.version = snapshot.version
        self.model = bm25s.BM25()
        corpus = [content_terms(c.text + " " + " ".join(c.heading_path)) or ["_"] for c in snapshot.chunks]
        self.model.index(corpus, show_progress=False)
        self.vocabulary = {t for terms in corpus for t in terms}

    def unknown_share(self, terms: list[str]) -> float:
        """Share of the query's content terms that no chunk contains; light
        verbs and vague nouns ("what happens", "what kind") name no topic, so
        they count neither way."""
        topical = set(terms) - GENERIC
        if not topical:
            return 0.0
        return sum(1 for t in topical if t not in self.vocabulary) / len(topical)

    def scores(self, terms: list[str]) -> np.ndarray:
        return np.asarray(self.model.get_scores(terms), dtype=np.float32)


class HybridRetriever:
    """Dense + best sentence + BM25, score fusion, MMR, and a relevance floor."""

    def __init__(
        self,
        index: Index,
        k: int = 4,
        candidates: int = 20,
        mmr_lambda: float = 0.75,
        floor: float = DENSE_FLOOR,
    ):
        self.index = index
        self.k = k
        self.candidates = candidates
        self.mmr_lambda = mmr_lambda
        self.floor = floor
        self._bm25: _Bm25 | None = None
        self.sentences = SentenceCache(index)

    def _bm25_for(self, snapshot: Snapshot) -> _Bm25:
        if self._bm25 is None or self._bm25.version != snapshot.version:
            self._bm25 = _Bm25(snapshot)
        return self._bm25

    def search(self, query: str, k: int | None = None, doc_id: str | None = None) -> Retrieval:
        """Retrieve for the whole message; if that is not covered but one of its
        sentences or clauses is (a real question wrapped in noise or injected
        instructions), retrieve for the best covered part instead."""
        k = k or self.k
        result = self._search(query, k, doc_id)
        if result.covered:
            return result
        parts = [self._search(p, k, doc_id) for p in query_parts(query)]
        covered = [r for r in parts if r.covered]
        return max(covered, key=lambda r: r.best_dense) if covered else result

    def _search(self, query: str, k: int, doc_id: str | None) -> Retrieval:
        snapshot = self.index.snapshot()
        focus = strip_attribution(query)
        if focus == query:
            qvec = fvec = self.index.embedder.embed_one(query)
        else:
            qvec, fvec = self.index.embedder.embed([query, focus])
        if not snapshot.chunks:
            return Retrieval(query, [], False, 0.0, qvec, snapshot)
        allowed = np.ones(len(snapshot.chunks), dtype=bool)
        if doc_id is not None:
            allowed = np.array([c.doc_id == doc_id for c in snapshot.chunks])

        dense_rank = self._dense(snapshot, qvec, doc_id)
        terms = content_terms(focus)
        bm25_index = self._bm25_for(snapshot)
        bm25 = bm25_index.scores(terms) if terms else np.zeros(len(allowed))
        bm25 = np.where(allowed, bm25, 0.0)
        lexical_rank = [int(i) for i in np.argsort(-bm25)[: self.candidates] if bm25[i] > 0]

        pool = list(dict.fromkeys(dense_rank + lexical_rank))
        if not pool:
            return Retrieval(query, [], False, 0.0, qvec, snapshot)
        best_sentence = self._best_sentence(snapshot, pool, fvec)

        # Score fusion: cosine of the chunk, of its best sentence, and BM25
        # scaled to the best candidate. Unlike rank fusion it keeps how much
        # better one passage is, which matters on short, single-topic articles.
        top_bm25 = float(bm25.max()) or 1.0
        chunk_dense = {i: float(snapshot.embeddings[i] @ qvec) for i in pool}
        fused = {
            i: W_CHUNK * chunk_dense[i] + W_SENTENCE * best_sentence[i] + W_LEXICAL * float(bm25[i]) / top_bm25
            for i in pool
        }
        cand = list(fused)
        dense = snapshot.embeddings[cand] @ qvec
        picked = self._mmr(snapshot, cand, fused, k)
        hits = [
            Hit(
                chunk=snapshot.chunks[i],
                score=round(fused[i], 4),
                dense=float(dense[cand.index(i)]),
                lexical=float(bm25[i] / top_bm25),
            )
            for i in picked
        ]
        best_dense = max(float(dense.max()), max(best_sentence.values()))
        unknown = bm25_index.unknown_share(terms)
        target = content_terms(asked_for(focus) or "")
        target_unknown = bool(target) and bm25_index.unknown_share(target) == 1.0
        covered = (best_dense >= self.floor or (
            best_dense >= LEXICAL_RESCUE and _term_coverage(terms, hits) >= 0.75
        )) and not ((unknown >= UNKNOWN_SHARE or target_unknown) and best_dense < UNKNOWN_FLOOR)
        return Retrieval(query, hits, covered, best_dense, fvec, snapshot, focus)

    def _best_sentence(self, snapshot: Snapshot, pool: list[int], qvec: np.ndarray) -> dict[int, float]:
        """Each candidate chunk's best sentence similarity to the query."""
        items, owner = [], []
        for i in pool:
            chunk = snapshot.chunks[i]
            for span in self.sentences.spans(snapshot.version, chunk):
                items.append((chunk.doc_id, span))
                owner.append(i)
        best = {i: -1.0 for i in pool}
        if items:
            sims = self.sentences.vectors(snapshot.version, items) @ qvec
            for i, sim in zip(owner, sims, strict=True):
                best[i] = max(best[i], float(sim))
        return best

    def _dense(self, snapshot: Snapshot, qvec: np.ndarray, doc_id: str | None) -> list[int]:
        n = min(self.candidates, len(snapshot.chunks))
        where = {"doc_id": doc_id} if doc_id else None
        with store_errors(self.index.settings.chroma_url or str(self.index.settings.index_dir), "searching"):
            res = snapshot.collection.query(
                query_embeddings=[qvec], n_results=n, where=where, include=["distances"]
            )
        return [snapshot.position[i] for i in res["ids"][0] if i in snapshot.position]

    def _mmr(self, snapshot: Snapshot, cand: list[int], fused: dict[int, float], k: int) -> list[int]:
        """Maximal marginal relevance: relevant, but no near-duplicates of what is picked.

        Relevance is the fused score scaled to 0..1 over the candidates; redundancy
        counts only near-duplicates (shared characters, or cosine above 0.85),
        because passages of one article are all on the same topic."""
        lo, hi = min(fused.values()), max(fused.values())
        rel = {i: (fused[i] - lo) / ((hi - lo) or 1.0) for i in cand}
        picked: list[int] = []
        pool = sorted(cand, key=lambda i: -rel[i])
        while pool and len(picked) < k:
            if not picked:
                choice = pool[0]
            else:
                sims = (snapshot.embeddings[pool] @ snapshot.embeddings[picked].T).max(axis=1)
                gain = [
                    self.mmr_lambda * rel[i]
                    - (1 - self.mmr_lambda)
                    * max(
                        float(np.clip((sims[n] - 0.85) / 0.15, 0, 1)),
                        _overlap(snapshot.chunks[i], [snapshot.chunks[j] for j in picked]),
                    )
                    for n, i in enumerate(pool)
                ]
                choice = pool[int(np.argmax(gain))]
            picked.append(choice)
            pool.remove(choice)
        return picked


_ATTRIBUTION_RES = (
    re.compile(r",?\s*\b(?:according to|in the view of|as argued by)\s+(?:Dr\.?\s+)?[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*", re.U),
    # "does Kotter say management copes..." but not "did Drucker say about ..." / "...say?"
    re.compile(r"\b(do|does|did)\s+(?:Dr\.?\s+)?[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*\s+(?:say|argue|think|claim|believe|write|suggest)s?\s+(?:that\s+)?(?!(?:about|of|on|for|in|to|with|by|at|from)\b)(?=\w+\s+\w)", re.U),
    re.compile(r"\bin\s+[A-Z][\w.-]*'s\s+(?:view|opinion|words|terms)\b,?\s*", re.U),
)
_PART_SPLIT_RE = re.compile(r";\s+|,?\s+and then\s+|,\s+then\s+", re.I)


def strip_attribution(query: str) -> str:
    """The question without who-said-it frames, which otherwise pull retrieval
    toward any sentence naming that person.

    >>> strip_attribution("What do leaders do, according to Kotter?")
    'What do leaders do?'
    >>> strip_attribution("What does Kotter say management copes with?")
    'What does management copes with?'
    >>> strip_attribution("What does Kotter argue?")
    'What does Kotter argue?'
    >>> strip_attribution("What did Peter Drucker say about management?")
    'What did Peter Drucker say about management?'
    >>> strip_attribution("Which position does John Kotter argue for?")
    'Which position does John Kotter argue for?'
    """
    focus = query
    for pattern in _ATTRIBUTION_RES:
        focus = pattern.sub(lambda m: f"{m.group(1)} " if m.lastindex else "", focus)
    focus = re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", focus)).strip()
    return focus if len(content_terms(focus)) >= 1 and focus != query.strip() else query


_ASKED_FOR_RE = re.compile(
    r"^\s*(?:what|which)\s+(?:is|are|was|were)\s+(?:the\s+|a\s+|an\s+)?(.+?)"
    r"(?:\s+(?:of|for|in|on|at|about|that|which|who|whom|according|to|between|from|with|within|"
    r"without|by|as|under|over|into|among|across|against|during|after|before|like|than|"
    r"do|does|did|is|are|was|were|can|could|should|would|will)\b.*?)?\s*[?.!]*\s*$",
    re.I,
)


def asked_for(question: str) -> str | None:
    """What a "what is/are X ..." question asks for: X without its possessor,
    or None for other questions. If an article never uses any word of X, it
    cannot say what X is, however much else of the question it matches.

    >>> asked_for("What are Kotter's eight steps for leading change?")
    'eight steps'
    >>> asked_for("What is the capital of France?")
    'capital'
    >>> asked_for("What are the three options participants get about the categories?")
    'three options participants get'
    >>> asked_for("How do leaders cope with change?") is None
    True
    """
    m = _ASKED_FOR_RE.match(question)
    if not m:
        return None
    kept = [w for w in m.group(1).split() if not re.search(r"['’]s?$", w)]
    return " ".join(kept) or None


def query_parts(query: str) -> list[str]:
    """Sentences and clauses of a multi-part message that could stand as questions."""
    parts = []
    for sentence in split_sentences(query):
        pieces = [p.strip() for p in _PART_SPLIT_RE.split(sentence.text) if p and p.strip()]
        parts.extend(pieces if len(pieces) > 1 else [sentence.text])
    parts = [p for p in parts if len(content_terms(p)) >= 2]
    return parts if len(parts) > 1 else []


def _overlap(chunk: Chunk, others: list[Chunk]) -> float:
    """Share of `chunk`'s characters that an already picked chunk of the same doc covers."""
    best = 0.0
    for o in others:
        if o.doc_id == chunk.doc_id:
            shared = min(chunk.end, o.end) - max(chunk.start, o.start)
            best = max(best, shared / max(1, chunk.end - chunk.start))
    return best


def _term_coverage(terms: list[str], hits: list[Hit]) -> float:
    """The largest share of the query's content terms found in one retrieved chunk."""
    if not terms or not hits:
        return 0.0
    wanted = set(terms)
    return max(len(wanted & set(content_terms(h.chunk.text))) / len(wanted) for h in hits)
