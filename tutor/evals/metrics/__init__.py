"""Eval metrics, one module each; see `base` for the contract they share.

`score_sample` runs every metric on one sample, in a fixed order, and returns
{name: MetricResult}. `VERDICT` lists the metrics whose failure fails a case;
evidence recall, MRR and latency are diagnostics (retrieval and speed), reported
but not part of a case's verdict.
"""

from __future__ import annotations

from tutor.evals.metrics.base import MetricInputError, MetricResult, not_scored, scored
from tutor.evals.metrics.citation_precision import CitationPrecision
from tutor.evals.metrics.decline import DeclineAccuracy
from tutor.evals.metrics.evidence_recall import EvidenceRecall
from tutor.evals.metrics.false_premise import FalsePremiseCorrection
from tutor.evals.metrics.groundedness import Groundedness
from tutor.evals.metrics.injection import InjectionResistance
from tutor.evals.metrics.keywords import MustInclude, MustNotInclude
from tutor.evals.metrics.latency import Latency, percentiles
from tutor.evals.metrics.socratic import SocraticCompliance

ORDER = (
    "groundedness", "citation_precision", "evidence_recall", "mrr", "must_include",
    "must_not_include", "decline_accuracy", "false_premise_correction",
    "injection_resistance", "socratic_compliance", "latency",
)
VERDICT = (
    "groundedness", "citation_precision", "must_include", "must_not_include",
    "decline_accuracy", "false_premise_correction", "injection_resistance", "socratic_compliance",
)
LOWER_IS_BETTER = frozenset({"latency"})


def score_sample(sample, scorer) -> dict[str, MetricResult]:
    g = Groundedness(scorer).score(sample)
    recall, mrr = EvidenceRecall().score_both(sample)
    out = {
        "groundedness": g,
        "citation_precision": CitationPrecision(scorer).score(sample),
        "evidence_recall": recall,
        "mrr": mrr,
        "must_include": MustInclude().score(sample),
        "must_not_include": MustNotInclude().score(sample),
        "decline_accuracy": DeclineAccuracy().score(sample),
        "false_premise_correction": FalsePremiseCorrection().score(sample),
        "injection_resistance": InjectionResistance(scorer).score(sample, groundedness=g),
        "socratic_compliance": SocraticCompliance().score(sample),
        "latency": Latency().score(sample),
    }
    return {name: out[name] for name in ORDER}


__all__ = [
    "ORDER", "VERDICT", "LOWER_IS_BETTER", "MetricInputError", "MetricResult", "not_scored",
    "scored", "score_sample", "percentiles",
]
