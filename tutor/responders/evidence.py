"""Sentence-level evidence: which sentences of the retrieved passages answer a
question, and how they are numbered as citations.

A sentence's score mixes its cosine similarity to the question with the share
of the question's content words it uses (by lemma, WordNet relation or word
embedding, weighted by rarity), and who-does-what: a sentence whose verb
matches the question's and whose subject is the question's subject ranks up,
one with the roles the other way round ("the coral gives the algae ..." for
"what do the algae give the coral?") ranks down. A sentence that opens with a
pronoun is read with the sentence before it. The answer is the best sentence,
the next one when it continues it (a lead-in ending in ':' or a sentence that
only echoes the question), and close runners-up that also serve the question
(about the same nouns and names, sharing enough of its words), one to four
sentences in the article's order.

Sentence embeddings and parses were made at ingest, so a warm question costs
one query embedding and one parse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tutor import coverage, lexicon
from tutor import language as L
from tutor.reply import Citation
from tutor.retrieve import Candidate, Hit, Retrieval

MAX_SENTENCES = 4
ROLE_BONUS, ROLE_PENALTY = 0.08, 0.2


@dataclass(frozen=True)
class Evidence:
    """One article sentence, where it sits, and how well it answers."""

    doc_id: str
    start: int
    end: int
    text: str
    hit: int  # index into Retrieval.hits of the passage it came from
    score: float
    follows: Candidate | None = None  # the next sentence, when this one only leads into it
    number: int = -1  # sentence number in the document
    lexical: float = 0.0  # weighted share of the question's content words it uses
    topical: float = 1.0  # share of the question's nouns and names it uses


def rank_sentences(retrieval: Retrieval, query: str | None = None) -> list[Evidence]:
    """All candidate sentences, best first (see the module docstring)."""
    cands = retrieval.candidates
    if not cands:
        return []
    snap = retrieval.snapshot
    qdoc = L.parse(query or retrieval.focus or retrieval.query)
    words = coverage.question_words(qdoc)
    weights = np.array([coverage.rarity(t.lower_) for t in words], dtype=np.float64)
    total = float(weights.sum()) or 1.0
    q_roles = L.roles(qdoc)
    nouns = [k for k, t in enumerate(words) if t.pos_ in ("NOUN", "PROPN")]
    word_vectors = retrieval.word_vectors
    qvecs = word_vectors([L.lemma(t) for t in words]) if words else None
    by_key = {(c.doc_id, c.number): c for c in cands}
    out = []
    for c in cands:
        parsed = snap.parsed(c.doc_id)
        span = parsed.span(c.number)
        toks = [t for t in span if L.is_content(t)]
        dense = c.dense
        prev = _antecedent(parsed, c.number, span)
        if prev is not None:
            toks += [t for t in parsed.span(prev) if L.is_content(t)]
            if parsed.vectors is not None:
                before = float(parsed.vectors[prev] @ retrieval.query_vector)
                dense = max(dense, (dense + before) / 2)
        lexical, topical = 0.0, 0.0 if nouns else 1.0
        if words and toks:
            sims = qvecs @ word_vectors([L.lemma(t) for t in toks]).T
            scores = [max(coverage.match_score(q, t, sims[a, b]) for b, t in enumerate(toks)) for a, q in enumerate(words)]
            lexical = float((weights * np.array(scores)).sum()) / total
            if nouns:
                topical = sum(1 for k in nouns if scores[k] >= 0.7) / len(nouns)
        score = 0.6 * dense + 0.4 * lexical - 0.01 * c.hit + _role_fit(q_roles, span)
        nxt = by_key.get((c.doc_id, c.number + 1))  # within the retrieved passages, so it is cited
        leads_in = c.text.rstrip().endswith(":") or (len(words) >= 2 and lexical >= 0.8 and _adds_little(span, qdoc))
        follows = nxt if leads_in and nxt is not None and _same_paragraph(parsed, c.number, nxt.number) else None
        out.append(Evidence(c.doc_id, c.start, c.end, c.text, c.hit, score, follows, c.number, lexical, topical))
    return sorted(out, key=lambda e: -e.score)


def _antecedent(parsed, number: int, span) -> int | None:
    """The sentence before, for a sentence whose subject is a pronoun (first, or
    after leading clauses without a subject: "When threatened, they ...")."""
    if number == 0 or not _same_paragraph(parsed, number - 1, number):
        return None
    for t in span:
        if t.dep_ in ("nsubj", "nsubjpass"):
            if t.pos_ == "PRON" and t.lower_ not in ("i", "we", "you") or t.lower_ in ("this", "these", "such"):
                return number - 1
            return None
    first = span[0] if len(span) else None
    if first is not None and first.lower_ in ("this", "these", "they", "it", "such"):
        return number - 1
    return None


def _same_paragraph(parsed, a: int, b: int) -> bool:
    if not (0 <= a < len(parsed.sentences) and 0 <= b < len(parsed.sentences)):
        return False
    return parsed._sent_para[a] == parsed._sent_para[b]


def _adds_little(span, qdoc) -> bool:
    """The sentence says hardly more than the question ("... all have one thing in common.")."""
    q = {L.lemma(t) for t in qdoc if L.is_content(t)}
    own = [t for t in span if L.is_content(t)]
    new = [t for t in own if L.lemma(t) not in q]
    return len(new) <= 2


def _role_fit(q_roles, span) -> float:
    """+ when the sentence has the question's verb with the question's subject,
    - when it has them the other way round (the question's object as subject)."""
    if not q_roles:
        return 0.0
    s_roles = L.roles(span)
    best = 0.0
    for q in q_roles:
        for s in s_roles:
            if not _same_word(q.verb, s.verb):
                continue
            if q.subject and _overlap(q.subject, s.subject):
                best = max(best, ROLE_BONUS)
            elif q.subject and q.objects and _overlap(q.objects, s.subject) and _overlap(q.subject, s.objects):
                return -ROLE_PENALTY
    return best


def _same_word(a: str, b: str) -> bool:
    return a == b or L.stem(a) == L.stem(b) or lexicon.synonyms(a, b)


def _overlap(a, b) -> bool:
    return any(_same_word(x, y) for x in a for y in b)


def select_evidence(
    ranked: list[Evidence], max_sentences: int = MAX_SENTENCES, pinned: list[Evidence] = ()
) -> list[Evidence]:
    """The best sentence, the one after it when it only leads into it, and close
    runners-up that also serve the question, in the article's order. `pinned`
    sentences are always included."""
    if not ranked:
        return []
    top = ranked[0]
    chosen = list(pinned) + ([top] if top not in pinned else [])
    if top.follows is not None:
        f = top.follows
        chosen.append(
            next((e for e in ranked if e.number == f.number and e.doc_id == top.doc_id), None)
            or Evidence(top.doc_id, f.start, f.end, f.text, top.hit, top.score, None, f.number)
        )
    for e in ranked[1:]:
        if len(chosen) >= max_sentences:
            break
        close = e.score >= max(0.8 * top.score, top.score - 0.1)
        # a runner-up is about the same things (every noun and name the question
        # uses that the best sentence also has) and shares enough of its words
        serves = e.lexical >= max(0.34, 0.6 * top.lexical) and e.topical >= min(1.0, top.topical)
        if close and serves and all(e.start != c.start or e.doc_id != c.doc_id for c in chosen):
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
