"""False-premise correction: the reply corrects a wrong assumption in the question.

A false-premise case asks about something the article says otherwise ("Why does
leadership cope with complexity?"). Its `must_include` names the article's
actual position (the correction) and its `must_not_include` the false premise.

Steps:
1. check the inputs; without `must_include` there is no correction to look for;
2. a declined reply does not correct anything: fail;
3. every `must_include` entry present, and no `must_not_include` entry asserted
   (present outside the sentences that say the article does not say something,
   which is how a correction names the premise it rejects): pass.

Not scored: a case of another kind, or one without `must_include`.
"""

from __future__ import annotations

from tutor.evals.metrics.base import MetricResult, not_scored, require, scored
from tutor.evals.metrics.claims import denials, without_denials
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
        asserted = without_denials(sample.answer)
        echoed = [e for e in case.must_not_include if contains(asserted, e)]
        ok = not missing and not echoed
        parts = []
        if missing:
            parts.append(f"correction missing: {', '.join(missing)}")
        if echoed:
            parts.append(f"repeats the premise: {', '.join(echoed)}")
        explicit = bool(denials(sample.answer))
        done = "says the premise is wrong and states the article's position" if explicit else "states the article's position"
        return scored(NAME, 1.0 if ok else 0.0, ok, "; ".join(parts) or done,
                      missing=missing, echoed=echoed, explicit=explicit)
