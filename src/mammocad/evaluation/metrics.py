"""Diagnostic metrics with confidence intervals, and the DeLong test.

The paper (Wang et al. 2016, *Results*) defines, with malignant as the positive
class::

    accuracy    = (TP + TN) / (TP + FP + FN + TN)
    sensitivity = TP / (TP + FN)
    specificity = TN / (FP + TN)

and reports the area under the ROC curve (AUC). The paper does not state its
operating point; mammocad's **threshold rule** is: a lesion is predicted
malignant when its score is at or above the threshold, where the score is the
model's P(malignant) and the threshold 0.5, except for an SVM, which is scored
by its own decision function and threshold 0 (its probabilities are a sigmoid
fitted afterwards), as is a model without probabilities -- see
:func:`positive_scores`.

Confidence intervals:

* accuracy, sensitivity, specificity: percentile intervals of a **cluster
  bootstrap** that resamples *patients* with replacement (all lesions of a drawn
  patient come along), so lesions of one patient are not treated as independent;
* AUC: the **DeLong** interval (DeLong et al. 1988, fast algorithm of Sun & Xu
  2014), ``AUC ± z·SE``, clipped to [0, 1];
* :func:`delong_test`: the paired DeLong test of two correlated ROC curves
  (two models scored on the same lesions).

DeLong treats lesions as independent; with several lesions per patient its
interval can be slightly narrow, which is why the patient bootstrap also
reports an AUC interval (``auc_bootstrap``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.svm import SVC

from mammocad.errors import MammocadError

__all__ = [
    "BinaryMetrics",
    "Interval",
    "MetricsWithCI",
    "DeLongResult",
    "binary_metrics",
    "roc_auc",
    "delong_auc_variance",
    "delong_auc_ci",
    "delong_test",
    "bootstrap_ci",
    "evaluate_scores",
    "positive_scores",
]

_BOOTSTRAP_METRICS = ("accuracy", "sensitivity", "specificity", "auc")


@dataclass(frozen=True)
class BinaryMetrics:
    """Point estimates of the paper's four measurements on one set of lesions.

    Attributes
    ----------
    accuracy, sensitivity, specificity, auc : float
        As defined in the module docstring; ``nan`` where undefined (a
        sensitivity without malignant lesions, an AUC with one class only).
    threshold : float
        Scores ``>= threshold`` are predicted malignant.
    tp, fp, tn, fn : int
        The confusion matrix at ``threshold``.
    """

    accuracy: float
    sensitivity: float
    specificity: float
    auc: float
    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        """Number of lesions."""
        return self.tp + self.fp + self.tn + self.fn

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval ``[low, high]`` at level ``confidence``."""

    low: float
    high: float
    confidence: float
    method: str

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return bool(self.low <= value <= self.high)

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share at least one point."""
        return bool(self.low <= other.high and other.low <= self.high)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class MetricsWithCI:
    """Point estimates and 95 % (or ``confidence``) intervals of one model on one test set.

    Attributes
    ----------
    point : BinaryMetrics
    intervals : dict of str to Interval
        Keys ``accuracy``, ``sensitivity``, ``specificity`` (patient bootstrap),
        ``auc`` (DeLong) and ``auc_bootstrap`` (patient bootstrap).
    auc_se : float
        DeLong standard error of the AUC.
    n_bootstrap : int
        Bootstrap resamples drawn; ``n_bootstrap_valid`` per metric counts those
        where the metric was defined (both classes present where needed).
    """

    point: BinaryMetrics
    intervals: dict[str, Interval]
    auc_se: float
    n_bootstrap: int
    n_bootstrap_valid: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-ready)."""
        return {
            **self.point.to_dict(),
            "auc_se": self.auc_se,
            "ci": {k: v.to_dict() for k, v in self.intervals.items()},
            "n_bootstrap": self.n_bootstrap,
            "n_bootstrap_valid": dict(self.n_bootstrap_valid),
        }


