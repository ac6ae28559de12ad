"""Groundedness: the share of the reply's claims that the passages support.

Inputs: the reply text, whether it was declined, and the passages it may rest
on (the retrieved passages of the scored message plus every cited passage, in
full even when the learner was shown a masked one). Judge: the support scorer
(or the judge chosen with `--judge`).

Steps:
1. check the inputs;
2. take the reply's claims (`claims.reply_claims`: no questions to the learner,
   no decline text, no dialogue phrases);
3. score all claims against all passages in one batched call;
4. value = supported claims / claims; the case passes when every claim is supported.

Not scored: a declined reply, or a reply that makes no claim about the article.
"""

from __future__ import annotations

from tutor.evals.metrics.base import MetricResult, not_scored, require, scored
from tutor.evals.metrics.claims import reply_claims

NAME = "groundedness"


class Groundedness:
    name = NAME

    def __init__(self, scorer):
        self.scorer = scorer

    def score(self, sample) -> MetricResult:
        # step 1
        require(sample, NAME, "answer", "declined", "hits", "cited_passages")
        # step 2
        found = reply_claims(sample.answer, sample.declined)
        excluded = [{"sentence": s, "why": why} for s, why in found.excluded]
        if sample.declined:
            return not_scored(NAME, "the reply declined; it states nothing to ground", excluded=excluded)
        if not found.claims:
            return not_scored(NAME, "the reply makes no claim about the article", excluded=excluded)
        # step 3
        passages = sample.passages
        results = judge_many(self.scorer, [c.text for c in found.claims], passages, sample.speakers)
        # step 4
        per_claim = [
            {"claim": c.text, "supported": bool(r.supported), "reason": r.reason, "evidence": r.evidence}
            for c, r in zip(found.claims, results, strict=True)
        ]
        good = sum(1 for r in per_claim if r["supported"])
        value = good / len(per_claim)
        reason = f"{good} of {len(per_claim)} claims supported"
        if not passages:
            reason += " (no passages were retrieved or cited)"
        return scored(NAME, value, good == len(per_claim), reason, claims=per_claim, excluded=excluded)


def judge_many(scorer, claims: list[str], passages: list[str], speakers=frozenset()) -> list:
    """One batched call when the judge offers it."""
    if not claims:
        return []
    many = getattr(scorer, "score_many", None)
    if many is not None:
        return list(many(claims, passages, speakers))
    return [scorer.score(c, passages, speakers) for c in claims]
