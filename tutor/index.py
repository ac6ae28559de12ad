"""The index: chunks, their embeddings and the documents, stored in Chroma in
immutable versions, plus an in-memory BM25 over the same chunks.

How versions work (the same in embedded and server mode):

* every ingest that changes something writes a *new* collection,
  `chunks_<ver>`, copying embeddings of unchanged chunks from the current
  version and embedding only new text; the version's documents (text, title,
  headings, hand-written question bank, or the bank drafted from the parse
  when there is none: `tutor.question_drafts`) are in that collection's metadata (indexes of
  schema 1 also had a `docs_<ver>` collection; they are still read);
* beside it, `parses_<ver>` holds each document's parse in parts of whole
  paragraphs: their spaCy parse and one embedding per sentence
  (`tutor.parsed`), made once at ingest and copied for unchanged documents;
  readers load a document's parts
  the first time retrieval needs it (schema 2 indexes have none: their
  documents are parsed on first use);
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
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from tutor.chunking import Chunk, chunk_document
from tutor.config import Settings
from tutor.corpus import (
    DEFAULT_MAX_MB,
    Document,
    Heading,
    find_corpus_files,
    load_document,
    slugify,
)
from tutor.errors import (
    IndexBrokenError,
    IndexMissingError,
    IngestBusyError,
    InputFileError,
    ModelMismatchError,
    QuestionBankError,
    TutorError,
)
from tutor.parsed import PARSER_ID, ParsedDocument, parse_documents, part_id

log = logging.getLogger(__name__)

POINTER = "tutor_pointer"
MARKER = "tutor-index.json"  # beside an embedded store: the last version published there
SCHEMA = 3
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
        _check_database_file(settings.index_dir / "chroma.sqlite3")
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except TutorError:
        raise
    except BaseException as exc:  # noqa: BLE001 - Rust panics too
        if _fatal(exc):
            raise
        where = settings.chroma_url or settings.index_dir
        raise IndexBrokenError(
            f"cannot open the index at {where} ({_first_line(exc)}); "
            "check the server or run `tutor ingest --rebuild`"
        ) from None


_SQLITE_HEADER = b"SQLite format 3\x00"
QUICK_CHECK_MAX = 64 * 1024 * 1024  # bytes: readers check smaller databases in full


def _check_database_file(db: Path, *, thorough: bool = False) -> None:
    """Refuse an embedded database file that is not SQLite (zero bytes, other
    bytes over its header) or that SQLite's own `quick_check` finds damaged,
    before Chroma opens it: Chroma writes to the file as it opens (into a
    zero-byte file a fresh, empty schema, so the damage would look like a new
    home). The check reads the whole file, about 1.5 s per 80 MB here, so a
    reader skips it above `QUICK_CHECK_MAX` (Chroma's own errors are still
    caught at the boundary); an ingest (`thorough`) always runs it."""
    if not db.exists():
        return
    try:
        with db.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise IndexBrokenError(f"cannot read the index database {db} ({exc.strerror}); "
                               "check its permissions or run `tutor ingest --rebuild`") from None
    if head != _SQLITE_HEADER:
        what = "is empty" if not head else "is not an SQLite database"
        raise IndexBrokenError(f"the index database {db} {what} (damaged or badly copied); nothing was written: "
                               "run `tutor ingest --rebuild PATH...` to move it aside and start afresh")
    if not thorough and db.stat().st_size > QUICK_CHECK_MAX:
        return
    problem = ""
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute("PRAGMA quick_check(1)").fetchall()
        finally:
            con.close()
        if rows and rows[0][0] != "ok":
            problem = str(rows[0][0])
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return  # a writer holds it: Chroma will wait or report
        problem = str(exc)
    except sqlite3.DatabaseError as exc:
        problem = str(exc)
    if problem:
        problem = " ".join(problem.split())[:120]
        raise IndexBrokenError(f"the index database {db} is damaged ({problem}); nothing was written: "
                               "run `tutor ingest --rebuild PATH...` to move it aside and start afresh")


def _fatal(exc: BaseException) -> bool:
    """Exceptions that must pass through the store boundary untouched. Everything
    else a store call raises, Chroma's Rust panics included (pyo3's
    PanicException derives from BaseException), becomes one IndexBrokenError."""
    return isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | TutorError)


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
    except BaseException as exc:  # noqa: BLE001 - Rust panics too
        if _fatal(exc):
            raise
        raise IndexBrokenError(
            f"{action} failed for the index at {where} ({_first_line(exc)}); "
            "check that the Chroma server is up, or run `tutor ingest --rebuild`"
        ) from None


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b


def _distinct_ids(loaded, old_docs: dict, report) -> list:
    """Give each loaded article an id no other file in the index uses.

    An article keeps the id the index already gives its file. A new file whose
    id (its file name) belongs to another file that still exists, two
    `article.md` in different folders say, gets its folder's name in front
    ("course-b-article"), with a warning in the report, rather than replacing
    the other article. When the other file is gone, the new one takes its place
    (a renamed or moved article)."""
    by_source = {str(Path(d.source).resolve()): k for k, d in old_docs.items() if d.source}
    taken = set(old_docs) | {d.doc_id for d, _ in loaded}
    out = []
    for document, bank_yaml in loaded:
        doc_id = document.doc_id
        mine = by_source.get(str(Path(document.source).resolve()))
        held = old_docs.get(doc_id)
        if mine is not None:
            doc_id = mine
        elif held is not None and not _same_file(held.source, document.source) and Path(held.source).is_file():
            stem = slugify(f"{Path(document.source).resolve().parent.name}-{doc_id}") or doc_id
            doc_id, n = stem, 2
            while doc_id in taken:
                doc_id, n = f"{stem}-{n}", n + 1
            taken.add(doc_id)
            report.warnings.append({"doc_id": doc_id, "source": document.source, "sentence": "",
                                    "warning": f"the id '{document.doc_id}' belongs to {held.source}; "
                                               f"this article is '{doc_id}'"})
        if doc_id != document.doc_id:
            document = replace(document, doc_id=doc_id)
        out.append((document, bank_yaml))
    return out


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
    bank_yaml: str | None  # the hand-written bank beside the article, as read
    draft_yaml: str | None = None  # drafted at ingest from the parse when there is no hand-written bank


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
    parses: object | None = None  # the Chroma collection of this version's parses (schema >= 3)
    embed: Callable | None = None  # texts -> vectors, for documents stored without sentence vectors
    _parsed: dict = field(default_factory=dict, repr=False)
    _parse_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _by_doc: dict | None = field(default=None, repr=False)

    def __post_init__(self):
        self.position = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    def doc_positions(self, doc_id: str) -> np.ndarray:
        """Positions (into `chunks` and `embeddings`) of one document's chunks."""
        by_doc = self._by_doc
        if by_doc is None:
            grouped: dict[str, list[int]] = {}
            for i, c in enumerate(self.chunks):
                grouped.setdefault(c.doc_id, []).append(i)
            by_doc = self._by_doc = {d: np.asarray(v, dtype=np.int64) for d, v in grouped.items()}
        return by_doc.get(doc_id, np.zeros(0, dtype=np.int64))

    def parsed(self, doc_id: str) -> ParsedDocument:
        """The document's parse and sentence vectors (loaded once per version)."""
        return self.parsed_many([doc_id])[doc_id]

    def evidence_text(self, chunk: Chunk) -> str:
        """The chunk's text without sentences that address the tutor."""
        return self.parsed(chunk.doc_id).evidence_text(chunk.text, chunk.start, chunk.end)

    def parsed_many(self, doc_ids) -> dict[str, ParsedDocument]:
        wanted = list(dict.fromkeys(doc_ids))
        with self._parse_lock:
            missing = [d for d in wanted if d not in self._parsed]
        if missing:
            loaded = self._load_parses(missing)
            with self._parse_lock:
                self._parsed.update(loaded)
        with self._parse_lock:
            return {d: self._parsed[d] for d in wanted}

    def _load_parses(self, doc_ids: list[str]) -> dict[str, ParsedDocument]:
        out: dict[str, ParsedDocument] = {}
        if self.parses is not None:
            with store_errors(str(self.version), "reading parses"):
                stored = _parse_records(self.parses, [d for d in doc_ids if d in self.documents])
            for pid, records in stored.items():
                out[pid] = ParsedDocument.from_records([(d, m) for _, d, m in records], self.documents[pid].text)
        todo = [d for d in doc_ids if d not in out and d in self.documents]
        if todo:  # an index from before parses were stored: parse and embed now
            fresh = parse_documents([(d, self.documents[d].content_hash, self.documents[d].text) for d in todo])
            for p in fresh:
                if self.embed is not None:
                    p.vectors = _sentence_vectors(self.embed, p)
                out[p.doc_id] = p
        return out


