"""The grounded responder: answers built from the article's own sentences.

It needs no LLM. An answer is one to four retrieved sentences in the article's
order, each followed by its citation number, then one short question that
invites the learner to think further. When retrieval falls below the relevance
floor the question is declined and the reply names what the article does cover.
Deterministic, fast, and grounded by construction.
"""

from __future__ import annotations

import time

from tutor.reply import Reply
from tutor.responders.evidence import cite, rank_sentences, select_evidence
from tutor.retrieve import HybridRetriever, Retrieval
from tutor.text import content_terms


class GroundedResponder:
    name = "grounded"

    def __init__(self, retriever: HybridRetriever, topics=None, follow_up=None):
        """`topics(doc_id)` lists what a document covers (for declines);
        `follow_up(doc_id, evidence)` proposes a question to think further."""
        self.retriever = retriever
        self.cache = retriever.sentences
        self._topics = topics
        self._follow_up = follow_up

    def explain(
        self, question: str, *, doc_id: str | None = None, k: int | None = None,
        retrieval: Retrieval | None = None, mode: str = "explain",
    ) -> Reply:
        started = time.perf_counter()
        retrieval = retrieval or self.retriever.search(question, k=k, doc_id=doc_id)
        if not retrieval.covered:
            reply = self.decline(retrieval, doc_id, mode)
        else:
            evidence = select_evidence(rank_sentences(retrieval, self.cache))
            citations, numbers = cite(retrieval, evidence)
            sentences = [(e.text, [n]) for e, n in zip(evidence, numbers, strict=True)]
            body = " ".join(f"{text} [{n}]" for text, (n,) in sentences)
            follow = self.follow_up(retrieval, evidence)
            reply = Reply(
                answer=f"{body}\n\n{follow}" if follow else body,
                declined=False,
                mode=mode,
                citations=citations,
                sentences=sentences,
            )
        reply.latency_ms = (time.perf_counter() - started) * 1000
        return reply

    def decline(self, retrieval: Retrieval, doc_id: str | None, mode: str) -> Reply:
        return Reply(answer=decline_text(retrieval, doc_id, self._topics), declined=True, mode=mode)

    def follow_up(self, retrieval: Retrieval, evidence) -> str:
        if self._follow_up is not None and evidence:
            proposed = self._follow_up(evidence[0].doc_id, evidence)
            if proposed:
                return f"Think further: {proposed}"
        return "Think further: how would you put this in your own words, with an example you know?"


def decline_text(retrieval: Retrieval, doc_id: str | None, topics=None) -> str:
    docs = retrieval.snapshot.documents
    chosen = [docs[doc_id]] if doc_id in docs else list(docs.values())
    if not chosen:
        return "There is no article in the index yet, so I can't answer that. Run `tutor ingest` first."
    parts = []
    for d in chosen[:5]:
        listed = (topics(d.doc_id) if topics else None) or _headings(d)
        about = "; ".join(listed[:6])
        parts.append(f'"{d.title}" ({about})' if about else f'"{d.title}"')
    return (
        "The article doesn't cover that, so I won't guess. "
        f"What it does cover: {', '.join(parts)}. Ask me about any of those."
    )


def _headings(doc) -> list[str]:
    seen, out = set(), []
    for h in doc.headings:
        key = " ".join(content_terms(h.text))
        if key and key not in seen:
            seen.add(key)
            out.append(h.text.rstrip(":"))
    return out
