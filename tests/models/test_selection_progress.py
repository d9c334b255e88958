"""select_model reports every cross-validation fit (for a progress bar) without changing the result."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer

from mammocad.models import n_fits, select_model


def test_on_fit_is_called_once_per_fit_and_changes_nothing() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    grid = {"clf__C": [0.1, 1.0, 10.0]}
    calls: list[int] = []
    counted = select_model("logreg", X, y, n_splits=4, grid=grid, on_fit=lambda: calls.append(1))
    plain = select_model("logreg", X, y, n_splits=4, grid=grid)
    assert len(calls) == n_fits("logreg", 4, grid) == 12
    assert counted.best_params == plain.best_params
    np.testing.assert_array_equal(counted.cv_scores, plain.cv_scores)
