"""The classifiers compared in the paper, each as a scikit-learn ``Pipeline``.

Every model is ``Pipeline([("scale", scaler), ("clf", estimator)])``, so the
scaler is fitted on the training rows (or training folds) only:

=========  ===========================================  ===================================
name       estimator                                    scaler
=========  ===========================================  ===================================
``sae``    :class:`StackedDenoisingAutoencoderClassifier`  ``MinMaxScaler`` (sigmoid decoders
                                                           reconstruct values in [0, 1])
``svm``    :class:`MonotonePlattSVC` (``SVC(kernel="rbf")``  ``StandardScaler``
           + a Platt sigmoid whose slope is >= 0)
``knn``    ``KNeighborsClassifier(n_neighbors=8)``        ``StandardScaler``
           (paper: N = 8, N = 6 for the combined set)
``lda``    ``LinearDiscriminantAnalysis()``               ``StandardScaler``
``logreg`` ``LogisticRegression`` (L2, C tuned)           ``StandardScaler``
``hgb``    ``HistGradientBoostingClassifier``             ``StandardScaler`` (no effect on the
           (gradient-boosted trees)                        trees; keeps one pipeline shape)
=========  ===========================================  ===================================

``logreg`` and ``hgb`` are the modern tabular baselines the paper lacks: with a few
hundred lesions and 41 correlated features, a well-regularised linear model with a
tuned penalty and a small gradient-boosted tree ensemble are the honest
bars a deep model must clear.

The SVM is scored the way an SVM decides: by its decision value, malignant at
``decision_function >= 0`` (:func:`mammocad.evaluation.metrics.positive_scores`
reads the class attribute ``ranks_by_decision_function``). The probability it
shows is ``sigmoid(a * decision)`` with ``a >= 0``, so it never reverses the
SVM's ranking and is >= 0.5 exactly when the SVM says malignant. (A free Platt
sigmoid -- ``CalibratedClassifierCV(method="sigmoid")`` -- can fit a negative
slope on a few dozen lesions and rank them backwards: AUC 0.14 instead of the
SVM's 0.86 on the mini-MIAS combined test group, ``benchmarks/svm_calibration_mias.py``.)
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mammocad.errors import ModelError
from mammocad.models.sae import StackedDenoisingAutoencoderClassifier

__all__ = ["MonotonePlattSVC", "MODEL_NAMES", "PAPER_MODELS", "MODEL_LABELS", "make_model", "param_grid"]

#: Every model :func:`make_model` builds.
MODEL_NAMES: tuple[str, ...] = ("sae", "svm", "knn", "lda", "logreg", "hgb")
#: The four models of the paper's tables.
PAPER_MODELS: tuple[str, ...] = ("sae", "svm", "knn", "lda")
#: Display names, as in the paper's tables.
MODEL_LABELS: dict[str, str] = {
    "sae": "DL (stacked denoising autoencoder)",
    "svm": "SVM",
    "knn": "KNN",
    "lda": "LDA",
    "logreg": "Logistic regression",
    "hgb": "Gradient-boosted trees",
}


class MonotonePlattSVC(ClassifierMixin, BaseEstimator):
    """Binary SVM (``sklearn.svm.SVC``) with probabilities that keep its ranking.

    ``decision_function`` and ``predict`` are the SVC's own (malignant, i.e.
    ``classes_[1]``, when the decision value is >= 0). ``predict_proba`` is
    Platt scaling through the origin, ``P(classes_[1]) = sigmoid(a * d)`` with
    the slope ``a >= 0`` fitted by maximum likelihood (Platt's smoothed
    targets) on decision values the SVC gives to rows it was not trained on
    (stratified internal cross-validation of the training rows only). So the
    probability is an increasing function of ``d`` -- it ranks rows exactly as
    the SVM does -- and ``P >= 0.5`` exactly when ``d >= 0``. When the
    likelihood is maximised at ``a = 0`` (the held-out decision values do not
    order the classes at all, as can happen with a few dozen rows) the slope
    falls back to 1, the plain logistic of ``d``, and :attr:`slope_fallback_`
    is set. The intercept is fixed at 0 on purpose: a free Platt intercept
    would move the 0.5 point off the SVM's boundary.

    Parameters
    ----------
    C : float, default=1.0
        SVC regularisation.
    kernel : str, default="rbf"
        SVC kernel.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient.
    class_weight : dict, "balanced" or None, default=None
        SVC class weights.
    cv : int, default=5
        Folds of the internal cross-validation that yields the held-out
        decision values; reduced to the size of the smaller class when that is
        smaller. With one row in a class the in-sample decision values are used.
    random_state : int or None, default=0
        Seed of the internal fold shuffle.

    Attributes
    ----------
    svc_ : sklearn.svm.SVC
        The SVC fitted on all training rows.
    slope_ : float
        The sigmoid slope ``a`` (> 0).
    slope_fallback_ : bool
        True when the fitted slope would have been <= 0 and 1 is used instead.
    n_calibration_folds_ : int
        Folds actually used (1 = in-sample decision values).
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((4, 2)), np.ones((4, 2))] + np.arange(8)[:, None] * 0.01
    >>> clf = MonotonePlattSVC().fit(X, [0, 0, 0, 0, 1, 1, 1, 1])
    >>> bool(np.all((clf.predict_proba(X)[:, 1] >= 0.5) == (clf.decision_function(X) >= 0)))
    True
    """

    #: Score and threshold this model by ``decision_function`` and 0 (read by
    #: :func:`mammocad.evaluation.metrics.positive_scores`).
    ranks_by_decision_function: ClassVar[bool] = True

    svc_: SVC
    slope_: float
    slope_fallback_: bool
    n_calibration_folds_: int
    classes_: np.ndarray

    def __init__(
        self,
        C: float = 1.0,
        kernel: str = "rbf",
        gamma: Any = "scale",
        class_weight: Any = None,
        cv: int = 5,
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.class_weight = class_weight
        self.cv = cv
        self.random_state = random_state

    def _svc(self) -> SVC:
        return SVC(C=self.C, kernel=self.kernel, gamma=self.gamma, class_weight=self.class_weight)

    def _validate_params(self) -> None:
        """Check the hyper-parameters (by :meth:`fit`, and when a saved model is loaded).

        Raises
        ------
        ModelError
            Naming the parameter: ``cv`` not an integer >= 2, ``kernel``
            ``"precomputed"`` (the model takes feature rows), ``random_state``
            not None or an integer, or a value ``SVC`` refuses (non-finite or
            non-positive ``C``, unknown ``gamma`` ...).
        """
        if not isinstance(self.cv, numbers.Integral) or isinstance(self.cv, bool) or self.cv < 2:
            raise ModelError(f"MonotonePlattSVC: cv must be an integer >= 2, got {self.cv!r}")
        if self.kernel == "precomputed":
            raise ModelError("MonotonePlattSVC: kernel='precomputed' is not supported; it takes feature rows")
        if self.random_state is not None and (
            not isinstance(self.random_state, numbers.Integral) or isinstance(self.random_state, bool)
        ):
            raise ModelError(
                f"MonotonePlattSVC: random_state must be None or an integer, got {self.random_state!r}"
            )
        for name in ("C", "gamma"):
            value = getattr(self, name)
            if isinstance(value, numbers.Real) and not isinstance(value, bool) and not np.isfinite(value):
                raise ModelError(f"MonotonePlattSVC: {name} must be finite, got {value!r}")
        try:
            self._svc()._validate_params()
        except (TypeError, ValueError) as exc:  # scikit-learn's InvalidParameterError
            raise ModelError(f"MonotonePlattSVC: {exc}") from None

    def fit(self, X: Any, y: Any) -> MonotonePlattSVC:
        """Fit the SVC on all rows and the sigmoid slope on held-out decision values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Two classes; ``classes_[1]`` (the larger label) is the positive one.

        Returns
        -------
        MonotonePlattSVC
            ``self``, fitted.

        Raises
        ------
        ModelError
            If the labels do not hold exactly two classes, a hyper-parameter is
            invalid (see :meth:`_validate_params`), or the SVC cannot be fitted.
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.size != 2:
            found = "only one class" if self.classes_.size == 1 else f"{self.classes_.size} classes"
            raise ModelError(
                "MonotonePlattSVC.fit: Only binary classification is supported; it needs exactly "
                f"two classes in the training labels, got "
                f"{found} ({', '.join(map(repr, self.classes_.tolist()[:5]))})"
            )
        smallest = int(np.bincount(y_enc).min())
        n_folds = min(int(self.cv), smallest)
        try:
            self.svc_ = self._svc().fit(X, y_enc)
            if n_folds >= 2:
                folds = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
                d = np.empty(len(y_enc))
                for train, held_out in folds.split(X, y_enc):
                    d[held_out] = clone(self.svc_).fit(X[train], y_enc[train]).decision_function(X[held_out])
            else:
                d = self.svc_.decision_function(X)
        except ValueError as exc:
            raise ModelError(f"MonotonePlattSVC.fit: the SVC cannot be fitted ({exc})") from None
        slope = _platt_slope(d, y_enc)
        self.slope_fallback_ = slope <= 0.0
        self.slope_ = 1.0 if self.slope_fallback_ else slope
        self.n_calibration_folds_ = max(n_folds, 1)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The SVC's signed distance to its boundary (> 0 leans to ``classes_[1]``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "svc_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self.svc_.decision_function(X), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The SVM's rule: ``classes_[1]`` where ``decision_function >= 0``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        d = self.decision_function(X)
        return self.classes_[(d >= 0).astype(int)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """``sigmoid(slope_ * decision)`` for ``classes_[1]``: increasing in the decision value.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``; column 1 is >= 0.5 exactly
            where :meth:`predict` gives ``classes_[1]``.
        """
        d = self.decision_function(X)
        p = expit(self.slope_ * d)
        # Keep P >= 0.5 <=> d >= 0 exact where slope * d rounds to 0.
        p = np.where(d >= 0, np.maximum(p, 0.5), np.minimum(p, np.nextafter(0.5, 0.0)))
        return np.column_stack([1.0 - p, p])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.classifier_tags.multi_class = False
        return tags


def _platt_slope(d: np.ndarray, y: np.ndarray) -> float:
    """Maximum-likelihood ``a >= 0`` of ``P(y = 1) = sigmoid(a * d)`` with Platt's targets.

    Returns 0 when the likelihood is largest at ``a = 0`` (or every ``d`` is 0).
    """
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def gradient(a: float) -> float:  # derivative of the negative log-likelihood; increasing in a
        return float(np.sum(d * (expit(a * d) - t)))

    if not np.any(d) or gradient(0.0) >= 0.0:
        return 0.0
    high = 1.0
    while gradient(high) < 0.0 and high < 1e12:
        high *= 2.0
    if gradient(high) < 0.0:
        return high
    return float(brentq(gradient, 0.0, high, xtol=1e-12))


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise ModelError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def make_model(name: str, *, random_state: int | None = 0, **params: Any) -> Pipeline:
    """Build an unfitted model pipeline by name.

    Parameters
    ----------
    name : {"sae", "svm", "knn", "lda", "logreg", "hgb"}
        Which model (see :data:`MODEL_NAMES`).
    random_state : int or None, default=0
        Seed of the estimators that draw random numbers (SAE, SVM, logistic
        regression, gradient-boosted trees).
    **params
        Hyper-parameters of the estimator (without the ``clf__`` prefix), e.g.
        ``make_model("sae", hidden_layer_sizes=(400, 400))``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``[("scale", scaler), ("clf", estimator)]``.

    Raises
    ------
    ModelError
        If ``name`` is unknown or a parameter does not belong to the estimator.

    Examples
    --------
    >>> make_model("knn", n_neighbors=6).named_steps["clf"].n_neighbors
    6
    """
    _check_name(name)
    clf: Any
    if name == "sae":
        scaler: Any = MinMaxScaler()
        clf = StackedDenoisingAutoencoderClassifier(random_state=random_state)
    elif name == "svm":
        scaler = StandardScaler()
        # Not CalibratedClassifierCV(SVC(), "sigmoid"): its free Platt slope can turn
        # negative on small data and rank lesions backwards (see the module docstring).
        clf = MonotonePlattSVC(random_state=random_state)
    elif name == "knn":
        scaler = StandardScaler()
        clf = KNeighborsClassifier(n_neighbors=8)
    elif name == "lda":
        scaler = StandardScaler()
        clf = LinearDiscriminantAnalysis()
    elif name == "logreg":
        scaler = StandardScaler()
        clf = LogisticRegression(C=1.0, max_iter=5000, random_state=random_state)
    else:
        # Scaling does not change a tree's splits; it keeps every model one pipeline shape
        # and brings huge raw values into range before binning.
        scaler = StandardScaler()
        clf = HistGradientBoostingClassifier(random_state=random_state)
    valid = clf.get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ModelError(f"model {name!r} has no parameter(s) {unknown}; it takes {sorted(valid)}")
    clf.set_params(**params)
    return Pipeline([("scale", scaler), ("clf", clf)])


_GRIDS: dict[str, dict[str, list[Any]]] = {
    # The paper's two architectures, a shallower and a deeper one, two noise levels.
    "sae": {
        "clf__hidden_layer_sizes": [(100,), (200, 200), (400, 400), (200, 200, 200)],
        "clf__corruption": [0.1, 0.3],
    },
    "svm": {"clf__C": [0.1, 1.0, 10.0, 100.0], "clf__gamma": ["scale", 0.01, 0.1]},
    # The paper reports N = 8 (calcification, mass) and N = 6 (combined).
    "knn": {"clf__n_neighbors": [4, 6, 8, 10, 15], "clf__weights": ["uniform", "distance"]},
    "lda": {"clf__solver": ["lsqr"], "clf__shrinkage": [None, "auto"]},
    "logreg": {"clf__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
    # Small trees and a slow learning rate for a few hundred lesions: 8 settings.
    "hgb": {
        "clf__learning_rate": [0.05, 0.1],
        "clf__max_leaf_nodes": [7, 15],
        "clf__min_samples_leaf": [5, 20],
    },
}


def param_grid(name: str) -> dict[str, list[Any]]:
    """Hyper-parameter grid of a model, for ``GridSearchCV`` on :func:`make_model`.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.

    Returns
    -------
    dict of str to list
        Keys are pipeline parameter names (``clf__...``). The SAE grid holds the
        paper's ``(200, 200)`` and ``(400, 400)`` architectures.

    Raises
    ------
    ModelError
        If ``name`` is unknown.
    """
    _check_name(name)
    return {key: list(values) for key, values in _GRIDS[name].items()}
