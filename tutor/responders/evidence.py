"""Sentence-level evidence: which sentences of the retrieved passages answer a
question, and how they are numbered as citations.

Scoring mixes the sentence's cosine similarity to the question with the share of
the question's content terms it contains; sentence embeddings are cached per
index version, so a warm question costs one query embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.reply import Citation
from tutor.retrieve import Hit, Retrieval, SentenceCache
from tutor.text import Span, content_terms

MAX_SENTENCES = 4


@dataclass(frozen=True)
class Evidence:
    """One article sentence, where it sits, and how well it answers."""

    doc_id: str
    start: int
    end: int
    text: str
    hit: int  # index into Retrieval.hits of the passage it came from
    score: float


def passage_sentences(retrieval: Retrieval, cache: SentenceCache) -> list[tuple[int, str, Span]]:
    """(hit index, doc_id, sentence span in doc offsets), each sentence once, body text only."""
    seen, out = set(), []
    for h, hit in enumerate(retrieval.hits):
        c = hit.chunk
        for s in cache.spans(retrieval.snapshot.version, c):
            key = (c.doc_id, s.start)
            if key not in seen:
                seen.add(key)
                out.append((h, c.doc_id, s))
    return out


def rank_sentences(retrieval: Retrieval, cache: SentenceCache, query: str | None = None) -> list[Evidence]:
    """All passage sentences, best first."""
    sents = passage_sentences(retrieval, cache)
    if not sents:
        return []
    vecs = cache.vectors(retrieval.snapshot.version, [(d, s) for _, d, s in sents])
    dense = vecs @ retrieval.query_vector
    q_terms = set(content_terms(query or retrieval.query))
    out = []
    for (h, doc, s), d in zip(sents, dense, strict=True):
        terms = set(content_terms(s.text))
        lexical = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
        score = 0.6 * float(d) + 0.4 * lexical - 0.01 * h
        out.append(Evidence(doc, s.start, s.end, s.text, h, score))
    return sorted(out, key=lambda e: -e.score)


def select_evidence(ranked: list[Evidence], max_sentences: int = MAX_SENTENCES) -> list[Evidence]:
    """The best sentence plus close runners-up, in the article's order."""
    if not ranked:
        return []
    top = ranked[0].score
    chosen = [ranked[0]]
    for e in ranked[1:]:
        if len(chosen) >= max_sentences:
            break
        if e.score >= max(0.8 * top, top - 0.12):
            chosen.append(e)
    return sorted(chosen, key=lambda e: (e.doc_id, e.start))


def cite(retrieval: Retrieval, evidence: list[Evidence]) -> tuple[list[Citation], list[int]]:
    """Number the passages that evidence comes from, in order of first use.

    Returns the citations and, per evidence sentence, its citation number."""
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    per_sentence = []
    for e in evidence:
        if e.hit not in numbers:
            hit: Hit = retrieval.hits[e.hit]
            numbers[e.hit] = len(numbers) + 1
            citations.append(
                Citation(
                    n=numbers[e.hit],
                    doc_id=hit.chunk.doc_id,
                    title=hit.chunk.title,
                    text=hit.chunk.text,
                    score=hit.dense,
                    chunk_id=hit.chunk.chunk_id,
                    start=hit.chunk.start,
                    end=hit.chunk.end,
                    heading=hit.chunk.heading,
                )
            )
        citation = citations[numbers[e.hit] - 1]
        citation.highlights.append((e.start, e.end))
        per_sentence.append(numbers[e.hit])
    return citations, per_sentence
