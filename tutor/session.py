"""One conversation with the tutor, shared by the CLI, the web UI and evals.

Modes:
* `explain`  - a cited answer from the article, then a question to think further;
* `socratic` - guide, don't tell: a guiding question with a clue, a hint (a cloze
  of the key sentence) on request or after a miss, assessment of each reply,
  confirmation with the citation when right, the answer revealed after two misses;
* `quiz`     - the article's question bank, ordered to cover every learning
  objective, each reply assessed, score and mastery per objective kept.

History is bounded (`MAX_HISTORY` turns). Elliptical follow-ups are rewritten
into stand-alone questions before retrieval. The whole state is plain data
(`to_state` / `from_state`) so the web UI can keep it per browser.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

from tutor import language as L
from tutor.config import MAX_MESSAGE_CHARS, Settings
from tutor.errors import MessageError, UnknownArticleError
from tutor.followup import is_followup, leans_on_pronoun, resolve
from tutor.language import terms as content_terms
from tutor.language import words
from tutor.reply import Citation, Reply, tutor_said

MODES = ("explain", "socratic", "quiz")
MAX_HISTORY = 12
MAX_MISSES = 2
_HINT_RE = re.compile(r"^\s*(/hint|hint|a hint|give me a hint|another hint|help|clue)\s*[.!?]*\s*$", re.I)
_DONT_KNOW_RE = re.compile(r"^\s*(i\s*(do\s*n[o']t|dont) know|no idea|not sure|idk|pass|skip)\b", re.I)
_QUESTION_START = re.compile(
    r"^\s*(what|why|how|who|whom|whose|when|where|which|does|do|did|is|are|can|could|should|would|will|explain|tell me)\b",
    re.I,
)


@dataclass
class Target:
    """What the learner is being guided to: one question with its reference."""

    question: str
    answer: str
    quotes: list[str]
    keywords: list[str]
    hint: str | None
    doc_id: str
    question_id: str | None = None
    objective_id: str | None = None
    misses: int = 0
    hints_given: int = 0
    citation: dict | None = None
    prompt: str | None = None  # the tutor's guiding question (Socratic); None: ask `question`
    shown: dict | None = None  # the citation as shown while the answer is withheld (Socratic)


@dataclass
class QuizState:
    order: list[str] = field(default_factory=list)  # question ids
    position: int = 0
    results: dict[str, str] = field(default_factory=dict)  # question id -> verdict


@dataclass
class Turn:
    role: str  # "learner" | "tutor"
    text: str
    resolved: str | None = None  # stand-alone rewrite of a learner message


class Session:
    def __init__(self, engine, mode: str = "explain", doc_id: str | None = None, k: int = 4, llm=None):
        self.engine = engine
        self.k = k
        if doc_id is not None:
            known = engine.documents
            if doc_id not in known:
                listed = ", ".join(sorted(known)) or "none (run `tutor ingest`)"
                raise UnknownArticleError(f"no article '{doc_id}' in the index; the articles are: {listed}")
        self.doc_id = doc_id
        self.history: deque[Turn] = deque(maxlen=MAX_HISTORY)
        self.target: Target | None = None
        self.quiz = QuizState()
        self.mode = "explain"
        self.llm = llm
        self.set_mode(mode)

    @classmethod
    def open(cls, settings: Settings | None = None, **kwargs) -> Session:
        from tutor.engine import Engine

        settings = settings or Settings()
        engine = Engine.open(settings)
        llm = None
        if settings.llm:
            from tutor.responders.llm import LLMResponder

            llm = LLMResponder.from_spec(settings.llm, engine, timeout=settings.llm_timeout)
        return cls(engine, llm=llm, **kwargs)

    # ---- public API -------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
        self.mode = mode
        self.target = None
        if mode == "quiz" and not self.quiz.order:
            self.quiz = QuizState(order=self._quiz_order())

    def reset(self) -> None:
        self.history.clear()
        self.target = None
        self.quiz = QuizState()
        if self.mode == "quiz":
            self.quiz = QuizState(order=self._quiz_order())

    def send(self, message: str) -> Reply:
        """The tutor's whole reply to one learner message."""
        reply = None
        for event in self.stream(message):
            if isinstance(event, Reply):
                reply = event
        assert reply is not None
        return reply

    def stream(self, message: str) -> Iterator[str | Reply]:
        """Yields pieces of answer text as they are produced, then the final Reply.

        The LLM streams its own tokens; a reply composed in one step (grounded,
        Socratic, quiz) is yielded sentence by sentence (`sentence_pieces`), so
        every interface can show it growing the same way. The pieces join to
        `Reply.body`: the answer without `Reply.next_message`."""
        started = time.perf_counter()
        text = validate_message(message)
        resolved = self._resolve(text)
        self.history.append(Turn("learner", text, resolved if resolved != text else None))
        reply, streamed = None, False
        for event in self._dispatch(text, resolved):
            if isinstance(event, Reply):
                reply = event
            else:
                streamed = True
                yield event
        assert reply is not None
        reply.latency_ms = (time.perf_counter() - started) * 1000
        self.history.append(Turn("tutor", reply.answer))
        if not streamed:  # a composed reply: hand it over sentence by sentence
            yield from sentence_pieces(reply.body)
        yield reply

    def first_message(self) -> Reply | None:
        """In quiz mode the tutor speaks first: the opening question."""
        if self.mode != "quiz":
            return None
        return self._ask_next_quiz_question(prefix="Quiz time. ")

    def progress(self) -> dict:
        """Score and mastery per learning objective for the current article."""
        bank = self._bank()
        if bank is None:
            return {"doc_id": self._doc(), "answered": 0, "correct": 0, "objectives": []}
        objectives = []
        for o in bank.objectives:
            ids = [q.id for q in o.questions]
            done = [self.quiz.results[i] for i in ids if i in self.quiz.results]
            points = sum(1.0 if v == "correct" else 0.5 if v == "partial" else 0.0 for v in done)
            objectives.append(
                {
                    "id": o.id,
                    "title": o.title,
                    "answered": len(done),
                    "total": len(ids),
                    "mastery": round(points / len(ids), 3) if ids else 0.0,
                }
            )
        verdicts = list(self.quiz.results.values())
        return {
            "doc_id": bank.doc_id,
            "answered": len(verdicts),
            "correct": verdicts.count("correct"),
            "total": len(self.quiz.order),
            "objectives": objectives,
        }

    def progress_text(self) -> str:
        p = self.progress()
        if not p["objectives"]:
            return "No quiz questions for this article yet."
        lines = [f"Score: {p['correct']}/{p['answered']} answered correctly ({p['answered']} of {p.get('total', 0)} questions)."]
        for o in p["objectives"]:
            lines.append(f"- {o['title']}: {round(o['mastery'] * 100)}% ({o['answered']}/{o['total']} asked)")
        return "\n".join(lines)

    def to_state(self) -> dict:
        """Plain JSON data (tuples become lists), so it survives any store."""
        return json.loads(json.dumps({
            "mode": self.mode,
            "doc_id": self.doc_id,
            "history": [asdict(t) for t in self.history],
            "target": asdict(self.target) if self.target else None,
            "quiz": asdict(self.quiz),
        }))

    def load_state(self, state: dict) -> None:
        self.mode = state.get("mode", "explain") if state.get("mode") in MODES else "explain"
        self.doc_id = state.get("doc_id") or self.doc_id
        self.history = deque((Turn(**t) for t in state.get("history", [])), maxlen=MAX_HISTORY)
        self.target = Target(**state["target"]) if state.get("target") else None
        self.quiz = QuizState(**state["quiz"]) if state.get("quiz") else QuizState()

    # ---- dispatch -----------------------------------------------------------
    def _resolve(self, text: str) -> str:
        if self.mode == "quiz" or (self.target is not None):
            return text
        previous = next((t.resolved or t.text for t in reversed(self.history) if t.role == "learner"), None)
        answer = next((t.text for t in reversed(self.history) if t.role == "tutor"), None)
        if previous and is_followup(text):
            if self.llm is not None:
                return self.llm.rewrite(text, [(t.role, t.text) for t in self.history])
            resolved = resolve(text, previous, answer, self.engine.index.embedder.embed)
            if resolved != text and leans_on_pronoun(text):
                # "Why is that option appealing?" may find its passage as it is:
                # keep whichever reading the article covers more surely
                alone = self.engine.retriever.search(text, k=self.k, doc_id=self.doc_id)
                joint = self.engine.retriever.search(resolved, k=self.k, doc_id=self.doc_id)
                if alone.covered and alone.evidence.probability > joint.evidence.probability:
                    return text
            return resolved
        return text

    def _dispatch(self, text: str, resolved: str) -> Iterator[str | Reply]:
        if self.mode == "quiz":
            yield self._quiz_turn(text)
        elif self.mode == "socratic":
            yield self._socratic_turn(text, resolved)
        elif self.llm is not None:
            yield from self.llm.stream_explain(resolved, doc_id=self.doc_id, k=self.k, history=list(self.history))
        else:
            yield self.engine.grounded.explain(resolved, doc_id=self.doc_id, k=self.k,
                                               said_before=tutor_said(self.history))

    # ---- socratic ---------------------------------------------------------------
    def _socratic_turn(self, text: str, resolved: str) -> Reply:
        t = self.target
        if t is not None:
            if _HINT_RE.match(text):
                return self._hint(t, prefix="")
            if _DONT_KNOW_RE.match(text):
                return self._miss(t, None)
            assessment = self._assess(t, text)
            if assessment.verdict == "correct":
                return self._confirm(t, assessment)
            if not _looks_like_question(text):
                return self._miss(t, assessment)
        return self._guide(resolved)

    def _guide(self, question: str) -> Reply:
        """A guiding question, in the tutor's words, pointing at the passage that
        answers `question`, and a clue from a nearby sentence that does not give
        the answer away. Neither repeats the learner's message."""
        about = self.engine.grounded.about_article(question, self.doc_id, "socratic")
        if about is not None:  # "who wrote this?" is not a learning objective: just answer it
            self.target = None
            return about
        retrieval = self.engine.retriever.search(question, k=self.k, doc_id=self.doc_id)
        if not retrieval.covered:
            self.target = None
            return self.engine.grounded.decline(retrieval, self.doc_id, "socratic")
        from tutor.responders.evidence import cite, rank_sentences

        ranked = rank_sentences(retrieval)
        key, target, bank_question = self._key_and_target(question, ranked)
        asked = set(content_terms(question))
        # neither the guided-to sentence nor the best answer to the learner's own question is given away
        withheld = (set(content_terms(key.text)) | set(content_terms(ranked[0].text))) - asked
        clue = next(
            (e for e in ranked[:5] if e.score > 0.25 and not _same_sentence(e.text, key.text)
             and not _same_sentence(e.text, ranked[0].text)
             and not any(_same_sentence(q, e.text) for q in target.quotes)
             and not _reveals(e.text, target.keywords) and not set(content_terms(e.text)) & withheld
             and not _new_numbers(e.text, question)),
            None,
        )
        citations, _ = cite(retrieval, [key] + ([clue] if clue else []))
        # the sentences that may answer the question are shown with their answer withheld
        answers = [e.text for e in [key, *ranked[:3]] if not (clue and _same_sentence(e.text, clue.text))]
        masked = [_masked_citation(c, target.keywords, answers, question) for c in citations]
        target.citation = asdict(citations[0])
        target.shown = asdict(masked[0])
        lead = "Let's work it out from the article rather than me telling you."
        clue_text = f' Here is a clue: "{clue.text}" [{citations[-1].n}]' if clue else ""
        guiding = None
        if self.llm is not None:  # the model's wording; None when it fails or would give the answer away
            guiding = self.llm.phrase_socratic(question, citations, target.keywords, clue.text if clue else None)
        if guiding and _echoes(guiding, question):
            guiding = None
        target.prompt = guiding or guiding_question(question, key.text, target.keywords, bank_question)
        self.target = target
        return Reply(
            answer=f"{lead}{clue_text} {_pointed(target.prompt)} (Type 'hint' if you want a hint.)",
            declined=False,
            mode="socratic",
            citations=masked,
        )

    def _key_and_target(self, question: str, ranked) -> tuple:
        """The sentence the learner is guided to, the Target, and the bank question
        behind it (or None). Among the best few sentences, one that a question-bank
        question rests on wins, the bank question closest in meaning to the
        learner's; otherwise the best sentence, with its own answer terms."""
        top = ranked[:3]
        bank = self._bank(top[0].doc_id) if top else None
        if top and bank is not None and self.engine.bank_is_drafted(top[0].doc_id):
            top = top[:1]  # a drafted question is only worth guiding to when it rests on the answer itself
        pairs = []
        if bank is not None:
            for e in top:
                for q in bank.questions:
                    if "_____" not in q.question and any(_same_sentence(quote, e.text) for quote in q.quotes):
                        pairs.append((e, q))
        if pairs:
            vecs = self.engine.index.embedder.embed([question] + [q.question for _, q in pairs])
            sims = vecs[1:] @ vecs[0]
            e, q = pairs[int(sims.argmax())]
            target = Target(
                question=question, answer=q.answer, quotes=list(q.quotes),
                keywords=list(q.keywords), hint=q.hint, doc_id=e.doc_id,
                question_id=q.id, objective_id=q.objective_id,
            )
            return e, target, q.question
        key = ranked[0]
        keywords = _answer_terms(question, key.text)
        return key, Target(
            question=question, answer=key.text, quotes=[key.text], keywords=keywords,
            hint=None, doc_id=key.doc_id,
        ), None

    def _hint(self, t: Target, prefix: str) -> Reply:
        from tutor.questions import cloze

        t.hints_given += 1
        hint = t.hint if (t.hint and t.hints_given == 1) else None
        if hint is None:
            hint = f'Fill the gap from the article: "{cloze(t.quotes[0], t.keywords)}"'
        if t.shown:
            citations = [Citation(**t.shown)]
        else:
            citations = [_masked_citation(Citation(**t.citation), t.keywords)] if t.citation else []
        return Reply(
            answer=f"{prefix}Hint: {hint} [1] Now try again: {t.prompt or _as_learner_question(t.question)}",
            declined=False,
            mode=self.mode,
            citations=citations,
        )

    def _miss(self, t: Target, assessment) -> Reply:
        t.misses += 1
        feedback = _feedback_without_answer(assessment)
        if t.misses >= MAX_MISSES:
            return self._reveal(t, feedback, assessment)
        if self.llm is not None and assessment is not None:  # the wording only: the verdict is assess's
            said = next((turn.text for turn in reversed(self.history) if turn.role == "learner"), "")
            feedback = self.llm.phrase_feedback(
                said, assessment, t.question, t.answer, t.quotes, keywords=t.keywords,
            ) or feedback
        reply = self._hint(t, prefix=f"{feedback} " if feedback else "Not quite. ")
        reply.assessment = assessment
        return reply

    def _reveal(self, t: Target, feedback: str, assessment) -> Reply:
        self.target = None
        citations = [Citation(**t.citation)] if t.citation else []
        quote = t.quotes[0]
        follow = self.engine.follow_up_question(t.doc_id, quote, tutor_said(self.history))
        nxt = f" Let's move on: {follow}" if follow else " Let's move on: ask me about another part of the article."
        return Reply(
            answer=f"{feedback + ' ' if feedback else ''}Here is the answer: {t.answer} "
            f'The article says: "{quote}" [1]{nxt}',
            declined=False, mode=self.mode, citations=citations, assessment=assessment,
        )

    def _confirm(self, t: Target, assessment) -> Reply:
        self.target = None
        citations = [Citation(**t.citation)] if t.citation else []
        follow = self.engine.follow_up_question(t.doc_id, t.quotes[0], tutor_said(self.history))
        nxt = f" Next question to think about: {follow}" if follow else ""
        return Reply(
            answer=f'Yes, that\'s right. The article says: "{t.quotes[0]}" [1]{nxt}',
            declined=False, mode=self.mode, citations=citations, assessment=assessment,
        )

    def _assess(self, t: Target, text: str):
        from tutor.assess import assess_reply

        return assess_reply(
            text, question=t.question, reference=t.answer, quotes=t.quotes,
            keywords=t.keywords, scorer=self.engine.scorer,
            article_terms=self.engine.retriever.doc_vocabulary(t.doc_id) or None,  # None: the article is gone
        )

    # ---- quiz -----------------------------------------------------------------
    def _quiz_order(self) -> list[str]:
        """Round-robin over objectives, so the first questions cover every objective."""
        bank = self._bank()
        if bank is None:
            return []
        queues = [[q.id for q in o.questions] for o in bank.objectives]
        order = []
        while any(queues):
            for queue in queues:
                if queue:
                    order.append(queue.pop(0))
        return order

    def _quiz_question(self):
        bank = self._bank()
        if bank is None or self.quiz.position >= len(self.quiz.order):
            return None
        qid = self.quiz.order[self.quiz.position]
        return next(q for q in bank.questions if q.id == qid)

    def _ask_next_quiz_question(self, prefix: str = "") -> Reply:
        q = self._quiz_question()
        if q is None:
            self.target = None
            done = "That was the last question. " if self.quiz.results else ""
            text = self.progress_text() if self._bank() else "This article has no question bank yet."
            return Reply(answer=f"{prefix}{done}{text}", declined=False, mode="quiz")
        doc_id = self._bank().doc_id
        self.target = Target(
            question=q.question, answer=q.answer, quotes=list(q.quotes), keywords=list(q.keywords),
            hint=q.hint, doc_id=doc_id, question_id=q.id, objective_id=q.objective_id,
            citation=self._quote_citation(doc_id, q.quotes[0]),
        )
        n = self.quiz.position + 1
        return Reply(
            answer=f"{prefix}Question {n} of {len(self.quiz.order)}: {q.question}",
            declined=False, mode="quiz",
        )

    def _quiz_turn(self, text: str) -> Reply:
        if self.target is None:
            return self._ask_next_quiz_question(prefix="Quiz time. ")
        t = self.target
        if _HINT_RE.match(text):
            return self._hint(t, prefix="")
        assessment = None if _DONT_KNOW_RE.match(text) else self._assess(t, text)
        verdict = assessment.verdict if assessment else "incorrect"
        if verdict != "correct" and t.misses + 1 < MAX_MISSES and verdict == "partial":
            return self._miss(t, assessment)
        self.quiz.results[t.question_id] = verdict
        self.quiz.position += 1
        citations = [Citation(**t.citation)] if t.citation else []
        if verdict == "correct":
            head = f'Correct. The article says: "{t.quotes[0]}" [1]'
        else:
            fb = _feedback_without_answer(assessment) or "Not quite."
            head = f'{fb} The answer: {t.answer} The article says: "{t.quotes[0]}" [1]'
        nxt = self._ask_next_quiz_question()
        return Reply(
            answer=f"{head}\n\n{nxt.answer}", declined=False, mode="quiz",
            citations=citations, assessment=assessment, next_message=nxt.answer,
        )

    def _quote_citation(self, doc_id: str, quote: str) -> dict | None:
        snap = self.engine.index.snapshot()
        doc = snap.documents.get(doc_id)
        if doc is None:
            return None
        at = doc.text.find(quote)
        for c in snap.chunks:
            if c.doc_id == doc_id and at >= 0 and c.start <= at and at + len(quote) <= c.end:
                return asdict(Citation(
                    n=1, doc_id=doc_id, title=c.title, text=c.text, score=1.0, chunk_id=c.chunk_id,
                    start=c.start, end=c.end, heading=c.heading, highlights=[(at, at + len(quote))],
                ))
        return None

    # ---- helpers ----------------------------------------------------------------
    def _doc(self) -> str | None:
        return self.doc_id or self.engine.default_doc()

    def _bank(self, doc_id: str | None = None):
        doc_id = doc_id or self._doc()
        return self.engine.bank(doc_id) if doc_id else None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def validate_message(message: str) -> str:
    """The message, stripped; MessageError for an empty, too long or undecodable
    one (lone surrogates, control characters: bytes that were not text)."""
    if not isinstance(message, str):
        raise MessageError("the message must be text")
    if _CONTROL.search(message):
        raise MessageError("the message holds characters that are not text (invalid UTF-8 or control codes); "
                           "type it again")
    text = message.strip()
    if not text:
        raise MessageError("the message is empty; type a question or an answer")
    if len(text) > MAX_MESSAGE_CHARS:
        raise MessageError(
            f"the message is {len(text)} characters long; the limit is {MAX_MESSAGE_CHARS}"
        )
    return text


