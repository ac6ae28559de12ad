"""What a question takes for granted (the grounded responder's false-premise check)."""

from __future__ import annotations

import pytest

from tutor.responders.grounded import question_premise


@pytest.mark.parametrize(
    "question, premise",
    [
        ("Since leaders plan and budget, what do managers do?", "leaders plan and budget"),
        ("Why does the dough rise after an hour in the fridge?", "the dough rise after an hour in the fridge"),
        ("What does the article say about budgets?", None),
        ("Why is that option appealing?", None),  # points back into the dialogue
        # the learner asks how to do something: nothing about the article's world is claimed
        ("How do I install the Go fonts on Windows so that Word can use them?", None),
        ("How can we test in NumPy whether a matrix is Hermitian?", None),
        ("How should you store the finished loaf?", None),
    ],
)
def test_question_premise(question, premise):
    assert question_premise(question) == premise
