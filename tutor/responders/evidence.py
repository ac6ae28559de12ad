"""Sentence-level evidence: which sentences of the retrieved passages answer a
question, and how they are numbered as citations.

A sentence's score mixes its cosine similarity to the question with the share
of the question's content words it uses (by lemma, WordNet relation or word
embedding, weighted by rarity), and who-does-what: a sentence whose verb
matches the question's and whose subject is the question's subject ranks up,
one with the roles the other way round ("the coral gives the algae ..." for
"what do the algae give the coral?") ranks down. A sentence that opens with a
pronoun is read with the sentence before it, and one whose main subject points
back ("If the loaf is flat, this is the step to improve") is quoted with it
(`ranking.leans_back`): the answer says what "this" is. The answer is the best
sentence, the next one when it continues it (a lead-in ending in ':', "Here are
...", a sentence that only echoes the question, a next one opening "Nor
...", "But ..." or "However, ..." or taking up one of the things named: "... the hard questions." + "One
question is this: ...?"), and close runners-up that also serve the question (about the same nouns
and names, sharing enough of its words; a likely one that gives the asked
name, date or amount when no other does, however far behind; a likely one
right after the best sentence), one to four
sentences in the article's order. A question the article asks itself ("6)
Should X inherit from Y?") leads into the sentence below it, across the
paragraph break, and a bare reply there ("Yes.") into the reason after it. A
question that asks several things ("What is X called, and how long does it
take?", split by `language.question_asks`) gets each part's best sentences,
ranked for that part among the passages retrieved for the whole. A code line,
command or URL is never an answer by itself (`retrieve._usable`), but a
sentence that leads into one ("If you just want the command-line tool, run") brings it
along, and the words after it that finish the sentence ("and copy them from
...").

Sentence embeddings and parses were made at ingest, so a warm question costs
one query embedding and one parse.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor import language as L
from tutor.ranking import leans_back, ranker, same_paragraph
from tutor.reply import Citation
from tutor.retrieve import Candidate, Hit, Retrieval

MAX_SENTENCES = 4
RUNNER_UP = 0.7  # a runner-up needs this share of the best sentence's probability


@dataclass(frozen=True)
class Evidence:
    """One article sentence, where it sits, and how well it answers."""

    doc_id: str
    start: int
    end: int
    text: str
    hit: int  # index into Retrieval.hits of the passage it came from
    score: float
    follows: Candidate | None = None  # the next sentence, when this one only leads into it
    number: int = -1  # sentence number in the document
    lexical: float = 0.0  # weighted share of the question's content words it uses
    topical: float = 1.0  # share of the question's nouns and names it uses
    serves: frozenset = frozenset()  # which of the question's words (and its answer form, -1) it covers
    then: Candidate | None = None  # after `follows` when that is a code line: the words that finish the sentence
    leans: Candidate | None = None  # the sentence before, which this one points back to ("this is the step ...")
    continued: bool = False  # `follows` cannot stand alone: it points back or turns this one ("However, ...")


def rank_sentences(retrieval: Retrieval, query: str | None = None, query_vector=None) -> list[Evidence]:
    """All candidate sentences, best first, by the fitted ranker (`tutor.ranking`);
    for `query` (one part of the retrieved question, embedded as `query_vector`) when given."""
    from tutor.ranking import rank

    rows = rank(retrieval, query, query_vector) if query is not None or not retrieval.ranked else retrieval.ranked
    if not rows:
        return []
    snap = retrieval.snapshot
    qdoc = L.parse(query or retrieval.focus or retrieval.query)
    by_key = {(c.doc_id, c.number): c for c, _, _ in rows}
    out = []
    for c, f, p in rows:
        parsed = snap.parsed(c.doc_id)
        nxt = by_key.get((c.doc_id, c.number + 1))  # within the retrieved passages, so it is cited
        follows, continued = None, False
        if nxt is not None and same_paragraph(parsed, c.number, nxt.number):
            continued = _continues(parsed, nxt.number)
            if continued or _leads_in(c, f, parsed, qdoc, retrieval) or _takes_up(parsed, c.number, nxt.number):
                follows = nxt
        elif nxt is not None and L.is_question(c.text):
            follows = nxt  # a question on its own line ("6) Should X ...?") is answered below it
        then = None
        if follows is None and _into_code(c.text) and parsed.is_code(c.number + 1):
            follows = _candidate(c, parsed, c.number + 1)  # "..., run" + "git clone URL" + "and copy ..."
            if c.number + 2 < len(parsed.sentences) and _finishes(parsed.sentences[c.number + 2].text):
                then = _candidate(c, parsed, c.number + 2)
        back = leans_back(parsed, c.number)
        leans = None if back is None else by_key.get((c.doc_id, back)) or _candidate(c, parsed, back)
        out.append(Evidence(c.doc_id, c.start, c.end, c.text, c.hit, p, follows, c.number, f["lexical"], f["topical"],
                            f.get("_serves", frozenset()), then, leans, continued and follows is not None))
    return out


def _into_code(text: str) -> bool:
    """A sentence that leads into a code line or command: it ends with ':' or
    stops without a full stop ("If you just want the command-line tool, run")."""
    end = text.rstrip().rstrip("\"'”’)")
    return bool(end) and (end.endswith(":") or end[-1].isalnum())


def _finishes(text: str) -> bool:
    """The words after a code line that finish its sentence ("and copy them from ...")."""
    first = text.lstrip()[:1]
    return first.islower()


def _candidate(c: Candidate, parsed, number: int) -> Candidate:
    """Sentence `number` of the document, as a sentence of `c`'s passage."""
    s = parsed.sentences[number]
    return Candidate(c.hit, c.doc_id, number, s.start, s.end, s.text, c.dense)


