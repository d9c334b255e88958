"""Safe model persistence: skops for scikit-learn steps, JSON + safetensors for the SAE.

A model directory (format 2) holds:

``manifest.json``
    The SHA-256 of every other file of the model, ``model.json`` included.
    Loading hashes each listed file and refuses, naming the file, any that is
    missing, changed, truncated or replaced.
``model.json``
    Format name and version, the model name, the ordered feature list and the
    input width, the class labels, the hyper-parameters, the scaler's
    parameters (for reading), the versions of mammocad, scikit-learn, torch,
    skops and NumPy that wrote it, the SHA-256 of the training matrix and
    labels, the caller's metadata (metrics ...), and the pipeline's steps: for
    each, its name, its class and its file. The SAE's step also carries its
    hyper-parameters and its learned scalars (epochs, loss curves) here.
``<step>.skops``
    A scikit-learn step (scaler, SVM, KNN, LDA, logistic regression,
    gradient-boosted trees) written by :func:`skops.io.dumps`.
``<step>.safetensors``
    The SAE's weight matrices and biases.

Loading never unpickles and never trusts a type because a file names it: every
type in a skops file is checked against an explicit per-step allow-list before
:func:`skops.io.loads` is called with exactly that list, and the loaded steps
are then checked as values: the class of each step for its place in the
pipeline (a scaler, then a classifier; no ``"passthrough"`` or ``None``), the
hyper-parameters (scikit-learn's own constraints and finite numbers), no
instance attribute that shadows a method (e.g. ``predict_proba``), learned
arrays of consistent shapes and finite values (KNN's ``n_neighbors`` at most its
training rows, tree nodes that point forward inside their tree, ...), the
feature names against the model's input width, and finally one prediction on a
probe row (the allow-list and these checks: :mod:`mammocad.models._integrity`).
Any failure is a :class:`~mammocad.errors.ModelError` naming the file. A model
written by other versions of mammocad or of its libraries loads with a
:class:`ModelVersionWarning`. Directories of mammocad 0.1 (format 1) are refused
with a request to retrain.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import math
import numbers
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from mammocad._fileio import atomic_write_bytes, atomic_write_text
from mammocad.errors import ModelError
from mammocad.models._integrity import (
    CLASSES_BY_NAME,
    CLASSIFIERS,
    check_fitted,
    check_model,
    check_no_shadowed_methods,
    check_params,
    check_skops_types,
    check_structure,
    int_attr,
    steps_of,
)
from mammocad.models.sae import StackedDenoisingAutoencoderClassifier

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "CONFIG_FILE",
    "MANIFEST_FILE",
    "ModelVersionWarning",
    "TrainedModel",
    "save_model",
    "load_model",
    "training_data_hash",
]

FORMAT_NAME = "mammocad-model"
FORMAT_VERSION = 2
CONFIG_FILE = "model.json"
MANIFEST_FILE = "manifest.json"
_MANIFEST_FORMAT = "mammocad-model-manifest"
_LEGACY_WEIGHTS_FILE = "weights.safetensors"  # format 1 (mammocad 0.1)
_MAX_JSON_BYTES = 64 << 20
_MAX_FILE_BYTES = 2 << 30
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class ModelVersionWarning(UserWarning):
    """A model directory was written by other versions of mammocad or its libraries.

    The model loads and predicts, but its probabilities may differ from those
    measured when it was saved; retrain it to be sure. The message is one line,
    fit for a ``warning: ...`` line of the command line.
    """


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
        training data hash, the caller's metadata under ``"metadata"`` ...).
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
            One lesion (a dict, as ``mammocad.pipeline.analyse_lesion`` gives), a table
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
        bad = [name for j, name in enumerate(self.feature_names) if not np.isfinite(X[:, j]).all()]
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

        Raises
        ------
        ModelError
            As :meth:`feature_matrix`, or when values are so far outside the
            training range that the model gives no finite probability.
        """
        X: Any = self.feature_matrix(features)
        if getattr(self.estimator, "feature_names_in_", None) is not None:
            import pandas as pd

            X = pd.DataFrame(X, columns=list(self.feature_names))  # fitted on a table: keep its names
        classes = list(np.asarray(self.estimator.classes_).tolist())
        positive = 1 if 1 in classes else classes[-1]
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                proba = self.estimator.predict_proba(X)
        except ValueError as exc:
            raise ModelError(f"the model cannot score these feature values: {exc}") from None
        p = proba[:, classes.index(positive)]
        if not np.isfinite(p).all():
            raise ModelError(
                "the model gives no finite probability: feature values far outside its training range"
            )
        return p


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


