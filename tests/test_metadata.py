"""Questions about the article itself are answered from its metadata, with a citation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.config import Settings
from tutor.engine import Engine
from tutor.index import Index
from tutor.responders.metadata import kind_of

ARTICLES = Path(__file__).resolve().parent.parent / "evals" / "articles"


@pytest.mark.parametrize(
    "question,kind",
    [
        ("Who wrote this article?", "author"),
        ("Who is the author?", "author"),
        ("When was it published?", "date"),
        ("What is this article mainly about?", "summary"),
        ("Summarize this text.", "summary"),
        ("What are the main sections?", "sections"),
        ("What does the author say about the fonts?", None),
        ("Who designed Helvetica?", None),
        ("What is the point of the fold?", None),
    ],
)
def test_questions_about_the_article_are_recognised(question, kind):
    assert kind_of(question) == kind


@pytest.fixture(scope="module")
def fonts_engine(tmp_path_factory, embedder):
    home = tmp_path_factory.mktemp("fonts")
    Index(Settings(home=home), embedder=embedder).ingest([ARTICLES / "go-fonts" / "article.md"])
    return Engine.open(Settings(home=home), auto_ingest=False, embedder=embedder)


def test_author_and_date_come_from_the_front_matter(fonts_engine):
    reply = fonts_engine.grounded.explain("Who wrote this article?")
    assert not reply.declined and reply.citations
    for name in ("Tao", "Bigelow", "Pike"):
        assert name in reply.answer
    assert "front matter" in reply.citations[0].text
    date = fonts_engine.grounded.explain("When was it published?")
    assert "2016" in date.answer and date.citations


def test_a_summary_cites_the_article_and_sections_list_its_headings(fonts_engine):
    about = fonts_engine.grounded.explain("What is this article about?")
    assert not about.declined and "font" in about.answer.lower() and about.citations
    sections = fonts_engine.grounded.explain("What are the main sections?")
    doc = next(iter(fonts_engine.documents.values()))
    assert any(h.text in sections.answer for h in doc.headings)


def test_an_article_without_a_byline_says_so(tmp_path, embedder):
    Index(Settings(home=tmp_path), embedder=embedder).ingest([ARTICLES / "basic-bread-recipe" / "article.md"])
    engine = Engine.open(Settings(home=tmp_path), auto_ingest=False, embedder=embedder)
    reply = engine.grounded.explain("Who wrote this article?")
    assert reply.answer == "The article does not say who wrote it." and not reply.citations
    # no description either: the summary opens with the article's lead sentence, cited where it stands
    about = engine.grounded.explain("What is this article about?")
    lead = "Use this basic dough recipe as starter for all your upcoming breads."
    assert about.answer.startswith(f'The article "The Basic Bread" is about this: {lead} [1]')
    doc = engine.documents["article"]
    for c in about.citations:
        assert doc.text[c.start:c.end] == c.text
        assert all(c.start <= a < b <= c.end for a, b in c.highlights)
