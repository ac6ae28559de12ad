"""The support scorer, itself evaluated on labeled claims.

A claims file is JSONL, one `{"claim": str, "passage": str, "supported": bool}`
a line. The judge scores each claim against its passage; the result is the
confusion matrix and the balanced accuracy, the mean of the true-positive rate
(supported claims accepted) and the true-negative rate (unsupported claims
rejected), which does not reward a judge for agreeing with the majority label.

Steps:
1. load and validate every line (one-line errors naming file and line);
2. score each claim against its passage;
3. TPR, TNR and balanced accuracy; NaN (reported as not scored) when one class
   is missing, since a rate over an empty class means nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from tutor.errors import DatasetError


@dataclass(frozen=True)
class LabeledClaim:
    claim: str
    passage: str
    supported: bool
    line: int


@dataclass
class ScorerEval:
    path: str
    n: int
    tp: int
    tn: int
    fp: int
    fn: int
    seconds: float
    mistakes: list[dict] = field(default_factory=list)

    @property
    def tpr(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def tnr(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else math.nan

    @property
    def balanced_accuracy(self) -> float:
        return (self.tpr + self.tnr) / 2  # NaN when a class is missing

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else math.nan

    def to_json(self) -> dict:
        def r(v):
            return None if math.isnan(v) else round(v, 4)

        return {
            "path": self.path, "n": self.n,
            "balanced_accuracy": r(self.balanced_accuracy), "accuracy": r(self.accuracy),
            "tpr": r(self.tpr), "tnr": r(self.tnr),
            "tp": self.tp, "tn": self.tn, "fp": self.fp, "fn": self.fn,
            "seconds": round(self.seconds, 2), "mistakes": self.mistakes,
        }


def load_claims(path: Path | str) -> list[LabeledClaim]:
    from tutor.evals.dataset import read_jsonl

    out = []
    for where, number, obj in read_jsonl(path, "claims"):
        if not isinstance(obj, dict):
            raise DatasetError(f"{where}: each line must be a JSON object")
        for key in ("claim", "passage"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise DatasetError(f"{where}: '{key}' must be a non-empty string")
        if not isinstance(obj.get("supported"), bool):
            raise DatasetError(f"{where}: 'supported' must be true or false")
        out.append(LabeledClaim(obj["claim"], obj["passage"], obj["supported"], number))
    if not out:
        raise DatasetError(f"{path}: the claims file holds no claims")
    return out


def evaluate_scorer(path: Path | str, judge) -> ScorerEval:
    # step 1
    claims = load_claims(path)
    # step 2
    started = time.perf_counter()
    tp = tn = fp = fn = 0
    mistakes = []
    for c in claims:
        r = judge.score(c.claim, [c.passage])
        said = bool(r.supported)
        if said and c.supported:
            tp += 1
        elif not said and not c.supported:
            tn += 1
        else:
            fp += said
            fn += not said
            mistakes.append({"line": c.line, "claim": c.claim, "label": c.supported,
                             "judged": said, "reason": getattr(r, "reason", "")})
    # step 3
    return ScorerEval(str(path), len(claims), tp, tn, fp, fn, time.perf_counter() - started, mistakes)


def combine(evals: list[ScorerEval]) -> ScorerEval:
    """All claim files as one set."""
    return ScorerEval(
        "+".join(e.path for e in evals), sum(e.n for e in evals), sum(e.tp for e in evals),
        sum(e.tn for e in evals), sum(e.fp for e in evals), sum(e.fn for e in evals),
        sum(e.seconds for e in evals), [m for e in evals for m in e.mistakes],
    )
