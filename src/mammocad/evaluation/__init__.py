"""Evaluation: the paper's metrics with confidence intervals, and its experiment.

See :mod:`mammocad.evaluation.metrics` (accuracy, sensitivity, specificity, AUC;
patient bootstrap and DeLong intervals; paired DeLong test) and
:mod:`mammocad.evaluation.experiment` (:func:`run_experiment`).
"""

from mammocad.evaluation.experiment import (
    ExperimentResult,
    ModelResult,
    ScenarioResult,
    run_experiment,
    split_patients,
)
from mammocad.evaluation.metrics import (
    BinaryMetrics,
    DeLongResult,
    Interval,
    MetricsWithCI,
    binary_metrics,
    bootstrap_ci,
    delong_auc_ci,
    delong_auc_variance,
    delong_test,
    evaluate_scores,
    positive_scores,
    roc_auc,
)
from mammocad.evaluation.paper import PAPER_TABLES

__all__ = [
    "BinaryMetrics",
    "DeLongResult",
    "ExperimentResult",
    "Interval",
    "MetricsWithCI",
    "ModelResult",
    "PAPER_TABLES",
    "ScenarioResult",
    "binary_metrics",
    "bootstrap_ci",
    "delong_auc_ci",
    "delong_auc_variance",
    "delong_test",
    "evaluate_scores",
    "positive_scores",
    "roc_auc",
    "run_experiment",
    "split_patients",
]
