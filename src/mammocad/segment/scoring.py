"""The learned candidate scorer: how lesion-like a proposal is.

One model per candidate kind maps a proposal's features (see
:data:`~mammocad.segment.candidates.MASS_FEATURES` and
:data:`~mammocad.segment.candidates.CALCIFICATION_FEATURES`) to the estimated
probability that it is a lesion of that kind. Two model types are stored:

``logistic``
    Standardised features ``(x - mean) / scale``, then
    ``p = 1 / (1 + exp(-(coef · z + intercept)))`` (scikit-learn's
    ``LogisticRegression`` on a ``StandardScaler``).
``trees``
    Gradient-boosted regression trees on the raw features (scikit-learn's
    ``GradientBoostingClassifier`` with the log-loss):
    ``p = expit(init + learning_rate × Σ leaf value)``; each tree is stored as the
    arrays ``feature``, ``threshold``, ``left``, ``right``, ``value`` of
    scikit-learn's ``tree_`` (a sample goes left when ``x[feature] <= threshold``;
    ``left == -1`` marks a leaf).

The same file format holds the object scorer of
:func:`~mammocad.segment.segment_calcifications` (one model, kind
``"calcification_object"``). The parameters are plain numbers in JSON files
shipped with the package (``segment/data/*.json``), written by
``benchmarks/froc_train_scorer.py`` and
``benchmarks/segmentation_train_objects.py`` from a seed and the data; nothing is
ever unpickled.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mammocad.errors import SegmentationError

__all__ = [
    "LogisticModel",
    "TreeModel",
    "CandidateScorer",
    "load_scorer",
    "save_scorer",
    "default_scorer",
    "SCORER_FILES",
]

#: The scorers shipped inside the package: name → file (in ``mammocad/segment``).
SCORER_FILES = {
    "candidate_scorer": "data/candidate_scorer.json",
    "calcification_objects": "data/calcification_objects.json",
}
_FORMAT = "mammocad-candidate-scorer/1"


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True, eq=False)
class LogisticModel:
    """Logistic regression on standardised features.

    Parameters
    ----------
    names : tuple of str
        Feature names, in column order.
    mean, scale : ndarray
        Standardisation: ``z = (x - mean) / scale``.
    coef : ndarray
        One weight per feature.
    intercept : float
    """

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """Log-odds of each row."""
        z = (np.asarray(features, dtype=float) - self.mean) / self.scale
        return z @ self.coef + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "logistic",
            "names": list(self.names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": float(self.intercept),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticModel:
        names = tuple(str(n) for n in data["names"])
        arrays = [np.asarray(data[k], dtype=float) for k in ("mean", "scale", "coef")]
        if any(a.shape != (len(names),) for a in arrays) or (arrays[1] <= 0).any():
            raise SegmentationError("candidate scorer: logistic arrays do not match its feature names")
        return cls(names, arrays[0], arrays[1], arrays[2], float(data["intercept"]))


@dataclass(frozen=True, eq=False)
class TreeModel:
    """Gradient-boosted regression trees (binary log-loss).

    Parameters
    ----------
    names : tuple of str
    init : float
        Log-odds before the first tree.
    learning_rate : float
    trees : tuple of dict
        Each with int arrays ``feature``, ``left``, ``right`` and float arrays
        ``threshold``, ``value`` (one entry per node).
    """

    names: tuple[str, ...]
    init: float
    learning_rate: float
    trees: tuple[dict[str, np.ndarray], ...]

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """Log-odds of each row."""
        x = np.asarray(features, dtype=float)
        total = np.full(x.shape[0], self.init)
        rows = np.arange(x.shape[0])
        for tree in self.trees:
            node = np.zeros(x.shape[0], dtype=np.int64)
            left, right, feat, thr = tree["left"], tree["right"], tree["feature"], tree["threshold"]
            while True:
                inner = left[node] >= 0
                if not inner.any():
                    break
                go_left = x[rows, np.maximum(feat[node], 0)] <= thr[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            total += self.learning_rate * tree["value"][node]
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "trees",
            "names": list(self.names),
            "init": float(self.init),
            "learning_rate": float(self.learning_rate),
            "trees": [
                {
                    "feature": t["feature"].tolist(),
                    "threshold": t["threshold"].tolist(),
                    "left": t["left"].tolist(),
                    "right": t["right"].tolist(),
                    "value": t["value"].tolist(),
                }
                for t in self.trees
            ],
        }

    @classmethod
    def from_sklearn(cls, clf: Any, names: tuple[str, ...]) -> TreeModel:
        """The trees of a fitted binary :class:`sklearn.ensemble.GradientBoostingClassifier` (log-loss).

        Its initial log-odds come from the (sample-weighted) class prior it was fitted with.
        """
        prior = float(clf.init_.class_prior_[1])
        trees = tuple(
            {
                "feature": est.tree_.feature.astype(np.int64),
                "threshold": est.tree_.threshold.astype(float),
                "left": est.tree_.children_left.astype(np.int64),
                "right": est.tree_.children_right.astype(np.int64),
                "value": est.tree_.value[:, 0, 0].astype(float),
            }
            for est in clf.estimators_[:, 0]
        )
        return cls(tuple(names), float(np.log(prior / (1 - prior))), float(clf.learning_rate), trees)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeModel:
        names = tuple(str(n) for n in data["names"])
        trees = []
        for t in data["trees"]:
            tree = {
                "feature": np.asarray(t["feature"], dtype=np.int64),
                "threshold": np.asarray(t["threshold"], dtype=float),
                "left": np.asarray(t["left"], dtype=np.int64),
                "right": np.asarray(t["right"], dtype=np.int64),
                "value": np.asarray(t["value"], dtype=float),
            }
            n = tree["feature"].size
            if any(v.shape != (n,) for v in tree.values()) or n == 0:
                raise SegmentationError("candidate scorer: a tree's arrays differ in length")
            inner = tree["left"] >= 0
            if (
                (tree["feature"][inner] >= len(names)).any()
                or (tree["left"] >= n).any()
                or (tree["right"] >= n).any()
                or (tree["left"][inner] <= np.nonzero(inner)[0]).any()
                or (tree["right"][inner] <= np.nonzero(inner)[0]).any()
            ):
                raise SegmentationError("candidate scorer: a tree's node links are invalid")
            trees.append(tree)
        return cls(names, float(data["init"]), float(data["learning_rate"]), tuple(trees))


Model = LogisticModel | TreeModel


@dataclass(frozen=True, eq=False)
class CandidateScorer:
    """One model per candidate kind, plus how it was made.

    Parameters
    ----------
    models : dict
        Kind → :class:`LogisticModel` or :class:`TreeModel`.
    provenance : dict
        JSON-ready description: data, seed, command.
    thresholds : dict
        Kind → default decision threshold on the score, where the scorer is
        used to decide (the calcification object scorer); may be empty.
    """

    models: dict[str, Model]
    provenance: dict[str, Any]
    thresholds: dict[str, float] = dataclasses.field(default_factory=dict)

    def score(self, kind: str, features: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """Probability that each proposal of ``kind`` is a lesion of that kind.

        Raises
        ------
        SegmentationError
            If there is no model for ``kind`` or its features are not ``names``.
        """
        model = self.models.get(kind)
        if model is None:
            raise SegmentationError(f"candidate scorer: no model for {kind!r}")
        if tuple(names) != model.names:
            raise SegmentationError(
                f"candidate scorer: {kind} model expects features {model.names}, got {tuple(names)}"
            )
        x = np.asarray(features, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(names):
            raise SegmentationError(f"candidate scorer: features must be (n, {len(names)}), got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros(0)
        return _expit(model.decision_function(x))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "provenance": self.provenance,
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "models": {kind: model.to_dict() for kind, model in self.models.items()},
        }


def save_scorer(scorer: CandidateScorer, path: str | os.PathLike[str]) -> Path:
    """Write ``scorer`` as JSON (atomically)."""
    from mammocad._fileio import atomic_write_text

    out = Path(path)
    data = scorer.to_dict()
    # readable header, one compact line per model
    lines = [
        f"  {json.dumps(key)}: {json.dumps(data[key], indent=None, allow_nan=False)}"
        for key in data
        if key != "models"
    ]
    models = [
        f"    {json.dumps(kind)}: {json.dumps(spec, separators=(',', ':'), allow_nan=False)}"
        for kind, spec in data["models"].items()
    ]
    lines.append('  "models": {\n' + ",\n".join(models) + "\n  }")
    atomic_write_text(out, "{\n" + ",\n".join(lines) + "\n}\n")
    return out


def load_scorer(path: str | os.PathLike[str]) -> CandidateScorer:
    """Read a scorer written by :func:`save_scorer`.

    Raises
    ------
    SegmentationError
        If the file is missing, not JSON, or not a well-formed scorer.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SegmentationError(f"{p}: cannot read the candidate scorer ({exc})") from None
    return _from_dict(data, str(p))


