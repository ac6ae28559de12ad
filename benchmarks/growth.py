"""Growth benchmark: what a growing library costs, from 1 article to 1,000.

    python benchmarks/growth.py                        # libraries of 1, 10, 100, 1000 articles
    python benchmarks/growth.py --sizes 1,10,100       # a shorter curve
    python benchmarks/growth.py --sizes 1,10 --quick   # a smoke run (1 ingest, 1 latency pass)
    python benchmarks/growth.py --keep --out R.json    # keep the libraries, then measure them
    python benchmarks/growth.py --reuse DIR --out R.json --sizes 1,1000  # again, new code, no ingest

A library of N articles is the packaged seed article (with its question bank:
`tutor serve` on an embedded index ingests it when it is missing, which would
otherwise add an ingest to the cold start) and its questions from
data/seed_questions.jsonl, then the first min(N - 1, 5) development articles of
/work/shared/articles (real articles, each with its eval questions, sorted by
name), then synthetic articles written
by `synthetic.write_corpus` (the existing synthetic corpus's generator: topic
vocabularies and sentence templates, 60-120 word paragraphs, `#`/`##`
headings), 19 paragraphs each, about 40 chunks, so 1,000 articles are about
40,000 chunks. Smaller libraries are prefixes of larger ones. Each size gets
its own TUTOR_HOME (embedded Chroma) in a temp folder, and in one run:

1. **ingest**: `Index.ingest(files)` in this process, the embedder loaded
   beforehand; wall time and chunks/s (median of `--repeats` fresh ingests
   while one takes under a minute, else one), process CPU time too;
2. **index size**: bytes under TUTOR_HOME/index;
3. **cold start**: `tutor serve` spawned on that home, seconds until it
   answers `/config` (it warms up before opening its port);
4. **first question after start**: latency of the first `/ask` (a real
   article's question) through gradio_client, then of `first-time` questions:
   one per real article and synthetic-topic questions, each the first of its
   kind: p50/p95/max;
5. **server RSS**: the serve process's peak (`VmHWM`) and current RSS after those;
6. **warm ask**: in this process, `Session(engine, mode="explain").send(q)` per
   question (fresh session, as `tutor ask`), one untimed pass, then `--passes`
   timed passes over the real articles' questions and synthetic questions;
   p50/p95 per pass, median over passes;
7. **evidence recall@200 tokens** of the real articles' eval questions (cases
   with a question and `support` quotes), retrieving from the whole library
   (k = 4, no article filter): every support quote (whitespace and quote styles
   normalised) inside the first 200 tokens of the passages joined in rank
   order, tokenised by the embedder's tokenizer; also recall at k without a
   budget and how often the top passage is from the right article.

Every measure is printed as a curve over the sizes (one table) and written to
benchmarks/results/growth.json with the raw samples. The issue's targets
(ratios against the 1- and 10-article libraries) are evaluated when those
sizes ran. Timings on a busy 2-core machine vary; CPU seconds are recorded
next to wall seconds, and the load average before each size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
for _var in ("TUTOR_CHROMA_URL", "TUTOR_LLM", "TUTOR_DATABASE_URL"):  # embedded, LLM-free default
    os.environ.pop(_var, None)

from benchmarks import synthetic  # noqa: E402
from benchmarks.evidence_recall import budget_context  # noqa: E402
from benchmarks.stats import cpu_pressure, load_average, median, percentile  # noqa: E402

CORPUS = ROOT / "corpus"
SEED_QUESTIONS = ROOT / "benchmarks" / "data" / "seed_questions.jsonl"

ARTICLES = Path("/work/shared/articles")
OUT = ROOT / "benchmarks" / "results" / "growth.json"
PARAGRAPHS_PER_ARTICLE = 19  # about 40 chunks
BUDGET = 200
K = 4
SYNTHETIC_QUESTIONS = 20
SEED_WARM = 30  # of the seed's 85 questions, in the warm-ask set (the others have ~30 each)
FIRST_TIME_SYNTHETIC = 10
REPEAT_UNDER_S = 60.0
TARGETS = {  # issue 12, "Done when"
    "warm_p95_ratio_max_vs_1": 3.0,
    "first_question_s": 1.0,
    "ingest_ratio_max_vs_10": 0.8,
    "rss_mb": 2048.0,
    "recall_drop_max_vs_10": 0.05,
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Growth benchmark: 1 to 1,000 articles.")
    ap.add_argument("--sizes", default="1,10,100,1000", help="comma-separated library sizes (articles)")
    ap.add_argument("--repeats", type=int, default=3, help="fresh ingests per size while one takes under a minute")
    ap.add_argument("--passes", type=int, default=3, help="timed warm-ask passes")
    ap.add_argument("--quick", action="store_true", help="1 ingest, 1 warm pass")
    ap.add_argument("--articles", type=Path, default=ARTICLES, help="development article packages")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep", action="store_true", help="keep the temp folder, with each size's home (to profile it afterwards)")
    ap.add_argument("--reuse", type=Path, metavar="DIR",
                    help="measure the libraries a --keep run left in DIR again, with this code, without "
                         "ingesting them again; their ingest figures are read from that run's --out file")
    args = ap.parse_args(argv)
    try:
        args.sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        ap.error("--sizes takes numbers, e.g. 1,10,100")
    if not args.sizes or args.sizes[0] < 1:
        ap.error("--sizes must be positive")
    if args.quick:
        args.repeats, args.passes = 1, 1
    return args


# ---- the libraries ---------------------------------------------------------------------
def real_articles(folder: Path, into: Path) -> list[dict]:
    """The development articles copied under distinct names, with their eval questions."""
    from tutor.corpus import load_document

    into.mkdir(parents=True, exist_ok=True)
    out = []
    for package in sorted(p for p in folder.iterdir() if p.is_dir()):
        source = next(iter(sorted(package.glob("article.*"))), None)
        if source is None:
            continue
        copy = into / f"{package.name}{source.suffix}"
        shutil.copyfile(source, copy)
        doc_id = load_document(copy).doc_id
        cases = [json.loads(line) for line in (package / "eval.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()] if (package / "eval.jsonl").exists() else []
        questions = [c for c in cases if c.get("question") and c.get("kind") != "followup"]
        out.append({"slug": package.name, "path": copy, "doc_id": doc_id, "questions": questions})
    if not out:
        raise SystemExit(f"error: no article packages (folders with article.*) in {folder}")
    return out


def seed_article() -> dict:
    """The packaged article (its folder: the article and its question bank) and its questions."""
    from tutor.corpus import find_corpus_files, load_document

    files, _ = find_corpus_files([CORPUS])
    doc_id = load_document(files[0]).doc_id
    rows = [json.loads(line) for line in SEED_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [{"id": r["id"], "question": r["question"], "support": r["support"]} for r in rows if r["in_scope"]]
    return {"slug": "seed", "path": CORPUS, "doc_id": doc_id, "questions": questions}


def library(size: int, seed: dict, real: list[dict], synthetic_files: list[Path]) -> tuple[list[dict], list[Path]]:
    chosen = [seed, *real[: min(size - 1, len(real))]]
    return chosen, [r["path"] for r in chosen] + synthetic_files[: size - len(chosen)]


# ---- measurements ----------------------------------------------------------------------------
def measure_ingest(files: list[Path], work: Path, embedder, repeats: int, log) -> tuple[Path, dict]:
    from tutor.config import Settings
    from tutor.index import Index

    samples = []
    home = None
    for r in range(max(1, repeats)):
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
        home = work / f"home-{r}"
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        report = Index(Settings(home=home), embedder=embedder).ingest(files)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if report.failed:
            raise SystemExit(f"error: ingest failed: {report.failed[:3]}")
        samples.append({"wall_s": wall, "cpu_s": cpu, "chunks": report.chunks_added,
                        "chunks_per_s": report.chunks_added / wall})
        log(f"    ingest {r + 1}: {report.chunks_added} chunks in {wall:.1f}s ({report.chunks_added / wall:.0f}/s)")
        if wall >= REPEAT_UNDER_S:
            break
    return home, {
        "documents": len(files),
        "chunks": samples[-1]["chunks"],
        "wall_s": median(s["wall_s"] for s in samples),
        "cpu_s": median(s["cpu_s"] for s in samples),
        "chunks_per_s": median(s["chunks_per_s"] for s in samples),
        "samples": samples,
    }


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure_server(home: Path, first: tuple[str, str], first_time: list[tuple[str, str]], log) -> dict:
    """Cold start, first questions and RSS of a real `tutor serve` on `home`.

    Questions are (question, doc_id): the web API pins a conversation to one
    article (the first when doc_id is empty), so a real article's question is
    asked of that article; otherwise it would be declined by another one."""
    import httpx
    from gradio_client import Client

    from tests.servers import free_port, tutor_env

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tutor", "serve", "--port", str(port)],
                            env=tutor_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = started + 1800
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"error: tutor serve exited: {proc.stderr.read()[-2000:]}")
            if time.perf_counter() > deadline:
                raise SystemExit("error: tutor serve did not start within 30 minutes")
            try:
                if httpx.get(url + "config", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        cold = time.perf_counter() - started
        client = Client(url, verbose=False)  # its own set-up requests are not timed
        t0 = time.perf_counter()
        reply = client.predict(first[0], "explain", first[1], "", api_name="/ask")
        first_s = time.perf_counter() - t0
        times = []
        for q, doc_id in first_time:
            t0 = time.perf_counter()
            client.predict(q, "explain", doc_id, "", api_name="/ask")
            times.append(time.perf_counter() - t0)
        rss = _rss_mb(proc.pid)
        log(f"    serve: ready in {cold:.1f}s, first question {first_s:.2f}s, first-time p95 "
            f"{percentile(times, 95):.2f}s, peak RSS {rss['peak_mb']:.0f} MiB")
        return {"cold_start_s": cold, "first_question_s": first_s, "first_answer_declined": reply["declined"],
                "first_time_p50_s": percentile(times, 50), "first_time_p95_s": percentile(times, 95),
                "first_time_max_s": max(times) if times else None, "first_time_samples_s": times,
                "rss_peak_mb": rss["peak_mb"], "rss_now_mb": rss["now_mb"]}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _rss_mb(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            name, value = line.split(":", 1)
            fields[name] = int(value.split()[0]) / 1024
    return {"peak_mb": fields.get("VmHWM", 0.0), "now_mb": fields.get("VmRSS", 0.0)}


def measure_warm(engine, questions: list[str], passes: int, log) -> dict:
    from tutor.session import Session

    def send(q):
        session = Session(engine, mode="explain")
        t0 = time.perf_counter()
        session.send(q)
        return (time.perf_counter() - t0) * 1000

    for q in questions:  # warm-up pass, untimed
        send(q)
    per_pass = []
    for _ in range(passes):
        per_pass.append([send(q) for q in questions])
    p50 = median(percentile(p, 50) for p in per_pass)
    p95 = median(percentile(p, 95) for p in per_pass)
    log(f"    warm ask: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(questions)} questions")
    return {"p50_ms": p50, "p95_ms": p95, "questions": len(questions),
            "per_pass": [{"p50_ms": percentile(p, 50), "p95_ms": percentile(p, 95)} for p in per_pass]}


def measure_recall(engine, real: list[dict], log) -> dict:
    from tutor.evals.dataset import normalise

    tokenizer = engine.index.embedder._model.tokenizer
    rows = []
    for article in real:
        for case in article["questions"]:
            support = case.get("support") or []
            if isinstance(support, str):
                support = [support]
            if not support:
                continue
            hits = engine.retriever.search(case["question"], k=K).hits
            passages = [h.chunk.text for h in hits]
            context, _ = budget_context(passages, tokenizer, BUDGET)
            ctx, full = normalise(context), normalise("\n\n".join(passages))
            quotes = [normalise(s) for s in support]
            rows.append({
                "doc_id": article["doc_id"], "id": case.get("id"),
                "recall": all(q in ctx for q in quotes),
                "recall_at_k": all(q in full for q in quotes),
                "top_is_right_article": bool(hits) and hits[0].chunk.doc_id == article["doc_id"],
            })
    n = len(rows) or 1
    dev = [r for r in rows if r["doc_id"] != real[0]["doc_id"]]
    result = {
        "cases": len(rows),
        "recall_at_200": sum(r["recall"] for r in rows) / n,
        "recall_dev_at_200": sum(r["recall"] for r in dev) / len(dev) if dev else None,
        "recall_at_k": sum(r["recall_at_k"] for r in rows) / n,
        "top_from_right_article": sum(r["top_is_right_article"] for r in rows) / n,
        "by_article": {a["doc_id"]: sum(r["recall"] for r in rows if r["doc_id"] == a["doc_id"])
                       / max(1, sum(1 for r in rows if r["doc_id"] == a["doc_id"])) for a in real},
        "misses": [r["id"] for r in rows if not r["recall"]],
    }
    log(f"    evidence recall@{BUDGET}: {result['recall_at_200']:.3f} over {len(rows)} cases "
        f"(at k: {result['recall_at_k']:.3f}; top passage from the right article: {result['top_from_right_article']:.3f})")
    return result


# ---- the run ---------------------------------------------------------------------------------
def run(args, log=print) -> dict:
    from tutor.config import Settings
    from tutor.embedder import get_embedder
    from tutor.engine import Engine

    reused = _reused_ingests(args) if args.reuse else {}
    work = args.reuse or Path(tempfile.mkdtemp(prefix="tutor-growth-"))
    try:
        seed = seed_article()
        real = real_articles(args.articles, work / "real")
        n_synth = max(0, args.sizes[-1] - 1 - len(real))
        synthetic_files = []
        if n_synth and args.reuse:
            synthetic_files = sorted((work / "synthetic").glob("*.md"), key=lambda p: int(p.name.split("-")[0]))
        elif n_synth:
            summary = synthetic.write_corpus(work / "synthetic", paragraphs=n_synth * PARAGRAPHS_PER_ARTICLE,
                                             files=n_synth, seed=7)
            # in the order written (names are "<number>-<topic>.md"), so libraries are
            # prefixes of each other whatever the largest size
            synthetic_files = sorted((work / "synthetic").glob("*.md"), key=lambda p: int(p.name.split("-")[0]))
            log(f"synthetic articles: {summary['files']} ({summary['words']:,} words)")
        embedder = get_embedder()
        embedder.embed(["warm up the encoder"])
        synthetic_qs = synthetic.questions(SYNTHETIC_QUESTIONS)
        results = []
        for size in args.sizes:
            chosen, files = library(size, seed, real, synthetic_files)
            log(f"\n{size} article(s): {len(chosen)} real ({', '.join(a['slug'] for a in chosen)}), "
                f"{len(files) - len(chosen)} synthetic")
            row = {"size": size, "real": [a["slug"] for a in chosen], "load_average": load_average(),
                   "cpu_pressure": cpu_pressure()}
            if size in reused:
                home, row["ingest"] = reused[size]
                log(f"    ingest: reused {home} ({row['ingest']['chunks']} chunks, measured by the earlier run)")
            else:
                home, row["ingest"] = measure_ingest(files, work / f"size-{size}", embedder, args.repeats, log)
            row["index_bytes"] = disk_bytes(home / "index")
            real_qs = [c["question"] for a in chosen for c in a["questions"][:SEED_WARM if a is seed else None]]
            first = (chosen[0]["questions"][0]["question"], chosen[0]["doc_id"]) if chosen[0]["questions"] \
                else (synthetic_qs[0], "")
            first_time = [(a["questions"][-1]["question"], a["doc_id"]) for a in chosen if a["questions"]] \
                + [(q, "") for q in synthetic_qs[:FIRST_TIME_SYNTHETIC]]
            row["server"] = measure_server(home, first, first_time, log)
            gc.collect()
            engine = Engine.open(Settings(home=home), auto_ingest=False, embedder=embedder)
            row["warm"] = measure_warm(engine, real_qs + synthetic_qs, args.passes, log)
            row["recall"] = measure_recall(engine, chosen, log)
            del engine
            gc.collect()
            results.append(row)
            if not args.keep:
                shutil.rmtree(work / f"size-{size}", ignore_errors=True)
    finally:
        if args.keep or args.reuse:
            log(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return {"sizes": args.sizes, "results": results, "targets": _targets(results),
            "paragraphs_per_synthetic_article": PARAGRAPHS_PER_ARTICLE, "budget_tokens": BUDGET, "k": K,
            "repeats": args.repeats, "passes": args.passes,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _reused_ingests(args) -> dict[int, tuple[Path, dict]]:
    """Each size's kept home under `args.reuse` and its ingest figures from the
    earlier run's results (`args.out`), marked as reused."""
    if not args.out.is_file():
        raise SystemExit(f"error: --reuse needs the earlier run's results in {args.out} (--out)")
    earlier = {r["size"]: r for r in json.loads(args.out.read_text(encoding="utf-8")).get("results", [])}
    out = {}
    for size in args.sizes:
        homes = sorted((args.reuse / f"size-{size}").glob("home-*"))
        if not homes or size not in earlier:
            raise SystemExit(f"error: no kept library of {size} articles in {args.reuse} with results in {args.out}")
        out[size] = (homes[-1], {**earlier[size]["ingest"], "reused": True})
    return out


