"""Article packages: one article with the eval sets written for it.

A package is a folder:

    evals/articles/<slug>/
        article.{md,txt,html,pdf}   the article as published
        SOURCE.md                   origin and licence
        eval.jsonl                  cases in the eval format (`tutor.evals.dataset`)
        claims.jsonl                labeled claims for the support judge (optional)
        replies.jsonl               labeled learner replies for the assessor (optional)

`tutor eval` plays each package the way a new user meets the tutor: the
article is ingested into a fresh home of its own (a temporary folder, always
an embedded Chroma store, whatever `TUTOR_CHROMA_URL` says), its eval set runs
through the real pipeline, and the result is one row of the per-article table.
Nothing of the packaged seed is in that home.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from tutor.config import Settings, data_dir
from tutor.corpus import SUPPORTED_SUFFIXES
from tutor.errors import DatasetError

EVAL_FILE = "eval.jsonl"
CLAIMS_FILE = "claims.jsonl"
REPLIES_FILE = "replies.jsonl"


@dataclass(frozen=True)
class Package:
    name: str
    folder: Path
    article: Path
    eval: Path
    claims: Path | None
    replies: Path | None


def is_package(folder: Path) -> bool:
    return folder.is_dir() and (folder / EVAL_FILE).is_file()


def load_package(folder: Path) -> Package:
    folder = Path(folder)
    articles = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.stem == "article" and p.suffix.lower() in SUPPORTED_SUFFIXES
    )
    if not articles:
        accepted = ", ".join(f"article{s}" for s in SUPPORTED_SUFFIXES)
        raise DatasetError(f"{folder}: an article package needs one article file ({accepted})")
    if len(articles) > 1:
        raise DatasetError(f"{folder}: more than one article file ({', '.join(p.name for p in articles)})")
    claims, replies = folder / CLAIMS_FILE, folder / REPLIES_FILE
    return Package(
        folder.name, folder, articles[0], folder / EVAL_FILE,
        claims if claims.is_file() else None, replies if replies.is_file() else None,
    )


def find_packages(paths: Iterable[Path]) -> list[Package]:
    """Packages named directly, or every package inside a folder of packages."""
    out: list[Package] = []
    for path in map(Path, paths):
        if is_package(path):
            out.append(load_package(path))
        elif path.is_dir():
            inner = sorted(p for p in path.iterdir() if is_package(p))
            if not inner:
                raise DatasetError(f"{path}: neither an article package (no {EVAL_FILE}) nor a folder of packages")
            out.extend(load_package(p) for p in inner)
        else:
            raise DatasetError(f"{path}: no such article package")
    names = [p.name for p in out]
    for p in out:
        if names.count(p.name) > 1:
            raise DatasetError(f"{p.folder}: two packages are named '{p.name}'")
    return out


def default_packages() -> list[Package]:
    """Every package under the packaged `evals/articles/` (none if there is no such folder)."""
    folder = data_dir("evals") / "articles"
    return find_packages([folder]) if folder.is_dir() else []


class PackageHome:
    """A fresh home with only the package's article ingested; removed on exit."""

    def __init__(self, package: Package, settings: Settings, embedder=None):
        self.package = package
        self.settings = settings
        self.embedder = embedder
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self):
        from tutor.engine import Engine
        from tutor.errors import InputFileError
        from tutor.index import Index

        self._tmp = tempfile.TemporaryDirectory(prefix=f"tutor-eval-{self.package.name}-")
        settings = replace(self.settings, home=Path(self._tmp.name), chroma_url=None)
        report = Index(settings, embedder=self.embedder).ingest([self.package.article])
        if report.failed:
            self.__exit__(None, None, None)
            raise InputFileError(report.failed[0]["error"])
        self.engine = Engine.open(settings, auto_ingest=False, embedder=self.embedder)
        return self.engine

    def __exit__(self, *exc):
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
