"""Question banks drafted from the article's parse (issue 10, points 6 and 7):
the question forms, keywords, coverage, the bank ingest stores, and the score
of the drafts on every dev article and the seed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tutor.corpus import load_document
from tutor.parsed import ParsedDocument
from tutor.question_drafts import (
    Section,
    _drafts_for,
    draft_from_parse,
    keyword_is_content,
    prose_sections,
    section_id,
)
from tutor.questions import BLANK, check_bank, matches_keyword

REPO = Path(__file__).resolve().parent.parent
ARTICLES = sorted(p for p in (REPO / "evals" / "articles").glob("*/article.*"))
SEED = REPO / "corpus" / "leadership-vs-management.md"


def drafts(sentence: str) -> dict[str, tuple[str, list[str]]]:
    p = ParsedDocument.parse("d", "h", sentence)
    return {d.kind: (d.question, d.keywords) for d in _drafts_for(p.span(0), 0, Section((), 0, len(sentence)))}


@pytest.mark.parametrize(
    "sentence, kind, question, keyword",
    [
        ("A glacier is a persistent body of dense ice that moves under its own weight.", "definition",
         "What is a glacier?", "ice"),
        ("The dough rises because the yeast produces gas.", "cause", "Why does the dough rise?", "gas"),
        ("Sailors avoided the strait because its currents were dangerous.", "cause",
         "Why did sailors avoid the strait?", "currents"),
        ("The town built a wall to protect its harbour.", "cause", "Why did the town build a wall?", "harbour"),
        ("The northern valley is colder than the southern coast.", "comparison",
         "How does the northern valley compare with the southern coast?", "colder"),
        ("The old bridge has 14 stone arches.", "quantity", "How many stone arches does the old bridge have?", "14"),
        ("The cathedral was completed in 1248.", "date", "When was the cathedral completed?", "1248"),
        ("Marie Curie discovered polonium.", "name", "Who discovered polonium?", "Curie"),
        ("The committee meets in Geneva every year.", "place", "Where does the committee meet?", "Geneva"),
        ("Farmers store the grain in tall wooden silos.", "object", "What do farmers store in tall wooden silos?",
         "grain"),
        ("Knead the dough on a floured table for ten minutes.", "step",
         "What should you knead on a floured table for ten minutes?", "dough"),
        # the "shall" of a rule is "must" to a learner, and "X shall mean Y" defines X
        ("The keeper shall record the weather in the logbook every four hours.", "object",
         "What must the keeper record in the logbook?", "weather"),
        ("Keepers shall mean the people who tend the lamps at night.", "object", "What do keepers mean?", "people"),
    ],
)
def test_question_forms(sentence, kind, question, keyword):
    made = drafts(sentence)
    assert kind in made, made
    assert made[kind][0] == question
    assert keyword in made[kind][1] and all(keyword_is_content(k) for k in made[kind][1])


def test_no_question_cut_from_a_sentence_that_runs_on_with_dots():
    """". . .North and South. . .": the transcript's dots would leave "these
    boats.North and South" inside a drafted question."""
    made = drafts("Can we forge against these storms a grand and global fleet. . .North and South. . .")
    assert not any(re.search(r"[a-z]\.[A-Z]|\.\s*\.", q) for q, _ in made.values()), made
    assert drafts("We forge against these storms a grand and global fleet.")["object"][0] == (
        "What do we forge against these storms?")  # the same sentence without the dots is asked


def test_no_question_without_saying_what_it_is_about():
    assert drafts("It is a persistent body of dense ice.") == {}  # a pronoun subject
    assert drafts("Its job is to generate documentation for Rust projects.") == {}  # "What is its job?"
    assert drafts("This method is the safest way to store the dough.") == {}
    assert drafts("They weigh 500 grams.") == {}  # "How many grams do they weigh?"
    assert drafts("The loaves weigh 500 grams.")  # the same sentence naming its subject is asked
    assert "step" not in drafts("Take the knife.")  # "What should you take?" says nothing


@pytest.mark.parametrize("keyword, ok", [
    ("gluten", True), ("baking tray", True), ("1961", True), ("Geneva", True), ("the", False),
    ("make", False), ("using", False), ("want", False), ("first of", False),
])
def test_keyword_is_content(keyword, ok):
    assert keyword_is_content(keyword) is ok


@pytest.mark.parametrize("path", ARTICLES + [SEED], ids=lambda p: p.parent.name if p.name.startswith("article") else p.stem)
def test_drafts_on_every_dev_article(path):
    """Parse only (fast): content keywords, no repeated answer, every prose section covered, valid bank."""
    document = load_document(path)
    parsed = ParsedDocument.parse(document.doc_id, document.content_hash, document.text)
    bank = draft_from_parse(document, parsed)
    check_bank(bank, document, source="draft")
    questions = bank.questions
    assert questions
    good = sum(all(keyword_is_content(k) for k in q.keywords) for q in questions)
    assert good / len(questions) >= 0.95
    assert len({q.answer for q in questions}) == len(questions)
    assert {section_id(p) for p in prose_sections(document, parsed)} <= {o.id for o in bank.objectives}
    cloze = [q for q in questions if BLANK in q.question]
    assert len(cloze) <= len(questions) / 2, [q.question for q in cloze]
    for q in questions:
        assert not any(matches_keyword(k, q.question.replace(BLANK, " ")) for k in q.keywords), q


