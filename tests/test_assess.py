"""Assessing learner replies: accuracy on the labeled set and the hard cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutor.assess import assess_reply, keyword_groups
from tutor.embedder import get_embedder
from tutor.support import SupportScorer

DATA = Path(__file__).resolve().parent / "data" / "learner_replies.jsonl"
MGMT = dict(
    question="According to Kotter, what does management cope with?",
    reference="Management copes with complexity.",
    quotes=["Management, Kotter argues, copes with complexity."],
    keywords=["complexity|complex"],
)
LEADERS = dict(
    question="What do leaders do, according to Kotter?",
    reference="Leaders establish direction, align people, and motivate and inspire.",
    quotes=["In contrast, leaders establish direction, align people, and motivate and inspire."],
    keywords=["direction", "align", "motivate|inspire"],
)


WAIT = dict(  # issue 9: a correct reply in the learner's own words
    question="What should you do if the dough does not pass the test yet?",
    reference="Wait another 15 minutes and try again.",
    quotes=["If not, wait another 15 minutes and try again."],
)
HEAT = dict(  # an amount with its unit is one part: "230 °C" is not "230" and "C"
    question="At what heat is the kiln fired?",
    reference="At 900 °C, that is 1652 °F.",
    quotes=["Fire the kiln at 900 degrees Celsius (1652 Fahrenheit)."],
)
OPTIONS = dict(  # issue 11: the reference's negation ("not worth maintaining") said positively
    question="What three options does Terry offer participants about the categories of leadership, "
    "management, and expertise?",
    reference="The categories are clearly distinguishable, they overlap, or they are useless and not worth maintaining.",
    quotes=["Are the categories of leadership, management, and expertise clearly distinguishable, do they "
            "overlap, or are they useless and not worth maintaining?"],
    keywords=["distinguish|distinct", "overlap", "useless|not worth"],
)


@pytest.fixture(scope="module")
def scorer() -> SupportScorer:
    return SupportScorer(get_embedder())


def test_accuracy_on_labeled_replies(scorer):
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    assert len(rows) >= 48 and len({r["question"] for r in rows}) >= 10
    verdicts = [
        assess_reply(
            r["reply"],
            question=r["question"],
            reference=r["reference"],
            quotes=r["quotes"],
            keywords=r["keywords"],
            scorer=scorer,
        ).verdict
        for r in rows
    ]
    accuracy = sum(v == r["label"] for v, r in zip(verdicts, rows, strict=True)) / len(rows)
    print(f"assessment accuracy {accuracy:.3f} on {len(rows)} replies")
    # a regression floor for the packaged models (fitted on these replies among others);
    # the gate of issue 9 (0.90, article left out of the fitting) is `tutor eval --replies`
    assert accuracy >= 0.75


@pytest.mark.parametrize(
    "reply, case, verdict",
    [
        ("complexity", MGMT, "correct"),
        ("It handles complexity.", MGMT, "correct"),
        ("Management copes with complexity, according to Kotter.", MGMT, "correct"),
        ("Leadership copes with complexity.", MGMT, "incorrect"),
        ("Management does not cope with complexity.", MGMT, "incorrect"),
        ("Not change but complexity.", MGMT, "correct"),
        ("change", MGMT, "incorrect"),
        ("I like pizza.", MGMT, "incorrect"),
        ("", MGMT, "incorrect"),
        ("  \n\t", MGMT, "incorrect"),
        ("I don't know", MGMT, "incorrect"),
        ("I don't know, maybe complexity?", MGMT, "correct"),
        ("Leaders set direction, align people and motivate them.", LEADERS, "correct"),
        ("Managers establish direction.", LEADERS, "incorrect"),
        ("Leaders do not set direction.", LEADERS, "incorrect"),
        ("Let it rest for a quarter of an hour and then try again.", WAIT, "correct"),
        ("wait 15 minutes and try again", WAIT, "correct"),
        ("900C / 1652F", HEAT, "correct"),
        ("900 degrees Celsius", HEAT, "correct"),
        ("700C", HEAT, "incorrect"),
        ("They are distinguishable, they overlap, or they are useless.", OPTIONS, "correct"),
        ("They are distinguishable or they overlap.", OPTIONS, "partial"),
    ],
)
def test_hard_cases(scorer, reply, case, verdict):
    result = assess_reply(reply, scorer=scorer, **case)
    assert result.verdict == verdict, result
    assert 'The article says: "' in result.feedback and case["quotes"][0] in result.feedback


def test_kotter_same_thing_is_not_supported(scorer):
    """Issue 9: a claim that reverses "distinct" is not backed by the article."""
    passage = "Leadership and management are distinct, complementary systems of action."
    assert not scorer.score("Kotter thinks leadership and management are essentially the same thing.", [passage]).supported


def test_partial_names_matched_and_missing(scorer):
    result = assess_reply("They are distinguishable or they overlap.", scorer=scorer, **OPTIONS)
    assert result.verdict == "partial"
    assert result.matched == ("distinguish", "overlap") and result.missing == ("useless",)
    assert result.score == pytest.approx(2 / 3, abs=1e-3)
    assert result.feedback.startswith("Partly right: you have distinguish, overlap but not useless.")


def test_feedback_explains_the_error(scorer):
    assert assess_reply(
        "Leadership copes with complexity.", scorer=scorer, **MGMT
    ).feedback.startswith("Not quite: check who does what.")
    assert assess_reply(
        "Management does not cope with complexity.", scorer=scorer, **MGMT
    ).feedback.startswith("Not quite: the article says the opposite.")
    assert assess_reply("complexity", scorer=scorer, **MGMT).feedback.startswith("Correct.")


def test_works_without_scorer_and_without_keywords():
    case = dict(MGMT, keywords=())
    assert keyword_groups((), case["question"], case["reference"]) == [["complexity"]]
    assert assess_reply("Complexity.", **case).verdict == "correct"
    assert assess_reply("Management does not cope with complexity.", **case).verdict == "incorrect"


def test_a_reply_that_states_no_part_is_never_partly_right():
    """Whatever the model leans to, "partial" needs a part of the answer stated."""
    import numpy as np

    from tutor.assess import REPLY_FEATURES, verdict_from
    from tutor.fitting import MultinomialModel

    n = len(REPLY_FEATURES)
    leans_partial = MultinomialModel(REPLY_FEATURES, ("correct", "partial", "incorrect"), np.zeros(n),
                                     np.ones(n), np.zeros((3, n)), np.array([0.0, 2.0, 1.0]))
    nothing = dict.fromkeys(REPLY_FEATURES, 0.0) | {"parts": 2.0, "length": 2.0}
    assert verdict_from(nothing, leans_partial) == "incorrect"
    assert verdict_from(nothing | {"recall_mean": 0.5, "recall_min": 0.0}, leans_partial) == "partial"


ROLL = dict(
    question="Who keeps the lamp lit through the night?",
    reference="The keepers keep the lamp lit until dawn.",
    quotes=["The keepers keep the lamp lit until dawn, while the boatmen row the supplies out."],
)


def test_a_foreign_subject_is_a_swap_only_when_the_article_uses_it(scorer):
    """"The boatmen keep the lamp lit" names another of the article's people: a
    swap, incorrect. "The wardens ..." is the learner's own word for the keepers
    when the article never says "warden": left to the model, not vetoed."""
    from tutor.assess import reply_features

    article = frozenset({"keeper", "keep", "lamp", "light", "dawn", "boatman", "row", "supply"})
    swapped = reply_features("The boatmen keep the lamp lit.", scorer=scorer, article_terms=article, **ROLL)
    assert swapped["subject_foreign"] == 0  # "boatmen" is in the quotes: no foreign subject, matched as written
    other = reply_features("The painters keep the lamp lit.", scorer=scorer,
                           article_terms=article | {"painter"}, **ROLL)
    assert other["subject_foreign"] == 1
    assert assess_reply("The painters keep the lamp lit.", scorer=scorer, article_terms=article | {"painter"},
                        **ROLL).verdict == "incorrect"
    own = reply_features("The painters keep the lamp lit.", scorer=scorer, article_terms=article, **ROLL)
    assert own["subject_foreign"] == 0
    # without the article every foreign subject counts, as before
    assert reply_features("The painters keep the lamp lit.", scorer=scorer, **ROLL)["subject_foreign"] == 1
