"""Model selection: stratified, patient-grouped k-fold grid search.

The paper picks each model's settings by 10-fold cross-validation on the training
set and reports accuracy as mean ± standard deviation over the folds.
:func:`select_model` does that with ``GridSearchCV`` over
``StratifiedGroupKFold``: folds keep the benign/malignant ratio and no patient
has lesions in two folds (two lesions of one patient are not independent, and
splitting them would flatter the score).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedGroupKFold

from mammocad.errors import ModelError
from mammocad.models.baselines import make_model, param_grid
from mammocad.models.sae import _check_finite

__all__ = ["SelectionResult", "select_model", "check_training_data", "n_fits"]


@dataclass(frozen=True)
class SelectionResult:
    """Outcome of :func:`select_model`.

    Attributes
    ----------
    best_estimator : sklearn.pipeline.Pipeline
        The pipeline with the best parameters, refitted on all training rows.
    best_params : dict
        Its grid parameters.
    cv_scores : ndarray of shape (n_splits,)
        Accuracy of the best parameters on each held-out fold.
    cv_results : dict
        ``GridSearchCV.cv_results_``.
    n_splits : int
        Folds actually used (fewer than asked when there are too few patients).
    """

    best_estimator: Any
    best_params: dict[str, Any]
    cv_scores: np.ndarray
    cv_results: dict[str, Any] = field(repr=False)
    n_splits: int = 10

    @property
    def cv_accuracy(self) -> tuple[float, float]:
        """Mean and standard deviation of :attr:`cv_scores`."""
        return float(np.mean(self.cv_scores)), float(np.std(self.cv_scores))


def check_training_data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a training matrix and its labels at the library boundary.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    X, y : ndarray

    Raises
    ------
    ModelError
        On NaN/inf features (naming rows and columns), a feature column whose
        spread overflows float64 (e.g. values near 1e308, naming the column),
        mismatched lengths, an empty matrix or a single class.
    """
    _check_finite(X, "training data")
    try:
        X_arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"training data: feature values are not numeric ({exc})") from None
    y_arr = np.asarray(y)
    if X_arr.ndim != 2 or X_arr.shape[0] == 0 or X_arr.shape[1] == 0:
        raise ModelError(f"training data: expected a non-empty 2-D feature matrix, got shape {X_arr.shape}")
    if y_arr.shape != (X_arr.shape[0],):
        raise ModelError(f"training data: {X_arr.shape[0]} feature rows but labels of shape {y_arr.shape}")
    _check_scalable(X_arr, getattr(X, "columns", None))
    classes = np.unique(y_arr)
    if classes.size < 2:
        raise ModelError(
            f"training data: all {y_arr.size} labels are {classes[0]!r}; "
            "training needs both benign and malignant lesions (at least 2 classes)"
        )
    return X_arr, y_arr


def _check_scalable(X: np.ndarray, columns: Any) -> None:
    """Refuse columns whose range or variance overflows float64 (the scalers would give inf/NaN)."""
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.ptp(X, axis=0)
        variance = np.var(X, axis=0)
    bad = np.flatnonzero(~(np.isfinite(spread) & np.isfinite(variance)))
    if bad.size:
        names = [str(columns[j]) if columns is not None else f"column {j}" for j in bad[:10]]
        peak = float(np.max(np.abs(X[:, bad])))
        raise ModelError(
            f"training data: feature {', '.join(names)}{' ...' if bad.size > 10 else ''} holds values too "
            f"large to scale (|x| up to {peak:.3g}: its range or variance overflows float64); "
            "check how the column was measured or rescale it"
        )


def _check_int(value: Any, name: str, *, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < minimum:
        raise ModelError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_arguments(n_splits: Any, random_state: Any, n_jobs: Any, grid: Any) -> None:
    _check_int(n_splits, "n_splits", minimum=2)
    if random_state is not None:
        if (
            not isinstance(random_state, numbers.Integral)
            or isinstance(random_state, bool)
            or not 0 <= int(random_state) < 2**32
        ):
            raise ModelError(f"random_state must be None or an integer in [0, 2**32), got {random_state!r}")
    if n_jobs is not None and (
        not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool) or int(n_jobs) == 0
    ):
        raise ModelError(
            f"n_jobs must be a positive number of parallel fits (or -1 for every core), got {n_jobs!r}"
        )
    if grid is not None:
        if not isinstance(grid, Mapping) or not grid:
            raise ModelError(f"grid must be a non-empty mapping of parameter name to values, got {grid!r}")
        for key, values in grid.items():
            if (
                not isinstance(key, str)
                or isinstance(values, str)
                or not isinstance(values, Sequence)
                or len(values) == 0
            ):
                raise ModelError(f"grid: {key!r} must map a parameter name to a non-empty list of values")


def _n_splits_for(y: np.ndarray, groups: np.ndarray, n_splits: int) -> int:
    # Each fold needs a patient of every class to be stratified.
    per_class = min(np.unique(groups[y == c]).size for c in np.unique(y))
    return min(n_splits, np.unique(groups).size, per_class)