def _looks_like_question(text: str) -> bool:
    return text.rstrip().endswith("?") and bool(_QUESTION_START.match(text)) and len(words(text)) > 3


def _reveals(text: str, keywords: list[str]) -> bool:
    stems = set(content_terms(text))
    return any(any(s in stems for s in content_terms(alt)) for k in keywords for alt in k.split("|"))


def _new_numbers(text: str, question: str) -> bool:
    """Does `text` state a number the question does not (an amount is usually the answer)?"""
    asked = {t.lower_ for t in L.parse(question) if t.like_num}
    return any(t.like_num and t.lower_ not in asked for t in L.parse(text))


def _same_sentence(quote: str, sentence: str) -> bool:
    a, b = " ".join(quote.split()), " ".join(sentence.split())
    return a in b or b in a


def _answer_terms(question: str, sentence: str) -> list[str]:
    """Content words of the key sentence that the question does not already contain."""
    asked = set(content_terms(question))
    seen, out = set(), []
    for w in words(sentence):
        s = content_terms(w)
        if s and s[0] not in asked and s[0] not in seen and len(w) > 3:
            seen.add(s[0])
            out.append(w)
    return out[:3] or [w for w in words(sentence) if len(w) > 3][:1]


def _as_learner_question(question: str) -> str:
    q = question.strip()
    return q if q.endswith("?") else q + "?"