def _leads_in(c, f, parsed, qdoc, retrieval) -> bool:
    """The sentence only leads into the answer: it ends with ':', it is a
    question the article goes on to answer, it hardly says more than the
    question, or the question asks why or how and the sentence gives no reason."""
    text, span = c.text.rstrip(), parsed.span(c.number)
    if text.endswith(":") or L.is_question(text) or _presents(span):
        return True
    if f["lexical"] >= 0.8 and _adds_little(span, qdoc):
        return True
    form = retrieval.form
    return bool(form and form.expects in ("REASON", "MANNER")
                and not any(L.lemma(t) in _CAUSAL for t in span))


_CAUSAL = frozenset("because since so therefore thus hence help allow let cause make reason order".split())
_CONTINUING = frozenset("this that these those it they which so thus therefore then nor but however yet".split())


def _presents(span) -> bool:
    """"Here are my pronouncements.": a sentence that only presents what follows."""
    root = span.root
    return L.lemma(root) == "be" and any(t.lower_ == "here" and t.dep_ in ("advmod", "expl") for t in root.children)


def _bare(text: str) -> bool:
    """A reply of a few words ("Yes.", "=> True and False."): an answer whose reason follows."""
    return sum(1 for w in text.split() if any(ch.isalpha() for ch in w)) <= 4


def _continues(parsed, number: int) -> bool:
    """A sentence that cannot stand alone: it opens with a pointer back ("This
    ...", "They ...", "So ...", "Nor ...") or turns what came before ("But
    ...", "However, ..."): quoted without it, the sentence before may say
    what its author does not mean. Not a question ("But do they need ...?")."""
    span = parsed.span(number)
    first = next((t for t in span if not t.is_punct), None)
    return (first is not None and first.lower_ in _CONTINUING
            and first.dep_ in ("nsubj", "nsubjpass", "det", "advmod", "mark", "cc") and not L.is_question(span.text))


_ONE_OF = frozenset("one another first each".split())


def _takes_up(parsed, number: int, nxt: int) -> bool:
    """The next sentence takes up one of the things this one names in the
    plural: "I ask them the hard questions." + "One question is this: ...?",
    "There are two rules." + "The first rule is ...": its subject is that noun
    with "one", "another", "first" or "each"."""
    plural = {L.lemma(t) for t in parsed.span(number) if t.tag_ in ("NNS", "NNPS")}
    return any(t.dep_ in ("nsubj", "nsubjpass") and L.lemma(t) in plural
               and any(c.lower_ in _ONE_OF for c in t.children if c.dep_ in ("nummod", "det", "amod"))
               for t in parsed.span(nxt))


