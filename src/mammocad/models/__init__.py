"""Classifiers: the paper's stacked denoising autoencoder and its baselines.

- :class:`StackedDenoisingAutoencoderClassifier` — the deep learning model
  (PyTorch inside, scikit-learn estimator outside).
- :class:`MonotonePlattSVC` — the SVM, with probabilities that keep its ranking.
- :func:`make_model` / :func:`param_grid` — every model as a scaling + estimator
  ``Pipeline`` and its hyper-parameter grid (:data:`MODEL_NAMES`,
  :data:`PAPER_MODELS`).
- :func:`select_model` — stratified, patient-grouped 10-fold grid search.
- :func:`save_model` / :func:`load_model` — skops for the scikit-learn steps, JSON +
  safetensors for the SAE, a SHA-256 manifest over every file; no pickle.
  :class:`ModelVersionWarning` when a model was saved by other library versions.

Models take arrays and return probabilities; training on a feature table and
predicting a lesion are journeys of :mod:`mammocad.pipeline`.
"""

from mammocad.models.baselines import (
    MODEL_LABELS,
    MODEL_NAMES,
    PAPER_MODELS,
    MonotonePlattSVC,
    make_model,
    param_grid,
)
from mammocad.models.persistence import (
    ModelVersionWarning,
    TrainedModel,
    load_model,
    save_model,
    training_data_hash,
)
from mammocad.models.sae import StackedDenoisingAutoencoderClassifier
from mammocad.models.selection import SelectionResult, check_training_data, n_fits, select_model

__all__ = [
    "StackedDenoisingAutoencoderClassifier",
    "MonotonePlattSVC",
    "MODEL_NAMES",
    "PAPER_MODELS",
    "MODEL_LABELS",
    "make_model",
    "param_grid",
    "SelectionResult",
    "select_model",
    "n_fits",
    "check_training_data",
    "TrainedModel",
    "ModelVersionWarning",
    "save_model",
    "load_model",
    "training_data_hash",
]
