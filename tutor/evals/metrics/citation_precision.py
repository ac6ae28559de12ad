"""Citation precision: each cited passage supports the sentence that cites it.

Steps:
1. check the inputs (reply, declined, the full text of every cited passage);
2. take the reply's claims and their `[n]` markers (`claims.reply_claims`);
3. for every (claim, n) pair: a marker that names no citation of the reply is
   wrong; otherwise the judge checks the claim against passage n alone;
4. value = supported pairs / pairs; the case passes when every pair is supported.

Not scored: a declined reply, or a reply without a cited claim. Claims without
any citation are counted in the details (that is citation recall, not precision).
"""

from __future__ import annotations

from tutor.evals.metrics.base import MetricResult, not_scored, require, scored
from tutor.evals.metrics.claims import reply_claims

NAME = "citation_precision"


class CitationPrecision:
    name = NAME

    def __init__(self, scorer):
        self.scorer = scorer

    def score(self, sample) -> MetricResult:
        # step 1
        require(sample, NAME, "answer", "declined", "cited_passages")
        if sample.declined:
            return not_scored(NAME, "the reply declined; it cites nothing")
        # step 2
        found = reply_claims(sample.answer, sample.declined)
        cited = [c for c in found.claims if c.cites]
        uncited = [c.text for c in found.claims if not c.cites]
        if not cited:
            return not_scored(NAME, "no claim of the reply carries a citation", uncited=uncited)
        # step 3
        pairs = []
        for c in cited:
            for n in c.cites:
                passage = sample.cited_passages.get(n)
                if passage is None:
                    pairs.append({"claim": c.text, "n": n, "supported": False,
                                  "reason": f"[{n}] is not among the reply's citations"})
                    continue
                r = self.scorer.score(c.text, [passage], sample.speakers)
                pairs.append({"claim": c.text, "n": n, "supported": bool(r.supported), "reason": r.reason})
        # step 4
        good = sum(1 for p in pairs if p["supported"])
        return scored(
            NAME, good / len(pairs), good == len(pairs),
            f"{good} of {len(pairs)} citations support their sentence", pairs=pairs, uncited=uncited,
        )
