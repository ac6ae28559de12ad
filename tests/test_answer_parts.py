"""Answers that serve every part of the question: a question that asks two
things gets a sentence for each, an article's own question is followed by its
answer, and a question about what the author does is no false premise.

The article is written for these tests (no development article is used), so
what they check holds for an article the tutor was never tuned on.
"""

from __future__ import annotations

import pytest

from tutor import language as L
from tutor.alignment import as_speaker
from tutor.guard import split_answer
from tutor.responders.metadata import author_words

ARTICLE = """\
---
title: Keeping a Lighthouse
author: Mara Quill
---

# Keeping a Lighthouse

I visit the keepers of the northern coast every spring. I ask every new keeper
the same hard question: could the light run itself without anyone on the rock?

## Questions keepers ask

Should the lamp burn through the whole night?

Yes.

A lamp that goes out before dawn leaves ships without a mark in the darkest
hour, so the keeper tends the flame until sunrise.

## The daily routine

Every morning the keeper climbs the tower with a soft cloth and a tin of
polish. The polishing of the lens is called the dawn round by the keepers.
Working slowly around the brass frame, the keeper needs about two hours for it.
The weather goes into a logbook every four hours, and the log is sent to the
harbour office each month. Supplies arrive by boat when the sea is calm.
"""


@pytest.fixture(scope="module")
def lighthouse(tmp_path_factory, ingest_article):
    report, engine = ingest_article(tmp_path_factory.mktemp("lighthouse"), "lighthouse.md", ARTICLE)
    assert not report.failed
    return engine


@pytest.mark.parametrize(
    "question, asks",
    [
        ("What is the first rise called, and how long does it take?",
         ["What is the first rise called?", "how long does the first rise take?"]),
        ("Where was the painter born, and at which school did he teach?",
         ["Where was the painter born?", "at which school did he teach?"]),
        # an elliptical second part is completed with the first part's statement
        ("At which events was the talk given, and in which years?",
         ["At which events was the talk given?", "in which years was the talk given?"]),
        ("What do leaders plan and budget?", ["What do leaders plan and budget?"]),  # one question, two verbs
        ("What do leaders do?", ["What do leaders do?"]),
    ],
)
def test_a_coordinated_question_is_split_into_what_it_asks(question, asks):
    got = L.question_asks(question)
    assert got[0] == asks[0] and len(got) == len(asks)
    if len(asks) > 1:
        assert set(L.terms(asks[1])) <= set(L.terms(got[1]))


def test_each_part_of_a_two_part_question_gets_its_sentence(lighthouse):
    reply = lighthouse.grounded.explain("What is the polishing of the lens called, and how long does it take?")
    assert not reply.declined
    assert "dawn round" in reply.answer and "two hours" in reply.answer


def test_an_articles_own_question_is_followed_by_its_answer_and_reason(lighthouse):
    reply = lighthouse.grounded.explain("Should the lamp burn through the whole night?")
    assert not reply.declined
    said = [text for text, _ in reply.sentences]
    assert "Yes." in said, said
    assert any("darkest" in s for s in said), said


def test_what_the_author_does_is_not_a_false_premise(lighthouse):
    reply = lighthouse.grounded.explain("What hard question does Quill ask every new keeper?")
    assert not reply.declined
    assert "Careful" not in reply.answer
    assert "run itself" in reply.answer


def test_a_statement_before_the_question_is_checked(lighthouse):
    """"X. Why ...?": the learner states X; when the article says otherwise,
    the reply corrects it before answering."""
    reply = lighthouse.grounded.explain("The keeper needs ten minutes for the dawn round. Why is it called that?")
    assert reply.answer.startswith("Careful"), reply.answer
    assert "two hours" in reply.answer


def test_a_name_that_is_not_the_author_is_not_rewritten():
    quill = frozenset(author_words({"author": "Mara Quill"}))
    assert quill == {"mara", "quill"}

    def told(text, words=quill):
        return as_speaker(L.parse(text), words)

    assert told("Mara Quill asks new keepers") == "I ask new keepers"
    assert told("Quill asks new keepers") == "I ask new keepers"
    assert told("the keepers ask Quill") == "the keepers ask me"
    assert told("the keepers read Quill's log") == "the keepers read my log"
    assert told("Tobin asks new keepers") is None
    assert told("Mara Tobin asks new keepers") is None  # not all the name is the author's
    assert told("Quill asks new keepers", frozenset(author_words({}))) is None


