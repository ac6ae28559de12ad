"""The support scorer on the labeled claim sets, hard cases, and the other judges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor.embedder import get_embedder
from tutor.errors import ConfigError
from tutor.support import LLMJudge, NLIJudge, SupportScorer, make_judge, parse_json_answer

ROOT = Path(__file__).resolve().parent.parent
SEED = (
    "Management, Kotter argues, copes with complexity. In contrast, leadership copes with change."
)
LEADERS = (
    "Within this change context, managers plan and budget, organize and staff, and control and "
    "solve problems. In contrast, leaders establish direction, align people, and motivate and inspire."
)
VOTE = (
    "After a discussion, the participants are asked to vote. Typically, about one-third of them "
    "think the categories overlap, and no one votes for the last option."
)
DRUCKER = (
    '"Management is doing things right; leadership is doing the right things." ~Peter F. Drucker'
)


@pytest.fixture(scope="module")
def scorer() -> SupportScorer:
    return SupportScorer(get_embedder())


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def balanced_accuracy(predicted: list[bool], labels: list[bool]) -> float:
    pos = [p for p, y in zip(predicted, labels, strict=True) if y]
    neg = [not p for p, y in zip(predicted, labels, strict=True) if not y]
    return (sum(pos) / len(pos) + sum(neg) / len(neg)) / 2


@pytest.mark.parametrize("path, floor", [("evals/claims.jsonl", 0.70), ("tests/data/claims_holdout.jsonl", 0.65)])
def test_balanced_accuracy(scorer, path, floor):
    """A regression floor for the packaged model on the seed's and the holdout's
    claims. The gate of issue 9 (0.85 on every article, left out of the
    fitting) is `tutor eval --scorer`; the model does not reach it yet."""
    rows = _load(ROOT / path)
    assert len(rows) >= (70 if path.startswith("evals") else 30)
    predicted = [scorer.score(r["claim"], [r["passage"]]).supported for r in rows]
    ba = balanced_accuracy(predicted, [r["supported"] for r in rows])
    print(f"{path}: balanced accuracy {ba:.3f} on {len(rows)} claims")
    assert ba >= floor


@pytest.mark.parametrize(
    "claim, passage, supported, reason",
    [
        ("Leadership copes with complexity.", SEED, False, None),
        ("Managers establish direction, align people, and motivate and inspire.", LEADERS, False, None),
        ("Kotter argues management does not cope with complexity.", SEED, False, "negation mismatch"),
        ("About half of the participants think the categories overlap.", VOTE, False, None),
        ("Most participants think the categories overlap.", VOTE, False, None),
        ("Kotter said that management is doing things right.", DRUCKER, False, "wrong attribution"),
        ("The French Revolution began in 1789.", SEED, False, None),
        ("Kotter thinks leadership and management are essentially the same thing.",
         "Leadership and management are distinct, complementary systems of action.", False, None),
        ("According to Kotter, managers deal with complexity.", SEED, True, "supported"),
        ("Leaders set direction, align people and motivate them.", LEADERS, True, "supported"),
        ("Leadership copes with change.", SEED, True, "supported"),
        ("Management, Kotter argues, copes with complexity.", SEED, True, "supported"),  # verbatim
        ('"Management is doing things right; leadership is doing the right things."', DRUCKER, True, "supported"),
    ],
)
def test_hard_cases(scorer, claim, passage, supported, reason):
    result = scorer.score(claim, [passage])
    assert result.supported is supported, result
    if reason:
        assert result.reason == reason
    assert 0.0 <= result.score <= 1.0
    if supported:
        assert result.passage == 0 and result.evidence and result.score >= scorer.threshold
    else:
        assert result.reason in ("role swap", "negation mismatch", "quantity mismatch", "wrong attribution",
                                 "partly covered", "not covered")


def test_verbatim_sentences_of_a_passage_are_supported(scorer):
    """The grounded responder quotes the article: every sentence of a passage is supported by it."""
    from tutor.language import sentences

    for passage in (SEED, LEADERS, VOTE):
        for s in sentences(passage):
            assert scorer.score(s.text, [passage]).supported, s.text


def test_a_list_item_quoted_whole_is_supported_and_a_changed_one_is_not(scorer):
    """List lines carry no end punctuation: each is a unit of its own, not run into the next."""
    passage = "You need:\n\n400 grams of clay or 80%\n\n100 grams of sand or 20%\n\nMix them dry first."
    assert scorer.score("100 grams of sand or 20%", [passage]).supported
    assert not scorer.score("300 grams of sand or 60%", [passage]).supported


def test_fast_enough_to_guard_every_sentence(scorer):
    """Warm, a claim against four passages takes a few milliseconds (not asserted
    as a timing: checked that the passages are parsed and embedded only once)."""
    passages = [SEED, LEADERS, VOTE, DRUCKER]
    scorer.score("Leadership copes with change.", passages)
    prepared = scorer._prepare(passages)
    scorer.score("Managers plan and budget.", passages)
    assert scorer._prepare(passages) is prepared


@pytest.mark.parametrize("claim", ["", "   ", "the of and"])
def test_empty_claim_is_unsupported(scorer, claim):
    result = scorer.score(claim, [SEED])
    assert (result.supported, result.reason, result.passage) == (False, "empty claim", None)


@pytest.mark.parametrize("passages", [[], [""], ["  \n "]])
def test_no_passages_is_unsupported(scorer, passages):
    result = scorer.score("Management copes with complexity.", passages)
    assert (result.supported, result.reason) == (False, "no passages")


def test_score_many_matches_score_and_points_at_the_passage(scorer):
    claims = [
        "Leadership copes with change.",
        "Leaders establish direction.",
        "Leadership copes with complexity.",
    ]
    passages = [LEADERS, SEED]
    many = scorer.score_many(claims, passages)
    assert many == [scorer.score(c, passages) for c in claims]
    assert [r.supported for r in many] == [True, True, False]
    assert many[0].passage == 1 and many[1].passage == 0


def test_make_judge_default_and_errors():
    assert isinstance(make_judge(None), SupportScorer)
    assert isinstance(make_judge("default"), SupportScorer)
    with pytest.raises(ValueError, match="default, nli:PATH, llm"):
        make_judge("llm")
    with pytest.raises(ValueError, match="unknown judge 'bogus'.*default, nli:PATH, llm"):
        make_judge("bogus")
    with pytest.raises(ConfigError, match="not a local model folder"):
        make_judge("nli:/nonexistent/model")
    assert isinstance(make_judge("llm", chat_model=FakeListChatModel(responses=["{}"])), LLMJudge)


def _tiny_nli_model(folder: Path, entail_bias: float) -> Path:
    """A one-layer BERT cross-encoder built on the spot; its bias fixes the answer.
    Label order is deliberately not the common one, to check it is read from config."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *"management copes with complexity".split(),
    ]
    (folder / "vocab.txt").write_text("\n".join(vocab))
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    labels = {0: "neutral", 1: "contradiction", 2: "entailment"}
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        num_labels=3,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 0.0, entail_bias]))
    model.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("bias, supported", [(6.0, True), (-6.0, False)])
