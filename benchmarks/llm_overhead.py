"""What the tutor's LLM path costs on top of the model: `python benchmarks/llm_overhead.py`.

Measured in one run, against one llama.cpp server (xllamacpp, SmolLM2-135M Q4_1,
in a child process on 127.0.0.1), with runs of the two paths interleaved so that
background load hits both alike:

* time to first token (TTFT) directly against the bare server: an HTTP streaming
  chat completion with the very messages the tutor would send, timed from the
  request to the first content delta (httpx, keep-alive, like the OpenAI client);
* TTFT through `LLMResponder.stream_explain`: from the call to the first text
  delta, which adds hybrid retrieval, prompt rendering and LangChain/OpenAI
  client overhead; the overhead is the difference of the medians, and its parts
  (retrieval, rendering, LangChain client) are timed separately;
* the grounding guard's cost per answer, on the model's own (new, so uncached)
  answers and on a planted mix of supported and unsupported sentences; on the
  model's answers both with a cold scorer and with the passages already
  embedded (what LLMResponder does while the model is still generating).

Both paths send the same prompt, so llama.cpp's prompt cache serves both alike;
the first run of each is a warm-up and is discarded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import httpx  # noqa: E402

QUESTIONS = [
    "What does Kotter say management copes with?",
    "What does leadership cope with?",
    "What do leaders do, according to Kotter?",
    "What did the participants vote on?",
]
PLANTED = (
    "Management, Kotter argues, copes with complexity. [1] Kotter won the Nobel Prize in 1990. [1] "
    "Leadership copes with complexity. [2] In contrast, leadership copes with change. [1] "
    "What would you ask a manager about change?"
)


class Timed:
    """Passes a chat model through, noting when the tutor starts the model call."""

    def __init__(self, model):
        self.model, self.called = model, None

    def stream(self, messages):
        self.called = time.perf_counter()
        yield from self.model.stream(messages)


def median_ms(xs: list[float]) -> float:
    return round(statistics.median(xs) * 1000, 2)


def p90_ms(xs: list[float]) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(0.9 * len(xs)))] * 1000, 2)


def bare_ttft(client: httpx.Client, base_url: str, messages: list[dict], max_tokens: int) -> tuple[float, str]:
    """Seconds from sending the request to the first non-empty content delta."""
    body = {"model": "smollm2", "messages": messages, "max_tokens": max_tokens, "stream": True, "temperature": 0.2}
    started = time.perf_counter()
    first, text = None, []
    with client.stream("POST", f"{base_url}/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            delta = choices[0].get("delta", {}).get("content")
            if delta:
                if first is None:
                    first = time.perf_counter() - started
                text.append(delta)
    return first if first is not None else float("nan"), "".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="measured runs per path (after one warm-up)")
    parser.add_argument("--max-tokens", type=int, default=8, help="tokens per TTFT run (only the first matters)")
    parser.add_argument("--answer-tokens", type=int, default=80, help="tokens per answer for the guard runs")
    parser.add_argument("--answers", type=int, default=2, help="model answers per question for the guard runs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "llm_overhead.json")
    args = parser.parse_args()

    from llama_server import LlamaServer, smollm2_gguf

    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.guard import guard
    from tutor.prompts import render_messages
    from tutor.responders.llm import LLMResponder, passage_citations

    home = Path(tempfile.mkdtemp(prefix="tutor-bench-llm-"))
    engine = Engine.open(Settings(home=home, llm=None))
    engine.scorer.score("warm up", ["Warm up the scorer."])

    with LlamaServer(smollm2_gguf()) as server:
        os.environ["OPENAI_BASE_URL"] = f"{server.base_url}/v1"
        os.environ.pop("OPENAI_API_KEY", None)
        responder = LLMResponder.from_spec("openai:smollm2", engine, timeout=60, max_tokens=args.max_tokens)
        model = responder.model
        responder.model = timed = Timed(model)
        client = httpx.Client(timeout=60)

        question = QUESTIONS[0]
        retrieval = engine.retriever.search(question, k=4)
        passages = passage_citations(retrieval)
        messages = [{"role": r, "content": t} for r, t in render_messages("explain", passages=passages, question=question, history=[])]

        pre_request: list[float] = []

        def through_tutor() -> float:
            started = time.perf_counter()
            stream = responder.stream_explain(question, k=4, history=[])
            first = next(stream)
            elapsed = time.perf_counter() - started
            assert isinstance(first, str), f"no token: {first}"
            pre_request.append(timed.called - started)
            for _ in stream:  # let the answer finish and the guard run, as a user would
                pass
            return elapsed

        def langchain_only() -> float:
            started, elapsed = time.perf_counter(), None
            for chunk in model.stream([(m["role"], m["content"]) for m in messages]):
                if chunk.content and elapsed is None:
                    elapsed = time.perf_counter() - started
            return elapsed  # the stream runs to its end, so the server is idle for the next run

        def bare() -> float:
            return bare_ttft(client, server.base_url, messages, args.max_tokens)[0]

        # warm-up: loads the prompt into llama.cpp's cache and warms every code path
        paths = {"bare": bare, "tutor": through_tutor, "langchain": langchain_only}
        for run in paths.values():
            run()
        times: dict[str, list[float]] = {name: [] for name in paths}
        order = list(paths)
        for i in range(args.runs):
            for name in order[i % 3:] + order[: i % 3]:  # rotate, so no path always goes first
                times[name].append(paths[name]())
        bare, tutor, lc = times["bare"], times["tutor"], times["langchain"]
        del pre_request[0]  # the warm-up

        retrieval_t, render_t = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            engine.retriever.search(question, k=4)
            retrieval_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            render_messages("explain", passages=passages, question=question, history=[])
            render_t.append(time.perf_counter() - t)

        # the guard on real, fresh answers (new text: nothing cached for them), twice:
        # with a scorer that has never seen the passages (cold), and after the
        # passages were embedded, as LLMResponder does while the model generates
        from tutor.support import SupportScorer

        guard_cold, guard_t, sentences, kept = [], [], [], []
        for q in QUESTIONS:
            qp = passage_citations(engine.retriever.search(q, k=4))
            texts = [p.text for p in qp]
            msgs = [{"role": r, "content": t} for r, t in render_messages("explain", passages=qp, question=q, history=[])]
            for _ in range(args.answers):
                msgs[-1]["content"] += " "  # a different prompt each time: a different answer
                _, answer = bare_ttft(client, server.base_url, msgs, args.answer_tokens)
                cold = SupportScorer(embedder=engine.index.embedder)
                t = time.perf_counter()
                guard(answer, qp, cold)
                guard_cold.append(time.perf_counter() - t)
                warm = SupportScorer(embedder=engine.index.embedder)
                warm.score_many([], texts)
                for text in texts:
                    warm.score_many([], [text])
                t = time.perf_counter()
                result = guard(answer + " ", qp, warm)
                guard_t.append(time.perf_counter() - t)
                sentences.append(len(result.kept_sentences) + len(result.dropped))
                kept.append(len(result.kept_sentences))
        planted_t = []
        for i in range(args.runs):
            text = PLANTED.replace("change?", f"change #{i}?")  # new question text each time
            t = time.perf_counter()
            guard(text, passages, engine.scorer)
            planted_t.append(time.perf_counter() - t)
        client.close()

    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "model": "SmolLM2-135M-Instruct Q4_1 (xllamacpp server, child process)",
        "runs": args.runs,
        "ttft_ms": {
            "bare_server_median": median_ms(bare),
            "llm_responder_median": median_ms(tutor),
            "overhead_median": round(median_ms(tutor) - median_ms(bare), 2),
            "langchain_client_median": median_ms(lc),
            "bare_p90": p90_ms(bare),
            "llm_responder_p90": p90_ms(tutor),
        },
        "overhead_parts_ms": {
            "tutor_before_model_call_median": median_ms(pre_request),
            "retrieval_median": median_ms(retrieval_t),
            "prompt_render_median": median_ms(render_t),
            "langchain_vs_bare_median": round(median_ms(lc) - median_ms(bare), 2),
        },
        "guard_ms": {
            "model_answers_passages_prepared_median": median_ms(guard_t),
            "model_answers_passages_prepared_p90": p90_ms(guard_t),
            "model_answers_cold_scorer_median": median_ms(guard_cold),
            "model_answers_cold_scorer_p90": p90_ms(guard_cold),
            "model_answers_count": len(guard_t),
            "sentences_per_answer_median": statistics.median(sentences),
            "kept_per_answer_median": statistics.median(kept),
            "planted_5_sentences_median": median_ms(planted_t),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
