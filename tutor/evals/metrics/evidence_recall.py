"""Evidence recall and MRR: does retrieval find the passages an answer rests on?

Inputs: the case's `support` quotes and the retrieval for the scored message
(passages best first, with their document offsets).

Steps:
1. check the inputs; without support quotes there is nothing to find;
2. rank of each quote = the smallest r such that the top r passages contain it
   (within one passage, or across neighbouring passages for a quote that spans
   a chunk boundary); whitespace and quote styles are normalised;
3. evidence recall = quotes found / quotes (passes at 1.0);
   MRR = 1 / the rank of the first passage that holds any quote (0 if none).

Not scored: a case without `support` quotes (typically out-of-scope cases).
"""

from __future__ import annotations

from tutor.evals.dataset import find_quote, normalise
from tutor.evals.metrics.base import MetricResult, not_scored, require, scored

RECALL = "evidence_recall"
MRR = "mrr"


class EvidenceRecall:
    name = RECALL

    def score_both(self, sample) -> tuple[MetricResult, MetricResult]:
        # step 1
        require(sample, RECALL, "case", "hits")
        quotes = list(sample.case.support)
        if not quotes:
            why = "the case has no support quotes to retrieve"
            return not_scored(RECALL, why), not_scored(MRR, why)
        # step 2
        ranks = {q: quote_rank(q, sample.hits, sample.documents) for q in quotes}
        # step 3
        found = [q for q, r in ranks.items() if r is not None]
        recall = len(found) / len(quotes)
        first = min((r for r in ranks.values() if r is not None), default=None)
        detail = {"ranks": {q: r for q, r in ranks.items()}, "retrieved": len(sample.hits)}
        missing = [q for q, r in ranks.items() if r is None]
        recall_result = scored(
            RECALL, recall, recall == 1.0,
            f"{len(found)} of {len(quotes)} support quotes retrieved", missing=missing, **detail,
        )
        mrr = 1.0 / first if first else 0.0
        mrr_result = scored(
            MRR, mrr, first == 1,
            f"first supporting passage at rank {first}" if first else "no retrieved passage holds a support quote",
        )
        return recall_result, mrr_result

    def score(self, sample) -> MetricResult:
        return self.score_both(sample)[0]


def quote_rank(quote: str, hits, documents=None) -> int | None:
    """1-based rank at which the quote is first fully inside the retrieved passages."""
    q = normalise(quote)
    for r, h in enumerate(hits, 1):
        if q in normalise(h.text):
            return r
    # a quote across a chunk boundary: covered by the union of the top r passages
    documents = documents or {}
    for doc_id, text in documents.items():
        for start, end in find_quote(text, quote):
            covered: list[tuple[int, int]] = []
            for r, h in enumerate(hits, 1):
                if h.doc_id != doc_id:
                    continue
                covered.append((h.start, h.end))
                if _covers(covered, start, end, text):
                    return r
    return None


def _covers(spans: list[tuple[int, int]], start: int, end: int, text: str) -> bool:
    """Do the spans cover [start, end), allowing whitespace between neighbours?"""
    at = start
    for s, e in sorted(spans):
        if e <= at:
            continue
        if s > at and text[at:s].strip():
            break
        at = max(at, e)
        if at >= end:
            return True
    return at >= end
