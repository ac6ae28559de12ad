"""The fitted models: up to date with their data, loadable, and refit by one command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tutor import fitting


def test_models_match_their_training_data():
    """A change to any labeled file without `python -m tutor.fitting` fails here."""
    for name, groups in (("support", fitting.claim_groups()), ("assess", fitting.reply_groups())):
        data = json.loads((fitting.MODELS / f"{name}.json").read_text())
        assert data["data_sha256"] == fitting.data_hash(groups), f"{name}.json is stale: run python -m tutor.fitting"
        assert set(data["groups"]) == set(groups)
    assert fitting.stale() == []


def test_groups_are_the_articles_the_seed_and_the_holdout():
    claims = fitting.claim_groups()
    assert {"seed", "holdout"} <= set(claims) and len(claims) >= 7
    assert {"seed"} <= set(fitting.reply_groups()) and len(fitting.reply_groups()) >= 6


def test_hash_changes_with_the_data(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text('{"claim": "x", "passage": "y", "supported": true}\n')
    before = fitting.data_hash({"a": a})
    a.write_text('{"claim": "x", "passage": "y", "supported": false}\n')
    assert fitting.data_hash({"a": a}) != before


def test_linear_model_round_trip_and_probability():
    m = fitting.load_model("support")
    again = fitting.LinearModel.from_json(json.loads(json.dumps(m.to_json())))
    row = dict.fromkeys(m.features, 0.5)
    assert again.probability(row) == pytest.approx(m.probability(row))
    assert 0.0 < m.threshold < 1.0 and len(m.features) == len(m.coef)
    assert set(m.features) <= set(__import__("tutor.alignment", fromlist=["FEATURES"]).FEATURES)


def test_fit_and_loao_on_separable_toy_data():
    """The fitting code itself: on data one feature separates, LOAO is perfect and
    the threshold keeps every negative out."""
    rng = np.random.default_rng(0)
    rows, labels, groups = [], [], []
    for g in "abcd":
        for _ in range(20):
            y = bool(rng.integers(0, 2))
            rows.append({"good": float(y) + rng.normal(0, 0.1), "noise": float(rng.normal())})
            labels.append(y)
            groups.append(g)
    res = fitting.loao(rows, labels, groups, ("good", "noise"))
    for r in res.values():
        assert fitting.rates(r.predicted, r.labels)["balanced_accuracy"] == 1.0
    m = fitting.fit(rows, labels, groups, ("good", "noise"))
    assert m.coef[0] > 0 and abs(m.coef[0]) > abs(m.coef[1])


def test_a_veto_feature_decides_no_whatever_the_probability():
    """A row whose veto feature fires is predicted unsupported in LOAO and by the
    fitted model (probability 0), and the model file keeps its vetoes."""
    rng = np.random.default_rng(1)
    rows, labels, groups = [], [], []
    for g in "abcd":
        for k in range(20):
            y = bool(k % 2)
            rows.append({"good": float(y) + rng.normal(0, 0.1), "name": float(k % 5 == 1)})
            labels.append(y)
            groups.append(g)
    plain = fitting.loao(rows, labels, groups, ("good",))
    vetoed = fitting.loao(rows, labels, groups, ("good",), vetoes=("name",))
    for g in "abcd":
        idx = [i for i, x in enumerate(groups) if x == g]
        assert any(plain[g].predicted[k] for k, i in enumerate(idx) if rows[i]["name"])
        assert not any(vetoed[g].predicted[k] for k, i in enumerate(idx) if rows[i]["name"])
    m = fitting.fit(rows, labels, groups, ("good",), vetoes=("name",))
    again = fitting.LinearModel.from_json(m.to_json())
    assert again.vetoes == ("name",)
    assert again.probability({"good": 1.0, "name": 1.0}) == 0.0 < again.probability({"good": 1.0}, veto=False)
    assert again.probability({"good": 1.0, "name": 1.0}, veto=False) == again.probability({"good": 1.0})


def test_the_judge_rejects_a_name_the_passages_never_use():
    """The packaged judge vetoes a claim naming someone the passages never name
    (a hallucinated attribution), however likely the rest makes it: even with a
    threshold that lets almost everything through, and says why."""
    from tutor.support import SupportScorer

    passage = "The harbour system of coastal lights was designed by Ada Quill and Tobin Marsh in 1850."
    judge = SupportScorer(threshold=0.01)
    assert "name_novel" in judge.model.vetoes
    assert judge.score("Rhys Dunmore and Tobin Marsh built the lights in 1850.", [passage]).reason == "wrong attribution"
    assert judge.score("Ada Quill and Tobin Marsh built the lights in 1850.", [passage]).supported


def test_confusion_counts_every_pair():
    c = fitting.confusion(["correct", "partial", "incorrect"], ["correct", "incorrect", "incorrect"])
    assert c["correct"]["correct"] == 1 and c["incorrect"]["partial"] == 1 and c["incorrect"]["incorrect"] == 1
    assert sum(v for row in c.values() for v in row.values()) == 3


def test_check_command_reports_up_to_date(capsys):
    assert fitting.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_assessor_model_round_trip_and_three_way_fit():
    """The packaged assessor loads, its probabilities sum to one, and the
    multinomial fit separates three classes one feature tells apart."""
    m = fitting.load_assessor()
    assert set(m.classes) == {"correct", "partial", "incorrect"} and m.coef.shape == (3, len(m.features))
    again = fitting.MultinomialModel.from_json(json.loads(json.dumps(m.to_json())))
    row = dict.fromkeys(m.features, 0.5)
    assert sum(m.probabilities(row).values()) == pytest.approx(1.0)
    assert again.probabilities(row) == pytest.approx(m.probabilities(row)) and again.predict(row) == m.predict(row)
    rng = np.random.default_rng(1)
    rows, labels = [], []
    for k, lab in enumerate(fitting.VERDICTS):
        for _ in range(20):
            rows.append({"x": k + rng.normal(0, 0.1), "noise": float(rng.normal())})
            labels.append(lab)
    toy = fitting.fit_multinomial(rows, labels, ("x", "noise"))
    assert [toy.predict({"x": k, "noise": 0.0}) for k in range(3)] == list(fitting.VERDICTS)


def test_every_reply_group_knows_its_article(tmp_path):
    """The assessor is fitted with the words of each group's article (a swapped
    subject is one the article uses); a file beside no article has none."""
    from tutor import language as L
    from tutor.corpus import load_document

    for name, path in fitting.reply_groups().items():
        articles = fitting.articles_of(path)
        assert articles, name
        terms = fitting.article_terms(path)
        first = set(L.terms(load_document(articles[0]).text[:400]))  # a fragment parses a little differently
        assert first and len(first & terms) >= 0.8 * len(first), name
    stray = tmp_path / "replies.jsonl"
    stray.write_text("")
    assert fitting.article_terms(stray) is None and fitting.articles_of(stray) == []
