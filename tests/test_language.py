"""The language layer: one spaCy parse, read for sentences, lemmas, negation,
amounts, names, roles and question forms (real en_core_web_sm pipeline)."""

from __future__ import annotations

import pytest

from tutor import language as L


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Morris W. Travers discovered neon in 1898. It glows red.",
         ["Morris W. Travers discovered neon in 1898.", "It glows red."]),
        ("Dr. Lee agreed. See Fig. 3 for the curve.", ["Dr. Lee agreed.", "See Fig. 3 for the curve."]),
        ('He asked: "Is it so?" Nobody answered.', ['He asked: "Is it so?"', "Nobody answered."]),
        ("A heading\n\nThe first paragraph ends here", ["A heading", "The first paragraph ends here"]),
        ("Mix the flour.\n\n- 500 grams of flour\n\n- 10 grams of salt",
         ["Mix the flour.", "- 500 grams of flour", "- 10 grams of salt"]),
        # a spaced ellipsis inside a sentence does not end it; before a capital it may
        ("We waited. . .and the rain stopped. . .at last. Then we left.",
         ["We waited. . .and the rain stopped. . .at last.", "Then we left."]),
        ("We dare not tempt them. . . For only then can we rest.",
         ["We dare not tempt them. . .", "For only then can we rest."]),
    ],
)
def test_sentences_follow_the_parse_and_paragraphs(text, expected):
    spans = L.sentences(text)
    assert [s.text for s in spans] == expected
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_sentence_offsets_shift_and_attributions_stay_with_their_quote():
    spans = L.sentences('"Do it right." ~A. Writer', offset=10, attributions=True)
    assert [(s.start, s.text) for s in spans] == [(10, '"Do it right." ~A. Writer')]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The leaders were coping with complex changes.", ["leader", "cope", "complex", "change"]),
        ("Matrices have eigenvalues; she walked home.", ["matrix", "eigenvalue", "walk", "home"]),
        ("It is not what they said.", []),
    ],
)
def test_terms_are_content_lemmas(text, expected):
    assert L.terms(text) == expected


def test_negation_reads_scope_and_privative_verbs():
    doc = L.parse("The diagonal entries need not be real, and the box lacks a handle.")
    real = next(t for t in doc if t.lower_ == "real")
    handle = next(t for t in doc if t.lower_ == "handle")
    assert L.negation_count(doc) == 2
    assert L.negated(handle)  # "lacks a handle" says there is none
    assert not L.negated(real) or L.negated(real.head)
    assert L.negation_count("No one votes for it.") == 1
    assert L.negation_count("Everyone votes for it.") == 0


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("Let it rest for a quarter of an hour.", "Wait another 15 minutes.", True),
        ("Use half a kilogram of flour.", "Use 500 grams of flour.", True),
        ("A full cycle took a quarter of a year.", "A course took thirteen weeks.", True),
        ("Give it seven days.", "Give it a week.", True),
        ("Use 1 gram of yeast.", "Use 3 grams of yeast.", False),
        ("It was dated 1733.", "It was dated 1773.", False),
        ("It is 53.0% of the size.", "It is 53 percent of the size.", True),
        ("The stems are one and a half times as thick.", "The stems are 1.5 times as thick.", True),
        ("Wait 15 minutes.", "Wait 15 grams.", False),
        ("The road took one thousand days.", "The road took 1,000 days.", True),
        ("The road took one hundred days.", "The road took one thousand days.", False),
        ("Bake it at 230C.", "Bake it at 230 degrees Celsius.", True),
        ("Bake it at 230 °C.", "Bake it at 450 Fahrenheit.", True),  # the same heat on two scales
        ("Bake it at 230 °C.", "Bake it at 250 °C.", False),
        ("Rest it for 15min.", "Rest it for a quarter of an hour.", True),
    ],
)
def test_amounts_compare_across_words_digits_and_units(a, b, same):
    qa, qb = L.quantities(L.parse(a)), L.quantities(L.parse(b))
    assert qa and qb
    assert any(x.matches(y) for x in qa for y in qb) is same


def test_roles_say_who_does_what_to_whom():
    (role,) = [r for r in L.roles(L.parse("The coral gives the algae shelter.")) if r.verb == "give"]
    assert "coral" in role.subject and "alga" in {L.stem(o) for o in role.objects} | role.objects or "algae" in role.objects
    (passive,) = [r for r in L.roles(L.parse("The fonts were designed by the studio.")) if r.verb == "design"]
    assert "studio" in passive.subject and "font" in passive.objects


@pytest.mark.parametrize("question, verb, done_to, sentence", [
    ("Who is the tower named after?", "name", "tower", "The tower is named after the first keeper."),
    ("What are the fonts designed for?", "design", "font", "The fonts were designed for small screens."),
    ("Who was the harbour office built by?", "build", "office", "The harbour office was built by the town."),
])
def test_a_passive_question_says_what_is_done_to_what(question, verb, done_to, sentence):
    """The small parser hangs the participle of a passive question on its subject
    ("tower" <-acl- "named") and makes "be" the verb; the roles read it as the
    passive it is, and the ranker matches it with the sentence that answers it."""
    from tutor.ranking import ROLE_SAME, _role_fit

    (role,) = L.roles(L.parse(question))
    assert role.verb == verb and done_to in role.objects and role.passive and not role.subject
    assert _role_fit([role], L.parse(sentence)[:]) == ROLE_SAME


