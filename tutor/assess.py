"""Assessing a learner's reply to a tutor question.

A question comes with a reference answer, the article's supporting quote(s) and
optional keywords ("a|b" = either word). The reply is judged in numbered steps:

1. nothing to assess (empty, "I don't know", "?")          -> incorrect
2. keyword groups matched by root ("handles" ~ "copes" via the support
   scorer's synonym table, "structural" ~ "structure")
3. contradictions, checked only on replies that state something:
   - a negation the reference does not have ("does not cope")
   - a different role as subject ("leadership ..." when the reference is about
     management)
   - the support scorer, run on the reply against the quotes and the reference,
     finding a role swap, a negation, a wrong quantity or a wrong attribution
4. all groups matched -> correct; some -> partial; none -> incorrect.

Deliberate simplifications: keywords carry the meaning of "correct"; without
them the reference's content words are used, each one a group. A reply that
gets every keyword but adds a wrong extra detail is still "correct" unless the
support scorer flags a contradiction. Feedback is template text (one or two
sentences) that always quotes the article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tutor.support import (
    REPORTING,
    SupportScorer,
    mask_contrast,
    negation_parity_count,
    root_word,
    subject_of,
    synonyms,
    terms,
    tokens,
)
from tutor.text import STOPWORDS

CONTRADICTIONS = ("role swap", "negation mismatch", "quantity mismatch", "wrong attribution")

_DONT_KNOW = re.compile(
    r"\b(?:i\s+(?:do\s*n[o']?t|dont|do not)\s+know|dunno|idk|no idea|not sure|no clue|"
    r"can['’]?t remember|don['’]?t remember|i forget|no answer|pass)\b",
    re.I,
)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|probably|possibly|i guess|i think|i believe|i suppose)\b,?", re.I
)
_LEADING_NOT = re.compile(r"^\s*not\s+[^,;]+[,;]\s*(?:but\s+)?|^\s*not\s+\w+\s+but\s+", re.I)
_PRONOUN_START = re.compile(r"^\s*(?:it|they|he|she|this|these)\b", re.I)


@dataclass(frozen=True)
class Assessment:
    """The verdict on one reply, with feedback that quotes the article."""

    verdict: Literal["correct", "partial", "incorrect"]
    score: float
    feedback: str
    matched: tuple[str, ...]
    missing: tuple[str, ...]


def _roots(text: str) -> set[str]:
    """Roots of every token, numbers and fractions included ("one-third" -> one, third)."""
    return {root_word(w) for w in tokens(text)}


def keyword_groups(keywords: Sequence[str], question: str, reference: str) -> list[list[str]]:
    """Alternatives per keyword ("a|b" -> [a, b]); without keywords, the reference's
    content words that the question does not already give away."""
    groups = [[a.strip() for a in k.split("|") if a.strip()] for k in keywords]
    groups = [g for g in groups if g]
    if groups:
        return groups
    asked = set(terms(question))
    seen, out = set(), []
    for w in tokens(reference):
        r = root_word(w)
        if r in terms(w) and r not in asked and r not in REPORTING and r not in seen:
            seen.add(r)
            out.append([w])
    return out


def _alternative_found(alt: str, reply_roots: set[str]) -> bool:
    need = [root_word(w) for w in tokens(alt) if w not in STOPWORDS] or [
        root_word(w) for w in tokens(alt)
    ]
    return all(r in reply_roots or any(synonyms(r, x) for x in reply_roots) for r in need)


def match_keywords(reply: str, groups: list[list[str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(matched, missing), each keyword group named by its first alternative."""
    roots = _roots(reply)
    matched = tuple(g[0] for g in groups if any(_alternative_found(a, roots) for a in g))
    missing = tuple(g[0] for g in groups if g[0] not in matched)
    return matched, missing


def _nothing_to_assess(reply: str, matched: tuple[str, ...]) -> str | None:
    text = reply.strip()
    if not text or not re.search(r"[A-Za-z0-9]", text):
        return "empty"
    if _DONT_KNOW.search(text) and not matched:
        return "dont_know"
    return None


