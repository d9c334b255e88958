"""Safe model persistence: JSON + safetensors, never pickle.

A model directory holds two files:

``model.json``
    Format name and version, the model name, hyper-parameters, the ordered
    feature list, the scaler's parameters, the class labels, the versions of
    mammocad / scikit-learn / torch / NumPy, the SHA-256 of the training matrix
    and labels, metrics given by the caller, and the structure of the fitted
    pipeline: for each step, its class (from a fixed allow-list), its
    constructor parameters and its learned attributes, with every array
    replaced by a key into the weights file. It also records the SHA-256 of the
    weights file.
``weights.safetensors``
    Every learned numeric array (scaler statistics, SVM support vectors and dual
    coefficients, the KNN training set, LDA / logistic coefficients, the SAE's
    weight matrices ...).

Loading builds each step from the allow-list (no import of a name read from a
file), sets its parameters and learned attributes, and refuses — with a
:class:`~mammocad.errors.ModelError` naming the file — a missing directory, an
unknown format or version, a weights file whose hash differs from the one
recorded (tampered or truncated), a file safetensors cannot parse, and any
class or value outside the allow-list. Nothing on the load path unpickles.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from mammocad._fileio import atomic_write_bytes, atomic_write_text
from mammocad.errors import ModelError
from mammocad.models.baselines import MonotonePlattSVC
from mammocad.models.sae import StackedDenoisingAutoencoderClassifier

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "TrainedModel",
    "save_model",
    "load_model",
    "training_data_hash",
]

FORMAT_NAME = "mammocad-model"
FORMAT_VERSION = 1
CONFIG_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"

# The only classes a model file may name. Loading never imports anything else.
_ALLOWED: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Pipeline,
        StandardScaler,
        MinMaxScaler,
        SVC,
        MonotonePlattSVC,
        # Model directories written before MonotonePlattSVC (mammocad 0.x) still load.
        CalibratedClassifierCV,
        _CalibratedClassifier,
        _SigmoidCalibration,
        KNeighborsClassifier,
        LinearDiscriminantAnalysis,
        LogisticRegression,
        StackedDenoisingAutoencoderClassifier,
    )
}
_MODEL_OF_CLASS = {
    "StackedDenoisingAutoencoderClassifier": "sae",
    "SVC": "svm",
    "MonotonePlattSVC": "svm",
    "CalibratedClassifierCV": "svm",
    "KNeighborsClassifier": "knn",
    "LinearDiscriminantAnalysis": "lda",
    "LogisticRegression": "logreg",
}
# KNN keeps a KD/ball tree object: persist its parameters and training set, refit (exact).
_REFIT_ON_LOAD = ("KNeighborsClassifier",)


@dataclass(frozen=True)
class TrainedModel:
    """A model read back by :func:`load_model`.

    Attributes
    ----------
    estimator : sklearn.pipeline.Pipeline or estimator
        The fitted model, ready to predict.
    feature_names : tuple of str
        Feature columns, in the order the model expects them.
    metadata : dict
        The contents of ``model.json`` (model name, hyper-parameters, versions,
        training data hash, metrics ...).
    """

    estimator: Any
    feature_names: tuple[str, ...]
    metadata: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        """Model name (``"sae"``, ``"svm"`` ...)."""
        return str(self.metadata.get("model", ""))

    def feature_matrix(self, features: Any) -> np.ndarray:
        """Select and order this model's feature columns.

        Parameters
        ----------
        features : mapping of name to value, DataFrame or ndarray
            One lesion (a dict, as from ``extract_lesion_features``), a table
            with the feature columns, or a matrix whose columns are already in
            :attr:`feature_names` order.

        Returns
        -------
        ndarray of shape (n_rows, n_features)

        Raises
        ------
        ModelError
            If ``features`` is none of the above, a feature the model needs is
            missing or not finite, or an array has the wrong number of columns.
        """
        import pandas as pd

        if isinstance(features, np.ndarray):
            X = np.atleast_2d(features)
            if X.ndim != 2 or X.shape[1] != len(self.feature_names):
                raise ModelError(
                    f"the model expects {len(self.feature_names)} features per row "
                    f"({', '.join(self.feature_names[:3])} ...), got an array of shape {features.shape}"
                )
            try:
                X = X.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"feature values are not numeric: {exc}") from None
            names = self.feature_names
        else:
            try:
                frame = (
                    pd.DataFrame([dict(features)])
                    if isinstance(features, Mapping)
                    else pd.DataFrame(features)
                )
            except (TypeError, ValueError) as exc:
                raise ModelError(f"features must be a mapping, a table or a 2-D array: {exc}") from None
            missing = [name for name in self.feature_names if name not in frame.columns]
            if missing:
                raise ModelError(
                    f"the model expects {len(self.feature_names)} features; missing: {', '.join(missing[:10])}"
                    f"{' ...' if len(missing) > 10 else ''}"
                )
            try:
                X = frame[list(self.feature_names)].to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"feature values are not numeric: {exc}") from None
            names = self.feature_names
        bad = [name for j, name in enumerate(names) if not np.isfinite(X[:, j]).all()]
        if bad:
            raise ModelError(f"features are NaN or infinite: {', '.join(bad[:10])}")
        return X

    def predict_proba_malignant(self, features: Any) -> np.ndarray:
        """Probability of the positive class (label 1, malignant) per row.

        Parameters
        ----------
        features : mapping or DataFrame
            See :meth:`feature_matrix`.

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        X = self.feature_matrix(features)
        classes = list(np.asarray(self.estimator.classes_).tolist())
        positive = 1 if 1 in classes else classes[-1]
        proba = self.estimator.predict_proba(X)
        return proba[:, classes.index(positive)]


