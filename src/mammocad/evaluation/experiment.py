"""The paper's experiment: scenarios × classifiers, patient-level split, test once.

Protocol (Wang et al. 2016, *Results* and *Methods*), for a feature table:

1. Split the *patients* into a training and a held-out test group (stratified by
   the patient's label, 1 when any of the patient's lesions is malignant), or use
   a given split column. No patient is in both.
2. For each scenario (15 calcification features, 26 mass features, all 41) and
   each classifier, select hyper-parameters by grouped k-fold cross-validation on
   the training group only (:func:`mammocad.models.select_model`; scaling and
   every fitted step live inside the model pipeline, so they are refitted within
   each fold), refit on the whole training group, and score the test group once.
3. Report the paper's measurements with confidence intervals
   (:mod:`mammocad.evaluation.metrics`), the training CV accuracy mean ± std,
   and the paired DeLong test of the SAE against each other model.

Rows whose scenario features are not all finite (a lesion without segmented
calcifications has no calcification features) are left out of that scenario and
counted in ``n_dropped``.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from mammocad._fileio import atomic_write_csv, atomic_write_text
from mammocad.errors import DatasetError, MammocadError
from mammocad.evaluation.metrics import (
    DeLongResult,
    MetricsWithCI,
    _as_labels,
    delong_test,
    evaluate_scores,
    positive_scores,
    roc_auc,
)

__all__ = [
    "ModelResult",
    "ScenarioResult",
    "ExperimentResult",
    "split_patients",
    "run_experiment",
    "REQUIRED_COLUMNS",
    "REFERENCE_MODEL",
]

REQUIRED_COLUMNS = ("lesion_id", "patient_id", "label")
REFERENCE_MODEL = "sae"
_DEFAULT_SCENARIOS = ("calcification", "mass", "combined")

Selector = Callable[..., Any]


@dataclass(frozen=True)
class ModelResult:
    """One classifier in one scenario.

    Attributes
    ----------
    model : str
    test : MetricsWithCI
        Test-group metrics with intervals.
    cv_scores : tuple of float
        Training cross-validation accuracy of the selected hyper-parameters, one per fold.
    best_params : dict
    delong_vs_reference : DeLongResult or None
        Paired DeLong test of the reference model (SAE) against this one, ``None``
        for the reference itself or when it was not run.
    fit_seconds : float
        Wall time of model selection and refit.
    """

    model: str
    test: MetricsWithCI
    cv_scores: tuple[float, ...]
    best_params: dict[str, Any]
    delong_vs_reference: DeLongResult | None
    fit_seconds: float

    @property
    def cv_mean(self) -> float:
        """Mean training CV accuracy."""
        return float(np.mean(self.cv_scores)) if self.cv_scores else float("nan")

    @property
    def cv_std(self) -> float:
        """Standard deviation (ddof 0, as scikit-learn reports) of the training CV accuracy."""
        return float(np.std(self.cv_scores)) if self.cv_scores else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-ready)."""
        return {
            "test": self.test.to_dict(),
            "cv_mean": self.cv_mean,
            "cv_std": self.cv_std,
            "cv_scores": list(self.cv_scores),
            "best_params": _jsonable(self.best_params),
            "delong_vs_reference": None
            if self.delong_vs_reference is None
            else self.delong_vs_reference.to_dict(),
            "fit_seconds": self.fit_seconds,
        }


