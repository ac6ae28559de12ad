"""Hybrid retrieval: dense (Chroma) + BM25 over the same chunks, fused with
reciprocal rank fusion, diversified with maximal marginal relevance, and gated
by a relevance floor that decides whether the article covers a question at all.

Deliberate simplifications: BM25 runs in memory over the whole snapshot (built
once per index version; fine up to ~10^5 chunks); the floor is a fixed cosine
threshold on the best chunk, calibrated on the seed's in- and out-of-scope
questions, with a lexical rescue for short keyword questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from tutor.chunking import Chunk
from tutor.index import Index, Snapshot, store_errors
from tutor.text import content_terms

RRF_K = 60
DENSE_FLOOR = 0.30  # best chunk cosine below this: the article does not cover the question
LEXICAL_RESCUE = 0.22  # ...unless the dense score is at least this and key terms match well


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
    query_vector: np.ndarray
    snapshot: Snapshot


class _Bm25:
    """BM25 over a snapshot's chunks, keyed by the snapshot version."""

    def __init__(self, snapshot: Snapshot):
        self.version = snapshot.version
        self.model = bm25s.BM25()
        corpus = [content_terms(c.text + " " + " ".join(c.heading_path)) or ["_"] for c in snapshot.chunks]
        self.model.index(corpus, show_progress=False)

    def scores(self, terms: list[str]) -> np.ndarray:
        return np.asarray(self.model.get_scores(terms), dtype=np.float32)


class HybridRetriever:
    """Dense + BM25 + RRF + MMR with a relevance floor."""

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

    def _bm25_for(self, snapshot: Snapshot) -> _Bm25:
        if self._bm25 is None or self._bm25.version != snapshot.version:
            self._bm25 = _Bm25(snapshot)
        return self._bm25

    def search(self, query: str, k: int | None = None, doc_id: str | None = None) -> Retrieval:
        k = k or self.k
        snapshot = self.index.snapshot()
        qvec = self.index.embedder.embed_one(query)
        if not snapshot.chunks:
            return Retrieval(query, [], False, 0.0, qvec, snapshot)
        allowed = np.ones(len(snapshot.chunks), dtype=bool)
        if doc_id is not None:
            allowed = np.array([c.doc_id == doc_id for c in snapshot.chunks])

        dense_rank = self._dense(snapshot, qvec, doc_id)
        terms = content_terms(query)
        bm25 = self._bm25_for(snapshot).scores(terms) if terms else np.zeros(len(allowed))
        bm25 = np.where(allowed, bm25, 0.0)
        lexical_rank = [int(i) for i in np.argsort(-bm25)[: self.candidates] if bm25[i] > 0]

        fused: dict[int, float] = {}
        for ranking in (dense_rank, lexical_rank):
            for r, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + r + 1)
        if not fused:
            return Retrieval(query, [], False, 0.0, qvec, snapshot)

        cand = list(fused)
        dense = snapshot.embeddings[cand] @ qvec
        top_bm25 = float(bm25.max()) or 1.0
        picked = self._mmr(snapshot, cand, fused, k)
        hits = [
            Hit(
                chunk=snapshot.chunks[i],
                score=round(fused[i] * (RRF_K + 1) / 2, 4),
                dense=float(dense[cand.index(i)]),
                lexical=float(bm25[i] / top_bm25),
            )
            for i in picked
        ]
        best_dense = float(dense.max())
        covered = best_dense >= self.floor or (
            best_dense >= LEXICAL_RESCUE and _term_coverage(terms, hits) >= 0.75
        )
        return Retrieval(query, hits, covered, best_dense, qvec, snapshot)

    def _dense(self, snapshot: Snapshot, qvec: np.ndarray, doc_id: str | None) -> list[int]:
        n = min(self.candidates, len(snapshot.chunks))
        where = {"doc_id": doc_id} if doc_id else None
        with store_errors(self.index.settings.chroma_url or str(self.index.settings.index_dir), "searching"):
            res = snapshot.collection.query(
                query_embeddings=[qvec], n_results=n, where=where, include=["distances"]
            )
        return [snapshot.position[i] for i in res["ids"][0] if i in snapshot.position]

    def _mmr(self, snapshot: Snapshot, cand: list[int], fused: dict[int, float], k: int) -> list[int]:
        """Maximal marginal relevance over fused scores: relevant but not redundant."""
        best = max(fused.values())
        rel = {i: fused[i] / best for i in cand}
        picked: list[int] = []
        pool = sorted(cand, key=lambda i: -rel[i])
        while pool and len(picked) < k:
            if not picked:
                choice = pool[0]
            else:
                sims = snapshot.embeddings[pool] @ snapshot.embeddings[picked].T
                redundancy = sims.max(axis=1)
                overlap = np.array([_overlap(snapshot.chunks[i], [snapshot.chunks[j] for j in picked]) for i in pool])
                gain = [
                    self.mmr_lambda * rel[i] - (1 - self.mmr_lambda) * max(redundancy[n], overlap[n])
                    for n, i in enumerate(pool)
                ]
                choice = pool[int(np.argmax(gain))]
            picked.append(choice)
            pool.remove(choice)
        return picked


def _overlap(chunk: Chunk, others: list[Chunk]) -> float:
    """Share of `chunk`'s characters that an already picked chunk of the same doc covers."""
    best = 0.0
    for o in others:
        if o.doc_id == chunk.doc_id:
            shared = min(chunk.end, o.end) - max(chunk.start, o.start)
            best = max(best, shared / max(1, chunk.end - chunk.start))
    return best


def _term_coverage(terms: list[str], hits: list[Hit]) -> float:
    if not terms or not hits:
        return 0.0
    text_terms = set(content_terms(hits[0].chunk.text))
    return sum(1 for t in set(terms) if t in text_terms) / len(set(terms))


class TutorRetriever(BaseRetriever):
    """LangChain face of the hybrid retriever; passages out of scope come back empty."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    hybrid: Any
    k: int = 4
    doc_id: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        result = self.hybrid.search(query, k=self.k, doc_id=self.doc_id)
        if not result.covered:
            return []
        return [
            LCDocument(
                page_content=h.chunk.text,
                metadata={
                    "chunk_id": h.chunk.chunk_id,
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "heading": h.chunk.heading,
                    "paragraph": h.chunk.paragraph,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                    "score": h.score,
                    "dense": h.dense,
                },
            )
            for h in result.hits
        ]
