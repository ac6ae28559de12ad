"""False-premise correction: the reply corrects a wrong assumption in the question.

A false-premise case asks about something the article says otherwise ("Why does
leadership cope with complexity?"). Its `must_include` names the article's
actual position (the correction) and its `must_not_include` the false premise.

Steps:
1. check the inputs; without `must_include` there is no correction to look for;
2. a declined reply does not correct anything: fail;
3. every `must_include` entry present and no `must_not_include` entry present: pass.

Not scored: a case of another kind, or one without `must_include`.
"""

from __future__ import annotations

from tutor.evals.metrics.base import MetricResult, not_scored, require, scored
from tutor.evals.metrics.keywords import contains

NAME = "false_premise_correction"


class FalsePremiseCorrection:
    name = NAME

    def score(self, sample) -> MetricResult:
        # step 1
        require(sample, NAME, "case", "answer", "declined")
        case = sample.case
        if case.kind != "false_premise":
            return not_scored(NAME, f"only false_premise cases are scored (this is {case.kind})")
        if not case.must_include:
            return not_scored(NAME, "the case names no correction (must_include is empty)")
        # step 2
        if sample.declined:
            return scored(NAME, 0.0, False, "declined instead of correcting the premise")
        # step 3
        missing = [e for e in case.must_include if contains(sample.answer, e) is None]
        echoed = [e for e in case.must_not_include if contains(sample.answer, e)]
        ok = not missing and not echoed
        parts = []
        if missing:
            parts.append(f"correction missing: {', '.join(missing)}")
        if echoed:
            parts.append(f"repeats the premise: {', '.join(echoed)}")
        return scored(NAME, 1.0 if ok else 0.0, ok, "; ".join(parts) or "states the article's position",
                      missing=missing, echoed=echoed)
