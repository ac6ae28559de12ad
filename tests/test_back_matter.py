"""A reference list, a bibliography or a list of links closes many articles
(papers, encyclopedia pages): its entries cite works and state nothing, so
they are never an answer's evidence nor a drafted quiz question, however many
of the question's words they share.

The article is written for these tests (no development article is used)."""

from __future__ import annotations

import pytest

from tutor.chunking import is_back_matter

ARTICLE = """\
# Tide pools

Tide pools form where the sea leaves water in hollows of the rock at low tide.
The first survey of the tide pools on this coast was made by the harbour school
in 1931, and the school repeated the survey in 1962.

Anemones, crabs and small fish live in the pools between tides. Each pool warms
in the sun, so the animals in it must bear heat and salt.

## References

Marsh, T., & Pell, R. (1931). A survey of the tide pools of the coast. Harbour School Press.

Pell, R. (1962). The tide pools of the coast surveyed again. Harbour School Press.

## See also

Rock pools of the northern coast
"""


@pytest.fixture(scope="module")
def pools(tmp_path_factory, ingest_article):
    report, engine = ingest_article(tmp_path_factory.mktemp("pools"), "pools.md", ARTICLE)
    assert not report.failed
    return engine


def test_back_matter_headings():
    assert is_back_matter(("Tide pools", "References"))
    assert is_back_matter(("Tide pools", "Further reading:", "Books"))
    assert not is_back_matter(("Tide pools", "Surveys of the pools"))
    assert not is_back_matter(("Sources",), title="Sources")  # an article titled "Sources" is not one


def test_an_answer_never_rests_on_a_reference_entry(pools):
    reply = pools.grounded.explain("When was the survey of the tide pools of the coast made?")
    assert not reply.declined and "1931" in reply.answer
    assert all(c.heading.endswith("Tide pools") for c in reply.citations), [c.heading for c in reply.citations]
    # only a reference entry says which press: the article itself does not
    press = pools.grounded.explain("Which press published the survey?")
    assert "Press" not in press.answer and not any("References" in c.heading for c in press.citations)
    assert press.declined and "References" not in press.answer  # nor is the list offered as a topic


def test_no_quiz_question_is_drafted_from_a_reference_list(pools):
    bank = pools.bank("pools")
    assert bank is not None and bank.questions
    quoted = " ".join(" ".join(q.quotes) + " " + q.question for q in bank.questions)
    assert "Press" not in quoted and "Rock pools of the northern coast" not in quoted