@dataclass(frozen=True)
class ScenarioResult:
    """All classifiers in one scenario.

    Attributes
    ----------
    name : str
    columns : tuple of str
        Feature columns used.
    n_train, n_test : int
        Lesions used in training / test (after dropping non-finite rows).
    n_dropped : int
        Lesions left out because a scenario feature was not finite.
    models : dict of str to ModelResult
    feature_auc : DataFrame
        One row per feature: ``feature``, ``direction`` (+1 / -1, chosen on the
        training group), ``auc_train`` and ``auc_test`` of the oriented feature.
    """

    name: str
    columns: tuple[str, ...]
    n_train: int
    n_test: int
    n_dropped: int
    models: dict[str, ModelResult]
    feature_auc: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-ready)."""
        return {
            "columns": list(self.columns),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_dropped": self.n_dropped,
            "models": {k: v.to_dict() for k, v in self.models.items()},
            "feature_auc": _jsonable(self.feature_auc.to_dict(orient="records")),
        }


@dataclass(frozen=True)
class ExperimentResult:
    """Everything one run of :func:`run_experiment` measured.

    Attributes
    ----------
    scenarios : dict of str to ScenarioResult
    predictions : DataFrame
        Long form: ``scenario, model, lesion_id, patient_id, label, score,
        threshold`` for every test lesion (models ``feature:<name>`` hold the
        oriented single-feature scores of the Fig. 4 analysis).
    split : DataFrame
        ``lesion_id, patient_id, abnormality, label, split`` for every row used.
    dataset : dict
        Counts per split, class and abnormality.
    config : dict
        The arguments of the run (seed, fractions, models ...).
    versions : dict
        Python and library versions.
    """

    scenarios: dict[str, ScenarioResult]
    predictions: pd.DataFrame
    split: pd.DataFrame
    dataset: dict[str, Any]
    config: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def reference_model(self) -> str:
        """Model the DeLong tests compare against (the SAE)."""
        return str(self.config.get("reference_model", REFERENCE_MODEL))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary: what ``results.json`` holds."""
        return {
            "config": _jsonable(self.config),
            "dataset": _jsonable(self.dataset),
            "versions": dict(self.versions),
            "scenarios": {k: v.to_dict() for k, v in self.scenarios.items()},
        }

    def table(self) -> pd.DataFrame:
        """One row per scenario × model: what ``results.csv`` holds."""
        rows = []
        for sname, sres in self.scenarios.items():
            for mname, mres in sres.models.items():
                p, ci = mres.test.point, mres.test.intervals
                row: dict[str, Any] = {"scenario": sname, "model": mname, "n_test": sres.n_test}
                for metric in ("accuracy", "sensitivity", "specificity", "auc"):
                    row[metric] = getattr(p, metric)
                    row[f"{metric}_ci_low"] = ci[metric].low
                    row[f"{metric}_ci_high"] = ci[metric].high
                row["cv_accuracy_mean"] = mres.cv_mean
                row["cv_accuracy_std"] = mres.cv_std
                d = mres.delong_vs_reference
                row[f"delong_p_vs_{self.reference_model}"] = np.nan if d is None else d.p_value
                row["threshold"] = p.threshold
                row["best_params"] = json.dumps(_jsonable(mres.best_params), sort_keys=True)
                rows.append(row)
        return pd.DataFrame(rows)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``results.json``, ``results.csv``, ``predictions.csv`` and ``split.csv`` atomically.

        Returns
        -------
        dict of str to Path
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "results.json": out / "results.json",
            "results.csv": out / "results.csv",
            "predictions.csv": out / "predictions.csv",
            "split.csv": out / "split.csv",
        }
        atomic_write_text(
            paths["results.json"], json.dumps(_jsonable(self.to_dict()), indent=2, allow_nan=False) + "\n"
        )
        for name, frame in (
            ("results.csv", self.table()),
            ("predictions.csv", self.predictions),
            ("split.csv", self.split),
        ):
            atomic_write_csv(paths[name], frame)
        return paths