# ------------------------------------------------------------------ helpers


def _versions() -> dict[str, str]:
    from mammocad import __version__

    out = {"mammocad": __version__}
    for dist in ("scikit-learn", "torch", "skops", "numpy"):
        try:
            out[dist] = _metadata.version(dist)
        except _metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _json_safe(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_json_default))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{where}: not JSON-serialisable ({exc})") from None


def _hyper_parameters(clf: Any) -> dict[str, Any]:
    # For reading only (the steps' files are what loads); values JSON cannot hold are left out.
    out = {}
    for key, value in clf.get_params(deep=True).items():
        try:
            out[key] = json.loads(json.dumps(value, allow_nan=False, default=_json_default))
        except (TypeError, ValueError):
            continue
    return out


def _scaler_summary(steps: list[tuple[str, Any]]) -> dict[str, Any] | None:
    for _, est in steps:
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------ the SAE's files


_SAE_SCALARS = {"n_iter_": int, "best_epoch_": int, "device_": str, "fit_time_s_": float}


def _labels_to_json(labels: np.ndarray, where: str) -> dict[str, Any]:
    if labels.dtype.kind not in "biufUO" or (
        labels.dtype.kind == "O" and not all(isinstance(v, str) for v in labels.tolist())
    ):
        raise ModelError(f"{where}: class labels of dtype {labels.dtype} cannot be saved")
    return {"values": _json_safe(labels.tolist(), where), "dtype": labels.dtype.str}


def _labels_from_json(node: Any, where: str) -> np.ndarray:
    try:
        dtype = np.dtype(str(node["dtype"]))
        values = node["values"]
        if dtype.kind not in "biufUO" or not isinstance(values, list):
            raise ValueError(f"dtype {dtype}")
        if dtype.kind in "UO" and not all(isinstance(v, str) for v in values):
            raise ValueError("text labels expected")
        return np.array(values, dtype=dtype)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ModelError(f"{where}: malformed class labels ({exc})") from None


def _finite_or_none(values: Any) -> list[float | None]:
    return [float(v) if math.isfinite(float(v)) else None for v in values]


def _sae_payload(clf: StackedDenoisingAutoencoderClassifier, where: str) -> tuple[dict[str, Any], bytes]:
    """The SAE as JSON (hyper-parameters, learned scalars and curves) + safetensors (weights)."""
    from safetensors.numpy import save

    params = clf.get_params(deep=False)
    params["hidden_layer_sizes"] = list(clf._validate_params())
    if not isinstance(params["random_state"], numbers.Integral):
        params["random_state"] = None  # a RandomState instance only mattered for fitting
    arrays: dict[str, np.ndarray] = {}
    for prefix, values in (
        ("coef", clf.coefs_),
        ("intercept", clf.intercepts_),
        ("decoder_coef", clf.decoder_coefs_),
        ("decoder_intercept", clf.decoder_intercepts_),
    ):
        for k, value in enumerate(values):
            arrays[f"{prefix}.{k}"] = np.ascontiguousarray(value)
    names_in = getattr(clf, "feature_names_in_", None)
    state = {
        "classes": _labels_to_json(clf.classes_, where),
        "n_features_in": int(clf.n_features_in_),
        "feature_names_in": None if names_in is None else [str(n) for n in names_in],
        **{attr: _SAE_SCALARS[attr](getattr(clf, attr)) for attr in _SAE_SCALARS},
        "loss_curve_": _finite_or_none(clf.loss_curve_),
        "validation_loss_curve_": _finite_or_none(clf.validation_loss_curve_),
        "pretrain_loss_curves_": [_finite_or_none(curve) for curve in clf.pretrain_loss_curves_],
    }
    entry = _json_safe({"params": params, "state": state}, where)
    return entry, save(arrays, metadata={"format": FORMAT_NAME})


