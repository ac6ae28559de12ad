"""Resolve follow-ups ("And leadership?", "Why?", "What does it do?", "What
does the first one do?") into stand-alone questions before retrieval.

Everything is read from the parse of the previous turn (the learner's last
question, as resolved, and the tutor's last answer):

* a new focus ("And leadership?", "What about the experts?") takes the place
  of the previous question's noun phrase most like it (the same head word, or
  the closest by embedding): "What does management cope with?" + "And
  leadership?" -> "What does leadership cope with?";
* a pronoun ("it", "they", "this") is replaced by the noun phrase it points
  to: the previous question's subject or focus, else the subject of the
  tutor's first answer sentence, agreeing in number. What a "which ..."
  question asked for comes first, by the name the answer gave it ("Which log
  ...?" "... the harbour log." "How long is it kept?");
* an ordinal ("the first one", "the second") picks that item of the last list
  the tutor's answer (or the question) named: a run of coordinated noun
  phrases;
* a bare "Why?" or "How?" asks that of the previous question.

A follow-up that cannot be resolved is left as it is: nothing unrelated is
ever spliced into the question. An LLM, when configured, may rewrite instead
(`LLMResponder.rewrite`).

>>> resolve("And leadership?", "What does management cope with?")
'What does leadership cope with?'
>>> resolve("Why?", "What does management cope with?")
'Why? What does management cope with?'
"""

from __future__ import annotations

import re

import numpy as np
from spacy.tokens import Doc, Span, Token

from tutor import language as L

_LEAD = re.compile(r"^\s*(?:(?:and|but|so|ok(?:ay)?|then|also)\s+)?(?:what|how)\s+about\s+|^\s*(?:and|but|so)\s+", re.I)
_BARE = {"why", "how", "really", "how come", "why so", "why is that", "and why", "how so", "why not", "how exactly"}
_REFERRING = frozenset("it they them this these those that its their he she him her".split())
_ORDINAL_WORDS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1, "latter": -1, "former": 0}


def is_followup(message: str) -> bool:
    """A message that leans on the previous turn."""
    text = message.strip()
    bare = text.lower().rstrip("?.! ")
    if not bare:
        return False
    if bare in _BARE or _LEAD.match(text):
        return True
    doc = L.parse(text)
    return bool(_references(doc) or _ordinal(doc)) and len(L.terms(doc)) <= 3


def leans_on_pronoun(message: str) -> bool:
    """A follow-up through a pronoun or ordinal ("Who said it?"), not "And X?" nor a bare "Why?"."""
    bare = message.strip().lower().rstrip("?.! ")
    return is_followup(message) and bare not in _BARE and not _LEAD.match(message)


def resolve(message: str, previous: str | None, answer: str | None = None, embed=None) -> str:
    """Stand-alone version of `message`, given the previous learner question
    (`previous`, as resolved) and the tutor's answer to it (`answer`)."""
    if not previous or not is_followup(message):
        return message
    text = message.strip()
    bare = text.lower().rstrip("?.! ")
    if bare in _BARE:
        wh = "How" if bare.startswith("how") else "Why"
        return f"{wh}? {previous}"
    doc = L.parse(text)
    ordinal = _ordinal(doc)
    if ordinal is not None:
        item = _list_item(ordinal[1], answer, previous)
        if item and _LEAD.match(text):
            return _new_focus(_LEAD.match(text).group(0) + item, previous, embed)
        return _replace(doc, ordinal[0], item) if item else message
    if _LEAD.match(text):
        rest = _LEAD.sub("", text).strip()
        rdoc = L.parse(rest)
        if not _asks_itself(rdoc):
            return _new_focus(text, previous, embed)
        # "And where was it checked in?": a question of its own; only its pointers lean back
        doc, message = rdoc, rest[:1].upper() + rest[1:]
    refs = _references(doc)
    if refs:
        # "he" and "she" first: a person is found surely; then the other pointers,
        # never to what a co-argument already means ("did he replace it": it is not he)
        targets: dict[int, str] = {}
        for ref in sorted(refs, key=lambda t: (t.lower_ not in _PERSONAL, t.i)):
            taken = {targets[o.i] for o in refs if o.i in targets and o.head == ref.head}
            target = _target(ref, previous, answer, taken)
            if target:
                targets[ref.i] = target
        out = message
        for ref in sorted(refs, key=lambda t: -t.i):  # from the end, so earlier offsets stay valid
            if ref.i in targets:
                out = _replace_text(out, doc, _reference_span(ref), targets[ref.i],
                                    possessive=ref.lower_ in ("its", "their"))
        return out if targets else message
    return message


