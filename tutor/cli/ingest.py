"""`tutor ingest [PATH...]`: load, clean, chunk, embed and publish articles.

While it runs, a progress display on stderr (on a terminal) shows the phase
(loading and cleaning files, parsing, chunking, embedding) and how far it is. Warnings
of the libraries that read files (pdfminer, trafilatura, ...) go to the log,
`<home>/logs/tutor.log`, never to the terminal: a bad file gets exactly one
`error: ...` line.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from tutor.cli import app
from tutor.cli.options import ChromaUrl, EmbeddingModel, Home, Json, settings
from tutor.corpus import DEFAULT_MAX_MB

PHASES = {"loading": "loading and cleaning files", "parsing": "parsing", "chunking": "chunking",
          "embedding": "embedding chunks"}


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Files or folders; default: the packaged corpus.", show_default=False,
        readable=False,  # an unreadable path fails that path, in ingest's report, not the whole run
    )] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents that are no longer in PATHs.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything (e.g. after changing the model).")] = False,
    max_size: Annotated[float, typer.Option("--max-size", min=0, help="Largest file to accept, in MB (0: no limit).")] = DEFAULT_MAX_MB,
    as_json: Json = False,
    home: Home = None,
    embedding_model: EmbeddingModel = None,
    chroma_url: ChromaUrl = None,
) -> None:
    """Ingest articles into the index (idempotent; unchanged text is skipped)."""
    from tutor.index import Index

    cfg = settings(home, embedding_model, chroma_url)
    log_to_file(cfg.home)
    targets = paths or [cfg.default_corpus]
    index = Index(cfg)
    with _Progress(enabled=not as_json and sys.stderr.isatty()) as progress:
        report = index.ingest(targets, prune=prune, rebuild=rebuild, progress=progress, max_mb=max_size)
    for failure in report.failed:
        print(f"error: {failure['error']}", file=sys.stderr)
    for warning in report.warnings:
        quoted = f': "{_short(warning["sentence"])}"' if warning.get("sentence") else ""
        print(f"warning: {warning['source']}: {warning['warning']}{quoted}", file=sys.stderr)
    if as_json:
        print(json.dumps(report.to_json()))
    else:
        docs = f"{report.documents} document{'s' if report.documents != 1 else ''}"
        print(
            f"Ingested {docs}: {report.chunks_added} chunks added, {report.chunks_skipped} "
            f"unchanged, {report.chunks_removed} removed, {len(report.failed)} failed "
            f"({report.seconds:.1f}s)."
        )
    if report.failed:
        raise typer.Exit(1)


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def log_to_file(home: Path) -> None:
    """Send warnings (the interpreter's and the libraries') to <home>/logs/tutor.log, not the terminal."""
    root = logging.getLogger()
    folder = Path(home) / "logs"
    for old in [h for h in root.handlers if getattr(h, "_tutor_log", None)]:
        if old._tutor_log == folder:  # type: ignore[attr-defined]
            return
        root.removeHandler(old)  # another home in the same process (tests, the web app)
        old.close()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "tutor.log", encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()  # an unwritable home: stay quiet rather than fail
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    handler._tutor_log = folder  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)


class _Progress:
    """A rich progress display on stderr: phase, bar, count and elapsed time."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._tasks: dict[str, int] = {}

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True,
        )
        self._bar.start()
        return self

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        if phase not in self._tasks:
            self._tasks[phase] = self._bar.add_task(PHASES.get(phase, phase), total=max(total, 1))
        self._bar.update(self._tasks[phase], completed=done, total=max(total, 1))

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False
