"""The LLM responder with its raw answer kept, and the guard optional.

`tutor eval --no-guard` scores what the model wrote before the grounding guard
touched it, to show what the guard adds; a guarded run keeps the raw text too,
so one run reports groundedness before and after the guard.

The LLM responder has no switch for its guard, so this subclass overrides the
one step that applies it (`LLMResponder._guarded`, called with the model's
whole answer after streaming). Everything else (retrieval, the decline of
uncovered questions, prompts, streaming, timeouts, the grounded fallback when
the model fails) is the real responder's. Coupling to a private method is the
price of not touching the responder; if it is renamed, `tutor eval --llm` says so.
"""

from __future__ import annotations

import time

from tutor.errors import ConfigError
from tutor.guard import split_answer
from tutor.reply import Reply
from tutor.responders.llm import LLMResponder


class EvalLLMResponder(LLMResponder):
    def __init__(self, *args, guard: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup(guard)

    @classmethod
    def wrap(cls, responder: LLMResponder, guard: bool = True) -> EvalLLMResponder:
        """The same responder (model, engine, timeouts) with the raw text kept and
        the guard optional; built from `LLMResponder.from_spec(...)`'s result."""
        obj = cls.__new__(cls)
        obj.__dict__.update(responder.__dict__)
        obj._setup(guard)
        return obj

    def _setup(self, guard: bool) -> None:
        if not callable(getattr(LLMResponder, "_guarded", None)):
            raise ConfigError("this LLM responder has no separable guard step; --no-guard is unavailable")
        self.guard = guard
        self.name = "llm" if guard else "llm-unguarded"
        self.last_raw: str | None = None  # the model's text behind the last reply, if it answered

    def stream_explain(self, question, **kwargs):
        self.last_raw = None
        yield from super().stream_explain(question, **kwargs)

    def _guarded(self, answer, passages, retrieval, doc_id, k, question, started, said_before=()) -> Reply:
        self.last_raw = answer
        if self.guard:
            return super()._guarded(answer, passages, retrieval, doc_id, k, question, started, said_before)
        return raw_reply(answer, passages, started, self.name)


def raw_reply(answer: str, passages, started: float, name: str) -> Reply:
    """The model's answer as it wrote it, with the passages its markers name."""
    sentences = split_answer(answer)
    cited = sorted({n for s in sentences for n in s.cites if 1 <= n <= len(passages)})
    return Reply(
        answer=answer.strip(), declined=False, mode="explain",
        citations=[passages[n - 1] for n in cited],
        latency_ms=(time.perf_counter() - started) * 1000, responder=name,
        sentences=[(s.text, list(s.cites)) for s in sentences if not s.question],
    )
