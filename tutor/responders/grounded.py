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

from tutor import language as L
from tutor.chunking import is_back_matter
from tutor.reply import THINK_FURTHER, Reply
from tutor.responders.evidence import cite, rank_sentences, select_for_asks
from tutor.responders.metadata import retrieved_authors
from tutor.retrieve import HybridRetriever, Retrieval


class GroundedResponder:
    name = "grounded"

    def __init__(self, retriever: HybridRetriever, topics=None, follow_up=None, scorer=None):
        """`topics(doc_id)` lists what a document covers (for declines);
        `follow_up(doc_id, said_text)` proposes a question to think further;
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
            proposed = self._follow_up(evidence[0].doc_id, " ".join(e.text for e in evidence), said_before)
            if proposed:
                return f"{THINK_FURTHER}{proposed}"
        return f"{THINK_FURTHER}how would you put this in your own words, with an example you know?"


CONTRADICTIONS = {"role swap", "negation mismatch", "quantity mismatch", "wrong attribution"}
_LEAD_MARKS = frozenset({"since", "because", "as", "if", "given"})
_PREMISE_WH = frozenset({"why", "how"})
_LEARNER = frozenset({"i", "we", "you"})


def question_premise(question: str) -> str | None:
    """The statement a question takes for granted, if it has one, read off its
    parse: a leading "since/because/given that X," clause; the clause of a
    why/how question ("Why does X do Y?" takes "X do Y" for granted); the
    clause of a wh-question whose subject is a name ("What did X argue in
    Y?"); the one statement before the question in a two-sentence message
    ("X promised Y. Which part ...?"). A reporting frame ("does X say that
    ...") is dropped; a premise about "that/this/it" (pointing back in the
    dialogue) is none.

    >>> question_premise("Since leaders plan and budget, what do managers do?")
    'leaders plan and budget'
    >>> question_premise("What does the article say about budgets?") is None
    True
    >>> question_premise("Why is that option appealing?") is None
    True
    >>> question_premise("How do I install the fonts on Windows?") is None
    True
    """
    from tutor.retrieve import strip_attribution

    doc = L.parse(question)
    sents = list(doc.sents)
    if len(sents) != 1:
        return _stated_before(sents)
    toks = [t for t in doc if not t.is_space]
    if not toks:
        return None
    # "Since X, what ...?"
    first = toks[0].lower_
    if first in _LEAD_MARKS:
        head = toks[0].head
        if head.dep_ == "advcl":
            body = [t for t in head.subtree if t.i != toks[0].i and not (t.lower_ == "that" and t.i == toks[0].i + 1)]
            return _premise_text(body)
    focus = L.parse(strip_attribution(doc))
    ft = [t for t in focus if not t.is_punct]
    if not ft:
        return None
    wh = ft[0].lower_
    root = focus[:].root
    if wh in _PREMISE_WH and len(ft) > 2:
        after_aux = next((t for t in ft[1:] if t.pos_ != "AUX" and t.dep_ != "neg"), None)
        if after_aux is not None and after_aux.lower_ in ("that", "this", "these", "those", "it", "they", "he", "she"):
            return None  # "Why is that option appealing?" points back into the dialogue
        body = [t for t in ft[1:]]
        if body and body[0].lower_ in ("come",):
            body = body[1:]
        body = _declarative(body)
        return _premise_text(body)
    if wh in ("what", "which", "whom", "who") and root.pos_ == "VERB":
        subj = [c for c in root.children if c.dep_ == "nsubj"]
        if subj and any(x.pos_ == "PROPN" for x in subj[0].subtree) and ft[0].dep_ in ("dobj", "pobj", "det"):
            body = [t for t in ft if t.i not in {x.i for x in ft[0].head.subtree} or t.i in {x.i for x in root.subtree}]
            body = [t for t in body if t.i != ft[0].i and not (t.dep_ == "aux" and t.lemma_ == "do")]
            if ft[0].dep_ == "det":
                noun = ft[0].head
                body = [t for t in body if t.i not in {x.i for x in noun.subtree}]
            return _premise_text(body)
    return None


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


def _declarative(body):
    """'does X do Y' -> 'X do Y'; 'is X Y' -> 'X is Y'; "doesn't X rise" -> 'X does not rise':
    the auxiliary goes after the subject's noun phrase."""
    if not body or body[0].pos_ != "AUX":
        return body
    aux, rest = body[0], body[1:]
    negs = [t for t in rest if t.dep_ == "neg" and t.head.i in (aux.i, aux.head.i) and t.i <= aux.i + 1]
    rest = [t for t in rest if t not in negs]
    chunk = next((c for c in aux.doc.noun_chunks if rest and c.start == rest[0].i), None)
    if chunk is None:
        return rest if aux.lemma_ == "do" and not negs else body
    subject = [t for t in rest if chunk.start <= t.i < chunk.end]
    tail = [t for t in rest if t.i >= chunk.end]
    middle = ([aux] if aux.lemma_ != "do" or negs else []) + negs
    return subject + middle + tail


def _stated_before(sents) -> str | None:
    """A message that states something and then asks ("X promised Y. Which
    part ...?"): the one statement before the question is its premise. A
    sentence addressed to the tutor ("SYSTEM: from now on, state ...") is no
    statement about the article, and the tutor does not repeat it."""
    from tutor.injection import is_instruction

    if len(sents) != 2 or not sents[1].text.rstrip().endswith("?"):
        return None
    stated = sents[0]
    root = stated.root
    if stated.text.rstrip().endswith("?") or is_instruction(stated) or re.search(r"[<>\[\]{}|#]", stated.text):
        return None
    if root.tag_ == "VB" or not any(c.dep_ in ("nsubj", "nsubjpass") for c in root.children):
        return None  # an imperative ("Tell me ...", "state that ...") or no clause
    return _premise_text(list(stated))


def _premise_text(tokens) -> str | None:
    words = [t for t in tokens if not t.is_punct or t.text in ("-", "'")]
    text = ""
    for k, t in enumerate(words):
        glue = k == 0 or t.text.startswith(("'", "’")) or t.text == "-" or (k and words[k - 1].text == "-")
        text += ("" if glue else " ") + ("not" if t.lower_ in ("n't", "n’t") else t.text)
    text = text.strip(" ,")
    if len(text.split()) < 3 or len(L.terms(text)) < 2:
        return None
    first = words[0] if words else None
    if first is not None and first.lower_ in L.PRONOUNS and first.lower_ not in ("one",):
        return None  # "that option", "it": the premise points back into the dialogue
    if first is not None and first.lower_ in _LEARNER:
        return None  # "How do I install X?" asks for a way to do it; it claims nothing about the article's world
    return text


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
