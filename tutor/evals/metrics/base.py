"""What every metric takes and returns.

A metric is one unit (as in ragas' metric collections): it checks that the
sample holds what it needs (raising `MetricInputError` naming what is missing),
runs numbered steps, and returns a `MetricResult`. When a case cannot be scored
by a metric (an out-of-scope case has no support quotes to retrieve, a declined
reply has no sentences to ground) the value is NaN and the reason says why:
never a silent 0 or 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


class MetricInputError(ValueError):
    """A metric was given a sample without something it needs."""


@dataclass(frozen=True)
class MetricResult:
    name: str
    value: float  # 0..1 (or ms); NaN when not scored
    passed: bool | None  # None when not scored
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return not math.isnan(self.value)

    def to_json(self) -> dict:
        return {
            "value": round(self.value, 4) if self.scored else None,
            "status": ("pass" if self.passed else "fail") if self.scored else "not scored",
            "reason": self.reason,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, name: str, data: dict) -> MetricResult:
        value = data.get("value")
        status = data.get("status")
        return cls(
            name,
            float("nan") if value is None else float(value),
            None if status == "not scored" else status == "pass",
            data.get("reason", ""),
            data.get("details", {}),
        )


def not_scored(name: str, reason: str, **details) -> MetricResult:
    return MetricResult(name, float("nan"), None, f"not scored: {reason}", details)


def scored(name: str, value: float, passed: bool, reason: str = "", **details) -> MetricResult:
    return MetricResult(name, float(value), bool(passed), reason, details)


def require(sample, metric: str, *attributes: str) -> None:
    """Raise MetricInputError unless the sample has every attribute (not None)."""
    missing = [a for a in attributes if getattr(sample, a, None) is None]
    if missing:
        raise MetricInputError(f"{metric} needs {', '.join(missing)} in the sample")
