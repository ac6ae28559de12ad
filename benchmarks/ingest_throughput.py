"""Ingest throughput (chunks/s) next to raw encode + parse throughput.

One ingest = `Index(settings, embedder).ingest(paths)` into a fresh TUTOR_HOME
(a new temp folder), with an embedder and the spaCy pipeline already loaded,
so no model load is in any figure. Ingest encodes the chunks and every
sentence, and parses every paragraph once; the raw figures do exactly that
work on exactly those texts (read back from its snapshot), with the same
torch thread count, back to back:

* raw: `SentenceTransformer.encode(chunks + sentences)` with the library's
  defaults (batch size 32), then spaCy's `nlp.pipe(paragraphs)`; the target
  compares ingest with this sum, and both parts are reported (encode and parse
  throughput side by side);
* raw, ingest's batching: `Embedder.embed(...)` (the very encode ingest calls,
  batches of up to 16 split by length) plus the same parse; ingest against
  this is the cost of everything around encoding and parsing.

The embedder handed to `Index` is a thin proxy that times its `embed` calls, so
an ingest splits into: encode time inside ingest, load+clean+chunk time
(measured separately on the same files), and the rest (Chroma writes, snapshot
reads, bookkeeping). Runs are interleaved (ingest, raw ST, raw ours), rotating which goes
first, and each ratio is taken per run before the median.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.stats import median
from tutor.embedder import BATCH_SIZE


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
    snap = index.snapshot(check_model=False)
    texts = [c.text for c in snap.chunks]
    if report.failed or len(texts) != report.chunks_added:
        raise RuntimeError(f"ingest of {paths} went wrong: {report.to_json()}")
    from tutor.parsed import paragraph_spans

    parsed = snap.parsed_many(list(snap.documents))
    sentences = [s.text for p in parsed.values() for s in p.sentences]
    paragraphs = [d.text[a:b] for d in snap.documents.values() for a, b in paragraph_spans(d.text)]
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
        "work": {"encode": texts + sentences, "parse": paragraphs},
    }


def raw_parse(paragraphs: list[str]) -> tuple[float, float, int]:
    """Wall, CPU seconds and tokens of spaCy's `nlp.pipe(paragraphs)` (what ingest parses)."""
    from tutor.language import nlp

    pipeline = nlp()
    start, cpu = time.perf_counter(), time.process_time()
    tokens = sum(len(d) for d in pipeline.pipe(paragraphs, batch_size=64))
    return time.perf_counter() - start, time.process_time() - cpu, tokens


def raw_st_once(embedder, work: dict) -> tuple[float, float, dict]:
    """Plain `SentenceTransformer.encode(texts)` (library defaults), then the raw parse."""
    import torch

    texts = work["encode"]
    torch.set_num_threads(embedder._threads if len(texts) > 8 else 1)  # as Embedder.embed does
    start, cpu = time.perf_counter(), time.process_time()
    embedder._model.encode(texts, show_progress_bar=False)
    enc, enc_cpu = time.perf_counter() - start, time.process_time() - cpu
    par, par_cpu, tokens = raw_parse(work["parse"])
    return enc + par, enc_cpu + par_cpu, {"encode": enc, "parse": par, "tokens": tokens}


def raw_ours_once(embedder, work: dict) -> tuple[float, float, dict]:
    """`Embedder.embed(texts)`, the encode ingest itself calls, then the raw parse."""
    start, cpu = time.perf_counter(), time.process_time()
    embedder.embed(work["encode"])
    enc, enc_cpu = time.perf_counter() - start, time.process_time() - cpu
    par, par_cpu, _ = raw_parse(work["parse"])
    return enc + par, enc_cpu + par_cpu, {}


