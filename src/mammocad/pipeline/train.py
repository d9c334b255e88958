"""Train a model on a feature table, as ``mammocad train`` does.

The feature table (:mod:`mammocad.features.table`) gives the arrays
(:func:`~mammocad.features.table.to_xy_groups`); :func:`mammocad.models.select_model`
selects and fits a model by patient-grouped k-fold CV on the training rows; the
test rows, where the table has them, are scored with the experiment's threshold
rule (:func:`mammocad.evaluation.metrics.positive_scores`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mammocad.features.table import (
    feature_columns,
    read_feature_table,
    require_feature_set,
    to_xy_groups,
    validate_feature_table,
)

if TYPE_CHECKING:
    from mammocad.models import SelectionResult

__all__ = ["TrainingOutcome", "train_model", "train"]


@dataclass(frozen=True)
class TrainingOutcome:
    """What :func:`train_model` produced.

    Attributes
    ----------
    estimator : Pipeline
        The selected model, refitted on all training rows.
    feature_names : tuple of str
        Its feature columns, in order.
    selection : SelectionResult
        The grid search (per-fold accuracy, all results).
    metadata : dict
        JSON-ready summary for :func:`mammocad.models.save_model`: model,
        scenario, row counts, CV accuracy mean ± std, best parameters, test
        AUC/accuracy where the table has test rows, and the training data hash.
    """

    estimator: Any
    feature_names: tuple[str, ...]
    selection: SelectionResult = field(repr=False)
    metadata: dict[str, Any] = field(repr=False)


def train_model(
    table: pd.DataFrame,
    name: str,
    *,
    scenario: str = "combined",
    feature_set: str = "paper",
    feature_names: Sequence[str] | None = None,
    n_splits: int = 10,
    random_state: int | None = 0,
    n_jobs: int | None = 1,
    grid: dict[str, list[Any]] | None = None,
    where: str = "feature table",
    on_fit: Callable[[], object] | None = None,
) -> TrainingOutcome:
    """Select and fit a model on the training rows of a feature table.

    Parameters
    ----------
    table : DataFrame
        Feature table. Rows with ``split == "train"`` are used for selection and
        fitting; when no row is marked ``"train"`` (or there is no ``split``
        column) all rows are. Rows with ``split == "test"`` are only scored.
    name : str
        Model name (:data:`~mammocad.models.MODEL_NAMES`).
    scenario : {"calcification", "mass", "combined"}
        Which of the paper's feature sets (15, 26 or 41 columns).
    feature_set : {"paper", "extended"}
        The scenario's columns in the paper's set, or with the extended features
        (e.g. ``"mass"`` + ``"extended"``: the 26 and the 7 margin features).
    feature_names : sequence of str, optional
        Explicit feature columns instead of the scenario's.
    n_splits, random_state, n_jobs, grid, on_fit
        Passed to :func:`~mammocad.models.select_model` (``on_fit``: called after
        each cross-validation fit, for a progress bar).
    where : str
        Name of the table for error messages.

    Returns
    -------
    TrainingOutcome

    Raises
    ------
    FeatureTableError
        On bad rows or columns (naming them).
    ModelError
        On a single-class training set or an unknown model.
    FeatureError
        On an unknown scenario.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mammocad.features import scenario_columns
    >>> rng = np.random.default_rng(0)
    >>> names = scenario_columns("calcification")
    >>> label = np.arange(40) % 2
    >>> table = pd.DataFrame(rng.normal(size=(40, 15)) + label[:, None], columns=names)
    >>> table = table.assign(lesion_id=[f"L{i}" for i in range(40)], label=label)
    >>> outcome = train_model(table, "lda", scenario="calcification", n_splits=3)
    >>> outcome.metadata["n_train"], outcome.metadata["metrics"]["cv_accuracy_mean"] > 0.7
    (40, True)
    """
    from sklearn.metrics import accuracy_score, roc_auc_score

    from mammocad.evaluation.metrics import positive_scores
    from mammocad.models import select_model, training_data_hash

    columns: Sequence[str] = (
        list(feature_names) if feature_names is not None else feature_columns(scenario, feature_set)
    )
    if feature_names is None:
        require_feature_set(table, columns, feature_set, where=where)
    valid = validate_feature_table(table, scenario=columns, where=where)
    split = valid["split"].str.strip().str.lower()
    is_train = (split == "train").to_numpy()
    if not is_train.any():
        is_train = np.ones(len(valid), bool)
    is_test = (split == "test").to_numpy() & ~is_train
    X, y, groups = to_xy_groups(valid.loc[is_train], columns, where=where)
    selection = select_model(
        name,
        X,
        y,
        groups,
        n_splits=n_splits,
        random_state=random_state,
        n_jobs=n_jobs,
        grid=grid,
        on_fit=on_fit,
    )
    mean, std = selection.cv_accuracy
    metrics: dict[str, Any] = {
        "cv_accuracy_mean": mean,
        "cv_accuracy_std": std,
        "cv_accuracy_folds": selection.cv_scores.tolist(),
        "n_splits": selection.n_splits,
    }
    n_test = int(is_test.sum())
    if n_test:
        X_test, y_test, _ = to_xy_groups(valid.loc[is_test], columns, where=f"{where} (test rows)")
        # The experiment's threshold rule (an SVM by its decision function >= 0).
        score, threshold = positive_scores(selection.best_estimator, X_test)
        metrics["test_accuracy"] = float(accuracy_score(y_test, (score >= threshold).astype(int)))
        metrics["test_auc"] = float(roc_auc_score(y_test, score)) if np.unique(y_test).size == 2 else None
    names = feature_columns(columns)
    metadata = {
        "model": name,
        "scenario": scenario if feature_names is None else "custom",
        "feature_set": feature_set if feature_names is None else "custom",
        "n_train": int(is_train.sum()),
        "n_train_malignant": int(y.sum()),
        "n_test": n_test,
        "best_params": {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in selection.best_params.items()
        },
        "metrics": metrics,
        "random_state": random_state,
        "training_data_sha256": training_data_hash(X, y),
    }
    return TrainingOutcome(
        estimator=selection.best_estimator, feature_names=names, selection=selection, metadata=metadata
    )


def train(
    features: str | os.PathLike[str] | pd.DataFrame,
    model: str,
    out_dir: str | os.PathLike[str],
    *,
    scenario: str = "combined",
    feature_set: str = "paper",
    n_splits: int = 10,
    random_state: int | None = 0,
    n_jobs: int | None = 1,
    grid: dict[str, list[Any]] | None = None,
    progress: bool = False,
) -> TrainingOutcome:
    """``mammocad train``: read a feature table, select and fit a model, save it.

    Parameters
    ----------
    features : path-like or DataFrame
        Feature table (``.parquet`` / ``.csv`` from ``mammocad features``).
    model : str
        Model name (:data:`~mammocad.models.MODEL_NAMES`).
    out_dir : path-like
        Model directory to write (:func:`mammocad.models.save_model`).
    scenario, feature_set, n_splits, random_state, n_jobs, grid
        As in :func:`train_model`.
    progress : bool
        Show a progress bar that moves with every cross-validation fit.

    Returns
    -------
    TrainingOutcome
        Its ``metadata`` (with ``features_table``: the table's path) is what the
        model directory records. With a ``feature_set`` that adds columns to the
        scenario, ``metadata["paper_set"]`` holds the same model selected on the
        paper's columns of the scenario (same folds and seed; ``n_features``,
        ``best_params``, ``metrics``), for the side-by-side report; only the
        model on the set's columns is saved.

    Raises
    ------
    FeatureTableError, ModelError, FeatureError
        As :func:`~mammocad.features.table.read_feature_table` and
        :func:`train_model`; nothing is written then.
    """
    from tqdm.auto import tqdm

    from mammocad.models import MODEL_NAMES, n_fits, save_model

    if isinstance(features, pd.DataFrame):
        table, where = features, "feature table"
    else:
        table, where = read_feature_table(features), str(features)
    settings: dict[str, Any] = {
        "scenario": scenario,
        "n_splits": n_splits,
        "random_state": random_state,
        "n_jobs": n_jobs,
        "grid": grid,
        "where": where,
    }
    # With a set that adds columns to the scenario, the paper's columns are fitted beside.
    beside = feature_columns(scenario, feature_set) != feature_columns(scenario)
    total = n_fits(model, n_splits, grid) * (1 + beside) if model in MODEL_NAMES else None
    bars: list[Any] = []

    def on_fit() -> None:  # the bar appears with the first fit (not before a bad input's error)
        if not bars:
            bars.append(tqdm(total=total, desc=f"train {model}", unit="fit", disable=not progress))
        bars[0].update()

    try:
        outcome = train_model(table, model, feature_set=feature_set, on_fit=on_fit, **settings)
        paper = train_model(table, model, on_fit=on_fit, **settings).metadata if beside else None
    finally:
        for bar in bars:
            bar.close()
    metadata = dict(outcome.metadata, features_table=where)
    if paper is not None:  # same folds and seed; reported, not saved
        metadata["paper_set"] = {
            "n_features": len(feature_columns(scenario)),
            "best_params": paper["best_params"],
            "metrics": paper["metrics"],
        }
    save_model(Path(out_dir), outcome.estimator, feature_names=outcome.feature_names, metadata=metadata)
    return TrainingOutcome(outcome.estimator, outcome.feature_names, outcome.selection, metadata)
