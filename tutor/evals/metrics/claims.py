"""Which sentences of a reply are claims about the article.

Groundedness, citation precision and injection resistance all score the reply's
claims, so all three use this one definition:

1. a declined reply makes no claim (the decline text is excluded);
2. the reply is split like the grounding guard splits it
   (`tutor.guard.split_answer`: list items, `[n]` markers parsed), and a marker
   followed by a capital letter also ends a sentence ("~A. Writer [2] Leadership ...");
3. questions to the learner are not claims, except for a premise they take for
   granted ("Since leadership copes with complexity, what ...?"), which is;
4. a lead-in that introduces article text ("The article says:", "Here is a
   clue:", "Here is the answer:") is dropped and what follows is the claim, a
   quotation without its quote marks;
5. sentences about the dialogue rather than the article are not claims: the
   tutor's fixed phrases (`DIALOGUE`: "Let's work it out ...", "(Type 'hint'
   ...)", "Read passage [1].", "Not quite.", hints and cloze gaps, which are clues, not statements)
   and "the article does not say/cover ..." (a decline in words).

Every excluded sentence is returned with its reason, so a report shows exactly
what was and was not scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.guard import split_answer
from tutor.language import terms as content_terms
from tutor.premise import question_premise

_LEAD_INS = re.compile(
    r"^(?:here is a clue|here's a clue|the article says|here is what it says|here's what it says|"
    r"here is what the article says|here is the answer|the answer|the article(?: \"[^\"]+\")? is about this|"
    r"think further|next question to think about|let's move on|now try again|"
    r"correct|yes, that's right)\s*[:.,]\s*",
    re.I,
)
DIALOGUE = re.compile(
    r"^\(?\s*(?:let's work it out|let us work it out|type 'hint'|type \"hint\"|hint\s*:|read passage\b|"
    r"fill the gap|quiz time|question \d+ of \d+|score\s*:|"
    r"(?:yes, )?that's right\.?$|correct\.?$|not quite\.?$|you're partly right\.?$|no problem\.?$)",
    re.I,
)
_DECLINE_WORDS = re.compile(
    r"\b(?:the )?(?:article|passages?|text)(?:\s+\"[^\"]+\")?\s+(?:does\s*not|doesn't|do\s*not|don't)\s+"
    r"(?:say|cover|mention|address|discuss|answer|contain|tell)\b",
    re.I,
)
# "... Writer [2] Leadership, however, ...": a marker followed by a capital ends a sentence
_MARKER_THEN_CAPITAL = re.compile(r"(\[\d+(?:\s*[,;]\s*\d+)*\])[ \t]+(?=[\"“]?[A-Z])")
_QUOTED = re.compile(r'^["“](.+?)["”]?$', re.S)


@dataclass(frozen=True)
class Claim:
    text: str  # what is checked against the passages
    cites: tuple[int, ...]  # citation numbers the reply gave it
    sentence: str  # the sentence as written (markers removed)


@dataclass(frozen=True)
class Claims:
    claims: list[Claim]
    excluded: list[tuple[str, str]]  # (sentence, why it is not a claim)


def reply_claims(answer: str, declined: bool) -> Claims:
    # step 1: a decline claims nothing
    if declined:
        return Claims([], [(answer, "decline text")])
    claims: list[Claim] = []
    excluded: list[tuple[str, str]] = []
    # step 2: sentences with their citation markers (a marker before a capital ends one)
    for s in _sentences(answer):
        text = s.text.strip()
        # step 3: questions, or the premise they carry
        if s.question:
            premise = question_premise(_strip_lead_in(text), presupposed=False)
            if premise:
                claims.append(Claim(premise, s.cites, text))
            else:
                excluded.append((text, "question to the learner"))
            continue
        # step 5 (checked on the sentence as written): the tutor's own phrases
        if DIALOGUE.match(text):
            excluded.append((text, "about the dialogue, not the article"))
            continue
        if _DECLINE_WORDS.search(text):
            excluded.append((text, "says the article does not cover something"))
            continue
        # step 4: lead-ins and quote marks
        body = _unquote(_strip_lead_in(text))
        if not content_terms(body):
            excluded.append((text, "says nothing about the article"))
            continue
        claims.append(Claim(body, s.cites, text))
    return Claims(claims, excluded)


def _strip_lead_in(text: str) -> str:
    for _ in range(2):
        m = _LEAD_INS.match(text)
        if not m:
            break
        text = text[m.end():].strip()
    return text


def _unquote(text: str) -> str:
    m = _QUOTED.match(text.strip())
    if m:
        return m.group(1).strip().rstrip('"”').strip()
    return text.strip().strip('"“”')


def denials(answer: str) -> list[str]:
    """Sentences of the reply that say the article does not say something."""
    return [s.text for s in _sentences(answer) if _DECLINE_WORDS.search(s.text)]


def without_denials(answer: str) -> str:
    """The reply minus its denials: naming a false premise in order to deny it
    is not asserting it."""
    return " ".join(s.text for s in _sentences(answer) if not _DECLINE_WORDS.search(s.text))


def _sentences(answer: str):
    return split_answer(_MARKER_THEN_CAPITAL.sub(r"\1\n", answer))


def asks_question(answer: str) -> bool:
    """Does the reply ask the learner something (a sentence ending in '?')?"""
    return any(s.question for s in _sentences(answer))
