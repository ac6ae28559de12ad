"""Load benchmark for the web tutor: many gradio_client learners at once.

What it does:
1. prepares a TUTOR_HOME with the packaged article ingested (not timed; a
   normal restart of an installed tutor finds its index in place);
2. starts `tutor serve` as a separate process and measures the time from
   launching it to the first answer returned by the `/ask` endpoint;
3. runs N learners (threads, one `gradio_client.Client` each) that each ask T
   questions in explain mode (the grounded responder), carrying their session
   id from turn to turn: by default all start at the same instant and ask
   back-to-back (the worst case); `--think S` gives them reading/typing time;
4. reports errors, reply latency (client side, queue wait included) p50/p95/max,
   throughput, CPU per reply of the server and of the learners, and the
   server's peak RSS (`VmHWM` of the process and its children from /proc: the
   kernel's high-water mark, so no peak is missed between samples).

The learners share the server's 2 cores, so whatever CPU they burn is taken
from the server and shows up as latency. `gradio_client` opens a new
`httpx.Client` for every request and every event stream, and each one loads
the certificate store into a new TLS context: about 17 ms of CPU, twice per
reply, even over plain http. A real learner's machine pays that itself; here
it would be charged to the server. So by default every learner is given one
TLS context built once (`Client(ssl_verify=<ssl.SSLContext>)`, which httpx
accepts as `verify`); `--client-tls per-request` keeps gradio_client's
default, to compare.

    python benchmarks/load.py                 # 20 learners x 5 turns
    python benchmarks/load.py --think 3         # learners who read the answer first
    python benchmarks/load.py --learners 50 --turns 3 --concurrency 4
    python benchmarks/load.py --scale           # two instances against one, same run

Prints a table and writes benchmarks/results/load.json.

`--scale`: the deployment of README's "Deploying for many learners" on this
machine: a throwaway PostgreSQL (tests/servers.py; Debian's `postgresql`), a
`chroma run` server, the packaged article ingested into it, and two `tutor
serve` instances sharing both. The same learners then run against three
addresses, in rotation, `--repeats` times: instance A directly; A behind
`benchmarks/proxy.py` (one backend); A and B behind the proxy (each new
learner to the next instance, a learner's turns stay on one). Only the number
of instances differs between the last two, so their ratio is the gain of the
second instance; the first shows what the proxy itself costs. Figures are
medians over the repeats; errors are summed. Writes
benchmarks/results/load_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "load.json"
QUESTIONS = [
    "What does management cope with, according to Kotter?",
    "What do leaders do?",
    "What is the trap of technical experts under threat?",
    "What did Drucker say about management and leadership?",
    "How do participants vote on the three options?",
    "What does leadership cope with?",
    "What do managers do within the change context?",
]
TARGETS = {"errors": 0, "p95_s": 1.0, "start_to_first_answer_s": 15.0, "peak_rss_mb": 1536.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--learners", type=int, default=20)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=4, help="tutor serve --concurrency")
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean seconds a learner reads and types before each turn, drawn uniformly "
                    "from 0.5x-1.5x (the first turn from 0-1x); default 0: everyone at once, "
                    "back-to-back, the worst case")
    ap.add_argument("--client-tls", choices=("shared", "per-request", "both"), default="shared",
                    help="shared: one TLS context for all learners (default); per-request: "
                    "gradio_client's default, a new one for every request (costs the shared CPUs ~35 ms "
                    "per reply); both: a round of each against the same server, shared first")
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--home", type=Path, help="TUTOR_HOME to use (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: benchmarks/results/load.json (load_scale.json with --scale)")
    ap.add_argument("--scale", action="store_true",
                    help="two instances (shared PostgreSQL + Chroma server) behind a round-robin proxy "
                    "against one, side by side")
    ap.add_argument("--repeats", type=int, default=3, help="--scale: rounds of each setup (median)")
    args = ap.parse_args(argv)
    if args.scale:
        return _scale(args)
    args.out = args.out or RESULTS

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("TUTOR_LLM", None)  # the grounded responder
    tmp = None
    home = args.home
    if home is None:
        tmp = tempfile.mkdtemp(prefix="tutor-load-")
        home = Path(tmp) / "home"
    env["TUTOR_HOME"] = str(home)
    tutor = shutil.which("tutor", path=str(Path(sys.executable).parent)) or "tutor"
    port = args.port or _free_port()
    url = f"http://127.0.0.1:{port}/"
    server = None
    try:
        print(f"preparing the index in {home} ...", flush=True)
        subprocess.run([tutor, "ingest"], env=env, check=True, stdout=subprocess.DEVNULL)

        started = time.perf_counter()
        server = subprocess.Popen(
            [tutor, "serve", "--port", str(port), "--concurrency", str(args.concurrency)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        first_answer = _first_answer(url, server, started)
        print(f"first answer {first_answer:.1f}s after `tutor serve` started", flush=True)

        rounds = {}
        for tls in (["shared", "per-request"] if args.client_tls == "both" else [args.client_tls]):
            rounds[tls] = _round(url, server.pid, args, tls)
        rss_mb = _peak_rss_mb(server.pid)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    primary, *others = rounds.values()
    result = {
        "learners": args.learners,
        "turns": args.turns,
        "requests": args.learners * args.turns,
        **primary,
        "start_to_first_answer_s": first_answer,
        "peak_rss_mb": rss_mb,
        "server_concurrency": args.concurrency,
        "think_s": args.think,
        "compared": {tls: r for tls, r in list(rounds.items())[1:]},
        "responder": "grounded",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    result["targets_met"] = {
        "errors": result["errors"] <= TARGETS["errors"],
        "p95_s": result["p95_s"] is not None and result["p95_s"] <= TARGETS["p95_s"],
        "start_to_first_answer_s": first_answer <= TARGETS["start_to_first_answer_s"],
        "peak_rss_mb": rss_mb <= TARGETS["peak_rss_mb"],
    }
    _print_table(result)
    for other in others:
        _print_table({**result, **other}, compared=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return 0 if all(result["targets_met"].values()) else 1


def _first_answer(url: str, server: subprocess.Popen, started: float, timeout: float = 180.0) -> float:
    from gradio_client import Client

    deadline = started + timeout
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"tutor serve exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        if not _port_open(url):
            time.sleep(0.05)
            continue
        try:
            out = Client(url, verbose=False).predict(QUESTIONS[0], api_name="/ask")
        except Exception:  # noqa: BLE001  (still starting up)
            time.sleep(0.1)
            continue
        if out.get("answer"):
            return time.perf_counter() - started
    raise SystemExit(f"no answer from {url} within {timeout:.0f}s")


def _round(url: str, pid: int | list[int], args, tls: str) -> dict:
    """One round of all learners against the running server(s), summarised."""
    pids = pid if isinstance(pid, list) else [pid]
    cpu_before = sum(map(_cpu_seconds, pids)), time.process_time()
    latencies, errors = _learners(url, args.learners, args.turns, args.think, tls)
    wall = latencies.pop("_wall")
    server_cpu = sum(map(_cpu_seconds, pids)) - cpu_before[0]
    client_cpu = time.process_time() - cpu_before[1]
    times = sorted(t for ts in latencies.values() for t in ts)
    by_turn = [sorted(ts[t] for ts in latencies.values() if len(ts) > t) for t in range(args.turns)]
    return {
        "client_tls": tls,
        "answered": len(times),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_s": _pct(times, 50),
        "p95_s": _pct(times, 95),
        "max_s": times[-1] if times else None,
        "mean_s": statistics.fmean(times) if times else None,
        "p95_by_turn_s": [_pct(ts, 95) for ts in by_turn],
        "throughput_rps": len(times) / wall if wall else None,
        "server_cpu_s_per_reply": server_cpu / len(times) if times else None,
        "client_cpu_s_per_reply": client_cpu / len(times) if times else None,
        "wall_s": wall,
    }


def _learners(url: str, n: int, turns: int, think: float, client_tls: str = "shared"):
    from gradio_client import Client

    latencies: dict[int, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    # see the module docstring: True makes httpx build a new TLS context per request
    verify = ssl.create_default_context() if client_tls == "shared" else True
    clients = [Client(url, verbose=False, ssl_verify=verify) for _ in range(n)]  # setup is not timed
    gate = threading.Barrier(n + 1)

    def learner(i: int) -> None:
        mine, sid = [], ""
        pauses = random.Random(i)
        gate.wait()
        for turn in range(turns):
            if think:
                time.sleep(pauses.uniform(0.5, 1.5) * think if turn else pauses.uniform(0, 1) * think)
            question = QUESTIONS[(i + turn) % len(QUESTIONS)]
            t0 = time.perf_counter()
            try:
                out = clients[i].predict(question, "explain", "", sid, api_name="/ask")
                if not out.get("answer"):
                    raise ValueError("empty answer")
                sid = out["session_id"]
                mine.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"learner {i} turn {turn}: {type(exc).__name__}: {exc}"[:300])
        with lock:
            latencies[i] = mine

    threads = [threading.Thread(target=learner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    latencies["_wall"] = time.perf_counter() - t0
    return latencies, errors


SETUPS = ("one, direct", "one, via proxy", "two, via proxy")


def _scale(args) -> int:
    """Two instances on a shared store and index against one: see the module docstring."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import proxy as proxies
    from tests.servers import Chroma, Postgres, Tutor, postgres_bin, tutor_env

    out = args.out or RESULTS.with_name("load_scale.json")
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise SystemExit("error: --scale needs PostgreSQL (apt-get install -y postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="tutor-load-scale-"))
    pg = chroma = None
    tutors, running = [], []
    try:
        print("starting PostgreSQL and a Chroma server ...", flush=True)
        pg = Postgres(bin_dir)
        pg.start()
        chroma = Chroma(tmp / "chroma")
        shared = {"TUTOR_CHROMA_URL": chroma.url, "TUTOR_DATABASE_URL": pg.create_database("tutor")}
        subprocess.run([sys.executable, "-m", "tutor", "ingest"], env=tutor_env(tmp / "operator", **shared),
                       check=True, stdout=subprocess.DEVNULL)
        print("starting two instances ...", flush=True)
        for name in ("a", "b"):
            tutors.append(Tutor(tutor_env(tmp / name, **shared), "--concurrency", str(args.concurrency),
                                log=tmp / f"{name}.log"))
        for t in tutors:
            t.wait_ready()
            _first_answer(t.url, t.proc, time.perf_counter())  # warm: the first reply is not measured
        one = proxies.start([tutors[0].url])
        two = proxies.start([t.url for t in tutors])
        running = [one, two]
        targets = {SETUPS[0]: (tutors[0].url, [tutors[0].proc.pid]),
                   SETUPS[1]: (one.url, [tutors[0].proc.pid]),
                   SETUPS[2]: (two.url, [t.proc.pid for t in tutors])}
        rounds: dict[str, list[dict]] = {name: [] for name in SETUPS}
        for r in range(args.repeats):
            order = SETUPS if r % 2 == 0 else tuple(reversed(SETUPS))  # neither goes first every time
            for name in order:
                url, pids = targets[name]
                print(f"round {r + 1}/{args.repeats}: {name} ...", flush=True)
                rounds[name].append(_round(url, pids, args, args.client_tls if args.client_tls != "both" else "shared"))
        spread = dict(zip((t.url for t in tutors), two.proxy.served, strict=True))
        rss = {t.url: _peak_rss_mb(t.proc.pid) for t in tutors}
    finally:
        for p in running:
            p.stop()
        for t in tutors:
            t.close()
        if chroma is not None:
            chroma.close()
        if pg is not None:
            pg.close()
        shutil.rmtree(tmp, ignore_errors=True)

    summary = {name: _summarise(rs) for name, rs in rounds.items()}
    # the gain per repeat (the two rounds ran back to back), then the median: steadier
    # on a busy machine than a ratio of medians
    gains = [two_r["throughput_rps"] / one_r["throughput_rps"]
             for one_r, two_r in zip(rounds[SETUPS[1]], rounds[SETUPS[2]], strict=True)
             if one_r["throughput_rps"] and two_r["throughput_rps"]]
    gain = statistics.median(gains) if gains else None
    result = {
        "learners": args.learners, "turns": args.turns, "requests_per_round": args.learners * args.turns,
        "repeats": args.repeats, "server_concurrency": args.concurrency, "think_s": args.think,
        "setups": summary, "rounds": rounds, "throughput_gain_two_vs_one": gain,
        "throughput_gain_per_repeat": gains,
        "requests_per_instance_two": spread, "peak_rss_mb_per_instance": rss,
        "store": "postgresql", "index": "chroma server", "responder": "grounded",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    print(f"\nTwo instances against one ({result['machine']['cpus']} CPUs, {args.learners} learners x "
          f"{args.turns} turns, concurrency {args.concurrency} per instance, think {args.think:g} s, "
          f"median of {args.repeats} rounds, shared PostgreSQL + Chroma server)")
    print(f"  {'setup':<16} {'errors':>6} {'p50 s':>7} {'p95 s':>7} {'replies/s':>9} {'server CPU/reply':>17}")
    for name, r in summary.items():
        print(f"  {name:<16} {r['errors']:>6} {_f(r['p50_s']):>7} {_f(r['p95_s']):>7} "
              f"{_f(r['throughput_rps'], 2):>9} {_f(r['server_cpu_s_per_reply'] and r['server_cpu_s_per_reply'] * 1000, 0):>14} ms")
    if gain:
        print(f"  throughput, two instances / one (both via the proxy): {gain:.2f}x "
              f"(median of the repeats: {', '.join(f'{g:.2f}' for g in gains)})")
    print(f"  requests per instance with two: {list(spread.values())}; "
          f"peak RSS per instance: {', '.join(f'{v:.0f} MiB' for v in rss.values())}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {out}")
    return 0 if all(r["errors"] == 0 for r in summary.values()) else 1


def _summarise(rounds: list[dict]) -> dict:
    def med(key):
        values = [r[key] for r in rounds if r[key] is not None]
        return statistics.median(values) if values else None

    return {"errors": sum(r["errors"] for r in rounds), "answered": sum(r["answered"] for r in rounds),
            "p50_s": med("p50_s"), "p95_s": med("p95_s"), "max_s": max((r["max_s"] or 0) for r in rounds),
            "throughput_rps": med("throughput_rps"), "server_cpu_s_per_reply": med("server_cpu_s_per_reply"),
            "client_cpu_s_per_reply": med("client_cpu_s_per_reply"),
            "error_samples": [e for r in rounds for e in r["error_samples"]][:5]}


def _f(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _peak_rss_mb(pid: int) -> float:
    """High-water RSS of the server and its children, in MiB (Linux /proc)."""
    total_kb = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out + [g for c in out for g in _children(c)]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _print_table(r: dict, compared: bool = False) -> None:
    ok = r["targets_met"] if not compared else {
        "errors": r["errors"] <= TARGETS["errors"],
        "p95_s": r["p95_s"] is not None and r["p95_s"] <= TARGETS["p95_s"],
        "start_to_first_answer_s": r["start_to_first_answer_s"] <= TARGETS["start_to_first_answer_s"],
        "peak_rss_mb": r["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    }
    rows = [
        ("learners x turns", f"{r['learners']} x {r['turns']} = {r['requests']} requests", ""),
        ("errors", str(r["errors"]), _mark(ok["errors"], "0")),
        ("reply latency p50", f"{r['p50_s']:.3f} s", ""),
        ("reply latency p95", f"{r['p95_s']:.3f} s", _mark(ok["p95_s"], "<= 1 s")),
        ("reply latency max", f"{r['max_s']:.3f} s", ""),
        ("throughput", f"{r['throughput_rps']:.1f} replies/s", ""),
        ("CPU per reply", f"server {r['server_cpu_s_per_reply'] * 1000:.0f} ms, "
                          f"clients {r['client_cpu_s_per_reply'] * 1000:.0f} ms", ""),
        ("start to first answer", f"{r['start_to_first_answer_s']:.1f} s", _mark(ok["start_to_first_answer_s"], "<= 15 s")),
        ("server peak RSS", f"{r['peak_rss_mb']:.0f} MiB", _mark(ok["peak_rss_mb"], "<= 1.5 GB")),
    ]
    width = max(len(a) for a, _, _ in rows)
    print(f"\nLoad benchmark ({r['machine']['cpus']} CPUs, concurrency {r['server_concurrency']}, "
          f"think time {r['think_s']:g} s, {r['client_tls']} client TLS, grounded responder)")
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:<28} {target}")


def _mark(ok: bool, target: str) -> str:
    return f"{'ok' if ok else 'MISSED'} (target {target})"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(url: str) -> bool:
    from urllib.parse import urlparse

    u = urlparse(url)
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((u.hostname, u.port)) == 0


if __name__ == "__main__":
    sys.exit(main())
