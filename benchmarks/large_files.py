"""Large files: chunking time against size, and ingest throughput with peak memory.

    python benchmarks/large_files.py [--sizes 1,10] [--with-50] [--runs 3]

Two figures (issue: ingest must be linear in the file's size):

* **Chunking scaling**: a 0.5 MB and a 5 MB plain-text file (hard-wrapped
  synthetic prose with a heading every 8 paragraphs, `synthetic.paragraph`),
  each loaded and cleaned with `load_document` and chunked with
  `chunk_document`, median of `--runs` runs. The ratio is the cost per MB of
  the big file over that of the small one: 1.0 is linear, 10 would be
  quadratic. Reported for cleaning and chunking separately.
* **Ingest MB/s and peak RSS** for 1, 10 (and with `--with-50`, 50) MB files:
  each size is one `Index.ingest` into a fresh home in a child process (so its
  peak RSS is its own, `ru_maxrss`), with the real embedder; encode time is
  measured through a proxy around the embedder so the rate can also be given
  with encoding excluded (the part this code controls). The size limit is
  lifted (`max_mb=0`). One run per size: the 50 MB run embeds about 190,000
  chunks, which takes hours on two busy cores. `--stub-encoder` replaces only
  the encode call with a hash-seeded vector, so the 1/10/50 MB cost per MB of
  everything else (cleaning, chunking, Chroma writes, publishing) is measured
  in minutes; its peak RSS is without the model (about 300 MiB less).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
MB = 1024 * 1024


def write_text(path: Path, mb: float, seed: int = 5) -> Path:
    """About `mb` MB of hard-wrapped plain text with headings."""
    from benchmarks import synthetic

    rng = random.Random(seed)
    pool = [synthetic.paragraph(synthetic.TOPICS[i % len(synthetic.TOPICS)], rng) for i in range(300)]
    target = int(mb * MB)
    parts, size, n = [], 0, 0
    while size < target:
        if n % 8 == 0:
            heading = f"Section {n // 8 + 1} Notes"
            parts.append(heading)
            size += len(heading) + 2
        text = "\n".join(textwrap.wrap(pool[n % len(pool)], 72))
        parts.append(text)
        size += len(text) + 2
        n += 1
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def chunk_scaling(folder: Path, sizes=(0.5, 5.0), runs: int = 3, log=print) -> dict:
    from tutor.chunking import chunk_document
    from tutor.corpus import load_document

    rows = {}
    for mb in sizes:
        path = write_text(folder / f"scaling-{mb}.txt", mb)
        actual = path.stat().st_size / MB
        clean_s, chunk_s, chunks = [], [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            doc = load_document(path, max_mb=0)
            t1 = time.perf_counter()
            chunks = len(chunk_document(doc))
            t2 = time.perf_counter()
            clean_s.append(t1 - t0)
            chunk_s.append(t2 - t1)
        rows[str(mb)] = {"mb": actual, "clean_seconds": statistics.median(clean_s),
                         "chunk_seconds": statistics.median(chunk_s), "chunks": chunks,
                         "clean_runs": clean_s, "chunk_runs": chunk_s}
        log(f"large files: {actual:.2f} MB cleaned in {rows[str(mb)]['clean_seconds']:.2f}s, "
            f"chunked in {rows[str(mb)]['chunk_seconds']:.2f}s ({chunks} chunks)")
    small, big = rows[str(sizes[0])], rows[str(sizes[-1])]

    def per_mb_ratio(key: str) -> float:
        return (big[key] / big["mb"]) / (small[key] / small["mb"])

    return {"sizes": rows, "chunk_ratio_per_mb": per_mb_ratio("chunk_seconds"),
            "clean_ratio_per_mb": per_mb_ratio("clean_seconds")}


class StubEncoder:
    """Stands in for the embedder when encoding is to be left out: a 384-d vector
    per text from its hash, in microseconds. Everything else ingest does
    (loading, cleaning, chunking, Chroma writes, publishing) is real."""

    model_id = "stub-hash-encoder"
    dim = 384

    def embed(self, texts, *args, **kwargs):
        import hashlib

        import numpy as np

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def embed_one(self, text):
        return self.embed([text])[0]


def _child(path: str, home: str, stub: bool = False) -> None:
    """One ingest in this process; print a JSON line with its figures."""
    from tutor.config import Settings
    from tutor.index import Index

    settings = Settings(home=Path(home), chroma_url=None, llm=None)
    if stub:
        embedder = StubEncoder()
    else:
        from tutor.embedder import get_embedder

        embedder = get_embedder(settings.embedding_model)
        embedder.embed(["warm up"] * 8)

    class Timed:
        def __init__(self, inner):
            self.inner, self.seconds = inner, 0.0

        def embed(self, texts, *a, **k):
            t0 = time.perf_counter()
            try:
                return self.inner.embed(texts, *a, **k)
            finally:
                self.seconds += time.perf_counter() - t0

        def __getattr__(self, name):
            return getattr(self.inner, name)

    timed = Timed(embedder)
    phases: dict[str, float] = {}
    started = time.perf_counter()

    current = {"phase": "loading"}
    phase_rss: dict[str, float] = {}  # peak resident MiB while each phase ran (sampled every 0.2 s)

    def progress(phase: str, done: int, total: int) -> None:
        phases[phase] = time.perf_counter() - started
        current["phase"] = phase

    def sample(stop: threading.Event) -> None:
        page = os.sysconf("SC_PAGE_SIZE") / MB
        while not stop.wait(0.2):
            with open("/proc/self/statm") as f:
                now = int(f.read().split()[1]) * page
            name = current["phase"]
            phase_rss[name] = max(phase_rss.get(name, 0.0), now)

    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(stop,), daemon=True)
    sampler.start()
    report = Index(settings, embedder=timed).ingest([Path(path)], max_mb=0, progress=progress)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = usage.ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "encode_seconds": timed.seconds, "chunks": report.chunks_added,
                      "failed": report.failed, "peak_rss_mib": rss, "phase_end_seconds": phases,
                      "phase_peak_rss_mib": phase_rss}))


def ingest_rates(folder: Path, sizes=(1.0, 10.0), log=print, timeout: float = 7200, stub: bool = False) -> dict:
    rows = {}
    for mb in sizes:
        path = write_text(folder / f"ingest-{mb}.txt", mb)
        actual = path.stat().st_size / MB
        home = Path(tempfile.mkdtemp(prefix="home-", dir=folder))
        log(f"large files: ingesting {actual:.1f} MB (child process)")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), str(home)]
        proc = subprocess.run(cmd + (["--stub-encoder"] if stub else []),
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        if proc.returncode != 0:
            raise RuntimeError(f"ingest of {actual:.1f} MB failed: {proc.stderr[-2000:]}")
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        rest = max(data["seconds"] - data["encode_seconds"], 1e-9)
        ends = data["phase_end_seconds"]
        data.update(mb=actual, mb_per_s=actual / data["seconds"], mb_per_s_without_encode=actual / rest,
                    seconds_per_mb_without_encode=rest / actual,
                    load_clean_seconds=ends.get("loading", 0.0),
                    chunk_seconds=ends.get("chunking", 0.0) - ends.get("loading", 0.0),
                    embed_store_seconds=data["seconds"] - ends.get("chunking", 0.0))
        data["clean_chunk_seconds_per_mb"] = (data["load_clean_seconds"] + data["chunk_seconds"]) / actual
        # CPU seconds per MB (the whole child, encode included): steadier than wall time on a busy machine
        data["cpu_seconds_per_mb"] = data["cpu_seconds"] / actual
        rows[str(mb)] = data
        log(f"large files: {actual:.1f} MB in {data['seconds']:.1f}s ({data['mb_per_s']:.3f} MB/s; "
            f"{data['mb_per_s_without_encode']:.2f} MB/s without encode), peak RSS {data['peak_rss_mib']:.0f} MiB")
    first = rows[str(sizes[0])]
    for row in rows.values():
        row["cost_per_mb_vs_smallest"] = row["seconds_per_mb_without_encode"] / first["seconds_per_mb_without_encode"]
        row["clean_chunk_cost_per_mb_vs_smallest"] = (row["clean_chunk_seconds_per_mb"]
                                                      / first["clean_chunk_seconds_per_mb"])
        row["cpu_cost_per_mb_vs_smallest"] = row["cpu_seconds_per_mb"] / first["cpu_seconds_per_mb"]
    return {"sizes": rows, "stub_encoder": stub}


def measure(folder: Path, chunk_sizes=(0.5, 5.0), ingest_sizes=(1.0, 10.0), runs: int = 3, log=print,
            stub: bool = False) -> dict:
    return {"chunking": chunk_scaling(folder, chunk_sizes, runs, log) if chunk_sizes else {"sizes": {}},
            "ingest": ingest_rates(folder, ingest_sizes, log, stub=stub) if ingest_sizes else {"sizes": {}}}


def render(results: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=140)
    ch = results["chunking"]
    if ch["sizes"]:
        t = Table(title="Chunking and cleaning against file size (median seconds)")
        for col in ("file", "clean s", "chunk s", "chunks"):
            t.add_column(col, justify="right")
        for row in ch["sizes"].values():
            t.add_row(f"{row['mb']:.2f} MB", f"{row['clean_seconds']:.3f}", f"{row['chunk_seconds']:.3f}",
                      str(row["chunks"]))
        console.print(t)
        console.print(f"cost per MB, big file / small file: chunking {ch['chunk_ratio_per_mb']:.2f}, "
                      f"cleaning {ch['clean_ratio_per_mb']:.2f} (1.0 is linear)")
    if results["ingest"]["sizes"]:
        how = ("stub encoder: encoding left out, all else real" if results["ingest"].get("stub_encoder")
               else "real embedder")
        t = Table(title=f"Ingest of one plain-text file (one run per size, {how})")
        for col in ("file", "seconds", "MB/s", "load+clean s", "chunk s", "embed+store s", "in encode calls s",
                    "MB/s w/o encode", "cost/MB vs smallest: w/o encode | clean+chunk | CPU", "chunks",
                    "peak RSS"):
            t.add_column(col, justify="right")
        for row in results["ingest"]["sizes"].values():
            t.add_row(f"{row['mb']:.1f} MB", f"{row['seconds']:.1f}", f"{row['mb_per_s']:.3f}",
                      f"{row['load_clean_seconds']:.1f}", f"{row['chunk_seconds']:.1f}",
                      f"{row['embed_store_seconds']:.1f}", f"{row['encode_seconds']:.1f}",
                      f"{row['mb_per_s_without_encode']:.2f}",
                      f"{row['cost_per_mb_vs_smallest']:.2f} | {row['clean_chunk_cost_per_mb_vs_smallest']:.2f}"
                      f" | {row.get('cpu_cost_per_mb_vs_smallest', float('nan')):.2f}",
                      str(row["chunks"]), f"{row['peak_rss_mib']:.0f} MiB")
        console.print(t)
        console.print("Time inside encode calls includes waiting for the GIL while the writer thread adds "
                      "batches to Chroma (its add holds it): with the stub encoder it is mostly Chroma writes.")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--child", nargs=2, metavar=("FILE", "HOME"), help=argparse.SUPPRESS)
    p.add_argument("--sizes", default="1,10", help="ingest sizes in MB, comma-separated")
    p.add_argument("--with-50", action="store_true", help="add the 50 MB ingest (slow: well over 10 minutes)")
    p.add_argument("--runs", type=int, default=3, help="runs per size for the chunking figure")
    p.add_argument("--stub-encoder", action="store_true",
                   help="replace only the encode call by a hash (measures ingest without encoding, fast)")
    p.add_argument("--ingest-only", action="store_true", help="skip the chunking-scaling figure")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "large_files.json")
    args = p.parse_args(argv)
    if args.child:
        _child(*args.child, stub=args.stub_encoder)
        return 0
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()] + ([50.0] if args.with_50 else [])
    with tempfile.TemporaryDirectory(prefix="tutor-large-") as tmp:
        results = measure(Path(tmp), chunk_sizes=() if args.ingest_only else (0.5, 5.0),
                          ingest_sizes=tuple(sizes), runs=args.runs,
                          log=lambda m: print(m, file=sys.stderr), stub=args.stub_encoder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    render(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
