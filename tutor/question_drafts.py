"""Drafting a question bank from the article's parse, with no LLM.

Ingest parses every article once (`tutor.parsed`); this module reads that
parse and drafts the questions a teacher would ask about each section:

* definitions ("X is a Y ...")            -> "What is X?"
* causes and purposes ("... because Z")   -> "Why does X ...?"
* comparisons ("X is larger than Y")      -> "How does X compare with Y?"
* quantities and dates ("... in 1850", "12 rooms")
                                          -> "When did ...?", "How many ... ?"
* names ("<person> wrote ...")            -> "Who wrote ...?"
* steps (imperative sentences)            -> "What should you ... ?"
* what a thing does ("X depends on Y")    -> "What does X depend on?"

Each question keeps its reference answer (the sentence), the sentence as the
supporting quote (verbatim, so `check_bank` accepts it), keywords taken from
the asked-for part (content words, names, numbers or noun phrases; never a
function word or a light verb) and a hint. Objectives are the article's
sections (their heading paths); every section with prose gets a question, and a
section where no sentence fits a question form gets a cloze that blanks a name,
number or key noun phrase.

Why this is written by hand: no maintained library turns a declarative English
sentence into a wh-question (question-generation packages are neural models or
unmaintained rule sets for old parsers). spaCy gives the dependency parse; the
few rules here move the asked-for constituent to the front and add do-support,
the way an English grammar describes wh-questions.

Deliberate simplifications: only the main clause of a sentence is turned into a
question; a sentence whose subject is a pronoun other than "we" or "you" is
not asked about (the question would not say what it is about); the small parser is sometimes wrong,
so every question is checked afterwards (the quote is verbatim, every keyword is
in the quote and absent from the question) and dropped otherwise.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from spacy.tokens import Span, Token

from tutor import language as L
from tutor.chunking import is_back_matter
from tutor.corpus import slugify
from tutor.parsed import ParsedDocument
from tutor.questions import BLANK, Objective, Question, QuestionBank, matches_keyword

DRAFTER_ID = "parse-drafts-1"  # stored with a drafted bank: another drafter means drafting again
DRAFT_HEADER = f"# drafted from the article's parse ({DRAFTER_ID}); a hand-written bank replaces it\n"

# light verbs that say nothing about the article (a keyword is never one of these)
GENERIC_VERBS = frozenset(
    "be have do make use want create get go take give put set let need seem become try come keep "
    "include provide allow help".split()
)
_MIN_WORDS, _MAX_WORDS = 6, 40
_MAX_QUESTION_WORDS = 24
_PER_SECTION = 12
_MAX_QUESTIONS = 40
_CANDIDATES = 80  # sentences per section tried as questions, most central first
# how much a teacher values each kind of question (a tie-break between sentences)
_KIND_WEIGHT = {
    "definition": 3.0, "cause": 2.5, "comparison": 2.2, "quantity": 2.0, "date": 2.0, "name": 1.6,
    "step": 1.5, "place": 1.4, "object": 1.0, "cloze": 0.0,
}
_WH_SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj")


@dataclass
class Draft:
    kind: str
    question: str
    keywords: list[str]
    sentence: int  # index into the parse's sentences
    score: float = 0.0


@dataclass
class Section:
    path: tuple[str, ...]  # heading path, outermost first ("" for text before any heading)
    start: int
    end: int
    sentences: list[int] = field(default_factory=list)


# ---- the bank -------------------------------------------------------------------------


def draft_from_parse(document, parsed: ParsedDocument, n: int | None = None) -> QuestionBank | None:
    """A bank drafted from `parsed` (the document's stored parse); None when the
    article has no sentence to ask about. `n` caps the number of questions
    (None: up to a few per section, every section with prose covered)."""
    sections = _sections(document, parsed)
    weights = _term_weights(parsed, [s for sec in sections for s in sec.sentences])
    per_section: list[list[Draft]] = []
    for sec in sections:
        drafts = []
        central = {i: _centrality(parsed.span(i), weights, sec) for i in sec.sentences}
        # the most central sentences only: bounds the cost on a long section
        for i in sorted(sec.sentences, key=lambda i: (-central[i], i))[:_CANDIDATES]:
            for d in _drafts_for(parsed.span(i), i, sec):
                d.score = central[i] + _KIND_WEIGHT[d.kind]
                drafts.append(d)
        if not drafts and sec.sentences:
            cloze = _best_cloze(parsed, sec, weights)
            if cloze is not None:
                drafts.append(cloze)
        drafts.sort(key=lambda d: (-d.score, d.sentence))
        per_section.append(drafts)
    chosen = _choose(per_section, sections, parsed, n)
    if not chosen:
        return None
    return _bank(document, parsed, sections, chosen)


def bank_yaml(document, parsed: ParsedDocument) -> str | None:
    """The drafted bank as YAML with the drafter's header (what ingest stores)."""
    from tutor.questions import dump_bank

    bank = draft_from_parse(document, parsed)
    return DRAFT_HEADER + dump_bank(bank) if bank is not None else None


def is_current_draft(text: str | None) -> bool:
    return bool(text) and text.startswith(DRAFT_HEADER)


def _choose(per_section: list[list[Draft]], sections: list[Section], parsed: ParsedDocument,
            n: int | None) -> list[tuple[int, Draft]]:
    """Round-robin over sections (best first), one question per sentence and per answer."""
    limit = n if n is not None else _MAX_QUESTIONS
    quota = [min(_PER_SECTION, 1 + len(sec.sentences) // 5) if n is None else _MAX_QUESTIONS for sec in sections]
    order = sorted(range(len(sections)), key=lambda k: -(per_section[k][0].score if per_section[k] else 0))
    used_sent: set[int] = set()
    used_answers: set[str] = set()
    used_questions: set[str] = set()
    taken = Counter()
    out: list[tuple[int, Draft]] = []
    progress = True
    while progress and len(out) < limit:
        progress = False
        for k in order:
            if len(out) >= limit or taken[k] >= quota[k]:
                continue
            for d in per_section[k]:
                answer = " ".join(parsed.sentences[d.sentence].text.split()).lower()
                if d.sentence in used_sent or answer in used_answers or d.question.lower() in used_questions:
                    continue
                used_sent.add(d.sentence)
                used_answers.add(answer)
                used_questions.add(d.question.lower())
                out.append((k, d))
                taken[k] += 1
                progress = True
                break
    out.sort(key=lambda kd: (kd[0], kd[1].sentence))
    return out


def _bank(document, parsed: ParsedDocument, sections: list[Section], chosen) -> QuestionBank:
    objectives: dict[int, list[Question]] = {}
    for number, (k, d) in enumerate(chosen, start=1):
        sentence = parsed.sentences[d.sentence].text
        objectives.setdefault(k, []).append(Question(
            id=f"q-draft-{number:02d}",
            question=d.question,
            answer=sentence,
            quotes=[sentence],
            keywords=d.keywords,
            hint=_hint(d, sections[k]),
        ))
    out, seen = [], set()
    for k, questions in objectives.items():
        path = sections[k].path
        oid = section_id(path)
        base, j = oid, 2
        while oid in seen:
            oid, j = f"{base}-{j}", j + 1
        seen.add(oid)
        where = " > ".join(path) if path else document.title
        out.append(Objective(id=oid, title=f'Explain the key ideas of "{where}"', questions=questions))
    return QuestionBank(doc_id=document.doc_id, objectives=out)


def _hint(d: Draft, section: Section) -> str:
    where = f'Look in the section "{section.path[-1]}". ' if section.path else ""
    first = d.keywords[0]
    if re.fullmatch(r"[\d.,]+", first):
        return f"{where}The answer is a number."
    return f'{where}The answer has a word beginning with "{first[:2]}".'


# ---- sections and sentences ----------------------------------------------------------


def section_id(path: tuple[str, ...]) -> str:
    """The objective id of a section: its heading path as a slug."""
    return "section-" + (slugify(" ".join(path))[:60].strip("-") or "article") if path else "overview"


def prose_sections(document, parsed: ParsedDocument) -> list[tuple[str, ...]]:
    """Heading paths of the sections that hold prose to ask about."""
    return [sec.path for sec in _sections(document, parsed) if sec.sentences]



def _sections(document, parsed: ParsedDocument) -> list[Section]:
    """The article's sections (text between one heading and the next), with
    the sentences worth asking about in each."""
    heads = sorted(document.headings, key=lambda h: h.start)
    sections = [Section((), 0, heads[0].start if heads else len(document.text))]
    stack: list = []
    for j, h in enumerate(heads):
        while stack and stack[-1].level >= h.level:
            stack.pop()
        stack.append(h)
        end = heads[j + 1].start if j + 1 < len(heads) else len(document.text)
        sections.append(Section(tuple(x.text for x in stack), h.end, end))
    heading_spans = [(h.start, h.end) for h in heads]
    for sec in sections:
        if is_back_matter(sec.path):
            continue  # a reference list is no place to ask about
        for i in parsed.sentences_in(sec.start, sec.end):
            s = parsed.sentences[i]
            if i in parsed.instructions or any(a <= s.start < b for a, b in heading_spans):
                continue
            if _usable(parsed.span(i)):
                sec.sentences.append(i)
    return [sec for sec in sections if sec.sentences or sec.path]


def _usable(span: Span) -> bool:
    """Prose worth asking about: a sentence of fair length with a finite verb
    (an instruction counts), not a question, a list of names or a reference."""
    text = span.text
    n = len(L.words(text))
    if not (_MIN_WORDS <= n <= _MAX_WORDS) or L.is_question(text):
        return False
    finite = any(t.tag_ in ("VBD", "VBZ", "VBP", "MD") for t in span) or (
        span.root.tag_ == "VB" and span.root.i == _first_word(span).i)
    lower = sum(1 for t in span if t.is_alpha and t.is_lower)
    return finite and lower >= 0.5 * n


def _term_weights(parsed: ParsedDocument, indexes: list[int]) -> dict[str, float]:
    """Content lemma -> weight: recurring terms carry an article's ideas."""
    df = Counter()
    for i in indexes:
        df.update(set(L.terms(parsed.span(i))))
    return {t: math.log1p(n - 1) for t, n in df.items() if n > 1}


def _centrality(span: Span, weights: dict[str, float], sec: Section) -> float:
    lemmas = set(L.terms(span))
    heading = {t for h in sec.path[-1:] for t in L.terms(h)}
    score = sum(weights.get(t, 0.0) for t in lemmas) / math.sqrt(len(lemmas) or 1)
    return score + 0.8 * len(lemmas & heading)


# ---- question forms -------------------------------------------------------------------


def _drafts_for(span: Span, i: int, sec: Section) -> list[Draft]:
    root = span.root
    if root.pos_ not in ("VERB", "AUX") or _is_fragment(span):
        return []
    out: list[Draft] = []
    for maker in (_definition, _cause, _comparison, _quantity, _date, _name, _place, _step, _object):
        d = maker(span, root)
        if d is not None and _valid(d, span):
            d.sentence = i
            out.append(d)
    return out


def _is_fragment(span: Span) -> bool:
    return span.text.rstrip()[-1:] not in ".!;:\"”')" or span.text[:1].islower()


# a question cut from a sentence that runs on with dots (". . .North and South"):
# a full stop inside it, glued to the next word or doubled, is no question to ask
_BROKEN = re.compile(r"[a-z][.!?][A-Z]|\.\s*\.")


def _valid(d: Draft, span: Span) -> bool:
    n = len(L.words(d.question))
    if not d.keywords or n < 3 or n > _MAX_QUESTION_WORDS or _BROKEN.search(d.question):
        return False
    said = [t for t in L.terms(d.question.replace(BLANK, " ")) if t not in ("do", "be", "have", "you")]
    if len(set(said)) < (1 if d.kind == "definition" else 2):
        return False  # "What should you take?": too little to say what is asked
    for k in d.keywords:
        if not matches_keyword(k, span) or matches_keyword(k, d.question.replace(BLANK, " ")):
            return False
    return True


def _subject(verb: Token) -> Token | None:
    return next((c for c in verb.children if c.dep_ in _WH_SUBJECT_DEPS), None)


def _good_subject(tok: Token | None) -> bool:
    """A noun phrase that says what it is about (not a pronoun, not cut short,
    not pointing back: "its job", "this method" ask about something the
    question does not name)."""
    if tok is None or tok.pos_ not in ("NOUN", "PROPN") or tok.lower_ in L.PRONOUNS or tok.is_stop:
        return False
    if any(c.lower_ in L.PRONOUNS and c.dep_ in ("poss", "det") for c in tok.children):
        return False
    sub = list(tok.subtree)
    if len(sub) > 12 or any(t.text in "(),;:[]—–\"“”`" or t.dep_ in ("mark", "advcl") for t in sub):
        return False  # an aside, a list or a clause: no phrase to ask about
    last = [t for t in sub if not t.is_punct][-1]
    return not last.is_stop and len(tok.text) > 1


def _definition(span: Span, root: Token) -> Draft | None:
    """'X is (a) Y ...' -> 'What is X?'"""
    if root.lemma_ != "be":
        return None
    subj = _subject(root)
    attr = next((c for c in root.children if c.dep_ == "attr" and c.pos_ in ("NOUN", "PROPN")), None)
    if attr is None:  # "The goal of X is to present Y", "One theory is that Y"
        attr = next((c for c in root.children if c.i > root.i and (
            c.dep_ == "xcomp" and any(m.lower_ == "to" for m in c.children)
            or c.dep_ == "ccomp" and any(m.lower_ == "that" and m.dep_ == "mark" for m in c.children))), None)
    if not _good_subject(subj) or attr is None or L.negated(root):
        return None
    if any(c.lower_ in L.QUANTIFIERS for c in subj.children):
        return None  # "Every X is Y" says something of X, not what X is
    x = _render(_subtree(subj), lower_first=subj.left_edge.i == span.start)
    keys = _keywords(_subtree(attr), exclude=set(L.terms(x)))
    return Draft("definition", f"What {root.lower_} {x}?", keys, 0) if keys else None


def _cause(span: Span, root: Token) -> Draft | None:
    """'X happens because Z' / 'X does Y so that Z' -> 'Why does X happen?'"""
    reason = None
    for c in root.children:
        if c.dep_ == "advcl" and any(m.lower_ in ("because", "since") and m.dep_ == "mark" for m in c.children):
            reason = c
        elif c.dep_ == "prep" and c.lower_ in ("because", "due") and any(g.dep_ in ("pcomp", "pobj", "prep") for g in c.children):
            reason = c
        elif c.dep_ == "advcl" and c.tag_ == "VB" and c.i > root.i and any(
                m.dep_ == "aux" and m.lower_ == "to" for m in c.children) and any(
                o.dep_ == "dobj" for o in root.children):
            reason = c  # a purpose: "X did Y to reach Z"
    if reason is None:
        return None
    q = _wh_question(span, root, set(_subtree(reason)), "Why")
    if q is None:
        return None
    keys = _keywords(_subtree(reason), exclude=set(L.terms(q)))
    return Draft("cause", q, keys, 0) if keys else None


def _comparison(span: Span, root: Token) -> Draft | None:
    """'X is larger than Y' -> 'How does X compare with Y?'"""
    for tok in span:
        if tok.tag_ not in ("JJR", "RBR"):
            continue
        than = next((c for c in tok.children if c.lower_ == "than" and c.dep_ == "prep"), None)
        if than is None:
            continue
        other = next((g for g in than.children if g.dep_ == "pobj"), None)
        subj = _subject(root)
        if other is None or not _good_subject(subj) or tok.head != root and tok.head.head != root:
            continue
        word = tok if L.is_content(tok) else next((c for c in tok.children if L.is_content(c)), None)
        if word is None and tok.head.pos_ == "ADJ" and L.is_content(tok.head):
            word = tok.head
        if word is None:
            continue
        x = _render(_subtree(subj), lower_first=subj.left_edge.i == span.start)
        y = _render(_subtree(other), lower_first=False)
        q = f"How does {x} compare with {y}?"
        keys = [word.lower_] if word.lower_ not in L.STOP_WORDS else []
        return Draft("comparison", q, keys, 0) if keys else None
    return None


def _quantity(span: Span, root: Token) -> Draft | None:
    """'X has 12 rooms' -> 'How many rooms does X have?'"""
    for tok in span:
        if tok.dep_ != "nummod" or not tok.like_num or tok.ent_type_ in ("DATE", "TIME", "ORDINAL") or tok.lower_ == "one":
            continue
        noun = tok.head
        if noun.pos_ != "NOUN" or not noun.is_lower and noun.text != "%":
            continue
        host = _constituent(noun, root)
        if host is None or not (host == noun or host.dep_ == "prep" and noun.head == host):
            continue  # "the sum of two X is Y": the number is not what the clause is about
        of = next((c for c in noun.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        stuff = next((g for g in of.children if g.dep_ == "pobj"), None) if of is not None else None
        if noun.text == "%" or noun.lower_ in ("percent", "percentage"):
            wh = "What percentage"
        elif stuff is not None and _unit(noun):
            wh = f"How much {_render(_subtree(stuff), lower_first=False)}"
        elif _unit(noun) in ("second", "minute", "hour", "day", "week", "month", "year") and host.dep_ == "prep":
            wh = "How long"
        else:
            mods = [t for t in noun.lefts if t.dep_ in ("amod", "compound") and t != tok]
            wh = "How many " + " ".join([m.text for m in mods] + [noun.text])
        if host.dep_ == "prep" and wh.startswith("How many"):
            wh = f"{host.lower_.capitalize()} how many {wh[9:]}"
        q = _wh_question(span, root, set(_subtree(host)), wh, subject=host.dep_ in _WH_SUBJECT_DEPS)
        number = _number_text(tok)
        if q is None or not number:
            continue
        return Draft("quantity", q, [number], 0)
    return None


def _unit(noun: Token) -> str | None:
    return L._unit_name(noun)


def _number_text(tok: Token) -> str:
    text = tok.text.strip("~≈")
    return text if re.search(r"\w", text) else ""


def _date(span: Span, root: Token) -> Draft | None:
    """'X happened in 1850' -> 'When did X happen?'"""
    for c in root.children:
        if c.dep_ != "prep" or c.lower_ not in ("in", "on", "at", "during", "since", "until", "by", "before", "after"):
            continue
        obj = next((g for g in c.children if g.dep_ == "pobj"), None)
        if obj is None or obj.ent_type_ not in ("DATE", "TIME"):
            continue
        year = next((t for t in _subtree(c) if re.search(r"\d", t.text) or (t.ent_type_ in ("DATE", "TIME") and t.pos_ == "PROPN")), None)
        if year is None:
            continue
        q = _wh_question(span, root, set(_subtree(c)), "When")
        if q is not None:
            return Draft("date", q, [year.text], 0)
    return None


def _name(span: Span, root: Token) -> Draft | None:
    """'<person> did X' / 'X was done by <person>' -> 'Who did X?'"""
    for c in root.children:
        target = c
        if c.dep_ == "agent":
            target = next((g for g in c.children if g.dep_ == "pobj"), None)
        elif c.dep_ not in ("nsubj",):
            continue
        if target is None or target.ent_type_ != "PERSON":
            continue
        ent = next((e for e in span.ents if e.start <= target.i < e.end and e.label_ == "PERSON"), None)
        if ent is None:
            continue
        if c.dep_ == "nsubj":
            q = _wh_question(span, root, set(_subtree(c)), "Who", subject=True)
        else:
            q = _wh_question(span, root, set(_subtree(c)), "Who")
            q = q[:-1] + " by?" if q else None
        if q is None:
            continue
        last = [t for t in ent if t.pos_ == "PROPN" and t.is_alpha]
        if last:
            return Draft("name", q, [last[-1].text], 0)
    return None


def _place(span: Span, root: Token) -> Draft | None:
    """'X happened in <place>' -> 'Where did X happen?'"""
    for c in root.children:
        if c.dep_ != "prep" or c.lower_ not in ("in", "at", "from", "to"):
            continue
        obj = next((g for g in c.children if g.dep_ == "pobj"), None)
        if obj is None or obj.ent_type_ not in ("GPE", "LOC", "FAC"):
            continue
        q = _wh_question(span, root, set(_subtree(c)), "Where")
        if q is not None:
            return Draft("place", q, [obj.text], 0)
    return None


def _step(span: Span, root: Token) -> Draft | None:
    """An instruction ('Paint the door with care.') -> 'What should you paint with care?'"""
    if root.tag_ != "VB" or _subject(root) is not None or any(c.dep_ in ("aux", "auxpass") for c in root.children):
        return None
    if root.i != _first_word(span).i:
        return None
    obj = next((c for c in root.children if c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN")), None)
    if obj is None:
        return None
    drop = set(_subtree(obj))
    rest = [t for t in _subtree_of_clause(span, root) if t not in drop and t != root]
    q = _clean(f"What should you {root.lower_} {_render(rest, lower_first=False)}?")
    keys = _keywords(_subtree(obj), exclude=set(L.terms(q)))
    return Draft("step", q, keys, 0) if keys else None


def _object(span: Span, root: Token) -> Draft | None:
    """'X depends on Y' / 'X builds Y' -> 'What does X depend on?' / 'What does X build?'"""
    subj = _subject(root)
    if not (_good_subject(subj) or subj is not None and subj.lower_ in ("we", "you")) or root.pos_ != "VERB" or L.negated(root):
        return None
    target = next((c for c in root.children if c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN")), None)
    stranded, drop = None, set()
    if target is None:
        for c in root.children:
            if c.dep_ == "prep" and c.i > root.i:
                g = next((g for g in c.children if g.dep_ == "pobj" and g.pos_ in ("NOUN", "PROPN")), None)
                if g is not None and g.ent_type_ not in ("DATE", "TIME"):
                    target, stranded = g, c.lower_
                    break
    if target is None:  # "X is designed to present Y" -> "What is X designed to do?"
        target = next((c for c in root.children if c.dep_ == "xcomp" and c.i > root.i and c.pos_ == "VERB"
                       and any(m.dep_ == "aux" and m.lower_ == "to" for m in c.children)), None)
        if target is None:
            return None
        stranded = "do"
        drop = {m for m in target.children if m.dep_ == "aux" and m.lower_ == "to"}
    q = _wh_question(span, root, set(_subtree(target)) - drop, "What", stranded=stranded)
    if q is None:
        return None
    keys = _keywords(_subtree(target), exclude=set(L.terms(q)))
    return Draft("object", q, keys, 0) if keys else None


# ---- building a wh-question -----------------------------------------------------------

_DO = {"VBD": "did", "VBZ": "does", "VBP": "do", "VB": "do"}
_DROP_DEPS = ("advcl", "relcl", "parataxis", "conj", "cc", "appos", "acl", "npadvmod", "dep", "meta")


def _wh_question(span: Span, root: Token, target: set[Token], wh: str, *, subject: bool = False,
                 stranded: str | None = None) -> str | None:
    """The main clause of `span` as a question about `target` (moved out as `wh`):
    the subject is not inverted when it is the target; otherwise the first
    auxiliary (or a form of 'do') goes before the subject."""
    clause = [t for t in _subtree_of_clause(span, root) if t not in target]
    if subject:
        rest = [t for t in clause if t.i >= root.i or t.dep_ in ("aux", "auxpass", "neg")]
        return _finish(f"{wh} {_render(rest, lower_first=False)}?")
    subj = _subject(root)
    if subj is None or not _good_subject(subj) and subj.lower_ not in ("we", "you", "people"):
        return None
    subj_toks = set(_subtree(subj))
    auxes = [c for c in root.children if c.dep_ in ("aux", "auxpass") and c.i < root.i and c.lower_ != "to"]
    body = [t for t in clause if t not in subj_toks and (t.i > subj.i or t.head == root and t.dep_ in ("aux", "auxpass", "neg"))]
    subject_text = _render(sorted(subj_toks, key=lambda t: t.i), lower_first=subj.left_edge.i == span.start)
    if root.lemma_ == "be" and root.pos_ == "AUX" and not auxes:
        front, body = root.lower_, [t for t in body if t != root]
        verb_done = True
    elif auxes and auxes[0].lower_ == "shall" and root.lemma_ == "mean":
        # a definition in prescriptive text ("X shall mean Y"): "What does X mean?"
        front = "do" if subj.tag_ in ("NNS", "NNPS") else "does"
        body = [t for t in body if t != auxes[0]]
        verb_done = True
    elif auxes:
        # "shall" of a rule or a contract is "must" to a learner: "What must the keeper record?"
        front = "must" if auxes[0].lower_ == "shall" else auxes[0].lower_
        body = [t for t in body if t != auxes[0]]
        verb_done = True
    else:
        front = _DO.get(root.tag_)
        verb_done = False
        if front is None:
            return None
    words_out = []
    for t in body:
        if t == root and not verb_done:
            words_out.append(L.lemma(t) if t.lemma_ != "be" else t.lower_)
        else:
            words_out.append(t.text)
    text = " ".join(words_out)
    if stranded is not None and (stranded == "do" or stranded not in text.split()):
        text = f"{text} {stranded}"
    return _finish(f"{wh} {front} {subject_text} {text}?")


def _subtree_of_clause(span: Span, root: Token) -> list[Token]:
    """The main clause's tokens: without subordinate and side clauses, leading
    connectives, punctuation and bracketed asides."""
    drop: set[Token] = set()
    for c in root.children:
        if c.dep_ in _DROP_DEPS or (c.dep_ in ("advmod", "prep") and c.i < root.i and c.head == root and _before_subject(c, root)):
            drop.update(c.subtree)
    depth = 0
    out = []
    inner = span[1:] if span[0].text in "([" else span  # a sentence in brackets is no aside
    for t in inner:
        if t.text in "([":
            depth += 1
        if depth == 0 and t not in drop and not t.is_punct and t.dep_ != "punct":
            out.append(t)
        if t.text in ")]":
            depth = max(0, depth - 1)
    return out


def _before_subject(tok: Token, root: Token) -> bool:
    subj = _subject(root)
    return subj is None or tok.i < subj.left_edge.i


def _subtree(tok: Token) -> list[Token]:
    return [t for t in tok.subtree if not t.is_punct or t.text in "-/"]


def _constituent(noun: Token, root: Token) -> Token | None:
    """The root's dependent that holds `noun` (its prepositional phrase, for an
    object of a preposition); None when `noun` is not in the main clause."""
    t = noun
    while t.head != root and t.head != t:
        t = t.head
        if t.dep_ in _DROP_DEPS:
            return None
    return t if t.head == root and t != root else None


def _first_word(span: Span) -> Token:
    return next((t for t in span if not t.is_punct and not t.is_space), span[0])


def _render(tokens, lower_first: bool) -> str:
    toks = [t for t in tokens if not t.is_space]
    if not toks:
        return ""
    parts = []
    for k, t in enumerate(toks):
        text = t.text
        if k == 0 and (lower_first or t.pos_ == "DET") and t.pos_ != "PROPN" and t.ent_type_ not in L.ENTITY_LABELS and text != "I":
            text = text.lower()
        parts.append(text + (t.whitespace_ if k + 1 < len(toks) and toks[k + 1].i == t.i + 1 else " "))
    return "".join(parts).strip()


def _finish(text: str) -> str | None:
    text = _clean(text)
    return text if len(L.words(text)) >= 3 else None


def _clean(text: str) -> str:
    text = re.sub(r"\s+([,;:?.!'’)\]])", r"\1", text)
    text = re.sub(r"([(\[])\s+", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"[,;:]+\?$", "?", text)
    text = re.sub(r"\s+'s\b", "'s", text)
    return text[:1].upper() + text[1:]


# ---- keywords -----------------------------------------------------------------------


def _keywords(tokens: list[Token], exclude: set[str], limit: int = 2) -> list[str]:
    """Keywords from the asked-for part: names and numbers first, then the head
    noun phrase (noun with its compounds), then other content nouns and
    adjectives; never a function word, a light verb or a word of the question."""
    out: list[str] = []
    seen: set[str] = set(exclude)

    def add(words: list[Token]) -> None:
        lemmas = {L.lemma(w) for w in words}
        if not words or lemmas & seen or len(out) >= limit:
            return
        if not all(_keyword_token(w) for w in words):
            return
        seen.update(lemmas)
        out.append(" ".join(w.text for w in words).lower() if words[0].pos_ != "PROPN" else " ".join(w.text for w in words))

    toks = [t for t in tokens if not t.is_punct]
    for t in toks:  # names and numbers
        if t.like_num and t.ent_type_ not in ("ORDINAL",) or t.ent_type_ in L.ENTITY_LABELS and t.pos_ == "PROPN":
            add([t])
    for t in toks:  # head nouns with their compounds
        if t.pos_ in ("NOUN", "PROPN") and t.dep_ != "compound":
            comp = [c for c in t.lefts if c.dep_ == "compound" and _keyword_token(c)]
            add(comp + [t] if comp and len(comp) <= 1 else [t])
    for t in toks:
        if t.pos_ in ("ADJ", "VERB"):
            add([t])
    return out


def _keyword_token(t: Token) -> bool:
    if not L.is_content(t) or t.lower_ in L.STOP_WORDS or len(t.text) < 2:
        return False
    if L.lemma(t) in GENERIC_VERBS or t.lower_ in GENERIC_VERBS:
        return False  # "uses", "make": a light verb, whatever the tagger says here
    return bool(re.search(r"[A-Za-z0-9]", t.text))


def keyword_is_content(keyword: str) -> bool:
    """Every word of the keyword is a content word, name or number (point 7's check)."""
    doc = L.parse(keyword)
    toks = [t for t in doc if not t.is_punct]
    if not toks:
        return False
    for t in toks:
        if t.like_num:
            continue
        if t.lower_ in L.STOP_WORDS or L.lemma(t) in GENERIC_VERBS:
            return False
        if not (L.is_content(t) or t.pos_ in ("PROPN", "NOUN", "ADJ")):
            return False
    return True


# ---- cloze fallback ------------------------------------------------------------------


def _best_cloze(parsed: ParsedDocument, sec: Section, weights: dict[str, float]) -> Draft | None:
    """A cloze of the section's most central sentence, blanking a name, a number
    or its most recurrent noun phrase."""
    from tutor.questions import cloze

    ranked = sorted(sec.sentences, key=lambda i: (-_centrality(parsed.span(i), weights, sec), i))
    for i in ranked:
        span = parsed.span(i)
        candidates: list[tuple[float, list[Token]]] = []
        for t in span:
            if not _keyword_token(t):
                continue
            if t.like_num or (t.ent_type_ in L.ENTITY_LABELS and t.pos_ == "PROPN"):
                candidates.append((10.0, [t]))
            elif t.pos_ in ("NOUN", "PROPN") and t.dep_ != "compound":
                comp = [c for c in t.lefts if c.dep_ == "compound" and _keyword_token(c)][-1:]
                candidates.append((weights.get(L.lemma(t), 0.0) + 0.1 * len(t.text), comp + [t]))
        for _, toks in sorted(candidates, key=lambda c: (-c[0], c[1][0].i)):
            keyword = " ".join(t.text for t in toks)
            keyword = keyword if toks[0].pos_ == "PROPN" else keyword.lower()
            blanked = cloze(span.text, [keyword])
            if BLANK in blanked:
                d = Draft("cloze", f"Fill in the blank: {blanked}", [keyword], i)
                d.score = _centrality(span, weights, sec)
                return d
    return None
