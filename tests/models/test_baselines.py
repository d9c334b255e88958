"""Model pipelines by name and their grids."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mammocad.errors import ModelError
from mammocad.evaluation.metrics import positive_scores
from mammocad.models import MODEL_NAMES, PAPER_MODELS, MonotonePlattSVC, make_model, param_grid

FAST_SAE = dict(hidden_layer_sizes=(8,), pretrain_epochs=1, finetune_epochs=5)


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(5.0, 3.0, size=(90, 6))
    y = (X[:, 0] + rng.normal(0, 1.0, 90) > 5.0).astype(int)
    return X, y


def test_paper_models_are_all_available() -> None:
    assert set(PAPER_MODELS) <= set(MODEL_NAMES) and PAPER_MODELS == ("sae", "svm", "knn", "lda")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_is_a_scaling_pipeline_fitted_on_the_given_rows(name: str) -> None:
    X, y = _data()
    model = make_model(name, **(FAST_SAE if name == "sae" else {}))
    assert isinstance(model, Pipeline) and [s for s, _ in model.steps] == ["scale", "clf"]
    model.fit(X[:60], y[:60])
    scaler = model.named_steps["scale"]
    if isinstance(scaler, StandardScaler):
        np.testing.assert_allclose(scaler.mean_, X[:60].mean(axis=0))
    else:
        assert isinstance(scaler, MinMaxScaler)
        np.testing.assert_allclose(scaler.data_min_, X[:60].min(axis=0))
    proba = model.predict_proba(X[60:])
    assert proba.shape == (30, 2) and np.all((proba >= 0) & (proba <= 1))


def test_paper_hyper_parameters() -> None:
    assert make_model("knn").named_steps["clf"].n_neighbors == 8
    assert make_model("knn", n_neighbors=6).named_steps["clf"].n_neighbors == 6
    svm = make_model("svm", C=10.0).named_steps["clf"]
    assert isinstance(svm, MonotonePlattSVC) and svm.kernel == "rbf" and svm.C == 10.0
    assert make_model("sae", hidden_layer_sizes=(400, 400)).named_steps["clf"].hidden_layer_sizes == (
        400,
        400,
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_grid_point_is_a_valid_setting(name: str) -> None:
    grid = param_grid(name)
    model = make_model(name)
    for point in ParameterGrid(grid):
        model.set_params(**point)
    grid["new"] = [1]  # a copy: the module's grid is unchanged
    assert "new" not in param_grid(name)


def test_sae_grid_holds_the_paper_architectures() -> None:
    sizes = param_grid("sae")["clf__hidden_layer_sizes"]
    assert (200, 200) in sizes and (400, 400) in sizes
    assert {6, 8} <= set(param_grid("knn")["clf__n_neighbors"])


def test_unknown_model_or_parameter_is_refused() -> None:
    with pytest.raises(ModelError, match="unknown model 'rf'"):
        make_model("rf")
    with pytest.raises(ModelError, match="unknown model"):
        param_grid("rf")
    with pytest.raises(ModelError, match="no parameter"):
        make_model("lda", n_neighbors=3)


def _anti_learned() -> tuple[np.ndarray, np.ndarray]:
    # Labels alternate along a line: every held-out point sits between two training
    # points of the other class, so cross-validated SVM decision values are
    # anti-correlated with the labels and a free Platt sigmoid fits a negative slope.
    return np.arange(20, dtype=float)[:, None], np.arange(20) % 2


def test_free_platt_sigmoid_inverts_on_this_data() -> None:
    # The failure the SVM model guards against (the former make_model("svm")).
    import warnings

    from scipy.stats import spearmanr
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    X, y = _anti_learned()
    X_new = np.linspace(0.0, 19.0, 40)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = CalibratedClassifierCV(SVC(gamma=0.5), method="sigmoid", cv=5, ensemble=False).fit(X, y)
    d = old.calibrated_classifiers_[0].estimator.decision_function(X_new)
    assert spearmanr(old.predict_proba(X_new)[:, 1], d)[0] < -0.9


def test_svm_scores_rank_like_its_decision_function_where_platt_inverts() -> None:
    from sklearn.metrics import roc_auc_score

    X, y = _anti_learned()
    model = make_model("svm", gamma=0.5).fit(X, y)
    clf = model.named_steps["clf"]
    assert clf.slope_fallback_ and clf.slope_ == 1.0
    X_new = np.linspace(0.0, 19.0, 40)[:, None]
    y_new = (np.round(X_new[:, 0]) % 2).astype(int)
    d = model.decision_function(X_new)
    score, threshold = positive_scores(model, X_new)
    np.testing.assert_array_equal(score, d)
    assert threshold == 0.0
    p = model.predict_proba(X_new)[:, 1]
    order = np.argsort(d, kind="stable")
    assert np.all(np.diff(p[order]) >= 0)  # increasing in the decision value
    assert roc_auc_score(y_new, p) == roc_auc_score(y_new, d)
    np.testing.assert_array_equal(p >= 0.5, d >= 0)
    np.testing.assert_array_equal(model.predict(X_new), (d >= 0).astype(int))


def test_svm_probability_follows_the_svm_on_ordinary_data() -> None:
    X, y = _data()
    model = make_model("svm").fit(X[:60], y[:60])
    clf = model.named_steps["clf"]
    assert not clf.slope_fallback_ and clf.slope_ > 0 and clf.n_calibration_folds_ == 5
    d = model.decision_function(X[60:])
    p = model.predict_proba(X[60:])[:, 1]
    assert np.all(np.diff(p[np.argsort(d)]) >= 0)
    np.testing.assert_array_equal(p >= 0.5, model.predict(X[60:]) == 1)
    # Seeded: the same seed gives the same slope.
    assert make_model("svm").fit(X[:60], y[:60]).named_steps["clf"].slope_ == clf.slope_


@pytest.mark.parametrize("per_class", [1, 2, 3])
def test_svm_fits_a_tiny_training_set(per_class: int) -> None:
    X, y = _data()
    rows = np.r_[np.flatnonzero(y == 0)[:per_class], np.flatnonzero(y == 1)[:per_class]]
    model = make_model("svm").fit(X[rows], y[rows])
    assert model.named_steps["clf"].n_calibration_folds_ == max(per_class, 1)
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)


def test_svm_refuses_one_class_or_a_bad_cv() -> None:
    X, y = _data()
    with pytest.raises(ModelError, match="exactly two classes"):
        make_model("svm").fit(X[y == 0], y[y == 0])
    with pytest.raises(ModelError, match="cv must be an integer >= 2"):
        make_model("svm", cv=1).fit(X, y)


@parametrize_with_checks([MonotonePlattSVC()])
def test_svm_follows_the_sklearn_estimator_contract(estimator, check) -> None:
    check(estimator)


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({"C": float("inf")}, "C must be finite"),
        ({"C": -1.0}, "'C' parameter of SVC"),
        ({"gamma": float("nan")}, "gamma must be finite"),
        ({"kernel": "precomputed"}, "precomputed"),
        ({"random_state": "seed"}, "random_state must be None or an integer"),
    ],
)
def test_svm_refuses_bad_hyper_parameters_before_fitting(params: dict, pattern: str) -> None:
    X, y = _data()
    with pytest.raises(ModelError, match=pattern):
        make_model("svm", **params).fit(X, y)


def test_every_model_has_a_label_and_the_paper_four_are_unchanged() -> None:
    from mammocad.models import MODEL_LABELS

    assert set(MODEL_LABELS) == set(MODEL_NAMES)
    assert "hgb" in MODEL_NAMES and "hgb" not in PAPER_MODELS


def test_gradient_boosted_trees_take_the_seed_and_are_reproducible() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _data()
    model = make_model("hgb", random_state=3, max_leaf_nodes=7)
    clf = model.named_steps["clf"]
    assert (
        isinstance(clf, HistGradientBoostingClassifier) and clf.random_state == 3 and clf.max_leaf_nodes == 7
    )
    a = model.fit(X, y).predict_proba(X)
    b = make_model("hgb", random_state=3, max_leaf_nodes=7).fit(X, y).predict_proba(X)
    assert a.tobytes() == b.tobytes() and model.score(X, y) > 0.8
    assert len(list(ParameterGrid(param_grid("hgb")))) == 8
