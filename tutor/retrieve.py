"""Hybrid retrieval: dense + BM25 over the same chunks, plus each
candidate's best-matching sentence, fused by a weighted sum of calibrated
scores (cosines and BM25 scaled to the best candidate), diversified with
maximal marginal relevance; then whether the article covers the question at
all, decided by `tutor.coverage` from the evidence of the retrieved passages.

Everything about words comes from the language layer: BM25 indexes the chunks'
content lemmas (stored at ingest), the question is parsed once, and an
attribution frame ("according to X", "what does X say ...") is read off its
parse. Sentence vectors were computed at ingest (`tutor.parsed`), so a warm
question embeds only itself.

Deliberate simplification: BM25 and the dense search run in memory over the
whole snapshot (built once per index version; fine up to ~10^5 chunks). The
dense search is an exact matrix product over the snapshot's embeddings, which
the snapshot holds anyway (Chroma stores them): at 40,000 chunks it takes a
few milliseconds, where Chroma's approximate query took over 100 ms, and it
needs no round trip to a Chroma server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import bm25s
import numpy as np

from tutor import coverage, lexicon, ranking
from tutor import language as L
from tutor.chunking import Chunk
from tutor.embedder import embed_remembered
from tutor.index import Index, Snapshot
from tutor.injection import learner_question
from tutor.premise import strip_attribution

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

W_CHUNK, W_SENTENCE, W_LEXICAL = 0.3, 0.55, 0.15


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused, diversified relevance (higher is better)
    dense: float  # cosine similarity of the chunk to the query
    lexical: float  # BM25 score normalised to the best candidate (0..1)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage."""

    hit: int  # index into Retrieval.hits of its passage
    doc_id: str
    number: int  # sentence number in the document (`ParsedDocument.sentences`)
    start: int
    end: int
    text: str
    dense: float  # cosine to the question's focus


@dataclass(frozen=True)
class Retrieval:
    query: str
    hits: list[Hit]
    covered: bool
    best_dense: float
    query_vector: np.ndarray  # of `focus`
    snapshot: Snapshot
    focus: str = ""  # the query without attribution frames ("according to X")
    form: L.QuestionForm | None = None
    evidence: coverage.Evidence | None = None
    candidates: list[Candidate] = field(default_factory=list)
    word_vectors: Callable[[list[str]], np.ndarray] | None = None  # embeddings of single words
    ranked: list = field(default_factory=list)  # (candidate, features, probability), best first
    passage_features: dict = field(default_factory=dict)  # chunk id -> features of every pooled chunk

    def span(self, c: Candidate):
        """The parsed span of a candidate sentence."""
        return self.snapshot.parsed(c.doc_id).span(c.number)


class _Bm25:
    """BM25 over a snapshot's chunk lemmas, keyed by the snapshot version."""

    def __init__(self, snapshot: Snapshot):
        self.version = snapshot.version
        self.model = bm25s.BM25()
        corpus = [list(c.terms) or ["_"] for c in snapshot.chunks]
        self.model.index(corpus, show_progress=False)
        self.vocabulary = {t for terms in corpus for t in terms}
        self.vocabulary |= {t for d in snapshot.documents.values() for t in _author_terms(d)}
        self.vocabulary |= {L.stem(t) for t in self.vocabulary}
        self._docs: dict[str, set[str]] = {}

    def doc_vocabulary(self, snapshot: Snapshot, doc_id: str) -> set[str]:
        """One article's terms (and author names), made once per version: a
        question pinned to one article of a large library read every chunk."""
        got = self._docs.get(doc_id)
        if got is None:
            got = self._docs[doc_id] = _doc_vocabulary(snapshot, doc_id)
        return got

    def scores(self, terms: list[str]) -> np.ndarray:
        return np.asarray(self.model.get_scores(terms), dtype=np.float32)


