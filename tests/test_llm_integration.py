"""The LLM path for real: llama.cpp (through xllamacpp) serving SmolLM2-135M,
reached once as an OpenAI-compatible HTTP server (`openai:` + OPENAI_BASE_URL)
and once in-process (`gguf:PATH`).

SmolLM2-135M is often wrong, which is the point: whatever it says goes through
the guard. To prove that the guard drops a planted falsehood, the real model's
stream is wrapped: a sentence the article supports goes before the model's own
tokens and a false one after them; everything passes the same pipeline.
"""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk
from llama_server import LlamaServer, smollm2_gguf  # tests/ is on sys.path under pytest

from tutor.reply import Reply
from tutor.responders.llm import UNAVAILABLE, LLMResponder, passage_citations

# Generous on purpose: on a busy 2-core machine a 135M model can take minutes for
# what takes seconds when idle. These tests assert behaviour, never speed; the
# LLM's own timeout must not be what fails them (speed: benchmarks/llm_overhead.py).
LLM_TIMEOUT = 600.0
pytestmark = [pytest.mark.slow, pytest.mark.llm, pytest.mark.timeout(1800)]

QUESTION = "What does Kotter say management copes with?"
SUPPORTED = "Management, Kotter argues, copes with complexity."
PLANTED = "Kotter won the Nobel Prize in 1990 for inventing management."
MAX_TOKENS = 40


class Planting:
    """A real chat model's stream with one supported sentence before it and one
    planted, unsupported sentence after it (on lines of their own)."""

    def __init__(self, model, before: str, after: str):
        self.model, self.before, self.after = model, before, after

    def stream(self, messages):
        yield AIMessageChunk(content=self.before + "\n")
        yield from self.model.stream(messages)
        yield AIMessageChunk(content="\n" + self.after)


@pytest.fixture(scope="module")
def gguf_path():
    try:
        return smollm2_gguf()
    except FileNotFoundError as err:  # the Makefile installs it; missing means a broken setup
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def server(gguf_path):
    with LlamaServer(gguf_path, ready_timeout=LLM_TIMEOUT) as s:
        yield s


@pytest.fixture
def openai_env(monkeypatch, server):
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture(scope="module")
def supported_n(engine):
    hits = passage_citations(engine.retriever.search(QUESTION, k=4))
    return next(p.n for p in hits if engine.scorer.score(SUPPORTED, [p.text]).supported)


def explain(responder: LLMResponder) -> tuple[list[str], Reply]:
    events = list(responder.stream_explain(QUESTION, doc_id=None, k=4, history=[]))
    assert isinstance(events[-1], Reply)
    return [e for e in events if isinstance(e, str)], events[-1]


def assert_streamed_and_guarded(responder: LLMResponder, supported_n: int) -> None:
    deltas, reply = explain(responder)
    assert len(deltas) > 1 and "".join(deltas).strip()
    assert reply.notice is None or not reply.notice.startswith("The LLM was unavailable"), reply.notice
    if reply.responder == "llm":  # whatever survived the guard is supported and cited
        assert reply.sentences and reply.citations
        scorer = responder.engine.scorer
        texts = {c.n: c.text for c in reply.citations}
        for sentence, ns in reply.sentences:
            assert all(scorer.score(sentence, [texts[n]]).supported for n in ns), sentence

    responder.model = Planting(responder.model, f"{SUPPORTED} [{supported_n}]", PLANTED)
    deltas, reply = explain(responder)
    raw = "".join(deltas)
    assert SUPPORTED in raw and PLANTED in raw and len(deltas) > 3  # the real model spoke in between
    assert reply.responder == "llm"
    assert reply.answer.startswith(f"{SUPPORTED} [{supported_n}]")
    assert PLANTED not in reply.answer
    assert PLANTED in [s for s, _ in responder.last_guard.dropped]
    assert reply.notice and reply.notice.startswith("Removed ")


def test_openai_compatible_server_streams_behind_the_guard(engine, openai_env, supported_n):
    responder = LLMResponder.from_spec("openai:smollm2", engine, timeout=LLM_TIMEOUT, max_tokens=MAX_TOKENS)
    assert_streamed_and_guarded(responder, supported_n)


def test_llm_rewrite_through_the_server(engine, openai_env):
    responder = LLMResponder.from_spec("openai:smollm2", engine, timeout=LLM_TIMEOUT, max_tokens=MAX_TOKENS)
    history = [("learner", QUESTION), ("tutor", f"{SUPPORTED} [1]")]
    rewritten = responder.rewrite("And leadership?", history)
    assert rewritten.strip() and "\n" not in rewritten  # the LLM's line, or the deterministic rewrite
    assert responder._down is None  # the server answered: no outage recorded


def test_gguf_in_process_streams_behind_the_guard(engine, gguf_path, supported_n):
    from tutor.llm_backends import gguf_server, shutdown_gguf_servers

    try:
        responder = LLMResponder.from_spec(f"gguf:{gguf_path}", engine, timeout=LLM_TIMEOUT, max_tokens=MAX_TOKENS)
        assert gguf_server(gguf_path) is gguf_server(str(gguf_path))  # one server per file, process-wide
        assert responder.model.openai_api_base.startswith("http://127.0.0.1:")
        assert_streamed_and_guarded(responder, supported_n)
        server = gguf_server(gguf_path)
        again = LLMResponder.from_spec(f"gguf:{gguf_path}", engine, timeout=LLM_TIMEOUT)
        assert gguf_server(gguf_path) is server  # reused, not reloaded
        assert again.model.openai_api_base == f"{server.base_url}/v1"
    finally:
        shutdown_gguf_servers()


def test_killing_the_server_mid_conversation_falls_back_without_a_crash(engine, gguf_path, monkeypatch):
    from tutor.session import Session

    with LlamaServer(gguf_path, ready_timeout=LLM_TIMEOUT) as doomed:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{doomed.base_url}/v1")
        llm = LLMResponder.from_spec("openai:smollm2", engine, timeout=LLM_TIMEOUT, max_tokens=MAX_TOKENS)
        session = Session(engine, llm=llm)

        first = session.send(QUESTION)
        assert first.notice is None or not first.notice.startswith("The LLM was unavailable")

        llm.model.max_tokens = 400  # so that the kill lands while the answer is still streaming

        deltas = []
        for event in session.stream(QUESTION):  # same passages: llama.cpp reuses the cached prompt
            if isinstance(event, str):
                deltas.append(event)
                if len(deltas) == 1:
                    doomed.kill()
            else:
                second = event
        assert deltas and not doomed.alive()
        assert second.responder == "grounded" and second.citations and not second.declined
        assert second.notice.startswith("The LLM was unavailable (") and second.notice.endswith(
            "); the grounded tutor answered."
        )

        third = session.send("And management?")  # rewrite and explain both meet a dead server
        assert third.responder == "grounded" and third.citations
        assert third.notice == UNAVAILABLE.format(reason="connection failed") or third.notice == second.notice
        assert session.history[-2].resolved and "management" in session.history[-2].resolved.lower()
