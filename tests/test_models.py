"""The retrieval-side fitted models (evidence ranker, coverage) are up to date
with the articles and eval sets they were fitted on, and load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from _groups import data_hash, groups  # noqa: E402

from tutor import coverage, ranking  # noqa: E402


@pytest.mark.parametrize("path", [coverage.MODEL_PATH, ranking.MODEL_PATH], ids=["coverage", "evidence"])
def test_model_matches_its_data(path):
    data = json.loads(Path(path).read_text())
    spec = groups(REPO / "evals" / "articles")
    assert data["data_sha256"] == data_hash(spec), f"{path.name} is stale: run `make fit`"
    assert set(data["groups"]) == {g for g, _, _ in spec}
    assert len(data["coef"]) == len(data["features"]) == len(data["mean"]) == len(data["scale"])


def test_models_report_every_article_left_out():
    for path in (coverage.MODEL_PATH, ranking.MODEL_PATH):
        data = json.loads(Path(path).read_text())
        assert set(data["leave_one_article_out"]) == set(data["groups"])


def test_coverage_model_reads_the_features_retrieval_measures():
    model = coverage.Model.load()
    assert set(model.features) <= set(coverage.FEATURES) | {"answer_p"}
    assert 0.0 < model.threshold < 1.0
    assert set(ranking.ranker().features) <= set(ranking.FEATURES)