@dataclass
class IngestReport:
    documents: int = 0
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_removed: int = 0
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[dict] = field(default_factory=list)  # e.g. sentences that address the tutor

    def to_json(self) -> dict:
        return {
            "documents": self.documents,
            "chunks_added": self.chunks_added,
            "chunks_skipped": self.chunks_skipped,
            "chunks_removed": self.chunks_removed,
            "failed": self.failed,
            "warnings": self.warnings,
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

    def _check_and_open(self, rebuild: bool) -> None:
        """Before an ingest writes: check the whole embedded database (unless it is
        being rebuilt, which moves a damaged one aside), then open the store."""
        if not rebuild and not self.settings.chroma_url:
            _check_database_file(self.settings.index_dir / "chroma.sqlite3", thorough=True)
        self._open_quietly()

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
        except BaseException as exc:  # noqa: BLE001 - Rust panics too
            if _fatal(exc):
                raise
            raise IndexBrokenError(
                f"the index at {self._where()} is unreadable ({_first_line(exc)}); "
                "run `tutor ingest --rebuild`"
            ) from None
        return meta if meta.get("current") else None

    def _where(self) -> str:
        return self.settings.chroma_url or str(self.settings.index_dir)

    def where(self) -> str:
        """The store's path or server URL, for messages."""
        return self._where()

    def exists(self) -> bool:
        return self._pointer() is not None

    def ever_held(self) -> bool:
        """Has this store ever held an index version? Embedded stores keep a
        marker beside Chroma's files (written at each publish), which survives a
        Chroma database that was emptied or replaced; a server is asked for its
        collections."""
        if not self.settings.chroma_url and (self.settings.index_dir / MARKER).is_file():
            return True
        try:
            names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        except TutorError:
            raise
        except BaseException as exc:  # noqa: BLE001 - Rust panics too
            if _fatal(exc):
                raise
            raise IndexBrokenError(
                f"the index at {self._where()} is unreadable ({_first_line(exc)}); run `tutor ingest --rebuild`"
            ) from None
        return any(n == POINTER or n.startswith(("chunks_v", "docs_v", "parses_v")) for n in names)

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
        except BaseException as exc:  # noqa: BLE001 - Rust panics too
            if _fatal(exc):
                raise
            raise IndexBrokenError(
                f"the index at {self._where()} is damaged ({_first_line(exc)}); "
                "run `tutor ingest --rebuild`"
            ) from None
        chunks = [
            Chunk.from_record(i, t, m)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        parses = None
        if int(pointer.get("schema") or 1) >= 3:
            try:
                parses = self.client.get_collection(f"parses_{version}", embedding_function=None)
            except BaseException as exc:  # noqa: BLE001 - Rust panics too
                if _fatal(exc):
                    raise
                raise IndexBrokenError(
                    f"the index at {self._where()} is damaged (no parses for version {version}: "
                    f"{_first_line(exc)}); run `tutor ingest --rebuild`"
                ) from None
        if any(not c.terms for c in chunks):  # schema < 3: no stored terms
            chunks = [c if c.terms else _with_terms(c) for c in chunks]
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
            parses=parses,
            embed=lambda texts: self.embedder.embed(texts),
        )

    # ---- writing --------------------------------------------------------
    @contextmanager
    def writer_lock(self, wait: float = 0.0) -> Iterator[None]:
        """One writer at a time per home: an exclusive lock file (filelock, an
        OS-level lock that dies with its process, so a crash leaves nothing
        stale). A second ingest fails at once, naming the first one's pid.
        Against a Chroma server the lock covers the machine it runs on; run
        ingests for a shared server from one place (see README)."""
        from filelock import FileLock, Timeout

        folder = self.settings.home
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / ".ingest.lock"), timeout=wait)
        pid_file = folder / ".ingest.pid"
        try:
            lock.acquire()
        except Timeout:
            try:
                pid = pid_file.read_text().strip() or "unknown"
            except OSError:
                pid = "unknown"
            raise IngestBusyError(f"another ingest is running on {folder} (pid {pid}); wait for it to finish") from None
        try:
            pid_file.write_text(str(os.getpid()))
            yield
        finally:
            try:
                pid_file.unlink()
            except OSError:
                pass
            lock.release()

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        rebuild: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
        max_mb: float = DEFAULT_MAX_MB,
        wait: float = 0.0,
    ) -> IngestReport:
        """Load, chunk, embed and publish `paths` as a new version (if anything
        changed), holding the home's writer lock (`writer_lock`; waiting up to
        `wait` seconds for another ingest to finish).

        `progress(phase, done, total)` is called as work moves: phase "loading"
        (files read and cleaned), "parsing" (documents parsed), "chunking"
        (characters chunked) and "embedding" (chunks embedded). `max_mb` is the size limit per file (0: none)."""
        with self.writer_lock(wait):
            return self._ingest(paths, prune=prune, rebuild=rebuild, progress=progress, max_mb=max_mb)

    def _ingest(self, paths, *, prune, rebuild, progress, max_mb) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        with ThreadPoolExecutor(max_workers=1) as opener:
            checked = opener.submit(self._check_and_open, rebuild)  # while the files load
            loaded = self._load_sources(paths, report, progress, max_mb)
        checked.result()  # a damaged database: nothing was written
        report.documents = len(loaded)

        if rebuild:
            moved = self._reset_store()
            if moved is not None:
                report.warnings.append({"doc_id": "", "source": str(moved), "sentence": "",
                                        "warning": f"the unreadable index was moved aside to {moved}"})
        base = self._pointer()  # the current version: kept for readers until the next switch
        if base is None and not rebuild and self.ever_held():
            raise IndexBrokenError(
                f"the index at {self._where()} held a version but has none now (emptied or damaged); "
                "nothing was written: run `tutor ingest --rebuild PATH...` to start it afresh from your articles"
            )
        old = self._load(base) if base and not rebuild else None  # what this ingest builds on
        model_id, dim = self.embedder.model_id, self.embedder.dim
        if old is not None and old.model_id != model_id:
            old = None  # a different model: every chunk must be embedded again
        old_docs = dict(old.documents) if old else {}
        old_chunks = {c.chunk_id: i for i, c in enumerate(old.chunks)} if old else {}
        loaded = _distinct_ids(loaded, old_docs, report)

        docs: dict[str, tuple[StoredDocument, list[Chunk]]] = {}
        to_chunk = sum(len(d.text) for d, _ in loaded)
        chunked = 0
        if old and not prune:
            keep = set(old_docs) - {d.doc_id for d, _ in loaded}
            for doc_id in keep:
                docs[doc_id] = (old_docs[doc_id], [c for c in old.chunks if c.doc_id == doc_id])
        changed: list[Document] = []
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
                if bank_yaml is None:  # the article is unchanged: so is its drafted bank
                    stored = replace(stored, draft_yaml=previous.draft_yaml)
            else:
                chunks = []
                changed.append(document)
            docs[document.doc_id] = (stored, chunks)
        # parse once: new and changed articles, and unchanged ones stored without a parse
        reusable = _stored_parses(old, [d for d in docs if d not in {c.doc_id for c in changed}])
        unparsed = [d for d in docs if d not in reusable and d not in {c.doc_id for c in changed}]
        if progress and (changed or unparsed):
            progress("parsing", 0, len(changed) + len(unparsed))
        parsed = parse_documents(
            [(d.doc_id, d.content_hash, d.text) for d in changed]
            + [(d, docs[d][0].content_hash, docs[d][0].text) for d in unparsed]
        )
        if progress and parsed:
            progress("parsing", len(parsed), len(parsed))
        for p in parsed:
            for i in sorted(p.instructions):
                report.warnings.append({
                    "doc_id": p.doc_id, "source": docs[p.doc_id][0].source, "sentence": p.sentences[i].text,
                    "warning": "addresses the tutor, not the reader: kept in the article, never used as evidence",
                })
        for document, p in zip(changed, parsed, strict=False):

            def step(done: int, _total: int, base: int = chunked) -> None:
                if progress:
                    progress("chunking", base + done, to_chunk)

            chunks = chunk_document(document, sentences=[(x.start, x.end) for x in p.sentences], progress=step)
            docs[document.doc_id] = (docs[document.doc_id][0], _attach_terms(chunks, p))
            chunked += len(document.text)
            if progress:
                progress("chunking", chunked, to_chunk)
        for p in parsed[len(changed):]:  # unchanged, but stored before parses were
            stored, chunks = docs[p.doc_id]
            docs[p.doc_id] = (stored, _attach_terms(chunks, p))
        self._draft_banks(docs, parsed, reusable)

        new_ids = {c.chunk_id for _, chunks in docs.values() for c in chunks}
        report.chunks_skipped = sum(1 for cid in new_ids if cid in old_chunks)
        report.chunks_added = len(new_ids) - report.chunks_skipped
        report.chunks_removed = sum(1 for cid in old_chunks if cid not in new_ids)
        docs_changed = old is None or any(
            old_docs.get(d) != stored for d, (stored, _) in docs.items()
        ) or set(old_docs) != set(docs)

        published = False
        if report.chunks_added or report.chunks_removed or docs_changed or parsed:
            if docs or old is not None:
                with store_errors(self._where(), "writing"):
                    self._publish(docs, base, old, old_chunks, model_id, dim, progress, parsed, reusable)
                published = True
        if not published and base:  # nothing new: just clear out orphans of failed ingests
            self._delete_versions(_reachable(base), int(base["current"][1:]))
        report.seconds = time.perf_counter() - started
        return report

    def _draft_banks(self, docs, parsed: list[ParsedDocument], reusable: dict[str, list[tuple[str, str, dict]]]) -> None:
        """Draft a question bank from its parse for every document without a
        hand-written bank whose drafted one is missing or was made by another
        drafter (new and changed articles: their parse was just made)."""
        from tutor.question_drafts import bank_yaml, is_current_draft

        fresh = {p.doc_id: p for p in parsed}
        for doc_id, (stored, chunks) in list(docs.items()):
            if stored.bank_yaml or is_current_draft(stored.draft_yaml):
                continue
            p = fresh.get(doc_id)
            if p is None and doc_id in reusable:
                p = ParsedDocument.from_records([(d, m) for _, d, m in reusable[doc_id]], stored.text)
            if p is None:
                continue
            docs[doc_id] = (replace(stored, draft_yaml=bank_yaml(stored, p)), chunks)

    def _reset_store(self) -> Path | None:
        """For --rebuild: an embedded store that cannot be read, or that lost the
        index it held, is moved aside (never deleted); returns where to."""
        if self.settings.chroma_url:
            return None
        try:
            broken = self._pointer() is None and self.ever_held()
        except IndexBrokenError:
            broken = True
        if not broken:
            return None
        aside = self.settings.index_dir.with_name(f"index.broken-{int(time.time())}")
        self.settings.index_dir.rename(aside)
        log.warning("moved the unreadable index to %s", aside)
        self._client = None
        forget_store(str(self.settings.index_dir))
        return aside

    def _load_sources(self, paths, report: IngestReport, progress=None,
                      max_mb: float = DEFAULT_MAX_MB) -> list[tuple[Document, str | None]]:
        from tutor.questions import bank_path_for, load_bank

        files, problems = find_corpus_files([Path(p) for p in paths])
        for path, error in problems:
            report.failed.append({"path": str(path), "error": error})
        loaded, seen = [], {}
        for number, path in enumerate(files):
            if progress:
                progress("loading", number, len(files))
            try:
                document = load_document(path, max_mb=max_mb)
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
        if progress:
            progress("loading", len(files), len(files))
        return loaded

    def _publish(self, docs, base, old, old_chunks, model_id, dim, progress, parsed, reusable) -> None:
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
            parses = writer.submit(self._create_parses, version, reusable)
            pointer = writer.submit(self.client.get_or_create_collection, POINTER, embedding_function=None)
            writer.submit(self._delete_versions, kept | {version}, int(version[1:]))
            try:
                self._fill(created, writer, docs, old, old_chunks, dim, progress)
                self._fill_parses(parses, writer, parsed)
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
        self._write_marker(version)

    def _write_marker(self, version: str) -> None:
        """Record, beside an embedded store, that it holds an index (atomically)."""
        if self.settings.chroma_url:
            return
        path = self.settings.index_dir / MARKER
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": version, "published": time.time(), "schema": SCHEMA}))
        tmp.replace(path)

    def _create_collection(self, version: str, model_id: str, dim: int, records: list[dict]):
        return self.client.create_collection(
            f"chunks_{version}",
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"model_id": model_id, "dim": dim, "schema": SCHEMA, "documents": json.dumps(records)},
        )

    def _create_parses(self, version: str, reusable: dict[str, list[tuple[str, str, dict]]]):
        """The version's parse collection, with the records of unchanged documents copied."""
        col = self.client.create_collection(f"parses_{version}", embedding_function=None)
        for batch in _record_batches(r for records in reusable.values() for r in records):
            _add_records(col, batch)
        return col

    def _fill_parses(self, created: Future, writer: ThreadPoolExecutor, parsed: list[ParsedDocument]) -> None:
        """Embed every sentence of the newly parsed documents and store their
        records. Parts are serialised here while the writer stores the batch
        before; at most two batches wait, so memory does not grow with the file."""
        if not parsed:
            created.result()
            return
        texts = [s.text for p in parsed for s in p.sentences]
        vectors = self.embedder.embed(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
        at = 0
        for p in parsed:
            p.vectors = vectors[at : at + len(p.sentences)]
            at += len(p.sentences)
        writes: list[Future] = []
        for batch in _record_batches(r for p in parsed for r in p.to_records()):
            if len(writes) >= 2:
                writes.pop(0).result()
            writes.append(writer.submit(lambda b=batch: _add_records(created.result(), b)))
        created.result()
        for w in writes:
            w.result()

    def _drop_collections(self, version: str) -> None:
        for name in (f"chunks_{version}", f"parses_{version}", f"docs_{version}"):  # docs_: schema 1
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
                progress("embedding", ready, total)
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
            if not name.startswith(("chunks_v", "docs_v", "parses_v")):
                continue
            version = name.split("_", 1)[1]
            if version in keep or not version[1:].isdigit() or int(version[1:]) > newest:
                continue  # current, previous, or another ingest still writing
            try:
                self.client.delete_collection(name)
            except Exception:  # noqa: BLE001 - best effort
                log.debug("could not delete %s", name)


_PART_READ = 32  # parse parts per read: a few MB each
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
        "draft_yaml": stored.draft_yaml or "",
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
        draft_yaml=record.get("draft_yaml") or None,
    )