def _sae_from_payload(
    entry: dict[str, Any], data: bytes, where: str
) -> StackedDenoisingAutoencoderClassifier:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    cls = StackedDenoisingAutoencoderClassifier
    params, state = entry.get("params"), entry.get("state")
    expected = set(cls().get_params(deep=False))
    if not isinstance(params, dict) or set(params) != expected:
        raise ModelError(f"{where}: the SAE's parameters must be exactly {sorted(expected)}")
    if not isinstance(state, dict):
        raise ModelError(f"{where}: the SAE's learned state is missing")
    if not isinstance(params["hidden_layer_sizes"], list) or not (
        params["random_state"] is None or isinstance(params["random_state"], int)
    ):
        raise ModelError(f"{where}: malformed SAE parameters")
    clf = cls(**dict(params, hidden_layer_sizes=tuple(params["hidden_layer_sizes"])))
    try:
        sizes = clf._validate_params()
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from None
    try:
        arrays = load(data)
    except (SafetensorError, ValueError, OSError) as exc:
        raise ModelError(f"{where}: not a readable safetensors file ({exc})") from None
    n_layers = len(sizes) + 1
    n_decoders = len(sizes) if "decoder_coef.0" in arrays else 0
    keys = {f"{p}.{k}" for p in ("coef", "intercept") for k in range(n_layers)}
    keys |= {f"{p}.{k}" for p in ("decoder_coef", "decoder_intercept") for k in range(n_decoders)}
    if set(arrays) != keys:
        raise ModelError(
            f"{where}: holds arrays {sorted(set(arrays))[:6]} ...; an SAE with {len(sizes)} hidden "
            f"layers has {sorted(keys)[:6]} ..."
        )
    clf.coefs_ = [arrays[f"coef.{k}"] for k in range(n_layers)]
    clf.intercepts_ = [arrays[f"intercept.{k}"] for k in range(n_layers)]
    clf.decoder_coefs_ = [arrays[f"decoder_coef.{k}"] for k in range(n_decoders)]
    clf.decoder_intercepts_ = [arrays[f"decoder_intercept.{k}"] for k in range(n_decoders)]
    clf.classes_ = _labels_from_json(state.get("classes"), where)
    try:
        clf.n_features_in_ = int(state["n_features_in"])
        names_in = state.get("feature_names_in")
        if names_in is not None:
            if not (isinstance(names_in, list) and all(isinstance(n, str) for n in names_in)):
                raise TypeError("feature_names_in must list text")
            clf.feature_names_in_ = np.array(names_in, dtype=object)
        for attr, kind in _SAE_SCALARS.items():
            value = state[attr]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not kind:
                raise TypeError(f"{attr} must be {kind.__name__}")
            setattr(clf, attr, value)
        for attr in ("loss_curve_", "validation_loss_curve_"):
            setattr(clf, attr, [float("nan") if v is None else float(v) for v in state[attr]])
        clf.pretrain_loss_curves_ = [
            [float("nan") if v is None else float(v) for v in curve]
            for curve in state["pretrain_loss_curves_"]
        ]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ModelError(f"{where}: malformed SAE state ({type(exc).__name__}: {exc})") from None
    return clf


# ------------------------------------------------------- scikit-learn's files


def _skops_payload(est: Any, where: str) -> bytes:
    import skops.io as sio

    if type(est) is KNeighborsClassifier:
        # The search tree is a compiled object; it is rebuilt from the training rows on load.
        est = copy.copy(est)
        est.__dict__.pop("_tree", None)
    data = sio.dumps(est)
    check_skops_types(data, type(est), where)
    return data


