"""The grounding guard: every sentence an LLM says must be backed by the passages
it was given, and every citation must point at a passage that backs its sentence.

Steps for one answer:

1. normalise: one sentence per line item, citation markers moved in front of the
   sentence's final punctuation ("... change. [2]" -> "... change [2].");
2. split into sentences (`tutor.language.sentences`) and parse `[n]`, `[1, 2]`,
   `[passage 3]` markers;
3. statements are scored against the passages with the support scorer (one
   batched call); unsupported ones are dropped with the scorer's reason;
4. citations: kept if the cited passage itself supports the sentence, otherwise
   re-pointed to the passage that does; an uncited supported sentence gets that
   passage's number;
5. questions to the learner assert nothing and need no support, unless they carry
   a premise ("Since leadership copes with complexity, what ...?") or are
   negative-rhetorical ("Isn't leadership about complexity?"): then that premise
   is checked like a statement. One question is kept, at the end;
6. a supported statement that says nothing new (its content words all occur in
   a statement already kept) is dropped as a repeat: small models loop.

If no statement survives, `GuardResult.grounded` is False and the caller answers
with the grounded responder instead.

Deliberate simplifications: a sentence is all or nothing (no clause-level
trimming). A question's premise is read the same way as a learner's
(`tutor.premise.question_premise`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tutor.language import sentences as split_sentences
from tutor.language import terms as content_terms
from tutor.premise import question_premise

_MARKER = r"\[(?:passages?\s*)?\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*\]"
_MARKER_RE = re.compile(_MARKER, re.IGNORECASE)
_MARKERS_AFTER_END = re.compile(r"([.!?]+)([\"'”’)]*)((?:\s*" + _MARKER + r")+)", re.IGNORECASE)
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]+|\d+[.)])\s+")


class Passage(Protocol):
    n: int
    text: str


class Scorer(Protocol):
    def score(self, claim: str, passages: Sequence[str], speakers: Iterable[str] = ()): ...

    def score_many(self, claims: Sequence[str], passages: Sequence[str], speakers: Iterable[str] = ()) -> list: ...


EXTRA_QUESTION = "only one follow-up question is kept"
REPEATED = "repeats an earlier sentence"
EDITORIAL = frozenset({EXTRA_QUESTION, REPEATED})  # dropped, but not for lack of support


@dataclass
class GuardResult:
    kept_sentences: list[tuple[str, list[int]]]  # statements (no markers) and their citations
    dropped: list[tuple[str, str]]  # (sentence, reason)
    text: str  # what the learner sees: kept statements with [n], then the follow-up question
    question: str | None = None  # the follow-up question kept, if any
    repaired: list[tuple[str, list[int], list[int]]] = field(default_factory=list)  # (sentence, cited, now)

    @property
    def grounded(self) -> bool:
        """At least one supported statement survived."""
        return bool(self.kept_sentences)

    @property
    def unsupported(self) -> list[tuple[str, str]]:
        """What was dropped because the passages do not back it (not repeats or extra questions)."""
        return [d for d in self.dropped if d[1] not in EDITORIAL]


@dataclass(frozen=True)
class _Sentence:
    text: str  # without citation markers
    cites: tuple[int, ...]
    question: bool


def parse_citations(sentence: str) -> tuple[str, list[int]]:
    """Strip citation markers; return the clean sentence and the cited numbers.

    >>> parse_citations("Leadership copes with change [2][1, 2].")
    ('Leadership copes with change.', [2, 1])
    """
    numbers: list[int] = []
    for m in _MARKER_RE.finditer(sentence):
        for n in re.findall(r"\d+", m.group()):
            if int(n) not in numbers:
                numbers.append(int(n))
    clean = _MARKER_RE.sub("", sentence)
    clean = re.sub(r"(?<!\.)\s+([.!?,;:])", r"\1", clean)  # not inside a spaced ellipsis (". . .")
    return " ".join(clean.split()).strip(), numbers


_ASKS = re.compile(r"\?[^\w]*$")  # ends in '?', maybe with closing quotes or symbols ("... int? =>")


def split_answer(answer: str) -> list[_Sentence]:
    """The answer's sentences, markers parsed (steps 1-2)."""
    lines = []
    for line in (answer or "").replace("\r", "").split("\n"):
        line = _LIST_PREFIX.sub("", line).replace("**", "").replace("__", "").strip()
        if line and not re.fullmatch(r"#+.*", line):
            lines.append(_MARKERS_AFTER_END.sub(lambda m: f"{m.group(3)}{m.group(1)}{m.group(2)}", line))
    out = []
    for s in split_sentences("\n\n".join(lines)):
        text, cites = parse_citations(s.text)
        if text:
            out.append(_Sentence(text, tuple(cites), bool(_ASKS.search(text))))
    return out