def _asks_itself(doc: Doc) -> bool:
    """A clause with its own question word and verb ("what does he pledge?"),
    not a new focus ("the technical experts?", "managers?")."""
    toks = [t for t in doc if not t.is_punct]
    return bool(toks) and toks[0].lower_ in L.WH_WORDS and any(t.pos_ in ("VERB", "AUX") for t in toks[1:])


_PERSONAL = frozenset("he she him her".split())
_DEMONSTRATIVE = frozenset("that this".split())


def _target(ref: Token, previous: str, answer: str | None, taken: set[str] = frozenset()) -> str | None:
    """What a pointer stands for: a person for "he"/"she", the thing the
    previous question asked about for a bare "that"/"this" ("How much salt
    ...?" "And what is that as a percentage?"), else the previous question's
    subject or object agreeing in number; never one of `taken` (what the
    pointer's co-arguments stand for)."""
    low = ref.lower_
    if low in _PERSONAL:
        return _person(previous, answer)
    if low in _DEMONSTRATIVE and ref.dep_ != "det":
        asked = _asked_noun(previous)
        if asked and asked not in taken:
            return asked
    plural = low in ("they", "them", "these", "those", "their")
    return _antecedent(previous, answer, plural, persons=False, taken=taken)


def _person(previous: str, answer: str | None) -> str | None:
    """The person the previous turn named: in the question, else the answer."""
    for text in (previous, answer):
        if not text:
            continue
        sent = next(iter(L.parse(_plain(text)).sents), None)
        if sent is None:
            continue
        people = [e for e in sent.ents if e.label_ == "PERSON"]
        if people:
            return people[0].text
        names = [t for t in sent if t.pos_ == "PROPN" and t.dep_ in ("nsubj", "nsubjpass", "pobj", "dobj")]
        if names:
            return _phrase(names[0])
    return None


def _asked_noun(previous: str) -> str | None:
    """The noun the previous question's wh-word asks about ("how much *salt*", "which *virtue*")."""
    doc = L.parse(previous)
    for t in doc:
        if t.lower_ in L.WH_WORDS:
            head = t.head
            while head.pos_ not in ("NOUN", "PROPN") and head.head.i != head.i and head.i - t.i < 3 and head.i > t.i:
                head = head.head
            if head.pos_ in ("NOUN", "PROPN") and head.i > t.i and head.i - t.i <= 3:
                asked = {x.i for x in t.subtree} | {t.head.i} if t.head.i != head.i else {x.i for x in t.subtree}
                words = [x for x in head.subtree if x.i <= head.i and x.i not in asked and x.lower_ not in L.WH_WORDS]
                return " ".join(x.text for x in words) or None
            return None
    return None


# ---- a new focus ------------------------------------------------------------------


def _new_focus(text: str, previous: str, embed) -> str:
    focus = _LEAD.sub("", text).strip().rstrip("?.! ")
    fdoc = L.parse(focus)
    pdoc = L.parse(previous)
    chunks = [c for c in pdoc.noun_chunks if any(L.is_content(t) for t in c)]
    if not L.terms(fdoc) or not chunks:
        return text  # nothing to put in place of what: leave it as asked
    target = _most_similar(fdoc, chunks, embed)
    return pdoc.text[: target.start_char] + focus + pdoc.text[target.end_char :]


def _most_similar(focus: Doc, chunks: list[Span], embed) -> Span:
    heads = {L.lemma(focus[:].root), L.stem(L.lemma(focus[:].root))}
    for c in chunks:  # the same head word: replace that very phrase ("the experts")
        if {L.lemma(c.root), L.stem(L.lemma(c.root))} & heads:
            return c
    if embed is None:
        return chunks[-1]
    vecs = embed([focus.text] + [c.text for c in chunks])
    return chunks[int(np.argmax(vecs[1:] @ vecs[0]))]


