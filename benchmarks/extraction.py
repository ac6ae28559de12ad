"""HTML extraction benchmark: the tutor's cleaner next to trafilatura, readability-lxml
and a naive BeautifulSoup `get_text`, on the public article-extraction benchmark.

    python benchmarks/extraction.py [--bench-dir DIR] [--limit N] [--out FILE]

The benchmark (scrapinghub/article-extraction-benchmark, MIT; 181 real pages,
`html/<id>.html.gz`, reference bodies in `ground-truth.json`) is read from
`--bench-dir` (default `$TUTOR_EXTRACTION_BENCHMARK` or
`../shared/extraction-benchmark` beside the repository). It is not copied into
the project. Scoring is the benchmark's own `evaluate.py`, imported from that
folder: token 4-gram shingles, precision and recall per page (normalised so
long pages do not weigh more), averaged over pages; F1 from the mean precision
and recall, with bootstrap standard errors; exactly its published method.

How each extractor is run, all in this one process, on the same pages:

* **tutor**: each page is written to a temp `.html` file and loaded with
  `tutor.corpus.load_document`, the path a user's file takes (decoding
  included). The body is `Document.text` less its leading level-1 heading when
  that heading is the document's title (the reference bodies carry no
  headline; the tutor keeps it as the root of the heading path). A page
  refused with an `InputFileError` scores as empty and is counted as refused.
* **trafilatura**: `trafilatura.extract(html)` with its defaults.
* **readability-lxml**: `Document(html).summary(html_partial=True)`, its text.
* **bs4 get_text**: `BeautifulSoup(html, "html.parser").get_text()`: all text.

Also reported per extractor: the share of pages with F1 >= 0.9, pages where
the article was lost (recall < 0.5: most of the reference body missing), and
pages refused (tutor only). Target: the tutor's mean F1 is at least that of
the best peer in the same run, and no page that has an article is refused.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DIR = Path(os.environ.get("TUTOR_EXTRACTION_BENCHMARK") or ROOT.parent / "shared" / "extraction-benchmark")
LOST_RECALL = 0.5
GOOD_F1 = 0.9
EXTRACTORS = ("tutor", "trafilatura", "readability-lxml", "bs4 get_text")


def find_bench_dir(given: Path | None = None) -> Path | None:
    for candidate in (given, DEFAULT_DIR, Path("/work/shared/extraction-benchmark")):
        if candidate and (Path(candidate) / "ground-truth.json").is_file():
            return Path(candidate)
    return None


def _evaluate_module(bench_dir: Path):
    spec = importlib.util.spec_from_file_location("extraction_benchmark_evaluate", bench_dir / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _tutor(html: bytes, folder: Path, key: str) -> tuple[str, bool]:
    from tutor.corpus import load_document
    from tutor.errors import InputFileError

    path = folder / f"{key}.html"
    path.write_bytes(html)
    try:
        doc = load_document(path)
    except InputFileError:
        return "", True
    text = doc.text
    if doc.headings and doc.headings[0].start == 0 and doc.headings[0].level == 1 and doc.headings[0].text == doc.title:
        text = text[doc.headings[0].end :].lstrip()
    return text, False


def _trafilatura(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def _readability(html: bytes) -> str:
    import lxml.html
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    return lxml.html.fromstring(summary).text_content() if summary.strip() else ""


def _bs4(html: bytes) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").get_text()


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name, dist in (("trafilatura", "trafilatura"), ("readability-lxml", "readability-lxml"),
                       ("bs4 get_text", "beautifulsoup4")):
        try:
            out[name] = version(dist)
        except PackageNotFoundError:
            out[name] = "?"
    out["tutor"] = "this checkout"
    return out


def measure(bench_dir: Path, limit: int | None = None, n_bootstrap: int = 200, log=print) -> dict:
    """Run all four extractors on the benchmark's pages and score them."""
    import logging

    logging.disable(logging.WARNING)  # readability and trafilatura log page-level complaints
    ev = _evaluate_module(bench_dir)
    truth = json.loads((bench_dir / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)[:limit] if limit else sorted(truth)
    truth = {k: truth[k] for k in keys}
    preds: dict[str, dict] = {name: {} for name in EXTRACTORS}
    seconds = dict.fromkeys(EXTRACTORS, 0.0)
    refused: list[str] = []
    runners = {"trafilatura": _trafilatura, "readability-lxml": _readability, "bs4 get_text": _bs4}
    with tempfile.TemporaryDirectory(prefix="tutor-extraction-") as tmp:
        for i, key in enumerate(keys):
            html = gzip.decompress((bench_dir / "html" / f"{key}.html.gz").read_bytes())
            t0 = time.perf_counter()
            text, was_refused = _tutor(html, Path(tmp), key)
            seconds["tutor"] += time.perf_counter() - t0
            preds["tutor"][key] = {"articleBody": text}
            if was_refused:
                refused.append(key)
            for name, run in runners.items():
                t0 = time.perf_counter()
                try:
                    out = run(html)
                except Exception:  # noqa: BLE001 - a peer that crashes on a page scores it empty
                    out = ""
                seconds[name] += time.perf_counter() - t0
                preds[name][key] = {"articleBody": out}
            if (i + 1) % 50 == 0:
                log(f"extraction: {i + 1}/{len(keys)} pages")
    logging.disable(logging.NOTSET)
    results: dict = {"pages": len(keys), "bench_dir": str(bench_dir), "versions": versions(), "extractors": {}}
    for name in EXTRACTORS:
        m = ev.evaluate(truth, preds[name], n_bootstrap)
        per_page = []
        for key in keys:
            tp, fp, fn = ev.string_shingle_matching(truth[key].get("articleBody", ""), preds[name][key]["articleBody"])
            p, r = ev.precision_score(tp, fp, fn), ev.recall_score(tp, fp, fn)
            per_page.append((key, p, r, 2 * p * r / (p + r) if p + r else 0.0))
        has_article = {k for k in keys if truth[k].get("articleBody", "").strip()}
        results["extractors"][name] = {
            "f1": m["f1"], "f1_std": m["f1_std"],
            "precision": m["precision"], "precision_std": m["precision_std"],
            "recall": m["recall"], "recall_std": m["recall_std"],
            "share_f1_at_least_0_9": sum(f >= GOOD_F1 for *_, f in per_page) / len(per_page),
            "lost": [k for k, _p, r, _f in per_page if r < LOST_RECALL and k in has_article],
            "refused": [k for k in refused if k in has_article] if name == "tutor" else [],
            "seconds_per_page": seconds[name] / len(keys),
        }
    peers = [n for n in EXTRACTORS if n != "tutor"]
    best = max(peers, key=lambda n: results["extractors"][n]["f1"])
    mine = results["extractors"]["tutor"]
    results["best_peer"] = best
    results["target_met"] = mine["f1"] >= results["extractors"][best]["f1"] and not mine["refused"]
    return results


def render(results: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title=f"HTML extraction ({results['pages']} pages of the article-extraction benchmark; "
                    "its own token-shingle scoring; one run)")
    for col in ("extractor", "version", "F1", "precision", "recall", "pages F1>=0.9", "lost", "refused", "ms/page"):
        t.add_column(col, justify="left" if col in ("extractor", "version") else "right")
    for name, r in results["extractors"].items():
        t.add_row(name, results["versions"].get(name, ""), f"{r['f1']:.3f} ± {r['f1_std']:.3f}",
                  f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['share_f1_at_least_0_9']:.1%}",
                  str(len(r["lost"])), str(len(r["refused"])) if name == "tutor" else "-",
                  f"{1000 * r['seconds_per_page']:.0f}")
    console.print(t)
    verdict = "met" if results["target_met"] else "NOT met"
    console.print(f"Target (tutor F1 >= best peer, {results['best_peer']}; no page with an article refused): {verdict}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench-dir", type=Path, default=None, help="folder of the extraction benchmark")
    p.add_argument("--limit", type=int, default=None, help="only the first N pages (a smoke run)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "extraction.json")
    args = p.parse_args(argv)
    bench_dir = find_bench_dir(args.bench_dir)
    if bench_dir is None:
        sys.exit(f"extraction benchmark not found (tried {args.bench_dir or DEFAULT_DIR}); pass --bench-dir")
    results = measure(bench_dir, args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    render(results)
    return 0 if results["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