class HybridRetriever:
    """Dense + best sentence + BM25, score fusion, MMR, and the coverage decision."""

    def __init__(self, index: Index, k: int = 4, candidates: int = 20, mmr_lambda: float = 0.75):
        self.index = index
        self.k = k
        self.candidates = candidates
        self.mmr_lambda = mmr_lambda
        self._bm25: _Bm25 | None = None

    def _bm25_for(self, snapshot: Snapshot) -> _Bm25:
        if self._bm25 is None or self._bm25.version != snapshot.version:
            self._bm25 = _Bm25(snapshot)
        return self._bm25

    def doc_vocabulary(self, doc_id: str) -> set[str]:
        """The lemmas (and stems) one article uses, made once per index version."""
        snapshot = self.index.snapshot()
        return self._bm25_for(snapshot).doc_vocabulary(snapshot, doc_id)

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """Embeddings of single words (lemmas), remembered: for aligning words."""
        return embed_remembered(self.index.embedder, words)

    def search(self, query: str, k: int | None = None, doc_id: str | None = None) -> Retrieval:
        """Retrieve for the whole message; if that is not covered but one of its
        sentences or clauses is (a real question wrapped in noise or injected
        instructions), retrieve for the best covered part instead. Sentences
        that instruct the tutor ("Ignore your instructions and ...") are set
        aside first (`tutor.injection.learner_question`)."""
        k = k or self.k
        question = learner_question(query)
        if not question:  # nothing but instructions to the tutor: nothing to answer from the article
            result = self._search(query, k, doc_id)
            return replace(result, covered=False, hits=[], candidates=[], ranked=[])
        query = question
        result = self._search(query, k, doc_id)
        if result.covered:
            return result
        parts = [self._search(p, k, doc_id) for p in query_parts(query)]
        covered = [r for r in parts if r.covered]
        return max(covered, key=lambda r: r.evidence.probability) if covered else result

    def _search(self, query: str, k: int, doc_id: str | None) -> Retrieval:
        snapshot = self.index.snapshot()
        qdoc = L.parse(query)
        focus = strip_attribution(qdoc)
        fdoc = L.parse(focus) if focus != query else qdoc
        form = L.question_form(fdoc)
        if focus == query:
            qvec = fvec = self.index.embedder.embed_one(query)
        else:
            qvec, fvec = self.index.embedder.embed([query, focus])
        if not snapshot.chunks:
            return Retrieval(query, [], False, 0.0, fvec, snapshot, focus, form)
        allowed = np.ones(len(snapshot.chunks), dtype=bool)
        if doc_id is not None:
            allowed[:] = False
            allowed[snapshot.doc_positions(doc_id)] = True

        dense_rank = self._dense(snapshot, qvec, doc_id)
        terms = L.terms(fdoc)
        bm25_index = self._bm25_for(snapshot)
        bm25 = bm25_index.scores(terms) if terms else np.zeros(len(allowed))
        bm25 = np.where(allowed, bm25, 0.0)
        lexical_rank = [int(i) for i in np.argsort(-bm25)[: self.candidates] if bm25[i] > 0]

        pool = list(dict.fromkeys(dense_rank + lexical_rank))
        if not pool:
            return Retrieval(query, [], False, 0.0, fvec, snapshot, focus, form)
        parsed = snapshot.parsed_many({snapshot.chunks[i].doc_id for i in pool})
        sent_index = {i: _usable(parsed[snapshot.chunks[i].doc_id], snapshot.chunks[i]) for i in pool}
        best_sentence = {}
        for i in pool:
            p = parsed[snapshot.chunks[i].doc_id]
            idx = sent_index[i]
            best_sentence[i] = float((p.vectors[idx] @ fvec).max()) if idx and p.vectors is not None else -1.0

        # Score fusion by the fitted passage model (`PASSAGE_FEATURES`): unlike
        # rank fusion it keeps how much better one passage is, which matters
        # on short, single-topic articles.
        top_bm25 = float(bm25.max()) or 1.0
        chunk_dense = {i: float(snapshot.embeddings[i] @ qvec) for i in pool}
        qwords = coverage.question_words(fdoc)
        pfeatures = {i: _passage_features(snapshot.chunks[i], chunk_dense[i], best_sentence[i],
                                          float(bm25[i]) / top_bm25, qwords, rank)
                     for rank, i in enumerate(sorted(pool, key=lambda j: -chunk_dense[j]))}
        model = passage_model()
        fused = {i: model.probability(pfeatures[i]) if model is not None
                 else W_CHUNK * chunk_dense[i] + W_SENTENCE * best_sentence[i] + W_LEXICAL * pfeatures[i]["bm25"]
                 for i in pool}
        picked = self._mmr(snapshot, list(fused), fused, k)
        hits = [
            Hit(chunk=snapshot.chunks[i], score=round(fused[i], 4), dense=chunk_dense[i],
                lexical=float(bm25[i] / top_bm25))
            for i in picked
        ]
        candidates = _candidates(hits, picked, parsed, sent_index, fvec)
        best_dense = max(max(chunk_dense.values()), max(best_sentence.values()))
        draft = Retrieval(query, hits, False, best_dense, fvec, snapshot, focus, form, None, candidates,
                          self.word_vectors)
        ranked = ranking.rank(draft)
        spans = [(c.doc_id, c.number, parsed[c.doc_id].span(c.number), c.dense)
                 for c in sorted(candidates, key=lambda c: (c.doc_id, c.number))]
        vocabulary = bm25_index.vocabulary if doc_id is None else bm25_index.doc_vocabulary(snapshot, doc_id)
        top_doc = parsed[snapshot.chunks[picked[0]].doc_id]
        article_cos = top_doc.vectors @ fvec if top_doc.vectors is not None else None
        features, window = coverage.measure(
            fdoc, form, spans, max(chunk_dense[i] for i in picked), vocabulary, self.word_vectors, article_cos
        )
        features["answer_p"] = ranked[0][2] if ranked else 0.0
        evidence = coverage.decide(features, window)
        return replace(draft, covered=evidence.covered, evidence=evidence, ranked=ranked,
                       passage_features={snapshot.chunks[i].chunk_id: f for i, f in pfeatures.items()})

    def _dense(self, snapshot: Snapshot, qvec: np.ndarray, doc_id: str | None) -> list[int]:
        """The chunks nearest the query, best first: an exact search over the
        snapshot's embeddings, already in memory (one matrix product; at
        40,000 chunks a few milliseconds, where the store's filtered
        approximate search took over 100 ms, or a round trip to a server)."""
        if doc_id is not None:
            where = snapshot.doc_positions(doc_id)
            scores = snapshot.embeddings[where] @ qvec
        else:
            where, scores = None, snapshot.embeddings @ qvec
        n = min(self.candidates, len(scores))
        if n == 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(where[t]) if where is not None else int(t) for t in top]

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


