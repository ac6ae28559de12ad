"""Follow-ups resolved from the previous turn's parse, never spliced."""

from __future__ import annotations

import pytest

from tutor.followup import is_followup, leans_on_pronoun, resolve


@pytest.mark.parametrize(
    "message,previous,answer,expected",
    [
        ("And leadership?", "What does management cope with?", None, "What does leadership cope with?"),
        ("What about leaders?", "What do managers plan?", None, "What do leaders plan?"),
        ("Why?", "What does management cope with?", None, "Why? What does management cope with?"),
        ("What does it do?", "What is the Toeplitz decomposition?", "It splits a matrix.",
         "What does the Toeplitz decomposition do?"),
        ("What does the first one do?", "Which parts does the kit have?",
         "The kit has a pump, a valve and a gauge.", "What does a pump do?"),
        ("And the last one?", "Which parts does the kit have?", "The kit has a pump, a valve and a gauge.", None),
    ],
)
def test_followups_are_resolved_from_the_previous_turn(message, previous, answer, expected):
    out = resolve(message, previous, answer)
    if expected is None:
        assert "gauge" in out
    else:
        assert out == expected


def test_an_unresolvable_followup_is_left_as_asked():
    # nothing to point at: no noun in the previous turn
    assert resolve("And what about it?", "Why?", None) == "And what about it?"
    # never spliced: the previous question is not glued onto the message
    out = resolve("What does that mean for beginners?", "How long should the dough rest?", None)
    assert "How long" not in out


def test_standalone_questions_are_not_followups():
    assert not is_followup("What does the article say about salt?")
    assert is_followup("And salt?") and not leans_on_pronoun("And salt?")
    assert is_followup("Who said it?") and leans_on_pronoun("Who said it?")
    assert resolve("What is salt for?", "What does the dough need?", None) == "What is salt for?"


def test_the_engine_keeps_banks_and_follow_up_terms_of_the_current_version_only(fresh_home, embedder, tmp_path):
    from tutor.config import Settings
    from tutor.engine import Engine

    engine = Engine.open(Settings(home=fresh_home), auto_ingest=False, embedder=embedder)
    doc_id = next(iter(engine.documents))
    assert engine.bank(doc_id) is not None and engine.follow_up_question(doc_id, "leadership copes with change")
    before = engine.index.snapshot(max_age=0).version
    extra = tmp_path / "extra.md"
    extra.write_text("# Extra\n\nA short second article about rivers and their floods.\n", encoding="utf-8")
    engine.index.ingest([extra])
    after = engine.index.snapshot(max_age=0).version
    assert after != before
    engine.bank(doc_id)
    engine.follow_up_question(doc_id, "leadership copes with change")
    assert {v for v, _ in engine._banks} == {after} and {v for v, _ in engine._terms} == {after}


@pytest.mark.parametrize(
    "message,previous,answer,expected",
    [
        # a question of its own after "And": its pointers are resolved, nothing is spliced
        ("And where was it about to be checked in?", "Where was the complete C implementation of the PEP uploaded?",
         None, "Where was the complete C implementation about to be checked in?"),
        # "he" is the person the turn named (here in the answer), "it" is not that person
        ("And when did he show that their eigenvalues are real?", "Who are Hermitian matrices named after?",
         "Hermitian matrices are named after Charles Hermite, who showed it in 1855.",
         "When did Charles Hermite show that Hermitian matrices' eigenvalues are real?"),
        ("And what does he pledge to do for it?", "What does Kennedy call the United Nations?", None,
         "What does Kennedy pledge to do for the United Nations?"),
        # a bare "that" is what the previous question asked about
        ("And what is that as a percentage?", "How much salt does the recipe use?", "10 grams.",
         "What is salt as a percentage?"),
        # "he" and "it" are two arguments of one verb, so two things; "track" of "keep track"
        # and the plural "his faults" are not "it": the answer's "a little book" is
        ("What did he later replace it with, and why?", "How did Franklin first keep track of his faults?",
         "I made a little book, in which I allotted a page for each of the virtues.",
         "What did Franklin later replace a little book with, and why?"),
        # the question's own words ("how much") are not part of what "it" stands for
        ("Why does it matter?", "How much salt goes into the dough?", None, "Why does salt matter?"),
        # "which log" was answered by naming it: "it" is the answer's "the harbour log"
        ("How many pages does it have?", "Which log does the keeper fill in?",
         "She records every passing ship in the harbour log. [1]", "How many pages does the harbour log have?"),
    ],
)
def test_a_followup_question_of_its_own_only_resolves_its_pointers(message, previous, answer, expected):
    assert resolve(message, previous, answer) == expected


KEEPER = """# The harbour light

The keeper climbs the tower every evening and lights the lamp before sunset.
She records every passing ship in the harbour log, with its name and the hour it passed.
The harbour office collects the log at the end of each month and files it.
In winter the keeper also clears the ice from the gallery around the lamp.
"""


def test_the_learners_own_question_is_not_proposed_back(tmp_path, ingest_article):
    """A drafted bank question the learner just asked, in any word order, is
    no "Think further" question for its answer."""
    report, engine = ingest_article(tmp_path, "harbour.md", KEEPER)
    assert not report.failed
    doc_id = next(iter(engine.documents))
    bank = [q for q, *_ in engine._question_terms(doc_id)]
    assert bank, "the article's drafted bank has questions"
    q = bank[0].question
    assert engine.follow_up_question(doc_id, q) == q  # the closest question to what was said ...
    proposed = engine.follow_up_question(doc_id, q, asked=q)
    assert proposed != q  # ... unless the learner just asked it