_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_PIECE_END = re.compile(r"(?<=[.!?:\]\"”)])\s+")


def sentence_pieces(text: str) -> list[str]:
    """`text` cut after each sentence (and citation marker), whitespace kept, so
    that the pieces join back to `text`.

    >>> sentence_pieces('Management copes with complexity. [1] Think further: why?')
    ['Management copes with complexity. ', '[1] ', 'Think further: ', 'why?']
    """
    pieces, last = [], 0
    for m in _PIECE_END.finditer(text):
        pieces.append(text[last : m.end()])
        last = m.end()
    if last < len(text):
        pieces.append(text[last:])
    return [p for p in pieces if p]


def guiding_question(message: str, key: str, keywords: list[str], bank_question: str | None) -> str:
    """The tutor's own question that leads the learner to `key` (the sentence that
    answers), never the learner's `message` repeated and never with an answer
    keyword: the question bank's question when it is not just the learner's,
    else a question about the words the message and `key` share.

    >>> guiding_question("What do leaders cope with?", "Leaders cope with change.", ["change"], None)
    'In passage [1], which sentence is about "Leaders" and "cope", and what does it tell you?'
    >>> guiding_question("Leaders cope with change.", "Leaders cope with change.", ["change"], "What do leaders cope with?")
    'In passage [1], which sentence is about "Leaders" and "cope", and does it say what you said?'
    """
    from tutor.questions import matches_keyword

    asks = message.rstrip().endswith("?") or bool(_QUESTION_START.match(message))
    if asks and bank_question and not _echoes(bank_question, message) and not any(
        matches_keyword(k, bank_question) and not matches_keyword(k, message) for k in keywords
    ):
        return _as_learner_question(bank_question)
    asked = set(content_terms(message))
    shared: list[str] = []
    for w in _WORD_RE.findall(key):
        terms = content_terms(w)
        if terms and terms[0] in asked and not any(matches_keyword(k, w) for k in keywords):
            if all(content_terms(s) != terms for s in shared):
                shared.append(w)
    about = " and ".join(f'"{w}"' for w in shared[:2])
    where = f"is about {about}" if about else "speaks to this"
    if asks:
        return f"In passage [1], which sentence {where}, and what does it tell you?"
    return f"In passage [1], which sentence {where}, and does it say what you said?"


