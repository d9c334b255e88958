"""The paper's figures from an experiment's result.

* :func:`roc_figure` -- Fig. 5: the ROC curves of all models in one scenario.
* :func:`feature_auc_figure` -- Fig. 4: ROC curves of single calcification
  features next to the combination (a model on all the scenario's features),
  with a bar chart of every feature's test AUC.

Figures are drawn with Matplotlib's object API on the non-interactive Agg
canvas (no global ``pyplot`` state), and :func:`figure_png` turns one into PNG
bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import roc_curve

from mammocad.errors import MammocadError
from mammocad.evaluation.experiment import ExperimentResult, ScenarioResult
from mammocad.models import MODEL_LABELS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["roc_curve_points", "roc_figure", "feature_auc_figure", "figure_png"]

_TITLES = {
    "calcification": "Microcalcifications alone",
    "mass": "Breast masses alone",
    "combined": "Microcalcifications + masses",
    "mass_extended": "Breast masses alone, with the margin features (extended set)",
    "combined_extended": "Microcalcifications + masses, with the margin features (extended set)",
}


def model_label(name: str) -> str:
    """Display name of a model (:data:`mammocad.models.MODEL_LABELS`; other short names upper-cased)."""
    return MODEL_LABELS.get(
        name, name.replace("_", " ").upper() if len(name) <= 4 else name.replace("_", " ")
    )


def scenario_title(name: str) -> str:
    """Display title of a scenario."""
    return _TITLES.get(name, name)


def roc_curve_points(y_true: ArrayLike, score: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1).

    :func:`sklearn.metrics.roc_curve` with every point kept: tied scores form one
    diagonal step (the ROC curve of the Mann-Whitney AUC).

    Examples
    --------
    >>> fpr, tpr = roc_curve_points([0, 0, 1, 1], [0.1, 0.4, 0.4, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    y = np.asarray(y_true).astype(int)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape or y.size == 0:
        raise MammocadError(
            f"labels and scores must be non-empty and alike in shape, got {y.shape} and {s.shape}"
        )
    p, n = int(y.sum()), int((y == 0).sum())
    if p == 0 or n == 0:
        raise MammocadError("an ROC curve needs both malignant and benign lesions")
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr


def _roc_axes(ax, title: str) -> None:
    ax.plot([0, 1], [0, 1], ls=":", color="0.6", lw=1)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 − specificity (false-positive rate)")
    ax.set_ylabel("Sensitivity (true-positive rate)")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)


def _scenario_rows(result: ExperimentResult, scenario: str) -> tuple[ScenarioResult, pd.DataFrame]:
    """One scenario's results and its rows of the prediction table."""
    if scenario not in result.scenarios:
        raise MammocadError(f"scenario {scenario!r} is not in the result (has {list(result.scenarios)})")
    return result.scenarios[scenario], result.predictions[result.predictions["scenario"] == scenario]


def roc_figure(result: ExperimentResult, scenario: str) -> Figure:
    """Fig. 5: ROC curves of every model in one scenario, AUC (95 % CI) in the legend.

    Parameters
    ----------
    result : ExperimentResult
    scenario : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    sres, preds = _scenario_rows(result, scenario)
    fig = Figure(figsize=(5.2, 5.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for mname, mres in sres.models.items():
        part = preds[preds["model"] == mname]
        fpr, tpr = roc_curve_points(part["label"], part["score"])
        ci = mres.test.intervals["auc"]
        ax.plot(
            fpr,
            tpr,
            lw=2.2 if mname == result.reference_model else 1.4,
            label=f"{model_label(mname)}  AUC {mres.test.point.auc:.2f} [{ci.low:.2f}, {ci.high:.2f}]",
        )
    _roc_axes(ax, f"{scenario_title(scenario)} ({len(sres.columns)} features, n = {sres.n_test})")
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


def feature_auc_figure(
    result: ExperimentResult,
    scenario: str = "calcification",
    *,
    n_curves: int = 5,
    combined_model: str | None = None,
) -> Figure:
    """Fig. 4: single-feature ROC curves versus a model on all the features.

    Left: the ROC curves (test group) of the ``n_curves`` features with the
    highest training AUC and of ``combined_model`` (default: the reference
    model, the SAE) on all the scenario's features. Right: every feature's
    test AUC, each feature oriented on the training group.

    Returns
    -------
    matplotlib.figure.Figure
    """
    sres, preds = _scenario_rows(result, scenario)
    combined = combined_model or result.reference_model
    if combined not in sres.models:
        combined = next(iter(sres.models))
    fa = sres.feature_auc.sort_values("auc_train", ascending=False, na_position="last")
    fig = Figure(figsize=(11, 5.0), dpi=100)
    FigureCanvasAgg(fig)
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for feat in fa["feature"].head(n_curves):
        part = preds[preds["model"] == f"feature:{feat}"]
        fpr, tpr = roc_curve_points(part["label"], part["score"])
        auc = float(fa.loc[fa["feature"] == feat, "auc_test"].iloc[0])
        ax.plot(fpr, tpr, lw=1.1, alpha=0.85, label=f"{feat}  AUC {auc:.2f}")
    part = preds[preds["model"] == combined]
    fpr, tpr = roc_curve_points(part["label"], part["score"])
    ax.plot(
        fpr,
        tpr,
        lw=2.6,
        color="black",
        label=f"{model_label(combined)} on all {len(sres.columns)}  AUC {sres.models[combined].test.point.auc:.2f}",
    )
    _roc_axes(ax, f"{scenario_title(scenario)}: single features vs combination")
    ax.legend(loc="lower right", fontsize=7)
    order = fa.sort_values("auc_test", ascending=True, na_position="first")
    yy = np.arange(len(order))
    bx.barh(yy, order["auc_test"].fillna(0.5) - 0.5, left=0.5, color="#4878a8")
    bx.axvline(0.5, color="0.4", lw=1)
    bx.axvline(
        sres.models[combined].test.point.auc, color="black", ls="--", lw=1.2, label=model_label(combined)
    )
    bx.set_yticks(yy, [str(f) for f in order["feature"]], fontsize=7)
    bx.set_xlim(0.3, 1.0)
    bx.set_xlabel("Test AUC (feature oriented on training)")
    bx.set_title("Per-feature AUC", fontsize=11)
    bx.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Encode a figure as PNG bytes."""
    buf = io.BytesIO()
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
