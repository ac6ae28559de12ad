"""What the tutor says back: the reply and its citations, as every interface
(CLI, web, widget, evals) receives them.

`Reply.to_json()` is the public contract of `tutor ask --json`:
{"answer", "declined", "mode", "citations": [{"n", "doc_id", "title", "text",
"score"}], "latency_ms", "responder", "notice"}: `responder` is "grounded" or
"llm" (the one whose text the answer is), `notice` a note about how the reply
came about ("the LLM was unavailable; ...") or null. Extra fields (offsets for
highlighting) stay on the objects and out of that JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    text: str  # the cited passage
    score: float
    chunk_id: str = ""
    start: int = 0  # passage offsets into the document text
    end: int = 0
    heading: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)  # cited sentences (doc offsets)

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "text": self.text,
            "score": round(float(self.score), 4),
        }


@dataclass
class Reply:
    answer: str
    declined: bool
    mode: str
    citations: list[Citation] = field(default_factory=list)
    latency_ms: float = 0.0
    responder: str = "grounded"
    assessment: Any = None  # tutor.assess.Assessment when a learner's reply was assessed
    notice: str | None = None  # e.g. "the LLM was unavailable; the grounded tutor answered"
    sentences: list[tuple[str, list[int]]] = field(default_factory=list)  # answer sentences + cited n
    # A second message that follows the answer (the quiz's next question). `answer`
    # ends with it, for plain-text interfaces; chat interfaces show it on its own.
    next_message: str | None = None

    @property
    def body(self) -> str:
        """The answer without `next_message`."""
        nxt = self.next_message
        if nxt and self.answer.endswith(nxt):
            return self.answer[: len(self.answer) - len(nxt)].rstrip()
        return self.answer

    def to_json(self, with_assessment: bool = False) -> dict:
        out = {
            "answer": self.answer,
            "declined": self.declined,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "latency_ms": round(self.latency_ms, 2),
            "responder": self.responder,
            "notice": self.notice,
        }
        if with_assessment:
            a = self.assessment
            out["assessment"] = (
                None
                if a is None
                else {
                    "verdict": a.verdict,
                    "score": round(float(a.score), 3),
                    "feedback": a.feedback,
                }
            )
        return out


THINK_FURTHER = "Think further: "


def tutor_said(turns) -> tuple[str, ...]:
    """What the tutor's earlier turns said: a question they already posed
    ("Think further: ...", "Let's move on: ...") is not posed again."""
    return tuple(t.text for t in turns or () if getattr(t, "role", None) == "tutor")
