"""Fit the support judge and the reply assessor on labeled data of many articles.

    python -m tutor.fitting            # refit both, write tutor/models/*.json, print LOAO tables
    python -m tutor.fitting --check    # exit 1 when a model is stale (its data changed)

Both decisions are logistic regressions (scikit-learn) over article-agnostic
features (`tutor.alignment` for claims, `tutor.assess` for replies). The data
are *groups*, one per article: every `evals/articles/<slug>/claims.jsonl` and
`replies.jsonl`, the seed's `evals/claims.jsonl` and
`tests/data/learner_replies.jsonl`, and `tests/data/claims_holdout.jsonl`
(mixed short passages, a group of its own). Each model file holds the feature
names, the scaler, the coefficients, the decision threshold and the SHA-256 of
the data it was fitted on; `tests/test_fitting.py` fails when that hash no
longer matches the data, so a stale model cannot pass CI.

A model may carry *vetoes*: features that make its probability 0 whenever
they fire (the support judge's `SUPPORT_VETOES`); the threshold is fitted, and
LOAO scored, with them applied.

The threshold is fitted too: on out-of-group predictions within the training
groups, the lowest probability that keeps the true-negative rate at or above
`MIN_TNR` (a guard that lets a hallucination through is worse than one that
drops a good sentence), else the one with the best balanced accuracy.

`loao()` reports each group as it would be on an unseen article: fitted on
all the other groups, scored on the one left out. That is the number
`tutor eval --scorer` and `tutor eval --replies` gate on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tutor.config import data_dir

MODELS = Path(__file__).with_name("models")
MIN_TNR = 0.8  # on out-of-group predictions of the training groups (see the module docstring)
C = 1.0  # inverse regularisation strength; one value for both models, checked on LOAO only
# the alignment features the support model reads (chosen on LOAO: the others
# added nothing on held-out articles, or fired as often on faithful paraphrases)
SUPPORT_FEATURES = (
    "coverage", "similarity", "similarity_best", "novel", "name_novel", "number_novel", "number_conflict",
    "negation_parity", "misplaced_single",
)
# alignment features that decide "unsupported" whenever they fire, whatever the
# probability: a name the passages never use (39 of the 45 labeled claims it
# fires on are unsupported; the other six name the article's author or a
# demonym). Leave-one-article-out it raised no group's error and one group's
# balanced accuracy from 0.62 to 0.67 (true-negative rate 0.39 -> 0.50).
SUPPORT_VETOES = ("name_novel",)
_REPO = Path(__file__).resolve().parent.parent


# ---- data -----------------------------------------------------------------------


def _tests_data(name: str) -> Path | None:
    p = _REPO / "tests" / "data" / name
    return p if p.is_file() else None


def claim_groups() -> dict[str, Path]:
    """Labeled claim files, one per article group, in a fixed order."""
    evals = data_dir("evals")
    out = {d.name: d / "claims.jsonl" for d in sorted((evals / "articles").glob("*")) if (d / "claims.jsonl").is_file()}
    out["seed"] = evals / "claims.jsonl"
    holdout = _tests_data("claims_holdout.jsonl")
    if holdout:
        out["holdout"] = holdout
    return out


def reply_groups() -> dict[str, Path]:
    """Labeled learner-reply files, one per article group."""
    evals = data_dir("evals")
    out = {d.name: d / "replies.jsonl" for d in sorted((evals / "articles").glob("*")) if (d / "replies.jsonl").is_file()}
    seed = _tests_data("learner_replies.jsonl")
    if seed:
        out["seed"] = seed
    return out


def articles_of(path: Path | str) -> list[Path]:
    """The article(s) a labeled file was written for: the package article
    beside the file, or the packaged corpus for the seed's own sets (in
    `evals/`, and its labeled learner replies). Empty when there is none."""
    from tutor.corpus import SUPPORTED_SUFFIXES
    from tutor.evals.packages import is_package, load_package

    path = Path(path).resolve()
    folder = path.parent
    if is_package(folder):
        return [load_package(folder).article]
    seed_replies = _tests_data("learner_replies.jsonl")
    if folder == data_dir("evals").resolve() or (seed_replies is not None and path == seed_replies.resolve()):
        return sorted(p for p in data_dir("corpus").iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
    return []


@lru_cache(maxsize=64)
def speakers_of(path: Path | str) -> frozenset[str]:
    """The author-name words of the article a labeled file was written for (a
    first-person article calls its author "I"; `alignment.as_speaker`).
    Empty when there is no such article or it names no author."""
    from tutor.corpus import load_document
    from tutor.errors import TutorError
    from tutor.responders.metadata import author_words

    words: set[str] = set()
    for article in articles_of(path):
        try:
            words |= author_words(load_document(article).meta or {})
        except TutorError:
            continue
    return frozenset(words)


@lru_cache(maxsize=64)
def article_terms(path: Path | str) -> frozenset[str] | None:
    """The lemmas (and stems) of the article a labeled file was written for,
    as the index keeps them per chunk; None when the file names no article."""
    from tutor import language as L
    from tutor.corpus import load_document
    from tutor.errors import TutorError

    articles = articles_of(path)
    if not articles:
        return None
    terms: set[str] = set()
    for article in articles:
        try:
            terms |= set(L.terms(L.parse(load_document(article).text)))
        except TutorError:
            continue
    return frozenset(terms | {L.stem(t) for t in terms})


def data_hash(groups: dict[str, Path]) -> str:
    """SHA-256 over every group's name and file bytes, in order."""
    h = hashlib.sha256()
    for name, path in groups.items():
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- the model ---------------------------------------------------------------------


