"""Reports of an experiment: the paper's figures and a self-contained ``report.html``.

See :func:`write_report` (figures + HTML into a folder), :func:`render_report`,
:func:`roc_figure` (Fig. 5) and :func:`feature_auc_figure` (Fig. 4).
"""

from mammocad.report.figures import feature_auc_figure, figure_png, roc_curve_points, roc_figure
from mammocad.report.html import Overlay, honest_reading, render_report, write_report

__all__ = [
    "feature_auc_figure",
    "figure_png",
    "honest_reading",
    "Overlay",
    "render_report",
    "roc_curve_points",
    "roc_figure",
    "write_report",
]
