"""Code in an article: a code block, a command or a URL is never an answer by
itself, a sentence that leads into one brings it along (with the words after
it that finish the sentence), and a code block is one unit, not as many
"sentences" as it has '!' and '.'.

The article is written for these tests (no development article is used).
"""

from __future__ import annotations

import pytest

from tutor import language as L

ARTICLE = """\
# Packing a Field Kit

Field botanists keep their notes in a small tool called herbpack. Its job is to
bundle a day's photographs and notes into one archive that a herbarium can read.

## Installing it

If you just want the command-line tool, run

    pip install herbpack==2.1 && herbpack --init ~/fieldkit/

and open the folder it creates in ~/fieldkit before your first trip.

## Packing a day

A day is packed with one command:

    $ herbpack pack --date 2024-06-01 --out day.tar

    def pack(day): return archive(day.photos + day.notes)  # {photos, notes}

The archive keeps the original file names, so a herbarium can match each photo
to its specimen label. Packing takes about a minute for a hundred photographs.
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory, ingest_article):
    _, engine = ingest_article(tmp_path_factory.mktemp("kit"), "field-kit.md", ARTICLE)
    return engine


def test_a_code_line_is_code_and_prose_is_not():
    assert L.is_code("$ herbpack pack --date 2024-06-01 --out day.tar")
    assert L.is_code("def pack(day): return archive(day.photos + day.notes)  # {photos, notes}")
    assert L.is_code("https://doi.org/10.1086/318767")
    assert not L.is_code("The archive keeps the original file names, so a herbarium can match each photo.")
    assert not L.is_code("If you just want the command-line tool, run")
    assert not L.is_code("=> Yes.")  # a reply in a question-and-answer list is prose


def test_a_code_block_is_one_unit(kit):
    parsed = kit.index.snapshot().parsed("field-kit")
    code = [s.text for i, s in enumerate(parsed.sentences) if parsed.is_code(i)]
    assert "pip install herbpack==2.1 && herbpack --init ~/fieldkit/" in code
    assert any(t.startswith("def pack(day):") and t.endswith("{photos, notes}") for t in code)


def test_a_lead_in_brings_its_command_and_the_words_that_finish_it(kit):
    reply = kit.grounded.explain("How do I install the command-line tool?")
    assert not reply.declined
    body = reply.answer.split("\n\n")[0]
    assert "pip install herbpack==2.1" in body and "open the folder it creates" in body
    assert body.index("If you just want") < body.index("pip install") < body.index("open the folder")


def test_code_is_never_an_answer_by_itself(kit):
    for question in ("What does the pack function return?", "Which date does the packing command use?",
                     "How long does packing take?"):
        reply = kit.grounded.explain(question)
        for text, _ in reply.sentences:
            if L.is_code(text):  # only ever brought along by the sentence that leads into it
                lead = [t for t, _ in reply.sentences if t.rstrip().endswith((":", "run"))]
                assert lead, (question, reply.answer)


def test_an_article_that_ends_in_a_lead_in_is_answered(tmp_path, ingest_article):
    """The last sentence stops without a full stop, as if a command followed it,
    and nothing does: the answer is that sentence (no sentence past the end)."""
    _, engine = ingest_article(tmp_path, "short.md", "# Notes\n\nTo pack the notes of a field day, run herbpack")
    reply = engine.grounded.explain("How do I pack the notes of a field day?")
    assert not reply.declined and "run herbpack" in reply.answer