@dataclass(frozen=True)
class DeLongResult:
    """Paired DeLong test of two correlated ROC curves (same lesions, two scores).

    Attributes
    ----------
    auc_a, auc_b : float
        AUCs of the two scores.
    difference : float
        ``auc_a - auc_b``.
    se : float
        Standard error of the difference.
    z : float
        ``difference / se`` (``0`` when both are identical, ``inf`` when the
        difference is non-zero but its variance vanishes).
    p_value : float
        Two-sided p-value under the normal approximation.
    """

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-ready)."""
        return asdict(self)


def _as_labels(y_true: ArrayLike, name: str = "y_true") -> NDArray[np.int8]:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise MammocadError(f"{name} must be one-dimensional, got shape {y.shape}")
    if y.size == 0:
        raise MammocadError(f"{name} is empty")
    if y.dtype == bool:
        return y.astype(np.int8)
    if not np.issubdtype(y.dtype, np.number):
        raise MammocadError(f"{name} must hold 0/1 labels (1 = malignant), got dtype {y.dtype}")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        raise MammocadError(
            f"{name} must hold 0/1 labels (1 = malignant); entry {int(np.flatnonzero(bad)[0])} is {y[bad][0]!r}"
        )
    return y.astype(np.int8)


def _as_scores(score: ArrayLike, n: int, name: str = "score") -> NDArray[np.float64]:
    s = np.asarray(score, dtype=np.float64)
    if s.shape != (n,):
        raise MammocadError(f"{name} must have shape ({n},) like the labels, got {s.shape}")
    if not np.isfinite(s).all():
        raise MammocadError(
            f"{name} has a non-finite value at entry {int(np.flatnonzero(~np.isfinite(s))[0])}"
        )
    return s


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _midrank(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mid-ranks (1-based; ties share the mean of their ranks)."""
    return stats.rankdata(x, method="average")


