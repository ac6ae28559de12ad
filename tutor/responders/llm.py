"""The LLM responder: the article's passages, spoken through a LangChain chat
model, behind the grounding guard, with the grounded responder as its safety net.

One explain turn:

1. retrieve; if the article does not cover the question, decline with the
   grounded decline text (the LLM is never asked about uncovered questions);
2. render the `explain` prompt (passages in delimited blocks, bounded history);
3. stream the model's tokens to the caller as they arrive;
4. run the guard over the whole answer: unsupported sentences are dropped,
   citations re-pointed, and the final Reply carries the guarded text and a
   notice saying how many sentences were removed;
5. on any failure (connection refused, timeout, HTTP error, empty output), before
   or during streaming, or when nothing supported survives, the grounded
   responder answers and `reply.notice` says so.

After a connection failure or timeout the model is skipped for `cooldown`
seconds, so a dead server costs one failed request, not one per call. While
the model generates, a helper thread embeds the passages into the support
scorer's cache, so the guard afterwards only embeds the answer itself.

Socratic mode speaks through the model too, for the wording only:
`phrase_socratic` (the guiding question) and `phrase_feedback` (the words on a
partial or incorrect reply; the verdict stays tutor.assess's). The model sees the
passages with the answer's keywords blanked; its output is rejected (None, and
the session keeps its deterministic text) when it fails, uses a keyword, is too
long, or says anything the support scorer does not find in the passages.

Deliberate simplifications: citations keep the passage numbers the model saw
(so streamed markers and the final reply agree), which can leave gaps (1, 3);
the history sent to the model is the last few turns, each cut to 500 characters.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from tutor.errors import LLMError
from tutor.guard import GuardResult, guard, parse_citations
from tutor.language import sentences as split_sentences
from tutor.language import terms as content_terms
from tutor.premise import question_premise
from tutor.prompts import render_messages
from tutor.questions import cloze, matches_keyword
from tutor.reply import Citation, Reply, tutor_said
from tutor.responders.metadata import authors_of, retrieved_authors
from tutor.retrieve import Retrieval

log = logging.getLogger(__name__)

HISTORY_TURNS = 6
HISTORY_CHARS = 500
DEFAULT_COOLDOWN = 15.0
UNAVAILABLE = "The LLM was unavailable ({reason}); the grounded tutor answered."
UNSUPPORTED = "The LLM's answer was not supported by the article; the grounded tutor answered."
UNCHECKED = "The LLM's answer could not be checked against the article ({reason}); the grounded tutor answered."
MAX_PHRASING_CHARS = 300  # a guiding question or a feedback, not an explanation
# Tutoring talk: a sentence whose content words all come from here asserts nothing
# about the article ("You're on the right track.", "Look again at the passage.").
_TALK = frozenset(content_terms(
    "you your you're you've that's it's let's there's good great nice well fine right track close closer almost nearly partly partially part half "
    "start beginning try trying attempt effort idea thought think thinking look looking again reread read "
    "check passage passages article text sentence answer reply question missing miss piece bit little more "
    "something quite yet sure careful carefully step let see clue hint work together way there keep going"
))
_CALLS_IT_CORRECT = re.compile(
    r"\b(?:correct|exactly|perfect|well done|got it|spot on)\b"
    r"|\b(?:you(?:'re|’re| are)|that(?:'s|’s| is)|it(?:'s|’s| is))\s+(?:absolutely\s+|quite\s+|exactly\s+)?right\b",
    re.IGNORECASE,
)


@dataclass
class _Said:
    """What the grounded follow-up picker needs from a kept sentence."""

    doc_id: str
    text: str


class LLMResponder:
    name = "llm"

    def __init__(self, model, engine, *, timeout: float = 30.0, spec: str = "", cooldown: float = DEFAULT_COOLDOWN):
        """`model` is any LangChain chat model (a real one, or a fake in tests)."""
        self.model = model
        self.engine = engine
        self.timeout = timeout
        self.spec = spec
        self.cooldown = cooldown
        self._down: tuple[float, str] | None = None  # (until, reason)
        self._lock = threading.Lock()
        self.last_guard: GuardResult | None = None

    @classmethod
    def from_spec(
        cls, spec: str, engine, timeout: float = 30.0, *, max_tokens: int | None = None,
        cooldown: float = DEFAULT_COOLDOWN, seed: int | None = None,
    ) -> LLMResponder:
        """Build from `TUTOR_LLM`; raises ValueError for an unknown provider and
        LLMError for a missing GGUF file. `seed` fixes the sampling (the eval's)."""
        from tutor.llm_backends import DEFAULT_MAX_TOKENS, make_chat_model

        model = make_chat_model(spec, timeout, max_tokens=max_tokens or DEFAULT_MAX_TOKENS, seed=seed)
        return cls(model, engine, timeout=timeout, spec=spec, cooldown=cooldown)

    # ---- explain ------------------------------------------------------------
    def stream_explain(
        self, question: str, *, doc_id: str | None = None, k: int | None = None, history=(),
    ) -> Iterator[str | Reply]:
        """Yields text deltas as the model produces them, then the final Reply.
        The reply's "Think further" question is none the tutor posed earlier in `history`."""
        started = time.perf_counter()
        said_before = tutor_said(history)
        about = self.engine.grounded.about_article(question, doc_id, "explain")
        if about is not None:  # author, date, topic: the article's metadata answers, not the model
            about.latency_ms = (time.perf_counter() - started) * 1000
            yield about
            return
        retrieval = self.engine.retriever.search(question, k=k, doc_id=doc_id)
        if not retrieval.covered:
            reply = self.engine.grounded.decline(retrieval, doc_id, "explain")
            reply.responder = self.name
            reply.latency_ms = (time.perf_counter() - started) * 1000
            yield reply
            return
        shown = passage_citations(retrieval)
        # what the model reads and the guard checks against: no sentence that
        # addresses the tutor (`tutor.injection`) is ever evidence
        passages = [replace(c, text=retrieval.snapshot.evidence_text(h.chunk)) for c, h in zip(shown, retrieval.hits, strict=True)]
        parts: list[str] = []
        warm: threading.Thread | None = None
        try:
            self._check_available()
            messages = render_messages(
                "explain", passages=passages, question=question, history=_history(history, question),
            )
            for delta in self._stream(messages):
                if warm is None:  # the model is generating: prepare the guard meanwhile
                    warm = threading.Thread(target=self._warm_scorer, args=(passages,), daemon=True)
                    warm.start()
                parts.append(delta)
                yield delta
            answer = "".join(parts)
            if not answer.strip():
                raise LLMError("empty output")
        except Exception as err:  # every failure ends in the grounded answer
            if warm is not None:
                warm.join()
            reason = failure_reason(err, self.timeout)
            log.warning("LLM failed (%s); grounded fallback", reason)
            self._mark_down(err, reason)
            yield self._fallback(question, doc_id, k, retrieval, UNAVAILABLE.format(reason=reason), started,
                                 said_before)
            return
        if warm is not None:
            warm.join()  # the scorer is not meant for concurrent use
        try:
            reply = self._guarded(answer, passages, retrieval, doc_id, k, question, started, said_before)
        except Exception as err:  # a guard failure must not let an unchecked answer through
            log.exception("grounding guard failed; grounded fallback")
            reply = self._fallback(question, doc_id, k, retrieval, UNCHECKED.format(reason=type(err).__name__), started,
                                   said_before)
        yield reply

    def _guarded(self, answer, passages, retrieval, doc_id, k, question, started, said_before=()) -> Reply:
        """The guarded reply for the model's whole answer. tutor/evals/unguarded.py
        overrides this step (`tutor eval --no-guard`): keep its signature."""
        result = guard(answer, passages, self.engine.scorer, retrieved_authors(retrieval))
        self.last_guard = result
        if not result.grounded:
            return self._fallback(question, doc_id, k, retrieval, UNSUPPORTED, started, said_before)
        cited = sorted({n for _, ns in result.kept_sentences for n in ns})
        shown = passage_citations(retrieval)
        citations = [_with_highlights(shown[n - 1], result, n) for n in cited]
        text = result.text
        if result.question is None:
            said = [_Said(citations[0].doc_id, s) for s, _ in result.kept_sentences]
            text = f"{text}\n\n{self.engine.grounded.follow_up(retrieval, said, said_before)}"
        notice = None
        if result.unsupported:
            n = len(result.unsupported)
            notice = f"Removed {n} sentence{'s' if n != 1 else ''} of the LLM's answer that the article does not support."
        return Reply(
            answer=text, declined=False, mode="explain", citations=citations,
            latency_ms=(time.perf_counter() - started) * 1000, responder=self.name,
            notice=notice, sentences=result.kept_sentences,
        )

    def _warm_scorer(self, passages: list[Citation]) -> None:
        """Embed the passages' sentences into the scorer's cache while the model
        generates (scoring no claims only prepares the passages), so the guard
        afterwards embeds just the answer's sentences."""
        try:
            texts = [p.text for p in passages]
            self.engine.scorer.score_many([], texts)
            for text in texts:  # the single-passage sets that citation checks use
                self.engine.scorer.score_many([], [text])
        except Exception:  # only an optimisation; the guard will report real problems
            log.debug("scorer warm-up failed", exc_info=True)

    def _fallback(self, question, doc_id, k, retrieval, notice, started, said_before=()) -> Reply:
        reply = self.engine.grounded.explain(question, doc_id=doc_id, k=k, retrieval=retrieval,
                                             said_before=said_before)
        reply.notice = notice
        reply.latency_ms = (time.perf_counter() - started) * 1000
        return reply

    # ---- rewrite --------------------------------------------------------------
    def rewrite(self, message: str, history) -> str:
        """A stand-alone version of a follow-up message, written by the LLM;
        the deterministic rewrite when the LLM fails or says something odd."""
        pairs = _pairs(history)
        previous = next((t for r, t in reversed(pairs) if r == "learner"), None)
        try:
            self._check_available()
            messages = render_messages("rewrite", history=_bounded(pairs), message=message)
            text = "".join(self._stream(messages))
            candidate = clean_rewrite(text)
            known = set(content_terms(message + " " + (previous or "")))
            if not candidate or not (set(content_terms(candidate)) & known):
                raise LLMError(f"unusable rewrite {text[:60]!r}")
            return candidate
        except Exception as err:
            reason = failure_reason(err, self.timeout)
            log.info("LLM rewrite failed (%s); deterministic rewrite", reason)
            self._mark_down(err, reason)
            from tutor.followup import resolve

            answer = next((t for r, t in reversed(pairs) if r == "tutor"), None)
            return resolve(message, previous, answer, self.engine.index.embedder.embed)

    # ---- Socratic wording --------------------------------------------------------
    def phrase_socratic(self, question: str, passages: Sequence[Citation], keywords: Sequence[str],
                        clue: str | None = None) -> str | None:
        """One short guiding question for the learner, in the model's words; None
        when the model fails or says anything unusable (see `_checked`).

        `passages` are the numbered passages the learner is pointed to; the model
        sees them with every keyword blanked, so it cannot read the answer off
        them. `keywords` ("a|b" = either) are the answer's words: an output
        using any of them is rejected."""
        try:
            self._check_available()
            shown = [_blanked(p, keywords) for p in passages]
            messages = render_messages("socratic", passages=shown, question=question, clue=clue or None)
            text = "".join(self._stream(messages))
            speakers = authors_of(self.engine.index.snapshot(), (p.doc_id for p in passages))
            sentences = self._checked(text, [p.text for p in passages], keywords, [p.n for p in passages], speakers)
            asks = [raw for raw, clean, _ in sentences if _asks(clean)]
            if len(asks) != 1:
                raise LLMError(f"not one guiding question: {text[:60]!r}")
            return asks[0]
        except Exception as err:
            self._phrasing_failed(err, "guiding question")
            return None

    def phrase_feedback(self, reply: str, assessment, question: str, reference: str, quotes: Sequence[str],
                        *, keywords: Sequence[str] = ()) -> str | None:
        """One or two encouraging sentences on a partial or incorrect reply, in the
        model's words; None when the model fails or says anything unusable. Only
        the wording: the verdict is `assessment.verdict` (tutor.assess) and the
        model is told it. The answer's words (`keywords`, plus the assessment's
        matched and missing ones) are blanked in what the model sees and must
        not occur in what it says."""
        if assessment is None or assessment.verdict == "correct":
            return None
        withheld = [*keywords, *assessment.matched, *assessment.missing]
        try:
            self._check_available()
            messages = render_messages(
                "assess", question=question, reference=cloze(reference, withheld),
                quotes=[cloze(q, withheld) for q in quotes], reply=reply, verdict=assessment.verdict,
            )
            text = "".join(self._stream(messages))
            sentences = self._checked(text, [*quotes, reference], withheld, [])
            if len(sentences) > 2:
                raise LLMError(f"feedback longer than two sentences: {text[:60]!r}")
            if _CALLS_IT_CORRECT.search(text):
                raise LLMError(f"feedback contradicts the verdict: {text[:60]!r}")
            return " ".join(clean for _, clean, _ in sentences)
        except Exception as err:
            self._phrasing_failed(err, "feedback")
            return None

    def _checked(self, text: str, passages: Sequence[str], keywords: Sequence[str],
                 numbers: Sequence[int], speakers: frozenset[str] = frozenset()) -> list[tuple[str, str, list[int]]]:
        """The output's sentences as (as written, without markers, cited numbers),
        or LLMError when the output is empty, longer than MAX_PHRASING_CHARS, uses
        an answer keyword, cites a passage it was not shown, or holds a sentence
        the support scorer does not find in `passages`. Questions assert nothing
        unless they carry a premise (tutor.premise.question_premise), which is then
        checked; sentences made only of tutoring talk ("You're on the right
        track.") assert nothing about the article either. `speakers`: the
        passages' authors, whom a first-person passage calls "I"."""
        flat = clean_phrasing(text)
        if not flat:
            raise LLMError("empty output")
        if len(flat) > MAX_PHRASING_CHARS:
            raise LLMError(f"output longer than {MAX_PHRASING_CHARS} characters")
        leaked = [k for k in keywords if k.strip() and matches_keyword(k, flat)]
        if leaked:
            raise LLMError(f"output gives the answer away ({leaked[0]})")
        sentences = []
        for span in split_sentences(flat):
            raw = span.text.strip()
            clean, cites = parse_citations(raw)
            if clean:
                sentences.append((raw, clean, cites))
        if any(n not in numbers for _, _, cites in sentences for n in cites):
            raise LLMError("output cites a passage it was not shown")
        claims = []
        for _, clean, _ in sentences:
            claim = question_premise(clean, presupposed=False) if _asks(clean) else clean
            if claim and not set(content_terms(claim)) <= _TALK:
                claims.append(claim)
        if claims:
            results = self.engine.scorer.score_many(claims, list(passages), speakers)
            bad = [(c, r.reason) for c, r in zip(claims, results, strict=True) if not r.supported]
            if bad:
                raise LLMError(f"unsupported by the article ({bad[0][1]}): {bad[0][0][:60]!r}")
        return sentences

    def _phrasing_failed(self, err: BaseException, what: str) -> None:
        reason = failure_reason(err, self.timeout)
        log.info("LLM %s not used (%s); deterministic text", what, reason)
        self._mark_down(err, reason)

    # ---- model calls ------------------------------------------------------------
    def _stream(self, messages: Sequence[tuple[str, str]]) -> Iterator[str]:
        """Text deltas from the model; the whole call is bounded by `timeout`."""
        deadline = time.monotonic() + self.timeout
        for chunk in self.model.stream(list(messages)):
            delta = _text(chunk)
            if delta:
                yield delta
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete answer within {self.timeout:g} s")

    def _check_available(self) -> None:
        with self._lock:
            if self._down and time.monotonic() < self._down[0]:
                raise LLMError(self._down[1])
            self._down = None

    def _mark_down(self, err: BaseException, reason: str) -> None:
        if self.cooldown > 0 and _is_outage(err):
            with self._lock:
                self._down = (time.monotonic() + self.cooldown, reason)


# ---- helpers -------------------------------------------------------------------


def passage_citations(retrieval: Retrieval) -> list[Citation]:
    """Every retrieved passage as a citation numbered 1..k in retrieval order."""
    return [
        Citation(
            n=i, doc_id=h.chunk.doc_id, title=h.chunk.title, text=h.chunk.text, score=h.dense,
            chunk_id=h.chunk.chunk_id, start=h.chunk.start, end=h.chunk.end, heading=h.chunk.heading,
        )
        for i, h in enumerate(retrieval.hits, 1)
    ]


def _with_highlights(c: Citation, result: GuardResult, n: int) -> Citation:
    """The passage's sentences that the kept answer sentences cite (document offsets)."""

    out = replace(c, highlights=[])
    spans = split_sentences(c.text, offset=c.start)
    for sentence, ns in result.kept_sentences:
        if n not in ns:
            continue
        terms = set(content_terms(sentence))
        best = max(spans, key=lambda s: len(terms & set(content_terms(s.text))), default=None)
        if best is not None and terms & set(content_terms(best.text)) and (best.start, best.end) not in out.highlights:
            out.highlights.append((best.start, best.end))
    return out


def _text(chunk) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content or "")


