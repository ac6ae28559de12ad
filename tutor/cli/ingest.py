"""`tutor ingest [PATH...]`: load, clean, chunk, embed and publish articles."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tutor.cli import app
from tutor.cli.options import ChromaUrl, EmbeddingModel, Home, Json, settings


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders; default: the packaged corpus.", show_default=False)] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents that are no longer in PATHs.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything (e.g. after changing the model).")] = False,
    as_json: Json = False,
    home: Home = None,
    embedding_model: EmbeddingModel = None,
    chroma_url: ChromaUrl = None,
) -> None:
    """Ingest articles into the index (idempotent; unchanged text is skipped)."""
    from tutor.index import Index

    cfg = settings(home, embedding_model, chroma_url)
    targets = paths or [cfg.default_corpus]
    index = Index(cfg)
    with _progress(enabled=not as_json and sys.stderr.isatty()) as progress:
        report = index.ingest(targets, prune=prune, rebuild=rebuild, progress=progress)
    for failure in report.failed:
        print(f"error: {failure['error']}", file=sys.stderr)
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


class _progress:
    """A rich progress bar for long runs (only on a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._task = None

    def __enter__(self):
        return self if self.enabled else None

    def __call__(self, done: int, total: int) -> None:
        if total < 200:  # short runs finish before a bar is worth drawing
            return
        if self._bar is None:
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._bar.start()
            self._task = self._bar.add_task("embedding chunks", total=total)
        self._bar.update(self._task, completed=done)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False