class _CountingAccuracy:
    """The ``"accuracy"`` scorer (``accuracy_score`` of ``predict``) that reports each fit it scores."""

    def __init__(self, on_fit: Callable[[], object]) -> None:
        self.on_fit = on_fit

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        score = float(accuracy_score(y, estimator.predict(X)))
        self.on_fit()
        return score


def n_fits(name: str, n_splits: int = 10, grid: dict[str, list[Any]] | None = None) -> int:
    """Cross-validation fits :func:`select_model` makes: grid points x folds (the refit not counted).

    Examples
    --------
    >>> n_fits("lda", 10, grid={"clf__solver": ["svd", "lsqr"]})
    20
    """
    search_grid = grid if grid is not None else param_grid(name)
    return len(ParameterGrid({key: list(values) for key, values in search_grid.items()})) * int(n_splits)


def select_model(
    name: str,
    X: Any,
    y: Any,
    groups: Any = None,
    *,
    n_splits: int = 10,
    random_state: int | None = 0,
    n_jobs: int | None = 1,
    grid: dict[str, list[Any]] | None = None,
    on_fit: Callable[[], object] | None = None,
) -> SelectionResult:
    """Grid-search a model by stratified, patient-grouped k-fold CV; refit the best.

    Parameters
    ----------
    name : str
        One of :data:`~mammocad.models.MODEL_NAMES`.
    X : array-like of shape (n_samples, n_features)
        Training features (training rows only: the test set never enters).
    y : array-like of shape (n_samples,)
        Labels (1 = malignant).
    groups : array-like of shape (n_samples,), optional
        Patient of each row; rows of a patient stay in one fold. ``None``
        treats every row as its own patient.
    n_splits : int, default=10
        Folds, as in the paper. Reduced, with a warning, when a class has
        fewer patients than folds.
    random_state : int or None, default=0
        Seeds the fold shuffle and the estimators.
    n_jobs : int or None, default=1
        Parallel fits (``GridSearchCV``'s ``n_jobs``).
    grid : dict, optional
        Grid to search instead of :func:`param_grid` ``(name)``.
    on_fit : callable, optional
        Called with no argument after each cross-validation fit is scored
        (:func:`n_fits` calls; in this process when ``n_jobs`` is 1): a progress
        bar's ``update``. The scores are the same as without it.

    Returns
    -------
    SelectionResult

    Raises
    ------
    ModelError
        On bad training data (see :func:`check_training_data`), an unknown
        model, an invalid argument (``n_splits`` < 2, ``n_jobs`` = 0, a
        ``random_state`` that is not a seed, an empty or malformed ``grid``;
        the message names it), a grid parameter the model does not have, or
        fewer than 2 patients per class.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> result = select_model("lda", X, y, n_splits=5)
    >>> result.cv_scores.shape
    (5,)
    """
    _check_arguments(n_splits, random_state, n_jobs, grid)
    model = make_model(name, random_state=random_state)
    search_grid = grid if grid is not None else param_grid(name)
    valid = model.get_params(deep=True)
    unknown = sorted(set(search_grid) - set(valid))
    if unknown:
        raise ModelError(f"grid: model {name!r} has no parameter(s) {unknown}")
    X_arr, y_arr = check_training_data(X, y)
    if groups is None:
        groups_arr = np.arange(y_arr.size)
    else:
        groups_arr = np.asarray(groups)
        if groups_arr.shape != y_arr.shape:
            raise ModelError(f"groups: expected {y_arr.size} patient ids, got shape {groups_arr.shape}")
    usable = _n_splits_for(y_arr, groups_arr, n_splits)
    if usable < 2:
        raise ModelError(
            "training data: a class has lesions from fewer than 2 patients; "
            "cross-validation grouped by patient is impossible"
        )
    if usable < n_splits:
        warnings.warn(
            f"only {usable} patients in the smallest class: using {usable}-fold instead of "
            f"{n_splits}-fold cross-validation",
            UserWarning,
            stacklevel=2,
        )
    cv = StratifiedGroupKFold(n_splits=usable, shuffle=True, random_state=random_state)
    search = GridSearchCV(
        model,
        {key: list(values) for key, values in search_grid.items()},
        scoring="accuracy" if on_fit is None else _CountingAccuracy(on_fit),
        cv=cv,
        refit=True,
        n_jobs=n_jobs,
        error_score="raise",
    )
    try:
        # Feature names (when X is a DataFrame) are kept for the fitted pipeline.
        search.fit(X if hasattr(X, "columns") else X_arr, y_arr, groups=groups_arr)
    except ModelError:
        raise
    except ValueError as exc:  # a grid value the estimator refuses, more neighbours than rows ...
        raise ModelError(
            f"grid: model {name!r} cannot be fitted with these settings on these folds ({exc})"
        ) from None
    best = search.best_index_
    scores = np.array([search.cv_results_[f"split{i}_test_score"][best] for i in range(usable)])
    return SelectionResult(
        best_estimator=search.best_estimator_,
        best_params=dict(search.best_params_),
        cv_scores=scores,
        cv_results=dict(search.cv_results_),
        n_splits=usable,
    )