def test_nli_judge_reads_label_order(tmp_path, bias, supported):
    judge = make_judge(f"nli:{_tiny_nli_model(tmp_path, bias)}")
    assert isinstance(judge, NLIJudge) and judge.entail == 2
    result = judge.score("management copes with complexity", ["management copes with complexity"])
    assert result.supported is supported and result.passage == 0
    assert judge.score("", ["x"]).reason == "empty claim"


def _generic(*answers: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(AIMessage(content=a) for a in answers))


def test_llm_judge_all_statements_supported():
    model = _generic(
        '```json\n{"statements": ["Management copes with complexity.", "Leadership copes with change."]}\n```',
        '{"verdicts": [{"statement": "a", "supported": true, "passage": 1},'
        ' {"statement": "b", "supported": true, "passage": 1}]}',
    )
    result = LLMJudge(model).score(
        "Management copes with complexity and leadership with change.", [SEED]
    )
    assert (result.supported, result.score, result.passage, result.evidence) == (True, 1.0, 0, SEED)


def test_llm_judge_one_unsupported_statement_fails_the_claim():
    model = FakeListChatModel(
        responses=[
            'Here you go: {"statements": ["Management copes with complexity.", "Management is better."]}',
            '{"verdicts": [{"supported": "yes", "passage": 1}, {"supported": false, "passage": null},]}',
        ]
    )
    result = LLMJudge(model).score("Management copes with complexity and is better.", [SEED])
    assert (result.supported, result.score, result.reason) == (False, 0.5, "partly covered")


@pytest.mark.parametrize(
    "answers",
    [["I cannot do that."], ['{"statements": ["x"]}', "maybe? {not json"], ['{"statements": []}']],
)
def test_llm_judge_garbled_answer_is_unsupported_not_a_crash(answers):
    result = LLMJudge(FakeListChatModel(responses=answers)).score(
        "Leadership copes with change.", [SEED]
    )
    assert (result.supported, result.reason) == (False, "judge answer unreadable")


def test_parse_json_answer():
    assert parse_json_answer('noise {"a": [1, 2,],} noise') == {"a": [1, 2]}
    assert parse_json_answer("[1, 2]") == [1, 2]
    assert parse_json_answer("no json here") is None


def test_a_quoted_sentence_with_a_spaced_ellipsis_is_verbatim():
    """Citation markers are stripped with the space before them, but the dots of
    a spaced ellipsis (". . .") stay spaced, so a quote stays verbatim."""
    from tutor.guard import parse_citations

    assert parse_citations("We waited. . .and the rain stopped [1].") == ("We waited. . .and the rain stopped.", [1])


# ---- names: the author as "I", names written inside symbols, derived names ----------

