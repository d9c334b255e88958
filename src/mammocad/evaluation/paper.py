"""The paper's own results (Wang et al. 2016, Tables 2-4), transcribed verbatim.

Test group (204 patients): accuracy (as a fraction; the paper prints percent),
sensitivity, specificity, AUC; training group: 10-fold CV accuracy mean ± std.
KNN's ``k`` is given in the paper's row label.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["PAPER_TABLES", "PAPER_TABLE_NUMBERS", "PAPER_KNN_K"]


def _row(
    acc_pct: float, sens: float, spec: float, auc: float, cv_mean: float, cv_std: float
) -> dict[str, float]:
    return {
        "accuracy": round(acc_pct / 100, 3),
        "sensitivity": sens,
        "specificity": spec,
        "auc": auc,
        "cv_mean": cv_mean,
        "cv_std": cv_std,
    }


#: scenario -> model -> measurement (read-only).
PAPER_TABLES: MappingProxyType[str, Any] = MappingProxyType(
    {
        # Table 2: microcalcification features (15 features).
        "calcification": {
            "svm": _row(85.8, 0.93, 0.79, 0.85, 0.79, 0.07),
            "knn": _row(83.8, 0.95, 0.74, 0.84, 0.77, 0.07),
            "lda": _row(58.8, 0.63, 0.55, 0.59, 0.61, 0.05),
            "sae": _row(87.3, 0.93, 0.82, 0.87, 0.82, 0.05),
        },
        # Table 3: mass features (26 features).
        "mass": {
            "svm": _row(61.3, 1.00, 0.26, 0.60, 0.68, 0.11),
            "knn": _row(58.8, 1.00, 0.21, 0.57, 0.71, 0.11),
            "lda": _row(53.4, 0.99, 0.12, 0.52, 0.67, 0.13),
            "sae": _row(61.3, 0.99, 0.27, 0.61, 0.71, 0.12),
        },
        # Table 4: microcalcification and mass features in combination (41 features).
        "combined": {
            "svm": _row(85.8, 0.95, 0.78, 0.85, 0.79, 0.07),
            "knn": _row(84.3, 0.94, 0.76, 0.83, 0.77, 0.06),
            "lda": _row(74.0, 0.84, 0.65, 0.74, 0.69, 0.07),
            "sae": _row(89.7, 0.89, 0.90, 0.90, 0.85, 0.06),
        },
    }
)

#: scenario -> paper table number.
PAPER_TABLE_NUMBERS = MappingProxyType({"calcification": 2, "mass": 3, "combined": 4})

#: scenario -> the k of the paper's KNN (row label "KNN (N = k)").
PAPER_KNN_K = MappingProxyType({"calcification": 8, "mass": 8, "combined": 6})