@dataclass
class LinearModel:
    """A fitted logistic regression on standardised features (no scikit-learn
    needed to apply it): p = sigmoid(((x - mean) / scale) . coef + intercept)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    clip: float = 3.0  # counts above this are all "many"
    meta: dict | None = None
    vetoes: tuple[str, ...] = ()  # features that make the probability 0 when they fire

    def vetoed(self, values: dict[str, float]) -> bool:
        return any(values.get(n, 0.0) > 0 for n in self.vetoes)

    def vector(self, values: dict[str, float]) -> np.ndarray:
        return np.array([min(float(values.get(n, 0.0)), self.clip) for n in self.features], dtype=np.float64)

    def probability(self, values: dict[str, float], veto: bool = True) -> float:
        """The fitted probability; 0 when a veto feature fires (unless `veto` is False)."""
        if veto and self.vetoed(values):
            return 0.0
        z = float(((self.vector(values) - self.mean) / self.scale) @ self.coef + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def to_json(self) -> dict:
        return {
            "features": list(self.features), "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(), "coef": self.coef.round(6).tolist(),
            "intercept": round(self.intercept, 6), "threshold": round(self.threshold, 6), "clip": self.clip,
            **({"vetoes": list(self.vetoes)} if self.vetoes else {}), **(self.meta or {}),
        }

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        known = {"features", "mean", "scale", "coef", "intercept", "threshold", "clip", "vetoes"}
        return cls(tuple(data["features"]), np.array(data["mean"], float), np.array(data["scale"], float),
                   np.array(data["coef"], float), float(data["intercept"]), float(data["threshold"]),
                   float(data.get("clip", 3.0)), {k: v for k, v in data.items() if k not in known},
                   tuple(data.get("vetoes", ())))


@dataclass
class MultinomialModel:
    """A fitted multinomial logistic regression on standardised features:
    p(class) = softmax(((x - mean) / scale) . coef[class] + intercept[class])."""

    features: tuple[str, ...]
    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # classes x features
    intercept: np.ndarray
    clip: float = 3.0
    meta: dict | None = None

    def probabilities(self, values: dict[str, float]) -> dict[str, float]:
        x = np.array([min(float(values.get(n, 0.0)), self.clip) for n in self.features], dtype=np.float64)
        z = self.coef @ ((x - self.mean) / self.scale) + self.intercept
        e = np.exp(z - z.max())
        return dict(zip(self.classes, (e / e.sum()).tolist(), strict=True))

    def predict(self, values: dict[str, float]) -> str:
        p = self.probabilities(values)
        return max(self.classes, key=lambda c: p[c])

    def to_json(self) -> dict:
        return {"features": list(self.features), "classes": list(self.classes), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "coef": self.coef.round(6).tolist(),
                "intercept": self.intercept.round(6).tolist(), "clip": self.clip, **(self.meta or {})}

    @classmethod
    def from_json(cls, data: dict) -> MultinomialModel:
        known = {"features", "classes", "mean", "scale", "coef", "intercept", "clip"}
        return cls(tuple(data["features"]), tuple(data["classes"]), np.array(data["mean"], float),
                   np.array(data["scale"], float), np.array(data["coef"], float), np.array(data["intercept"], float),
                   float(data.get("clip", 3.0)), {k: v for k, v in data.items() if k not in known})


def fit_multinomial(rows: Sequence[dict[str, float]], labels: Sequence[str], names: Sequence[str]) -> MultinomialModel:
    """One multinomial logistic regression over every class of `labels` (balanced class weights)."""
    from sklearn.linear_model import LogisticRegression

    X, y = _matrix(rows, names), np.array(labels)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    lr.fit((X - mean) / scale, y)
    return MultinomialModel(tuple(names), tuple(str(c) for c in lr.classes_), mean, scale,
                            lr.coef_.astype(np.float64), lr.intercept_.astype(np.float64))


def load_model(name: str) -> LinearModel:
    """The packaged model `tutor/models/<name>.json`."""
    from tutor.errors import ConfigError

    path = MODELS / f"{name}.json"
    try:
        return LinearModel.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"the fitted model {path.name} is missing or broken ({exc}); run `python -m tutor.fitting`") from None


def _matrix(rows: Sequence[dict[str, float]], names: Sequence[str], clip: float = 3.0) -> np.ndarray:
    return np.array([[min(float(r.get(n, 0.0)), clip) for n in names] for r in rows], dtype=np.float64)


def _fit_core(X: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    lr.fit((X - mean) / scale, y)
    return mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def _threshold(p: np.ndarray, y: np.ndarray, min_tnr: float | None) -> float:
    """The decision threshold on out-of-group probabilities `p` (see the module docstring)."""
    best, best_ba = 0.5, -1.0
    safe, safe_ba = None, -1.0
    for t in np.unique(np.concatenate([p, [0.5]])):
        pred = p >= t
        tpr = float(pred[y == 1].mean()) if (y == 1).any() else 0.0
        tnr = float((~pred[y == 0]).mean()) if (y == 0).any() else 0.0
        ba = (tpr + tnr) / 2
        if ba > best_ba:
            best, best_ba = float(t), ba
        if min_tnr is not None and tnr >= min_tnr and ba > safe_ba:
            safe, safe_ba = float(t), ba
    return safe if safe is not None else best


def fit(rows: Sequence[dict[str, float]], labels: Sequence[bool], groups: Sequence[str], names: Sequence[str],
        min_tnr: float | None = MIN_TNR, vetoes: Sequence[str] = ()) -> LinearModel:
    """Fit coefficients on all rows and the threshold on out-of-group predictions
    (a row that a veto feature decides counts as predicted 0)."""
    X, y, g = _matrix(rows, names), np.array(labels, dtype=int), np.array(groups)
    oof = np.zeros(len(y))
    for held in dict.fromkeys(groups):
        test = g == held
        if test.all() or len(set(y[~test])) < 2:
            oof[test] = 0.5
            continue
        mean, scale, coef, b = _fit_core(X[~test], y[~test])
        oof[test] = 1 / (1 + np.exp(-(((X[test] - mean) / scale) @ coef + b)))
    oof[[any(r.get(n, 0.0) > 0 for n in vetoes) for r in rows]] = 0.0
    mean, scale, coef, b = _fit_core(X, y)
    return LinearModel(tuple(names), mean, scale, coef, b, _threshold(oof, y, min_tnr), vetoes=tuple(vetoes))


@dataclass
class GroupResult:
    group: str
    predicted: list[bool]
    labels: list[bool]
    probabilities: list[float]


def loao(rows: Sequence[dict[str, float]], labels: Sequence[bool], groups: Sequence[str], names: Sequence[str],
         min_tnr: float | None = MIN_TNR, vetoes: Sequence[str] = ()) -> dict[str, GroupResult]:
    """Leave one article group out: fit on the others (threshold included), score the one left out."""
    out = {}
    for held in dict.fromkeys(groups):
        train = [i for i, x in enumerate(groups) if x != held]
        test = [i for i, x in enumerate(groups) if x == held]
        model = fit([rows[i] for i in train], [labels[i] for i in train], [groups[i] for i in train], names, min_tnr,
                    vetoes)
        probs = [model.probability(rows[i]) for i in test]
        said = [p >= model.threshold and not model.vetoed(rows[i]) for p, i in zip(probs, test, strict=True)]
        out[held] = GroupResult(held, said, [bool(labels[i]) for i in test], probs)
    return out


def rates(predicted: Sequence[bool], labels: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    tn = sum(1 for p, y in zip(predicted, labels, strict=True) if not p and not y)
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    tpr = tp / pos if pos else math.nan
    tnr = tn / neg if neg else math.nan
    return {"tpr": tpr, "tnr": tnr, "balanced_accuracy": (tpr + tnr) / 2, "n": len(labels)}


# ---- the two data sets as feature rows -------------------------------------------


def claim_rows(judge=None, groups: dict[str, Path] | None = None,
               progress: Callable[[str], None] | None = None) -> tuple[list[dict], list[bool], list[str], list[dict]]:
    """Feature rows of every labeled claim (features, label, group, the claim itself)."""
    from tutor.support import SupportScorer

    judge = judge or SupportScorer(model=False)
    rows, labels, names, items = [], [], [], []
    for name, path in (groups or claim_groups()).items():
        if progress:
            progress(name)
        for c in read_jsonl(path):
            rows.append(judge.features(c["claim"], [c["passage"]], speakers_of(path)))
            labels.append(bool(c["supported"]))
            names.append(name)
            items.append(c)
    return rows, labels, names, items


def reply_rows(judge=None, groups: dict[str, Path] | None = None,
               progress: Callable[[str], None] | None = None) -> tuple[list[dict], list[str], list[str], list[dict]]:
    """Feature rows of every labeled reply (features, label, group, the reply case)."""
    from tutor.assess import reply_features
    from tutor.support import SupportScorer

    judge = judge or SupportScorer()
    rows, labels, names, items = [], [], [], []
    for name, path in (groups or reply_groups()).items():
        if progress:
            progress(name)
        for c in read_jsonl(path):
            rows.append(reply_features(c["reply"], question=c["question"], reference=c["reference"],
                                       quotes=c.get("quotes") or [], keywords=c.get("keywords") or (), scorer=judge,
                                       article_terms=article_terms(path)))
            labels.append(c["label"])
            names.append(name)
            items.append(c)
    return rows, labels, names, items


# ---- the command -------------------------------------------------------------------


def fit_support(judge=None, progress=None) -> tuple[LinearModel, dict[str, dict]]:
    groups = claim_groups()
    rows, labels, names, _ = claim_rows(judge, groups, progress)
    model = fit(rows, labels, names, SUPPORT_FEATURES, vetoes=SUPPORT_VETOES)
    table = {g: rates(r.predicted, r.labels)
             for g, r in loao(rows, labels, names, SUPPORT_FEATURES, vetoes=SUPPORT_VETOES).items()}
    model.meta = {"kind": "support judge: logistic regression on tutor.alignment features",
                  "data_sha256": data_hash(groups), "groups": {g: len(read_jsonl(p)) for g, p in groups.items()},
                  "loao": {g: {k: round(v, 4) for k, v in t.items()} for g, t in table.items()}}
    return model, table


def fit_assessor(judge=None, progress=None) -> tuple[dict, dict[str, dict]]:
    """One multinomial model over correct/partial/incorrect (chosen on LOAO:
    it beat two binary models, "correct vs the rest" and "something stated vs
    incorrect", on six of the eight reply groups); LOAO accuracy per group."""
    from tutor.assess import REPLY_FEATURES, verdict_from

    groups = reply_groups()
    rows, labels, names, _ = reply_rows(judge, groups, progress)
    model, table = _fit_replies(rows, labels, names, REPLY_FEATURES, verdict_from)
    model.meta = {"kind": "reply assessor: multinomial logistic regression on tutor.assess features",
                  "data_sha256": data_hash(groups), "groups": {g: len(read_jsonl(p)) for g, p in groups.items()},
                  "loao": {g: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in t.items()}
                           for g, t in table.items()}}
    return model.to_json(), table


