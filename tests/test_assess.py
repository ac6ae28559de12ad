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
    assert accuracy >= 0.90


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
        ("Leaders set direction.", LEADERS, "partial"),
        ("Managers establish direction.", LEADERS, "incorrect"),
        ("Leaders do not set direction.", LEADERS, "incorrect"),
    ],
)
def test_hard_cases(scorer, reply, case, verdict):
    result = assess_reply(reply, scorer=scorer, **case)
    assert result.verdict == verdict, result
    assert 'The article says: "' in result.feedback and case["quotes"][0] in result.feedback


def test_partial_names_matched_and_missing(scorer):
    result = assess_reply("They align people.", scorer=scorer, **LEADERS)
    assert result.verdict == "partial"
    assert result.matched == ("align",) and result.missing == ("direction", "motivate")
    assert result.score == pytest.approx(1 / 3, abs=1e-3)
    assert result.feedback.startswith("Partly right: you have align but not direction, motivate.")


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
