"""The index: chunks, their embeddings and the documents, stored in Chroma in
immutable versions, plus an in-memory BM25 over the same chunks.

How versions work (the same in embedded and server mode):

* every ingest that changes something writes a *new* collection,
  `chunks_<ver>`, copying embeddings of unchanged chunks from the current
  version and embedding only new text; the version's documents (text, title,
  headings, question bank) are in that collection's metadata, so a version is
  one collection (indexes of schema 1 also had a `docs_<ver>` collection; they
  are still read);
* only when the new version is complete does one metadata update of the
  `tutor_pointer` collection make it current (a single SQLite/HTTP write);
* readers resolve the pointer, so they never see a half-written version; an
  interrupted ingest leaves an orphan that the next ingest deletes.

The embedding model's id and dimension are stored with each version; querying
with another model raises `ModelMismatchError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from tutor.chunking import Chunk, chunk_document
from tutor.config import Settings
from tutor.corpus import Document, Heading, find_corpus_files, load_document
from tutor.errors import (
    IndexBrokenError,
    IndexMissingError,
    InputFileError,
    ModelMismatchError,
    QuestionBankError,
    TutorError,
)

log = logging.getLogger(__name__)

POINTER = "tutor_pointer"
SCHEMA = 2
_BATCH = 256  # chunks per store write
_ENCODE_GROUP = 2048  # chunks per encode call


def make_client(settings: Settings):
    """Embedded PersistentClient under TUTOR_HOME, or an HttpClient for TUTOR_CHROMA_URL."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if not url.hostname:
                raise TutorError(f"TUTOR_CHROMA_URL '{settings.chroma_url}' is not http://host:port")
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except TutorError:
        raise
    except Exception as exc:  # noqa: BLE001
        where = settings.chroma_url or settings.index_dir
        raise IndexBrokenError(
            f"cannot open the index at {where} ({_first_line(exc)}); "
            "check the server or run `tutor ingest --rebuild`"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


@contextmanager
def store_errors(where: str, action: str) -> Iterator[None]:
    """Turn any failure of the vector store into one typed, one-line error."""
    try:
        yield
    except TutorError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise IndexBrokenError(
            f"{action} failed for the index at {where} ({_first_line(exc)}); "
            "check that the Chroma server is up, or run `tutor ingest --rebuild`"
        ) from None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index keeps it: enough to show and cite it."""

    doc_id: str
    title: str
    text: str
    source: str
    content_hash: str
    headings: tuple[Heading, ...]
    meta: dict
    bank_yaml: str | None


@dataclass
class Snapshot:
    """One complete index version loaded for reading."""

    version: str
    model_id: str
    dim: int
    chunks: list[Chunk]
    embeddings: np.ndarray  # (n, dim), normalised, aligned with chunks
    documents: dict[str, StoredDocument]
    collection: object  # the Chroma collection of this version's chunks
    position: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.position = {c.chunk_id: i for i, c in enumerate(self.chunks)}


@dataclass
class IngestReport:
    documents: int = 0
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_removed: int = 0
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "documents": self.documents,
            "chunks_added": self.chunks_added,
            "chunks_skipped": self.chunks_skipped,
            "chunks_removed": self.chunks_removed,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
        }


class Index:
    """Reads and writes the versioned chunk store. One per process is enough."""

    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self._embedder = embedder
        self._client = None
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()

    # ---- plumbing -------------------------------------------------------
    @property
    def client(self):
        with self._open_lock:
            if self._client is None:
                self._client = make_client(self.settings)
            return self._client

    @property
    def embedder(self):
        if self._embedder is None:
            from tutor.embedder import get_embedder

            self._embedder = get_embedder(self.settings.embedding_model)
        return self._embedder

    def _open_quietly(self) -> None:
        """Open the store ahead of time; a failure is reported by its first real use."""
        try:
            self.client  # noqa: B018 - opening is the point
        except TutorError:
            pass

    def _pointer(self) -> dict | None:
        from chromadb.errors import NotFoundError

        try:
            meta = self.client.get_collection(POINTER, embedding_function=None).metadata or {}
        except TutorError:
            raise
        except NotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001
            raise IndexBrokenError(
                f"the index at {self._where()} is unreadable ({_first_line(exc)}); "
                "run `tutor ingest --rebuild`"
            ) from None
        return meta if meta.get("current") else None

    def _where(self) -> str:
        return self.settings.chroma_url or str(self.settings.index_dir)

    def exists(self) -> bool:
        return self._pointer() is not None

    # ---- reading --------------------------------------------------------
    def snapshot(self, max_age: float = 1.0, check_model: bool = True) -> Snapshot:
        """The current version, reloaded when the pointer moved (checked every `max_age` s)."""
        with self._lock:
            now = time.monotonic()
            if self._snapshot is None or now - self._checked_at >= max_age:
                pointer = self._pointer()
                if pointer is None:
                    raise IndexMissingError(
                        f"no index at {self._where()}; run `tutor ingest` to build it"
                    )
                if self._snapshot is None or self._snapshot.version != pointer["current"]:
                    self._snapshot = self._load(pointer)
                self._checked_at = now
            snap = self._snapshot
        if check_model:
            self.check_model(snap)
        return snap

    def check_model(self, snap: Snapshot) -> None:
        from tutor.embedder import resolve_model

        wanted, _ = resolve_model(self.settings.embedding_model)
        if wanted != snap.model_id:
            raise ModelMismatchError(
                f"the index was built with '{snap.model_id}' ({snap.dim}-d) but the configured "
                f"embedding model is '{wanted}'; re-ingest with `tutor ingest --rebuild` "
                "or set TUTOR_EMBEDDING_MODEL back"
            )

    def _load(self, pointer: dict) -> Snapshot:
        version = pointer["current"]
        try:
            chunks_col = self.client.get_collection(f"chunks_{version}", embedding_function=None)
            got = _get_all(chunks_col, ["documents", "metadatas", "embeddings"])
            if int(pointer.get("schema") or 1) >= 2:
                records = json.loads((chunks_col.metadata or {})["documents"])
            else:
                docs = self.client.get_collection(f"docs_{version}", embedding_function=None).get(
                    include=["documents", "metadatas"]
                )
                records = [{**m, "text": t} for t, m in zip(docs["documents"], docs["metadatas"], strict=True)]
            documents = dict(sorted((r["doc_id"], _stored_document(r)) for r in records))
        except Exception as exc:  # noqa: BLE001
            raise IndexBrokenError(
                f"the index at {self._where()} is damaged ({_first_line(exc)}); "
                "run `tutor ingest --rebuild`"
            ) from None
        chunks = [
            Chunk.from_record(i, t, m)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        order = sorted(range(len(chunks)), key=lambda i: (chunks[i].doc_id, chunks[i].start))
        emb = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(chunks), -1)
        return Snapshot(
            version=version,
            model_id=pointer["model_id"],
            dim=int(pointer["dim"]),
            chunks=[chunks[i] for i in order],
            embeddings=emb[order] if len(order) else emb,
            documents=documents,
            collection=chunks_col,
        )

    # ---- writing --------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Load, chunk, embed and publish `paths` as a new version (if anything changed)."""
        started = time.perf_counter()
        report = IngestReport()
        with ThreadPoolExecutor(max_workers=1) as opener:
            opener.submit(self._open_quietly)  # open the store while the files load
            loaded = self._load_sources(paths, report)
        report.documents = len(loaded)

        if rebuild:
            self._reset_store()
        base = self._pointer()  # the current version: kept for readers until the next switch
        old = self._load(base) if base and not rebuild else None  # what this ingest builds on
        model_id, dim = self.embedder.model_id, self.embedder.dim
        if old is not None and old.model_id != model_id:
            old = None  # a different model: every chunk must be embedded again
        old_docs = dict(old.documents) if old else {}
        old_chunks = {c.chunk_id: i for i, c in enumerate(old.chunks)} if old else {}

        docs: dict[str, tuple[StoredDocument, list[Chunk]]] = {}
        if old and not prune:
            keep = set(old_docs) - {d.doc_id for d, _ in loaded}
            for doc_id in keep:
                docs[doc_id] = (old_docs[doc_id], [c for c in old.chunks if c.doc_id == doc_id])
        for document, bank_yaml in loaded:
            stored = StoredDocument(
                doc_id=document.doc_id,
                title=document.title,
                text=document.text,
                source=str(document.source),
                content_hash=document.content_hash,
                headings=tuple(document.headings),
                meta=dict(document.meta),
                bank_yaml=bank_yaml,
            )
            previous = old_docs.get(document.doc_id)
            if previous is not None and previous.content_hash == document.content_hash:
                chunks = [c for c in old.chunks if c.doc_id == document.doc_id]
            else:
                chunks = chunk_document(document)
            docs[document.doc_id] = (stored, chunks)

        new_ids = {c.chunk_id for _, chunks in docs.values() for c in chunks}
        report.chunks_skipped = sum(1 for cid in new_ids if cid in old_chunks)
        report.chunks_added = len(new_ids) - report.chunks_skipped
        report.chunks_removed = sum(1 for cid in old_chunks if cid not in new_ids)
        docs_changed = old is None or any(
            old_docs.get(d) != stored for d, (stored, _) in docs.items()
        ) or set(old_docs) != set(docs)

        published = False
        if report.chunks_added or report.chunks_removed or docs_changed:
            if docs or old is not None:
                with store_errors(self._where(), "writing"):
                    self._publish(docs, base, old, old_chunks, model_id, dim, progress)
                published = True
        if not published and base:  # nothing new: just clear out orphans of failed ingests
            self._delete_versions(_reachable(base), int(base["current"][1:]))
        report.seconds = time.perf_counter() - started
        return report

    def _reset_store(self) -> None:
        """For --rebuild: an embedded store that cannot even be opened is moved aside."""
        if self.settings.chroma_url:
            return
        try:
            self._pointer()
        except IndexBrokenError:
            aside = self.settings.index_dir.with_name(f"index.broken-{int(time.time())}")
            self.settings.index_dir.rename(aside)
            log.warning("moved the unreadable index to %s", aside)
            self._client = None
            forget_store(str(self.settings.index_dir))

    def _load_sources(self, paths, report: IngestReport) -> list[tuple[Document, str | None]]:
        from tutor.questions import bank_path_for, load_bank

        files, problems = find_corpus_files([Path(p) for p in paths])
        for path, error in problems:
            report.failed.append({"path": str(path), "error": error})
        loaded, seen = [], {}
        for path in files:
            try:
                document = load_document(path)
                bank_file = bank_path_for(path)
                bank_yaml = None
                if bank_file.exists():
                    load_bank(bank_file, document)  # validates quotes against the text
                    bank_yaml = bank_file.read_text(encoding="utf-8")
                if document.doc_id in seen:
                    raise InputFileError(
                        f"{path}: doc_id '{document.doc_id}' is also used by {seen[document.doc_id]}"
                    )
                seen[document.doc_id] = path
                loaded.append((document, bank_yaml))
            except (InputFileError, QuestionBankError) as exc:
                report.failed.append({"path": str(path), "error": str(exc)})
        return loaded

    def _publish(self, docs, base, old, old_chunks, model_id, dim, progress) -> None:
        """Write a complete new version, then point readers at it.

        Encoding and storing overlap: one writer thread creates the collection,
        gets the pointer and deletes what no reader can reach (orphans, versions
        before `base`'s previous) while the embedder encodes, then adds each
        batch as soon as its vectors exist. After the switch, the new version
        and `base` (current when the ingest began) are kept; `base`'s previous is
        deleted: that is the only garbage the switch makes."""
        version = f"v{time.time_ns()}"
        records = [_document_record(stored) for stored, _ in docs.values()]
        kept = _reachable(base) if base else set()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tutor-ingest") as writer:
            created = writer.submit(self._create_collection, version, model_id, dim, records)
            pointer = writer.submit(self.client.get_or_create_collection, POINTER, embedding_function=None)
            writer.submit(self._delete_versions, kept | {version}, int(version[1:]))
            try:
                self._fill(created, writer, docs, old, old_chunks, dim, progress)
            except BaseException:
                writer.submit(self._drop_collections, version).result()
                raise
        pointer.result().modify(
            metadata={
                "current": version,
                "previous": base["current"] if base else "",
                "model_id": model_id,
                "dim": dim,
                "schema": SCHEMA,
                "published": time.time(),
            }
        )
        if base and base.get("previous"):
            self._drop_collections(base["previous"])

    def _create_collection(self, version: str, model_id: str, dim: int, records: list[dict]):
        return self.client.create_collection(
            f"chunks_{version}",
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"model_id": model_id, "dim": dim, "schema": SCHEMA, "documents": json.dumps(records)},
        )

    def _drop_collections(self, version: str) -> None:
        for name in (f"chunks_{version}", f"docs_{version}"):  # docs_: schema 1
            try:
                self.client.delete_collection(name)
            except Exception:  # noqa: BLE001 - absent, or the store is down; GC retries later
                pass

    def _fill(self, created: Future, writer: ThreadPoolExecutor, docs, old, old_chunks, dim, progress) -> None:
        """Write every chunk, reusing the embeddings of unchanged ones."""
        chunks = [c for _, cs in docs.values() for c in cs]
        total = len(chunks)
        vectors = np.zeros((total, dim), dtype=np.float32)
        fresh = []
        for i, c in enumerate(chunks):
            if c.chunk_id in old_chunks:
                vectors[i] = old.embeddings[old_chunks[c.chunk_id]]
            else:
                fresh.append(i)

        def add(lo: int, hi: int) -> None:
            created.result().add(
                ids=[c.chunk_id for c in chunks[lo:hi]],
                documents=[c.text for c in chunks[lo:hi]],
                metadatas=[c.metadata() for c in chunks[lo:hi]],
                embeddings=vectors[lo:hi],
            )

        writes, written = [], 0
        for g in range(0, len(fresh) or 1, _ENCODE_GROUP):
            group = fresh[g : g + _ENCODE_GROUP]
            if group:
                # one call per large group: sentence-transformers sorts by length inside
                vectors[group] = self.embedder.embed([chunks[i].text for i in group])
            ready = fresh[g + _ENCODE_GROUP] if g + _ENCODE_GROUP < len(fresh) else total
            for lo in range(written, ready, _BATCH):
                writes.append(writer.submit(add, lo, min(lo + _BATCH, ready)))
            written = ready
            if progress:
                progress(ready, total)
        created.result()  # an empty version still needs its collection
        for w in writes:
            w.result()  # re-raise a failed write here

    def _delete_versions(self, keep: set[str], newest: int) -> None:
        """Delete every version but `keep` and those newer than `newest` (ns
        timestamp: another ingest may still be writing them). Best effort."""
        try:
            names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        except Exception:  # noqa: BLE001 - the next ingest tries again
            log.debug("could not list collections", exc_info=True)
            return
        for name in names:
            if not (name.startswith("chunks_v") or name.startswith("docs_v")):
                continue
            version = name.split("_", 1)[1]
            if version in keep or not version[1:].isdigit() or int(version[1:]) > newest:
                continue  # current, previous, or another ingest still writing
            try:
                self.client.delete_collection(name)
            except Exception:  # noqa: BLE001 - best effort
                log.debug("could not delete %s", name)