@pytest.mark.parametrize(
    "question,forms,focus",
    [
        ("Who designed the typeface, and in what year was it released?", ("PERSON", "TIME"), ()),
        ("How many grams of salt go in?", ("AMOUNT",), ()),
        ("What title did the author give the book?", ("THING",), ("title",)),
        ("What share of the flour is water?", ("AMOUNT",), ("flour", "share")),
        ("Does the dough rise overnight?", (), ()),
        # a subordinate "when" clause or a relative "whom" asks nothing: the main wh-word does
        ("When the dough is sticky, what should you add?", ("THING",), ()),
        ("What do bakers get when they fold the dough?", ("THING",), ()),
        ("How does he describe the people to whom the prize was given?", ("MANNER",), ()),
        ("When does the dough stop rising?", ("TIME",), ()),
        # the noun its modifiers qualify, and a version is named by its number
        ("In which Harbour release did the tide tables become exact?", ("AMOUNT",), ("release",)),
        ("Which type foundry cast the letters?", ("THING",), ("foundry",)),
    ],
)
def test_question_forms(question, forms, focus):
    form = L.question_form(question)
    assert form.forms == forms
    assert set(focus) <= set(form.focus)


def test_names_are_entities_and_proper_nouns():
    names = L.names(L.parse("In 1855 Charles Hermite showed it to the Academy in Paris."))
    assert {"charles", "hermite", "paris"} <= names


def test_parse_is_cached_for_short_texts():
    assert L.parse("What is a matrix?") is L.parse("What is a matrix?")


@pytest.mark.parametrize(
    "text, markers",
    [
        ("1. Provide a working space for 20 people.", ["1"]),
        ("Intro:\n2) Educate students.", ["2"]),
        ("(3) Then rest it for 45 minutes.", ["3"]),
        ("We waited 2. Then we left.", []),  # a number that ends a sentence
        ("Step 3) Knead for 10 minutes.", []),  # a label inside the line
        ("In 1855. Hermite showed it.", []),
    ],
)
def test_list_markers_are_labels_not_amounts(text, markers):
    doc = L.parse_many([text])[0]
    assert [t.text for t in doc if L.is_list_marker(t)] == markers


def test_a_numbered_list_does_not_answer_how_much():
    from tutor import coverage

    form = L.question_form(L.parse("What share of the budget goes to training?"))
    listed = L.parse_many(["1. Provide a working space where people can connect."])[0]
    counted = L.parse_many(["About 40 percent goes to training."])[0]
    assert coverage.answers_form(form, [listed[:]]) == 0.0
    assert coverage.answers_form(form, [counted[:]]) == 1.0


def test_a_file_name_with_digits_is_no_number():
    """The small model labels "03_tide_tables.ipynb" CARDINAL; a file name or a
    path does not answer "how many", the count in the next line does."""
    from tutor import coverage

    form = L.question_form(L.parse("How many tide tables does the harbour office keep?"))
    named = L.parse_many(["03_tide_tables.ipynb | A notebook that plots the harbour office's tide tables."])[0]
    counted = L.parse_many(["The harbour office keeps 40 tide tables."])[0]
    assert [t.text for t in named if L.is_number(t)] == []
    assert [t.text for t in L.parse("It took 175 ships, 2.5 hours and thirteen weeks in 1855.") if L.is_number(t)
            ] == ["175", "2.5", "thirteen", "1855"]  # a unit is no number
    assert coverage.answers_form(form, [named[:]]) == 0.0
    assert coverage.answers_form(form, [counted[:]]) == 1.0
    # a date's words are no number, but they still say when
    today = L.parse("Today the harbour office opened its new tide tables.")
    assert not any(L.is_number(t) for t in today)
    assert coverage.answers_form(L.question_form("When did the office open its tables?"), [today[:]]) == 1.0


def test_a_condition_answers_when_but_not_which_year():
    from tutor.coverage import answers_form

    answer = [L.parse("The valve opens if and only if the pressure rises.")[:]]
    assert answers_form(L.question_form("When does the valve open?"), answer) == 1.0
    assert answers_form(L.question_form("In which year did the valve first open?"), answer) == 0.0
    # a past event asks when it happened: a condition does not say
    for q, said in (("When does the valve open?", 1.0), ("When did the valve open?", 0.0)):
        assert answers_form(L.question_form(q), answer, L.parse(q)) == said, q


def test_temperature_scales_need_a_degree_sign_or_their_name():
    """"230 °C", "230C" and "450 Fahrenheit" are temperatures; a bare letter after
    a number ("row 5 F.") is not, and a year-like number keeps its scale ("1652 °F")."""
    def units(text):
        return [q.unit for q in L.quantities(L.parse(text))]

    assert units("Heat it to 1652 °F.") == ["degree_Fahrenheit"]
    assert units("Heat it to 230C.") == ["degree_Celsius"]
    assert units("Sit in row 5 F.") == [None]


def test_open_class_words_on_the_stop_list_are_content():
    """spaCy's stop list holds "name", "call", "show": "Who is the tower named
    after?" is about naming, and "What is the first watch called?" about a name."""
    assert "name" in L.terms("Who is the tower named after?")
    assert "call" in L.terms("What is the first watch called?")
    assert "show" in L.terms("What does the chart show?")
    assert L.terms("They would have done it again.") == []  # the function words stay out
