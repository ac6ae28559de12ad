"""`TutorRetriever`, the LangChain face of the hybrid retriever: LangChain's own
standard retriever suite (langchain-tests' `RetrieversIntegrationTests`) and
what the suite does not cover (ids, k=0, bad arguments, out-of-scope questions,
building from a home folder, use in an LCEL chain)."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests
from pydantic import ValidationError

from tutor.retriever import TutorRetriever

QUESTION = "What does leadership cope with?"


class TestTutorRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's standard retriever tests, on the seed index."""

    @pytest.fixture(autouse=True)
    def _seed_engine(self, engine):
        type(self).hybrid = engine.retriever

    @property
    def retriever_constructor(self) -> type[TutorRetriever]:
        return TutorRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"hybrid": self.hybrid}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_documents_carry_the_chunk_id_and_where_the_passage_is(engine):
    retriever = TutorRetriever(hybrid=engine.retriever, k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 3 and "copes with change" in docs[0].page_content
    assert all(d.id and d.id == d.metadata["chunk_id"] for d in docs)
    assert len({d.id for d in docs}) == 3
    assert {"doc_id", "start", "end", "heading", "score", "paragraph"} <= set(docs[0].metadata)
    text = engine.documents[docs[0].metadata["doc_id"]].text
    assert text[docs[0].metadata["start"] : docs[0].metadata["end"]] == docs[0].page_content


def test_k_per_call_and_zero(engine):
    retriever = TutorRetriever(hybrid=engine.retriever)
    assert len(retriever.invoke(QUESTION)) == 4
    assert len(retriever.invoke(QUESTION, k=1)) == 1
    assert retriever.invoke(QUESTION, k=0) == []
    assert TutorRetriever(hybrid=engine.retriever, k=0).invoke(QUESTION) == []
    with pytest.raises(ValueError, match="at least 0"):
        retriever.invoke(QUESTION, k=-1)


def test_out_of_scope_question_returns_nothing(engine):
    assert TutorRetriever(hybrid=engine.retriever).invoke("What is the capital of France?") == []


@pytest.mark.parametrize("bad", [None, "retriever", 3])
def test_constructor_rejects_a_missing_or_wrong_retriever(bad):
    with pytest.raises(ValidationError, match="hybrid"):
        TutorRetriever(hybrid=bad)


def test_constructor_rejects_a_negative_k(engine):
    with pytest.raises(ValidationError, match="k"):
        TutorRetriever(hybrid=engine.retriever, k=-2)


def test_from_home_and_from_settings(seed_home, embedder, tmp_path):
    from tutor.config import Settings
    from tutor.errors import IndexMissingError

    r = TutorRetriever.from_home(seed_home, k=2, embedder=embedder)
    docs = r.invoke(QUESTION)
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    s = TutorRetriever.from_settings(Settings(home=seed_home), doc_id="leadership-vs-management",
                                     embedder=embedder)
    assert all(d.metadata["doc_id"] == "leadership-vs-management" for d in s.invoke(QUESTION))
    with pytest.raises(IndexMissingError):
        TutorRetriever.from_home(tmp_path / "nothing-here", embedder=embedder)


def test_in_an_lcel_chain(engine):
    """The README's example: retriever | format | prompt, with a fake chat model."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    retriever = TutorRetriever(hybrid=engine.retriever, k=2)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer only from these passages:\n{context}"), ("human", "{question}")])
    seen = []

    def context(docs):
        seen.extend(docs)
        return "\n\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(docs, 1))

    chain = ({"context": retriever | context, "question": RunnablePassthrough()}
             | prompt | FakeListChatModel(responses=["Leadership copes with change. [1]"]) | StrOutputParser())
    assert chain.invoke(QUESTION) == "Leadership copes with change. [1]"
    assert len(seen) == 2 and "copes with change" in seen[0].page_content