def _fit_replies(rows, labels, names, features, verdict_from):
    full = fit_multinomial(rows, labels, features)
    table = {}
    for held in dict.fromkeys(names):
        train = [i for i, x in enumerate(names) if x != held]
        test = [i for i, x in enumerate(names) if x == held]
        model = fit_multinomial([rows[i] for i in train], [labels[i] for i in train], features)
        said = [verdict_from(rows[i], model) for i in test]
        table[held] = {"accuracy": sum(s == labels[i] for s, i in zip(said, test, strict=True)) / len(test),
                       "n": len(test), "confusion": confusion(said, [labels[i] for i in test])}
    return full, table


VERDICTS = ("correct", "partial", "incorrect")


def confusion(said: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """{label: {verdict: count}} over correct/partial/incorrect."""
    out = {a: dict.fromkeys(VERDICTS, 0) for a in VERDICTS}
    for s, y in zip(said, labels, strict=True):
        out[y][s] += 1
    return out


def load_assessor() -> MultinomialModel:
    """The packaged assessor model."""
    from tutor.errors import ConfigError

    path = MODELS / "assess.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return MultinomialModel.from_json(data)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"the fitted model {path.name} is missing or broken ({exc}); run `python -m tutor.fitting`") from None


def stale() -> list[str]:
    """Names of packaged models whose training data changed since they were fitted."""
    out = []
    for name, groups in (("support", claim_groups()), ("assess", reply_groups())):
        try:
            meta = json.loads((MODELS / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out.append(name)
            continue
        if meta.get("data_sha256") != data_hash(groups):
            out.append(name)
    return out


def _write(name: str, model: LinearModel | dict) -> Path:
    MODELS.mkdir(exist_ok=True)
    path = MODELS / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    data = model.to_json() if isinstance(model, LinearModel) else model
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tutor.fitting", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check that the models match their data")
    ap.add_argument("--only", choices=("support", "assess"), help="refit one model")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale()
        print("stale: " + ", ".join(bad) if bad else "models are up to date")
        return 1 if bad else 0
    from tutor.support import SupportScorer

    judge = SupportScorer(model=False)

    def say(g):
        print(f"  features: {g}", file=sys.stderr)

    if args.only in (None, "support"):
        model, table = fit_support(judge, say)
        print(f"wrote {_write('support', model)} (threshold {model.threshold:.3f})")
        for g, t in table.items():
            print(f"  {g:32s} BA {t['balanced_accuracy']:.3f}  TPR {t['tpr']:.3f}  TNR {t['tnr']:.3f}  n={t['n']}")
    if args.only in (None, "assess"):
        model, table = fit_assessor(SupportScorer(), say)
        print(f"wrote {_write('assess', model)}")
        for g, t in table.items():
            print(f"  {g:32s} accuracy {t['accuracy']:.3f}  n={t['n']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
