"""The tutor's hybrid retrieval as a LangChain retriever, for use in any
LangChain (LCEL) chain:

    from tutor.retriever import TutorRetriever

    retriever = TutorRetriever.from_home("~/.tutor", k=3)
    docs = retriever.invoke("What does management cope with?")      # 3 passages
    docs = retriever.invoke("What does management cope with?", k=1)  # 1 passage
    docs[0].id               # the chunk id
    docs[0].metadata         # doc_id, title, heading, paragraph, start, end, score, dense

A question the article does not cover (below the relevance floor) returns no
documents rather than the least bad ones. It passes langchain-tests'
`RetrieversIntegrationTests` (tests/test_retriever.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from tutor.retrieve import HybridRetriever


class TutorRetriever(BaseRetriever):
    """LangChain face of `HybridRetriever`; passages out of scope come back empty.

    `k` (at least 0) is the number of passages; `invoke(query, k=N)` overrides
    it for one call. `doc_id` limits retrieval to one article.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    hybrid: HybridRetriever
    k: int = Field(default=4, ge=0)
    doc_id: str | None = None

    @classmethod
    def from_settings(cls, settings=None, *, embedder=None, **kwargs: Any) -> TutorRetriever:
        """A retriever over the index that `settings` (a `tutor.config.Settings`;
        default: from the environment) points to; `kwargs` are `k` and `doc_id`.
        Raises `IndexMissingError` when there is no index (run `tutor ingest`)."""
        from tutor.config import Settings
        from tutor.engine import Engine

        engine = Engine.open(settings or Settings(), auto_ingest=False, embedder=embedder)
        return cls(hybrid=engine.retriever, **kwargs)

    @classmethod
    def from_home(cls, home: str | Path, *, embedder=None, **kwargs: Any) -> TutorRetriever:
        """A retriever over the index in the tutor home folder `home` (`TUTOR_HOME`)."""
        from tutor.config import Settings

        return cls.from_settings(Settings(home=Path(home).expanduser()), embedder=embedder, **kwargs)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None,
        doc_id: str | None = None,
    ) -> list[Document]:
        k = self.k if k is None else k
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise ValueError(f"k must be a whole number of passages, at least 0; got {k!r}")
        if k == 0:
            return []
        result = self.hybrid.search(query, k=k, doc_id=doc_id or self.doc_id)
        if not result.covered:
            return []
        return [
            Document(
                id=h.chunk.chunk_id,
                page_content=h.chunk.text,
                metadata={
                    "chunk_id": h.chunk.chunk_id,
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "heading": h.chunk.heading,
                    "paragraph": h.chunk.paragraph,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                    "score": h.score,
                    "dense": h.dense,
                },
            )
            for h in result.hits[:k]
        ]