def training_data_hash(X: Any, y: Any) -> str:
    """SHA-256 of a training matrix (as float64) and its labels.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    str
        Hex digest; equal data give equal digests.
    """
    X_arr = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    h = hashlib.sha256()
    h.update(repr(X_arr.shape).encode())
    h.update(X_arr.tobytes())
    h.update("\x1f".join(str(v) for v in np.asarray(y).tolist()).encode())
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ encoding


class _Encoder:
    """Turn parameters and learned attributes into JSON + named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value: Any, key: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return {"$int": int(value)} if isinstance(value, np.integer) else int(value)
        if isinstance(value, (float, np.floating)):
            v = float(value)
            return v if math.isfinite(v) else {"$float": repr(v)}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                self.arrays[key] = np.ascontiguousarray(value)
                return {"$array": key}
            if value.dtype.kind in "UO" and all(isinstance(v, str) for v in value.ravel().tolist()):
                return {
                    "$strarray": value.ravel().tolist(),
                    "shape": list(value.shape),
                    "dtype": value.dtype.str,
                }
            raise ModelError(f"cannot persist array {key!r} of dtype {value.dtype}")
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v, f"{key}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"$dict": {k: self.encode(v, f"{key}.{k}") for k, v in value.items()}}
        cls = type(value).__name__
        obj: Any = value
        if _ALLOWED.get(cls) is type(value):
            value = obj
            if cls in _REFIT_ON_LOAD:
                if not hasattr(value, "_fit_X"):
                    return {
                        "$object": cls,
                        "params": self.encode(value.get_params(deep=False), f"{key}.params"),
                    }
                return {
                    "$object": cls,
                    "params": self.encode(value.get_params(deep=False), f"{key}.params"),
                    "refit": {
                        "X": self.encode(value._fit_X, f"{key}.X"),
                        "y": self.encode(value.classes_[value._y], f"{key}.y"),
                    },
                }
            # Constructor parameters and learned attributes alike live in __dict__.
            return {
                "$object": cls,
                "attrs": {k: self.encode(v, f"{key}.{k}") for k, v in vars(value).items()},
            }
        raise ModelError(f"cannot persist {key!r}: values of type {type(value).__name__} are not supported")


def _decode(node: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, where) for v in node]
    if isinstance(node, dict) and len(node) >= 1:
        if "$array" in node:
            key = node["$array"]
            if key not in arrays:
                raise ModelError(f"{where}: array {key!r} named in {CONFIG_FILE} is not in {WEIGHTS_FILE}")
            return arrays[key]
        if "$int" in node:
            return np.int64(node["$int"])
        if "$float" in node:
            return float(node["$float"])
        if "$strarray" in node:
            return np.array(node["$strarray"], dtype=node.get("dtype", object)).reshape(node["shape"])
        if "$tuple" in node:
            return tuple(_decode(v, arrays, where) for v in node["$tuple"])
        if "$dict" in node:
            return {k: _decode(v, arrays, where) for k, v in node["$dict"].items()}
        if "$object" in node:
            return _decode_object(node, arrays, where)
    raise ModelError(f"{where}: unrecognised value {str(node)[:80]!r} in {CONFIG_FILE}")


def _decode_object(node: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> Any:
    name = node["$object"]
    cls: Any = _ALLOWED.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelError(f"{where}: class {name!r} is not one mammocad loads")
    try:
        if name in _REFIT_ON_LOAD:
            est = cls(**_decode(node["params"], arrays, where))
            if "refit" in node:
                est.fit(
                    _decode(node["refit"]["X"], arrays, where), _decode(node["refit"]["y"], arrays, where)
                )
            return est
        # Restore the attributes without running __init__, as unpickling would, but
        # only for allow-listed classes and only with plain values and arrays.
        obj = cls.__new__(cls)
        obj.__dict__.update({k: _decode(v, arrays, where) for k, v in node["attrs"].items()})
        return obj
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ModelError(
            f"{where}: malformed description of a {name} ({type(exc).__name__}: {exc})"
        ) from None


def _steps_of(estimator: Any) -> list[tuple[str, Any]]:
    if isinstance(estimator, Pipeline):
        return list(estimator.steps)
    return [("clf", estimator)]


def _check_savable(estimator: Any) -> None:
    for step_name, est in _steps_of(estimator):
        cls = type(est).__name__
        if _ALLOWED.get(cls) is not type(est):
            raise ModelError(
                f"cannot save a {type(est).__module__}.{cls}: supported steps are "
                f"{', '.join(sorted(k for k in _ALLOWED if not k.startswith('_')))}"
            )
        if not hasattr(est, "n_features_in_"):
            raise ModelError(f"cannot save step {step_name!r} ({cls}): it is not fitted")


def _scaler_summary(estimator: Any) -> dict[str, Any] | None:
    for _, est in _steps_of(estimator):
        if isinstance(est, StandardScaler):
            return {"class": "StandardScaler", "mean": est.mean_.tolist(), "scale": est.scale_.tolist()}
        if isinstance(est, MinMaxScaler):
            return {
                "class": "MinMaxScaler",
                "data_min": est.data_min_.tolist(),
                "data_max": est.data_max_.tolist(),
                "min": est.min_.tolist(),
                "scale": est.scale_.tolist(),
            }
    return None


def _hyper_parameters(clf: Any) -> dict[str, Any]:
    # Nested estimators, if any, show as their own ``<name>__...`` parameters; the
    # objects themselves are left out.
    out = {}
    for key, value in clf.get_params(deep=True).items():
        try:
            out[key] = json.loads(json.dumps(value, allow_nan=False, default=_json_default))
        except (TypeError, ValueError):
            continue
    return out


def _versions() -> dict[str, str]:
    import sklearn
    import torch

    from mammocad import __version__

    return {
        "mammocad": __version__,
        "sklearn": sklearn.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def _json_safe(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_json_default))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{where}: not JSON-serialisable ({exc})") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def save_model(
    model_dir: str | os.PathLike[str],
    estimator: Any,
    *,
    feature_names: Any,
    metadata: dict[str, Any] | None = None,
    training_data: tuple[Any, Any] | None = None,
) -> Path:
    """Write a fitted model to a directory (``model.json`` + ``weights.safetensors``).

    Parameters
    ----------
    model_dir : path
        Directory to write (created if needed; its two files are replaced
        atomically, the weights first, so a reader never sees a config without
        its weights).
    estimator : Pipeline or estimator
        A fitted model from :func:`~mammocad.models.make_model` (or one of its
        steps' classes alone).
    feature_names : sequence of str
        The feature columns, in the order the model was trained on.
    metadata : dict, optional
        JSON-serialisable extras: ``"model"`` (name; inferred if absent),
        ``"scenario"``, ``"metrics"`` (e.g. CV accuracy mean ± std, test AUC),
        ``"training_data_sha256"`` ...
    training_data : (X, y), optional
        The training matrix and labels; their :func:`training_data_hash` is
        recorded.

    Returns
    -------
    Path
        ``model_dir``.

    Raises
    ------
    ModelError
        If the model is not fitted, holds a step outside the supported set, or
        ``feature_names`` does not match its feature count.
    """
    from safetensors.numpy import save

    names = [str(n) for n in feature_names]
    steps = _steps_of(estimator)
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is None:
        raise ModelError("save_model: the estimator is not fitted")
    if n_in != len(names):
        raise ModelError(
            f"save_model: the model takes {n_in} features but {len(names)} feature names were given"
        )
    _check_savable(estimator)
    enc = _Encoder()
    spec = enc.encode(estimator, "estimator")
    weights = save(enc.arrays, metadata={"format": FORMAT_NAME})
    meta = _json_safe(dict(metadata or {}), "save_model metadata")
    clf = steps[-1][1]
    config: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model": meta.pop("model", _MODEL_OF_CLASS.get(type(clf).__name__, type(clf).__name__)),
        "estimator_class": type(clf).__name__,
        "hyper_parameters": _hyper_parameters(clf),
        "feature_names": names,
        "classes": _json_safe(np.asarray(clf.classes_).tolist(), "classes"),
        "scaler": _scaler_summary(estimator),
        "versions": _versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "training_data_sha256": (
            training_data_hash(*training_data)
            if training_data is not None
            else meta.pop("training_data_sha256", None)
        ),
        "metadata": meta,
        "weights": {"file": WEIGHTS_FILE, "sha256": hashlib.sha256(weights).hexdigest()},
        "estimator": spec,
    }
    out = Path(model_dir)
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / WEIGHTS_FILE, weights)
    atomic_write_text(out / CONFIG_FILE, json.dumps(config, indent=2, allow_nan=False) + "\n")
    return out


def load_model(model_dir: str | os.PathLike[str]) -> TrainedModel:
    """Read a model directory written by :func:`save_model`, without pickle.

    Parameters
    ----------
    model_dir : path
        Directory holding ``model.json`` and ``weights.safetensors``.

    Returns
    -------
    TrainedModel

    Raises
    ------
    ModelError
        If the directory or a file is missing, ``model.json`` is not a mammocad
        model description of a known version, the weights file's SHA-256 differs
        from the recorded one (tampered or truncated), or the weights cannot be
        parsed.

    Examples
    --------
    >>> model = load_model("models/calcification-sae")  # doctest: +SKIP
    >>> model.predict_proba_malignant(features)  # doctest: +SKIP
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    root = Path(model_dir)
    if not root.is_dir():
        raise ModelError(f"{root}: no such model directory")
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ModelError(f"{config_path}: missing; {root} is not a mammocad model directory")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(f"{config_path}: not a mammocad model description (invalid JSON: {exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelError(f"{config_path}: not a mammocad model description (format is not {FORMAT_NAME!r})")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"{config_path}: model format version {version!r} is not supported "
            f"(this mammocad reads version {FORMAT_VERSION})"
        )
    try:
        weights_info = config["weights"]
        weights_path = root / Path(str(weights_info["file"])).name
        expected = str(weights_info["sha256"])
        feature_names = tuple(str(n) for n in config["feature_names"])
        spec = config["estimator"]
    except (KeyError, TypeError) as exc:
        raise ModelError(f"{config_path}: malformed model description (missing {exc})") from None
    if not weights_path.is_file():
        raise ModelError(f"{weights_path}: weights file missing")
    data = weights_path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelError(
            f"{weights_path}: SHA-256 {actual[:16]}... differs from the {expected[:16]}... recorded in "
            f"{CONFIG_FILE}; the file was modified, truncated or replaced — refusing to load it"
        )
    try:
        arrays = load(data)
    except (SafetensorError, ValueError, OSError) as exc:
        raise ModelError(f"{weights_path}: not a readable safetensors file ({exc})") from None
    if not (isinstance(spec, dict) and "$object" in spec):
        raise ModelError(f"{config_path}: malformed model description (no estimator)")
    if not isinstance(config.get("metadata", {}), dict):
        raise ModelError(f"{config_path}: malformed model description ('metadata' must be an object)")
    estimator = _decode(spec, arrays, str(config_path))
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in != len(feature_names):
        raise ModelError(
            f"{config_path}: {len(feature_names)} feature names for a model taking {n_in} features"
        )
    return TrainedModel(estimator=estimator, feature_names=feature_names, metadata=config)