def _targets(rows: list[dict]) -> dict:
    by = {r["size"]: r for r in rows}
    top = max(by) if by else None
    out = {"largest": top}
    if top is None:
        return out
    big = by[top]
    if 1 in by and top != 1:
        ratio = big["warm"]["p95_ms"] / by[1]["warm"]["p95_ms"]
        out["warm_p95_ratio_max_vs_1"] = {"value": ratio, "ok": ratio <= TARGETS["warm_p95_ratio_max_vs_1"]}
    if 10 in by and top != 10:
        ratio = big["ingest"]["chunks_per_s"] / by[10]["ingest"]["chunks_per_s"]
        out["ingest_ratio_max_vs_10"] = {"value": ratio, "ok": ratio >= TARGETS["ingest_ratio_max_vs_10"]}
        drop = by[10]["recall"]["recall_at_200"] - big["recall"]["recall_at_200"]
        out["recall_drop_max_vs_10"] = {"value": drop, "ok": drop <= TARGETS["recall_drop_max_vs_10"]}
    worst_first = max([big["server"]["first_question_s"], big["server"]["first_time_max_s"] or 0])
    out["first_question_s"] = {"value": worst_first, "ok": worst_first <= TARGETS["first_question_s"]}
    out["rss_mb"] = {"value": big["server"]["rss_peak_mb"], "ok": big["server"]["rss_peak_mb"] <= TARGETS["rss_mb"]}
    return out