def _pointed(prompt: str) -> str:
    """The guiding question, sent to passage [1] unless it names it already."""
    return prompt if "[1]" in prompt else f"Read passage [1]. {prompt}"


def _echoes(question: str, message: str) -> bool:
    """True when `question` is (nearly) the learner's `message` again: most of
    either one's content words are the other's."""
    a, b = set(content_terms(question)), set(content_terms(message))
    if not a or not b:
        return question.strip().lower() == message.strip().lower()
    shared = len(a & b)
    return shared / len(a) >= 0.75 or shared / len(b) >= 0.75


def _masked_citation(c: Citation, keywords: list[str], answers: Sequence[str] = (), question: str = "") -> Citation:
    """The passage with the answer's key terms blanked, and in each of the
    `answers` sentences (those that may answer `question`) every word the
    question does not contain (`questions.gapped`), so the sources panel does
    not give the answer away."""
    from tutor.questions import cloze, gapped

    text = c.text
    for sentence in dict.fromkeys(answers):
        pattern = re.compile(r"\s+".join(re.escape(w) for w in sentence.split()))
        found = pattern.search(text)
        if found:
            text = text[: found.start()] + gapped(found.group(), question) + text[found.end():]
    masked = Citation(**{**asdict(c), "text": cloze(text, keywords)})
    masked.highlights = []
    return masked


def _feedback_without_answer(assessment) -> str:
    if assessment is None:
        return "No problem."
    if assessment.verdict == "partial":
        return "You're partly right."
    return "Not quite."