def _stored_parses(old: Snapshot | None, doc_ids: list[str]) -> dict[str, list[tuple[str, str, dict]]]:
    """Parse records of `doc_ids` in the old version that can be reused as they are."""
    if old is None or old.parses is None or not doc_ids:
        return {}
    got = _parse_records(old.parses, [d for d in doc_ids if d in old.documents])
    return {d: records for d, records in got.items() if records[0][2].get("content_hash") == old.documents[d].content_hash}


def _parse_records(parses, doc_ids: list[str]) -> dict[str, list[tuple[str, str, dict]]]:
    """Every part (id, document, metadata) of each document's parse, for the
    documents whose parts are all there, made by this parser, with vectors."""
    def get(ids: list[str]) -> list[tuple[str, str, dict]]:
        out = []
        for lo in range(0, len(ids), _PART_READ):
            got = parses.get(ids=ids[lo : lo + _PART_READ], include=["documents", "metadatas"])
            out += zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        return out

    heads = {rid: [(rid, d, m)] for rid, d, m in get(doc_ids)}
    more = [part_id(rid, k) for rid, r in heads.items() for k in range(1, int(r[0][2].get("parts", 1)))]
    for rid, d, m in get(more):
        if m.get("doc_id") in heads:
            heads[m["doc_id"]].append((rid, d, m))
    return {
        rid: records
        for rid, records in heads.items()
        if len(records) == int(records[0][2].get("parts", 1))
        and all(m.get("parser") == PARSER_ID and m.get("vectors") for _, _, m in records)
    }