CURVES = (
    ("ingest s", lambda r: f"{r['ingest']['wall_s']:.1f}"),
    ("chunks", lambda r: f"{r['ingest']['chunks']:,}"),
    ("chunks/s", lambda r: f"{r['ingest']['chunks_per_s']:.0f}"),
    ("chunks/CPU-s", lambda r: f"{r['ingest']['chunks'] / r['ingest']['cpu_s']:.1f}"),  # steadier when busy
    ("index MiB", lambda r: f"{r['index_bytes'] / 2**20:.1f}"),
    ("cold start s", lambda r: f"{r['server']['cold_start_s']:.1f}"),
    ("1st question s", lambda r: f"{r['server']['first_question_s']:.2f}"),
    ("1st-time p95 s", lambda r: f"{r['server']['first_time_p95_s']:.2f}"),
    ("server RSS MiB", lambda r: f"{r['server']['rss_peak_mb']:.0f}"),
    ("warm p50 ms", lambda r: f"{r['warm']['p50_ms']:.1f}"),
    ("warm p95 ms", lambda r: f"{r['warm']['p95_ms']:.1f}"),
    ("recall@200", lambda r: f"{r['recall']['recall_at_200']:.3f}"),
    ("recall@200 dev", lambda r: "-" if r["recall"]["recall_dev_at_200"] is None
     else f"{r['recall']['recall_dev_at_200']:.3f}"),
    ("recall@k", lambda r: f"{r['recall']['recall_at_k']:.3f}"),
)


def print_curves(data: dict, log=print) -> None:
    rows = data["results"]
    width = max(len(name) for name, _ in CURVES)
    log("\nGrowth curves (one row per measure, one column per library size)")
    log("  " + " " * width + "".join(f"{r['size']:>12,}" for r in rows))
    for name, get in CURVES:
        log(f"  {name:<{width}}" + "".join(f"{get(r):>12}" for r in rows))
    t = data["targets"]
    log(f"\nTargets (issue 12) at the largest size run ({t.get('largest')} articles):")
    for key, target in TARGETS.items():
        if key in t:
            log(f"  {key:<26} {t[key]['value']:.3f}  {'ok' if t[key]['ok'] else 'MISSED'} (target {target})")
        else:
            log(f"  {key:<26} not measured (needs the comparison size in --sizes)")


def main(argv=None) -> int:
    args = parse_args(argv)
    data = run(args)
    print_curves(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