def _adds_little(span, qdoc) -> bool:
    """The sentence says hardly more than the question ("... all have one thing in common.")."""
    q = {L.lemma(t) for t in qdoc if L.is_content(t)}
    own = [t for t in span if L.is_content(t)]
    new = [t for t in own if L.lemma(t) not in q]
    return len(new) <= 2


def select_evidence(
    ranked: list[Evidence], max_sentences: int = MAX_SENTENCES, pinned: list[Evidence] = ()
) -> list[Evidence]:
    """The best sentence, the one after it when it only leads into it, and
    runners-up the ranker also finds likely (at least `RUNNER_UP` of the best
    one's probability) that serve a part of the question the chosen sentences
    do not yet serve (a word of it, or its answer's form: the angle after the
    depth), in the article's order; a runner-up that only leads in ("Here are
    the two rules ...") brings the sentence it leads into, and a top sentence
    that points back ("this is the step ...") the one it points to. `pinned`
    sentences are always included."""
    if not ranked:
        return []
    top = ranked[0]
    chosen = _Chosen(ranked, max_sentences, pinned)
    chosen.take(top)
    if top.leans is not None:  # "this is the step ...": say what "this" is
        chosen.take(chosen.sentence(top.leans, top))
    lead = top
    while lead.follows is not None and chosen.room():
        nxt = chosen.sentence(lead.follows, top)
        chosen.take(nxt)
        if lead.then is not None:
            chosen.take(chosen.sentence(lead.then, top, own=False))
        if not (L.is_question(lead.text) and _bare(nxt.text)):
            break
        # "Should X ...?" "Yes." (or "=> True and False."): the reason comes next
        after = next((e for e in ranked if e.number == nxt.number + 1 and e.doc_id == top.doc_id), None)
        lead = nxt if nxt.follows is not None else Evidence(
            nxt.doc_id, nxt.start, nxt.end, nxt.text, nxt.hit, nxt.score, after, nxt.number)
    # what the lead-in brought may itself be continued ("=> Yes." + "In an ideal world ..." + "However, ...")
    last = chosen.items[-1] if chosen.items else None
    if last is not None and last is not top and last.continued:
        chosen.take(chosen.sentence(last.follows, top))
    chosen.runners_up(ranked[1:], top.score)
    return chosen.in_order()


def select_for_asks(retrieval: Retrieval, ranked: list[Evidence], asks: list[str], embed,
                    max_sentences: int = MAX_SENTENCES, pinned: list[Evidence] = ()) -> list[Evidence]:
    """The evidence for a question that asks several things ("What is X called,
    and how long does it take?"): each part's best sentences, ranked for that
    part (`rank_sentences` with its words and embedding) among the passages
    retrieved for the whole, then the whole question's runners-up, at most
    `max_sentences` in the article's order. One part: `select_evidence`."""
    if len(asks) < 2 or not ranked:
        return select_evidence(ranked, max_sentences, pinned)
    chosen = _Chosen(ranked, max_sentences, pinned)
    for ask, vec in zip(asks, embed(asks), strict=True):
        part = rank_sentences(retrieval, ask, vec)
        if not part:
            continue
        if chosen.fresh(part[0]):
            picked = select_evidence(part, 2)  # its best sentence, and the next one when it leads into it
        else:  # an earlier part's sentence is this part's best too: a close runner-up that uses
            # the part's words or answers its form may say what that sentence leaves out
            picked = [e for e in part[1:] if chosen.fresh(e) and e.serves
                      and e.score >= max(chosen.floor, RUNNER_UP * part[0].score)][:1]
        for e in picked:
            chosen.take(e)
    # then the whole question's runners-up that serve a word of it no chosen sentence serves
    chosen.served = set().union(*(e.serves for e in ranked if not chosen.fresh(e)))
    chosen.runners_up(ranked, ranked[0].score)
    return chosen.in_order()


