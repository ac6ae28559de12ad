"""What a question takes for granted: the premise the tutor checks against
the article before it answers, and the guard checks in an LLM's questions.

Read off the question's parse (`tutor.language`): a leading "since/because/
given that X," clause; a negative yes/no question ("Isn't X Y?" asks to
confirm "X is Y"); the clause of a why/how question ("Why does X do
Y?"); the clause of a wh-question whose subject is a name ("What did X argue
in Y?"); the one statement before the question in a two-sentence message ("X
promised Y. Which part ...?"). And a question without its who-said-it
frame ("according to X", `strip_attribution`), which retrieval searches with.
Written by hand: no library reads presuppositions, and these few forms are
the ones learners and small models write.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc

from tutor import language as L

_LEAD_MARKS = frozenset({"since", "because", "as", "if", "given"})
_TWO_WORD_LEADS = frozenset({"now", "knowing", "given"})  # "now that X, ..."
_PREMISE_WH = frozenset({"why", "how"})
_LEARNER = frozenset({"i", "we", "you"})


def question_premise(question: str, presupposed: bool = True) -> str | None:
    """The statement a question takes for granted, if it has one, read off its
    parse: a leading "since/because/given that X," clause; the statement of a
    negative yes/no question ("Isn't X Y?" asks to confirm "X is Y"); the clause of a
    why/how question ("Why does X do Y?" takes "X do Y" for granted); the
    clause of a wh-question whose subject is a name ("What did X argue in
    Y?"); the one statement before the question in a two-sentence message
    ("X promised Y. Which part ...?"). A reporting frame ("does X say that
    ...") is dropped; a premise about "that/this/it" (pointing back in the
    dialogue) is none. `presupposed=False` reads only what the question
    states outright (the lead clause, the negative question, the statement
    before it), not what a why/how or wh-question takes for granted: the
    guard and the groundedness metric check a tutor's own questions, whose
    wh-gap ("What do the keepers have?") leaves no whole statement.

    >>> question_premise("Since leaders plan and budget, what do managers do?")
    'leaders plan and budget'
    >>> question_premise("Isn't the tower taller than the lamp?")
    'the tower is taller than the lamp'
    >>> question_premise("What does the article say about budgets?") is None
    True
    >>> question_premise("Why is that option appealing?") is None
    True
    >>> question_premise("How do I install the fonts on Windows?") is None
    True
    """
    doc = L.parse(question)
    sents = list(doc.sents)
    if len(sents) != 1:
        return _stated_before(sents)
    toks = [t for t in doc if not t.is_space]
    if not toks:
        return None
    # "Since X, what ...?", "Now that X, ...": the clause the lead word opens
    lead = 1 if toks[0].lower_ in _TWO_WORD_LEADS and len(toks) > 1 and toks[1].lower_ == "that" else 0
    clause = None
    if lead:
        clause = toks[1].head if toks[1].dep_ == "mark" else None
    elif toks[0].lower_ in _LEAD_MARKS and toks[0].head.dep_ == "advcl":
        clause = toks[0].head
    if clause is not None:
        body = [t for t in clause.subtree if t.i > toks[lead].i and not (t.lower_ == "that" and t.i == toks[lead].i + 1)]
        return _premise_text(body)
    if toks[0].pos_ == "AUX" and len(toks) > 1 and toks[1].dep_ == "neg":
        return _negative_question(toks)
    if not presupposed:
        return None
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


def _declarative(body):
    """'does X do Y' -> 'X does do Y'; 'is X Y' -> 'X is Y'; "doesn't X rise" -> 'X does not rise':
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
    # "did" stays ("Brightwater did grind the lens"): without it the bare verb
    # after the subject ("Brightwater grind the lens") misleads the parser
    middle = [aux] + negs
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


def _negative_question(toks) -> str | None:
    """"Isn't the tower tall?" asks to confirm "the tower is tall"; "Doesn't
    the keeper paint it?" takes "the keeper paint it" for granted (the
    auxiliary "do" goes, any other follows the subject). The subject is the
    words up to the first noun or name after the negation (and the nouns
    that follow it, short of the last word): the small parser often
    mislabels an inverted subject."""
    aux, body = toks[0], [t for t in toks[2:] if not t.is_punct]
    words = [t.lower_ for t in body]
    for frame in (["it", "true", "that"], ["it", "the", "case", "that"]):  # "Isn't it true that X?" states X
        if words[: len(frame)] == frame:
            return _premise_text(body[len(frame):])
    end = next((k for k, t in enumerate(body) if t.pos_ in ("NOUN", "PROPN", "PRON")), None)
    if end is None:
        return None
    while end + 2 < len(body) and body[end + 1].pos_ in ("NOUN", "PROPN"):  # the last word is the predicate
        end += 1
    words = body[: end + 1] + ([aux] if aux.lemma_ != "do" else []) + body[end + 1:]
    return _premise_text(words, lowered={aux.i})


def _premise_text(tokens, lowered=frozenset()) -> str | None:
    words = [t for t in tokens if not t.is_punct or t.text in ("-", "'")]
    text = ""
    for k, t in enumerate(words):
        glue = k == 0 or t.text.startswith(("'", "’")) or t.text == "-" or (k and words[k - 1].text == "-")
        word = "not" if t.lower_ in ("n't", "n’t") else t.lower_ if t.i in lowered else t.text
        text += ("" if glue else " ") + word
    text = text.strip(" ,")
    if len(text.split()) < 3 or len(L.terms(text)) < 2:
        return None
    first = words[0] if words else None
    if first is not None and first.lower_ in L.PRONOUNS and first.lower_ not in ("one",):
        return None  # "that option", "it": the premise points back into the dialogue
    if first is not None and first.lower_ in _LEARNER:
        return None  # "How do I install X?" asks for a way to do it; it claims nothing about the article's world
    return text


def strip_attribution(question: str | Doc) -> str:
    """The question without who-said-it frames, which otherwise pull retrieval
    toward any sentence naming that person: "according to X" and "in X's view"
    phrases, and a reporting verb whose subject is a name and whose clause is
    the real question ("What does X say management copes with?").

    >>> strip_attribution("What do leaders do, according to the author?")
    'What do leaders do?'
    """
    doc = L.as_doc(question)
    drop: set[int] = set()
    for t in doc:
        # "according to X", "in the view of X", "as argued by X"
        if t.lower_ == "according" and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "to":
            drop |= {x.i for x in t.subtree}
            if t.i > 0 and doc[t.i - 1].text == ",":
                drop.add(t.i - 1)
        if t.dep_ == "prep" and t.lower_ in ("in", "for") and any(
            c.dep_ == "pobj" and c.lemma_ in ("view", "opinion", "account", "words") and any(g.dep_ == "poss" for g in c.children)
            for c in t.children
        ):
            drop |= {x.i for x in t.subtree}
            if t.i > 0 and doc[t.i - 1].text == ",":
                drop.add(t.i - 1)
    for t in doc:
        # "does X say (that) Y ...": keep Y (the small parser often takes Y's verb
        # for a noun, so what follows the verb counts whatever its label)
        if t.pos_ != "VERB" or L.lemma(t) not in L.REPORTING_VERBS:
            continue
        subj = [c for c in t.children if c.dep_ == "nsubj"]
        after = doc[t.i + 1 :]
        nxt = after[0] if len(after) else None
        if not subj or not any(x.pos_ == "PROPN" for x in subj[0].subtree) or nxt is None:
            continue
        if nxt.pos_ == "ADP" or nxt.is_punct or len(L.terms(after)) < 2:
            continue  # "what did X say about Y?" asks what X said
        drop |= {x.i for x in subj[0].subtree} | {t.i}
        drop |= {c.i for c in t.children if c.dep_ == "aux"}
        if nxt.lower_ == "that":
            drop.add(nxt.i)
    if not drop:
        return doc.text
    kept = "".join(t.text_with_ws for t in doc if t.i not in drop).strip()
    kept = " ".join(kept.split()).replace(" ?", "?").replace(" ,", ",").strip(", ")
    if not kept.endswith("?") and doc.text.rstrip().endswith("?"):
        kept = kept.rstrip(".,") + "?"
    return kept if len(L.terms(kept)) >= 1 else doc.text
