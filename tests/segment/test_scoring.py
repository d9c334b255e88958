"""The learned scorers: plain-array models agree with scikit-learn; files are checked, never unpickled."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mammocad.errors import SegmentationError
from mammocad.segment.calcifications import OBJECT_FEATURES
from mammocad.segment.candidates import CALCIFICATION_FEATURES, MASS_FEATURES
from mammocad.segment.scoring import (
    CandidateScorer,
    LogisticModel,
    TreeModel,
    default_scorer,
    load_scorer,
    save_scorer,
)

NAMES = ("a", "b", "c", "d")


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 4)) * [1.0, 3.0, 0.5, 10.0] + [0, 5, 0, 100]
    y = ((X[:, 0] + 0.3 * X[:, 1] - 0.1 * X[:, 3] + rng.normal(0, 1, 400)) > -8.5).astype(int)
    return X, y


def _trees_from_sklearn(clf) -> TreeModel:
    return TreeModel.from_sklearn(clf, NAMES)


def test_tree_model_matches_scikit_learn():
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = _data()
    clf = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    model = _trees_from_sklearn(clf)
    np.testing.assert_allclose(model.decision_function(X), clf.decision_function(X), rtol=1e-10, atol=1e-10)
    scorer = CandidateScorer({"mass": model}, {})
    np.testing.assert_allclose(scorer.score("mass", X, NAMES), clf.predict_proba(X)[:, 1], atol=1e-12)


def test_logistic_model_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = _data(1)
    scaler = StandardScaler().fit(X)
    clf = LogisticRegression().fit(scaler.transform(X), y)
    model = LogisticModel(NAMES, scaler.mean_, scaler.scale_, clf.coef_[0], float(clf.intercept_[0]))
    scorer = CandidateScorer({"calcification": model}, {})
    expected = clf.predict_proba(scaler.transform(X))[:, 1]
    np.testing.assert_allclose(scorer.score("calcification", X, NAMES), expected, atol=1e-12)


def test_round_trip_through_json(tmp_path):
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = _data(2)
    clf = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    logistic = LogisticModel(NAMES, np.zeros(4), np.ones(4), np.array([0.1, -0.2, 0.3, 0.0]), -0.5)
    scorer = CandidateScorer(
        {"mass": _trees_from_sklearn(clf), "calcification": logistic}, {"seed": 3}, {"mass": 0.25}
    )
    path = save_scorer(scorer, tmp_path / "s.json")
    back = load_scorer(path)
    assert back.provenance == {"seed": 3} and back.thresholds == {"mass": 0.25}
    for kind in ("mass", "calcification"):
        np.testing.assert_array_equal(back.score(kind, X, NAMES), scorer.score(kind, X, NAMES))


@pytest.mark.parametrize(
    "text, match",
    [
        ("not json", "cannot read"),
        ('{"format": "other", "models": {}}', "not a candidate scorer"),
        (
            '{"format": "mammocad-candidate-scorer/1", "models": {"mass": {"type": "pickle"}}}',
            "unknown model type",
        ),
        (
            '{"format": "mammocad-candidate-scorer/1", "models": {"mass": {"type": "logistic", "names": ["a"],'
            ' "mean": [0, 1], "scale": [1], "coef": [1], "intercept": 0}}}',
            "do not match",
        ),
        (
            '{"format": "mammocad-candidate-scorer/1", "models": {"mass": {"type": "trees", "names": ["a"],'
            ' "init": 0, "learning_rate": 0.1, "trees": [{"feature": [0, -2, -2], "threshold": [0, 0, 0],'
            ' "left": [0, -1, -1], "right": [2, -1, -1], "value": [0, 1, 2]}]}}}',
            "node links",
        ),
        (
            '{"format": "mammocad-candidate-scorer/1", "models": {}, "thresholds": {"x": "high"}}',
            "thresholds",
        ),
    ],
)
def test_malformed_files_are_refused(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SegmentationError, match=match):
        load_scorer(path)


def test_score_checks_kind_and_features():
    scorer = CandidateScorer({"mass": LogisticModel(NAMES, np.zeros(4), np.ones(4), np.ones(4), 0.0)}, {})
    with pytest.raises(SegmentationError, match="no model"):
        scorer.score("calcification", np.zeros((1, 4)), NAMES)
    with pytest.raises(SegmentationError, match="expects features"):
        scorer.score("mass", np.zeros((1, 4)), ("a", "b", "c", "e"))
    assert scorer.score("mass", np.zeros((0, 4)), NAMES).shape == (0,)


def test_shipped_scorers_match_the_features_and_say_how_they_were_made():
    candidates = default_scorer()
    assert candidates.models["mass"].names == MASS_FEATURES
    assert candidates.models["calcification"].names == CALCIFICATION_FEATURES
    assert "command" in candidates.provenance and "froc_train_scorer.py" in candidates.provenance["command"]
    objects = default_scorer("calcification_objects")
    assert objects.models["calcification_object"].names == OBJECT_FEATURES
    assert 0 < objects.thresholds["calcification_object"] < 1
    assert "segmentation_train_objects.py" in objects.provenance["command"]
    with pytest.raises(SegmentationError, match="unknown scorer"):
        default_scorer("pickled")
    json.dumps(candidates.to_dict())  # plain numbers only