def _from_dict(data: object, where: str) -> CandidateScorer:
    if (
        not isinstance(data, dict)
        or data.get("format") != _FORMAT
        or not isinstance(data.get("models"), dict)
    ):
        raise SegmentationError(f"{where}: not a candidate scorer ({_FORMAT})")
    models: dict[str, Model] = {}
    try:
        for kind, spec in data["models"].items():
            kind_type = spec.get("type")
            if kind_type == "logistic":
                models[str(kind)] = LogisticModel.from_dict(spec)
            elif kind_type == "trees":
                models[str(kind)] = TreeModel.from_dict(spec)
            else:
                raise SegmentationError(f"{where}: unknown model type {kind_type!r} for {kind!r}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, SegmentationError):
            raise
        raise SegmentationError(f"{where}: malformed candidate scorer ({exc})") from None
    for model in models.values():
        values = [model.intercept] if isinstance(model, LogisticModel) else [model.init, model.learning_rate]
        if not all(math.isfinite(v) for v in values):
            raise SegmentationError(f"{where}: non-finite scorer parameters")
    provenance = data.get("provenance")
    thresholds = data.get("thresholds", {})
    if not isinstance(thresholds, dict) or not all(
        isinstance(v, (int, float)) and math.isfinite(v) for v in thresholds.values()
    ):
        raise SegmentationError(f"{where}: thresholds must map kinds to finite numbers")
    return CandidateScorer(
        models,
        provenance if isinstance(provenance, dict) else {},
        {str(k): float(v) for k, v in thresholds.items()},
    )


@functools.lru_cache(maxsize=4)
def default_scorer(name: str = "candidate_scorer") -> CandidateScorer:
    """A scorer shipped with mammocad (read once): one of :data:`SCORER_FILES`.

    Raises
    ------
    SegmentationError
        If ``name`` is not a shipped scorer.
    """
    if name not in SCORER_FILES:
        raise SegmentationError(f"unknown scorer {name!r}; expected one of {sorted(SCORER_FILES)}")
    path = SCORER_FILES[name]
    text = (Path(__file__).parent / path).read_text(encoding="utf-8")
    return _from_dict(json.loads(text), f"mammocad/segment/{path}")