RAW = {"raw": raw_st_once, "raw_ours": raw_ours_once}


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
    kinds = ("ingest", *RAW)
    runs: dict[str, dict[str, list]] = {
        name: {k: [] for k in ("ingest", "embed_in_ingest", "ingest_cpu", "embed_in_ingest_cpu",
                               *RAW, *(f"{r}_cpu" for r in RAW), "pairs", "cpu_pairs",
                               "pairs_ours", "cpu_pairs_ours")}
        for name in corpora
    }
    texts: dict[str, list[str]] = {}
    work: dict[str, dict] = {}
    parts: dict[str, dict[str, list]] = {}
    chunks: dict[str, int] = {}
    homes: dict[str, Path] = {}
    plan = [name for _ in range(reps) for name in corpora for _ in range(extra_reps.get(name, 1))]
    for step, name in enumerate(plan):
        paths = corpora[name]
        last = name not in plan[step + 1:]
        n_runs = len(runs[name]["pairs"])
        shift = n_runs % len(kinds) if name in texts else 0  # ingest first until the texts are known
        order = kinds[shift:] + kinds[:shift]
        run = {}
        for what in order:
            if what == "ingest":
                got = ingest_once(paths, embedder, tmp_root, keep=last)
                texts[name], chunks[name], work[name] = got["texts"], got["chunks"], got["work"]
                if last:
                    homes[name] = got["home"]
                runs[name]["embed_in_ingest"].append(got["embed_seconds"])
                runs[name]["embed_in_ingest_cpu"].append(got["embed_cpu_seconds"])
                run["ingest"], run["ingest_cpu"] = got["seconds"], got["cpu_seconds"]
            else:
                run[what], run[f"{what}_cpu"], part = RAW[what](embedder, work[name])
                for key, value in part.items():
                    parts.setdefault(name, {}).setdefault(key, []).append(value)
        for key, value in run.items():
            runs[name][key].append(value)
        # same chunk count on every side, so throughput ratio = raw time / ingest time
        runs[name]["pairs"].append(run["raw"] / run["ingest"])
        runs[name]["cpu_pairs"].append(run["raw_cpu"] / run["ingest_cpu"])
        runs[name]["pairs_ours"].append(run["raw_ours"] / run["ingest"])
        runs[name]["cpu_pairs_ours"].append(run["raw_ours_cpu"] / run["ingest_cpu"])
        log(
            f"  ingest {name} run {n_runs + 1}/{reps * extra_reps.get(name, 1)}: {chunks[name]} chunks, ingest "
            f"{run['ingest']:.3f}s, raw ST {run['raw']:.3f}s, raw ours {run['raw_ours']:.3f}s; ratio "
            f"{runs[name]['pairs'][-1]:.3f} (CPU time {runs[name]['cpu_pairs'][-1]:.3f}), vs ours "
            f"{runs[name]['pairs_ours'][-1]:.3f}"
        )
    out = {"encode_batch_size": BATCH_SIZE, "st_batch_size": 32, "reps": reps, "corpora": {}}
    for name, paths in corpora.items():
        r = runs[name]
        n = chunks[name]
        prep = load_and_chunk_seconds(paths)
        ingest_s, raw_s, embed_s = median(r["ingest"]), median(r["raw"]), median(r["embed_in_ingest"])
        ours_s = median(r["raw_ours"])
        out["corpora"][name] = {
            "home": homes.get(name),
            "pairs": len(r["pairs"]),
            "documents": prep["documents"],
            "paragraphs": prep["paragraphs"],
            "chunks": n,
            "mean_chunk_chars": round(sum(map(len, texts[name])) / max(1, n), 1),
            "encoded_texts": len(work[name]["encode"]),
            "parsed_paragraphs": len(work[name]["parse"]),
            "raw_encode_seconds": parts.get(name, {}).get("encode", []),
            "raw_parse_seconds": parts.get(name, {}).get("parse", []),
            "raw_encode_texts_per_s": len(work[name]["encode"]) / median(parts[name]["encode"]) if name in parts else None,
            "raw_parse_tokens_per_s": median(parts[name]["tokens"]) / median(parts[name]["parse"]) if name in parts else None,
            "ingest_seconds": r["ingest"],
            "raw_seconds": r["raw"],
            "embed_in_ingest_seconds": r["embed_in_ingest"],
            "ingest_chunks_per_s": n / ingest_s,
            "raw_chunks_per_s": n / raw_s,
            "raw_ours_seconds": r["raw_ours"],
            "raw_ours_chunks_per_s": n / ours_s,
            "ratio_vs_ours_paired_median": median(r["pairs_ours"]),
            "ratios_vs_ours": r["pairs_ours"],
            "cpu_ratio_vs_ours_paired_median": median(r["cpu_pairs_ours"]),
            "raw_ours_cpu_seconds": r["raw_ours_cpu"],
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
                "raw ST encode (batch 32) + parse, same texts": raw_s,
                "raw encode, ingest's batching, + parse": ours_s,
                "raw encode alone": median(parts[name]["encode"]) if name in parts else None,
                "raw parse alone": median(parts[name]["parse"]) if name in parts else None,
            },
        }
    return out