def _without_contrast(reply: str) -> str:
    """Drop hedges, "not X, but" and ", not X," so that a correction is not a negation."""
    return mask_contrast(_LEADING_NOT.sub("", _HEDGE.sub(" ", reply).strip(" ,")))[0]


def _wrong_role(reply: str, question: str, reference: str) -> bool:
    """The reply's subject is a word neither the question nor the reference uses,
    and the reference's own subject is missing from the reply."""
    said = subject_of(reply)
    if said is None or len(terms(reply)) < 2:
        return False
    allowed = set(terms(question)) | set(terms(reference))
    expected = subject_of(reference)
    return said not in allowed and expected is not None and expected not in set(terms(reply))


def _resolve_pronoun(reply: str, reference: str) -> str:
    """'It handles complexity' -> 'Management handles complexity' for the scorer, when
    the reference is a sentence (a fragment like "Structural problems." has no subject)."""
    first = reference.split()[0] if reference.split() else ""
    if _PRONOUN_START.match(reply) and terms(first) and len(terms(reference)) >= 3:
        return _PRONOUN_START.sub(first, reply, count=1)
    return reply


def _contradiction(
    reply: str, question: str, reference: str, quotes: Sequence[str], scorer: SupportScorer | None
) -> str | None:
    stated = _without_contrast(reply)
    if len(terms(stated)) < 2:
        return None
    if (
        negation_parity_count(tokens(stated), False) % 2
        != negation_parity_count(tokens(reference), False) % 2
    ):
        return "negation"
    if _wrong_role(stated, question, reference):
        return "role"
    if scorer is not None:
        result = scorer.score(_resolve_pronoun(stated, reference), [*quotes, reference])
        if result.reason in CONTRADICTIONS:
            return "role" if result.reason == "role swap" else result.reason.split()[0]
    return None


def _best_quote(quotes: Sequence[str], reference: str, groups: list[list[str]]) -> str:
    if not quotes:
        return reference
    want = {root_word(w) for g in groups for a in g for w in tokens(a)} | set(terms(reference))
    return max(quotes, key=lambda q: len(_roots(q) & want))


_FEEDBACK = {
    "empty": "No answer yet.",
    "dont_know": "That's fine, here is the answer.",
    "negation": "Not quite: the article says the opposite.",
    "role": "Not quite: check who does what.",
    "quantity": "Not quite: check the amount.",
    "wrong": "Not quite: check who said it.",
    "incorrect": "Not quite.",
}


def _feedback(verdict: str, why: str | None, quote: str, matched, missing) -> str:
    says = f'The article says: "{quote.strip()}"'
    if verdict == "correct":
        return f"Correct. {says}"
    if verdict == "partial":
        return f"Partly right: you have {', '.join(matched)} but not {', '.join(missing)}. {says}"
    return f"{_FEEDBACK.get(why or 'incorrect', _FEEDBACK['incorrect'])} {says}"


def assess_reply(
    reply: str,
    *,
    question: str,
    reference: str,
    quotes: Sequence[str],
    keywords: Sequence[str] = (),
    scorer: SupportScorer | None = None,
) -> Assessment:
    """Judge `reply` to `question` against `reference` (see the module docstring)."""
    reply = reply or ""
    groups = keyword_groups(keywords, question, reference)
    quote = _best_quote(quotes, reference, groups)
    matched, missing = match_keywords(_without_contrast(reply), groups)
    why = _nothing_to_assess(reply, matched)
    if why is None:
        reply = _DONT_KNOW.sub(" ", reply)
        why = _contradiction(reply, question, reference, quotes, scorer)
    if why is not None:
        return Assessment(
            "incorrect", 0.0, _feedback("incorrect", why, quote, matched, missing), matched, missing
        )
    share = len(matched) / len(groups) if groups else 0.0
    verdict = "correct" if groups and not missing else "partial" if matched else "incorrect"
    return Assessment(
        verdict,
        round(share, 3),
        _feedback(verdict, None, quote, matched, missing),
        matched,
        missing,
    )