def test_an_article_question_quoted_in_an_answer_is_not_a_claim():
    said = split_answer("6) Should the lamp burn all night? [1] => Yes. [1] A dark lamp leaves ships lost. [2]")
    assert said[0].question and not said[-1].question


def test_a_bare_label_is_no_answer(tmp_path, ingest_article):
    """When the best the article has is a label ("Patience."), it names the
    topic and answers nothing: the question is declined. An amount is an answer."""
    report, engine = ingest_article(
        tmp_path, "virtues.md",
        "# A list of habits\n\nThe habits I chose to practise were these.\n\nPatience.\n\nThrift.\n\n"
        "## Supplies\n\nThe list of supplies follows.\n\n2 kilograms of flour or 40%\n\n"
        "I kept the list on my desk and read it every morning before work.\n")
    assert not report.failed
    question = "Why is thrift on the list?"
    assert engine.retriever.search(question).covered  # on topic: retrieval alone would answer it
    assert engine.grounded.explain(question).declined  # with "Thrift." or "Patience."
    amount = engine.grounded.explain("How much flour is on the list of supplies?")
    assert not amount.declined and "2 kilograms" in amount.answer


@pytest.mark.parametrize("question", ["Who built the lighthouse tower?", "Who reads the logbook at the harbour office?"])
def test_a_question_for_a_name_the_article_never_gives_is_declined(lighthouse, question):
    """The article is about the tower and its logbook, but names nobody: an
    answer without a name does not answer "who", however close its sentences are."""
    assert lighthouse.grounded.explain(question).declined


def test_a_question_for_an_amount_the_article_gives_is_answered(lighthouse):
    reply = lighthouse.grounded.explain("How many hours does the keeper need for the lens?")
    assert not reply.declined and "two hours" in reply.answer


@pytest.mark.parametrize("question, expected", [
    ("Who climbs the tower every morning?", "keeper climbs the tower"),  # a role noun answers "who"
    ("Where is the log sent each month?", "harbour office"),  # a place phrase answers "where"
    ("When do supplies arrive?", "when the sea is calm"),  # a condition answers a bare "when"
])
def test_who_where_and_when_are_answered_without_a_named_entity(lighthouse, question, expected):
    """The article names no person, city or date here; the answer is still in it.
    (A coverage model fitted on articles whose "who" questions all had names
    once declined these.)"""
    reply = lighthouse.grounded.explain(question)
    assert not reply.declined and expected in reply.answer


HARBOUR = """\
# The Harbour Office

The keeper rows the logbook across the bay on the first calm morning of the month.
This is the day when the harbour office pays the keepers.

Storms close the harbour for weeks in winter, and the boats stay on the beach.
"""


def test_a_sentence_that_points_back_is_quoted_with_the_one_it_points_to(tmp_path, ingest_article):
    """"This is the day when ...": the answer says which day, so it quotes the
    sentence before as well."""
    report, engine = ingest_article(tmp_path, "harbour.md", HARBOUR)
    assert not report.failed
    reply = engine.grounded.explain("On which day does the harbour office pay the keepers?")
    assert not reply.declined
    said = [text for text, _ in reply.sentences]
    assert said[:2] == ["The keeper rows the logbook across the bay on the first calm morning of the month.",
                        "This is the day when the harbour office pays the keepers."], said


@pytest.mark.parametrize("second, leans", [
    ("This is the day when the office pays them.", True),
    ("If the sea is rough, this is the step that waits.", True),  # the main clause's subject, after a lead clause
    ("Rowing this boat takes an hour.", True),  # a demonstrative inside the subject
    ("They are paid in silver.", True),
    ("The office pays the keepers in silver.", False),
    ("I row with them on calm days.", False),  # the first person stands alone
    ("It is easy to row across the bay.", False),  # a dummy subject
])
def test_which_sentences_lean_on_the_one_before(second, leans):
    from tutor.parsed import ParsedDocument
    from tutor.ranking import leans_back

    parsed = ParsedDocument.parse("d", "h", f"The keeper rows the logbook across the bay. {second}")
    assert len(parsed.sentences) == 2
    assert (leans_back(parsed, 1) == 0) is leans
    assert leans_back(parsed, 0) is None


