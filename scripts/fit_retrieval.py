"""Fit the passage scorer (`tutor/models/passages.json`) that fuses the dense,
sentence and BM25 evidence of every pooled chunk into one relevance score.

For every answerable, false-premise and Socratic case with support quotes in
every article group (`_groups.py`), each chunk in the retrieval pool gets the
features of `tutor.retrieve.PASSAGE_FEATURES` and the label 1 when it holds a
support quote. A class-balanced logistic regression is fitted on all groups;
leave-one-article-out recall of the support quotes within the top four
chunks is reported per group and stored with the model.

    python scripts/fit_retrieval.py [--packages DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _groups import ROOT, engine_for, groups, save_model  # noqa: E402

from tutor.retrieve import PASSAGE_FEATURES, PASSAGE_MODEL  # noqa: E402

KINDS = {"answerable", "false_premise", "socratic"}


def measure(spec, embedder):
    from tutor.evals.dataset import load_dataset, normalise

    data = {}
    for name, articles, evals in spec:
        questions = []
        with engine_for(name, articles, embedder) as engine:
            snap = engine.index.snapshot()
            by_id = {c.chunk_id: c for c in snap.chunks}
            for path in evals:
                for case in load_dataset(path).cases:
                    if case.kind not in KINDS or not case.support:
                        continue
                    r = engine.retriever._search(case.question, 4, case.doc)
                    quotes = [normalise(q) for q in case.support]
                    rows = [(f, [i for i, q in enumerate(quotes) if q in normalise(by_id[cid].text)])
                            for cid, f in r.passage_features.items()]
                    questions.append((case.id, rows, len(quotes)))
        data[name] = questions
        print(f"  {name}: {len(questions)} questions", file=sys.stderr)
    return data


def fit(questions):
    from sklearn.linear_model import LogisticRegression

    rows = [(f, bool(q)) for _, rs, _ in questions for f, q in rs]
    X = np.array([[f[n] for n in PASSAGE_FEATURES] for f, _ in rows], dtype=float)
    y = np.array([lab for _, lab in rows])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000).fit((X - mean) / scale, y)
    return {"features": list(PASSAGE_FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "threshold": 0.5}


def _p(model, f):
    x = (np.array([f[n] for n in model["features"]]) - np.array(model["mean"])) / np.array(model["scale"])
    return float(1 / (1 + np.exp(-(x @ np.array(model["coef"]) + model["intercept"]))))


def recall(model, questions, k=4) -> float:
    got = n = 0
    for _, rows, nq in questions:
        top = sorted(rows, key=lambda r: -_p(model, r[0]))[:k]
        got += len({q for _, qs in top for q in qs})
        n += nq
    return got / n if n else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packages", type=Path, default=ROOT / "evals" / "articles")
    ap.add_argument("--out", type=Path, default=PASSAGE_MODEL)
    args = ap.parse_args()
    from tutor.embedder import get_embedder

    spec = groups(args.packages)
    data = measure(spec, get_embedder())
    model = fit([q for qs in data.values() for q in qs])
    report = {}
    for held in data:
        m = fit([q for g, qs in data.items() if g != held for q in qs])
        report[held] = {"questions": len(data[held]), "recall_at_4": round(recall(m, data[held]), 4)}
    save_model(model, spec, report, args.out)
    for g, r in report.items():
        print(f"  {g:30s} recall@4 {r['recall_at_4']}  ({r['questions']} questions)")
    print("coefficients:", {n: round(c, 2) for n, c in zip(model["features"], model["coef"], strict=True)})


if __name__ == "__main__":
    main()
