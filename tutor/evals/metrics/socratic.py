"""Socratic compliance: guide, don't tell.

A reply in socratic mode complies when:

1. it is not a decline (a declined question is not guided);
2. it asks the learner a question (a sentence ending in "?");
3. it reveals none of the case's `must_not_include` entries (the answer), neither
   in its text nor in the passages it shows as sources.

Value 1.0 when all three hold, else 0.0.
Not scored: a case that does not run in socratic mode.
"""

from __future__ import annotations

from tutor.evals.metrics.base import MetricResult, not_scored, require, scored
from tutor.evals.metrics.claims import asks_question
from tutor.evals.metrics.keywords import contains

NAME = "socratic_compliance"


class SocraticCompliance:
    name = NAME

    def score(self, sample) -> MetricResult:
        require(sample, NAME, "case", "answer", "declined", "citations")
        if sample.mode != "socratic" and sample.case.mode != "socratic":
            return not_scored(NAME, "the case does not run in socratic mode")
        failures = []
        # step 1
        if sample.declined:
            failures.append("declined instead of guiding")
        # step 2
        if not asks_question(sample.answer):
            failures.append("asks the learner no question")
        # step 3
        revealed = [e for e in sample.case.must_not_include if contains(sample.answer, e)]
        shown = " ".join(str(c.get("text", "")) for c in sample.citations)
        in_sources = [e for e in sample.case.must_not_include if e not in revealed and contains(shown, e)]
        if revealed:
            failures.append(f"reveals {', '.join(revealed)}")
        if in_sources:
            failures.append(f"its sources reveal {', '.join(in_sources)}")
        ok = not failures
        return scored(NAME, 1.0 if ok else 0.0, ok, "; ".join(failures) or "guides with a question",
                      revealed=revealed, revealed_in_sources=in_sources)
