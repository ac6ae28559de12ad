"""Resolve elliptical follow-ups ("And leadership?", "Why?", "What about the
experts?") into stand-alone questions before retrieval.

Deterministic rewrite: a short message that leans on the previous question is
merged with it. When it names a new focus ("leadership"), that word replaces the
most similar content word of the previous question (similarity from the
sentence embedder, so "experts" replaces "managers" and "leadership" replaces
"management"). A bare "Why?" or "How?" asks the previous question again with
that word in front. An LLM, when configured, may rewrite instead.
"""

from __future__ import annotations

import re

import numpy as np

from tutor.text import STOPWORDS, content_terms, words

_LEADS = re.compile(
    r"^\s*(and|but|so|ok(ay)?|then|also)?\s*(what|how)\s+about\s+|^\s*(and|but|so)\s+",
    re.IGNORECASE,
)
_BARE_WH = {"why", "how", "really", "how come", "why so", "why is that", "and why", "how so"}
_PRONOUNS = {"it", "they", "them", "that", "this", "those", "these", "he", "she", "their", "its"}


def is_followup(message: str) -> bool:
    text = message.strip().lower().rstrip("?.! ")
    if not text:
        return False
    if text in _BARE_WH or _LEADS.match(message):
        return True
    toks = words(text)
    return len(content_terms(text)) <= 2 and any(t in _PRONOUNS for t in toks) and len(toks) <= 8


def leans_on_pronoun(message: str) -> bool:
    """A follow-up like "Who said it?" (not "And leadership?" nor a bare "Why?")."""
    bare = message.strip().lower().rstrip("?.! ")
    return is_followup(message) and bare not in _BARE_WH and not _LEADS.match(message)


def rewrite(message: str, previous: str | None, embed=None) -> str:
    """Stand-alone version of `message` given the previous learner question."""
    if not previous or not is_followup(message):
        return message
    text = message.strip()
    bare = text.lower().rstrip("?.! ")
    if bare in _BARE_WH:
        wh = "How" if bare.startswith("how") else "Why"
        return f"{wh}? {previous}"
    if leans_on_pronoun(text):
        # "Why is that appealing?", "Who said it?": the pronoun points back at the
        # previous question, so ask both together.
        return f"{text} {previous}"
    focus = _LEADS.sub("", text).strip().rstrip("?.! ")
    focus_words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", focus) if w.lower() not in STOPWORDS]
    if not focus_words:
        return f"{previous.rstrip('?')} {text}"
    candidates = [
        m for m in re.finditer(r"[A-Za-z][A-Za-z'-]*", previous)
        if m.group().lower() not in STOPWORDS and len(m.group()) > 2
    ]
    if not candidates:
        return f"{previous.rstrip('?')} {text}"
    target = _most_similar(" ".join(focus_words), [m.group() for m in candidates], embed)
    start, end = candidates[target].start(), candidates[target].end()
    # a two-word focus ("technical experts") replaces a two-word phrase ("positional leaders")
    if len(focus_words) >= 2 and target > 0:
        before = candidates[target - 1]
        if previous[before.end() : start].strip() == "" and before.group().lower() not in {
            w.lower() for w in focus_words
        }:
            start = before.start()
    return previous[:start] + " ".join(focus_words) + previous[end:]


def _most_similar(focus: str, options: list[str], embed) -> int:
    focus_stem = set(content_terms(focus))
    for i, o in enumerate(options):  # same stem: replace that very word
        if set(content_terms(o)) & focus_stem:
            return i
    if embed is None:
        return len(options) - 1
    vecs = embed([focus, *options])
    sims = vecs[1:] @ vecs[0]
    return int(np.argmax(sims))
