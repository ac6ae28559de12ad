"""The grounded responder: answers built from the article's own sentences.

It needs no LLM. An answer is one to four retrieved sentences in the article's
order, each followed by its citation number, then one short question that
invites the learner to think further. When retrieval falls below the relevance
floor the question is declined and the reply names what the article does cover.
Deterministic, fast, and grounded by construction.
"""

from __future__ import annotations

import re
import time

from tutor.reply import Reply
from tutor.responders.evidence import cite, rank_sentences, select_evidence
from tutor.retrieve import HybridRetriever, Retrieval
from tutor.text import content_terms, split_sentences


class GroundedResponder:
    name = "grounded"

    def __init__(self, retriever: HybridRetriever, topics=None, follow_up=None, scorer=None):
        """`topics(doc_id)` lists what a document covers (for declines);
        `follow_up(doc_id, said_text)` proposes a question to think further;
        `scorer()` returns the support scorer used to catch false premises."""
        self.retriever = retriever
        self.cache = retriever.sentences
        self._topics = topics
        self._follow_up = follow_up
        self._scorer = scorer

    def explain(
        self, question: str, *, doc_id: str | None = None, k: int | None = None,
        retrieval: Retrieval | None = None, mode: str = "explain",
    ) -> Reply:
        started = time.perf_counter()
        retrieval = retrieval or self.retriever.search(question, k=k, doc_id=doc_id)
        if not retrieval.covered:
            reply = self.decline(retrieval, doc_id, mode)
        else:
            ranked = rank_sentences(retrieval, self.cache)
            correction, contrary = self.premise_correction(question, retrieval)
            pinned = _contradicting(ranked, contrary, question) if contrary else []
            evidence = select_evidence(ranked, pinned=pinned)
            citations, numbers = cite(retrieval, evidence)
            sentences = [(e.text, [n]) for e, n in zip(evidence, numbers, strict=True)]
            body = " ".join(f"{text} [{n}]" for text, (n,) in sentences)
            if correction:
                body = f"{correction} {body}"
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

    def premise_correction(self, question: str, retrieval: Retrieval) -> tuple[str | None, str | None]:
        """If the question takes for granted what the article contradicts, the
        correction to say and the article's text that contradicts it."""
        premise = question_premise(question)
        if premise is None or self._scorer is None:
            return None, None
        result = self._scorer().score(premise, [h.chunk.text for h in retrieval.hits])
        if result.supported or result.reason not in CONTRADICTIONS:
            return None, None
        text = f'Careful: the article does not say that {premise.rstrip(".")}. Here is what it says:'
        return text, result.evidence

    def decline(self, retrieval: Retrieval, doc_id: str | None, mode: str) -> Reply:
        return Reply(answer=decline_text(retrieval, doc_id, self._topics), declined=True, mode=mode)

    def follow_up(self, retrieval: Retrieval, evidence) -> str:
        if self._follow_up is not None and evidence:
            proposed = self._follow_up(evidence[0].doc_id, " ".join(e.text for e in evidence))
            if proposed:
                return f"Think further: {proposed}"
        return "Think further: how would you put this in your own words, with an example you know?"


CONTRADICTIONS = {"role swap", "negation mismatch", "quantity mismatch", "wrong attribution"}
_PREMISE_RE = re.compile(
    r"^\s*(?:why|how|in what way|since when|how come)\s+"
    r"(?:(?:do|does|did|is|are|was|were|can|could|would|should|has|have|had)\s+)?(.+?)\s*\?*\s*$",
    re.IGNORECASE,
)
_REPORTING_RE = re.compile(
    r"^(?:[A-Z][\w.]*\s+){1,3}(?:say|says|said|argue|argues|claim|claims|think|thinks|write|writes)\s+(?:that\s+)?"
    r"(?!(?:about|of|on|for|in|to|with|by|at|from)\b)"
)
# "What did John Kotter argue in his 2005 study?" takes "John Kotter argued in his
# 2005 study" for granted: a named subject and a verb after what/which + auxiliary.
_WH_PREMISE_RE = re.compile(
    r"^\s*(?:[Ww]hat|[Ww]hich|[Ww]hom|[Ww]ho)\s+(?:do|does|did)\s+((?:[A-Z][\w.'-]*\s+){1,3}\w+\s+.+?)\s*\?*\s*$"
)
_DANGLING = re.compile(r"^(?:that|this|it|they|those|these|he|she)\b", re.IGNORECASE)
_LEAD_CLAUSE_RE = re.compile(r"^\s*(?:since|given that|because|as|if)\s+([^,]+),", re.IGNORECASE)


def question_premise(question: str) -> str | None:
    """The statement a question takes for granted, if it has one.

    >>> question_premise("Why does Kotter say leadership copes with complexity?")
    'leadership copes with complexity'
    >>> question_premise("Since leaders plan and budget, what do managers do?")
    'leaders plan and budget'
    >>> question_premise("What does management cope with?") is None
    True
    >>> question_premise("What did John Kotter argue in his 2005 study?")
    'John Kotter argue in his 2005 study'
    >>> question_premise("Why is that option appealing?") is None
    True
    """
    if len(split_sentences(question)) != 1:
        return None
    lead = _LEAD_CLAUSE_RE.match(question)
    m = _PREMISE_RE.match(question) or _WH_PREMISE_RE.match(question)
    premise = lead.group(1) if lead else m.group(1) if m else None
    if premise is None or len(premise.split()) < 3 or _DANGLING.match(premise):
        return None
    return _REPORTING_RE.sub("", premise.strip())


def _contradicting(ranked, contrary: str, question: str) -> list:
    """What the article says instead of a false premise: the sentence the scorer
    aligned the premise with, and the one sharing most of the premise's terms."""
    pinned = [e for e in ranked if contrary in e.text or e.text in contrary][:1]
    ordered = content_terms(question_premise(question) or question)
    premise_terms, lead = set(ordered), set(ordered[:2])  # lead: subject and verb

    def fit(e) -> tuple[int, int]:
        terms = set(content_terms(e.text))
        return len(premise_terms & terms), len(lead & terms)

    others = [e for e in ranked if e not in pinned]
    if others and premise_terms:
        best = max(others, key=fit)
        if fit(best)[0] >= 2:
            pinned.append(best)
    return pinned


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
