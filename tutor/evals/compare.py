"""What got better and what regressed between two runs (`--compare OLD.json`).

Both sides are `tutor eval --json` results. Compared:

* per metric, overall and per kind: the mean and the pass rate (latency: p50 and
  p95, where lower is better and a change under 10 % or 5 ms counts as noise);
* per case (matched by dataset and id): the verdict (fixed, regressed) and every
  metric whose value moved; cases only in one run are listed as added/removed.

A metric scored in one run and not in the other is reported as such, not as a
change from or to 0.
"""

from __future__ import annotations

import json
from pathlib import Path

from tutor.errors import DatasetError
from tutor.evals.metrics import LOWER_IS_BETTER, ORDER

RATE_STATS = ("mean", "pass_rate")
LATENCY_STATS = ("p50_ms", "p95_ms")
EPS = 1e-4


def load_result(path: Path | str) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file to compare with") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, dict) or "summary" not in data or "cases" not in data:
        raise DatasetError(f"{path}: not a `tutor eval --json` result (no 'summary' and 'cases')")
    summary, cases = data["summary"], data["cases"]
    shaped = (
        isinstance(summary, dict) and isinstance(summary.get("overall"), dict)
        and isinstance(summary.get("by_kind", {}), dict)
        and isinstance(cases, list)
        and all(isinstance(c, dict) and isinstance(c.get("key"), str) and isinstance(c.get("verdict"), str)
                and isinstance(c.get("metrics", {}), dict) for c in cases)
    )
    if not shaped:
        raise DatasetError(
            f"{path}: not a `tutor eval --json` result (its 'summary' needs 'overall' and 'by_kind' tables, "
            "each case a 'key', a 'verdict' and 'metrics')"
        )
    return data


def compare(old: dict, new: dict) -> dict:
    return {
        "metrics": _metric_changes(old["summary"], new["summary"]),
        "cases": _case_changes(old["cases"], new["cases"]),
        "old_run": old.get("run", {}),
    }


def _direction(metric: str, old, new) -> str:
    if old is None and new is None:
        return "not scored"
    if old is None:
        return "newly scored"
    if new is None:
        return "no longer scored"
    delta = new - old
    if metric in LOWER_IS_BETTER:
        if abs(delta) < max(5.0, 0.10 * abs(old)):
            return "same"
        return "better" if delta < 0 else "worse"
    if abs(delta) < EPS:
        return "same"
    return "better" if delta > 0 else "worse"


def _metric_changes(old: dict, new: dict) -> list[dict]:
    out = []
    scopes = [("overall", old.get("overall", {}), new.get("overall", {}))]
    kinds = list(dict.fromkeys([*new.get("by_kind", {}), *old.get("by_kind", {})]))
    scopes += [(k, old.get("by_kind", {}).get(k, {}), new.get("by_kind", {}).get(k, {})) for k in kinds]
    for scope, o, n in scopes:
        rows = [("cases", "pass_rate")]
        rows += [(m, s) for m in ORDER if m != "latency" for s in RATE_STATS]
        rows += [("latency", s) for s in LATENCY_STATS]
        for metric, stat in rows:
            if metric == "cases":
                ov, nv = o.get("pass_rate"), n.get("pass_rate")
            else:
                ov, nv = (o.get(metric) or {}).get(stat), (n.get(metric) or {}).get(stat)
            d = _direction(metric, ov, nv)
            if d == "not scored":
                continue
            out.append({
                "scope": scope, "metric": metric, "stat": stat, "old": ov, "new": nv,
                "delta": None if ov is None or nv is None else round(nv - ov, 4), "change": d,
            })
    return out


def _case_changes(old_cases: list, new_cases: list) -> dict:
    def key(c):
        return c.get("key") or f"{c.get('dataset', '')}:{c.get('id')}"

    old = {key(c): c for c in old_cases}
    new = {key(c): c for c in new_cases}
    changed = []
    for k, n in new.items():
        o = old.get(k)
        if o is None:
            continue
        metrics = []
        for name in ORDER:
            if name == "latency":
                continue
            ov = ((o.get("metrics") or {}).get(name) or {}).get("value")
            nv = ((n.get("metrics") or {}).get(name) or {}).get("value")
            d = _direction(name, ov, nv)
            if d not in ("same", "not scored"):
                metrics.append({"metric": name, "old": ov, "new": nv, "change": d})
        ov, nv = o.get("verdict"), n.get("verdict")
        if ov == nv and not metrics:
            continue
        if ov != "pass" and nv == "pass":
            change = "fixed"
        elif ov == "pass" and nv != "pass":
            change = "regressed"
        elif any(m["change"] == "worse" for m in metrics) and not any(m["change"] == "better" for m in metrics):
            change = "worse"
        elif any(m["change"] == "better" for m in metrics) and not any(m["change"] == "worse" for m in metrics):
            change = "better"
        else:
            change = "changed"
        changed.append({"key": k, "id": n.get("id"), "kind": n.get("kind"), "old_verdict": ov,
                        "new_verdict": nv, "change": change, "metrics": metrics,
                        "old_answer": o.get("answer"), "new_answer": n.get("answer")})
    return {
        "changed": changed,
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "fixed": sum(1 for c in changed if c["change"] == "fixed"),
        "regressed": sum(1 for c in changed if c["change"] == "regressed"),
    }