def _skops_step(data: bytes, cls: type, where: str) -> Any:
    import skops.io as sio
    from sklearn.exceptions import InconsistentVersionWarning

    trusted = check_skops_types(data, cls, where)
    try:
        with warnings.catch_warnings():
            # load_model reports version differences itself (ModelVersionWarning).
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            est = sio.loads(data, trusted=trusted)
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise ModelError(f"{where}: not a readable skops file ({type(exc).__name__}: {exc})") from None
    if type(est) is not cls:
        raise ModelError(f"{where}: holds a {type(est).__name__}, model.json says {cls.__name__}")
    if cls is KNeighborsClassifier:
        est = _rebuild_knn(est, where)
    return est


def _rebuild_knn(knn: KNeighborsClassifier, where: str) -> KNeighborsClassifier:
    """A fresh KNN fitted on the saved (checked) training rows: exact, and no foreign tree."""
    check_no_shadowed_methods(knn, where)
    check_params(knn, where)
    check_fitted(knn, int_attr(knn, "n_features_in_", where, minimum=1), where)
    fresh = KNeighborsClassifier(**knn.get_params(deep=False))
    try:
        fresh.fit(knn._fit_X, knn.classes_[knn._y])
    except ValueError as exc:
        raise ModelError(f"{where}: the KNN cannot be rebuilt from its training rows ({exc})") from None
    names_in = getattr(knn, "feature_names_in_", None)
    if names_in is not None:
        fresh.feature_names_in_ = names_in
    return fresh


# ------------------------------------------------------------- save and load


def save_model(
    model_dir: str | os.PathLike[str],
    estimator: Any,
    *,
    feature_names: Any,
    metadata: dict[str, Any] | None = None,
    training_data: tuple[Any, Any] | None = None,
) -> Path:
    """Write a fitted model to a directory (see the module docstring for its files).

    Parameters
    ----------
    model_dir : path
        Directory to write (created if needed). Each file is replaced
        atomically, ``manifest.json`` last; files of a model saved there
        before that the new one does not use are removed.
    estimator : Pipeline or estimator
        A fitted model from :func:`~mammocad.models.make_model` (a scaler and a
        classifier), or one of its classifiers alone.
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
        If the model is not fitted, is not a supported scaler + classifier,
        fails the checks :func:`load_model` makes, ``feature_names`` do not
        match its input width, or a file cannot be written (naming it).
    """
    names = tuple(str(n) for n in feature_names)
    out = Path(model_dir)
    where = f"save_model({out})"
    check_model(estimator, names, where)
    steps = steps_of(estimator)
    files: dict[str, bytes] = {}
    step_entries: list[dict[str, Any]] = []
    for step_name, est in steps:
        entry: dict[str, Any] = {"name": step_name, "class": type(est).__name__}
        if type(est) is StackedDenoisingAutoencoderClassifier:
            sae_entry, data = _sae_payload(est, where)
            entry.update(file=f"{step_name}.safetensors", **sae_entry)
        else:
            data = _skops_payload(est, where)
            entry["file"] = f"{step_name}.skops"
        files[entry["file"]] = data
        step_entries.append(entry)
    meta = _json_safe(dict(metadata or {}), "save_model metadata")
    clf = steps[-1][1]
    config: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model": meta.pop("model", CLASSIFIERS[type(clf)]),
        "estimator_class": type(clf).__name__,
        "hyper_parameters": _hyper_parameters(clf),
        "feature_names": list(names),
        "n_features_in": len(names),
        "classes": _json_safe(np.asarray(clf.classes_).tolist(), "classes"),
        "scaler": _scaler_summary(steps),
        "versions": _versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "training_data_sha256": (
            training_data_hash(*training_data)
            if training_data is not None
            else meta.pop("training_data_sha256", None)
        ),
        "metadata": meta,
        "pipeline": isinstance(estimator, Pipeline),
        "steps": step_entries,
    }
    files[CONFIG_FILE] = (json.dumps(config, indent=2, allow_nan=False) + "\n").encode()
    manifest = {
        "format": _MANIFEST_FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": "sha256",
        "files": {name: _sha256(data) for name, data in sorted(files.items())},
    }
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out}: exists and is not a directory")
    stale = _files_of_previous_model(out) - set(files)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            if name != CONFIG_FILE:
                atomic_write_bytes(out / name, data)
        atomic_write_bytes(out / CONFIG_FILE, files[CONFIG_FILE])
        atomic_write_text(out / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
        for name in sorted(stale):
            (out / name).unlink(missing_ok=True)
    except OSError as exc:
        raise ModelError(f"{exc.filename or out}: cannot write the model ({exc.strerror or exc})") from None
    return out


def _files_of_previous_model(root: Path) -> set[str]:
    """Names of the files a model saved in ``root`` before owns (to remove them if unused now)."""
    names = {_LEGACY_WEIGHTS_FILE} if (root / _LEGACY_WEIGHTS_FILE).is_file() else set()
    try:
        listed = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))["files"]
        names |= {n for n in listed if isinstance(n, str) and _FILE_NAME.fullmatch(n)}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return names


