"""Warm `ask` latency: Session.send in explain mode, one engine, 100 questions.

After one untimed warm-up pass over all questions, each measured pass sends
every question through a fresh `Session(engine, mode="explain")` (what `tutor
ask` does: no history, so no follow-up rewriting) and times `send` with
perf_counter (process CPU time is recorded too: on a shared machine it is far
steadier than wall time). p50/p95 are taken per pass; the headline is the median over
passes. A separate component pass times, per question and side by side, the
query embedding alone, `retriever.search` alone and the whole `send`, so the
responder's share is visible. The index's freshness check (`Index._pointer`,
run at most once a second by `Index.snapshot`) is timed on its own because it
lands on whichever question crosses the second.
"""

from __future__ import annotations

import time

from benchmarks.stats import median, percentile


def _send(engine, question: str):
    from tutor.session import Session

    session = Session(engine, mode="explain")
    start, cpu = time.perf_counter(), time.process_time()
    reply = session.send(question)
    reply.bench_cpu_ms = (time.process_time() - cpu) * 1000
    return (time.perf_counter() - start) * 1000, reply


def measure(engine, questions: list[dict], passes: int, log=print) -> dict:
    texts = [q["question"] for q in questions]
    for text in texts:  # warm-up pass
        _send(engine, text)

    per_pass, cpu_per_pass = [], []
    replies = {}
    for p in range(passes):
        lat, cpu = [], []
        for q in questions:
            ms, reply = _send(engine, q["question"])
            lat.append(ms)
            cpu.append(reply.bench_cpu_ms)
            replies[q["id"]] = reply
        per_pass.append(lat)
        cpu_per_pass.append(cpu)
        log(f"  ask latency pass {p + 1}/{passes}: p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms, max {max(lat):.1f} ms")

    # side-by-side components, one question at a time
    embed_ms, search_ms, send_ms = [], [], []
    emb = engine.index.embedder
    for text in texts:
        t0 = time.perf_counter()
        emb.embed_one(text)
        t1 = time.perf_counter()
        engine.retriever.search(text, k=4)
        t2 = time.perf_counter()
        ms, _ = _send(engine, text)
        embed_ms.append((t1 - t0) * 1000)
        search_ms.append((t2 - t1) * 1000)
        send_ms.append(ms)

    pointer_ms = []
    for _ in range(20):
        t0 = time.perf_counter()
        engine.index._pointer()
        pointer_ms.append((time.perf_counter() - t0) * 1000)

    wrong_declines = [
        {"id": q["id"], "question": q["question"]}
        for q in questions if q["in_scope"] and replies[q["id"]].declined
    ]
    wrong_answers = [
        {"id": q["id"], "question": q["question"], "answer": replies[q["id"]].answer[:160]}
        for q in questions if not q["in_scope"] and not replies[q["id"]].declined
    ]
    pooled = [x for lat in per_pass for x in lat]
    slowest = sorted(zip(per_pass[-1], texts, strict=True), reverse=True)[:5]
    return {
        "questions": len(texts),
        "passes": passes,
        "p50_ms": median([percentile(lat, 50) for lat in per_pass]),
        "p95_ms": median([percentile(lat, 95) for lat in per_pass]),
        "per_pass": [
            {"p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95), "max_ms": max(lat), "mean_ms": sum(lat) / len(lat)}
            for lat in per_pass
        ],
        "cpu_p50_ms": median([percentile(c, 50) for c in cpu_per_pass]),
        "cpu_p95_ms": median([percentile(c, 95) for c in cpu_per_pass]),
        "pooled_p50_ms": percentile(pooled, 50),
        "pooled_p95_ms": percentile(pooled, 95),
        "slowest_last_pass": [{"ms": round(ms, 1), "question": t} for ms, t in slowest],
        "components_median_ms": {
            "query embedding (embed_one)": median(embed_ms),
            "retriever.search (incl. embedding)": median(search_ms),
            "Session.send (whole reply)": median(send_ms),
            "responder + session beyond search": median(s - r for s, r in zip(send_ms, search_ms, strict=True)),
            "index freshness check (_pointer, <= 1/s)": median(pointer_ms),
        },
        "components_p95_ms": {
            "query embedding (embed_one)": percentile(embed_ms, 95),
            "retriever.search (incl. embedding)": percentile(search_ms, 95),
            "Session.send (whole reply)": percentile(send_ms, 95),
            "index freshness check (_pointer, <= 1/s)": percentile(pointer_ms, 95),
        },
        "declined_in_scope": wrong_declines,
        "answered_out_of_scope": wrong_answers,
        "out_of_scope_declined": sum(1 for q in questions if not q["in_scope"] and replies[q["id"]].declined),
        "out_of_scope_total": sum(1 for q in questions if not q["in_scope"]),
    }


def measure_first_time(engine, questions: list[str]) -> dict:
    """Latency of questions the engine has never seen, on a larger index, then
    the same questions again. On the seed every sentence is cached after the
    warm-up; on a bigger index a new question's candidate passages may not be."""
    first = [_send(engine, q)[0] for q in questions]
    again = [_send(engine, q)[0] for q in questions]
    snap = engine.index.snapshot()
    return {
        "chunks": len(snap.chunks),
        "questions": len(questions),
        "first_p50_ms": percentile(first, 50),
        "first_p95_ms": percentile(first, 95),
        "repeat_p50_ms": percentile(again, 50),
        "repeat_p95_ms": percentile(again, 95),
        "first_ms": first,
        "repeat_ms": again,
    }
