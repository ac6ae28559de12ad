"""Play every case through the real pipeline and score it.

For each case: a fresh `Session` (the case's mode and doc) over one shared
engine; `followup` cases send every turn in order and the last reply is scored.
The retrieval the metrics need is repeated with the engine's retriever for the
scored message (as the session resolved it), which is deterministic, so it is
the retrieval the responder saw. Every metric then scores the `Sample`.

Aggregation per kind and overall: for each metric the mean of the scored cases'
values, the pass rate among scored cases, and how many could not be scored;
latency as p50/p95. A case whose session raised is an error: it is listed with
the exception and counts against the `max_errors` threshold.

Latency is measured warm: one untimed question runs first, so the embedder and
the BM25 index are loaded before the first case.
"""

from __future__ import annotations

import math
import platform
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from tutor.evals.dataset import KINDS, Case, Dataset, check_against_corpus
from tutor.evals.metrics import (
    LOWER_IS_BETTER,
    ORDER,
    VERDICT,
    MetricResult,
    percentiles,
    score_sample,
)
from tutor.evals.metrics.groundedness import Groundedness
from tutor.evals.sample import Hit, Sample
from tutor.responders.metadata import author_words

RESULT_VERSION = 1
WARM_UP = "What does the article say?"


@dataclass
class CaseResult:
    case: Case
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    answer: str | None = None
    declined: bool | None = None
    mode: str = "explain"
    citations: list[dict] = field(default_factory=list)
    latency_ms: float | None = None
    responder: str | None = None
    notice: str | None = None
    resolved: str | None = None  # the scored message as the session resolved it
    earlier: list[dict] = field(default_factory=list)  # earlier turns of a followup: {"message", "answer"}
    raw_answer: str | None = None  # the LLM's text before the guard, when an LLM answered
    raw_groundedness: MetricResult | None = None
    error: str | None = None

    @property
    def failed(self) -> list[str]:
        return [n for n in VERDICT if n in self.metrics and self.metrics[n].scored and not self.metrics[n].passed]

    @property
    def verdict(self) -> str:
        if self.error:
            return "error"
        return "fail" if self.failed else "pass"

    def to_json(self) -> dict:
        out = self.case.to_json()
        out.update({
            "key": self.case.key,
            "verdict": self.verdict,
            "failed": self.failed,
            "answer": self.answer,
            "declined": self.declined,
            "mode": self.mode,
            "citations": self.citations,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
            "responder": self.responder,
            "notice": self.notice,
            "resolved": self.resolved,
            "earlier": self.earlier,
            "metrics": {n: m.to_json() for n, m in self.metrics.items()},
            "error": self.error,
        })
        if self.raw_answer is not None:
            out["raw_answer"] = self.raw_answer
            out["raw_groundedness"] = self.raw_groundedness.to_json() if self.raw_groundedness else None
        return out


@dataclass
class RunResult:
    info: dict
    cases: list[CaseResult]
    summary: dict = field(default_factory=dict)
    thresholds: list = field(default_factory=list)  # tutor.evals.thresholds.Check
    comparison: dict | None = None

    @property
    def passed(self) -> bool:
        return all(c.status != "fail" for c in self.thresholds)

    def to_json(self) -> dict:
        return {
            "version": RESULT_VERSION,
            "run": self.info,
            "passed": self.passed,
            "thresholds": [asdict(c) for c in self.thresholds],
            "summary": self.summary,
            "cases": [c.to_json() for c in self.cases],
            **({"comparison": self.comparison} if self.comparison is not None else {}),
        }


def run_eval(
    engine,
    datasets: Sequence[Dataset],
    *,
    scorer=None,
    llm=None,
    k: int = 4,
    responder: str = "grounded",
    judge: str = "default",
    on_case: Callable[[CaseResult], None] | None = None,
) -> RunResult:
    """Validate the datasets against the index, then run and score every case."""
    check_against_corpus(datasets, engine.documents)
    scorer = scorer if scorer is not None else engine.scorer
    documents = {doc_id: d.text for doc_id, d in engine.documents.items()}
    speakers = frozenset(w for d in engine.documents.values() for w in author_words(d.meta or {}))
    snap = engine.index.snapshot()
    chunk_text = {c.chunk_id: snap.evidence_text(c) for c in snap.chunks}  # instructions to the tutor are no evidence
    _warm_up(engine)
    started = time.perf_counter()
    results = []
    for ds in datasets:
        for case in ds.cases:
            result = run_case(engine, case, scorer=scorer, llm=llm, k=k, documents=documents, chunk_text=chunk_text,
                              speakers=speakers)
            results.append(result)
            if on_case is not None:
                on_case(result)
    info = {
        "datasets": [{"name": d.name, "path": str(d.path), "cases": len(d.cases)} for d in datasets],
        "responder": responder,
        "judge": judge,
        "cases": len(results),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 2),
        "index_version": engine.index.snapshot().version,
        "python": platform.python_version(),
        "replied_by": dict(Counter(r.responder for r in results if r.responder)),
    }
    return RunResult(info, results, summarise(results))