def _record_batches(records, most: int = 16, most_bytes: int = 16 << 20):
    """`records` (id, document, metadata) in batches of at most `most`
    records or about `most_bytes` of text, whichever comes first."""
    batch, size = [], 0
    for r in records:
        batch.append(r)
        size += len(r[1]) + sum(len(v) for v in r[2].values() if isinstance(v, str))
        if len(batch) >= most or size >= most_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _add_records(col, batch: list[tuple[str, str, dict]]) -> None:
    col.add(
        ids=[r[0] for r in batch],
        documents=[r[1] for r in batch],
        metadatas=[r[2] for r in batch],
        embeddings=np.zeros((len(batch), 1), dtype=np.float32),
    )


def _attach_terms(chunks: list[Chunk], parsed: ParsedDocument) -> list[Chunk]:
    """Each chunk with the content lemmas of its sentences and its heading path."""
    from tutor.language import terms

    out = []
    for c in chunks:
        lemmas = [t for i in parsed.sentences_in(c.start, c.end) for t in terms(parsed.span(i))]
        lemmas += [t for h in c.heading_path for t in terms(h)]
        out.append(replace(c, terms=tuple(lemmas)))
    return out


def _with_terms(chunk: Chunk) -> Chunk:
    """A chunk of an index from before terms were stored: lemmatise it now."""
    from tutor.language import terms

    return replace(chunk, terms=tuple(terms(chunk.text) + [t for h in chunk.heading_path for t in terms(h)]))


def _sentence_vectors(embed, parsed: ParsedDocument) -> np.ndarray:
    texts = [s.text for s in parsed.sentences]
    return np.asarray(embed(texts), dtype=np.float32) if texts else np.zeros((0, 1), np.float32)
