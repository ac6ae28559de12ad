"""Question banks: the authored seed bank, validation failures, cloze, keywords, drafts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tutor.corpus import load_document
from tutor.errors import QuestionBankError
from tutor.questions import (
    BLANK,
    QuestionBank,
    bank_path_for,
    check_bank,
    cloze,
    draft_bank,
    dump_bank,
    load_bank,
    matches_keyword,
    parse_bank,
)

CORPUS = Path(__file__).parent.parent / "corpus"
ARTICLE = CORPUS / "leadership-vs-management.md"
BANK = CORPUS / "leadership-vs-management.questions.yaml"

# Each section of the article, and a phrase a bank quote must contain to cover it.
SECTIONS = {
    "survey and vote": "votes for the last option",
    "three categories": "useless and not worth maintaining",
    "management copes with complexity": "copes with complexity",
    "leadership copes with change": "leadership copes with change",
    "what managers do": "managers plan and budget",
    "what leaders do": "leaders establish direction",
    "Drucker quote": "doing the right things",
    "mission and meaning vs structure and resources": "mission and meaning",
    "leaders' trap: power": "preoccupy themselves with power",
    "managers' trap: structure": "undue attention to structure",
    "experts' trap: own importance": "their own importance",
    "technical experts' role": "match resources to structural problems",
    "beyond position": "authentic engagement",
    "affirms and pushes beyond": "deeper unity of purpose and value",
}


@pytest.fixture(scope="module")
def document():
    return load_document(ARTICLE)


@pytest.fixture(scope="module")
def bank(document):
    return load_bank(BANK, document)


def minimal_bank(**question) -> dict:
    q = {"id": "q-one", "question": "What does management cope with?",
         "answer": "Management copes with complexity.",
         "quotes": ["Management, Kotter argues, copes with complexity."],
         "keywords": ["complexity"]}
    q.update(question)
    return {"doc_id": "leadership-vs-management",
            "objectives": [{"id": "obj", "title": "An objective", "questions": [q]}]}


def expect_error(document, data_or_text, tmp_path) -> str:
    path = tmp_path / "bad.questions.yaml"
    text = data_or_text if isinstance(data_or_text, str) else yaml.safe_dump(data_or_text)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionBankError) as err:
        load_bank(path, document)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


# ---- the authored bank --------------------------------------------------------


def test_bank_path_for():
    assert bank_path_for(ARTICLE) == BANK


def test_seed_bank_loads_and_validates(bank):
    assert bank.doc_id == "leadership-vs-management"
    assert len(bank.questions) >= 12 and len(bank.objectives) >= 5
    assert len({q.id for q in bank.questions}) == len(bank.questions)
    for objective in bank.objectives:
        assert all(q.objective_id == objective.id for q in objective.questions)
    assert bank.question("q-management-copes").keywords == ["complexity"]


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_seed_bank_covers_every_section(bank, section):
    quotes = " ".join(quote for q in bank.questions for quote in q.quotes)
    assert SECTIONS[section] in quotes


def test_seed_bank_questions_are_answerable_by_their_own_keywords(bank):
    for q in bank.questions:
        assert q.keywords, q.id
        assert all(matches_keyword(k, q.answer) or any(matches_keyword(k, x) for x in q.quotes)
                   for k in q.keywords), q.id


def test_seed_bank_every_keyword_is_hidden_by_the_cloze_of_some_quote(bank):
    for q in bank.questions:
        clozes = [cloze(quote, q.keywords) for quote in q.quotes]
        assert any(BLANK in c for c in clozes), q.id


def test_dump_and_parse_round_trip(bank, document):
    again = parse_bank(dump_bank(bank), document, source="round trip")
    assert again == bank
    assert "objective_id" not in dump_bank(bank)


# ---- validation failures ---------------------------------------------------------


def test_non_verbatim_quote_names_the_question(document, tmp_path):
    data = minimal_bank(id="q-made-up", quotes=["Management copes with chaos."])
    message = expect_error(document, data, tmp_path)
    assert "q-made-up" in message and "verbatim" in message


def test_quote_whitespace_differences_are_tolerated(document):
    data = minimal_bank(quotes=["Management,  Kotter argues,\n copes with\u00a0complexity."])
    check_bank(QuestionBank.model_validate(data), document)


def test_duplicate_question_ids_fail(document, tmp_path):
    data = minimal_bank()
    data["objectives"].append({"id": "obj-2", "title": "Another",
                               "questions": [dict(data["objectives"][0]["questions"][0])]})
    message = expect_error(document, data, tmp_path)
    assert "q-one" in message and "more than once" in message


def test_duplicate_objective_ids_fail(document, tmp_path):
    data = minimal_bank()
    other = dict(data["objectives"][0]["questions"][0], id="q-two")
    data["objectives"].append({"id": "obj", "title": "Again", "questions": [other]})
    assert "objective id 'obj'" in expect_error(document, data, tmp_path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("doc_id: x\nobjectives: [\n  - id: broken", "not valid YAML at line"),
        ("doc_id: leadership-vs-management\nobjectives:\n  - id: a\n   title: bad indent\n",
         "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("", "expected a mapping"),
    ],
)
def test_malformed_yaml_fails_with_one_line(document, tmp_path, text, expected):
    assert expected in expect_error(document, text, tmp_path)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"answer": None}, "question 'q-one': field 'answer'"),
        ({"quotes": []}, "question 'q-one': field 'quotes'"),
        ({"surprise": 1}, "question 'q-one': field 'surprise'"),
        ({"keywords": ["flamingo"]}, "keyword 'flamingo'"),
    ],
)
def test_invalid_question_fields_name_the_question(document, tmp_path, change, expected):
    data = minimal_bank(**change)
    data["objectives"][0]["questions"][0] = {
        k: v for k, v in data["objectives"][0]["questions"][0].items() if v is not None}
    assert expected in expect_error(document, data, tmp_path)


def test_wrong_doc_id_fails(document, tmp_path):
    data = dict(minimal_bank(), doc_id="another-article")
    assert "does not match" in expect_error(document, data, tmp_path)


def test_missing_bank_file(document, tmp_path):
    with pytest.raises(QuestionBankError, match="no such question bank"):
        load_bank(tmp_path / "none.questions.yaml", document)


# ---- cloze and keywords -----------------------------------------------------------


@pytest.mark.parametrize(
    "quote, keywords, expected",
    [
        ("Management, Kotter argues, copes with complexity.", ["complexity"],
         "Management, Kotter argues, copes with _____."),
        ("Management, Kotter argues, copes with complexity.", ["complex"],
         "Management, Kotter argues, copes with _____."),
        ("Leadership tends toward mission and meaning.", ["mission|meaning"],
         "Leadership tends toward _____ and _____."),
        ("Managers threatened by change give undue attention to structure.", ["Structure"],
         "Managers threatened by change give undue attention to _____."),
        ("moving counter-clockwise around the Action Wheel", ["counter-clockwise"],
         "moving _____ around the Action Wheel"),
        ("Managers organize and staff.", ["organise|organize", "staff"], "Managers _____ and _____."),
        ("Nothing to hide here.", ["complexity"], "Nothing to hide here."),
    ],
)
def test_cloze(quote, keywords, expected):
    assert cloze(quote, keywords) == expected


def test_cloze_leaves_no_keyword_visible_in_seed_bank(bank):
    for q in bank.questions:
        for quote in q.quotes:
            hidden = cloze(quote, q.keywords)
            assert not any(matches_keyword(k, hidden) for k in q.keywords), (q.id, hidden)


@pytest.mark.parametrize(
    "keyword, text, expected",
    [
        ("complexity", "It copes with complexity.", True),
        ("complex", "It copes with complexity.", True),
        ("complexity", "It copes with change.", False),
        ("structure|resources", "They match resources.", True),
        ("onerous|easier", "Because it is easier.", True),
        ("essential tasks", "take on the tasks that are essential", True),
        ("counter-clockwise", "moving counter-clockwise", True),
    ],
)
def test_matches_keyword(keyword, text, expected):
    assert matches_keyword(keyword, text) is expected


@pytest.mark.parametrize(
    "keyword, expected",
    [("complexity", True), ("complex", True), ("resources", True), ("change", False), ("gravity", False)],
)
def test_matches_keyword_reads_a_parsed_span_without_parsing_it_again(keyword, expected, monkeypatch):
    import tutor.language as L

    paragraph = L.parse_many(["Nothing here. It copes with complexity and shares its resources. The end."])[0]
    span = list(paragraph.sents)[1]
    real = L.parse
    monkeypatch.setattr(L, "parse", lambda text: pytest.fail(f"parsed {text!r}") if text == span.text else real(text))
    assert matches_keyword(keyword, span) is expected


# ---- drafting ----------------------------------------------------------------------


def test_draft_bank_validates_against_its_document(document, tmp_path):
    draft = draft_bank(document, n=8)
    assert len(draft.questions) == 8
    check_bank(draft, document, source="draft")
    path = tmp_path / "draft.questions.yaml"
    path.write_text(dump_bank(draft), encoding="utf-8")
    assert load_bank(path, document) == draft
    assert len(draft_bank(document, n=3).questions) == 3


def test_draft_bank_is_deterministic_and_asks_about_content(document):
    from tutor.question_drafts import keyword_is_content

    first, second = draft_bank(document), draft_bank(document)
    assert dump_bank(first) == dump_bank(second)
    asked = [q for q in first.questions if BLANK not in q.question]
    assert len(asked) >= len(first.questions) / 2, "mostly wh-questions, cloze only as a fallback"
    for q in first.questions:
        assert q.quotes[0] in document.text and q.answer == q.quotes[0]
        assert q.keywords and all(keyword_is_content(k) for k in q.keywords), q
        assert not any(matches_keyword(k, q.question.replace(BLANK, " ")) for k in q.keywords), q
        assert q.hint
    for q in asked:
        assert q.question.endswith("?") and q.question.split()[0] in (
            "What", "Why", "How", "When", "Who", "Where", "Into", "In", "With", "At", "For", "On", "From"), q
    assert len({q.answer for q in first.questions}) == len(first.questions), "no two questions share an answer"


def test_draft_bank_on_other_formats(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text(
        "Gardens Need Care\n\nA garden needs water and light to grow healthy plants every season.\n\n"
        "Plants in a garden compete for water, light and nutrients from the soil.\n\n"
        "Soil with nutrients feeds plants that gardeners water in the morning light.\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    draft = draft_bank(doc, n=2)
    assert len(draft.questions) == 2  # the third sentence is misparsed ("compete" as a noun): not asked
    assert draft.questions[0].question == "Why does a garden need water and light?"  # to grow plants
    check_bank(draft, doc)


def test_a_stored_bank_skips_only_the_keyword_check(document):
    """An index's banks had their keywords checked at ingest; read back, the
    cheap checks (ids, verbatim quotes) still run."""
    from tutor.questions import parse_bank

    wrong_keyword = yaml.safe_dump(minimal_bank(keywords=["gravity"]))
    with pytest.raises(QuestionBankError, match="keyword 'gravity' occurs in neither"):
        parse_bank(wrong_keyword, document)
    assert parse_bank(wrong_keyword, document, keywords_checked=True).questions[0].keywords == ["gravity"]
    wrong_quote = yaml.safe_dump(minimal_bank(quotes=["Words the article never uses."]))
    with pytest.raises(QuestionBankError, match="quote not found verbatim"):
        parse_bank(wrong_quote, document, keywords_checked=True)
