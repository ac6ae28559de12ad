"""Assessing a learner's reply to a tutor question.

A question comes with a reference answer, the article's supporting quote(s)
and optional keywords ("a|b" = either). The reply is judged in numbered steps,
on the language layer and the support judge:

1. nothing to assess (empty, "I don't know", "?")                -> incorrect
2. the reference is cut into *parts*: its keyword groups, or else its
   clauses (content words the question already gives away do not count); a
   part is stated when the reply matches its words - by lemma, amount (after
   unit conversion: "a quarter of an hour" = "15 minutes"), WordNet relation
   or close embedding;
3. the reply is aligned with the reference and the quotes (`tutor.alignment`,
   a pronoun subject read as the reference's subject): conflicting amounts,
   names the article does not use, a predicate negated on one side only,
   antonyms, words from outside the reference, and the support judge's
   probability;
4. a fitted multinomial logistic regression (`tutor/models/assess.json`,
   fitted by `python -m tutor.fitting` on the labeled replies of many
   articles) reads these features and says correct, partial or incorrect;
   a predicate negated on one side only, or a subject from outside the
   reference that the article uses for something else ("leadership" for
   management; a word it never uses is the learner's own), makes it
   incorrect whatever else matches, and a reply that
   states none of the parts is never "partly right". Feedback names the parts stated and missing, or the kind of
   contradiction, and always quotes the article.

A negation in the reference paraphrased positively ("useless" for "not worth
maintaining") is not a contradiction: polarity is compared word by word on
aligned predicates, and an antonym under a negation counts as the same.

Deliberate simplifications: a part is "stated" by word matches, not by a full
inference; a reply that states every part but adds a wrong detail is caught
only when the detail conflicts with the article (or is foreign to it).
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from tutor import alignment as A
from tutor import language as L
from tutor.support import CONTRADICTIONS, SupportScorer  # noqa: F401 - CONTRADICTIONS is re-exported

PART = 0.75  # a part's word counts as stated from this match score (lemma, amount, synonym, related, close embedding)

REPLY_FEATURES = (
    "recall_min",  # the least-stated part: share of its weighted new words the reply matches
    "recall_mean",
    "parts_stated",  # share of parts stated (recall >= 0.5)
    "support",  # the support judge's probability for the reply against reference and quotes
    "similarity",  # embedding similarity of reply and reference
    "foreign",  # weight of reply words neither the reference, the question nor the quotes match
    "number_conflict",  # an amount where the reference has another
    "name_novel",  # a name the reference and quotes never use
    "polarity",  # an aligned predicate negated on one side only
    "antonym",
    "subject_foreign",  # the reply's subject is a noun neither the reference nor the question names
    "dont_know",
    "length",  # content words in the reply
)


@dataclass(frozen=True)
class Assessment:
    """The verdict on one reply, with feedback that quotes the article."""

    verdict: Literal["correct", "partial", "incorrect"]
    score: float
    feedback: str
    matched: tuple[str, ...]
    missing: tuple[str, ...]


# ---- parts of the reference -----------------------------------------------------


@dataclass
class Part:
    name: str  # how feedback names it (a keyword, or the clause's main words)
    alternatives: list[list]  # each alternative: the content tokens that must all be stated
    weights: list[list[float]]


def keyword_groups(keywords: Sequence[str], question: str, reference: str) -> list[list[str]]:
    """Alternatives per keyword ("a|b" -> [a, b]); without keywords, the reference's
    content words that the question does not already give away, each its own group."""
    groups = [[a.strip() for a in k.split("|") if a.strip()] for k in keywords]
    groups = [g for g in groups if g]
    if groups:
        return groups
    asked = set(L.terms(question))
    seen, out = set(), []
    for t in L.content_tokens(L.parse(reference)):
        lem = L.lemma(t)
        if lem not in asked and lem not in seen and lem not in L.REPORTING_VERBS:
            seen.add(lem)
            out.append([t.text])
    return out


def _parts(keywords: Sequence[str], question: str, reference: str) -> list[Part]:
    groups = [[a.strip() for a in k.split("|") if a.strip()] for k in keywords]
    groups = [g for g in groups if g]
    if groups:
        out = []
        for g in groups:
            alts = []
            for a in g:
                toks = L.content_tokens(L.parse(a)) or [t for t in L.parse(a) if not t.is_punct]
                alts.append(toks)
            out.append(Part(g[0], alts, [[A.weight(t) for t in alt] for alt in alts]))
        return out
    asked = {L.lemma(t) for t in L.content_tokens(L.parse(question))}
    asked |= {L.stem(x) for x in asked}
    doc = L.parse(reference)
    out = []
    amounts = {q.token: q for q in L.quantities(doc[:])}
    in_amounts = {A.quantity_anchor(q, doc) for q in amounts.values()}
    # every word of an amount belongs to its part ("230 °C" is one part, not "230 °C" and "C")
    in_amounts |= {t.i for q in amounts.values() for t in doc
                if doc[q.token].idx <= t.idx < doc[q.token].idx + len(q.text)}
    for q in amounts.values():  # each amount is a part of its own: "325 grams" and "65%"
        tok = doc[A.quantity_anchor(q, doc)]
        out.append(Part(q.text, [[tok]], [[A.weight(tok)]]))
    for c in A.clauses(doc) or []:
        toks = [t for t in c.tokens if L.lemma(t) not in asked and L.stem(L.lemma(t)) not in asked
                and L.lemma(t) not in L.REPORTING_VERBS and t.i not in in_amounts]
        if toks:
            main = sorted(toks, key=lambda t: -A.weight(t))[:2]
            name = " ".join(t.text for t in sorted(main, key=lambda t: t.i))
            out.append(Part(name, [toks], [[A.weight(t) for t in toks]]))
    return out


def _stated(part: Part, grid_scores: dict[int, float]) -> float:
    """The best alternative's weighted share of words the reply states."""
    best = 0.0
    for toks, ws in zip(part.alternatives, part.weights, strict=True):
        if not toks:
            continue
        got = sum(w for t, w in zip(toks, ws, strict=True) if grid_scores.get(id(t), 0.0) >= PART)
        best = max(best, got / (sum(ws) or 1.0))
    return best


