"""The support scorer, itself evaluated on labeled claims.

A claims file is JSONL, one `{"claim": str, "passage": str, "supported": bool}`
a line. The judge scores each claim against its passage; the result is the
confusion matrix and the balanced accuracy, the mean of the true-positive rate
(supported claims accepted) and the true-negative rate (unsupported claims
rejected), which does not reward a judge for agreeing with the majority label.

Steps:
1. load and validate every line (one-line errors naming file and line);
2. score each claim against its passage, told the name of the article's author
   (`fitting.speakers_of`: a first-person article calls its author "I");
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
    from tutor.fitting import speakers_of

    speakers = speakers_of(path)
    # step 2
    started = time.perf_counter()
    tp = tn = fp = fn = 0
    mistakes = []
    for c in claims:
        r = judge.score(c.claim, [c.passage], speakers)
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


# ---- leave one article out ------------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def group_of(path: Path | str, groups: dict[str, Path]) -> str | None:
    """The fitting group a claims/replies file is (same file or same bytes), if any."""
    for name, p in groups.items():
        if _same_file(Path(path), p):
            return name
    return None


def evaluate_loao(judge, names: list[str] | None = None) -> list[ScorerEval]:
    """Each claim group (or those in `names`) as an unseen article: the support
    model fitted on every other group (threshold included) scores this one.
    Features come from `judge` (a SupportScorer)."""
    from tutor import fitting

    groups = fitting.claim_groups()
    started = time.perf_counter()
    rows, labels, gnames, items = fitting.claim_rows(judge, groups)
    results = fitting.loao(rows, labels, gnames, fitting.SUPPORT_FEATURES, vetoes=fitting.SUPPORT_VETOES)
    seconds = time.perf_counter() - started
    out = []
    for name in names or list(groups):
        r = results[name]
        idx = [i for i, g in enumerate(gnames) if g == name]
        tp = tn = fp = fn = 0
        mistakes = []
        for line, (i, said, p) in enumerate(zip(idx, r.predicted, r.probabilities, strict=True), start=1):
            y = labels[i]
            tp += said and y
            tn += (not said) and (not y)
            fp += said and not y
            fn += (not said) and y
            if said != y:
                from tutor.support import reason_of

                mistakes.append({"line": line, "claim": items[i]["claim"], "label": y, "judged": said,
                                 "reason": "supported" if said else reason_of(rows[i]), "score": round(p, 4)})
        e = ScorerEval(name, len(idx), tp, tn, fp, fn, seconds * len(idx) / max(1, len(rows)), mistakes)
        out.append(e)
    return out
