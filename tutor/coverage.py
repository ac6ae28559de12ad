"""Does the article cover a question? Evidence, and a fitted decision.

Retrieval always finds *something*; what decides whether the tutor answers or
declines is whether the best passages answer this question. The evidence,
measured for every question on the passages retrieved for it:

* `sentence_cos`, `chunk_cos`: the best sentence's and the best passage's
  cosine similarity to the question (its focus, without "according to X");
* `term_cover`: the share of the question's content words, weighted by how
  rare they are in English, that the best window of the passages (a sentence
  and the one after it) uses - as the same lemma, a WordNet synonym or near
  relation, or a word whose embedding is close;
* `missing`: the weight of the rarest question word that window lacks (a
  near-miss question names one thing the article never says);
* `unknown`: the weighted share of question words the article never uses at all;
* `unknown_names`: how many names (proper nouns, named entities) the question
  uses that the article never does;
* `form`: whether that window answers the question's form (a number for "how
  many", a date or a condition for "when", a person, or the subject of the
  asked verb, for "who", a place or a place phrase of the asked verb for
  "where"), 1 when the form asks nothing;
* `peak`: how far the best sentence stands out from the other sentences of its
  article (z-score of its cosine): an article that answers has one place that
  does, while a question it does not cover is about equally far from all of
  it, however close the article's topic is;
* `focus_cover`: `term_cover` restricted to the words naming what the question
  asks for ("what *title* ...", "which *release* ..."), 1 when there are none;
* `answer_p`: the fitted evidence ranker's probability (`tutor.ranking`) that
  the best sentence answers the question.

A logistic regression over these, fitted on the in- and out-of-scope questions
of many articles (`tutor.fitting`, saved in `tutor/models/coverage.json`),
turns them into a probability; the question is covered when it is at least the
fitted threshold. Reported leave-one-article-out by the fitting command.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from spacy.tokens import Doc, Span, Token

from tutor import language as L
from tutor import lexicon

FEATURES = ("sentence_cos", "chunk_cos", "peak", "term_cover", "focus_cover", "missing", "unknown",
            "unknown_names", "form", "answer_p")
MODEL_PATH = Path(__file__).with_name("models") / "coverage.json"
WINDOW_SENTENCES = 8  # candidate sentences (best by cosine) whose windows are aligned


@dataclass(frozen=True)
class Evidence:
    features: dict[str, float]
    probability: float
    covered: bool
    window: tuple[str, int, int] | None  # (doc_id, start, end) of the best window


@lru_cache(maxsize=65536)
def rarity(word: str) -> float:
    """How much a word says: rare words more than common ones (wordfreq's Zipf
    scale: 7 = "the", 1 = very rare), between 0.3 and 1.5."""
    from wordfreq import zipf_frequency

    return float(min(1.5, max(0.3, (7.0 - zipf_frequency(word, "en")) / 3.0)))


def question_words(doc: Doc | Span) -> list[Token]:
    """The question's content words that name what it is about (not its
    reporting frame: "what does X say about ..." is about the rest)."""
    out = []
    for t in doc:
        if not L.is_content(t):
            continue
        if t.pos_ == "VERB" and L.lemma(t) in L.REPORTING_VERBS:
            continue
        out.append(t)
    return out


def match_score(q: Token, s: Token, sim: float) -> float:
    """How well a passage word stands for a question word."""
    if L.lemma(q) == L.lemma(s) or L.stem(L.lemma(q)) == L.stem(L.lemma(s)) or q.lower_ == s.lower_:
        return 1.0
    if q.pos_ == "PROPN" or s.pos_ == "PROPN":
        return 0.0
    a, b = L.lemma(q), L.lemma(s)
    if lexicon.antonyms(a, b):
        return 0.0
    if lexicon.synonyms(a, b):
        return 0.9
    if lexicon.related(a, b):
        return 0.7
    return max(0.0, float(sim)) if sim >= 0.55 else 0.0


class Model:
    """The fitted logistic regression (coefficients over standardised features)."""

    def __init__(self, data: dict):
        self.features = tuple(data["features"])
        self.mean = np.asarray(data["mean"], dtype=np.float64)
        self.scale = np.asarray(data["scale"], dtype=np.float64)
        self.coef = np.asarray(data["coef"], dtype=np.float64)
        self.intercept = float(data["intercept"])
        self.threshold = float(data.get("threshold", 0.5))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Model:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def probability(self, features: dict[str, float]) -> float:
        x = (np.array([features[f] for f in self.features]) - self.mean) / self.scale
        z = float(x @ self.coef) + self.intercept
        return 1.0 / (1.0 + math.exp(-z))


_MODEL: Model | None = None


def model() -> Model | None:
    """The fitted model; None only while fitting the first one (no file yet)."""
    global _MODEL
    if _MODEL is None and MODEL_PATH.is_file():
        _MODEL = Model.load()
    return _MODEL


def measure(
    question: Doc | Span,
    form: L.QuestionForm,
    sentences: Sequence[tuple[str, int, Span, float]],
    chunk_cos: float,
    article_terms,
    embed,
    article_cosines: np.ndarray | None = None,
) -> tuple[dict[str, float], tuple[str, int, int] | None]:
    """The coverage features of a question.

    `sentences`: candidate sentences of the retrieved passages as (doc_id,
    sentence number in the document, parsed span, cosine to the question), in
    article order per document; `article_terms` is a container of the lemmas
    and stems the searched articles use; `embed(words)` gives unit vectors."""
    words = question_words(question)
    weights = np.array([rarity(t.lower_) for t in words], dtype=np.float64)
    total = float(weights.sum()) or 1.0
    f = dict.fromkeys(FEATURES, 0.0)
    f["chunk_cos"] = float(chunk_cos)  # the caller adds answer_p
    f["sentence_cos"] = max((s[3] for s in sentences), default=0.0)
    if article_cosines is not None and len(article_cosines) > 2:
        sd = float(article_cosines.std()) or 1.0
        f["peak"] = (f["sentence_cos"] - float(article_cosines.mean())) / sd
    focus_idx = [i for i, t in enumerate(words) if L.lemma(t) in set(form.focus)]
    unknown = [w for t, w in zip(words, weights, strict=True)
               if L.lemma(t) not in article_terms and L.stem(L.lemma(t)) not in article_terms]
    f["unknown"] = float(sum(unknown)) / total
    f["unknown_names"] = float(sum(
        1 for t in words
        if (t.pos_ == "PROPN" or t.ent_type_ in L.ENTITY_LABELS)
        and L.lemma(t) not in article_terms and L.stem(L.lemma(t)) not in article_terms
    ))
    best: tuple[float, float, float, int] | None = None
    window_of = None
    ranked = sorted(range(len(sentences)), key=lambda i: -sentences[i][3])[:WINDOW_SENTENCES]
    qvecs = embed([L.lemma(t) for t in words]) if words else None
    for i in ranked:
        doc_id, number, span, _ = sentences[i]
        spans = [span]
        if i + 1 < len(sentences) and sentences[i + 1][0] == doc_id and sentences[i + 1][1] == number + 1:
            spans.append(sentences[i + 1][2])
        toks = [t for sp in spans for t in sp if L.is_content(t)]
        if not words:
            cover, missing, focus = 1.0, 0.0, 1.0
        elif not toks:
            cover, missing, focus = 0.0, float(weights.max()), 0.0 if focus_idx else 1.0
        else:
            sims = qvecs @ embed([L.lemma(t) for t in toks]).T
            scores = np.array([max(match_score(q, t, sims[a, b]) for b, t in enumerate(toks))
                               for a, q in enumerate(words)])
            cover = float((weights * scores).sum()) / total
            missing = float(max((w for w, s in zip(weights, scores, strict=True) if s < 0.5), default=0.0))
            focus = float(np.mean(scores[focus_idx])) if focus_idx else 1.0
        form_ok = answers_form(form, spans, question)
        key = (cover + 0.25 * form_ok, -missing)
        if best is None or key > (best[0] + 0.25 * best[2], -best[1]):
            best = (cover, missing, form_ok, i, focus)
            first, last = spans[0], spans[-1]
            window_of = (doc_id, first.start_char, last.end_char)
    if best is not None:
        f["term_cover"], f["missing"], f["form"], f["focus_cover"] = best[0], best[1], best[2], best[4]
    else:
        f["missing"] = float(weights.max()) if len(weights) else 0.0
        f["focus_cover"] = 0.0 if focus_idx else 1.0
    return f, window_of


def answers_form(form: L.QuestionForm, spans: Sequence[Span], question: Doc | Span | None = None) -> float:
    """Share of the question's wh-forms the spans answer with something the
    question does not already say: a number for "how many", a date (or, for a
    bare "when", a condition) for "when", a person or organisation (or the
    subject of the asked verb: "the keeper climbs ...") for "who", a place (or a
    place phrase of the asked verb: "sent to the harbour office") for "where"."""
    forms = form.forms or (form.expects,)
    given = {L.lemma(t) for t in question} if question is not None else set()
    toks = [t for s in spans for t in s if L.lemma(t) not in given]
    done = [_answers(kind, toks) or kind == "TIME" and form.wh == "when" and _condition(toks) and not _past(question)
            or kind == "PERSON" and question is not None and _fills_subject(question, spans, given)
            or kind == "PLACE" and question is not None and _fills_place(question, spans, given) for kind in forms]
    return sum(done) / len(done) if done else 1.0


def _fills_place(question: Doc | Span, spans: Sequence[Span], given: set[str]) -> bool:
    """"Where is the log sent?" is answered by "the log is sent to the harbour
    office": a place phrase (a preposition and its object the question does not
    name) of the verb the question asks where, not only a named place."""
    verbs = {L.lemma(_verb(t)) for t in question if t.lower_ == "where"}
    verbs.discard("be")
    return any(L.lemma(t) not in given and t.pos_ in ("NOUN", "PROPN") and (
        t.dep_ == "pobj" and t.head.lower_ in L.PLACE_PREPOSITIONS and L.lemma(t.head.head) in verbs
        or t.dep_ == "dobj" and L.lemma(t.head) in verbs)  # "climbs the tower"
        for sp in spans for t in sp)


def _verb(tok: Token) -> Token:
    """The verb a wh-word belongs to (the main verb, when the parser hung it on an auxiliary)."""
    head = tok.head
    return head.head if head.dep_ in ("aux", "auxpass") else head


def _fills_subject(question: Doc | Span, spans: Sequence[Span], given: set[str]) -> bool:
    """"Who climbs the tower?" is answered by "The keeper climbs the tower": a
    subject the question does not name, of the verb the question asks who does
    (a role noun or "I", not only a name)."""
    verbs = {L.lemma(_verb(t)) for t in question if t.lower_ in ("who", "whom") and t.dep_ in ("nsubj", "nsubjpass")}
    verbs.discard("be")
    if not verbs:
        return False
    return any(L.lemma(t.head) in verbs and t.dep_ in ("nsubj", "nsubjpass", "agent")
               and (t.pos_ in ("NOUN", "PROPN") or t.lower_ in ("i", "we")) and L.lemma(t) not in given
               for sp in spans for t in sp)


def _past(question: Doc | Span | None) -> bool:
    """"When did the keeper leave?" asks when it happened, a date, not under which
    condition ("When does the valve open?")."""
    return question is not None and any(t.tag_ == "VBD" or t.lower_ == "did" for t in question)


def _condition(toks) -> bool:
    """A clause that says under which condition ("the valve opens if and only if
    the pressure rises"): the answer to a "when" that asks for no date."""
    return any(t.dep_ == "mark" and t.lower_ in L.CONDITION_MARKERS for t in toks)


def _answers(kind: str, toks) -> bool:
    if kind in ("AMOUNT", "TIME"):
        toks = [t for t in toks if not L.is_list_marker(t)]  # "1. Provide ...": a label, no amount
    if kind == "AMOUNT":
        return any(L.is_number(t) for t in toks)
    if kind == "TIME":
        return any(t.ent_type_ in ("DATE", "TIME") and not L.is_identifier(t) or t.like_num and t.pos_ == "NUM"
                   and L.is_number(t) for t in toks)
    if kind == "PERSON":
        return any(t.ent_type_ in ("PERSON", "ORG", "NORP") or t.pos_ == "PROPN" for t in toks)
    if kind == "PLACE":
        return any(t.ent_type_ in ("GPE", "LOC", "FAC", "ORG") for t in toks)
    return True


def decide(features: dict[str, float], window) -> Evidence:
    m = model()
    if m is None:  # fitting the first model: measure everything, decline nothing
        return Evidence(features, 1.0, True, window)
    p = m.probability(features)
    return Evidence(features, p, p >= m.threshold, window)
