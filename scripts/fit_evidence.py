"""Fit the evidence ranker (`tutor/models/evidence.json`): which sentence of the
retrieved passages answers the question?

For every answerable, false-premise, Socratic and follow-up case with support
quotes, in every article group (`_groups.py`), each candidate sentence of the
retrieved passages gets the features of `tutor.responders.evidence.FEATURES`
and the label 1 when it overlaps a support quote (by half its length or the
quote's). A class-balanced logistic regression is fitted on all groups;
leave-one-article-out top-1 precision (the best-scored sentence is a support
sentence) is reported per group and stored with the model.

    python scripts/fit_evidence.py [--packages DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _groups import ROOT, engine_for, groups, resolved_question, save_model  # noqa: E402

from tutor.ranking import FEATURES, MODEL_PATH  # noqa: E402

KINDS = {"answerable", "false_premise", "socratic", "followup"}


def measure(spec, embedder):
    from tutor.evals.dataset import find_quote, load_dataset
    from tutor.ranking import sentence_features

    data = {}
    for name, articles, evals in spec:
        questions = []
        with engine_for(name, articles, embedder) as engine:
            docs = engine.documents
            for path in evals:
                for case in load_dataset(path).cases:
                    if case.kind not in KINDS or not case.support:
                        continue
                    spans = [(d, a, b) for q in case.support for d, doc in docs.items() for a, b in find_quote(doc.text, q)]
                    r = engine.retriever._search(resolved_question(engine, case), 4, case.doc)
                    rows = []
                    for c, f, _ in sentence_features(r):
                        hit = any(d == c.doc_id and _overlaps(c.start, c.end, a, b) for d, a, b in spans)
                        rows.append((f, int(hit), c.text))
                    if any(y for _, y, _ in rows):
                        questions.append((case.id, rows))
        data[name] = questions
        print(f"  {name}: {len(questions)} questions with a support sentence retrieved", file=sys.stderr)
    return data


def _overlaps(s0: int, s1: int, q0: int, q1: int) -> bool:
    shared = min(s1, q1) - max(s0, q0)
    return shared > 0 and (shared >= 0.5 * (s1 - s0) or shared >= 0.5 * (q1 - q0))


def fit(questions):
    from sklearn.linear_model import LogisticRegression

    rows = [r for _, rs in questions for r in rs]
    X = np.array([[f[n] for n in FEATURES] for f, _, _ in rows], dtype=float)
    y = np.array([lab for _, lab, _ in rows])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000).fit((X - mean) / scale, y)
    return {"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "runner_up": 0.5}


def _p(model, f):
    x = (np.array([f[n] for n in model["features"]]) - np.array(model["mean"])) / np.array(model["scale"])
    return float(1 / (1 + np.exp(-(x @ np.array(model["coef"]) + model["intercept"]))))


def loao(data):
    report = {}
    for held in data:
        model = fit([q for g, qs in data.items() if g != held for q in qs])
        top1, wrong = 0, []
        for qid, rows in data[held]:
            best = max(rows, key=lambda r: _p(model, r[0]))
            top1 += best[1]
            if not best[1]:
                wrong.append(f"{qid}: picked {best[2][:80]!r}")
        n = len(data[held])
        report[held] = {"questions": n, "top1": round(top1 / n, 4) if n else None, "wrong": wrong}
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packages", type=Path, default=ROOT / "evals" / "articles")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args()
    from tutor.embedder import get_embedder

    spec = groups(args.packages)
    data = measure(spec, get_embedder())
    model = fit([q for qs in data.values() for q in qs])
    report = loao(data)
    save_model(model, spec, report, args.out)
    for g, r in report.items():
        print(f"  {g:30s} top-1 {r['top1']}  ({r['questions']} questions)")
    print("coefficients:", {n: round(c, 2) for n, c in zip(model["features"], model["coef"], strict=True)})


if __name__ == "__main__":
    main()