class _Chosen:
    """The sentences an answer is built from, at most `limit`, no sentence twice."""

    def __init__(self, ranked: list[Evidence], limit: int, pinned=()):
        self.ranked, self.limit, self.items = ranked, limit, list(pinned)
        self.served = set().union(*(e.serves for e in self.items))
        model = ranker()
        self.floor = model.runner_up if model is not None else 0.0
        for e in pinned:  # what the article says instead of a premise, read whole: "This is done to ..."
            if e.leans is not None:
                self.take(self.sentence(e.leans, e))

    def room(self) -> bool:
        return len(self.items) < self.limit

    def fresh(self, e) -> bool:
        return not any(e.start == c.start and e.doc_id == c.doc_id for c in self.items)

    def take(self, e: Evidence) -> bool:
        if not (self.room() and self.fresh(e)):
            return False
        self.items.append(e)
        self.served |= e.serves
        return True

    def sentence(self, c: Candidate, of: Evidence, own: bool = True) -> Evidence:
        """Candidate `c` (a neighbour of `of`) as evidence: its own ranking when
        it has one (`own`), else cited from `of`'s passage with `of`'s score."""
        if own:
            found = next((e for e in self.ranked if e.number == c.number and e.doc_id == of.doc_id), None)
            if found is not None:
                return found
        return Evidence(of.doc_id, c.start, c.end, c.text, of.hit, of.score, None, c.number)

    def runners_up(self, ranked: list[Evidence], best: float) -> None:
        """Likely runners-up (see `select_evidence`) that serve what no chosen
        sentence serves; one that only leads in brings what it leads into. The
        first that gives what the question asks for (a name, a date, an amount)
        when no chosen sentence does needs only the ranker's floor, not
        `RUNNER_UP` of the best: without it the answer would not answer."""
        for e in ranked:
            if not self.room() or e.score < self.floor:
                break  # ranked: nothing further down is likely either
            gives_form = -1 in e.serves and -1 not in self.served
            if e.score < RUNNER_UP * best and not gives_form:
                continue
            if not (self.fresh(e) and (e.serves - self.served or self.goes_on(e))):
                continue
            self.take(e)
            if e.follows is not None:  # "Here are the two rules ...", "..., run"
                self.take(self.sentence(e.follows, e))
                if e.then is not None:
                    self.take(self.sentence(e.then, e))

    def goes_on(self, e: Evidence) -> bool:
        """The sentence right after the best one: a likely one goes on with it
        ("I keep a log with a page a night." + "I rule each page ...") even when it
        uses no question word the chosen ones lack (only that one: a chain of
        neighbours would crowd out a sentence from elsewhere that answers)."""
        top = self.ranked[0] if self.ranked else None
        return (top is not None and top.doc_id == e.doc_id and top.number >= 0 and e.number == top.number + 1
                and e.topical > 0)  # about a noun or name of the question, not "In contrast, leadership ..."

    def in_order(self) -> list[Evidence]:
        return sorted(self.items, key=lambda e: (e.doc_id, e.start))


def cite(retrieval: Retrieval, evidence: list[Evidence]) -> tuple[list[Citation], list[int]]:
    """Number the passages that evidence comes from, in order of first use.

    Returns the citations and, per evidence sentence, its citation number."""
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    per_sentence = []
    for e in evidence:
        if e.hit not in numbers:
            hit: Hit = retrieval.hits[e.hit]
            numbers[e.hit] = len(numbers) + 1
            citations.append(
                Citation(
                    n=numbers[e.hit],
                    doc_id=hit.chunk.doc_id,
                    title=hit.chunk.title,
                    text=hit.chunk.text,
                    score=hit.dense,
                    chunk_id=hit.chunk.chunk_id,
                    start=hit.chunk.start,
                    end=hit.chunk.end,
                    heading=hit.chunk.heading,
                )
            )
        citation = citations[numbers[e.hit] - 1]
        citation.highlights.append((e.start, e.end))
        per_sentence.append(numbers[e.hit])
    for c in citations:  # a quoted sentence that runs past its passage's edge is shown (and judged) whole
        lo = min([c.start, *(a for a, _ in c.highlights)])
        hi = max([c.end, *(b for _, b in c.highlights)])
        stored = retrieval.snapshot.documents.get(c.doc_id) if retrieval.snapshot else None
        if (lo, hi) != (c.start, c.end) and stored is not None:
            c.start, c.end, c.text = lo, hi, stored.text[lo:hi]
    return citations, per_sentence