# ---- the reply ----------------------------------------------------------------------

_CONTRAST = re.compile(r"^\s*not\s+[^,;]+?(?:[,;]\s*|\s+)but\s+|,\s*not\s+[^,;]+,?", re.I)


def _without_contrast(reply: str) -> str:
    """Drop "not X, but" and ", not X," so that a correction is not a negation."""
    return _CONTRAST.sub(" ", reply).strip()


def _resolve_pronoun(reply: str, reference: str) -> str:
    """'It handles complexity' -> 'Management handles complexity': a reply whose
    subject is a pronoun is judged with the reference's subject."""
    doc = L.parse(reply)
    first = next((t for t in doc if not t.is_punct), None)
    if first is None or first.pos_ != "PRON" or first.dep_ not in ("nsubj", "nsubjpass"):
        return reply
    ref = L.parse(reference)
    subj = next((t for t in ref if t.dep_ in ("nsubj", "nsubjpass") and t.pos_ in ("NOUN", "PROPN")), None)
    if subj is None:
        return reply
    phrase = ref[subj.left_edge.i : subj.i + 1].text
    return reply[: first.idx] + phrase + reply[first.idx + len(first.text) :]


@lru_cache(maxsize=1)
def _default_scorer() -> SupportScorer:
    return SupportScorer()


def reply_features(reply: str, *, question: str, reference: str, quotes: Sequence[str],
                   keywords: Sequence[str] = (), scorer: SupportScorer | None = None,
                   article_terms: Container[str] | None = None) -> dict[str, float]:
    """The features the assessor's models read (see REPLY_FEATURES)."""
    return _analyse(reply, question, reference, quotes, keywords, scorer or _default_scorer(), article_terms)[0]