# ---- pronouns and ordinals ---------------------------------------------------------


def _references(doc: Doc) -> list[Token]:
    return [t for t in doc if t.lower_ in _REFERRING and t.pos_ in ("PRON", "DET") and not _is_dummy(t)]


def _is_dummy(tok: Token) -> bool:
    """'it' in "is it true that ...", 'that' as a conjunction."""
    return tok.dep_ in ("expl", "mark") or (tok.lower_ == "that" and tok.pos_ == "SCONJ")


def _reference_span(tok: Token) -> tuple[int, int]:
    """Token range to replace: "this option" as a whole when 'this' is a determiner."""
    if tok.dep_ == "det" and tok.head.pos_ in ("NOUN", "PROPN"):
        return tok.i, tok.head.i + 1
    return tok.i, tok.i + 1


def _ordinal(doc: Doc) -> tuple[tuple[int, int], int] | None:
    """("the first one" token range, item index) for an ordinal reference."""
    for t in doc:
        if t.lower_ in _ORDINAL_WORDS and t.pos_ in ("ADJ", "NUM", "NOUN", "ADV"):
            start = t.i - 1 if t.i > 0 and doc[t.i - 1].lower_ in ("the", "your") else t.i
            end = t.i + 1
            if end < len(doc) and doc[end].lower_ in ("one", "ones", "item", "point", "option", "step", "thing"):
                end += 1
            elif t.head.pos_ in ("NOUN",) and t.head.i == end:
                return None  # "the first step of X" names its own noun: not a reference
            return (start, end), _ORDINAL_WORDS[t.lower_]
    return None


def _list_item(index: int, answer: str | None, previous: str | None) -> str | None:
    """The index-th item of the longest list the answer (else the question)
    names: coordinated noun phrases or verb phrases from the parse, or noun
    chunks joined only by commas and "and"/"or"."""
    for text in (answer, previous):
        if not text:
            continue
        doc = L.parse(_plain(text))
        runs = []
        for t in doc:
            if t.dep_ == "conj" or t.pos_ not in ("NOUN", "PROPN", "VERB"):
                continue
            items = [t, *[c for c in t.conjuncts if c.i > t.i]]
            runs.append([_phrase(x) if x.pos_ != "VERB" else _verb_phrase(x) for x in items])
        runs += _chunk_runs(doc)
        runs = [r for r in runs if len(r) >= 2]
        if runs:
            items = max(runs, key=len)
            if -len(items) <= index < len(items):
                return items[index]
    return None


def _chunk_runs(doc: Doc) -> list[list[str]]:
    """Runs of noun chunks separated only by ',', 'and' or 'or' (a word the
    parser left out of the next chunk, like an adjective it took for a verb,
    joins that chunk)."""
    chunks = list(doc.noun_chunks)
    runs: list[list[str]] = []
    cur: list[str] = []
    for a, b in zip(chunks, chunks[1:], strict=False):
        between = [t for t in doc[a.end : b.start] if not t.is_space]
        glue = [t for t in between if t.text in (",", "and", "or")]
        extra = [t for t in between if t not in glue]
        if glue and len(extra) <= 1 and (not extra or extra[0].i == b.start - 1):
            cur = cur or [a.text]
            cur.append(doc[extra[0].i if extra else b.start : b.end].text)
        else:
            if cur:
                runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


def _verb_phrase(tok: Token) -> str:
    objs = [c for c in tok.children if c.dep_ in ("dobj", "attr", "prt")]
    end = max([tok.i] + [x.i for c in objs for x in c.subtree])
    return tok.doc[tok.i : end + 1].text


