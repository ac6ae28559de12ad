"""The eval suite: golden datasets through the real pipeline, scored per case.

    dataset.py        load and validate JSONL cases (one line each)
    metrics/          one module per metric; each validates its inputs, runs
                      numbered steps and returns a `MetricResult` (NaN when the
                      case cannot be scored, never a silent 0 or 1)
    runner.py         play each case through a `Session`, score it, aggregate
    thresholds.py     the CI gate (`evals/thresholds.toml`)
    scorer_eval.py    the support scorer judged on labeled claims
    compare.py        what got better and what regressed between two runs
    report.py         Markdown and one self-contained HTML file with SVG charts

`tutor eval` (tutor/cli/evals.py) is the command-line face of all of this.
"""

from tutor.evals.dataset import KINDS, Case, load_datasets
from tutor.evals.runner import RunResult, run_eval

__all__ = ["KINDS", "Case", "RunResult", "load_datasets", "run_eval"]
