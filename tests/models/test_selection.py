"""Patient-grouped, stratified grid search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammocad.errors import ModelError
from mammocad.models import param_grid, select_model

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


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n_jobs": 0}, "n_jobs must be a positive number"),
        ({"n_jobs": 1.5}, "n_jobs"),
        ({"n_jobs": True}, "n_jobs"),
        ({"n_splits": 1}, "n_splits must be an integer >= 2"),
        ({"n_splits": "10"}, "n_splits"),
        ({"random_state": -1}, "random_state must be None or an integer"),
        ({"random_state": 2**40}, "random_state"),
        ({"grid": {}}, "grid must be a non-empty mapping"),
        ({"grid": {"clf__n_neighbors": []}}, "grid: 'clf__n_neighbors' must map"),
        ({"grid": {"clf__n_neighbors": "5"}}, "grid: 'clf__n_neighbors' must map"),
        ({"grid": {"clf__bogus": [1]}}, r"grid: model 'knn' has no parameter\(s\) \['clf__bogus'\]"),
        ({"grid": {"clf__n_neighbors": [0]}}, "grid: .*n_neighbors"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, pattern: str) -> None:
    X, y, groups = _patients()
    with pytest.raises(ModelError, match=pattern):
        select_model("knn", X, y, groups, **kwargs)


def test_unknown_model_is_a_model_error() -> None:
    X, y, groups = _patients()
    with pytest.raises(ModelError, match="unknown model 'rf'"):
        select_model("rf", X, y, groups)


def test_huge_finite_values_are_refused_naming_the_column() -> None:
    X, y, groups = _patients()
    X = X.copy()
    X[::2, 3] = 1e308
    X[1::2, 3] = -1e308
    with pytest.raises(
        ModelError, match=r"feature column 3 holds values too large to scale \(\|x\| up to 1e\+308"
    ):
        select_model("svm", X, y, groups, n_splits=3)
    frame = pd.DataFrame(X, columns=[f"feat_{j}" for j in range(5)])
    with pytest.raises(ModelError, match="feature feat_3 holds values too large"):
        select_model("sae", frame, y, groups, n_splits=3)


@pytest.mark.parametrize("name", ["svm", "lda", "logreg", "knn", "hgb"])
def test_large_values_that_fit_in_float64_are_scaled_and_fitted(name: str) -> None:
    X, y, groups = _patients()
    X = X * 1e150  # variance 1e300: still finite
    one_point = {key: values[:1] for key, values in param_grid(name).items()}
    result = select_model(name, X, y, groups, n_splits=3, grid=one_point)
    assert np.isfinite(result.best_estimator.predict_proba(X)).all()


def test_gradient_boosted_trees_are_selected_and_seeded() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    groups = np.arange(120) // 2
    grid = {"clf__max_leaf_nodes": [7, 15], "clf__min_samples_leaf": [5]}
    a = select_model("hgb", X, y, groups, n_splits=3, random_state=1, grid=grid)
    b = select_model("hgb", X, y, groups, n_splits=3, random_state=1, grid=grid)
    assert a.best_params == b.best_params and a.cv_scores.tolist() == b.cv_scores.tolist()
    assert len(a.cv_results["params"]) == 2 and a.cv_accuracy[0] > 0.75
    assert a.best_estimator.named_steps["clf"].random_state == 1
