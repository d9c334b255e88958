"""Patient-grouped, stratified grid search."""

from __future__ import annotations

import numpy as np
import pytest

from mammocad.errors import ModelError
from mammocad.models import select_model

ONE_NN = {"clf__n_neighbors": [1]}


def _patients(n_patients: int = 40, per_patient: int = 3, seed: int = 0):
    # Each patient's lesions are identical copies with one label: a 1-NN classifier
    # scores ~100% if a patient leaks across folds and ~chance if not.
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n_patients, 5))
    labels = np.arange(n_patients) % 2
    rng.shuffle(labels)
    X = np.repeat(feats, per_patient, axis=0)
    y = np.repeat(labels, per_patient)
    groups = np.repeat([f"p{i}" for i in range(n_patients)], per_patient)
    return X, y, groups


def test_no_patient_in_two_folds() -> None:
    X, y, groups = _patients()
    grouped = select_model("knn", X, y, groups, n_splits=5, grid=ONE_NN)
    leaky = select_model("knn", X, y, None, n_splits=5, grid=ONE_NN)
    assert leaky.cv_scores.mean() > 0.95
    assert grouped.cv_scores.mean() < 0.8


def test_result_fields_and_refit_on_all_rows() -> None:
    X, y, groups = _patients()
    X = X + np.random.default_rng(1).normal(0, 0.01, X.shape)
    res = select_model("knn", X, y, groups, n_splits=4, random_state=3)
    best = res.cv_results["rank_test_score"].argmin()
    assert res.n_splits == 4 and res.cv_scores.shape == (4,)
    np.testing.assert_array_equal(
        res.cv_scores, [res.cv_results[f"split{i}_test_score"][best] for i in range(4)]
    )
    assert res.best_params == res.cv_results["params"][best]
    assert res.best_estimator.named_steps["clf"].n_samples_fit_ == len(X)
    mean, std = res.cv_accuracy
    assert mean == pytest.approx(res.cv_scores.mean()) and std == pytest.approx(res.cv_scores.std())
    again = select_model("knn", X, y, groups, n_splits=4, random_state=3)
    np.testing.assert_array_equal(again.cv_scores, res.cv_scores)


def test_fewer_patients_than_folds_reduces_folds_with_a_warning() -> None:
    X, y, groups = _patients(n_patients=8)
    with pytest.warns(UserWarning, match="4-fold instead of 10-fold"):
        res = select_model("lda", X + np.random.default_rng(0).normal(0, 0.1, X.shape), y, groups)
    assert res.n_splits == 4 and res.cv_scores.shape == (4,)


def test_bad_training_data() -> None:
    X, y, groups = _patients()
    with pytest.raises(ModelError, match="2 classes"):
        select_model("lda", X, np.zeros_like(y), groups)
    X_nan = X.copy()
    X_nan[7, 3] = np.nan
    with pytest.raises(ModelError, match=r"NaN.*columns \[3\]"):
        select_model("lda", X_nan, y, groups)
    with pytest.raises(ModelError, match="patient ids"):
        select_model("lda", X, y, groups[:-1])
    with pytest.raises(ModelError, match="fewer than 2 patients"):
        select_model("lda", X, y, np.where(y == 1, "a", groups))
