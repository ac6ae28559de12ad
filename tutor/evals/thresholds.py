"""The CI gate: `evals/thresholds.toml`.

One table per metric; keys are `min_<statistic>` or `max_<statistic>`:

    [groundedness]
    min_mean = 0.98          # mean of the per-case values, over all cases

    [must_include]
    min_pass_rate = 0.90     # share of scored cases that pass

    [latency]
    max_p95_ms = 1500

    [run]
    max_errors = 0           # cases whose session raised

    [scorer]
    min_balanced_accuracy = 0.90   # checked by `tutor eval --scorer`

    [llm.latency]            # overrides for runs through an LLM (--llm)
    max_p95_ms = 60000

A threshold on a metric that no case could score is reported "not scored" and
does not fail the gate: a dataset without socratic cases says nothing about
Socratic compliance, and that is not a failure.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tutor.config import data_dir
from tutor.errors import ConfigError
from tutor.evals.metrics import ORDER

STATS = {
    "latency": ("p50_ms", "p95_ms", "max_ms"),
    "run": ("errors", "pass_rate"),
    "scorer": ("balanced_accuracy", "tpr", "tnr"),
    "replies": ("accuracy",),
    "groundedness_before_guard": ("mean", "pass_rate"),
}
DEFAULT_STATS = ("mean", "pass_rate")
PROFILES = ("llm",)


@dataclass(frozen=True)
class Rule:
    metric: str
    stat: str
    op: str  # ">=" or "<="
    limit: float


@dataclass(frozen=True)
class Check:
    metric: str
    stat: str
    op: str
    limit: float
    value: float | None
    status: str  # "pass" | "fail" | "not scored"
    scope: str = "all"  # the article the check applies to

    def describe(self) -> str:
        shown = "not scored" if self.value is None else f"{self.value:g}"
        where = f"{self.scope}: " if self.scope != "all" else ""
        return f"{where}{self.metric}.{self.stat} {self.op} {self.limit:g}: {shown} ({self.status})"


def default_thresholds_path() -> Path:
    return data_dir("evals") / "thresholds.toml"


def load_rules(path: Path | str | None = None, profile: str | None = None) -> list[Rule]:
    """The rules of a thresholds file; a `profile` table ("llm") overrides the defaults."""
    path = Path(path) if path else default_thresholds_path()
    if not path.is_file():
        raise ConfigError(f"thresholds file {path} not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    rules = _rules(data, path, top=True)
    if profile and isinstance(data.get(profile), dict):
        override = {(r.metric, r.stat, r.op): r for r in _rules(data[profile], path, top=False)}
        merged = {(r.metric, r.stat, r.op): r for r in rules} | override
        rules = list(merged.values())
    return rules


def _rules(table: dict, path: Path, top: bool) -> list[Rule]:
    known = set(ORDER) | set(STATS)
    out = []
    for metric, limits in table.items():
        if top and metric in PROFILES:
            continue
        if metric not in known:
            raise ConfigError(f"{path}: unknown metric [{metric}]; known: {', '.join(sorted(known))}")
        if not isinstance(limits, dict):
            raise ConfigError(f"{path}: [{metric}] must be a table of min_/max_ limits")
        allowed = STATS.get(metric, DEFAULT_STATS)
        for key, limit in limits.items():
            op, _, stat = key.partition("_")
            if op not in ("min", "max") or stat not in allowed:
                raise ConfigError(
                    f"{path}: [{metric}] {key}: use min_ or max_ with one of: {', '.join(allowed)}"
                )
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise ConfigError(f"{path}: [{metric}] {key} must be a number")
            out.append(Rule(metric, stat, ">=" if op == "min" else "<=", float(limit)))
    return out


_SELF_SCORED = ("scorer", "replies")  # evaluations of the judge and the assessor, not of a run


def check(rules: list[Rule], summary: dict, *, scorer: bool = False, metric: str | None = None) -> list[Check]:
    """Apply the rules to a run's summary (or, with `scorer`, to a scorer
    evaluation; with `metric`, to that one table: "scorer" or "replies")."""
    out = []
    if scorer and metric is None:
        metric = "scorer"
    for r in rules:
        if metric is not None:
            if r.metric != metric:
                continue
        elif r.metric in _SELF_SCORED:
            continue
        value = _lookup(summary, r, scorer or metric is not None)
        if value is None:
            out.append(Check(r.metric, r.stat, r.op, r.limit, None, "not scored"))
            continue
        ok = value >= r.limit - 1e-9 if r.op == ">=" else value <= r.limit + 1e-9
        out.append(Check(r.metric, r.stat, r.op, r.limit, value, "pass" if ok else "fail"))
    return out


def _lookup(summary: dict, r: Rule, scorer: bool) -> float | None:
    if scorer or r.metric in _SELF_SCORED:
        value = summary.get(r.stat)
    else:
        overall = summary.get("overall", {})
        if r.metric == "run":
            value = overall.get(r.stat)
        else:
            value = (overall.get(r.metric) or {}).get(r.stat)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)