RULES = """\
# The Office Rules

The harbour office keeps strict rules for its keepers on the rocks. Here are the two rules it never bends.
No keeper leaves the rock during a storm, and every page of the log is signed.

The lamp is not lit in the first week of the year. Nor is it lit on the night of a full moon.
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory, ingest_article):
    report, engine = ingest_article(tmp_path_factory.mktemp("rules"), "rules.md", RULES)
    assert not report.failed
    return engine


def test_a_sentence_that_presents_what_follows_brings_it(rules):
    """"Here are the two rules ...", chosen as a runner-up, is not the answer's last word."""
    reply = rules.grounded.explain("Which rules does the harbour office never bend?")
    assert not reply.declined and "No keeper leaves the rock" in reply.answer, reply.answer


def test_a_presenting_sentence_leads_into_the_next(rules):
    from tutor.responders.evidence import rank_sentences

    ranked = rank_sentences(rules.retriever.search("Which rules does the harbour office never bend?", k=4))
    lead = next(e for e in ranked if e.text.startswith("Here are"))
    assert lead.follows is not None and lead.follows.text.startswith("No keeper")


@pytest.mark.parametrize("second, goes_on", [
    ("Nor is it lit on the night of a full moon.", True),
    ("So the keepers rest that night.", True),
    ("But the keepers light it when a storm comes.", True),  # turns what came before
    ("However, the keepers light it when a storm comes.", True),
    ("But is it ever lit on the night of a full moon?", False),  # a question goes on from nothing
    ("The keepers rest on the night of a full moon.", False),
])
def test_a_sentence_that_cannot_stand_alone_goes_on_from_the_one_before(second, goes_on):
    from tutor.parsed import ParsedDocument
    from tutor.responders.evidence import _continues

    parsed = ParsedDocument.parse("d", "h", f"The lamp is not lit in the first week of the year. {second}")
    assert _continues(parsed, 1) is goes_on


def test_a_pinned_sentence_that_points_back_brings_what_it_points_to():
    """What the article says instead of a false premise is pinned into the answer;
    when it says "This is the day ...", the sentence before comes too, even when
    another sentence ranks first."""
    from tutor.responders.evidence import Evidence, select_evidence
    from tutor.retrieve import Candidate

    before = Candidate(0, "d", 0, 0, 30, "The keeper rows on calm days.", 0.5)
    pinned = Evidence("d", 31, 70, "This is the day the office pays them.", 0, 0.4, number=1, leans=before)
    top = Evidence("d", 100, 140, "Storms close the harbour in winter.", 0, 0.9, number=3)
    said = [e.text for e in select_evidence([top], pinned=[pinned])]
    assert said == [before.text, pinned.text, top.text]


def test_a_correction_that_points_back_is_quoted_with_what_it_points_to(tmp_path, ingest_article):
    """A false premise is answered with what the article says instead; when that
    sentence says "This is the day ...", the correction also says which day."""
    report, engine = ingest_article(tmp_path, "harbour.md", HARBOUR)
    assert not report.failed
    reply = engine.grounded.explain("Since the harbour office never pays the keepers, how do they live?")
    assert reply.answer.startswith("Careful"), reply.answer
    assert "first calm morning" in reply.answer and "pays the keepers" in reply.answer, reply.answer