# ---- the bank ingest drafts ------------------------------------------------------------


def _engine(home: Path, embedder):
    from tutor.config import Settings
    from tutor.engine import Engine

    return Engine(Settings(home=home), embedder=embedder)


def test_fresh_article_gets_a_drafted_quiz_at_once(tmp_path, embedder):
    from tutor.session import Session

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(REPO / "evals" / "articles" / "basic-bread-recipe" / "article.md", folder / "bread.md")
    engine = _engine(tmp_path / "home", embedder)
    assert not engine.index.ingest([folder]).failed
    assert engine.bank_is_drafted("bread")
    bank = engine.bank("bread")
    s = Session(engine, mode="quiz", doc_id="bread")
    opening = s.first_message()
    first = bank.question(s.quiz.order[0])
    assert opening.answer == f"Quiz time. Question 1 of {len(bank.questions)}: {first.question}"
    reply = s.send(first.answer)  # the reference answer is right
    assert reply.assessment.verdict == "correct" and "Question 2 of" in reply.answer
    socratic = Session(engine, mode="socratic", doc_id="bread").send(bank.questions[1].question)
    assert not socratic.declined and "hint" in socratic.answer


def test_hand_written_bank_wins(fresh_home, embedder):
    engine = _engine(fresh_home, embedder)
    stored = engine.documents["leadership-vs-management"]
    assert stored.bank_yaml and stored.draft_yaml is None
    assert not engine.bank_is_drafted("leadership-vs-management")
    assert not any(q.id.startswith("q-draft") for q in engine.bank("leadership-vs-management").questions)


def test_reingest_of_a_changed_article_replaces_its_drafted_bank(tmp_path, embedder):
    article = tmp_path / "in" / "notes.md"
    article.parent.mkdir()
    article.write_text(
        "# Harbours\n\n## Walls\n\nThe town built a wall to protect its harbour. The old bridge has 14 stone arches.\n\n"
        "## Trade\n\nFarmers store the grain in tall wooden silos. Sailors avoided the strait because its "
        "currents were dangerous.\n", encoding="utf-8")
    engine = _engine(tmp_path / "home", embedder)
    engine.index.ingest([article])
    first = engine.documents["notes"].draft_yaml
    before = {q.question for q in engine.bank("notes").questions}
    assert "Why did the town build a wall?" in before

    engine.index.ingest([article])  # unchanged: the same bank, nothing drafted again
    assert engine.documents["notes"].draft_yaml == first

    article.write_text(article.read_text().replace(
        "The town built a wall to protect its harbour.", "The cathedral was completed in 1248."), encoding="utf-8")
    engine.index.ingest([article])
    engine.index.snapshot(max_age=0)
    after = {q.question for q in engine.bank("notes").questions}
    assert "When was the cathedral completed?" in after
    assert "Why did the town build a wall?" not in after
    check_bank(engine.bank("notes"), engine.documents["notes"])


# ---- point 7: the drafts answered from the article ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", ARTICLES + [SEED], ids=lambda p: p.parent.name if p.name.startswith("article") else p.stem)
def test_drafted_questions_are_answered_from_the_article(path, embedder):
    """Each article alone in a fresh home: the bank ingest drafts, every question
    asked through a real Session (grounded responder), its keywords in the answer."""
    from tutor.evals.drafts import TARGET_ANSWERED, TARGET_KEYWORDS, score_article

    score = score_article(path, embedder=embedder)
    assert score.questions >= score.sections
    assert score.keywords_content >= TARGET_KEYWORDS, score.failures
    assert score.answered >= TARGET_ANSWERED, score.failures
    assert score.duplicates == 0
    assert score.sections_covered == score.sections


# ---- with an LLM: its drafts are kept only when quote and keyword check out ----------------


def test_llm_drafts_are_checked_and_topped_up_from_the_parse():
    import json

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from tutor.drafting import draft

    document = load_document(SEED)
    quote = "Management is doing things right; leadership is doing the right things."
    items = [
        {"objective": "Define both", "question": "How does Drucker contrast the two?", "answer": quote,
         "quote": quote, "keyword": "right things"},
        {"objective": "Made up", "question": "What do managers hate?", "quote": "Managers hate change.",
         "keyword": "change"},  # not in the article
        {"objective": "Wrong keyword", "question": "What is management?", "quote": quote,
         "keyword": "complexity"},  # not in its quote
    ]
    model = FakeListChatModel(responses=["Here you are:\n" + json.dumps(items)])
    bank, note = draft(document, n=4, chat_model=model)
    check_bank(bank, document, source="draft")
    assert len(bank.questions) == 4 and note.startswith("1 LLM questions kept")
    llm = [q for q in bank.questions if q.id.startswith("q-llm")]
    assert [q.question for q in llm] == ["How does Drucker contrast the two?"]
    assert all(q.id.startswith("q-draft") for q in bank.questions if q not in llm)
    assert not any(quote in q.quotes[0] for q in bank.questions if q not in llm), "no second question on that quote"