def _warm_up(engine) -> None:
    try:
        engine.grounded.explain(WARM_UP)
    except Exception:  # noqa: BLE001 - a warm-up failure shows up in the first case instead
        pass


def run_case(engine, case: Case, *, scorer, llm=None, k: int = 4, documents=None, chunk_text=None,
             speakers: frozenset[str] = frozenset()) -> CaseResult:
    """Play one case through a fresh session and score its reply. `speakers`:
    the articles' author-name words, for the judge (a first-person article's "I")."""
    from tutor.session import Session

    result = CaseResult(case=case, mode=case.mode)
    try:
        session = Session(engine, mode=case.mode, doc_id=case.doc, k=k, llm=llm)
        reply = None
        for i, message in enumerate(case.turns):
            if llm is not None and hasattr(llm, "last_raw"):
                llm.last_raw = None
            reply = session.send(message)
            if i < len(case.turns) - 1:
                result.earlier.append({"message": message, "answer": reply.answer})
        learner = [t for t in session.history if t.role == "learner"][-1]
        resolved = learner.resolved or learner.text
        retrieval = engine.retriever.search(resolved, k=k, doc_id=case.doc)
    except Exception as exc:  # noqa: BLE001 - any crash is this case's error, not the run's
        result.error = f"{type(exc).__name__}: {exc}"
        return result

    chunk_text = chunk_text or {}
    citations = [
        {**c.to_json(), "chunk_id": c.chunk_id, "heading": c.heading, "highlights": [list(h) for h in c.highlights]}
        for c in reply.citations
    ]
    sample = Sample(
        case=case,
        answer=reply.answer,
        declined=bool(reply.declined),
        mode=reply.mode,
        citations=citations,
        cited_passages={c.n: _cited_text(c, chunk_text, documents or {}) for c in reply.citations},
        hits=[Hit(h.chunk.doc_id, h.chunk.start, h.chunk.end, chunk_text.get(h.chunk.chunk_id, h.chunk.text))
              for h in retrieval.hits],
        documents=documents or {},
        latency_ms=reply.latency_ms,
        responder=reply.responder,
        notice=reply.notice,
        speakers=speakers,
    )
    result.answer, result.declined, result.mode = reply.answer, bool(reply.declined), reply.mode
    result.citations, result.latency_ms = citations, reply.latency_ms
    result.responder, result.notice, result.resolved = reply.responder, reply.notice, resolved
    result.metrics = score_sample(sample, scorer)
    raw = getattr(llm, "last_raw", None) if llm is not None else None
    if raw is not None:
        result.raw_answer = raw
        raw_sample = Sample(**{**sample.__dict__, "answer": raw, "declined": False})
        result.raw_groundedness = Groundedness(scorer).score(raw_sample)
    return result


# ---- aggregation ------------------------------------------------------------------


def summarise(results: list[CaseResult]) -> dict:
    kinds = [k for k in KINDS if any(r.case.kind == k for r in results)]
    kinds += sorted({r.case.kind for r in results} - set(kinds))
    out = {
        "overall": _aggregate(results),
        "by_kind": {k: _aggregate([r for r in results if r.case.kind == k]) for k in kinds},
    }
    raw = [r.raw_groundedness for r in results if r.raw_groundedness is not None]
    if raw:
        out["overall"]["groundedness_before_guard"] = _stats(raw)
    return out


def _aggregate(results: list[CaseResult]) -> dict:
    ok = [r for r in results if not r.error]
    agg: dict = {
        "cases": len(results),
        "passed": sum(1 for r in results if r.verdict == "pass"),
        "failed": sum(1 for r in results if r.verdict == "fail"),
        "errors": sum(1 for r in results if r.verdict == "error"),
    }
    agg["pass_rate"] = _ratio(agg["passed"], len(results))
    for name in ORDER:
        if name == "latency":
            p = percentiles([r.latency_ms for r in ok])
            agg["latency"] = p.to_json()
        else:
            agg[name] = _stats([r.metrics[name] for r in ok if name in r.metrics])
    return agg


def _stats(results: list[MetricResult]) -> dict:
    done = [m for m in results if m.scored]
    mean = sum(m.value for m in done) / len(done) if done else None
    passed = sum(1 for m in done if m.passed)
    return {
        "mean": None if mean is None else round(mean, 4),
        "pass_rate": _ratio(passed, len(done)),
        "scored": len(done),
        "not_scored": len(results) - len(done),
        "passed": passed,
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


__all__ = ["CaseResult", "RunResult", "run_eval", "run_case", "summarise", "LOWER_IS_BETTER"]


def _cited_text(c, chunk_text: dict[str, str], documents: dict[str, str]) -> str:
    """What a citation rests on: the passage as the index stores it, or, when
    the citation was widened to hold a whole quoted sentence, that span of the
    article, provided it is the article's text at those offsets (a responder
    cannot make a citation say more than the article does)."""
    text = documents.get(c.doc_id, "")
    if c.text and text[c.start : c.end] == c.text:
        return c.text
    return chunk_text.get(c.chunk_id, c.text)
