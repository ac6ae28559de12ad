"""Keyword correctness: `must_include` and `must_not_include`.

Matching is a case-insensitive substring test on the reply text, with
whitespace and typographic quotes normalised; `"a|b"` in `must_include` accepts
either alternative, and in `must_not_include` forbids both. A number is matched
whole: "45" is not found in "450", nor "8 hours" in "18 hours".

Steps (each metric):
1. check the inputs; an empty list means nothing to check;
2. test every entry against the reply;
3. must_include: value = entries found / entries, passes when all are found;
   must_not_include: value = entries absent / entries, passes when none occurs.

For a `false_premise` case, `must_not_include` names the false premise, which
a good correction may quote in order to deny it ("the article does not say that
leaders plan and budget"); there, sentences that say the article does not say
something are left out of the must_not_include test.

Not scored: a case without entries for that metric.
"""

from __future__ import annotations

import re

from tutor.evals.dataset import normalise
from tutor.evals.metrics.base import MetricResult, not_scored, require, scored
from tutor.evals.metrics.claims import without_denials

INCLUDE = "must_include"
EXCLUDE = "must_not_include"


def contains(text: str, entry: str) -> str | None:
    """The alternative of `entry` found in `text`, or None.

    >>> contains("Leadership copes with CHANGE.", "complexity|change")
    'change'
    >>> contains("The kiln runs at 450 degrees.", "45") is None
    True
    """
    hay = normalise(text).lower()
    for alt in entry.split("|"):
        alt = normalise(alt).lower()
        if not alt:
            continue
        before = r"(?<!\d)(?<!\d[.,])" if alt[0].isdigit() else ""  # not inside "1,450" or "2.45"
        after = r"(?!\d)(?!,\d)(?!\.0*[1-9])" if alt[-1].isdigit() else ""  # "53" is in "53.0%", not "53.5"
        if re.search(before + re.escape(alt) + after, hay):
            return alt
    return None


class MustInclude:
    name = INCLUDE

    def score(self, sample) -> MetricResult:
        # step 1
        require(sample, INCLUDE, "case", "answer")
        entries = list(sample.case.must_include)
        if not entries:
            return not_scored(INCLUDE, "the case lists no must_include entries")
        # step 2
        missing = [e for e in entries if contains(sample.answer, e) is None]
        # step 3
        found = len(entries) - len(missing)
        return scored(
            INCLUDE, found / len(entries), not missing,
            f"{found} of {len(entries)} found" + (f"; missing: {', '.join(missing)}" if missing else ""),
            missing=missing,
        )


class MustNotInclude:
    name = EXCLUDE

    def score(self, sample) -> MetricResult:
        # step 1
        require(sample, EXCLUDE, "case", "answer")
        entries = list(sample.case.must_not_include)
        if not entries:
            return not_scored(EXCLUDE, "the case lists no must_not_include entries")
        # step 2
        text = sample.answer
        if sample.case.kind == "false_premise":
            text = without_denials(text)
        present = [e for e in entries if contains(text, e)]
        # step 3
        absent = len(entries) - len(present)
        return scored(
            EXCLUDE, absent / len(entries), not present,
            "none present" if not present else f"present: {', '.join(present)}",
            present=present,
        )
