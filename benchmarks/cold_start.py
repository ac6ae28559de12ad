"""Cold start of `tutor ask "..." --json` on an existing index, its peak RSS, and
where the time goes.

* wall time: the real console script in a subprocess, from spawn to exit; its
  CPU time and peak RSS from `os.wait4` in a tiny launcher process that forks
  and execs it (so the figure is not the benchmark's own inherited high-water
  mark);
* import breakdown: one run under `python -X importtime -m tutor ask ...`,
  self time summed per top-level package, with the module that first imported
  it (importtime inflates the absolute numbers a little; the shares hold);
* phase breakdown: this file run as `python benchmarks/cold_start.py probe HOME
  QUESTION`, which takes the same steps as `tutor ask` one at a time (heavy
  imports one by one, model load, Chroma open, staleness check, snapshot load,
  first search, first reply) and reports each step's wall time and the peak RSS
  after it; interpreter start-up and exit are measured from the parent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script (the probe): make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stats import median  # noqa: E402

QUESTION = "What does management cope with, according to Kotter?"


def child_env(home: Path) -> dict:
    env = dict(os.environ)
    for key in ("TUTOR_CHROMA_URL", "TUTOR_LLM", "PYTHONPROFILEIMPORTTIME"):
        env.pop(key, None)
    env.update(
        TUTOR_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False"
    )
    return env


def tutor_command() -> list[str]:
    script = Path(sys.executable).parent / "tutor"
    if script.exists():
        return [str(script)]
    found = shutil.which("tutor")
    return [found] if found else [sys.executable, "-m", "tutor"]


# Runs the command from a tiny Python process that forks and execs it, so the
# child's ru_maxrss starts from that small launcher and not from this big
# benchmark process (Linux keeps the pre-exec high-water mark across exec).
_LAUNCHER = """
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
spawned_at = time.time()
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(out, "w") as f:
    json.dump({"seconds": seconds, "spawned_at": spawned_at, "ended_at": time.time(),
               "rss_kib": ru.ru_maxrss, "cpu_seconds": ru.ru_utime + ru.ru_stime,
               "returncode": os.waitstatus_to_exitcode(status)}, f)
