"""Serving the web app: `launch()` for `tutor serve`, `start()` for tests and
benchmarks (the same uvicorn server, in a background thread).

`restart_when_ready()` is for a server that came up without a usable index
(none, damaged, or its Chroma server down): it polls the index and, once it
works, restarts the process in place, so fixing the index is all the operator
does and learners only reload the page.

`warm_up()` pays the one-off costs (loading the embedder, the spaCy pipeline, the
first query) before the port opens, so the first learner waits no longer than
the hundredth.

Deliberate simplification: one process, one uvicorn worker. Conversations are
in the store (SQLite, or PostgreSQL with `TUTOR_DATABASE_URL`) and the index
can live on a Chroma server (`TUTOR_CHROMA_URL`), so more capacity means more
processes behind a proxy that keeps each open page on one instance (Gradio's
event queue is per process); see README, "Deploying for many learners".
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import uvicorn

log = logging.getLogger(__name__)


def warm_up(engine) -> float:
    """Load what the first question needs (the embedder, the spaCy pipeline,
    WordNet, BM25, the support judge, the fitted models) by answering two
    questions, one about the article and one on its content (a metadata
    question alone never embeds anything); returns seconds. Documents' parses
    load on demand, so this does not grow with the library."""
    from tutor import lexicon

    started = time.perf_counter()
    engine.grounded.explain("What is this article about?")
    engine.index.embedder.embed_one("warm up")
    lexicon.load()
    docs = engine.documents
    if docs:
        first = next(iter(docs.values()))
        engine.grounded.explain(f"What does the article say about {first.title}?")
        engine.scorer.score("The article is not easy to read.", [first.text[:400]])
    return time.perf_counter() - started


def restart_when_ready(
    ready: Callable[[], bool],
    argv: Sequence[str],
    interval: float = 3.0,
    restart: Callable[[Sequence[str]], None] | None = None,
) -> threading.Thread:
    """Poll `ready()` every `interval` seconds from a daemon thread; when it is
    true, replace this process with `argv` (same pid, so supervisors see no
    exit). Sockets are not inherited across exec, so the new process can bind
    the same port."""

    def exec_(args: Sequence[str]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(args[0], list(args))

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                ok = ready()
            except Exception:  # noqa: BLE001 - a failed check is just "not yet"
                log.debug("index check failed", exc_info=True)
                ok = False
            if ok:
                print("The index works now: restarting the tutor.", file=sys.stderr, flush=True)
                (restart or exec_)(argv)
                return

    thread = threading.Thread(target=watch, name="tutor-index-watch", daemon=True)
    thread.start()
    return thread


def launch(app, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the app until interrupted (blocks)."""
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start(app, host: str = "127.0.0.1", port: int | None = None, timeout: float = 30.0) -> RunningServer:
    """Serve the app from a background thread; returns once it accepts requests."""
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"tutor-web-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web server did not start on {host}:{port}")
        time.sleep(0.05)
    return RunningServer(f"http://{host}:{port}", server, thread)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