def _antecedent(previous: str, answer: str | None, plural: bool, persons: bool = True,
                taken: set[str] = frozenset()) -> str | None:
    """The noun phrase a pronoun points to: the previous question's subject or
    focus, else the subject of the answer's first sentence (not a person,
    without `persons`: "it" is not "Mara Quill"; none of `taken`). A phrase that
    agrees in number comes first, from the question or else the answer ("his
    faults" is not "it"); failing that, the question's first candidate."""
    fallback = None
    for text in (previous, answer):
        if not text:
            continue
        doc = L.parse(_plain(text))
        sent = next(iter(doc.sents), None)
        if sent is None:
            continue
        cands = [t for t in sent if t.dep_ in ("nsubj", "nsubjpass") and t.pos_ in ("NOUN", "PROPN")]
        cands += [t for t in sent if t.dep_ in ("dobj", "pobj", "attr") and t.pos_ in ("NOUN", "PROPN")]
        if text is previous:  # what the question asked for is what the answer was about: it comes first
            cands.sort(key=lambda t: not _asked_which(t))
        if not persons:
            cands = [t for t in cands if t.ent_type_ != "PERSON"]
        cands = [t for t in cands if _phrase(t) not in taken and t.text not in taken and not _idiom_object(t)]
        name = (lambda t: _named_by(t, answer)) if text is previous else _phrase
        for t in cands:
            if plural == (t.tag_ in ("NNS", "NNPS")) or t.pos_ == "PROPN" and not plural:
                return name(t)
        if cands and fallback is None:
            fallback = name(cands[0])
    return fallback


def _asked_which(tok: Token) -> bool:
    return any(c.lower_ in ("which", "what") and c.dep_ == "det" for c in tok.children)


def _named_by(tok: Token, answer: str | None) -> str:
    """The question's noun phrase, or the answer's name for it when the
    question asked which one it is: "Which log ...?" answered with "... in the
    harbour log every night" makes a later "it" "the harbour log"."""
    if _asked_which(tok) and answer:
        lemma = L.lemma(tok)
        for t in L.parse(_plain(answer)):
            if t.pos_ == "NOUN" and L.lemma(t) == lemma and any(
                    c.dep_ in ("compound", "amod", "nmod", "poss") for c in t.lefts):
                return _phrase(t)
    return _phrase(tok)


def _asks(tok: Token) -> bool:
    """A word of the question form: "how", "much"/"many" after it, "which"."""
    return tok.lower_ in L.WH_WORDS or tok.lower_ in ("much", "many") and any(c.lower_ == "how" for c in tok.children)


def _idiom_object(tok: Token) -> bool:
    """A bare singular object ("keep *track* of", "take *place*"): part of the
    verb's idiom, not a thing a later pronoun points to."""
    return tok.dep_ == "dobj" and tok.tag_ == "NN" and not any(True for _ in tok.lefts)


def _phrase(tok: Token) -> str:
    """A noun with its own modifiers ("the technical experts"), no clauses."""
    left = [c for c in tok.lefts if c.dep_ in ("det", "amod", "compound", "poss", "nummod", "nmod")]
    # not the question's own words ("how much salt" is "salt")
    start = min([tok.i] + [x.i for c in left for x in c.subtree if not _asks(x)])
    return tok.doc[start : tok.i + 1].text


def _replace(doc: Doc, span: tuple[int, int], text: str, possessive: bool = False) -> str:
    return _replace_text(doc.text, doc, span, text, possessive)


def _replace_text(current: str, doc: Doc, span: tuple[int, int], text: str, possessive: bool = False) -> str:
    """`current` (the parsed `doc`'s text, maybe edited after `span`) with the span replaced."""
    a, b = span
    if possessive:
        text = text + ("'" if text.endswith("s") else "'s")
    start = doc[a].idx
    end = doc[b - 1].idx + len(doc[b - 1].text)
    if a == 0 and text[:1].islower():
        text = text[:1].upper() + text[1:]
    return current[:start] + text + current[end:]


def _plain(text: str) -> str:
    """An answer without citation markers and its "Think further" line."""
    text = re.split(r"\n\s*\n", text)[0]
    return re.sub(r"\s*\[\d+(?:\s*,\s*\d+)*\]", "", text)


# kept for callers of the earlier name
def rewrite(message: str, previous: str | None, embed=None, answer: str | None = None) -> str:
    return resolve(message, previous, answer, embed)
