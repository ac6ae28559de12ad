"""Questions about the article itself, answered from what the article says
about itself: its author, date, source, what it is about and its sections.

"Who wrote this?", "When was it published?", "What is this article about?" and
"What are the main sections?" have no answer in any one passage; they have one
in the article's metadata (byline, front matter, the page's author and date
tags, as the loader found them) and its heading list. The answer cites where
it comes from. A summary is the article's own description when it has one,
else its most central sentences (closest to the mean of all its sentence
embeddings), quoted and cited like any evidence.

Recognising such a question reads its parse: a question word about a person,
a time, a topic or the parts, and a word naming the text itself ("article",
"text", "post", "paper", "chapter", "this") or its author. The word lists are
small closed classes of English, not an article's vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tutor import language as L
from tutor.reply import Citation, Reply

# words that name the text a learner is reading
TEXT_WORDS = frozenset(
    "article text piece post page paper chapter document essay story report book speech entry blog "
    "guide recipe tutorial proposal address lecture".split()
)
_AUTHOR_VERBS = frozenset("write author compose create pen publish produce".split())
_AUTHOR_NOUNS = frozenset("author writer creator byline".split())
_TIME_VERBS = frozenset("publish write date post release appear".split())
_TOPIC_NOUNS = frozenset("topic subject point theme gist summary idea".split())
_TOPIC_VERBS = frozenset("summarize summarise cover discuss describe explain".split())
_PART_NOUNS = frozenset("section part heading chapter".split())


@dataclass(frozen=True)
class MetaAnswer:
    kind: str  # author, date, summary, sections
    doc_id: str


def kind_of(question: str) -> str | None:
    """'author', 'date', 'summary' or 'sections' for a question about the text itself."""
    doc = L.parse(question)
    lemmas = {L.lemma(t) for t in doc}
    lower = {t.lower_ for t in doc}
    about_text = bool(lemmas & (TEXT_WORDS | _AUTHOR_NOUNS | _PART_NOUNS)) or "this" in lower or "it" in lower
    if not about_text:
        return None
    content = [L.lemma(t) for t in doc if L.is_content(t) and L.lemma(t) not in TEXT_WORDS]
    form = L.question_form(doc)
    root = doc[:].root
    names_author = form.wh in ("who", "whom", "whose") and bool(lemmas & _AUTHOR_VERBS)
    is_author = root.lemma_ == "be" and form.wh in ("who", "what") and bool(lemmas & _AUTHOR_NOUNS)
    if names_author or is_author:
        return "author" if len(content) <= 3 else None
    if form.wh == "when" and lemmas & _TIME_VERBS and len(content) <= 2:
        return "date"
    if lemmas & _PART_NOUNS and form.wh in ("what", "which", "how") and len(content) <= 3:
        return "sections"
    subject_is_text = any(t.dep_ in ("nsubj", "nsubjpass") and (L.lemma(t) in TEXT_WORDS or t.lower_ in ("it", "this"))
                          for t in doc)
    if form.wh == "what" and root.lemma_ == "be" and (
        "about" in lower and subject_is_text and len(content) <= 2 or lemmas & _TOPIC_NOUNS and len(content) <= 3
    ):
        return "summary"
    if lemmas & _TOPIC_VERBS and len(content) <= 2 and form.wh in ("what", None):
        return "summary"
    return None


def authors(meta: dict) -> list[str]:
    found: list[str] = []
    for key in ("author", "authors", "by", "byline", "creator"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            found.extend(_split_names(value))
        elif isinstance(value, list | tuple):
            found.extend(str(v).strip() for v in value if str(v).strip())
        if found:
            break
    return list(dict.fromkeys(re.sub(r"^\s*by\s+", "", n, flags=re.I).strip(" ,;") for n in found if n.strip()))


def author_words(meta: dict) -> set[str]:
    """The lower-cased words of the article's author names ("Dr. Mara Quill" ->
    dr, mara, quill): the article speaks of its author as "I"."""
    return {w.lower() for name in authors(meta) for w in re.findall(r"[^\W\d_]{2,}", name)}


def retrieved_authors(retrieval) -> frozenset[str]:
    """The author-name words of the articles the retrieved passages come from
    (the judge reads a first-person passage's "I" as its author)."""
    return authors_of(retrieval.snapshot, (h.chunk.doc_id for h in retrieval.hits))


def authors_of(snapshot, doc_ids) -> frozenset[str]:
    """The author-name words of these articles of the index snapshot."""
    docs = snapshot.documents
    found = (docs.get(d) for d in dict.fromkeys(doc_ids))
    return frozenset(w for doc in found if doc is not None for w in author_words(doc.meta or {}))


def _split_names(value: str) -> list[str]:
    value = re.sub(r"^\s*by\s+", "", value.strip(), flags=re.I)
    value = value.strip("[]")
    parts = re.split(r"\s*(?:;|,\s*(?:and\s+)?|\s+and\s+|&)\s*", value)
    return [p.strip(" '\"") for p in parts if p.strip(" '\"")]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def answer(question: str, snapshot, doc_id: str | None, mode: str = "explain") -> Reply | None:
    """The reply to a question about the article itself, or None if it is not one."""
    kind = kind_of(question)
    docs = snapshot.documents
    if kind is None or not docs:
        return None
    doc = docs.get(doc_id) if doc_id else (next(iter(docs.values())) if len(docs) == 1 else None)
    if doc is None:
        return None  # several articles and none chosen: let retrieval find the right one
    meta = doc.meta or {}
    where = _source_phrase(meta)
    if kind == "author":
        names = authors(meta)
        if names:
            text = f"Written by {_join(names)} ({where})."
            body = f"The article was written by {_join(names)}. [1]"
        elif meta.get("site_name"):
            text = f"Published by {meta['site_name']}; no author is named ({where})."
            body = f"The article names no author; it was published by {meta['site_name']}. [1]"
        else:
            return Reply(answer="The article does not say who wrote it.", declined=False, mode=mode)
        return _reply(body, text, doc, mode, "About this article")
    if kind == "date":
        date = meta.get("date") or meta.get("published")
        if not date:
            return Reply(answer="The article does not say when it was published.", declined=False, mode=mode)
        return _reply(f"It was published on {date}. [1]", f"Published {date} ({where}).", doc, mode, "About this article")
    if kind == "sections":
        heads = [h.text for h in doc.headings if h.level <= 2] or [h.text for h in doc.headings]
        if not heads:
            return _summary(doc, snapshot, mode)
        listing = "; ".join(dict.fromkeys(heads[:12]))
        return _reply(f'The article "{doc.title}" has these sections: {listing}. [1]',
                      f"Sections: {listing}.", doc, mode, "The article's headings")
    return _summary(doc, snapshot, mode)


def _source_phrase(meta: dict) -> str:
    if meta.get("front_matter") or meta.get("by") or meta.get("template"):
        return "from the article's front matter"
    if meta.get("byline"):
        return "from the article's byline"
    return "from the article's metadata"


def _reply(body: str, cited: str, doc, mode: str, heading: str) -> Reply:
    citation = Citation(n=1, doc_id=doc.doc_id, title=doc.title, text=cited, score=1.0, heading=heading)
    return Reply(answer=body, declined=False, mode=mode, citations=[citation], sentences=[(body.split(" [")[0], [1])])


def _summary(doc, snapshot, mode: str) -> Reply:
    """The article's own description, else its most central sentences, cited."""
    description = (doc.meta or {}).get("description") or (doc.meta or {}).get("summary")
    if isinstance(description, str) and description.strip():
        desc = " ".join(description.split())
        return _reply(f'The article "{doc.title}" is about this: {desc} [1]', desc, doc, mode, "About this article")
    parsed = snapshot.parsed(doc.doc_id)
    central = central_sentences(parsed, doc)
    if not central:
        return _reply(f'The article is "{doc.title}". [1]', doc.title, doc, mode, "About this article")
    citations, parts = [], []
    for s in central:
        chunk = next((c for c in snapshot.chunks if c.doc_id == doc.doc_id and c.start <= s.start and s.end <= c.end), None)
        chunk = chunk or next((c for c in snapshot.chunks if c.doc_id == doc.doc_id and c.start <= s.start < c.end), None)
        if chunk is None:
            continue
        n = next((c.n for c in citations if c.chunk_id == chunk.chunk_id), len(citations) + 1)
        if n == len(citations) + 1:
            citations.append(Citation(n=n, doc_id=doc.doc_id, title=doc.title, text=chunk.text, score=1.0,
                                      chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end, heading=chunk.heading))
        citations[n - 1].highlights.append((s.start, min(s.end, chunk.end)))
        parts.append((s.text, [n]))
    body = f'The article "{doc.title}" is about this: ' + " ".join(f"{t} [{ns[0]}]" for t, ns in parts)
    return Reply(answer=body, declined=False, mode=mode, citations=citations, sentences=parts)


def central_sentences(parsed, doc, n: int = 2) -> list:
    """The article's lead sentence and its n-1 most central others (closest to
    the mean of all its sentence embeddings), in article order; headings, very
    short lines and questions skipped. The lead is how most articles say what
    they are about (the news and encyclopedia lead, a guide's opening line);
    centrality alone picks a typical sentence, often a detail."""
    if parsed.vectors is None or not len(parsed.sentences):
        return []
    heading_starts = {h.start for h in doc.headings}
    keep = [i for i, s in enumerate(parsed.sentences)
            if s.start not in heading_starts and len(L.words(s.text)) >= 6 and not L.is_question(s.text)]
    if not keep:
        return []
    vecs = parsed.vectors[keep]
    centre = vecs.mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    order = [0] + [i for i in np.argsort(-(vecs @ centre)).tolist() if i != 0]  # the lead first
    return [parsed.sentences[keep[i]] for i in sorted(order[:n])]
