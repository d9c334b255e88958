"""Train a model from a feature table, and apply a saved model to one lesion.

The library side of ``mammocad train`` and ``mammocad predict``: a feature table
(``lesion_id, patient_id, label, split`` + feature columns, as written by
:func:`mammocad.features.extract_table`) goes in; a model selected by
patient-grouped 10-fold CV on the training rows comes out, with the metrics the
model directory records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mammocad.errors import ModelError
from mammocad.models.persistence import TrainedModel, training_data_hash
from mammocad.models.selection import SelectionResult, select_model

__all__ = [
    "ID_COLUMNS",
    "TrainingOutcome",
    "read_table",
    "training_matrix",
    "train_model",
    "predict_lesion",
]

#: Columns of a feature table that are not features.
ID_COLUMNS: tuple[str, ...] = ("lesion_id", "patient_id", "label", "split")


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
        JSON-ready summary for :func:`save_model`: model, scenario, row counts,
        CV accuracy mean ± std, best parameters, test AUC/accuracy where the
        table has test rows, and the training data hash.
    """

    estimator: Any
    feature_names: tuple[str, ...]
    selection: SelectionResult = field(repr=False)
    metadata: dict[str, Any] = field(repr=False)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a feature table from Parquet or CSV.

    Parameters
    ----------
    path : path
        ``.parquet`` or ``.csv`` file.

    Returns
    -------
    DataFrame

    Raises
    ------
    ModelError
        If the file is missing, of another kind, or unreadable.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: no such feature table")
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(p)
        if suffix == ".csv":
            return pd.read_csv(
                p, dtype={"lesion_id": str, "patient_id": str, "split": str}, keep_default_na=True
            )
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{p}: cannot read feature table ({exc})") from None
    raise ModelError(f"{p}: a feature table must be .parquet or .csv, not {suffix or 'no suffix'!r}")


