"""Model pipelines by name and their grids."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from mammocad.errors import ModelError
from mammocad.models import MODEL_NAMES, PAPER_MODELS, make_model, param_grid

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
    svc = make_model("svm", C=10.0).named_steps["clf"].estimator
    assert svc.kernel == "rbf" and svc.C == 10.0
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
