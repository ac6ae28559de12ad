"""The engine wires the layers together for one process: settings -> index ->
hybrid retriever -> responders, plus the question banks stored in the index.

`Engine.open()` is what every interface calls. A home that has never held an
index gets the packaged seed article, so the tutor works out of the box; an
index that holds only the packaged article is refreshed when the package
changes. Once a user has ingested anything else, nothing is added or
refreshed unless asked (`tutor ingest` with no path), and a store that once
held an index but has none now is reported as broken, never re-filled.
An index on a Chroma server (`TUTOR_CHROMA_URL`) is shared: the packaged
article goes into it only when it never held an index, and otherwise it is
left as the operator's `tutor ingest` made it, so an instance that starts while
others run joins without writing a new version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from tutor.config import Settings
from tutor.errors import IndexBrokenError, IndexMissingError
from tutor.index import Index, IngestReport
from tutor.responders.grounded import GroundedResponder
from tutor.retrieve import HybridRetriever

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self.index = Index(settings, embedder=embedder)
        self.retriever = HybridRetriever(self.index)
        self.grounded = GroundedResponder(
            self.retriever, topics=self.topics, follow_up=self.follow_up_question, scorer=lambda: self.scorer
        )
        self._banks: dict[tuple[str, str], object] = {}
        self._terms: dict[tuple[str, str], list] = {}  # (version, doc_id) -> `_question_terms`
        self._lock = threading.Lock()
        self._scorer = None

    @classmethod
    def open(cls, settings: Settings | None = None, *, auto_ingest: bool = True, embedder=None) -> Engine:
        engine = cls(settings or Settings(), embedder=embedder)
        if auto_ingest:
            engine.ensure_index()
        else:
            engine.index.snapshot()
        return engine

    @property
    def scorer(self):
        """The support scorer (shared by assessment, the grounding guard and evals)."""
        if self._scorer is None:
            from tutor.support import SupportScorer

            self._scorer = SupportScorer(embedder=self.index.embedder)
        return self._scorer

    # ---- index freshness ------------------------------------------------
    def ensure_index(self) -> IngestReport | None:
        """Ingest the packaged corpus into a home that never held an index, or
        refresh it in an index that holds nothing else (see the module docstring)."""
        corpus = self.settings.default_corpus
        if not self.index.exists():
            if self.index.ever_held():
                raise IndexBrokenError(
                    f"the index at {self.index.where()} has no current version although it held one "
                    "(damaged or interrupted); run `tutor ingest --rebuild` with your articles"
                )
            log.info("no index yet: ingesting %s", corpus)
            report = self.index.ingest([corpus], wait=300)  # another process may be doing the same
            return report
        if self.settings.chroma_url:  # shared: `tutor ingest` decides what it holds
            self.index.snapshot()
            return None
        if self._only_packaged(corpus) and self._stale(corpus):
            log.info("packaged corpus changed: re-ingesting %s", corpus)
            return self.index.ingest([corpus], wait=300)
        self.index.snapshot()
        return None

    def _only_packaged(self, corpus: Path) -> bool:
        """Every article in the index comes from the packaged corpus folder."""
        root = Path(corpus).resolve()
        docs = self.index.snapshot(check_model=False).documents.values()
        return all(_inside(Path(d.source), root) for d in docs)

    def _stale(self, corpus: Path) -> bool:
        from tutor.corpus import find_corpus_files, load_document
        from tutor.errors import TutorError
        from tutor.questions import bank_path_for

        snap = self.index.snapshot(check_model=False)
        files, _ = find_corpus_files([corpus])
        for path in files:
            try:
                doc = load_document(path)
            except TutorError:
                continue
            stored = snap.documents.get(doc.doc_id)
            bank = bank_path_for(path)
            bank_text = bank.read_text(encoding="utf-8") if bank.exists() else None
            if stored is None or stored.content_hash != doc.content_hash or stored.bank_yaml != bank_text:
                return True
        return False

    # ---- documents and question banks -------------------------------------
    @property
    def documents(self):
        return self.index.snapshot().documents

    def bank(self, doc_id: str):
        """The validated question bank of a document, or None: the hand-written
        bank beside the article when there is one, else the bank drafted from
        the article at ingest (`tutor.question_drafts`)."""
        from tutor.questions import parse_bank

        snap = self.index.snapshot()
        stored = snap.documents.get(doc_id)
        text = stored and (stored.bank_yaml or stored.draft_yaml)
        if not text:
            return None
        key = (snap.version, doc_id)
        with self._lock:
            if key not in self._banks:
                # its keywords were checked at ingest: a hand-written bank by `load_bank`,
                # a drafted one by the drafter against its quote
                _keep_version(self._banks, snap.version)
                self._banks[key] = parse_bank(text, stored, source=f"{doc_id} bank", keywords_checked=True)
            return self._banks[key]

    def bank_is_drafted(self, doc_id: str) -> bool:
        """The document's bank was drafted at ingest, not written by a person."""
        stored = self.index.snapshot().documents.get(doc_id)
        return stored is not None and not stored.bank_yaml and bool(stored.draft_yaml)

    def topics(self, doc_id: str) -> list[str]:
        """The learning objectives of a hand-written bank (a drafted bank's are
        just the section headings, which a decline lists anyway)."""
        if self.bank_is_drafted(doc_id):
            return []
        bank = self.bank(doc_id)
        return [o.title for o in bank.objectives] if bank else []

    def follow_up_question(self, doc_id: str, said: str, said_before: Sequence[str] = (),
                           asked: str = "") -> str | None:
        """A bank question close to what was just said that it does not already
        answer, not one the tutor already posed (in `said_before`), and not the
        learner's own question (`asked`) in other words: "According to Quill,
        what does the keeper record?" after "What does the keeper record,
        according to Quill?" or "What does the keeper record?" (two content
        words at least in common, and at most one that only one of them has)."""
        from tutor.language import terms as content_terms

        bank = self._question_terms(doc_id)
        if not bank:
            return None
        said_terms = set(content_terms(said))
        learner = set(content_terms(asked)) if asked else set()
        best, best_score = None, 0.0
        for q, terms, own in bank:
            if any(quote in said for quote in q.quotes) or any(q.question in t for t in said_before):
                continue  # already posed, or already answered
            if len(own & learner) >= 2 and len(own ^ learner) <= 1:
                continue  # what the learner just asked
            score = len(terms & said_terms) / (len(terms) or 1)
            if score > best_score:
                best, best_score = q, score
        return best.question if best else None

    def _question_terms(self, doc_id: str) -> list:
        """(question, content lemmas of it and its quotes, content lemmas of
        the question alone) for each bank question that is no cloze (a gap to
        fill is no question to think about); parsed in one batch the first
        time, then kept per version."""
        from tutor import language as L

        bank = self.bank(doc_id)
        if not bank:
            return []
        key = (self.index.snapshot().version, doc_id)
        with self._lock:
            got = self._terms.get(key)
        if got is None:
            asked = [q for q in bank.questions if "_____" not in q.question]
            docs = L.parse_many([q.question + " " + " ".join(q.quotes) for q in asked] + [q.question for q in asked])
            got = [(q, set(L.terms(d)), set(L.terms(own)))
                   for q, d, own in zip(asked, docs[: len(asked)], docs[len(asked):], strict=True)]
            with self._lock:
                _keep_version(self._terms, key[0])
                self._terms[key] = got
        return got

    def default_doc(self) -> str | None:
        docs = self.documents
        return next(iter(docs)) if docs else None

    def require_docs(self) -> None:
        if not self.documents:
            raise IndexMissingError("the index holds no articles; run `tutor ingest PATH`")


def _keep_version(cache: dict, version: str) -> None:
    """Drop the entries of other index versions from a (version, doc_id) cache:
    a long-running server re-ingested many times keeps only the current one."""
    for key in [k for k in cache if k[0] != version]:
        del cache[key]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError):
        return False
