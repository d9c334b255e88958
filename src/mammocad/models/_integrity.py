"""What a mammocad model may contain: the allow-list and the checks of a model's values.

Used by :func:`~mammocad.models.save_model` before it writes and by
:func:`~mammocad.models.load_model` after it reads, so that nothing is saved that would
not load. A model is at most one scaler then one classifier, each of an allow-listed
class; each skops file may hold only the types listed for its step; and the loaded
values must pass :func:`check_model` (see :mod:`mammocad.models.persistence`).
"""

from __future__ import annotations

import inspect
import io
import json
import math
import numbers
import re
import warnings
import zipfile
from typing import Any

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from mammocad.errors import ModelError
from mammocad.models.baselines import MonotonePlattSVC
from mammocad.models.sae import StackedDenoisingAutoencoderClassifier

STEP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")

SCALERS: tuple[type, ...] = (StandardScaler, MinMaxScaler)
CLASSIFIERS: dict[type, str] = {
    StackedDenoisingAutoencoderClassifier: "sae",
    MonotonePlattSVC: "svm",
    KNeighborsClassifier: "knn",
    LinearDiscriminantAnalysis: "lda",
    LogisticRegression: "logreg",
    HistGradientBoostingClassifier: "hgb",
}
CLASSES_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in (*SCALERS, *CLASSIFIERS)}


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# Every type a skops file of each step class may hold (skops itself trusts every
# scikit-learn estimator by default; this list is the one that is checked and passed).
_PLAIN_TYPES = frozenset(
    {f"builtins.{t}" for t in ("dict", "list", "tuple", "str", "int", "float", "bool")}
    | {f"numpy.{t}" for t in ("ndarray", "float64", "float32", "int64", "int32", "uint64", "bool_", "str_")}
)
_HGB_INTERNALS = frozenset(
    {
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss._loss.CyHalfMultinomialLoss",
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        _type_name(LabelEncoder),
        _type_name(np.random.Generator),
    }
)
_SKOPS_TYPES: dict[type, frozenset[str]] = {
    StandardScaler: frozenset({_type_name(StandardScaler)}),
    MinMaxScaler: frozenset({_type_name(MinMaxScaler)}),
    MonotonePlattSVC: frozenset({_type_name(MonotonePlattSVC), _type_name(SVC)}),
    # Saved without its search tree (rebuilt from the training rows on load).
    KNeighborsClassifier: frozenset({_type_name(KNeighborsClassifier)}),
    LinearDiscriminantAnalysis: frozenset({_type_name(LinearDiscriminantAnalysis)}),
    LogisticRegression: frozenset({_type_name(LogisticRegression)}),
    HistGradientBoostingClassifier: frozenset({_type_name(HistGradientBoostingClassifier)}) | _HGB_INTERNALS,
}


# ------------------------------------------------------- checks (save and load)


def steps_of(estimator: Any) -> list[tuple[str, Any]]:
    if isinstance(estimator, Pipeline):
        return list(estimator.steps)
    return [("clf", estimator)]


def check_structure(steps: list[tuple[Any, Any]], where: str) -> None:
    """At most one scaler, then exactly one allow-listed classifier; nothing else."""
    if not 1 <= len(steps) <= 2:
        raise ModelError(f"{where}: a model is a scaler and a classifier, got {len(steps)} steps")
    names = [name for name, _ in steps]
    for name, est in steps:
        if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
            raise ModelError(f"{where}: step name {name!r} is not a plain identifier")
        if est is None or isinstance(est, str):
            raise ModelError(f"{where}: step {name!r} is {est!r}; every step must be a fitted estimator")
    if len(set(names)) != len(names):
        raise ModelError(f"{where}: step names {names} repeat")
    *scalers, (clf_name, clf) = steps
    for name, est in scalers:
        if type(est) not in SCALERS:
            raise ModelError(
                f"{where}: step {name!r} is a {type(est).__module__}.{type(est).__name__}; the step before "
                f"the classifier must be one of {', '.join(c.__name__ for c in SCALERS)}"
            )
    if type(clf) not in CLASSIFIERS:
        raise ModelError(
            f"{where}: step {clf_name!r} is a {type(clf).__module__}.{type(clf).__name__}; supported "
            f"classifiers are {', '.join(c.__name__ for c in CLASSIFIERS)}"
        )


