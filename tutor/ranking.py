"""Which sentence of the retrieved passages answers the question: features,
and the fitted ranker that scores them.

Every sentence of the retrieved passages is described by article-agnostic
features (`FEATURES`): its cosine to the question (read with the sentence
before it when it opens with a pronoun) and its gap to the best one, its
passage's cosine and rank, the rarity-weighted share of the question's words
it uses (by lemma, WordNet relation or word embedding; `anchor` weighs the
main clause's words more), the share of the question's nouns and names it
uses, whether its who-does-what agrees with the question's or is turned
around ("the coral gives the algae ..." for "what do the algae give the
coral?"), whether it answers the question's form (a number for "how many"),
its length, whether it has a verb, whether it is itself a question, and
whether it lacks the question's subject altogether (a sentence about
"leadership" for a question about "management"). A logistic regression
fitted on the
support sentences of many articles' eval sets (`scripts/fit_evidence.py`,
saved in `tutor/models/evidence.json`) turns them into the probability that
the sentence answers the question. Retrieval uses the best probability as
coverage evidence; the responders pick the answer's sentences by it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tutor import coverage, lexicon
from tutor import language as L

ROLE_SAME, ROLE_TURNED = 1.0, -1.0  # the role feature: same roles as the question, or turned around
FEATURES = ("dense", "dense_gap", "chunk_dense", "lexical", "anchor", "topical", "role", "form", "hit",
            "length", "verbless", "asks", "subject_missing")
MODEL_PATH = Path(__file__).with_name("models") / "evidence.json"


def sentence_features(retrieval, query: str | None = None, query_vector=None) -> list[tuple]:
    """Each candidate sentence with its features (see `FEATURES`) and the
    sentence before it that it leans on (a pronoun subject), if any. `query`
    (with its embedding, `query_vector`) ranks the candidates for one part of
    the retrieved question."""
    cands = retrieval.candidates
    if not cands:
        return []
    snap = retrieval.snapshot
    qdoc = L.parse(query or retrieval.focus or retrieval.query)
    words = coverage.question_words(qdoc)
    weights = np.array([coverage.rarity(t.lower_) for t in words], dtype=np.float64)
    anchors = weights * np.array([1.0 / (1.0 + _depth(t)) for t in words]) if words else weights
    total, anchor_total = float(weights.sum()) or 1.0, float(anchors.sum()) or 1.0
    q_roles = L.roles(qdoc)
    q_subjects = {s for r in q_roles for s in r.subject if s not in L.STOP_WORDS}
    nouns = [k for k, t in enumerate(words) if t.pos_ in ("NOUN", "PROPN")]
    word_vectors = retrieval.word_vectors
    form = L.question_form(qdoc) if query is not None else retrieval.form or L.question_form(qdoc)
    qv = retrieval.query_vector if query_vector is None else query_vector
    read = []
    for c in cands:
        parsed = snap.parsed(c.doc_id)
        span = parsed.span(c.number)
        toks = [t for t in span if L.is_content(t)]
        prev = _antecedent(parsed, c.number, span)
        if prev is not None:
            toks += [t for t in parsed.span(prev) if L.is_content(t)]
        dense = c.dense if query_vector is None or parsed.vectors is None else float(parsed.vectors[c.number] @ qv)
        read.append((c, parsed, span, toks, prev, dense))
    best_dense = max(r[-1] for r in read)
    # one call embeds every word not seen before (a call per sentence cost ~20 ms each)
    qvecs = word_vectors([L.lemma(t) for t in words] + [L.lemma(t) for *_, toks, _, _ in read for t in toks]
                         )[: len(words)] if words else None
    out = []
    for c, parsed, span, toks, prev, dense in read:
        if prev is not None and parsed.vectors is not None:
            before = float(parsed.vectors[prev] @ qv)
            dense = max(dense, (dense + before) / 2)
        f = dict.fromkeys(FEATURES, 0.0)
        f["topical"] = 0.0 if nouns else 1.0
        if words and toks:
            sims = qvecs @ word_vectors([L.lemma(t) for t in toks]).T
            scores = np.array([max(coverage.match_score(q, t, sims[a, b]) for b, t in enumerate(toks))
                               for a, q in enumerate(words)])
            f["lexical"] = float((weights * scores).sum()) / total
            f["_serves"] = frozenset(k for k in range(len(words)) if scores[k] >= 0.7)  # not a model feature
            f["anchor"] = float((anchors * scores).sum()) / anchor_total
            if nouns:
                f["topical"] = sum(1 for k in nouns if scores[k] >= 0.7) / len(nouns)
        f["dense"] = dense
        f["dense_gap"] = dense - best_dense
        f["chunk_dense"] = retrieval.hits[c.hit].dense
        f["role"] = _role_fit(q_roles, span)
        if q_subjects:  # the question is about its subject: a sentence without it is about something else
            lemmas = {L.lemma(t) for t in toks}
            f["subject_missing"] = float(not any(_same_word(s, x) for s in q_subjects for x in lemmas))
        f["form"] = coverage.answers_form(form, [span], qdoc)
        if f["form"] > 0 and form.expects not in ("THING", "YESNO", "REASON", "MANNER"):
            f["_serves"] = f.get("_serves", frozenset()) | {-1}  # the answer's form (a number, a date)
        f["hit"] = float(c.hit)
        f["length"] = float(np.log1p(sum(1 for t in span if not t.is_punct)))
        f["verbless"] = float(not any(t.pos_ in ("VERB", "AUX") for t in span))
        f["asks"] = float(L.is_question(c.text))  # a question in the article is rarely its own answer
        out.append((c, f, prev))
    return out


class _Ranker:
    """The fitted logistic regression that scores a sentence as the answer."""

    def __init__(self, data: dict):
        self.features = tuple(data["features"])
        self.mean = np.asarray(data["mean"])
        self.scale = np.asarray(data["scale"])
        self.coef = np.asarray(data["coef"])
        self.intercept = float(data["intercept"])
        self.runner_up = float(data.get("runner_up", 0.5))

    def probability(self, f: dict) -> float:
        x = (np.array([f[n] for n in self.features]) - self.mean) / self.scale
        return float(1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept))))


_RANKER: list = []


def ranker() -> _Ranker | None:
    """The fitted sentence ranker; None only while fitting the first one."""
    if not _RANKER:
        _RANKER.append(_Ranker(json.loads(MODEL_PATH.read_text(encoding="utf-8"))) if MODEL_PATH.is_file() else None)
    return _RANKER[0]


def _depth(tok) -> int:
    """Edges from the token up to its sentence's root (the main clause's words are near it)."""
    d = 0
    while tok.head.i != tok.i and d < 8:
        tok, d = tok.head, d + 1
    return d


def _antecedent(parsed, number: int, span) -> int | None:
    """The sentence before, for a sentence whose subject is a pronoun (first, or
    after leading clauses without a subject: "When threatened, they ...")."""
    if number == 0 or not same_paragraph(parsed, number - 1, number):
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


_DEMONSTRATIVES = frozenset("this these that those such".split())


def leans_back(parsed, number: int) -> int | None:
    """The sentence before, for a sentence that cannot be understood without
    it: its main clause's subject is a pronoun or a demonstrative ("If the loaf
    is flat, this is the step to improve"), or holds one ("Answering this
    question led us to ..."). The answer then quotes both. First and second
    persons and "it" (often a dummy subject: "it is easy to ...") stand alone.

    Stricter than `_antecedent`, which only decides whether the ranker reads a
    sentence's cosine with the one before: quoting a sentence costs one of the
    answer's four. (The ranker reading `leans_back` instead, refitted, scored
    234 eval cases against 236.)"""
    if number == 0 or not same_paragraph(parsed, number - 1, number):
        return None
    root = parsed.span(number).root
    for subj in root.children:
        if subj.dep_ not in ("nsubj", "nsubjpass", "csubj"):
            continue
        if subj.pos_ == "PRON" and subj.lower_ not in ("i", "we", "you", "it") and subj.tag_ not in ("WP", "WDT"):
            return number - 1
        if any(t.lower_ in _DEMONSTRATIVES and t.tag_ in ("DT", "PDT", "JJ") for t in subj.subtree):
            return number - 1
    return None


def same_paragraph(parsed, a: int, b: int) -> bool:
    if not (0 <= a < len(parsed.sentences) and 0 <= b < len(parsed.sentences)):
        return False
    return parsed._sent_para[a] == parsed._sent_para[b]


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
                best = max(best, ROLE_SAME)
            elif not q.subject and q.objects and _overlap(q.objects, s.objects):
                best = max(best, ROLE_SAME)  # "Who is the tower named after?": the same verb done to the same thing
            elif q.subject and q.objects and _overlap(q.objects, s.subject) and _overlap(q.subject, s.objects):
                return ROLE_TURNED
    return best


def _same_word(a: str, b: str) -> bool:
    return a == b or L.stem(a) == L.stem(b) or lexicon.synonyms(a, b)


def _overlap(a, b) -> bool:
    return any(_same_word(x, y) for x in a for y in b)


def rank(retrieval, query: str | None = None, query_vector=None) -> list[tuple]:
    """(candidate, features, probability) of every candidate sentence, best
    first; for `query` (a part of the question) when given."""
    rows = sentence_features(retrieval, query, query_vector)
    model = ranker()
    scored = [(c, f, model.probability(f) if model is not None else _unfitted(f)) for c, f, _ in rows]
    return sorted(scored, key=lambda r: -r[2])


def _unfitted(f: dict) -> float:
    """While the first ranker is being fitted: cosine and word share."""
    return 0.6 * f["dense"] + 0.4 * f["lexical"]