def _analyse(reply, question, reference, quotes, keywords, scorer: SupportScorer, article_terms=None):
    f = dict.fromkeys(REPLY_FEATURES, 0.0)
    parts = _parts(keywords, question, reference)
    f["keyed"] = float(any(k.strip() for k in keywords))  # not model features: see verdict_from
    f["parts"] = float(len(parts))
    text = _without_contrast(reply or "")
    if L.says_dont_know(reply or ""):
        f["dont_know"] = 1.0
        text = L.strip_dont_know(text)
    doc = L.parse(text)
    rtoks = L.content_tokens(doc)
    f["length"] = float(len(rtoks))
    if not rtoks:
        f["dont_know"] = 1.0
        return f, parts, [0.0] * len(parts), None
    aligner = scorer._aligner
    # 2. parts stated: each part's words against the reply's words
    rps = A.prepare([text])
    part_toks = list(dict.fromkeys(t for p in parts for alt in p.alternatives for t in alt))
    scores: dict[int, float] = {}
    if part_toks and rps.tokens:
        by_doc: dict[int, list] = {}
        for t in part_toks:
            by_doc.setdefault(id(t.doc), []).append(t)
        for toks in by_doc.values():
            g = A.Grid(toks, rps, aligner)
            for i, t in enumerate(toks):
                scores[id(t)] = float(g.score[i].max())
    stated = [_stated(p, scores) for p in parts]
    if stated:
        f["recall_min"] = float(min(stated))
        f["recall_mean"] = float(np.mean(stated))
        f["parts_stated"] = float(np.mean([s >= 0.5 for s in stated]))
    # 3. the reply against the reference and the quotes
    evidence = [reference, *quotes]
    resolved = _resolve_pronoun(text, reference)
    al = scorer.align(resolved, evidence)
    jf = al.features
    # the judge's fitted probability before its vetoes: this model weighs name_novel itself
    f["support"] = scorer.model.probability(jf, veto=False) if scorer.model else 0.0
    f["number_conflict"] = jf.get("number_conflict", 0.0) + jf.get("number_novel", 0.0)
    f["name_novel"] = jf.get("name_novel", 0.0)
    f["polarity"] = jf.get("polarity", 0.0)
    f["antonym"] = jf.get("antonym", 0.0)
    known = A.prepare([reference, question, *quotes])
    g = A.Grid(rtoks, known, aligner)
    best = g.score.max(axis=1) if g.score.size else np.zeros(len(rtoks))
    f["foreign"] = float(sum(A.weight(t) for t, s in zip(rtoks, best, strict=True) if s < PART))
    # a subject the reference and the question never name ("Leadership copes ..." for management)
    ref_has_subject = any(t.pos_ in ("NOUN", "PROPN") for t in L.parse(reference))
    for k, (t, s) in enumerate(zip(rtoks, best, strict=True)):
        # the subject by the parse, or (when the small model misreads the verb) the sentence's first word
        subject = t.dep_ in ("nsubj", "nsubjpass") or (k == 0 and len(rtoks) >= 3 and t.i == doc[0].i)
        if subject and t.pos_ in ("NOUN", "PROPN") and s < PART and ref_has_subject and _elsewhere(t, article_terms):
            f["subject_foreign"] += 1
    vecs = aligner.vectors([text, reference])
    f["similarity"] = float(vecs[0] @ vecs[1])
    return f, parts, stated, jf


def _elsewhere(tok, article_terms: Container[str] | None) -> bool:
    """Is the reply's foreign subject another thing of the article ("Leadership
    copes ..." where the answer is about management)? A word the article never
    uses ("students" for its "participants") is the learner's own word for the
    subject, left to the model. Without the article, every foreign subject is."""
    if article_terms is None:
        return True
    lem = L.lemma(tok)
    return lem in article_terms or L.stem(lem) in article_terms


