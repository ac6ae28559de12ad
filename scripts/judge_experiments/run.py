"""Reproduce the support-judge experiments that were measured and NOT adopted.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python scripts/judge_experiments/run.py pairs     # rule-made pairs as LR data
    PYTHONPATH=. HF_HUB_OFFLINE=1 python scripts/judge_experiments/run.py crosscheck [--epochs 2 --lr 2e-3]

Every number is leave-one-article-out over the claim groups of
`tutor.fitting.claim_groups()`: fitted on all groups but one (threshold
included), scored on the one left out. See README.md beside this file for
the results. Slow: features of ~3,000 rule-made pairs take ~15 min, the
cross-encoder ~35 min on 2 busy cores.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from tutor import fitting  # noqa: E402
from tutor.support import SupportScorer  # noqa: E402


def report(res: dict[str, fitting.GroupResult]) -> None:
    for g, r in res.items():
        t = fitting.rates(r.predicted, r.labels)
        auc = roc_auc_score(r.labels, r.probabilities)
        print(f"  {g:30s} BA {t['balanced_accuracy']:.3f}  TPR {t['tpr']:.3f}  TNR {t['tnr']:.3f}  AUC {auc:.3f}")


def loao_with_extra(rows, labels, names, srows, slabels, feats, weight, min_tnr=fitting.MIN_TNR):
    """LOAO where the rule-made rows are always in the training set (with
    `weight`), the threshold fitted on human out-of-group predictions only."""
    X, y, g = fitting._matrix(rows, feats), np.array(labels, int), np.array(names)
    SX, sy = fitting._matrix(srows, feats), np.array(slabels, int)

    def fit(Xh, yh):
        A = np.vstack([Xh, SX])
        mean, sc = A.mean(0), A.std(0)
        sc[sc < 1e-9] = 1
        sw = np.concatenate([np.ones(len(yh)), np.full(len(sy), weight)])
        lr = LogisticRegression(class_weight="balanced", max_iter=5000).fit((A - mean) / sc, np.concatenate([yh, sy]),
                                                                           sample_weight=sw)
        return lambda Z: lr.predict_proba((Z - mean) / sc)[:, 1]

    out = {}
    for held in dict.fromkeys(names):
        tr = g != held
        Xi, yi, gi = X[tr], y[tr], g[tr]
        oof = np.zeros(len(yi))
        for h2 in dict.fromkeys(gi):
            m = gi == h2
            oof[m] = fit(Xi[~m], yi[~m])(Xi[m])
        t = fitting._threshold(oof, yi, min_tnr)
        p = fit(Xi, yi)(X[~tr])
        out[held] = fitting.GroupResult(held, list(p >= t), [bool(v) for v in y[~tr]], list(p))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("pairs", "crosscheck"))
    ap.add_argument("--per-rule", type=int, default=180)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    args = ap.parse_args()
    import synthetic_pairs

    judge = SupportScorer(model=False)
    rows, labels, names, items = fitting.claim_rows(judge)

    def close(a, bs):
        v = judge._aligner.vectors([a, *bs])
        return list(v[1:] @ v[0])

    pairs = synthetic_pairs.make_pairs(close=close)
    print(f"{len(pairs)} rule-made pairs from {synthetic_pairs.source_path()}")
    feats = fitting.SUPPORT_FEATURES
    print("human groups only")
    report(fitting.loao(rows, labels, names, feats))
    if args.what == "pairs":
        by = defaultdict(list)
        for p in pairs:
            by[p.rule].append(p)
        chosen = [p for ps in by.values() for p in ps[: args.per_rule * (2 if ps[0].supported else 1)]]
        srows = [judge.features(p.claim, [p.passage]) for p in chosen]
        slabels = [p.supported for p in chosen]
        for w in (0.1, 0.3, 1.0):
            print(f"with {len(chosen)} rule-made pairs, weight {w}")
            report(loao_with_extra(rows, labels, names, srows, slabels, feats, w))
        return 0
    import crosscheck

    from tutor.embedder import get_embedder

    rng = random.Random(0)
    pos = [p for p in pairs if p.supported]
    neg = [p for p in pairs if not p.supported]
    rng.shuffle(pos)
    rng.shuffle(neg)
    n = min(2000, len(pos), len(neg))
    data = [(p.claim, p.passage, p.supported) for p in pos[:n] + neg[:n]]
    rng.shuffle(data)
    out = Path("/tmp/crosscheck-experiment.npz")
    out.write_bytes(crosscheck.train(get_embedder(), data, epochs=args.epochs, lr=args.lr, progress=print))
    cc = crosscheck.CrossCheck(get_embedder(), out)
    probs = cc.probabilities([(it["claim"], it["passage"]) for it in items])
    for r, p in zip(rows, probs, strict=True):
        r["crosscheck"] = float(np.log(max(p, 1e-6) / max(1 - p, 1e-6)))
    y, g = np.array(labels), np.array(names)
    print("cross-encoder alone, AUC per group:",
          {k: round(roc_auc_score(y[g == k], np.array(probs)[g == k]), 3) for k in dict.fromkeys(names)})
    print("judge features + cross-encoder")
    report(fitting.loao(rows, labels, names, (*feats, "crosscheck")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