def guard(answer_text: str, passages: Sequence[Passage], scorer: Scorer, speakers: Iterable[str] = ()) -> GuardResult:
    """Keep only what the passages support, with citations that point at support.
    `speakers`: the name words of the articles' authors, whom the passages call "I"."""
    sentences = split_answer(answer_text)
    texts = [p.text for p in passages]
    numbers = [p.n for p in passages]
    dropped: list[tuple[str, str]] = []

    # step 3: batch-score every statement and every question premise
    premises = {k: question_premise(s.text, presupposed=False) for k, s in enumerate(sentences) if s.question}
    claims: list[str] = []
    for k, s in enumerate(sentences):
        claim = premises[k] if s.question else s.text
        if claim and content_terms(claim):
            claims.append(claim)
    results = dict(zip(claims, scorer.score_many(claims, texts, speakers), strict=True)) if claims and texts else {}

    kept: list[tuple[str, list[int]]] = []
    repaired: list[tuple[str, list[int], list[int]]] = []
    question: str | None = None
    for k, s in enumerate(sentences):
        if s.question:
            premise = premises[k]
            if premise and not (premise in results and results[premise].supported):
                reason = results[premise].reason if premise in results else "no passages"
                dropped.append((s.text, f"question assumes something unsupported ({reason})"))
            else:
                if question is not None:
                    dropped.append((question, EXTRA_QUESTION))
                question = s.text
            continue
        if not content_terms(s.text):
            dropped.append((s.text, "says nothing about the article"))
            continue
        r = results.get(s.text)
        if r is None or not r.supported:
            dropped.append((s.text, r.reason if r is not None else "no passages"))
            continue
        terms = set(content_terms(s.text))
        if any(terms <= set(content_terms(k)) for k, _ in kept):
            dropped.append((s.text, REPEATED))
            continue
        # step 4: citations must point at supporting passages
        # (a passage must support the sentence on its own: together the passages
        # may back a sentence that no single one does)
        good = [n for n in s.cites if _supports(scorer, s.text, texts, numbers, n)]
        if not good:
            best = numbers[r.passage] if r.passage is not None else numbers[0]
            order = [best] + [n for n in numbers if n != best and n not in s.cites]
            good = next(([n] for n in order if _supports(scorer, s.text, texts, numbers, n)), [])
        if not good:
            dropped.append((s.text, "no single passage supports it"))
            continue
        now = good
        if list(s.cites) != now:
            repaired.append((s.text, list(s.cites), now))
        kept.append((s.text, now))

    if question is not None and not kept:
        dropped.append((question, "no supported statement to follow up on"))
        question = None
    body = " ".join(f"{text} " + "".join(f"[{n}]" for n in ns) for text, ns in kept)
    text = f"{body}\n\n{question}" if question else body
    return GuardResult(kept, dropped, text, question, repaired)


def _supports(scorer: Scorer, claim: str, texts: list[str], numbers: list[int], n: int) -> bool:
    """Does passage number n on its own support the claim?"""
    if n not in numbers:
        return False
    return bool(scorer.score(claim, [texts[numbers.index(n)]]).supported)