def _jsonable(value: Any) -> Any:
    """Make numpy scalars, tuples and non-finite floats JSON-safe (NaN → None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def software_versions() -> dict[str, str]:
    """Versions of Python and of the libraries the numbers depend on."""
    out = {"python": platform.python_version()}
    for dist in ("mammocad", "numpy", "scipy", "scikit-learn", "scikit-image", "torch", "pandas"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def split_patients(
    patient_id: ArrayLike,
    label: ArrayLike,
    *,
    test_fraction: float = 0.2,
    random_state: int | None = 0,
) -> NDArray[np.bool_]:
    """Patient-level stratified train/test split.

    Each patient's label is 1 when any of the patient's lesions is malignant. In
    each patient class, ``round(test_fraction × n)`` patients (at least one when
    the class has two or more) go to the test group.

    Parameters
    ----------
    patient_id : array-like of shape (n,)
    label : array-like of shape (n,)
        1 = malignant.
    test_fraction : float, default 0.2
        In (0, 1). The paper's is 204 / 1204 ≈ 0.17.
    random_state : int or None, default 0

    Returns
    -------
    ndarray of bool, shape (n,)
        True for lesions in the test group.

    Examples
    --------
    >>> m = split_patients(["a", "a", "b", "c", "d"], [1, 1, 0, 1, 0], test_fraction=0.5)
    >>> bool(m[0] == m[1])
    True
    """
    if not 0 < test_fraction < 1:
        raise MammocadError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    y = _as_labels(label, "label")
    pid = np.asarray(patient_id).astype(str)
    if pid.shape != y.shape:
        raise MammocadError(f"patient_id must have shape {y.shape} like the labels, got {pid.shape}")
    patients, inverse = np.unique(pid, return_inverse=True)
    patient_label = np.zeros(patients.size, dtype=int)
    np.maximum.at(patient_label, inverse, y.astype(int))
    rng = np.random.default_rng(random_state)
    test_patients = np.zeros(patients.size, dtype=bool)
    for cls in (0, 1):
        members = np.flatnonzero(patient_label == cls)
        if members.size < 2:
            continue
        k = min(members.size - 1, max(1, int(round(test_fraction * members.size))))
        test_patients[rng.permutation(members)[:k]] = True
    return test_patients[inverse]


def _given_split(df: pd.DataFrame, column: str) -> NDArray[np.bool_]:
    if column not in df.columns:
        raise DatasetError(
            f"split column {column!r} is not in the feature table (columns: {list(df.columns)})"
        )
    values = df[column].astype(str).str.strip().str.lower()
    bad = ~values.isin(["train", "test"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DatasetError(
            f"split column {column!r}: row {i} (lesion {df['lesion_id'].iloc[i]!r}) is "
            f"{df[column].iloc[i]!r}, expected 'train' or 'test'"
        )
    test = (values == "test").to_numpy()
    both = set(df.loc[test, "patient_id"]) & set(df.loc[~test, "patient_id"])
    if both:
        raise DatasetError(
            f"split column {column!r} puts patient {sorted(both)[0]!r} in both train and test "
            f"({len(both)} such patients); splits must be by patient"
        )
    return test


def _validate(df: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise DatasetError(f"features_df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DatasetError(f"feature table lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS)}")
    if df.empty:
        raise DatasetError("feature table has no rows")
    out = df.reset_index(drop=True).copy()
    lab = pd.to_numeric(out["label"], errors="coerce")
    bad = ~lab.isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DatasetError(
            f"feature table row {i}: label is {out['label'].iloc[i]!r}, expected 0 or 1 (1 = malignant)"
        )
    out["label"] = lab.astype(int)
    out["patient_id"] = out["patient_id"].astype(str)
    out["lesion_id"] = out["lesion_id"].astype(str)
    if out["lesion_id"].duplicated().any():
        dup = out.loc[out["lesion_id"].duplicated(), "lesion_id"].iloc[0]
        raise DatasetError(f"feature table: lesion_id {dup!r} appears more than once")
    if out["label"].nunique() < 2:
        raise DatasetError("feature table holds one class only; benign and malignant lesions are both needed")
    return out


def _resolve_scenarios(
    scenarios: Sequence[str] | Mapping[str, Sequence[str]], df: pd.DataFrame
) -> dict[str, tuple[str, ...]]:
    if isinstance(scenarios, Mapping):
        resolved = {str(k): tuple(v) for k, v in scenarios.items()}
    else:
        if isinstance(scenarios, str):
            scenarios = [scenarios]
        from mammocad.features import scenario_columns

        resolved = {}
        for name in scenarios:
            try:
                resolved[name] = tuple(scenario_columns(name))
            except (KeyError, ValueError) as exc:
                raise MammocadError(
                    f"unknown scenario {name!r}; expected one of {list(_DEFAULT_SCENARIOS)}"
                ) from exc
    if not resolved:
        raise MammocadError("no scenario given")
    for name, cols in resolved.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DatasetError(
                f"scenario {name!r} needs feature column(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} "
                "which the feature table lacks"
            )
    return resolved


def _default_models() -> tuple[str, ...]:
    from mammocad.models import MODEL_NAMES, PAPER_MODELS

    extra = tuple(m for m in MODEL_NAMES if m not in PAPER_MODELS)
    return tuple(PAPER_MODELS) + extra


def _ensure_fitted(estimator: Any, X: NDArray[np.float64], y: NDArray[np.int_]) -> Any:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError:
        estimator.fit(X, y)
    return estimator


def _dataset_summary(df: pd.DataFrame, test: NDArray[np.bool_]) -> dict[str, Any]:
    summary: dict[str, Any] = {"n_lesions": int(len(df)), "n_patients": int(df["patient_id"].nunique())}
    for name, mask in (("train", ~test), ("test", test)):
        part = df[mask]
        entry: dict[str, Any] = {
            "lesions": int(len(part)),
            "patients": int(part["patient_id"].nunique()),
            "malignant": int(part["label"].sum()),
            "benign": int((part["label"] == 0).sum()),
        }
        if "abnormality" in part.columns:
            entry["by_abnormality"] = {
                str(abn): {
                    "malignant": int(g["label"].sum()),
                    "benign": int((g["label"] == 0).sum()),
                }
                for abn, g in part.groupby(part["abnormality"].astype(str), sort=True)
            }
        summary[name] = entry
    return summary


def _feature_auc(
    columns: Sequence[str],
    X_train: NDArray[np.float64],
    y_train: NDArray[np.int_],
    X_test: NDArray[np.float64],
    y_test: NDArray[np.int_],
) -> tuple[pd.DataFrame, dict[str, NDArray[np.float64]]]:
    """Single-feature AUCs; the direction is chosen on training, applied to test."""
    rows, oriented = [], {}
    for j, col in enumerate(columns):
        raw = roc_auc(y_train, X_train[:, j])
        direction = -1 if (math.isfinite(raw) and raw < 0.5) else 1
        test_scores = direction * X_test[:, j]
        oriented[col] = test_scores
        rows.append(
            {
                "feature": col,
                "direction": direction,
                "auc_train": direction * (raw - 0.5) + 0.5 if math.isfinite(raw) else float("nan"),
                "auc_test": roc_auc(y_test, test_scores),
            }
        )
    return pd.DataFrame(rows, columns=["feature", "direction", "auc_train", "auc_test"]), oriented


def run_experiment(
    features_df: pd.DataFrame,
    out_dir: str | Path | None = None,
    *,
    scenarios: Sequence[str] | Mapping[str, Sequence[str]] = _DEFAULT_SCENARIOS,
    models: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    split_column: str | None = None,
    seed: int = 0,
    n_splits: int = 10,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    reference_model: str = REFERENCE_MODEL,
    select: Selector | None = None,
    progress: bool = False,
) -> ExperimentResult:
    """Run the paper's experiment on a feature table.

    Parameters
    ----------
    features_df : DataFrame
        A feature table (:func:`mammocad.pipeline.measure_lesion_table`): at least
        ``lesion_id``, ``patient_id``, ``label`` (1 = malignant) and the
        scenarios' feature columns; ``abnormality`` is summarised when present.
    out_dir : path, optional
        Where to write ``results.json``, ``results.csv``, ``predictions.csv`` and
        ``split.csv``; nothing is written when ``None``. Figures and
        ``report.html`` are :func:`mammocad.report.write_report`'s job.
    scenarios : sequence of str or mapping of str to columns
        Names understood by :func:`mammocad.features.scenario_columns`, or a
        mapping of scenario name to feature columns (any dataset).
    models : sequence of str, optional
        Model names for ``select``; default: the paper's four
        (:data:`mammocad.models.PAPER_MODELS`) then the extra baseline(s).
    test_fraction : float, default 0.2
        Fraction of patients held out (paper: 204 / 1204 ≈ 0.17). Ignored when
        ``split_column`` is given.
    split_column : str, optional
        Column holding ``train`` / ``test`` per row (e.g. ``"split"``).
    seed : int, default 0
        Seeds the split, model selection and the bootstrap. The same seed gives
        the same numbers.
    n_splits : int, default 10
        Cross-validation folds on the training group (grouped by patient).
    n_bootstrap : int, default 2000
        Patient-bootstrap resamples for the intervals.
    confidence : float, default 0.95
    reference_model : str, default "sae"
        Model the paired DeLong tests compare the others with.
    select : callable, optional
        ``select(name, X, y, groups, *, n_splits, random_state)`` returning an
        object with ``best_estimator``, ``best_params``, ``cv_scores``; default
        :func:`mammocad.models.select_model`.
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    DatasetError
        Missing columns, bad labels, a split column that is malformed or puts a
        patient on both sides, a scenario with too few lesions.
    MammocadError
        Bad arguments.
    """
    df = _validate(features_df)
    if not isinstance(n_splits, int | np.integer) or n_splits < 2:
        raise MammocadError(f"n_splits must be an integer >= 2, got {n_splits!r}")
    scen = _resolve_scenarios(scenarios, df)
    model_names, selector = _resolve_models(models, select)
    if split_column is not None:
        test = _given_split(df, split_column)
    else:
        test = split_patients(df["patient_id"], df["label"], test_fraction=test_fraction, random_state=seed)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(scen) * len(model_names), desc="experiment", unit="model")
    scenario_results: dict[str, ScenarioResult] = {}
    pred_frames: list[pd.DataFrame] = []
    for sname, cols in scen.items():
        data = _scenario_data(df, test, sname, cols, n_splits)
        fits: dict[str, _Fit] = {}
        for mname in model_names:
            if bar is not None:
                bar.set_postfix_str(f"{sname}/{mname}")
            fits[mname] = _fit_and_score(
                selector,
                mname,
                data,
                n_splits=n_splits,
                seed=seed,
                n_bootstrap=n_bootstrap,
                confidence=confidence,
            )
            if bar is not None:
                bar.update(1)
        fauc, oriented = _feature_auc(cols, data.X_train, data.y_train, data.X_test, data.y_test)
        pred_frames.extend(_prediction_frames(data, fits, oriented))
        scenario_results[sname] = ScenarioResult(
            name=sname,
            columns=tuple(cols),
            n_train=int(data.y_train.size),
            n_test=int(data.y_test.size),
            n_dropped=data.n_dropped,
            models=_model_results(fits, data.y_test, reference_model),
            feature_auc=fauc,
        )
    if bar is not None:
        bar.close()

    config = {
        "scenarios": {k: len(v) for k, v in scen.items()},
        "models": list(model_names),
        "reference_model": reference_model,
        "test_fraction": None if split_column is not None else test_fraction,
        "split_column": split_column,
        "seed": seed,
        "n_splits": n_splits,
        "n_bootstrap": n_bootstrap,
        "confidence": confidence,
        "threshold_rule": (
            "malignant when P(malignant) >= 0.5; the SVM (and any model without probabilities) "
            "is scored by its decision function, malignant when >= 0"
        ),
        "cv": "grouped by patient, on the training group only",
    }
    result = ExperimentResult(
        scenarios=scenario_results,
        predictions=pd.concat(pred_frames, ignore_index=True),
        split=_split_frame(df, test),
        dataset=_dataset_summary(df, test),
        config=config,
        versions=software_versions(),
    )
    if out_dir is not None:
        result.write(out_dir)
    return result


# --------------------------------------------------------------------------------------
# the steps of run_experiment


def _resolve_models(
    models: Sequence[str] | None, select: Selector | None
) -> tuple[tuple[str, ...], Selector]:
    """The model names to run and the function that selects each one's hyper-parameters."""
    model_names = tuple(models) if models is not None else _default_models()
    if not model_names:
        raise MammocadError("no model given")
    if select is not None:
        return model_names, select
    from mammocad.models import MODEL_NAMES, select_model

    unknown = [m for m in model_names if m not in MODEL_NAMES]
    if unknown:
        raise MammocadError(f"unknown model(s) {unknown}; expected some of {list(MODEL_NAMES)}")
    return model_names, select_model


