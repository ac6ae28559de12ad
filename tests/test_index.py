"""Ingestion and the versioned index, against a real Chroma store and the real embedder."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from tutor.chunking import chunk_document
from tutor.config import Settings
from tutor.corpus import load_document
from tutor.errors import IndexBrokenError, IndexMissingError, ModelMismatchError
from tutor.index import SCHEMA, Index

SEED_MD = CORPUS / "leadership-vs-management.md"


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    return d


def _ask_top(index: Index, question: str) -> str:
    from tutor.retrieve import HybridRetriever

    return HybridRetriever(index).search(question).hits[0].chunk.text


def test_chunks_keep_offsets_headings_and_paragraphs():
    doc = load_document(SEED_MD)
    chunks = chunk_document(doc)
    assert len(chunks) >= 8
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.doc_id == "leadership-vs-management" and c.title == doc.title
        assert c.paragraph >= 1 and c.heading_path
    kotter = next(c for c in chunks if "copes with complexity" in c.text)
    assert "Leadership Versus Management" in kotter.heading_path
    quote = next(c for c in chunks if "doing the right things" in c.text)
    assert quote.heading_path[-1] == "Leadership Versus Management Quote"
    # every body sentence of the article is inside some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    body = [h for h in doc.headings]
    text_positions = [i for i, ch in enumerate(doc.text) if not ch.isspace()]
    heading_positions = {i for h in body for i in range(h.start, h.end)}
    assert all(i in covered for i in text_positions if i not in heading_positions)


def test_overlap_between_neighbouring_chunks_of_a_section():
    doc = load_document(SEED_MD)
    chunks = chunk_document(doc, chunk_chars=200, overlap=60)
    pairs = [(a, b) for a, b in zip(chunks, chunks[1:], strict=False) if a.heading_path == b.heading_path]
    assert any(b.start < a.end for a, b in pairs), "neighbouring chunks should overlap"


def test_reingest_is_idempotent_and_incremental(tmp_path, corpus_dir, embedder):
    index = Index(Settings(home=tmp_path / "h"), embedder=embedder)
    first = index.ingest([corpus_dir])
    assert first.failed == [] and first.documents == 1 and first.chunks_added > 0
    version = index.snapshot().version
    second = index.ingest([corpus_dir])
    assert (second.chunks_added, second.chunks_removed) == (0, 0)
    assert second.chunks_skipped == first.chunks_added
    assert index.snapshot(max_age=0).version == version, "no change, no new version"

    # change one paragraph: only its chunks are replaced
    md = corpus_dir / "leadership-vs-management.md"
    md.write_text(md.read_text().replace("Kotter's distinctions are crisp", "Kotter's distinctions are sharp"))
    third = index.ingest([corpus_dir])
    assert 0 < third.chunks_added < first.chunks_added
    assert third.chunks_removed == third.chunks_added
    assert "sharp" in " ".join(c.text for c in index.snapshot(max_age=0).chunks)

    # a second article, then prune it away
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "bees.md").write_text("---\ntitle: Bees\n---\n# Bees\n\nBees make honey from nectar. They live in hives.\n")
    added = index.ingest([extra])
    assert added.chunks_added >= 1
    assert set(index.snapshot(max_age=0).documents) == {"leadership-vs-management", "bees"}
    pruned = index.ingest([corpus_dir], prune=True)
    assert pruned.chunks_removed >= 1
    assert set(index.snapshot(max_age=0).documents) == {"leadership-vs-management"}


def test_failed_ingest_keeps_the_previous_index(fresh_home, corpus_dir, embedder):
    index = Index(Settings(home=fresh_home), embedder=embedder)
    before = index.snapshot()

    class Exploding:
        model_id, dim = embedder.model_id, embedder.dim

        def embed(self, texts, **kw):
            raise RuntimeError("power cut")

    md = corpus_dir / "leadership-vs-management.md"
    md.write_text(md.read_text().replace("crisp and useful", "crisp, useful"))
    broken = Index(Settings(home=fresh_home), embedder=Exploding())
    with pytest.raises(IndexBrokenError, match="power cut"):
        broken.ingest([corpus_dir])
    reader = Index(Settings(home=fresh_home), embedder=embedder)
    after = reader.snapshot()
    assert after.version == before.version
    assert len(after.chunks) == len(before.chunks)
    assert "copes with complexity" in _ask_top(reader, "What does management cope with?")
    names = {c.name for c in reader.client.list_collections()}
    assert not any(before.version not in n and n.startswith("chunks_") and n > f"chunks_{before.version}" for n in names), names


def test_bad_files_fail_alone(tmp_path, corpus_dir, embedder):
    (corpus_dir / "empty.md").write_text("")
    (corpus_dir / "blob.txt").write_bytes(b"\x00\x01\x02binary\xff" * 20)
    (corpus_dir / "latin.txt").write_bytes("Caf\xe9 au lait est tr\xe8s bon.".encode("latin-1"))
    (corpus_dir / "notes.docx").write_bytes(b"PK\x03\x04")
    index = Index(Settings(home=tmp_path / "h"), embedder=embedder)
    report = index.ingest([corpus_dir, tmp_path / "missing.md", corpus_dir / "notes.docx"])
    failed = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert set(failed) == {"empty.md", "blob.txt", "latin.txt", "missing.md", "notes.docx"}
    for name, error in failed.items():
        assert name in error and "\n" not in error
    assert report.documents == 1 and report.chunks_added > 0


def test_question_bank_with_a_false_quote_fails_that_file(tmp_path, corpus_dir, embedder):
    bank = corpus_dir / "leadership-vs-management.questions.yaml"
    bank.write_text(bank.read_text().replace('"Management, Kotter argues, copes with complexity."', '"Management, Kotter argues, copes with chaos."'))
    report = Index(Settings(home=tmp_path / "h"), embedder=embedder).ingest([corpus_dir])
    assert len(report.failed) == 1 and "questions.yaml" in report.failed[0]["error"]


def test_missing_index_and_model_mismatch(tmp_path, seed_home, embedder):
    with pytest.raises(IndexMissingError, match="tutor ingest"):
        Index(Settings(home=tmp_path / "nothing"), embedder=embedder).snapshot()
    other = Index(Settings(home=seed_home, embedding_model="/models/other-model"), embedder=embedder)
    with pytest.raises(ModelMismatchError, match="re-ingest"):
        other.snapshot()


def test_broken_index_is_a_clear_error_and_rebuild_recovers(fresh_home, embedder):
    for f in (fresh_home / "index").rglob("chroma.sqlite3"):
        f.write_bytes(b"this is not a database" * 100)
    index = Index(Settings(home=fresh_home), embedder=embedder)
    with pytest.raises(IndexBrokenError, match="--rebuild"):
        index.snapshot()
    report = Index(Settings(home=fresh_home), embedder=embedder).ingest([CORPUS], rebuild=True)
    assert report.chunks_added > 0
    assert Index(Settings(home=fresh_home), embedder=embedder).snapshot().chunks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import httpx

    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield url, proc
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_chroma_server_mode(tmp_path, chroma_server, embedder):
    url, _ = chroma_server
    settings = Settings(home=tmp_path / "h", chroma_url=url)
    first = Index(settings, embedder=embedder).ingest([CORPUS])
    assert first.chunks_added > 0 and not first.failed
    assert not (tmp_path / "h" / "index").exists(), "server mode must not write a local store"
    # a second app instance sees the same index through the server
    other = Index(Settings(home=tmp_path / "other", chroma_url=url), embedder=embedder)
    assert "copes with complexity" in _ask_top(other, "What does management cope with?")
    assert Index(settings, embedder=embedder).ingest([CORPUS]).chunks_added == 0


@pytest.mark.slow
def test_cli_ingest_json_and_server_down(tmp_path):
    env_home = tmp_path / "h"
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "tutor", *a], capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "TUTOR_HOME": str(env_home)},
    )
    first = run("ingest", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert set(data) == {"documents", "chunks_added", "chunks_skipped", "chunks_removed", "failed", "seconds", "warnings"}
    assert data["chunks_added"] > 0
    second = json.loads(run("ingest", "--json").stdout)
    assert second["chunks_added"] == 0 and second["chunks_skipped"] == data["chunks_added"]

    down = run("ask", "What do leaders do?", "--chroma-url", f"http://127.0.0.1:{_free_port()}")
    assert down.returncode == 1
    assert down.stderr.startswith("error: ") and len(down.stderr.strip().splitlines()) == 1
    assert "Traceback" not in down.stderr


def test_an_index_of_schema_1_is_still_read_and_replaced_on_change(tmp_path, corpus_dir, embedder):
    """Schema 1 kept documents in a `docs_<ver>` collection; such an index must
    keep working after an upgrade, and the next change writes schema 2."""
    from tutor.index import POINTER

    index = Index(Settings(home=tmp_path / "h"), embedder=embedder)
    index.ingest([corpus_dir])
    current = index.snapshot()
    client = index.client
    # rewrite the current version the way schema 1 stored it
    old = "v1"
    col = client.create_collection(f"chunks_{old}", embedding_function=None,
                                   configuration={"hnsw": {"space": "cosine"}},
                                   metadata={"model_id": current.model_id, "dim": current.dim, "schema": 1})
    col.add(ids=[c.chunk_id for c in current.chunks], documents=[c.text for c in current.chunks],
            metadatas=[c.metadata() for c in current.chunks], embeddings=current.embeddings)
    docs = client.create_collection(f"docs_{old}", embedding_function=None, metadata={"schema": 1})
    for d in current.documents.values():
        docs.add(ids=[d.doc_id], documents=[d.text], embeddings=[[1.0] * current.dim], metadatas=[{
            "doc_id": d.doc_id, "title": d.title, "source": d.source, "content_hash": d.content_hash,
            "headings": json.dumps([h.__dict__ for h in d.headings]), "meta": json.dumps(d.meta),
            "bank_yaml": d.bank_yaml or "",
        }])
    client.get_collection(POINTER, embedding_function=None).modify(metadata={
        "current": old, "previous": "", "model_id": current.model_id, "dim": current.dim, "schema": 1,
    })
    client.delete_collection(f"chunks_{current.version}")

    reader = Index(Settings(home=tmp_path / "h"), embedder=embedder)
    legacy = reader.snapshot()
    assert legacy.version == old
    assert legacy.documents == current.documents
    assert len(legacy.chunks) == len(current.chunks)
    assert "copes with complexity" in _ask_top(reader, "What does Kotter say management copes with?")

    md = corpus_dir / "leadership-vs-management.md"
    md.write_text(md.read_text().replace("Kotter's distinctions are crisp", "Kotter's distinctions are sharp"))
    report = index.ingest([corpus_dir])
    assert 0 < report.chunks_added < len(current.chunks), "unchanged chunks reuse the schema-1 embeddings"
    fresh = index.snapshot(max_age=0)
    assert fresh.version != old and "sharp" in fresh.documents["leadership-vs-management"].text
    meta = client.get_collection(POINTER, embedding_function=None).metadata
    assert meta["schema"] == SCHEMA and meta["previous"] == old


def test_only_the_current_and_previous_versions_are_kept(tmp_path, corpus_dir, embedder):
    index = Index(Settings(home=tmp_path / "h"), embedder=embedder)
    md = corpus_dir / "leadership-vs-management.md"

    def versions() -> set[str]:
        return {c.name.split("_", 1)[1] for c in index.client.list_collections() if c.name.startswith("chunks_")}

    index.ingest([corpus_dir])
    first = index.snapshot(max_age=0).version
    # an orphan of an ingest killed half-way, older than anything published next
    index.client.create_collection("chunks_v1", embedding_function=None)
    assert versions() == {first, "v1"}

    md.write_text(md.read_text().replace("crisp and useful", "crisp, useful"))
    index.ingest([corpus_dir])
    second = index.snapshot(max_age=0).version
    assert versions() == {first, second}, "the orphan goes, the version readers may still hold stays"

    md.write_text(md.read_text().replace("crisp, useful", "crisp and handy"))
    index.ingest([corpus_dir])
    third = index.snapshot(max_age=0).version
    assert versions() == {second, third}

    report = index.ingest([corpus_dir], rebuild=True)
    assert report.chunks_added > 0 and report.chunks_skipped == 0, "a rebuild embeds everything again"
    fourth = index.snapshot(max_age=0).version
    assert versions() == {third, fourth}
