"""Tiny feature tables and a scikit-learn stand-in for ``mammocad.models.select_model``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SCENARIOS = {"calcification": ["calc_a", "calc_b", "calc_c"], "mass": ["mass_a", "mass_b"]}
SCENARIOS["combined"] = SCENARIOS["calcification"] + SCENARIOS["mass"]


def stand_in_select(name, X, y, groups, *, n_splits=10, random_state=0):
    """Grouped grid search like mammocad.models.select_model, with small sklearn models."""
    if name in ("sae", "lr"):
        pipe = make_pipeline(StandardScaler(), LogisticRegression(random_state=random_state))
        grid = {"logisticregression__C": [0.1, 1.0]}
    elif name == "knn":
        pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())
        grid = {"kneighborsclassifier__n_neighbors": [1, 3]}
    elif name == "knn1":
        pipe = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=1))
        grid = {"kneighborsclassifier__n_neighbors": [1]}
    else:
        raise KeyError(name)
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=n_splits), scoring="accuracy")
    search.fit(X, y, groups=groups)
    i = search.best_index_
    cv_scores = np.array([search.cv_results_[f"split{k}_test_score"][i] for k in range(n_splits)])
    return SimpleNamespace(
        best_estimator=search.best_estimator_,
        best_params=search.best_params_,
        cv_scores=cv_scores,
        cv_results=search.cv_results_,
    )


def make_table(n_patients: int = 40, lesions_per_patient: int = 2, seed: int = 0, signal: float = 1.5):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = int(p % 2)
        for k in range(lesions_per_patient):
            feats = rng.normal(size=5) + signal * label * np.array([1, 0.5, 0, 1, 0])
            rows.append(
                {
                    "lesion_id": f"P{p:03d}-{k}",
                    "patient_id": f"P{p:03d}",
                    "abnormality": "calcification" if k == 0 else "mass",
                    "pathology": "malignant" if label else "benign",
                    "label": label,
                    "split": "",
                    **dict(zip(["calc_a", "calc_b", "calc_c", "mass_a", "mass_b"], feats, strict=True)),
                }
            )
    return pd.DataFrame(rows)
