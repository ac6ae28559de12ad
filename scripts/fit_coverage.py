"""Fit the coverage model (`tutor/models/coverage.json`): does the article cover
a question?

Every article group is played as a user meets it: the seed's eval sets on the
packaged corpus, and each article package (`evals/articles/<slug>/`) ingested
into a fresh home. For every question the retriever's coverage evidence
(`tutor.coverage.FEATURES`) is measured; the label is 0 for `out_of_scope`
cases and 1 for the kinds the tutor must answer (answerable, false premise,
Socratic, the last turn of a follow-up as the session resolved it, injections
that carry support). Metadata questions (answerable, no support) are answered
from the article's metadata, not from passages, and are left out.

A logistic regression on standardised features is fitted on
all groups; leave-one-article-out (fit on all groups but one, score the one
left out) is reported per group and stored with the model, with the SHA-256 of
the training data so that a test notices when the data changed and the model
was not refitted.

    python scripts/fit_coverage.py [--packages DIR] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _groups import ROOT, engine_for, groups, resolved_question, save_model  # noqa: E402

from tutor.coverage import FEATURES, MODEL_PATH  # noqa: E402

ANSWER = {"answerable", "false_premise", "socratic", "followup"}


args_dump = None


def measure(spec, embedder) -> dict[str, list[tuple[dict, int, str]]]:
    from tutor.evals.dataset import load_dataset

    out: dict[str, list] = {}
    for name, articles, evals in spec:
        rows, dump = [], []
        with engine_for(name, articles, embedder) as engine:
            for path in evals:
                for case in load_dataset(path).cases:
                    if case.kind == "answerable" and not case.support:
                        continue  # metadata questions
                    if case.kind == "injection":
                        continue  # judged on the message's covered part: see HybridRetriever.search
                    label = 0 if case.kind == "out_of_scope" else 1
                    question = resolved_question(engine, case)
                    r = engine.retriever._search(question, 4, case.doc)
                    rows.append((r.evidence.features, label, f"{case.id}: {question}"))
                    dump.append({"group": name, "id": case.id, "label": label, **r.evidence.features})
        if args_dump:
            with open(args_dump, "a") as fh:
                for d in dump:
                    fh.write(json.dumps(d) + "\n")
        out[name] = rows
        print(f"  {name}: {len(rows)} questions ({sum(1 for r in rows if r[1] == 0)} out of scope)", file=sys.stderr)
    return out


def fit(rows):
    from sklearn.linear_model import LogisticRegression

    X = np.array([[f[n] for n in FEATURES] for f, _, _ in rows], dtype=float)
    y = np.array([label for _, label, _ in rows])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    # not class-balanced: declining is scored like answering, case by case, and
    # most questions a learner asks are in scope
    lr = LogisticRegression(C=1.0, max_iter=5000).fit((X - mean) / scale, y)
    return {"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "threshold": 0.5}


def predict(model, f) -> float:
    x = (np.array([f[n] for n in model["features"]]) - np.array(model["mean"])) / np.array(model["scale"])
    return 1 / (1 + np.exp(-(x @ np.array(model["coef"]) + model["intercept"])))


def loao(data) -> dict:
    report = {}
    for held in data:
        model = fit([r for g, rows in data.items() if g != held for r in rows])
        rows = data[held]
        wrong = [{"case": c, "label": y, "p": round(float(predict(model, f)), 3)}
                 for f, y, c in rows if (predict(model, f) >= model["threshold"]) != bool(y)]
        pos = [r for r in rows if r[1] == 1]
        neg = [r for r in rows if r[1] == 0]
        tpr = sum(predict(model, f) >= 0.5 for f, _, _ in pos) / len(pos) if pos else float("nan")
        tnr = sum(predict(model, f) < 0.5 for f, _, _ in neg) / len(neg) if neg else float("nan")
        report[held] = {"n": len(rows), "accuracy": round(1 - len(wrong) / max(1, len(rows)), 4),
                        "answered_in_scope": round(tpr, 4), "declined_out_of_scope": round(tnr, 4), "wrong": wrong}
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packages", type=Path, default=ROOT / "evals" / "articles")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--dump", type=Path, help="also write every question's features here (JSONL)")
    args = ap.parse_args()
    global args_dump
    args_dump = args.dump
    from tutor.embedder import get_embedder

    spec = groups(args.packages)
    data = measure(spec, get_embedder())
    model = fit([r for rows in data.values() for r in rows])
    report = loao(data)
    save_model(model, spec, report, args.out)
    for g, r in report.items():
        print(f"  {g:30s} acc {r['accuracy']:.3f}  in-scope answered {r['answered_in_scope']:.3f}  "
              f"out-of-scope declined {r['declined_out_of_scope']:.3f}")
        for w in r["wrong"]:
            print(f"      {'MISSED' if w['label'] else 'ANSWERED'} p={w['p']} {w['case'][:100]}")
    print("coefficients:", {n: round(c, 2) for n, c in zip(model["features"], model["coef"], strict=True)})


if __name__ == "__main__":
    main()