def check_no_shadowed_methods(root: Any, where: str) -> None:
    """Refuse instance attributes that hide a method or property of their class.

    An instance attribute ``predict_proba`` (or ``transform``, ``classes_`` as a
    property ...) would replace the class's code when called.
    """
    stack, seen = [root], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (list, tuple)):
            stack.extend(obj)
            continue
        if isinstance(obj, dict):
            stack.extend(obj.values())
            continue
        if isinstance(obj, (type, np.ndarray)):
            continue
        attrs = getattr(obj, "__dict__", None)
        if not isinstance(attrs, dict):
            continue
        cls = type(obj)
        for key, value in attrs.items():
            if not isinstance(key, str):
                raise ModelError(f"{where}: a {cls.__name__} has a non-text attribute name {key!r}")
            static = inspect.getattr_static(cls, key, None)
            if static is not None and hasattr(static, "__get__"):
                raise ModelError(
                    f"{where}: a {cls.__name__} carries an instance attribute {key!r} that shadows its "
                    f"{'method' if callable(static) else 'property'} of that name; refusing to load it"
                )
            stack.append(value)


def check_params(est: Any, where: str) -> None:
    """Hyper-parameters: the estimator's own constraints, and finite numbers."""
    try:
        params = est.get_params(deep=False)
    except Exception as exc:  # a tampered object may fail anywhere
        raise ModelError(f"{where}: cannot read the {type(est).__name__}'s parameters ({exc})") from None
    for key, value in params.items():
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isfinite(value):
            raise ModelError(f"{where}: {type(est).__name__} parameter {key}={value!r} is not finite")
    try:
        est._validate_params()
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:  # scikit-learn's InvalidParameterError is both
        raise ModelError(f"{where}: {exc}") from None


def _array(est: Any, attr: str, where: str, *, shape: tuple[int | None, ...], kinds: str = "f") -> np.ndarray:
    value = getattr(est, attr, None)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds or value.ndim != len(shape):
        raise ModelError(f"{where}: {type(est).__name__}.{attr} is not a {len(shape)}-D numeric array")
    if any(want is not None and got != want for got, want in zip(value.shape, shape, strict=True)):
        raise ModelError(
            f"{where}: {type(est).__name__}.{attr} has shape {value.shape}, expected "
            f"{tuple('any' if s is None else s for s in shape)}"
        )
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ModelError(f"{where}: {type(est).__name__}.{attr} holds NaN or infinite values")
    return value


def int_attr(est: Any, attr: str, where: str, *, minimum: int = 0) -> int:
    value = getattr(est, attr, None)
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < minimum:
        raise ModelError(
            f"{where}: {type(est).__name__}.{attr} is {value!r}, expected an integer >= {minimum}"
        )
    return int(value)


def _check_classes(est: Any, where: str) -> int:
    classes = getattr(est, "classes_", None)
    if (
        not isinstance(classes, np.ndarray)
        or classes.ndim != 1
        or classes.size < 2
        or np.unique(classes).size != classes.size
    ):
        raise ModelError(f"{where}: {type(est).__name__}.classes_ must list at least 2 distinct labels")
    return int(classes.size)


def _check_svc(svc: Any, width: int, where: str) -> None:
    if type(svc) is not SVC:
        raise ModelError(f"{where}: the SVM's inner model is a {type(svc).__name__}, not an SVC")
    check_params(svc, where)
    if getattr(svc, "_sparse", None) is not False or svc.kernel == "precomputed":
        raise ModelError(f"{where}: the SVC must be a dense, non-precomputed kernel model")
    if int_attr(svc, "n_features_in_", where, minimum=1) != width:
        raise ModelError(f"{where}: the SVC takes {svc.n_features_in_} features, the model {width}")
    n_sv = _array(svc, "support_vectors_", where, shape=(None, width)).shape[0]
    n_support = _array(svc, "_n_support", where, shape=(2,), kinds="i")
    if n_sv < 1 or int(n_support.sum()) != n_sv or (n_support < 0).any():
        raise ModelError(f"{where}: the SVC's support-vector counts do not add up to its {n_sv} vectors")
    _array(svc, "support_", where, shape=(n_sv,), kinds="i")
    _array(svc, "_dual_coef_", where, shape=(1, n_sv))
    _array(svc, "_intercept_", where, shape=(1,))
    for attr in ("_probA", "_probB"):
        _array(svc, attr, where, shape=(None,))
    gamma = getattr(svc, "_gamma", None)
    if not isinstance(gamma, numbers.Real) or not math.isfinite(gamma) or gamma < 0:
        raise ModelError(f"{where}: the SVC's gamma {gamma!r} is not a finite number >= 0")


