"""Write `evals/floors.toml`, the regression gate CI applies, from a measured run.

    tutor eval --json > run.json      # checked on any thresholds file: the floors come from the targets
    python scripts/write_floors.py run.json > evals/floors.toml

The floors are the targets of `evals/thresholds.toml`, except where an article
of the run misses a target or meets it with less room than a margin
(`--margin`, default 0.05, about one case of an article's ~30): there its floor
is what it measured less the margin, in an `[articles.<name>.<metric>]` table. A change that makes any article worse than
this commit fails CI; a change that improves one should raise its floor in the
same commit (run this again). The targets themselves stay in thresholds.toml.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tutor.evals import thresholds as th  # noqa: E402

LATENCY_CEILING_MS = 10000  # p95 per article on the grounded responder, on a shared CI machine

HEADER = """\
# Regression floors: the gate `.ci/run` applies (`tutor eval --thresholds evals/floors.toml`).
# Written by `python scripts/write_floors.py RUN.json` from the run of commit {commit};
# the targets are in evals/thresholds.toml. Where an article misses a target, its floor
# is what it measured less {margin:g}; everywhere else the target is the floor. The latency
# limit is a ceiling against blow-ups only (CI shares its machine): benchmarks/ measures speed.
"""


def _commit() -> str:
    import subprocess

    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    return done.stdout.strip() or "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a `tutor eval --json` result")
    ap.add_argument("--margin", type=float, default=0.05)
    ap.add_argument("--targets", type=Path, default=None, help="default: evals/thresholds.toml")
    args = ap.parse_args()
    run = json.loads(args.run.read_text(encoding="utf-8"))
    targets_path = args.targets or th.default_thresholds_path()
    out = [HEADER.format(commit=_commit(), margin=args.margin)]
    targets = targets_path.read_text(encoding="utf-8").rstrip() + "\n"
    # latency depends on how busy the machine is; benchmarks/ measures it, the gate only catches a blow-up
    targets = re.sub(r"(\[latency\][^\n]*\n(?:#[^\n]*\n)*max_p95_ms = )\d+",
                     lambda m: m.group(1) + str(LATENCY_CEILING_MS), targets, count=1)
    out.append("\n" + targets)
    rules = [r for r in th.load_rules(targets_path) if r.scope is None]  # the targets, whatever the run was checked on
    for article in run["articles"]:
        lowered = []
        for check in th.check(rules, article["summary"]):
            if check.op != ">=" or check.value is None:
                continue
            floor = max(0.0, math.floor((check.value - args.margin) * 100) / 100)
            if floor < check.limit:  # missed, or met with less room than the margin
                lowered.append((check.metric, check.stat, floor, check.value))
        for metric, stat, floor, value in lowered:
            out.append(f'\n[articles."{article["name"]}".{metric}]   # measured {value:.3f}\n'
                       f"min_{stat} = {floor:.2f}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