def _delong_components(
    y: NDArray[np.int8], scores: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Fast DeLong (Sun & Xu 2014) for ``k`` scores on the same lesions.

    Returns the AUCs ``(k,)`` and the structural components ``V10 (k, m)`` over
    the ``m`` positives and ``V01 (k, n)`` over the ``n`` negatives.
    """
    pos = scores[:, y == 1]
    neg = scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    aucs = np.empty(scores.shape[0])
    v10 = np.empty((scores.shape[0], m))
    v01 = np.empty((scores.shape[0], n))
    for r in range(scores.shape[0]):
        tx = _midrank(pos[r])
        ty = _midrank(neg[r])
        tz = _midrank(np.concatenate([pos[r], neg[r]]))
        aucs[r] = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
        v10[r] = (tz[:m] - tx) / n
        v01[r] = 1.0 - (tz[m:] - ty) / m
    return aucs, v10, v01


def _delong_covariance(
    y: NDArray[np.int8], scores: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    m = int(y.sum())
    n = y.size - m
    if m < 2 or n < 2:
        raise MammocadError(
            f"DeLong needs at least 2 malignant and 2 benign lesions, got {m} malignant and {n} benign"
        )
    aucs, v10, v01 = _delong_components(y, scores)
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return aucs, s10 / m + s01 / n


def roc_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted one half).

    Returns ``nan`` when only one class is present.
    """
    y = _as_labels(y_true)
    s = _as_scores(score, y.size)
    m = int(y.sum())
    n = y.size - m
    if m == 0 or n == 0:
        return float("nan")
    ranks = _midrank(s)
    return float((ranks[y == 1].sum() - m * (m + 1) / 2) / (m * n))


def binary_metrics(y_true: ArrayLike, score: ArrayLike, threshold: float = 0.5) -> BinaryMetrics:
    """The paper's accuracy, sensitivity, specificity and AUC.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 = malignant, 0 = benign.
    score : array-like of shape (n,)
        Higher = more likely malignant (e.g. P(malignant)).
    threshold : float, default 0.5
        Lesions with ``score >= threshold`` are predicted malignant.

    Returns
    -------
    BinaryMetrics

    Raises
    ------
    MammocadError
        Labels not 0/1, lengths differing, non-finite scores.

    Examples
    --------
    >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.4])
    >>> m.accuracy, m.sensitivity, m.specificity, m.auc
    (0.5, 0.5, 0.5, 0.75)
    """
    y = _as_labels(y_true)
    s = _as_scores(score, y.size)
    if not np.isfinite(threshold):
        raise MammocadError(f"threshold must be finite, got {threshold!r}")
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    fp = int(np.sum(pred & (y == 0)))
    return BinaryMetrics(
        accuracy=_ratio(tp + tn, y.size),
        sensitivity=_ratio(tp, tp + fn),
        specificity=_ratio(tn, tn + fp),
        auc=roc_auc(y, s),
        threshold=float(threshold),
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
    )


def delong_auc_variance(y_true: ArrayLike, score: ArrayLike) -> tuple[float, float]:
    """AUC and its DeLong variance.

    Returns
    -------
    auc, variance : float

    Raises
    ------
    MammocadError
        Fewer than two lesions of either class.
    """
    y = _as_labels(y_true)
    s = _as_scores(score, y.size)
    aucs, cov = _delong_covariance(y, s[None, :])
    return float(aucs[0]), float(cov[0, 0])


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise MammocadError(f"confidence must lie in (0, 1), got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def delong_auc_ci(y_true: ArrayLike, score: ArrayLike, confidence: float = 0.95) -> tuple[float, Interval]:
    """AUC with its DeLong confidence interval ``AUC ± z·SE`` clipped to [0, 1].

    Returns
    -------
    auc : float
    interval : Interval
    """
    z = _z(confidence)
    auc, var = delong_auc_variance(y_true, score)
    return auc, _delong_interval(auc, var, z, confidence)


def _delong_interval(auc: float, var: float, z: float, confidence: float) -> Interval:
    se = float(np.sqrt(max(var, 0.0)))
    return Interval(max(0.0, auc - z * se), min(1.0, auc + z * se), confidence, "delong")


def delong_test(y_true: ArrayLike, score_a: ArrayLike, score_b: ArrayLike) -> DeLongResult:
    """Paired DeLong test that two correlated ROC curves have equal AUC.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 = malignant, 0 = benign.
    score_a, score_b : array-like of shape (n,)
        Two models' scores of the *same* lesions.

    Returns
    -------
    DeLongResult
        Two-sided p-value of ``H0: AUC_a == AUC_b``.

    Examples
    --------
    >>> r = delong_test([0, 0, 0, 1, 1, 1], [.1, .2, .3, .7, .8, .9], [.1, .8, .3, .7, .2, .9])
    >>> round(r.auc_a, 3), round(r.auc_b, 3)
    (1.0, 0.667)
    """
    y = _as_labels(y_true)
    a = _as_scores(score_a, y.size, "score_a")
    b = _as_scores(score_b, y.size, "score_b")
    aucs, cov = _delong_covariance(y, np.vstack([a, b]))
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    if se <= 1e-15:
        z = 0.0 if abs(diff) <= 1e-15 else float(np.copysign(np.inf, diff))
    else:
        z = diff / se
    p = float(2 * stats.norm.sf(abs(z)))
    return DeLongResult(float(aucs[0]), float(aucs[1]), diff, se, float(z), p)


def _group_index(groups: ArrayLike | None, n: int) -> tuple[NDArray[np.intp], int]:
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups)
    if g.shape != (n,):
        raise MammocadError(f"groups must have shape ({n},) like the labels, got {g.shape}")
    _, inverse = np.unique(g.astype(str), return_inverse=True)
    return inverse.astype(np.intp), int(inverse.max()) + 1


def bootstrap_ci(
    y_true: ArrayLike,
    score: ArrayLike,
    groups: ArrayLike | None = None,
    *,
    threshold: float = 0.5,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    random_state: int | None = 0,
) -> tuple[dict[str, Interval], dict[str, int]]:
    """Percentile intervals of a cluster (patient) bootstrap.

    Each resample draws as many patients as there are, with replacement, and
    keeps all lesions of each drawn patient. Resamples where a metric is
    undefined (no malignant lesion for sensitivity, ...) are left out of that
    metric's interval and counted in the second return value.

    Parameters
    ----------
    y_true, score : array-like of shape (n,)
    groups : array-like of shape (n,), optional
        Patient of each lesion; ``None`` resamples lesions.
    threshold : float, default 0.5
    n_bootstrap : int, default 2000
    confidence : float, default 0.95
    random_state : int or None, default 0
        Seed of the resampling.

    Returns
    -------
    intervals : dict of str to Interval
        ``accuracy``, ``sensitivity``, ``specificity``, ``auc``.
    n_valid : dict of str to int
        Resamples where each metric was defined.
    """
    y = _as_labels(y_true)
    s = _as_scores(score, y.size)
    if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 1:
        raise MammocadError(f"n_bootstrap must be a positive integer, got {n_bootstrap!r}")
    _z(confidence)
    if not np.isfinite(threshold):
        raise MammocadError(f"threshold must be finite, got {threshold!r}")
    gidx, n_groups = _group_index(groups, y.size)
    pred = s >= threshold
    # Per-patient confusion counts: a resample is then a weighted sum (fast, exact).
    counts = np.zeros((n_groups, 4))
    for col, mask in enumerate((pred & (y == 1), ~pred & (y == 1), ~pred & (y == 0), pred & (y == 0))):
        counts[:, col] = np.bincount(gidx, weights=mask.astype(float), minlength=n_groups)
    rng = np.random.default_rng(random_state)
    draws = rng.integers(0, n_groups, size=(n_bootstrap, n_groups))
    weights = np.zeros((n_bootstrap, n_groups))
    np.add.at(weights, (np.repeat(np.arange(n_bootstrap), n_groups), draws.ravel()), 1.0)
    tp, fn, tn, fp = (weights @ counts).T
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {
            "accuracy": (tp + tn) / (tp + fn + tn + fp),
            "sensitivity": tp / (tp + fn),
            "specificity": tn / (tn + fp),
        }
    # AUC per resample: weighted Mann-Whitney over the lesions of the drawn patients.
    # In blocks, so that memory stays bounded for large test sets.
    values["auc"] = np.concatenate(
        [_weighted_auc(y, s, weights[i : i + 256][:, gidx]) for i in range(0, n_bootstrap, 256)]
    )
    alpha = (1 - confidence) / 2
    intervals: dict[str, Interval] = {}
    n_valid: dict[str, int] = {}
    for name in _BOOTSTRAP_METRICS:
        v = values[name]
        ok = np.isfinite(v)
        n_valid[name] = int(ok.sum())
        if n_valid[name] == 0:
            intervals[name] = Interval(float("nan"), float("nan"), confidence, "patient-bootstrap")
        else:
            low, high = np.quantile(v[ok], [alpha, 1 - alpha])
            intervals[name] = Interval(float(low), float(high), confidence, "patient-bootstrap")
    return intervals, n_valid


def _weighted_auc(y: NDArray[np.int8], s: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """AUC of each row of lesion weights ``w`` (b, n): ties count one half."""
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    w_sorted = w[:, order]
    wpos = w_sorted * (y_sorted == 1)
    wneg = w_sorted * (y_sorted == 0)
    # Negatives strictly below each score plus half the negatives tied with it.
    uniq, start = np.unique(s_sorted, return_index=True)
    block = np.searchsorted(uniq, s_sorted)
    neg_cum = np.cumsum(wneg, axis=1)
    neg_before_block = np.concatenate([np.zeros((w.shape[0], 1)), neg_cum], axis=1)[:, start]
    end = np.append(start[1:], s_sorted.size)
    neg_in_block = neg_cum[:, end - 1] - neg_before_block
    below = neg_before_block[:, block] + 0.5 * neg_in_block[:, block]
    num = (wpos * below).sum(axis=1)
    den = wpos.sum(axis=1) * wneg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def evaluate_scores(
    y_true: ArrayLike,
    score: ArrayLike,
    groups: ArrayLike | None = None,
    *,
    threshold: float = 0.5,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    random_state: int | None = 0,
) -> MetricsWithCI:
    """Point metrics, patient-bootstrap intervals and the DeLong AUC interval.

    Parameters are those of :func:`bootstrap_ci`.

    Returns
    -------
    MetricsWithCI
    """
    point = binary_metrics(y_true, score, threshold)
    intervals, n_valid = bootstrap_ci(
        y_true,
        score,
        groups,
        threshold=threshold,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        random_state=random_state,
    )
    try:
        # One DeLong pass gives both the interval and the standard error.
        auc, var = delong_auc_variance(y_true, score)
        auc_interval = _delong_interval(auc, var, _z(confidence), confidence)
        se = float(np.sqrt(max(var, 0.0)))
    except MammocadError:
        auc_interval = Interval(float("nan"), float("nan"), confidence, "delong")
        se = float("nan")
    boot_auc = intervals.pop("auc")
    intervals = {**intervals, "auc": auc_interval, "auc_bootstrap": boot_auc}
    n_valid["auc_bootstrap"] = n_valid.pop("auc")
    return MetricsWithCI(point, intervals, se, int(n_bootstrap), n_valid)


def positive_scores(estimator: Any, X: ArrayLike) -> tuple[NDArray[np.float64], float]:
    """A fitted classifier's malignancy score and the threshold of the rule.

    An SVM -- a ``sklearn.svm.SVC``, or a model whose final step sets the class
    attribute ``ranks_by_decision_function = True`` (as
    :class:`mammocad.models.MonotonePlattSVC` does) -- is scored by
    ``decision_function(X)`` with threshold 0, the SVM's own rule. Otherwise the
    score is ``predict_proba(X)[:, 1]`` with threshold 0.5 when the estimator has
    probabilities, else ``decision_function(X)`` with threshold 0. Class 1 must
    be malignant. A pipeline is judged by its final step.

    Returns
    -------
    score : ndarray of shape (n,)
    threshold : float
    """
    classes = list(getattr(estimator, "classes_", [0, 1]))
    if len(classes) != 2 or 1 not in classes:
        raise MammocadError(f"expected a binary classifier fitted on labels {{0, 1}}, got classes {classes}")
    pos = classes.index(1)
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    is_svm = isinstance(final, SVC) or getattr(final, "ranks_by_decision_function", False) is True
    if not is_svm and hasattr(estimator, "predict_proba"):
        try:
            return np.asarray(estimator.predict_proba(X), dtype=float)[:, pos], 0.5
        except AttributeError:  # e.g. SVC(probability=False) exposes the method but refuses
            pass
    if hasattr(estimator, "decision_function"):
        d = np.asarray(estimator.decision_function(X), dtype=float)
        return (d if pos == 1 else -d), 0.0
    raise MammocadError(f"{type(estimator).__name__} has neither predict_proba nor decision_function")