def test_the_sentence_that_gives_the_asked_date_joins_a_better_ranked_one():
    """"In what year did ...?": when the best sentence gives no year, a likely
    runner-up that does joins it, although it ranks well below (under
    `RUNNER_UP` of the best, above the ranker's floor); one below the floor does not."""
    from tutor.ranking import ranker
    from tutor.responders.evidence import RUNNER_UP, Evidence, select_evidence

    floor = ranker().runner_up
    top = Evidence("d", 0, 40, "The lamp of the tower burns all night.", 0, 0.9, number=0,
                   serves=frozenset({0, 1}))
    low = round(max(floor, 0.0) + 0.01, 3)
    assert low < RUNNER_UP * top.score
    dated = Evidence("d", 50, 90, "The lamp was first lit in 1855.", 0, low, number=3, serves=frozenset({-1, 0}))
    assert [e.text for e in select_evidence([top, dated])] == [top.text, dated.text]
    below = Evidence("d", 50, 90, dated.text, 0, floor - 0.01, number=3, serves=dated.serves)
    assert [e.text for e in select_evidence([top, below])] == [top.text]
    # without the date, the same score stays out
    plain = Evidence("d", 50, 90, "The lamp was first lit by a keeper.", 0, low, number=3, serves=frozenset({2}))
    assert [e.text for e in select_evidence([top, plain])] == [top.text]


@pytest.mark.parametrize("first, second, takes_up", [
    ("I ask every new keeper the same hard questions.", "One question is this: could the light run itself?", True),
    ("The office keeps two rules for the lamp.", "The first rule is that it never goes out.", True),
    ("The office keeps two rules for the lamp.", "Another rule says the lens is cleaned daily.", True),
    ("The office keeps two rules for the lamp.", "The keepers rest on Sundays.", False),
    ("The office keeps a rule for the lamp.", "One rule is that it never goes out.", False),  # no plural to take up
])
def test_a_sentence_that_takes_up_one_of_the_things_named_goes_on_from_it(first, second, takes_up):
    from tutor.parsed import ParsedDocument
    from tutor.responders.evidence import _takes_up

    parsed = ParsedDocument.parse("d", "h", f"{first} {second}")
    assert _takes_up(parsed, 0, 1) is takes_up


def test_a_likely_sentence_right_after_the_best_one_goes_on_with_it():
    """"I made a little log ..." + "I ruled each page ...": the next sentence
    serves no question word the best one lacks, but it is likely and right
    after it, so it comes along; the same sentence elsewhere does not."""
    from tutor.responders.evidence import RUNNER_UP, Evidence, select_evidence

    top = Evidence("d", 0, 40, "I made a little log with a page for each lamp.", 0, 0.9, number=4,
                   serves=frozenset({0, 1}))
    likely = RUNNER_UP * top.score + 0.01
    after = Evidence("d", 41, 90, "I ruled each page in red, one column a night.", 0, likely, number=5,
                     topical=0.5, serves=frozenset({0}))
    assert [e.text for e in select_evidence([top, after])] == [top.text, after.text]
    apart = Evidence("d", 200, 250, after.text, 0, likely, number=9, topical=0.5, serves=frozenset({0}))
    assert [e.text for e in select_evidence([top, apart])] == [top.text]
    # right after it but about something else ("In contrast, the boatmen ...")
    other = Evidence("d", 41, 90, "In contrast, the boatmen row at dawn.", 0, likely, number=5, topical=0.0,
                     serves=frozenset({0}))
    assert [e.text for e in select_evidence([top, other])] == [top.text]


def test_the_reason_after_a_bare_reply_keeps_the_sentence_that_turns_it():
    """"Should the lamp burn all night?" "Yes." "In a calm year it might not
    need to." "However, ...": the reason after the reply is quoted with the
    sentence that turns it, or the answer would say the opposite of the article."""
    from tutor.responders.evidence import Evidence, select_evidence
    from tutor.retrieve import Candidate

    def cand(n, text):
        return Candidate(0, "d", n, n * 100, n * 100 + len(text), text, 0.5)

    texts = ["Should the lamp burn all night?", "Yes.", "In a calm year it might not need to.",
             "However, ships pass at every hour, so the keeper tends it until dawn."]
    ranked = [Evidence("d", n * 100, n * 100 + len(t), t, 0, 0.9 - n * 0.3, number=n,
                       follows=cand(n + 1, texts[n + 1]) if n in (0, 2) else None, continued=n == 2)
              for n, t in enumerate(texts)]
    said = [e.text for e in select_evidence(ranked)]
    assert said == texts