"""


def run_measured(cmd: list[str], env: dict, timeout: float = 300) -> dict:
    """Run `cmd`: wall and CPU seconds, peak RSS (MiB) of exactly that process, stdout, stderr."""
    with tempfile.TemporaryDirectory() as folder:
        stats, out, err = (Path(folder) / n for n in ("stats.json", "out", "err"))
        with out.open("wb") as o, err.open("wb") as e:
            subprocess.run([sys.executable, "-c", _LAUNCHER, str(stats), *cmd], stdout=o, stderr=e,
                           env=env, timeout=timeout, check=False, start_new_session=True)
        got = json.loads(stats.read_text())
        return {
            "seconds": got["seconds"],
            "cpu_seconds": got["cpu_seconds"],
            "spawned_at": got["spawned_at"],
            "ended_at": got["ended_at"],
            "rss_mib": got["rss_kib"] / 1024,
            "returncode": got["returncode"],
            "stdout": out.read_text(errors="replace"),
            "stderr": err.read_text(errors="replace"),
        }


def measure_cold(home: Path, runs: int, log=print) -> dict:
    env = child_env(home)
    cmd = tutor_command() + ["ask", QUESTION, "--json"]
    results = []
    for i in range(runs):
        r = run_measured(cmd, env)
        if r["returncode"] != 0:
            raise RuntimeError(f"`tutor ask` failed ({r['returncode']}): {r['stderr'][-800:]}")
        reply = json.loads(r["stdout"])
        r["reply_ok"] = (not reply["declined"]) and "complexity" in reply["answer"] and any(
            "copes with complexity" in c["text"] for c in reply["citations"]
        )
        r["reply_latency_ms"] = reply.get("latency_ms")
        results.append(r)
        log(f"  cold start {i + 1}/{runs}: {r['seconds']:.2f}s wall, {r['cpu_seconds']:.2f}s CPU, peak RSS {r['rss_mib']:.0f} MiB")
    python_only = [run_measured([sys.executable, "-c", "pass"], env)["seconds"] for _ in range(3)]
    return {
        "command": " ".join(cmd[:1] + ["ask", json.dumps(QUESTION), "--json"]),
        "runs": runs,
        "seconds": [r["seconds"] for r in results],
        "median_seconds": median(r["seconds"] for r in results),
        "cpu_seconds": [r["cpu_seconds"] for r in results],
        "median_cpu_seconds": median(r["cpu_seconds"] for r in results),
        "rss_mib": [r["rss_mib"] for r in results],
        "peak_rss_mib": median(r["rss_mib"] for r in results),
        "max_peak_rss_mib": max(r["rss_mib"] for r in results),
        "reply_ok": all(r["reply_ok"] for r in results),
        "reply_latency_ms": [r["reply_latency_ms"] for r in results],
        "bare_python_seconds": median(python_only),
    }


# ---- import breakdown ---------------------------------------------------------

_IMPORT_RE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse_importtime(stderr: str) -> dict:
    rows = []
    for line in stderr.splitlines():
        m = _IMPORT_RE.match(line)
        if m:
            rows.append((int(m[1]), int(m[2]), len(m[3]) // 2, m[4]))
    # parent of a row = the next row with a smaller depth (importtime prints children first)
    parent: list[str | None] = [None] * len(rows)
    stack: list[int] = []  # indices waiting for their parent
    for i, (_, _, depth, name) in enumerate(rows):
        while stack and rows[stack[-1]][2] > depth:
            parent[stack.pop()] = name
        stack.append(i)
    self_by_root: Counter = Counter()
    first_importer: dict[str, str] = {}
    for i, (self_us, _, _, name) in enumerate(rows):
        root = name.split(".")[0]
        self_by_root[root] += self_us
        by = parent[i]
        if root not in first_importer and by is not None and by.split(".")[0] != root:
            first_importer[root] = by
        elif root not in first_importer and by is None:
            first_importer[root] = "(the command itself)"
    # a root first seen inside its own package (e.g. torch._C) gets its importer later; fill gaps
    total = sum(r[0] for r in rows)
    top = [
        {"package": root, "self_seconds": us / 1e6, "share": us / total if total else 0.0,
         "first_imported_by": first_importer.get(root, "?")}
        for root, us in self_by_root.most_common(15)
    ]
    return {"total_import_seconds": total / 1e6, "modules": len(rows), "top_packages": top}


def measure_imports(home: Path) -> dict:
    env = child_env(home)
    r = run_measured([sys.executable, "-X", "importtime", "-m", "tutor", "ask", QUESTION, "--json"], env)
    if r["returncode"] != 0:
        raise RuntimeError(f"importtime run failed: {r['stderr'][-800:]}")
    out = parse_importtime(r["stderr"])
    out["wall_seconds_with_importtime"] = r["seconds"]
    return out


# ---- phase probe ------------------------------------------------------------------


def measure_phases(home: Path, runs: int) -> dict:
    env = child_env(home)
    samples = []
    for _ in range(runs):
        r = run_measured([sys.executable, str(Path(__file__).resolve()), "probe", str(home), QUESTION], env)
        if r["returncode"] != 0:
            raise RuntimeError(f"cold-start probe failed: {r['stderr'][-800:]}")
        probe = json.loads(r["stdout"].strip().splitlines()[-1])
        phases = {"interpreter start-up (python + site)": probe["started_at"] - r["spawned_at"]}
        phases.update({p["phase"]: p["seconds"] for p in probe["phases"]})
        phases["interpreter teardown (the probe's; the console script skips it: tutor.cli.run)"] = max(0.0, r["ended_at"] - probe["finished_at"])
        samples.append({"phases": phases, "rss": {p["phase"]: p["rss_mib"] for p in probe["phases"]},
                        "wall": r["seconds"]})
    names = list(samples[0]["phases"])
    return {
        "runs": runs,
        "wall_seconds": median(s["wall"] for s in samples),
        "phases": [
            {"phase": n, "seconds": median(s["phases"][n] for s in samples),
             "rss_after_mib": median(s["rss"][n] for s in samples) if n in samples[0]["rss"] else None}
            for n in names
        ],
    }


def _probe(home: str, question: str) -> None:
    """Child side: the steps of `tutor ask` one by one, each timed."""
    started_at = time.time()
    _record_atexit()
    phases = []

    def step(name, fn):
        t0 = time.perf_counter()
        value = fn()
        phases.append({
            "phase": name,
            "seconds": time.perf_counter() - t0,
            "rss_mib": _peak_rss_mib(),
        })
        return value

    def cli():
        from tutor.cli import _register

        _register()

    step("import tutor.cli + commands (typer)", cli)
    step("import torch", lambda: __import__("torch"))
    step("import transformers", lambda: __import__("transformers"))
    step("import sentence_transformers", lambda: __import__("sentence_transformers"))
    step("import chromadb", lambda: __import__("chromadb"))
    step("import langchain_core + bm25s", lambda: (__import__("langchain_core.retrievers"), __import__("bm25s")))
    step("import tutor.session/engine/retrieve (rest)", lambda: (__import__("tutor.session"), __import__("tutor.engine")))

    from tutor.config import Settings
    from tutor.embedder import get_embedder
    from tutor.engine import Engine
    from tutor.session import Session

    settings = Settings(home=Path(home))
    step("load embedding model (SentenceTransformer)", lambda: get_embedder(settings.embedding_model))
    engine = step("Engine() (retriever, responder objects)", lambda: Engine(settings))
    step("open Chroma client", lambda: engine.index.client)
    step("index.exists (pointer lookup)", engine.index.exists)
    step("staleness check (reload corpus, load snapshot)", lambda: engine._stale(settings.default_corpus))
    step("snapshot + model check", engine.index.snapshot)
    snap = engine.index.snapshot()
    qvec = step("first query embedding (embed_one)", lambda: engine.index.embedder.embed_one(question))
    # dense search is a matrix product over the snapshot's embeddings (no Chroma query at ask time)
    step("first dense search (snapshot embeddings @ query)", lambda: engine.retriever._dense(snap, qvec, None))
    if hasattr(engine.retriever, "_bm25_for"):  # internal; skipped if the retriever changes shape
        step("BM25 index build", lambda: engine.retriever._bm25_for(snap))
    step("first retriever.search (rest: candidate sentence embeddings, fusion)", lambda: engine.retriever.search(question, k=4))
    reply = step("Session.send (first reply, sentence embeddings)", lambda: Session(engine, mode="explain").send(question))
    step("json.dumps + print", lambda: print(json.dumps(reply.to_json())))
    step("atexit handlers (run explicitly)", _run_atexit)
    print(json.dumps({"started_at": started_at, "finished_at": time.time(), "phases": phases}))
    sys.stdout.flush()


_registered: list = []


def _peak_rss_mib() -> float:
    """VmHWM of this process (per address space, so not inherited from the parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _record_atexit() -> None:
    """Remember every atexit handler so the probe can time them itself."""
    import atexit

    original = atexit.register

    def register(func, *args, **kwargs):
        _registered.append((func, args, kwargs))
        return original(func, *args, **kwargs)

    atexit.register = register


def _run_atexit() -> None:
    import atexit

    for func, args, kwargs in reversed(_registered):
        try:
            func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the interpreter would ignore it too
            pass
    atexit._clear()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "probe":
        _probe(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: python benchmarks/cold_start.py probe TUTOR_HOME QUESTION")
