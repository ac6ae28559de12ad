"""`tutor serve`: the web tutor, its embeddable widget and its API on one port."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer

from tutor.cli import app
from tutor.cli.options import ChromaUrl, DatabaseUrl, EmbeddingModel, Home, Llm, settings

STORE_RETRY = 2.0  # s between attempts to reach a conversation store that is down at start


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", envvar="TUTOR_HOST", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="TUTOR_PORT", min=1, max=65535, help="Port to listen on.")] = 7860,
    allowed_origins: Annotated[
        str | None,
        typer.Option(
            "--allowed-origins", envvar="TUTOR_ALLOWED_ORIGINS", show_default=False,
            help="Other sites that may embed the widget or call the API, comma-separated "
            "(e.g. https://school.example), or '*'. Default: loopback pages only.",
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64, help="Replies computed at once; more requests wait in the queue.")] = 4,
    allow_uploads: Annotated[bool, typer.Option(
        "--allow-uploads", envvar="TUTOR_ALLOW_UPLOADS",
        help="Let learners add articles on the full page (file, pasted text or a URL the server fetches).",
    )] = False,
    max_upload_mb: Annotated[float, typer.Option(
        "--max-upload-mb", envvar="TUTOR_MAX_UPLOAD_MB", min=0.01, max=1024,
        help="Largest upload (or fetched page) accepted, in MB.",
    )] = 5.0,
    home: Home = None,
    embedding_model: EmbeddingModel = None,
    chroma_url: ChromaUrl = None,
    llm: Llm = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the tutor in the browser: full page at /, widget at /widget, API /ask."""
    started = time.perf_counter()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from tutor.engine import Engine
    from tutor.errors import TutorError
    from tutor.store import open_store
    from tutor.web.security import parse_origins
    from tutor.web.server import launch, restart_when_ready, warm_up

    origins = parse_origins(allowed_origins or "")
    cfg = settings(home, embedding_model, chroma_url, llm, database_url)
    store = open_store(cfg)  # a bad URL fails here, before anything loads
    _wait_for_store(store)
    # Loading the embedding model (in warm_up) and importing Gradio take seconds
    # each; doing them side by side shortens the wait for the first answer.
    with ThreadPoolExecutor(1) as pool:
        web_app = pool.submit(importlib.import_module, "tutor.web.app")
        try:
            engine = Engine.open(cfg)
            warm_up(engine)
        except TutorError as exc:  # serve a page that says how to fix it
            print(f"warning: {exc}", file=sys.stderr)
            engine = Engine(cfg)
        create_app = web_app.result().create_app
    responder = None
    if cfg.llm:
        from tutor.responders.llm import LLMResponder

        responder = LLMResponder.from_spec(cfg.llm, engine, timeout=cfg.llm_timeout)
    web = create_app(engine, store=store, llm=responder, allowed_origins=origins, concurrency=concurrency,
                     allow_uploads=allow_uploads, max_upload_mb=max_upload_mb)
    if web.state.problem:
        argv = [sys.executable, "-m", "tutor", "serve", "--host", host, "--port", str(port),
                "--concurrency", str(concurrency), "--max-upload-mb", str(max_upload_mb)]
        argv += ["--allow-uploads"] if allow_uploads else []
        for flag, value in (("--allowed-origins", allowed_origins), ("--home", home),
                            ("--embedding-model", embedding_model), ("--chroma-url", chroma_url), ("--llm", llm)):
            if value:
                argv += [flag, str(value)]
        if cfg.database_url:  # through the environment: a password on the command line shows in `ps`
            os.environ["TUTOR_DATABASE_URL"] = cfg.database_url
        restart_when_ready(lambda: _index_works(cfg), argv)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    print(
        f"Tutor ready in {time.perf_counter() - started:.1f}s: http://{shown}:{port}  "
        f"(widget: http://{shown}:{port}/widget, API: /ask)",
        flush=True,
    )
    launch(web, host=host, port=port)


def _wait_for_store(store) -> None:
    """Start only once the conversation store answers (migrating it if needed):
    an instance whose PostgreSQL is down waits, saying so, rather than serving
    learners it cannot remember. A SQLite file that cannot be opened, or any
    other problem, is an error."""
    from tutor.errors import StoreError, StoreUnavailableError

    warned = False
    while True:
        try:
            store.ping()
            return
        except StoreUnavailableError as exc:
            if store.dialect != "postgresql":
                raise StoreError(f"the conversation store at {exc.where} cannot be opened ({exc.detail})") from None
            if not warned:
                print(f"warning: the conversation store at {exc.where} is unreachable ({exc.detail}); "
                      f"waiting for it (retrying every {STORE_RETRY:g}s)", file=sys.stderr, flush=True)
                warned = True
            time.sleep(STORE_RETRY)


def _index_works(cfg) -> bool:
    """Whether a fresh look at the index finds articles (for a server started without one)."""
    from tutor.errors import TutorError
    from tutor.index import Index, forget_store

    if not cfg.chroma_url:
        forget_store(str(cfg.index_dir))  # Chroma keeps a failed store open per path
    try:
        return bool(Index(cfg).snapshot().documents)
    except TutorError:
        return False
