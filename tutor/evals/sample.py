"""One scored case: what the tutor said and what it had to go on.

The runner fills a `Sample` after playing a case through a `Session`; metrics
read it and never call the tutor themselves. Metrics can therefore be tested on
hand-made replies: build a `Sample` with `Sample.make(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tutor.evals.dataset import Case


@dataclass(frozen=True)
class Hit:
    """A retrieved passage: where it sits in its document, and its text."""

    doc_id: str
    start: int
    end: int
    text: str


@dataclass
class Sample:
    case: Case
    answer: str  # the scored reply's text, as the learner sees it
    declined: bool
    mode: str
    citations: list[dict] = field(default_factory=list)  # shown: {"n", "doc_id", "text", ...}
    cited_passages: dict[int, str] = field(default_factory=dict)  # n -> the full (unmasked) passage
    hits: list[Hit] = field(default_factory=list)  # retrieval for the scored message, best first
    documents: dict[str, str] = field(default_factory=dict)  # doc_id -> text
    latency_ms: float | None = None
    responder: str = "grounded"
    notice: str | None = None
    speakers: frozenset[str] = frozenset()  # the articles' author-name words (a first-person article's "I")

    @property
    def passages(self) -> list[str]:
        """What a reply may rest on: the retrieved passages and every cited passage."""
        out = [h.text for h in self.hits]
        out += [t for t in self.cited_passages.values() if t not in out]
        return out

    @classmethod
    def make(cls, case: Case, answer: str, *, declined: bool = False, passages=(), cited=None, **kw) -> Sample:
        """A hand-made sample (tests, notebooks): `passages` are retrieved texts in rank
        order; `cited` maps citation numbers to passage texts (default: 1..n of passages)."""
        hits = [Hit("doc", i * 10_000, i * 10_000 + len(p), p) for i, p in enumerate(passages)]
        cited = dict(enumerate(passages, 1)) if cited is None else dict(cited)
        citations = kw.pop("citations", None)
        if citations is None:
            citations = [{"n": n, "doc_id": "doc", "text": t} for n, t in cited.items()]
        return cls(
            case=case, answer=answer, declined=declined, mode=kw.pop("mode", case.mode),
            citations=citations, cited_passages=cited, hits=hits, **kw,
        )