def _check_tree_predictor(tree: Any, width: int, where: str) -> None:
    nodes = getattr(tree, "nodes", None)
    fields = ("value", "feature_idx", "left", "right", "is_leaf", "is_categorical")
    if not isinstance(nodes, np.ndarray) or nodes.ndim != 1 or nodes.size == 0 or nodes.dtype.names is None:
        raise ModelError(f"{where}: a tree of the gradient-boosted model has no node table")
    if not set(fields) <= set(nodes.dtype.names):
        raise ModelError(f"{where}: a tree's node table lacks {sorted(set(fields) - set(nodes.dtype.names))}")
    split = nodes["is_leaf"] == 0
    idx = np.arange(nodes.size)
    # Children after their parent and inside the table: every walk ends at a leaf.
    for child in ("left", "right"):
        c = nodes[child][split].astype(np.int64)
        if ((c <= idx[split]) | (c >= nodes.size)).any():
            raise ModelError(f"{where}: a tree node points to a {child} child outside its tree")
    feature = nodes["feature_idx"][split]
    if ((feature < 0) | (feature >= width)).any():
        raise ModelError(f"{where}: a tree node splits on a feature outside the model's {width}")
    if nodes["is_categorical"].any():
        raise ModelError(f"{where}: categorical splits are not supported")
    if not np.isfinite(nodes["value"]).all():
        raise ModelError(f"{where}: a tree holds NaN or infinite leaf values")


def check_fitted(est: Any, width: int, where: str) -> None:
    """Learned attributes of one step: present, of consistent shapes, finite."""
    cls = type(est)
    if int_attr(est, "n_features_in_", where, minimum=1) != width:
        raise ModelError(
            f"{where}: the {cls.__name__} takes {est.n_features_in_} features, the model {width}"
        )
    names_in = getattr(est, "feature_names_in_", None)
    if names_in is not None and (not isinstance(names_in, np.ndarray) or names_in.shape != (width,)):
        raise ModelError(f"{where}: {cls.__name__}.feature_names_in_ does not list {width} names")
    if cls is StandardScaler:
        for attr in ("mean_", "scale_"):
            if getattr(est, attr, None) is not None:
                _array(est, attr, where, shape=(width,))
    elif cls is MinMaxScaler:
        for attr in ("min_", "scale_", "data_min_", "data_max_", "data_range_"):
            _array(est, attr, where, shape=(width,))
    elif cls is MonotonePlattSVC:
        if _check_classes(est, where) != 2:
            raise ModelError(f"{where}: the SVM is a binary model")
        slope = getattr(est, "slope_", None)
        if not isinstance(slope, numbers.Real) or not math.isfinite(slope) or slope <= 0:
            raise ModelError(f"{where}: the SVM's probability slope {slope!r} is not a finite number > 0")
        _check_svc(est.svc_, width, where)
    elif cls is KNeighborsClassifier:
        n_classes = _check_classes(est, where)
        n_fit = int_attr(est, "n_samples_fit_", where, minimum=1)
        if est.n_neighbors > n_fit:
            raise ModelError(f"{where}: KNN n_neighbors={est.n_neighbors} exceeds its {n_fit} training rows")
        _array(est, "_fit_X", where, shape=(n_fit, width))
        labels = _array(est, "_y", where, shape=(n_fit,), kinds="iu")
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ModelError(f"{where}: KNN training labels point outside its {n_classes} classes")
    elif cls in (LinearDiscriminantAnalysis, LogisticRegression):
        n_classes = _check_classes(est, where)
        rows = 1 if n_classes == 2 else n_classes
        _array(est, "coef_", where, shape=(rows, width))
        _array(est, "intercept_", where, shape=(rows,))
    elif cls is HistGradientBoostingClassifier:
        n_classes = _check_classes(est, where)
        per_iter = 1 if n_classes == 2 else n_classes
        if getattr(est, "n_trees_per_iteration_", None) != per_iter:
            raise ModelError(
                f"{where}: the gradient-boosted model's tree count per iteration is not {per_iter}"
            )
        _array(est, "_baseline_prediction", where, shape=(1, per_iter))
        predictors = getattr(est, "_predictors", None)
        if not isinstance(predictors, list) or not all(
            isinstance(it, list) and len(it) == per_iter for it in predictors
        ):
            raise ModelError(f"{where}: the gradient-boosted model's trees are malformed")
        for iteration in predictors:
            for tree in iteration:
                _check_tree_predictor(tree, width, where)
        if (
            getattr(est, "_preprocessor", None) is not None
            or getattr(est, "is_categorical_", None) is not None
        ):
            raise ModelError(f"{where}: categorical features are not supported")
    elif cls is StackedDenoisingAutoencoderClassifier:
        n_classes = _check_classes(est, where)
        sizes = (width, *est._validate_params(), n_classes)
        coefs, intercepts = getattr(est, "coefs_", None), getattr(est, "intercepts_", None)
        if not (isinstance(coefs, list) and isinstance(intercepts, list)) or not (
            len(coefs) == len(intercepts) == len(sizes) - 1
        ):
            raise ModelError(f"{where}: the SAE does not hold one weight matrix and bias per layer")
        for k, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
            if not (
                isinstance(w, np.ndarray)
                and isinstance(b, np.ndarray)
                and w.shape == (sizes[k], sizes[k + 1])
                and b.shape == (sizes[k + 1],)
                and w.dtype.kind == b.dtype.kind == "f"
                and np.isfinite(w).all()
                and np.isfinite(b).all()
            ):
                raise ModelError(
                    f"{where}: the SAE's layer {k + 1} weights are not finite arrays of shape "
                    f"{(sizes[k], sizes[k + 1])} and {(sizes[k + 1],)}"
                )


