"""Only what the user ingested is in the index; a home that held an index is never
silently re-filled with the packaged seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.config import Settings
from tutor.engine import Engine
from tutor.errors import IndexBrokenError
from tutor.index import Index

ARTICLES = Path(__file__).resolve().parent.parent / "evals" / "articles"


def test_a_new_home_gets_the_seed(tmp_path, embedder):
    engine = Engine.open(Settings(home=tmp_path), embedder=embedder)
    assert list(engine.documents) == ["leadership-vs-management"]


def test_a_users_article_is_never_joined_by_the_seed(tmp_path, embedder):
    settings = Settings(home=tmp_path)
    Index(settings, embedder=embedder).ingest([ARTICLES / "go-fonts" / "article.md"])
    engine = Engine.open(settings, embedder=embedder)  # what `tutor ask` does
    assert len(engine.documents) == 1 and "leadership-vs-management" not in engine.documents
    reply = engine.grounded.explain("How should I train for my first marathon?")
    assert reply.declined and "Leadership" not in reply.answer and "Go fonts" in reply.answer


def test_an_emptied_store_is_reported_not_refilled(tmp_path, embedder):
    settings = Settings(home=tmp_path)
    Index(settings, embedder=embedder).ingest([ARTICLES / "go-fonts" / "article.md"])
    (settings.index_dir / "chroma.sqlite3").write_bytes(b"")  # a crashed disk, a bad copy
    with pytest.raises(IndexBrokenError, match="tutor ingest --rebuild"):
        Engine.open(settings, embedder=embedder)