def _split_frame(df: pd.DataFrame, test: NDArray[np.bool_]) -> pd.DataFrame:
    """``split.csv``: every row's lesion, patient, abnormality, label and side of the split."""
    return pd.DataFrame(
        {
            "lesion_id": df["lesion_id"],
            "patient_id": df["patient_id"],
            "abnormality": df["abnormality"].astype(str) if "abnormality" in df.columns else "",
            "label": df["label"],
            "split": np.where(test, "test", "train"),
        }
    )


@dataclass(frozen=True)
class _ScenarioData:
    """One scenario's training and test arrays (rows with non-finite features left out)."""

    name: str
    X_train: NDArray[np.float64]
    y_train: NDArray[np.int_]
    groups_train: NDArray[Any]
    X_test: NDArray[np.float64]
    y_test: NDArray[np.int_]
    lesion_test: NDArray[Any]
    patient_test: NDArray[Any]
    n_dropped: int


def _scenario_data(
    df: pd.DataFrame, test: NDArray[np.bool_], name: str, columns: Sequence[str], n_splits: int
) -> _ScenarioData:
    """Split one scenario's finite rows; both classes on each side and enough patients to fold."""
    X_all = df[list(columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(X_all).all(axis=1)
    tr, te = finite & ~test, finite & test
    y_tr, y_te = df["label"].to_numpy()[tr], df["label"].to_numpy()[te]
    g_tr = df["patient_id"].to_numpy()[tr]
    for part, yy in (("training", y_tr), ("test", y_te)):
        if yy.size == 0 or yy.min() == yy.max():
            raise DatasetError(
                f"scenario {name!r}: the {part} group has {int(yy.sum())} malignant and "
                f"{int((yy == 0).sum())} benign lesions with finite features; both classes are needed"
            )
    if np.unique(g_tr).size < n_splits:
        raise DatasetError(
            f"scenario {name!r}: {np.unique(g_tr).size} training patients, fewer than n_splits={n_splits}"
        )
    return _ScenarioData(
        name=name,
        X_train=X_all[tr],
        y_train=y_tr,
        groups_train=g_tr,
        X_test=X_all[te],
        y_test=y_te,
        lesion_test=df["lesion_id"].to_numpy()[te],
        patient_test=df["patient_id"].to_numpy()[te],
        n_dropped=int((~finite).sum()),
    )


@dataclass(frozen=True)
class _Fit:
    """One model selected and refitted on a scenario's training group, scored on its test group."""

    metrics: MetricsWithCI
    cv_scores: tuple[float, ...]
    best_params: dict[str, Any]
    fit_seconds: float
    score: NDArray[np.float64]
    threshold: float


def _fit_and_score(
    selector: Selector,
    model: str,
    data: _ScenarioData,
    *,
    n_splits: int,
    seed: int,
    n_bootstrap: int,
    confidence: float,
) -> _Fit:
    """Select hyper-parameters by grouped CV on the training group, refit, score the test group once."""
    t0 = time.perf_counter()
    sel = selector(model, data.X_train, data.y_train, data.groups_train, n_splits=n_splits, random_state=seed)
    est = _ensure_fitted(sel.best_estimator, data.X_train, data.y_train)
    fit_seconds = time.perf_counter() - t0
    score, threshold = positive_scores(est, data.X_test)
    if not np.isfinite(score).all():
        raise MammocadError(f"model {model!r} gave non-finite scores in scenario {data.name!r}")
    metrics = evaluate_scores(
        data.y_test,
        score,
        data.patient_test,
        threshold=threshold,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        random_state=seed,
    )
    cv = tuple(float(v) for v in np.asarray(sel.cv_scores, dtype=float).ravel())
    return _Fit(metrics, cv, dict(sel.best_params), fit_seconds, score, threshold)


def _model_results(
    fits: Mapping[str, _Fit], y_test: NDArray[np.int_], reference: str
) -> dict[str, ModelResult]:
    """Each model's result with the paired DeLong test of the reference model against it."""
    results: dict[str, ModelResult] = {}
    for name, fit in fits.items():
        delong = None
        if reference in fits and name != reference:
            try:
                delong = delong_test(y_test, fits[reference].score, fit.score)
            except MammocadError:
                delong = None
        results[name] = ModelResult(
            name, fit.metrics, fit.cv_scores, fit.best_params, delong, fit.fit_seconds
        )
    return results


def _prediction_frames(
    data: _ScenarioData, fits: Mapping[str, _Fit], oriented: Mapping[str, NDArray[np.float64]]
) -> list[pd.DataFrame]:
    """Test-group scores of every model, then of every oriented single feature (``feature:<name>``)."""
    scored = [(name, fit.score, fit.threshold) for name, fit in fits.items()]
    scored += [(f"feature:{col}", sc, np.nan) for col, sc in oriented.items()]
    return [
        pd.DataFrame(
            {
                "scenario": data.name,
                "model": model,
                "lesion_id": data.lesion_test,
                "patient_id": data.patient_test,
                "label": data.y_test,
                "score": score,
                "threshold": threshold,
            }
        )
        for model, score, threshold in scored
    ]