# ---- the verdict ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _models():
    from tutor.fitting import load_assessor

    return load_assessor()


def verdict_from(features: dict[str, float], model=None) -> str:
    """correct / partial / incorrect from the features and the fitted model."""
    model = model or _models()
    if features.get("dont_know") and features.get("recall_mean", 0.0) == 0.0:
        return "incorrect"
    if features.get("polarity") or features.get("subject_foreign"):
        return "incorrect"  # a negated predicate or another subject: a contradiction, whatever else matches
    p = model.probabilities(features)
    if features.get("parts") and not features.get("recall_mean"):
        p.pop("partial")  # partly right means some part is stated; here none is, so right or wrong
    said = max(p, key=p.get)
    if said == "correct" and features.get("keyed") and features.get("parts_stated", 0.0) < 1.0:
        return "partial"  # the question's keywords define a full answer: one is missing
    return said


def _why(f: dict[str, float], jf: dict[str, float] | None) -> str:
    if f["dont_know"] and f["recall_mean"] == 0:
        return "dont_know"
    if f["number_conflict"]:
        return "quantity"
    if f["polarity"] or f["antonym"]:
        return "negation"
    if f["subject_foreign"]:
        return "role"
    if f["name_novel"]:
        return "wrong"
    if jf and (jf.get("misplaced_single") or jf.get("role_conflict") or jf.get("unbound")):
        return "role"
    return "incorrect"


_FEEDBACK = {
    "empty": "No answer yet.",
    "dont_know": "That's fine, here is the answer.",
    "negation": "Not quite: the article says the opposite.",
    "role": "Not quite: check who does what.",
    "quantity": "Not quite: check the amount.",
    "wrong": "Not quite: check who said it.",
    "incorrect": "Not quite.",
}


def _best_quote(quotes: Sequence[str], reference: str) -> str:
    if not quotes:
        return reference
    want = set(L.terms(reference))
    return max(quotes, key=lambda q: len(set(L.terms(q)) & want))


def assess_reply(
    reply: str,
    *,
    question: str,
    reference: str,
    quotes: Sequence[str],
    keywords: Sequence[str] = (),
    scorer: SupportScorer | None = None,
    article_terms: Container[str] | None = None,
) -> Assessment:
    """Judge `reply` to `question` against `reference` (see the module docstring);
    `article_terms`, the lemmas the article uses (`Retriever.doc_vocabulary`),
    tell a subject swapped for another of the article's from the learner's own word."""
    scorer = scorer or _default_scorer()
    reply = reply or ""
    quote = _best_quote(quotes, reference)
    says = f'The article says: "{quote.strip()}"'
    f, parts, stated, jf = _analyse(reply, question, reference, quotes, keywords, scorer, article_terms)
    matched = tuple(p.name for p, s in zip(parts, stated, strict=True) if s >= 0.5)
    missing = tuple(p.name for p, s in zip(parts, stated, strict=True) if s < 0.5)
    share = round(len(matched) / len(parts), 3) if parts else 0.0
    if not re.search(r"[A-Za-z0-9]", reply):
        return Assessment("incorrect", 0.0, f"{_FEEDBACK['empty']} {says}", (), missing)
    if f["length"] == 0:
        return Assessment("incorrect", 0.0, f"{_FEEDBACK['dont_know']} {says}", (), missing)
    verdict = verdict_from(f)
    if verdict == "correct":
        return Assessment("correct", 1.0, f"Correct. {says}", matched, missing)
    if verdict == "partial" and matched and missing:
        return Assessment("partial", share, f"Partly right: you have {', '.join(matched)} but not "
                          f"{', '.join(missing)}. {says}", matched, missing)
    if verdict == "partial":
        return Assessment("partial", share, f"Partly right. {says}", matched, missing)
    return Assessment("incorrect", 0.0, f"{_FEEDBACK[_why(f, jf)]} {says}", matched, missing)