def _pairs(history) -> list[tuple[str, str]]:
    """(role, text) from Session turns or from pairs."""
    out = []
    for t in history or ():
        role, text = (t.role, t.text) if hasattr(t, "role") else (t[0], t[1])
        out.append(("learner" if role in ("learner", "user", "human") else "tutor", str(text)))
    return out


def _bounded(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(r, t if len(t) <= HISTORY_CHARS else t[:HISTORY_CHARS] + " ...") for r, t in pairs[-HISTORY_TURNS:]]


def _history(history, question: str) -> list[tuple[str, str]]:
    """Turns before the current question (the session has already appended it)."""
    pairs = _pairs(history)
    if pairs and pairs[-1][0] == "learner":
        pairs = pairs[:-1]
    return _bounded(pairs)


def clean_rewrite(text: str) -> str | None:
    """The first non-empty line, without labels or quotes.

    >>> clean_rewrite('Stand-alone question: "What does leadership cope with?"\\nDone.')
    'What does leadership cope with?'
    """
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*(?:stand-alone question|question|rewritten question)\s*:\s*", "", line, flags=re.I)
        line = line.strip().strip("\"'“”`*").strip()
        if line:
            return line if len(line) <= 300 else None
    return None


def clean_phrasing(text: str) -> str:
    """The model's guiding question or feedback on one line, without a leading
    label, list marks or wrapping quotes.

    >>> clean_phrasing('Guiding question: "What does the passage contrast with complexity?"')
    'What does the passage contrast with complexity?'
    """
    lines = [re.sub(r"^\s*(?:[-*•]+|\d+[.)])\s+", "", line) for line in (text or "").splitlines()]
    flat = " ".join(" ".join(lines).replace("**", "").split())
    flat = re.sub(r"^(?:guiding question|question|feedback)\s*:\s*", "", flat, flags=re.I)
    return flat.strip().strip("\"'“”`").strip()


