"""The classifiers compared in the paper, each as a scikit-learn ``Pipeline``.

Every model is ``Pipeline([("scale", scaler), ("clf", estimator)])``, so the
scaler is fitted on the training rows (or training folds) only:

=========  ===========================================  ===================================
name       estimator                                    scaler
=========  ===========================================  ===================================
``sae``    :class:`StackedDenoisingAutoencoderClassifier`  ``MinMaxScaler`` (sigmoid decoders
                                                           reconstruct values in [0, 1])
``svm``    ``SVC(kernel="rbf")`` with Platt scaling       ``StandardScaler``
           (``CalibratedClassifierCV``, sigmoid)
``knn``    ``KNeighborsClassifier(n_neighbors=8)``        ``StandardScaler``
           (paper: N = 8, N = 6 for the combined set)
``lda``    ``LinearDiscriminantAnalysis()``               ``StandardScaler``
``logreg`` ``LogisticRegression`` (L2, C tuned)           ``StandardScaler``
=========  ===========================================  ===================================

``logreg`` is the modern baseline the paper lacks: with a few hundred lesions and
41 correlated features, a well-regularised linear model with a tuned penalty is
the honest bar a deep model must clear; unlike a tree ensemble it also persists
as a handful of arrays (see :mod:`mammocad.models.persistence`).
"""

from __future__ import annotations

from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from mammocad.errors import ModelError
from mammocad.models.sae import StackedDenoisingAutoencoderClassifier

__all__ = ["MODEL_NAMES", "PAPER_MODELS", "MODEL_LABELS", "make_model", "param_grid"]

#: Every model :func:`make_model` builds.
MODEL_NAMES: tuple[str, ...] = ("sae", "svm", "knn", "lda", "logreg")
#: The four models of the paper's tables.
PAPER_MODELS: tuple[str, ...] = ("sae", "svm", "knn", "lda")
#: Display names, as in the paper's tables.
MODEL_LABELS: dict[str, str] = {
    "sae": "DL (stacked denoising autoencoder)",
    "svm": "SVM",
    "knn": "KNN",
    "lda": "LDA",
    "logreg": "Logistic regression",
}


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise ModelError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def make_model(name: str, *, random_state: int | None = 0, **params: Any) -> Pipeline:
    """Build an unfitted model pipeline by name.

    Parameters
    ----------
    name : {"sae", "svm", "knn", "lda", "logreg"}
        Which model (see :data:`MODEL_NAMES`).
    random_state : int or None, default=0
        Seed of the estimators that draw random numbers (SAE, SVM, logistic
        regression).
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
        # Platt scaling (sigmoid on the SVM's decision values, fitted by internal 5-fold
        # CV, then one SVM on all rows) gives the probabilities `predict` prints; it is
        # monotonic in the decision value, so the ROC is the SVM's own.
        clf = CalibratedClassifierCV(SVC(kernel="rbf"), method="sigmoid", cv=5, ensemble=False)
    elif name == "knn":
        scaler = StandardScaler()
        clf = KNeighborsClassifier(n_neighbors=8)
    elif name == "lda":
        scaler = StandardScaler()
        clf = LinearDiscriminantAnalysis()
    else:
        scaler = StandardScaler()
        clf = LogisticRegression(C=1.0, max_iter=5000, random_state=random_state)
    target = clf.estimator if name == "svm" else clf
    valid = target.get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ModelError(f"model {name!r} has no parameter(s) {unknown}; it takes {sorted(valid)}")
    target.set_params(**params)
    return Pipeline([("scale", scaler), ("clf", clf)])


_GRIDS: dict[str, dict[str, list[Any]]] = {
    # The paper's two architectures, a shallower and a deeper one, two noise levels.
    "sae": {
        "clf__hidden_layer_sizes": [(100,), (200, 200), (400, 400), (200, 200, 200)],
        "clf__corruption": [0.1, 0.3],
    },
    "svm": {"clf__estimator__C": [0.1, 1.0, 10.0, 100.0], "clf__estimator__gamma": ["scale", 0.01, 0.1]},
    # The paper reports N = 8 (calcification, mass) and N = 6 (combined).
    "knn": {"clf__n_neighbors": [4, 6, 8, 10, 15], "clf__weights": ["uniform", "distance"]},
    "lda": {"clf__solver": ["lsqr"], "clf__shrinkage": [None, "auto"]},
    "logreg": {"clf__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
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
        Keys are pipeline parameter names (``clf__...``; the SVM's are
        ``clf__estimator__...`` as it sits inside the calibration wrapper). The SAE grid holds the
        paper's ``(200, 200)`` and ``(400, 400)`` architectures.

    Raises
    ------
    ModelError
        If ``name`` is unknown.
    """
    _check_name(name)
    return {key: list(values) for key, values in _GRIDS[name].items()}
