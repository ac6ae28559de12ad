"""Sentence-level evidence: which sentences of the retrieved passages answer a
question, and how they are numbered as citations.

Scoring mixes the sentence's cosine similarity to the question with the share of
the question's content terms it contains; sentence embeddings are cached per
index version, so a warm question costs one query embedding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.reply import Citation
from tutor.retrieve import Hit, Retrieval, SentenceCache
from tutor.text import Span, content_terms, split_sentences

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
    follows: Span | None = None  # the next sentence, when this one only echoes the question


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
    """All passage sentences, best first.

    A sentence that opens with a pronoun ("They focus backward...") is read with
    the sentence before it, whose subject it continues. A sentence that mostly
    echoes the question ("...all have one thing in common.") records the
    sentence that follows it in the paragraph, which usually holds the answer."""
    sents = passage_sentences(retrieval, cache)
    if not sents:
        return []
    vecs = cache.vectors(retrieval.snapshot.version, [(d, s) for _, d, s in sents])
    dense = vecs @ retrieval.query_vector
    q_terms = set(content_terms(query or retrieval.focus or retrieval.query))
    own_terms = [set(content_terms(s.text)) for _, _, s in sents]
    antecedents = _antecedents(retrieval, sents, cache)
    out = []
    for i, ((h, doc, s), d) in enumerate(zip(sents, dense, strict=True)):
        terms, d = own_terms[i], float(d)
        if i in antecedents:
            before, before_dense = antecedents[i]
            terms = terms | set(content_terms(before))
            d = max(d, (d + before_dense) / 2)
        lexical = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
        following = None
        if i + 1 < len(sents) and _same_paragraph(sents[i], sents[i + 1], retrieval):
            following = sents[i + 1][2]
        echo = len(q_terms) >= 2 and lexical >= 0.8 or s.text.rstrip().endswith(":")
        score = 0.6 * d + 0.4 * lexical - 0.01 * h
        out.append(Evidence(doc, s.start, s.end, s.text, h, score, following if echo else None))
    return sorted(out, key=lambda e: -e.score)


# a sentence whose subject is a pronoun, first or after subject-less leading
# clauses ("When threatened, instead of attending to ..., they may ..."); in
# "If change threatens leaders, they ..." the pronoun's antecedent is inside
_PRONOUN_START = re.compile(
    r"^\W*(?:(?:when|while|after|before|once|instead of|if)\s+\w+(?:ed|ing)\b[^.;]*?,\s*)*"
    r"(they|them|their|it|its|this|these|those|he|she|such)\b",
    re.I,
)


def _antecedents(retrieval: Retrieval, sents, cache: SentenceCache) -> dict[int, tuple[str, float]]:
    """For pronoun-led sentences: the sentence before them in the article
    (same paragraph) and its similarity to the query."""
    found: dict[int, tuple[str, Span, str]] = {}
    for i, (_, doc, s) in enumerate(sents):
        if not _PRONOUN_START.match(s.text):
            continue
        stored = retrieval.snapshot.documents.get(doc)
        if stored is None:
            continue
        window_start = max(0, s.start - 600)
        window = stored.text[window_start : s.start]
        before = split_sentences(window, offset=window_start)
        if before and "\n\n" not in stored.text[before[-1].end : s.start]:
            found[i] = (doc, before[-1], before[-1].text)
    if not found:
        return {}
    vecs = cache.vectors(retrieval.snapshot.version, [(doc, span) for doc, span, _ in found.values()])
    sims = vecs @ retrieval.query_vector
    return {i: (text, float(sim)) for (i, (_, _, text)), sim in zip(found.items(), sims, strict=True)}


def _same_paragraph(a, b, retrieval: Retrieval) -> bool:
    """Consecutive sentences of one passage with no paragraph break between them."""
    (ha, _, sa), (hb, _, sb) = a, b
    if ha != hb:
        return False
    chunk = retrieval.hits[ha].chunk
    return "\n\n" not in chunk.text[sa.end - chunk.start : sb.start - chunk.start]


def select_evidence(
    ranked: list[Evidence], max_sentences: int = MAX_SENTENCES, pinned: list[Evidence] = ()
) -> list[Evidence]:
    """The best sentence plus close runners-up, in the article's order; when the
    best one only echoes the question, the sentence after it comes along.
    `pinned` sentences are always included."""
    if not ranked:
        return []
    top = ranked[0].score
    chosen = list(pinned) + ([ranked[0]] if ranked[0] not in pinned else [])
    if ranked[0].follows is not None:
        f = ranked[0].follows
        chosen.append(
            next((e for e in ranked if e.start == f.start and e.doc_id == ranked[0].doc_id), None)
            or Evidence(ranked[0].doc_id, f.start, f.end, f.text, ranked[0].hit, top)
        )
    for e in ranked[1:]:
        if len(chosen) >= max_sentences:
            break
        if e.score >= max(0.8 * top, top - 0.12) and all(e.start != c.start for c in chosen):
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