LOG = "I climb the tower every morning and write the weather in our log."


def test_a_first_person_passage_speaks_for_its_author(scorer):
    """An article calls its author "I": told who the author is, the judge reads
    "Quill" in a claim as that "I"; a claim naming someone else is still a
    wrong attribution, and without the author the name stays novel."""
    quill = {"mara", "quill"}
    claim = "Mara Quill climbs the tower each morning."
    assert scorer.features(claim, [LOG], quill)["name_novel"] == 0
    assert scorer.features(claim, [LOG])["name_novel"] == 2
    other = scorer.score("Ruth Okafor climbs the tower each morning.", [LOG], quill)
    assert not other.supported and other.reason == "wrong attribution"
    # a passage that never says "I" or "we" is not the author speaking
    third = "The keeper climbs the tower every morning."
    assert scorer.features(claim, [third], quill)["name_novel"] == 2


def test_names_written_inside_symbols_or_derived_are_not_novel(scorer):
    """'"True=1"' and "~Tobin" contain the names "True" and "Tobin"; "Americans"
    is a word made of "America"; "°C" is a unit, and a verb the entity
    recogniser swept into a name is no name."""
    def novel(claim, passage):
        return scorer.features(claim, [passage])["name_novel"]

    assert novel("Every module set True to one.", 'Every module defined "True=1" at the top.') == 0
    assert novel("Tobin said the lamp must never go out.", '"The lamp must never go out." ~Tobin, 1902') == 0
    assert novel("Americans sailed here.", "Sailors from America sailed here.") == 0
    assert novel("The loaf bakes at 230 °C.", "Bake the loaf at 230 degrees Celsius.") == 0
    assert novel("Peru sailed here.", "Sailors from America sailed here.") == 1


def test_an_author_the_passage_names_is_matched_as_written(scorer):
    """A passage that names its author ("by Mara Quill") matches the name
    itself: the statement is not retold as "written by me"."""
    byline = "Keeping a Lighthouse, by Mara Quill. I climb the tower every morning."
    claim = "The article was written by Mara Quill."
    told = scorer.features(claim, [byline], {"mara", "quill"})
    assert told == scorer.features(claim, [byline])
    assert told["name_novel"] == 0 and told["coverage"] > 0.5


def test_a_claim_without_end_punctuation_is_judged_like_the_sentence(scorer):
    """A premise cut out of a question has no period; it is the same claim."""
    passage = ("The harbour keeper, the council says, looks after the lamp every night. "
               "Her assistant paints the railings in spring.")
    for claim in ("the harbour keeper looks after the lamp every night",
                  "the assistant paints the railings in spring",
                  "the harbour keeper paints the lamp every spring"):
        bare, full = scorer.score(claim, [passage]), scorer.score(claim + ".", [passage])
        assert (bare.supported, bare.reason) == (full.supported, full.reason), claim
        assert bare.score == pytest.approx(full.score)


@pytest.mark.parametrize(
    "claim, conflicts",
    [
        ("Never sail out of fear, but never fear to sail.", 0),
        ("Sail out of fear, and fear to sail.", 2),
    ],
)
def test_polarity_is_read_on_the_word_in_the_same_place(scorer, claim, conflicts):
    """A word the passage uses twice, negated in one place only: the claim's
    word is compared with the one in its own role, not with the first one found."""
    features = scorer.align(claim, ["Never sail out of fear, but never fear to sail."]).features
    assert features["polarity"] == conflicts


def test_a_claim_the_one_sentence_negates_is_a_negation_mismatch(scorer):
    """"... make up a vector space" against "... do not form a vector space":
    the verbs match only by embedding, so no predicate's polarity is compared,
    but every word of the one-clause claim is in the sentence that negates it.
    That is a contradiction the tutor corrects, not a sentence merely not covered."""
    passage = "The harbour lamps of one size do not form a matched set, since each keeper buys his own."
    result = scorer.score("The harbour lamps of one size make up a matched set.", [passage])
    assert not result.supported and result.reason == "negation mismatch"
    assert scorer.score("The harbour lamps of one size form a matched set.", [passage]).reason == "negation mismatch"


def test_a_named_agent_the_passages_give_to_another_is_a_role_swap(scorer):
    """"Did Brightwater Glassworks make the lens?" where the lens was "ground by
    the Halloran workshop": the same object, a related verb, another named
    agent, and never the one the claim names. A claim naming the right agent
    is no conflict."""
    passages = [
        "The lens of the tower was ground by the Halloran workshop in Dublin for the harbour board.",
        "Brightwater Glassworks supplied the window panes of the keeper's house.",
    ]
    wrong = scorer.score("Brightwater Glassworks did make the lens for the harbour board.", passages)
    assert not wrong.supported and wrong.reason == "role swap"
    right = scorer.features("The Halloran workshop made the lens for the harbour board.", passages)
    assert right["role_conflict"] == 0