def _asks(sentence: str) -> bool:
    return sentence.rstrip("\"'”’)").endswith("?")


def _blanked(c: Citation, keywords: Sequence[str]) -> Citation:
    """The passage as the learner sees it in Socratic mode: the answer's words blanked."""
    return replace(c, text=cloze(c.text, list(keywords)), highlights=[])


def failure_reason(err: BaseException, timeout: float) -> str:
    """A short, user-facing reason for an LLM failure."""
    import httpx

    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on it
        openai = None
    if openai is not None:
        if isinstance(err, openai.APITimeoutError):
            return f"timed out after {timeout:g} s"
        if isinstance(err, openai.APIStatusError):
            return f"HTTP error {err.status_code}"
        if isinstance(err, openai.APIConnectionError):
            return "connection failed"
    if isinstance(err, (httpx.TimeoutException, TimeoutError)):
        return f"timed out after {timeout:g} s"
    if isinstance(err, httpx.HTTPStatusError):
        return f"HTTP error {err.response.status_code}"
    if isinstance(err, (httpx.ConnectError, ConnectionRefusedError)):
        return "connection refused"
    if isinstance(err, (httpx.TransportError, ConnectionError)):
        return "connection lost"
    if isinstance(err, LLMError):
        return str(err)
    status = getattr(err, "status_code", None)
    if status:
        return f"HTTP error {status}"
    return f"{type(err).__name__}: {err}"[:120] if str(err) else type(err).__name__


def _is_outage(err: BaseException) -> bool:
    """Connection failures and timeouts: worth skipping the model for a while."""
    import httpx

    try:
        import openai

        if isinstance(err, (openai.APIConnectionError, openai.APITimeoutError)):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(err, (httpx.TransportError, ConnectionError, TimeoutError))
