"""The reply assessor, itself evaluated on labeled learner replies.

A replies file is JSONL, one `{"question", "reference", "quotes", "reply",
"label"}` a line (`label` one of correct, partial, incorrect; an optional
`keywords` list). The result is the accuracy, the confusion matrix over the
three verdicts and every misjudged reply.

Steps:
1. load and validate every line (one-line errors naming file and line);
2. judge each reply: a file that is one of the fitting groups
   (`tutor.fitting.reply_groups`) is judged by models fitted WITHOUT it
   (leave one article out), any other file by the packaged models;
3. accuracy and confusion matrix; NaN when the file holds no reply.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from tutor.errors import DatasetError

LABELS = ("correct", "partial", "incorrect")


@dataclass
class RepliesEval:
    path: str
    n: int
    correct: int
    confusion: dict[str, dict[str, int]]
    seconds: float
    loao: bool
    mistakes: list[dict] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else math.nan

    def to_json(self) -> dict:
        acc = self.accuracy
        return {"path": self.path, "n": self.n, "accuracy": None if math.isnan(acc) else round(acc, 4),
                "confusion": self.confusion, "loao": self.loao, "seconds": round(self.seconds, 2),
                "mistakes": self.mistakes}


def load_replies(path: Path | str) -> list[dict]:
    from tutor.evals.dataset import read_jsonl

    out = []
    for where, _number, obj in read_jsonl(path, "replies"):
        if not isinstance(obj, dict):
            raise DatasetError(f"{where}: each line must be a JSON object")
        for key in ("question", "reference"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise DatasetError(f"{where}: '{key}' must be a non-empty string")
        if not isinstance(obj.get("reply"), str):
            raise DatasetError(f"{where}: 'reply' must be a string")
        quotes = obj.get("quotes", [])
        if not isinstance(quotes, list) or not all(isinstance(q, str) for q in quotes):
            raise DatasetError(f"{where}: 'quotes' must be a list of strings")
        kw = obj.get("keywords", [])
        if not isinstance(kw, list) or not all(isinstance(k, str) for k in kw):
            raise DatasetError(f"{where}: 'keywords' must be a list of strings")
        if obj.get("label") not in LABELS:
            raise DatasetError(f"{where}: 'label' must be one of {', '.join(LABELS)}")
        out.append(obj)
    if not out:
        raise DatasetError(f"{path}: the replies file holds no replies")
    return out


def evaluate_replies(paths: list[Path], judge) -> list[RepliesEval]:
    """Steps 2-3 for every file (features for LOAO come from all fitting groups)."""
    from tutor import fitting
    from tutor.assess import REPLY_FEATURES, reply_features, verdict_from
    from tutor.evals.scorer_eval import group_of

    groups = fitting.reply_groups()
    names = {p: group_of(p, groups) for p in paths}
    held_models: dict[str, fitting.MultinomialModel] = {}
    if any(names.values()):
        rows, labels, gnames, _ = fitting.reply_rows(judge, groups)
        for held in {n for n in names.values() if n}:
            train = [i for i, g in enumerate(gnames) if g != held]
            held_models[held] = fitting.fit_multinomial([rows[i] for i in train], [labels[i] for i in train],
                                                        REPLY_FEATURES)
    out = []
    for p in paths:
        started = time.perf_counter()
        cases = load_replies(p)
        models = held_models.get(names[p]) if names[p] else None
        said, mistakes = [], []
        terms = fitting.article_terms(p)
        for line, c in enumerate(cases, start=1):
            f = reply_features(c["reply"], question=c["question"], reference=c["reference"],
                               quotes=c.get("quotes") or [], keywords=c.get("keywords") or (), scorer=judge,
                               article_terms=terms)
            v = verdict_from(f, models)
            said.append(v)
            if v != c["label"]:
                mistakes.append({"line": line, "question": c["question"], "reply": c["reply"],
                                 "label": c["label"], "judged": v})
        conf = fitting.confusion(said, [c["label"] for c in cases])
        ok = sum(s == c["label"] for s, c in zip(said, cases, strict=True))
        out.append(RepliesEval(str(p), len(cases), ok, conf, time.perf_counter() - started, models is not None,
                               mistakes))
    return out
