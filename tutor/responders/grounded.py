"""The grounded responder: answers built from the article's own sentences.

It needs no LLM. An answer is one to four retrieved sentences in the article's
order, each followed by its citation number, then one short question that
invites the learner to think further. When retrieval falls below the relevance
floor the question is declined and the reply names what the article does cover.
Deterministic, fast, and grounded by construction.
"""

from __future__ import annotations

import time

from tutor import language as L
from tutor.chunking import is_back_matter
from tutor.premise import question_premise
from tutor.reply import THINK_FURTHER, Reply
from tutor.responders.evidence import cite, rank_sentences, select_for_asks
from tutor.responders.metadata import retrieved_authors
from tutor.retrieve import HybridRetriever, Retrieval


class GroundedResponder:
    name = "grounded"

    def __init__(self, retriever: HybridRetriever, topics=None, follow_up=None, scorer=None):
        """`topics(doc_id)` lists what a document covers (for declines);
        `follow_up(doc_id, said_text, said_before, asked=question)` proposes a
        question to think further;
        `scorer()` returns the support scorer used to catch false premises."""
        self.retriever = retriever
        self._topics = topics
        self._follow_up = follow_up
        self._scorer = scorer

    def explain(
        self, question: str, *, doc_id: str | None = None, k: int | None = None,
        retrieval: Retrieval | None = None, mode: str = "explain", said_before: tuple[str, ...] = (),
    ) -> Reply:
        """The answer to `question` with citations, or a decline; its "Think
        further" question is not one the tutor already posed (`said_before`:
        the session's earlier tutor turns)."""
        started = time.perf_counter()
        about = self.about_article(question, doc_id, mode)
        if about is not None:
            about.latency_ms = (time.perf_counter() - started) * 1000
            return about
        retrieval = retrieval or self.retriever.search(question, k=k, doc_id=doc_id)
        reply = self._answer(question, retrieval, mode, said_before) if retrieval.covered else None
        if reply is None:
            reply = self.decline(retrieval, doc_id, mode)
        reply.latency_ms = (time.perf_counter() - started) * 1000
        return reply

    def _answer(self, question: str, retrieval: Retrieval, mode: str,
                said_before: tuple[str, ...] = ()) -> Reply | None:
        """The answer from the retrieved passages; None when their best evidence
        is only labels (`_states`: the article names the topic, answers nothing)
        or gives no name, date or amount that the question asks for (`_asks_a_fact`)."""
        ranked = rank_sentences(retrieval)
        correction, contrary = self.premise_correction(question, retrieval)
        pinned = _contradicting(ranked, contrary, question) if contrary else []
        asks = L.question_asks(retrieval.focus or retrieval.query)
        evidence = select_for_asks(retrieval, ranked, asks, self.retriever.index.embedder.embed, pinned=pinned)
        if not pinned and evidence and not any(_states(retrieval, e) for e in evidence):
            return None
        if not pinned and evidence and _asks_a_fact(retrieval) and not any(-1 in e.serves for e in evidence):
            return None  # "Who built the tower?" answered by no name: the article does not say
        citations, numbers = cite(retrieval, evidence)
        sentences = [(e.text, [n]) for e, n in zip(evidence, numbers, strict=True)]
        body = " ".join(f"{text} [{n}]" for text, (n,) in sentences)
        if correction:
            body = f"{correction} {body}"
        follow = self.follow_up(retrieval, evidence, said_before)
        return Reply(
            answer=f"{body}\n\n{follow}" if follow else body,
            declined=False,
            mode=mode,
            citations=citations,
            sentences=sentences,
        )

    def about_article(self, question: str, doc_id: str | None, mode: str) -> Reply | None:
        """A question about the article itself (author, date, topic, sections),
        answered from its metadata; None for any other question. With several
        articles and none chosen, it is about the one retrieval finds."""
        from tutor.responders import metadata

        if metadata.kind_of(question) is None:
            return None
        snapshot = self.retriever.index.snapshot()
        if doc_id is None and len(snapshot.documents) > 1:
            found = self.retriever.search(question, k=1)
            doc_id = found.hits[0].chunk.doc_id if found.hits else None
        return metadata.answer(question, snapshot, doc_id, mode)

    def premise_correction(self, question: str, retrieval: Retrieval) -> tuple[str | None, str | None]:
        """If the question takes for granted what the article contradicts, the
        correction to say and the article's text that contradicts it."""
        premise = question_premise(question)
        if premise is None or self._scorer is None:
            return None, None
        passages = [retrieval.snapshot.evidence_text(h.chunk) for h in retrieval.hits]
        # the author is the article's "I": "Quill asks" is no wrong attribution of "I ask"
        result = self._scorer().score(premise, passages, retrieved_authors(retrieval))
        if result.supported or result.reason not in CONTRADICTIONS:
            return None, None
        text = f'Careful: the article does not say that {premise.rstrip(".")}. Here is what it says:'
        return text, result.evidence

    def decline(self, retrieval: Retrieval, doc_id: str | None, mode: str) -> Reply:
        return Reply(answer=decline_text(retrieval, doc_id, self._topics), declined=True, mode=mode)

    def follow_up(self, retrieval: Retrieval, evidence, said_before: tuple[str, ...] = ()) -> str:
        if self._follow_up is not None and evidence:
            proposed = self._follow_up(evidence[0].doc_id, " ".join(e.text for e in evidence), said_before,
                                       asked=retrieval.query)
            if proposed:
                return f"{THINK_FURTHER}{proposed}"
        return f"{THINK_FURTHER}how would you put this in your own words, with an example you know?"


CONTRADICTIONS = {"role swap", "negation mismatch", "quantity mismatch", "wrong attribution"}
def _states(retrieval: Retrieval, e) -> bool:
    """Does the evidence sentence say something: it has a verb, it gives
    what the question's form asks for (a date, a name) or an amount ("10 grams
    of salt or 2%")? A bare label ("Humility.", "Unitary matrix") names a topic and
    answers nothing: when the best evidence is only labels, the article does
    not answer the question."""
    if -1 in e.serves:
        return True
    span = retrieval.snapshot.parsed(e.doc_id).span(e.number) if e.number >= 0 else L.parse(e.text)[:]
    return any(t.pos_ in ("VERB", "AUX") for t in span) or bool(L.quantities(span))


_FACTS = frozenset({"PERSON", "TIME", "AMOUNT"})  # not "where": "where do rights come from?" asks a source


def _asks_a_fact(retrieval: Retrieval) -> bool:
    """The question asks for a name, a date or an amount ("who", "when", "how
    many"): an answer must give one."""
    form = retrieval.form
    return form is not None and form.expects in _FACTS


def _contradicting(ranked, contrary: str, question: str) -> list:
    """What the article says instead of a false premise: the sentence the scorer
    aligned the premise with, and the one sharing most of the premise's terms."""
    pinned = [e for e in ranked if contrary in e.text or e.text in contrary][:1]
    ordered = L.terms(question_premise(question) or question)
    premise_terms, lead = set(ordered), set(ordered[:2])  # lead: subject and verb

    def fit(e) -> tuple[int, int]:
        terms = set(L.terms(e.text))
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
        key = " ".join(L.terms(h.text))
        if key and key not in seen and not is_back_matter((h.text,)):  # no "References" among the topics
            seen.add(key)
            out.append(h.text.rstrip(":"))
    return out