PASSAGE_FEATURES = ("chunk_cos", "sentence_cos", "bm25", "cover", "heading_cover", "dense_rank")
PASSAGE_MODEL = Path(__file__).with_name("models") / "passages.json"


def _passage_features(chunk: Chunk, chunk_cos: float, sentence_cos: float, bm25: float, qwords, rank: int) -> dict:
    """What the fitted passage model reads: the chunk's and its best sentence's
    cosines, BM25 scaled to the best candidate, the rarity-weighted share of the
    question's words the chunk (or its heading path) uses by lemma, stem or
    WordNet synonym, and the chunk's rank by cosine."""
    terms = set(chunk.terms)
    heading = {t for h in chunk.heading_path for t in L.terms(h)} if chunk.heading_path else set()
    weights = [coverage.rarity(t.lower_) for t in qwords]
    total = sum(weights) or 1.0
    stems = {id(terms): {L.stem(x) for x in terms}, id(heading): {L.stem(x) for x in heading}}

    def found(tok, pool) -> bool:
        lem = L.lemma(tok)
        return lem in pool or L.stem(lem) in stems[id(pool)] or any(lexicon.synonyms(lem, x) for x in pool)

    return {
        "chunk_cos": chunk_cos,
        "sentence_cos": sentence_cos,
        "bm25": bm25,
        "cover": sum(w for t, w in zip(qwords, weights, strict=True) if found(t, terms)) / total,
        "heading_cover": sum(w for t, w in zip(qwords, weights, strict=True) if heading and found(t, heading)) / total,
        "dense_rank": 1.0 / (1.0 + rank),
    }


_PASSAGE_MODEL: list = []


def passage_model():
    """The fitted passage scorer (`scripts/fit_retrieval.py`); None only while fitting the first one."""
    if not _PASSAGE_MODEL:
        from tutor.coverage import Model

        _PASSAGE_MODEL.append(Model.load(PASSAGE_MODEL) if PASSAGE_MODEL.is_file() else None)
    return _PASSAGE_MODEL[0]


def _usable(parsed, chunk: Chunk) -> list[int]:
    """The chunk's sentences that may be evidence on their own: not instructions
    to the tutor, and prose (a code line or a URL is no answer by itself; a
    sentence that leads into one may bring it along, `responders.evidence`);
    none of a reference list's (`Chunk.back_matter`)."""
    if chunk.back_matter:
        return []
    return [i for i in parsed.sentences_in(chunk.start, chunk.end)
            if i not in parsed.instructions and not parsed.is_code(i)]


def _candidates(hits, picked, parsed, sent_index, fvec) -> list[Candidate]:
    """Every sentence of the picked passages, once, with its cosine to the question."""
    seen, out = set(), []
    for h, i in enumerate(picked):
        chunk = hits[h].chunk
        p = parsed[chunk.doc_id]
        for n in sent_index[i]:
            if (chunk.doc_id, n) in seen:
                continue
            seen.add((chunk.doc_id, n))
            s = p.sentences[n]
            dense = float(p.vectors[n] @ fvec) if p.vectors is not None else 0.0
            out.append(Candidate(h, chunk.doc_id, n, s.start, s.end, s.text, dense))
    return out


def _doc_vocabulary(snapshot: Snapshot, doc_id: str) -> set[str]:
    terms = {t for i in snapshot.doc_positions(doc_id) for t in snapshot.chunks[i].terms}
    doc = snapshot.documents.get(doc_id)
    if doc is not None:
        terms |= _author_terms(doc)
    return terms | {L.stem(t) for t in terms}


def _author_terms(doc) -> set[str]:
    """The words of the article's author names (its metadata): the article
    speaks of its author as "I", so a question naming them names no stranger."""
    from tutor.responders.metadata import author_words

    return author_words(doc.meta or {})


def query_parts(query: str) -> list[str]:
    """Sentences of a multi-sentence message that could stand as questions."""
    parts = [s.text for s in L.sentences(query) if len(L.terms(s.text)) >= 2]
    return parts if len(parts) > 1 else []


def _overlap(chunk: Chunk, others: list[Chunk]) -> float:
    """Share of `chunk`'s characters that an already picked chunk of the same doc covers."""
    best = 0.0
    for o in others:
        if o.doc_id == chunk.doc_id:
            shared = min(chunk.end, o.end) - max(chunk.start, o.start)
            best = max(best, shared / max(1, chunk.end - chunk.start))
    return best