def _read_bytes(path: Path, limit: int) -> bytes:
    if path.is_symlink():
        raise ModelError(f"{path}: is a symbolic link; a model directory holds plain files")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ModelError(f"{path}: not a regular file")
        if size > limit:
            raise ModelError(f"{path}: {size} bytes, more than the {limit} a model file may have")
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _parse_json(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(f"{path}: not a mammocad model file (invalid JSON: {exc})") from None


def _refuse_without_manifest(root: Path) -> None:
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ModelError(f"{root}: not a mammocad model directory (no {MANIFEST_FILE} or {CONFIG_FILE})")
    config = _parse_json(_read_bytes(config_path, _MAX_JSON_BYTES), config_path)
    if isinstance(config, dict) and config.get("format") == FORMAT_NAME and config.get("format_version") == 1:
        raise ModelError(
            f"{config_path}: a model saved by mammocad 0.1 (model format 1), which this version no longer "
            "loads (it restored private attributes); retrain it with `mammocad train` on the same feature table"
        )
    raise ModelError(f"{root}: {MANIFEST_FILE} is missing; not a complete mammocad model directory")


def _check_format(doc: Any, path: Path, format_name: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("format") != format_name:
        raise ModelError(f"{path}: not a mammocad model file (format is not {format_name!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path}: model format version {doc.get('format_version')!r} is not supported "
            f"(this mammocad reads version {FORMAT_VERSION})"
        )
    return doc


def _verified_files(root: Path) -> dict[str, bytes]:
    """Read every file the manifest lists and check its SHA-256."""
    manifest_path = root / MANIFEST_FILE
    manifest = _check_format(
        _parse_json(_read_bytes(manifest_path, _MAX_JSON_BYTES), manifest_path),
        manifest_path,
        _MANIFEST_FORMAT,
    )
    listed = manifest.get("files")
    if not isinstance(listed, dict) or CONFIG_FILE not in listed or manifest.get("algorithm") != "sha256":
        raise ModelError(f"{manifest_path}: must list {CONFIG_FILE} and the model's files with their SHA-256")
    contents: dict[str, bytes] = {}
    for name, expected in listed.items():
        if (
            not _FILE_NAME.fullmatch(name)
            or name == MANIFEST_FILE
            or not isinstance(expected, str)
            or not re.fullmatch(r"[0-9a-f]{64}", expected)
        ):
            raise ModelError(f"{manifest_path}: malformed entry {name!r}: {expected!r}")
        path = root / name
        data = _read_bytes(path, _MAX_FILE_BYTES)
        actual = _sha256(data)
        if actual != expected:
            raise ModelError(
                f"{path}: SHA-256 {actual[:16]}... differs from the {expected[:16]}... recorded in "
                f"{MANIFEST_FILE}; the file was modified, truncated or replaced — refusing to load the model"
            )
        contents[name] = data
    return contents


def _warn_versions(config: dict[str, Any], path: Path) -> None:
    saved = config.get("versions")
    if not isinstance(saved, dict) or not all(isinstance(v, str) for v in saved.values()):
        raise ModelError(f"{path}: malformed model description ('versions' must map names to text)")
    now = _versions()
    changed = [
        f"{pkg} {saved.get(pkg, 'unknown')} (now {now[pkg]})" for pkg in now if saved.get(pkg) != now[pkg]
    ]
    if changed:
        warnings.warn(
            f"{path}: saved with {', '.join(changed)}; its probabilities may differ from those measured "
            "when it was saved (retrain it to be sure)",
            ModelVersionWarning,
            stacklevel=3,
        )


def load_model(model_dir: str | os.PathLike[str]) -> TrainedModel:
    """Read a model directory written by :func:`save_model`, without pickle.

    Parameters
    ----------
    model_dir : path
        Directory holding ``manifest.json``, ``model.json`` and the steps' files.

    Returns
    -------
    TrainedModel

    Raises
    ------
    ModelError
        Naming the file: the directory or a listed file is missing; a file's
        SHA-256 differs from the manifest's (modified, truncated or replaced);
        a file is not what it should be (invalid JSON, another format or
        version, an unreadable skops or safetensors file); a skops file holds a
        type outside the step's allow-list; a step is not a scaler followed by
        a supported classifier; a hyper-parameter is invalid or not finite; an
        instance attribute shadows a method; learned arrays are inconsistent;
        ``feature_names`` do not match the model's input width (or the names it
        was fitted on); or the model fails on a probe row. A directory of
        mammocad 0.1 is refused with a request to retrain.

    Warns
    -----
    ModelVersionWarning
        When mammocad, scikit-learn, torch, skops or NumPy differ from the
        versions that saved the model.

    Examples
    --------
    >>> model = load_model("models/calcification-sae")  # doctest: +SKIP
    >>> model.predict_proba_malignant(features)  # doctest: +SKIP
    """
    root = Path(model_dir)
    if not root.is_dir():
        raise ModelError(f"{root}: no such model directory")
    if not (root / MANIFEST_FILE).exists():
        _refuse_without_manifest(root)
    contents = _verified_files(root)
    config_path = root / CONFIG_FILE
    config = _check_format(_parse_json(contents[CONFIG_FILE], config_path), config_path, FORMAT_NAME)
    names = config.get("feature_names")
    entries = config.get("steps")
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ModelError(f"{config_path}: malformed model description ('feature_names' must list text)")
    if not isinstance(config.get("metadata", {}), dict):
        raise ModelError(f"{config_path}: malformed model description ('metadata' must be an object)")
    if not (isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries)):
        raise ModelError(f"{config_path}: malformed model description ('steps' must list the steps)")
    _warn_versions(config, config_path)
    steps: list[tuple[Any, Any]] = []
    for entry in entries:
        cls = CLASSES_BY_NAME.get(entry.get("class")) if isinstance(entry.get("class"), str) else None
        file = entry.get("file")
        if cls is None:
            raise ModelError(f"{config_path}: step class {entry.get('class')!r} is not one mammocad loads")
        if not isinstance(file, str) or file not in contents or file == CONFIG_FILE:
            raise ModelError(f"{config_path}: step file {file!r} is not listed in {MANIFEST_FILE}")
        where = str(root / file)
        if cls is StackedDenoisingAutoencoderClassifier:
            est = _sae_from_payload(entry, contents[file], where)
        else:
            est = _skops_step(contents[file], cls, where)
        steps.append((entry.get("name"), est))
    if config.get("pipeline") is True:
        check_structure(steps, str(config_path))
        estimator: Any = Pipeline(steps)
    elif len(steps) == 1:
        estimator = steps[0][1]
    else:
        raise ModelError(f"{config_path}: several steps but 'pipeline' is not true")
    check_model(estimator, tuple(names), str(root))
    return TrainedModel(estimator=estimator, feature_names=tuple(names), metadata=config)