def training_matrix(
    table: pd.DataFrame, feature_names: Any, *, where: str = "feature table"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and patient ids of a feature table, validated.

    Parameters
    ----------
    table : DataFrame
        Rows of the feature table.
    feature_names : sequence of str
        Feature columns to take, in order.
    where : str
        Name of the table for error messages (its path).

    Returns
    -------
    X : ndarray of shape (n_rows, n_features), float64
    y : ndarray of shape (n_rows,), int (1 = malignant)
    groups : ndarray of shape (n_rows,), patient ids (lesion ids where absent)

    Raises
    ------
    ModelError
        On missing columns, non-numeric or non-finite features (naming the
        columns and lesions) or labels other than 0/1.
    """
    names = list(feature_names)
    missing = [c for c in ("label", *names) if c not in table.columns]
    if missing:
        raise ModelError(
            f"{where}: missing column(s) {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"
        )
    try:
        X = table[names].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{where}: feature columns are not numeric ({exc})") from None
    # Beyond 1e12 no feature is a measurement, and squaring it (scaling, variances) overflows.
    bad = ~(np.abs(X) <= 1e12)
    if bad.any():
        cols = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        ids = table["lesion_id"] if "lesion_id" in table.columns else pd.Series(table.index)
        rows = [str(ids.iloc[i]) for i in np.flatnonzero(bad.any(axis=1))]
        kind = "NaN or infinite" if not np.isfinite(X).all() else "absurdly large (beyond ±1e12)"
        raise ModelError(
            f"{where}: {kind} feature values in column(s) {', '.join(cols[:10])}"
            f"{' ...' if len(cols) > 10 else ''} for lesion(s) {', '.join(rows[:10])}{' ...' if len(rows) > 10 else ''}"
        )
    labels = pd.to_numeric(table["label"], errors="coerce").to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise ModelError(f"{where}: column 'label' must hold 0 (benign) or 1 (malignant) on every row")
    if "patient_id" in table.columns:
        groups = table["patient_id"].astype(str).to_numpy()
    elif "lesion_id" in table.columns:
        groups = table["lesion_id"].astype(str).to_numpy()
    else:
        groups = np.arange(len(table)).astype(str)
    return X, labels.astype(np.int64), groups


def _scenario_features(scenario: str) -> list[str]:
    from mammocad.errors import FeatureError
    from mammocad.features import scenario_columns

    try:
        return list(scenario_columns(scenario))
    except FeatureError as exc:
        raise ModelError(str(exc)) from None


def train_model(
    table: pd.DataFrame,
    name: str,
    *,
    scenario: str = "combined",
    feature_names: Any = None,
    n_splits: int = 10,
    random_state: int | None = 0,
    n_jobs: int | None = 1,
    grid: dict[str, list[Any]] | None = None,
    where: str = "feature table",
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
    feature_names : sequence of str, optional
        Explicit feature columns instead of the scenario's.
    n_splits, random_state, n_jobs, grid
        Passed to :func:`~mammocad.models.select_model`.
    where : str
        Name of the table for error messages.

    Returns
    -------
    TrainingOutcome

    Raises
    ------
    ModelError
        On bad rows or columns, a single-class training set, or an unknown
        model or scenario.
    """
    from sklearn.metrics import accuracy_score, roc_auc_score

    names = list(feature_names) if feature_names is not None else _scenario_features(scenario)
    split = (
        table["split"].fillna("").astype(str).str.strip().str.lower() if "split" in table.columns else None
    )
    is_train = (split == "train").to_numpy() if split is not None else np.ones(len(table), bool)
    if not is_train.any():
        is_train = np.ones(len(table), bool)
    is_test = (split == "test").to_numpy() & ~is_train if split is not None else np.zeros(len(table), bool)
    train_rows = table.loc[is_train]
    X, y, groups = training_matrix(train_rows, names, where=where)
    selection = select_model(
        name,
        X,
        y,
        groups,
        n_splits=n_splits,
        random_state=random_state,
        n_jobs=n_jobs,
        grid=grid,
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
        X_test, y_test, _ = training_matrix(table.loc[is_test], names, where=f"{where} (test rows)")
        from mammocad.evaluation.metrics import positive_scores

        # The experiment's threshold rule (an SVM by its decision function >= 0).
        score, threshold = positive_scores(selection.best_estimator, X_test)
        metrics["test_accuracy"] = float(accuracy_score(y_test, (score >= threshold).astype(int)))
        metrics["test_auc"] = float(roc_auc_score(y_test, score)) if np.unique(y_test).size == 2 else None
    metadata = {
        "model": name,
        "scenario": scenario if feature_names is None else "custom",
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
        estimator=selection.best_estimator, feature_names=tuple(names), selection=selection, metadata=metadata
    )


def predict_lesion(model: TrainedModel, mammogram: Any, roi: Any) -> dict[str, Any]:
    """Segment one lesion, measure its features and apply a saved model.

    Parameters
    ----------
    model : TrainedModel
        From :func:`~mammocad.models.load_model`.
    mammogram : Mammogram
        The image (with its pixel spacing).
    roi : ROI
        The lesion's region of interest, in ``mammogram``'s pixel coordinates.

    Returns
    -------
    dict
        ``probability_malignant``, ``prediction`` (``"malignant"`` or
        ``"benign"`` at 0.5), ``model``, ``scenario``, ``roi`` and the model's
        ``features`` (name → value).

    Raises
    ------
    ModelError
        If the extracted features lack one the model needs.
    MammocadError
        From segmentation or feature extraction (e.g. an ROI off the image).
    """
    from mammocad.features import extract_lesion_features

    values = extract_lesion_features(mammogram, roi)
    p = float(model.predict_proba_malignant(values)[0])
    return {
        "probability_malignant": p,
        "prediction": "malignant" if p >= 0.5 else "benign",
        "model": model.name,
        "scenario": model.metadata.get("metadata", {}).get("scenario"),
        "roi": {"x": roi.x, "y": roi.y, "radius": roi.radius},
        "features": {name: float(values[name]) for name in model.feature_names},
    }