_READ_BATCH = 5000  # records per read (embedded Chroma binds one SQL variable per record)


def _get_all(collection, include: list[str]) -> dict:
    """Every record of a collection, read in pages: one `get` of more than about
    32,000 records fails on embedded Chroma (SQLite's "too many SQL variables"),
    i.e. on a library of some 800 articles. A version is never written after it
    is published, so the pages are consistent."""
    got: dict = {"ids": [], **{k: [] for k in include}}
    offset = 0
    while True:
        part = collection.get(include=include, limit=_READ_BATCH, offset=offset)
        got["ids"] += part["ids"]
        for k in include:
            got[k] += list(part[k]) if part[k] is not None else []
        if len(part["ids"]) < _READ_BATCH:
            return got
        offset += _READ_BATCH


def _reachable(pointer: dict) -> set[str]:
    """The versions readers may hold: the current one and the one before it."""
    return {pointer["current"], pointer.get("previous") or ""}


def forget_store(path: str) -> None:
    """Chroma caches one system per path, a failed one too; drop it so the path
    can be opened afresh."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(path, None)


def _document_record(stored: StoredDocument) -> dict:
    """A document as stored in its version's collection metadata (JSON)."""
    return {
        "doc_id": stored.doc_id,
        "title": stored.title,
        "text": stored.text,
        "source": stored.source,
        "content_hash": stored.content_hash,
        "headings": json.dumps([h.__dict__ for h in stored.headings]),
        "meta": json.dumps(stored.meta, default=str),
        "bank_yaml": stored.bank_yaml or "",
    }


def _stored_document(record: dict) -> StoredDocument:
    """Back from `_document_record` (or a schema-1 `docs_<ver>` record)."""
    return StoredDocument(
        doc_id=record["doc_id"],
        title=record["title"],
        text=record["text"],
        source=record.get("source", ""),
        content_hash=record["content_hash"],
        headings=tuple(Heading(**h) for h in json.loads(record.get("headings") or "[]")),
        meta=json.loads(record.get("meta") or "{}"),
        bank_yaml=record.get("bank_yaml") or None,
    )
