"""Latency: p50 and p95 of reply times, in milliseconds.

Per case the value is the scored reply's `latency_ms` as the session measured it
(retrieval, responder, guard). Aggregated with linear interpolation between
ranks (numpy's default percentile). NaN when no reply was timed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tutor.evals.metrics.base import MetricResult, not_scored, scored

NAME = "latency"


class Latency:
    name = NAME

    def score(self, sample) -> MetricResult:
        ms = getattr(sample, "latency_ms", None)
        if ms is None or not math.isfinite(ms):
            return not_scored(NAME, "the reply was not timed")
        return scored(NAME, float(ms), True, f"{ms:.0f} ms")


@dataclass(frozen=True)
class Percentiles:
    n: int
    p50: float
    p95: float
    max: float

    def to_json(self) -> dict:
        def r(v):
            return None if math.isnan(v) else round(v, 1)

        return {"n": self.n, "p50_ms": r(self.p50), "p95_ms": r(self.p95), "max_ms": r(self.max)}


def percentiles(values) -> Percentiles:
    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not vals:
        nan = float("nan")
        return Percentiles(0, nan, nan, nan)
    arr = np.asarray(vals)
    return Percentiles(len(vals), float(np.percentile(arr, 50)), float(np.percentile(arr, 95)), float(arr.max()))