def check_model(estimator: Any, feature_names: tuple[str, ...], where: str) -> None:
    """Every check a model passes before it is saved and after it is loaded."""
    steps = steps_of(estimator)
    check_structure(steps, where)
    width = getattr(steps[0][1], "n_features_in_", None)
    if width is None:
        raise ModelError(f"{where}: the model is not fitted")
    if not isinstance(width, numbers.Integral) or width != len(feature_names):
        raise ModelError(f"{where}: {len(feature_names)} feature names for a model taking {width!r} features")
    if len(set(feature_names)) != len(feature_names) or not all(feature_names):
        raise ModelError(f"{where}: feature names must be distinct and non-empty")
    names_in = getattr(steps[0][1], "feature_names_in_", None)
    if names_in is not None and tuple(str(n) for n in names_in) != tuple(feature_names):
        raise ModelError(
            f"{where}: feature names {list(feature_names[:3])} ... differ from the "
            f"{list(names_in[:3])} ... the model was fitted on (order included)"
        )
    for _, est in steps:
        check_no_shadowed_methods(est, where)
        check_params(est, where)
        check_fitted(est, int(width), where)
    probe = np.vstack([np.zeros(int(width)), np.ones(int(width))])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", UserWarning)  # e.g. "X does not have valid feature names"
            proba = estimator.predict_proba(probe)
    except Exception as exc:  # a model that fails here would fail the user's prediction
        raise ModelError(f"{where}: the model fails on a test row ({type(exc).__name__}: {exc})") from None
    n_classes = len(steps[-1][1].classes_)
    if (
        not isinstance(proba, np.ndarray)
        or proba.shape != (2, n_classes)
        or not np.isfinite(proba).all()
        or (proba < 0).any()
        or not np.allclose(proba.sum(axis=1), 1.0)
    ):
        raise ModelError(f"{where}: the model's probabilities on a test row are not probabilities")


_SKOPS_LOADERS = frozenset(
    {
        "ObjectNode",
        "DictNode",
        "ListNode",
        "TupleNode",
        "JsonNode",
        "NdArrayNode",
        "TypeNode",
        "LossNode",
        "RandomGeneratorNode",
    }
)


def _skops_types(data: bytes, where: str) -> set[str]:
    """Every type a skops file names (read from its schema, nothing constructed)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if any(info.compress_type != zipfile.ZIP_STORED for info in infos) or sum(
                info.file_size for info in infos
            ) > len(data):
                raise ModelError(f"{where}: compressed or oversized entries (mammocad writes stored entries)")
            schema = json.loads(archive.read("schema.json"))
    except ModelError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError, OSError, EOFError) as exc:
        raise ModelError(f"{where}: not a readable skops file ({type(exc).__name__}: {exc})") from None
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node or "__module__" in node or "__class__" in node:
                loader, module, name = node.get("__loader__"), node.get("__module__"), node.get("__class__")
                if not (isinstance(module, str) and isinstance(name, str)) or loader not in _SKOPS_LOADERS:
                    raise ModelError(f"{where}: holds a {loader!r} entry, which mammocad does not load")
                found.add(f"{module}.{name}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def check_skops_types(data: bytes, cls: type, where: str) -> list[str]:
    found = _skops_types(data, where)
    extra = found - _SKOPS_TYPES[cls] - _PLAIN_TYPES
    if extra:
        raise ModelError(
            f"{where}: holds {', '.join(sorted(extra)[:5])}{' ...' if len(extra) > 5 else ''}, "
            f"which a {cls.__name__} step may not hold"
        )
    return sorted(found)
