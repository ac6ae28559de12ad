"""Sentence-level support: does a set of passages back up one claim?

This powers the grounding guard (each sentence an LLM writes is checked against
the retrieved passages) and the eval suite's groundedness metric. Three judges:

* `SupportScorer` (default): deterministic and offline. The claim is aligned
  with the passages (`tutor.alignment`: each clause with its best sentence,
  word by word through lemmas, amounts, WordNet relations and embeddings) and
  the alignment's article-agnostic features - coverage, new words, sentence
  similarity, conflicting amounts, names, antonyms and polarity, unbound
  word pairs and swapped roles - are combined by a logistic regression fitted
  on labeled claims of many articles (`tutor.fitting`, `tutor/models/support.json`).
  The claim is supported when the fitted probability reaches the fitted
  threshold and no veto fires (`fitting.SUPPORT_VETOES`: a name the passages
  never use is a wrong attribution, whatever the rest). A verbatim copy of a passage sentence is always supported (the
  grounded responder quotes the article).
* `NLIJudge`: a local CrossEncoder NLI model (`--judge nli:PATH`).
* `LLMJudge`: a LangChain chat model, RAGAS-faithfulness style (`--judge llm`).

The reason of an unsupported verdict names the strongest sign the alignment
found: "quantity mismatch", "wrong attribution", "negation mismatch", "role
swap" (the contradictions the responders act on), else "partly covered" or
"not covered"; "not asserted" when the best sentence is a question, "no
passages" and "empty claim" when there is nothing to judge.

Deliberate simplifications: inference across sentences ("X distinguishes A
from B" for "A and B are distinct") is out of reach; an unusual paraphrase is
rejected more often than a hallucination is let through (the threshold is
fitted to keep the true-negative rate at 0.9 or more on held-out articles).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tutor import alignment as A
from tutor import language as L

CONTRADICTIONS = ("role swap", "negation mismatch", "quantity mismatch", "wrong attribution")


@dataclass(frozen=True)
class SupportResult:
    """Whether a claim is supported, how confidently, and by what."""

    supported: bool
    score: float
    passage: int | None
    evidence: str | None
    reason: str


class Judge(Protocol):
    def score(self, claim: str, passages: Sequence[str], speakers: Iterable[str] = ()) -> SupportResult: ...


class _LRU:
    """A small thread-safe least-recently-used cache (the web app shares one scorer)."""

    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
            return None

    def put(self, key, value):
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


def reason_of(features: dict[str, float]) -> str:
    """The strongest sign against a claim, read from its alignment features.
    Only the precise detectors name a contradiction (the grounded responder
    corrects a question's premise on these): an amount where the sentence has
    another, a name the passages never use, a predicate negated on one side
    only (or a one-clause claim wholly in a sentence that negates it, its verb
    matched only by meaning: "make up" for "do not form"), a verb whose
    subject or object the passages give to another."""
    f = features
    if f.get("number_conflict", 0):
        return "quantity mismatch"
    if f.get("name_novel", 0):
        return "wrong attribution"
    if f.get("polarity", 0) and f.get("coverage", 0) >= 0.8:
        return "negation mismatch"
    if f.get("negation_parity", 0) and f.get("coverage", 0) >= 0.9 and f.get("clauses", 0) == 1:
        return "negation mismatch"  # all of a one-clause claim in one sentence that negates it ("do not form")
    if f.get("role_conflict", 0):
        return "role swap"
    if f.get("coverage_mean", 0) >= 0.75 or (f.get("clauses", 0) > 1 and f.get("coverage", 0) >= 0.5):
        return "partly covered"
    return "not covered"


class SupportScorer:
    """The default judge (see the module docstring).

    `model` is the fitted model (default: the packaged `support.json`; False
    for none, when fitting one); `threshold` overrides its fitted threshold.
    Parses and embeddings of passages, claims and words are cached by text.
    """

    def __init__(self, embedder=None, threshold: float | None = None, cache_size: int = 8192, model=None):
        from tutor.fitting import load_model

        self._embedder = embedder
        self.model = load_model("support") if model is None else (model or None)
        self.threshold = threshold if threshold is not None else (self.model.threshold if self.model else 0.5)
        self._aligner = A.Aligner(self._embed, cache_size=max(cache_size, 50_000))
        self._passages = _LRU(64)

    @property
    def embedder(self):
        if self._embedder is None:
            from tutor.embedder import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    def _embed(self, texts: list[str]) -> np.ndarray:
        from tutor.embedder import embed_remembered

        return embed_remembered(self.embedder, list(texts))  # shares the retriever's word vectors

    def _prepare(self, passages: Sequence[str], speakers: Iterable[str] = ()) -> A.Passages:
        speakers = frozenset(speakers)
        key = (tuple(passages), speakers)
        ps = self._passages.get(key)
        if ps is None:
            ps = A.prepare(list(passages), speakers)
            self._passages.put(key, ps)
        return ps

    def align(self, claim: str, passages: Sequence[str], speakers: Iterable[str] = ()) -> A.Alignment:
        kept = [p for p in passages if p and p.strip()]
        return A.align(claim or "", self._prepare(kept, speakers), self._aligner)

    def features(self, claim: str, passages: Sequence[str], speakers: Iterable[str] = ()) -> dict[str, float]:
        """The alignment features of `claim` against `passages` (what the model
        reads). `speakers`: the name words of the passages' author, whom a
        first-person passage calls "I" (`alignment.as_speaker`)."""
        return dict(self.align(claim, passages, speakers).features)

    def score(self, claim: str, passages: Sequence[str], speakers: Iterable[str] = ()) -> SupportResult:
        return self.score_many([claim], passages, speakers)[0]

    def score_many(self, claims: Sequence[str], passages: Sequence[str],
                   speakers: Iterable[str] = ()) -> list[SupportResult]:
        kept = [p for p in passages if p and p.strip()]
        if not kept:
            return [SupportResult(False, 0.0, None, None, "no passages") for _ in claims]
        ps = self._prepare(kept, speakers)
        if not ps.units:
            return [SupportResult(False, 0.0, None, None, "no passages") for _ in claims]
        return [self._judge(c, kept, ps) for c in claims]

    def _judge(self, claim: str, kept: list[str], ps: A.Passages) -> SupportResult:
        claim = (claim or "").strip()
        if not L.terms(claim):
            return SupportResult(False, 0.0, None, None, "empty claim")
        verbatim = _verbatim(claim, kept)
        if verbatim is not None:
            return verbatim
        if claim[-1] not in ".!?\"'”’)":
            claim += "."  # a claim is a sentence: embedded like the passages' sentences, whatever the caller cut off
        al = A.align(claim, ps, self._aligner)
        if not al.fits:
            return SupportResult(False, 0.0, None, None, "empty claim")
        p = self.model.probability(al.features) if self.model else 0.0
        unit = al.unit
        where = unit.passage if unit is not None else None
        evidence = unit.span.text if unit is not None else None
        if unit is not None and L.is_question(unit.span.text) and not L.is_question(claim):
            return SupportResult(False, round(min(p, 0.99 * self.threshold), 4), where, evidence, "not asserted")
        if p >= self.threshold:
            ev = " ".join(dict.fromkeys(f.unit.span.text for f in al.fits if f.unit is not None))
            return SupportResult(True, round(p, 4), where, ev or evidence, "supported")
        return SupportResult(False, round(p, 4), where, evidence, reason_of(al.features))


def _verbatim(claim: str, passages: Sequence[str]) -> SupportResult | None:
    """A claim copied from a passage sentence (the whole sentence, or most of it,
    as when a quotation is cited without its attribution) is supported by it."""
    text = " ".join((claim or "").split()).strip(" \"'“”")
    if len(L.words(text)) < 3:
        return None
    for i, p in enumerate(passages):
        flat = " ".join(p.split())
        at = flat.find(text)
        if at < 0:
            continue
        # a quotation's "~ Name" line is a sentence of its own, or glued to the quotation
        for s in [*L.sentences(flat, attributions=True), *L.sentences(flat)]:
            if text in s.text and len(text) >= 0.6 * len(s.text):
                return SupportResult(True, 1.0, i, s.text, "supported")
        # a line of its own without end punctuation (a list item, "10 grams of salt or 2%"),
        # which the flattened text runs into the next line
        for line in p.splitlines():
            line = " ".join(line.split())
            if line and text in line and len(text) >= 0.6 * len(line):
                return SupportResult(True, 1.0, i, line, "supported")
        # a whole sentence of the article, which a parse of this passage alone
        # split differently: it starts where a sentence can start and is long
        starts_clean = at == 0 or flat[:at].rstrip()[-1:] in ".;:!?\"”)"
        if starts_clean and len(L.words(text)) >= 8 and text[-1:] in ".!?\"”)":
            return SupportResult(True, 1.0, i, text, "supported")
    return None


# --- other judges -------------------------------------------------------------------


class NLIJudge:
    """A local sentence-transformers CrossEncoder NLI model (`--judge nli:PATH`).

    The claim is supported when some passage entails it with probability >= 0.5.
    The label order is read from the model's `config.json` (`id2label`), never
    assumed; the model is loaded with `local_files_only`, so nothing is downloaded.
    """

    def __init__(self, path: str, threshold: float = 0.5):
        from pathlib import Path

        from tutor.errors import ConfigError

        config = Path(path) / "config.json"
        if not config.is_file():
            raise ConfigError(f"NLI judge: '{path}' is not a local model folder (no config.json)")
        labels = {int(k): v.lower() for k, v in json.loads(config.read_text())["id2label"].items()}
        found = [i for i, name in labels.items() if name.startswith("entail")]
        if not found:
            raise ConfigError(f"NLI judge: no entailment label in {sorted(labels.values())}")
        self.entail, self.labels, self.threshold = found[0], labels, threshold
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(path, device="cpu", local_files_only=True)

    def score(self, claim: str, passages: Sequence[str], speakers: Iterable[str] = ()) -> SupportResult:
        passages = [p for p in passages if p and p.strip()]
        if not (claim or "").strip() or not passages:
            return SupportResult(
                False, 0.0, None, None, "empty claim" if passages else "no passages"
            )
        probs = np.asarray(self._model.predict([(p, claim) for p in passages], apply_softmax=True))
        best = int(np.argmax(probs[:, self.entail]))
        p = float(probs[best, self.entail])
        if p >= self.threshold:
            return SupportResult(True, p, best, passages[best], "supported")
        top = self.labels[int(np.argmax(probs[best]))]
        return SupportResult(
            False,
            p,
            best,
            passages[best],
            "contradicted" if top.startswith("contra") else "not entailed",
        )


_SPLIT_PROMPT = """Break the statement below into short atomic statements, each one a single fact \
that can be checked on its own. Replace pronouns with what they refer to.
Answer with JSON only, exactly in this form: {{"statements": ["...", "..."]}}

Statement: {claim}"""

_VERIFY_PROMPT = """Decide for each statement whether the numbered passages support it. A statement \
is supported only if the passages state it or directly imply it; swapped roles, negations, other \
numbers or other people make it unsupported.
Answer with JSON only, exactly in this form:
{{"verdicts": [{{"statement": "...", "supported": true, "passage": 1}}]}}

Passages:
{passages}

Statements:
{statements}"""


def parse_json_answer(text: str):
    """The first JSON object or array in a model's answer (code fences, prose around
    it and trailing commas tolerated); None when there is none."""
    text = re.sub(r"```(?:json)?", "", text or "")
    for opener, closer in (("{", "}"), ("[", "]")):
        start = text.find(opener)
        while start != -1:
            end = text.rfind(closer)
            while end > start:
                chunk = re.sub(r",\s*([}\]])", r"\1", text[start : end + 1])
                try:
                    return json.loads(chunk)
                except ValueError:
                    end = text.rfind(closer, start, end)
            start = text.find(opener, start + 1)
    return None


class LLMJudge:
    """RAGAS-faithfulness style judge over a LangChain chat model (`--judge llm`):
    1. the model splits the claim into atomic statements;
    2. the model says for each whether the passages support it;
    3. the claim is supported only if every statement is.
    An unreadable answer makes the claim unsupported; it never raises."""

    def __init__(self, chat_model, max_statements: int = 8):
        self.model = chat_model
        self.max_statements = max_statements

    def _ask(self, prompt: str):
        from tutor.errors import LLMError

        try:
            answer = self.model.invoke(prompt)
        except Exception as exc:  # noqa: BLE001 - any backend failure is one typed error
            raise LLMError(f"the judge model failed: {exc}") from None
        return parse_json_answer(
            getattr(answer, "content", answer) if not isinstance(answer, str) else answer
        )

    def statements(self, claim: str) -> list[str]:
        data = self._ask(_SPLIT_PROMPT.format(claim=claim))
        items = data.get("statements") if isinstance(data, dict) else data
        if not isinstance(items, list):
            return []
        return [s.strip() for s in items if isinstance(s, str) and s.strip()][: self.max_statements]

    def verdicts(
        self, statements: Sequence[str], passages: Sequence[str]
    ) -> list[tuple[bool, int | None]]:
        numbered = "\n".join(f"[{i + 1}] {p}" for i, p in enumerate(passages))
        listed = "\n".join(f"- {s}" for s in statements)
        data = self._ask(_VERIFY_PROMPT.format(passages=numbered, statements=listed))
        items = data.get("verdicts") if isinstance(data, dict) else data
        if not isinstance(items, list) or len(items) < len(statements):
            return []
        out = []
        for item in items[: len(statements)]:
            if not isinstance(item, dict):
                return []
            ok = item.get("supported", item.get("verdict"))
            ok = (
                ok
                if isinstance(ok, bool)
                else str(ok).strip().lower() in ("1", "yes", "true", "supported")
            )
            n = item.get("passage")
            out.append((ok, n - 1 if isinstance(n, int) and 1 <= n <= len(passages) else None))
        return out

    def score(self, claim: str, passages: Sequence[str], speakers: Iterable[str] = ()) -> SupportResult:
        passages = [p for p in passages if p and p.strip()]
        if not (claim or "").strip() or not passages:
            return SupportResult(
                False, 0.0, None, None, "empty claim" if passages else "no passages"
            )
        statements = self.statements(claim)
        verdicts = self.verdicts(statements, passages) if statements else []
        if not verdicts:
            return SupportResult(False, 0.0, None, None, "judge answer unreadable")
        share = sum(ok for ok, _ in verdicts) / len(verdicts)
        where = next((n for ok, n in verdicts if ok and n is not None), None)
        evidence = passages[where] if where is not None else None
        if share == 1.0:
            return SupportResult(True, 1.0, where, evidence, "supported")
        return SupportResult(
            False, share, where, evidence, "partly covered" if share else "not covered"
        )


JUDGES = ("default", "nli:PATH", "llm")


def make_judge(spec: str | None, chat_model=None) -> Judge:
    """`None`/"default" -> SupportScorer; "nli:PATH" -> NLIJudge; "llm" -> LLMJudge."""
    spec = (spec or "default").strip()
    if spec == "default":
        return SupportScorer()
    if spec.startswith("nli:") and spec[4:].strip():
        return NLIJudge(spec[4:].strip())
    if spec == "llm":
        if chat_model is None:
            raise ValueError(
                "judge 'llm' needs a configured chat model (TUTOR_LLM); "
                f"accepted judges: {', '.join(JUDGES)}"
            )
        return LLMJudge(chat_model)
    raise ValueError(f"unknown judge '{spec}'; accepted judges: {', '.join(JUDGES)}")
