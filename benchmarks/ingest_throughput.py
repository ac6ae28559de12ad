"""Ingest throughput (chunks/s) next to raw sentence-transformers encode throughput.

One ingest = `Index(settings, embedder).ingest(paths)` into a fresh TUTOR_HOME
(a new temp folder), with an embedder that is already loaded, so the model load
is in neither figure. The raw figure is `embedder.embed(texts, batch_size=B)` on
exactly the chunk texts that ingest stored (read back from its snapshot), with B
the batch size `Index` itself encodes with (`Embedder.embed`'s default).

The embedder handed to `Index` is a thin proxy that times its `embed` calls, so
an ingest splits into: encode time inside ingest, load+clean+chunk time
(measured separately on the same files), and the rest (Chroma writes, snapshot
reads, bookkeeping). Runs are interleaved ingest/raw, alternating which goes
first, and the ratio is taken per pair before the median.
"""

from __future__ import annotations

import gc
import inspect
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.stats import median


class TimedEmbedder:
    """Delegates to the real embedder and adds up the time spent in `embed`."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.calls = 0
        self.texts = 0

    def embed(self, texts, *args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        out = self.inner.embed(texts, *args, **kwargs)
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.process_time() - cpu
        self.calls += 1
        self.texts += len(texts)
        return out

    def embed_one(self, text):
        return self.embed([text])[0]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def encode_batch_size(embedder) -> int:
    """The batch size Index encodes with: the default of Embedder.embed."""
    param = inspect.signature(type(embedder).embed).parameters.get("batch_size")
    return int(param.default) if param is not None and param.default is not inspect._empty else 32


def _release_chroma() -> None:
    try:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:  # noqa: BLE001 - best effort only
        pass
    gc.collect()


def ingest_once(paths: list[Path], embedder, tmp_root: Path, keep: bool = False) -> dict:
    from tutor.config import Settings
    from tutor.index import Index

    home = Path(tempfile.mkdtemp(prefix="ingest-", dir=tmp_root))
    settings = Settings(home=home, chroma_url=None, llm=None)
    proxy = TimedEmbedder(embedder)
    index = Index(settings, embedder=proxy)
    start, cpu = time.perf_counter(), time.process_time()
    report = index.ingest(paths)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    texts = [c.text for c in index.snapshot(check_model=False).chunks]
    if report.failed or len(texts) != report.chunks_added:
        raise RuntimeError(f"ingest of {paths} went wrong: {report.to_json()}")
    del index
    _release_chroma()
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "home": home,
        "chunks": report.chunks_added,
        "seconds": wall,
        "cpu_seconds": cpu,
        "embed_seconds": proxy.seconds,
        "embed_cpu_seconds": proxy.cpu_seconds,
        "embed_calls": proxy.calls,
        "texts": texts,
    }


def raw_once(embedder, texts: list[str], batch_size: int) -> tuple[float, float]:
    """Wall and process-CPU seconds of one encode of `texts`."""
    start, cpu = time.perf_counter(), time.process_time()
    embedder.embed(texts, batch_size=batch_size)
    return time.perf_counter() - start, time.process_time() - cpu


def load_and_chunk_seconds(paths: list[Path]) -> dict:
    """Load + clean + chunk the same files once (what ingest does before encoding)."""
    from tutor.chunking import chunk_document
    from tutor.corpus import find_corpus_files, load_document

    start = time.perf_counter()
    files, _ = find_corpus_files(paths)
    docs = [load_document(f) for f in files]
    chunks = sum(len(chunk_document(d)) for d in docs)
    seconds = time.perf_counter() - start
    from tutor.chunking import paragraphs

    paras = sum(len(paragraphs(d.text)) - len(d.headings) for d in docs)
    return {"seconds": seconds, "documents": len(docs), "paragraphs": paras, "chunks": chunks}


def measure(
    corpora: dict[str, list[Path]], embedder, reps: int, tmp_root: Path, log=print,
    extra_reps: dict[str, int] | None = None,
) -> dict:
    """corpora: name -> paths. Returns per-corpus results, runs interleaved.

    `extra_reps[name]` = pairs per round for cheap corpora (the seed ingests in a
    second, so more pairs steady its median at no real cost). The home of each
    corpus's last ingest is kept and returned as `home` (for first-time queries)."""
    extra_reps = extra_reps or {}
    batch = encode_batch_size(embedder)
    runs: dict[str, dict[str, list]] = {
        name: {"ingest": [], "raw": [], "embed_in_ingest": [], "pairs": [],
               "ingest_cpu": [], "raw_cpu": [], "embed_in_ingest_cpu": [], "cpu_pairs": []}
        for name in corpora
    }
    texts: dict[str, list[str]] = {}
    chunks: dict[str, int] = {}
    homes: dict[str, Path] = {}
    plan = [name for _ in range(reps) for name in corpora for _ in range(extra_reps.get(name, 1))]
    for step, name in enumerate(plan):
        paths = corpora[name]
        last = name not in plan[step + 1:]
        n_runs = len(runs[name]["pairs"])
        order = ("ingest", "raw") if n_runs % 2 == 0 or name not in texts else ("raw", "ingest")
        pair = {}
        for what in order:
            if what == "ingest":
                got = ingest_once(paths, embedder, tmp_root, keep=last)
                texts[name], chunks[name] = got["texts"], got["chunks"]
                if last:
                    homes[name] = got["home"]
                runs[name]["ingest"].append(got["seconds"])
                runs[name]["embed_in_ingest"].append(got["embed_seconds"])
                runs[name]["ingest_cpu"].append(got["cpu_seconds"])
                runs[name]["embed_in_ingest_cpu"].append(got["embed_cpu_seconds"])
                pair["ingest"], pair["ingest_cpu"] = got["seconds"], got["cpu_seconds"]
            else:
                seconds, cpu = raw_once(embedder, texts[name], batch)
                runs[name]["raw"].append(seconds)
                runs[name]["raw_cpu"].append(cpu)
                pair["raw"], pair["raw_cpu"] = seconds, cpu
        # same chunk count on both sides, so throughput ratio = raw time / ingest time
        runs[name]["pairs"].append(pair["raw"] / pair["ingest"])
        runs[name]["cpu_pairs"].append(pair["raw_cpu"] / pair["ingest_cpu"])
        log(
            f"  ingest {name} pair {n_runs + 1}/{reps * extra_reps.get(name, 1)}: {chunks[name]} chunks, ingest "
            f"{runs[name]['ingest'][-1]:.2f}s, raw {runs[name]['raw'][-1]:.2f}s, "
            f"ratio {runs[name]['pairs'][-1]:.3f} (by CPU time {runs[name]['cpu_pairs'][-1]:.3f})"
        )
    out = {"encode_batch_size": batch, "reps": reps, "corpora": {}}
    for name, paths in corpora.items():
        r = runs[name]
        n = chunks[name]
        prep = load_and_chunk_seconds(paths)
        ingest_s, raw_s, embed_s = median(r["ingest"]), median(r["raw"]), median(r["embed_in_ingest"])
        out["corpora"][name] = {
            "home": homes.get(name),
            "pairs": len(r["pairs"]),
            "documents": prep["documents"],
            "paragraphs": prep["paragraphs"],
            "chunks": n,
            "mean_chunk_chars": round(sum(map(len, texts[name])) / max(1, n), 1),
            "ingest_seconds": r["ingest"],
            "raw_seconds": r["raw"],
            "embed_in_ingest_seconds": r["embed_in_ingest"],
            "ingest_chunks_per_s": n / ingest_s,
            "raw_chunks_per_s": n / raw_s,
            "ratio_paired_median": median(r["pairs"]),
            "ratio_of_medians": raw_s / ingest_s,
            "ratios": r["pairs"],
            "ingest_cpu_seconds": r["ingest_cpu"],
            "raw_cpu_seconds": r["raw_cpu"],
            "embed_in_ingest_cpu_seconds": r["embed_in_ingest_cpu"],
            "cpu_ratio_paired_median": median(r["cpu_pairs"]),
            "cpu_ratios": r["cpu_pairs"],
            "breakdown_seconds": {
                "encode (inside ingest)": embed_s,
                "load + clean + chunk": prep["seconds"],
                "Chroma writes + reads + rest": max(0.0, ingest_s - embed_s - prep["seconds"]),
                "total ingest": ingest_s,
                "raw encode, same texts": raw_s,
            },
        }
    return out
