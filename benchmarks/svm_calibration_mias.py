"""Check: does the SVM's P(malignant) rank the mini-MIAS test lesions like its decision function?

Refits ``select_model("svm", ...)`` (a :class:`~mammocad.models.MonotonePlattSVC`)
on the training group of the last ``benchmarks/reproduce_mias.py`` run (same
features, same split, same seed) and reports, on the test group, the AUC of its
``predict_proba``, of its decision function and of ``positive_scores`` (what the
experiment scores), with the fitted sigmoid slope. Side by side, the former SVM
model -- ``CalibratedClassifierCV(SVC(same C, gamma), method="sigmoid", cv=5,
ensemble=False)`` on the same scaled training rows -- shows the free Platt fit
whose negative slope ranked lesions backwards.

    python benchmarks/svm_calibration_mias.py [--run DIR]

Output: ``benchmarks/results/svm_calibration_mias.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC

from mammocad._fileio import atomic_write_text
from mammocad.evaluation.metrics import positive_scores
from mammocad.features import scenario_columns
from mammocad.features.table import read_feature_table
from mammocad.models import select_model

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("/tmp/mammocad-bench/reproduce_mias/run"))
    args = parser.parse_args()
    if not (args.run / "features.parquet").is_file():
        print(f"{args.run}: run benchmarks/reproduce_mias.py first", file=sys.stderr)
        return 2
    split = pd.read_csv(args.run / "split.csv", dtype=str)[["lesion_id", "split"]]
    table = read_feature_table(args.run / "features.parquet").merge(
        split, on="lesion_id", suffixes=("_given", "")
    )
    train, test = table[table["split"] == "train"], table[table["split"] == "test"]
    record: dict = {"benchmark": "svm_calibration_mias", "run": str(args.run), "scenarios": {}}
    for scenario in ("calcification", "mass", "combined"):
        cols = list(scenario_columns(scenario))
        X_train, y_train = train[cols].to_numpy(), train["label"].to_numpy().astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = select_model(
                "svm", X_train, y_train, train["patient_id"].to_numpy(), random_state=0
            ).best_estimator
        X, y = test[cols].to_numpy(), test["label"].to_numpy().astype(int)
        clf = est.named_steps["clf"]
        score, threshold = positive_scores(est, X)
        scale = clone(est.named_steps["scale"]).fit(X_train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy = CalibratedClassifierCV(
                SVC(kernel="rbf", C=clf.C, gamma=clf.gamma), method="sigmoid", cv=5, ensemble=False
            ).fit(scale.transform(X_train), y_train)
        row = {
            "best_params": {"C": clf.C, "gamma": clf.gamma},
            "sigmoid_slope": clf.slope_,
            "slope_fallback": bool(clf.slope_fallback_),
            "auc_predict_proba": float(roc_auc_score(y, est.predict_proba(X)[:, 1])),
            "auc_decision_function": float(roc_auc_score(y, est.decision_function(X))),
            "auc_positive_scores": float(roc_auc_score(y, score)),
            "threshold": threshold,
            "legacy_calibrated_cv_auc_predict_proba": float(
                roc_auc_score(y, legacy.predict_proba(scale.transform(X))[:, 1])
            ),
        }
        record["scenarios"][scenario] = row
        print(
            f"{scenario:<14} AUC predict_proba {row['auc_predict_proba']:.3f}  "
            f"decision_function {row['auc_decision_function']:.3f}  "
            f"positive_scores {row['auc_positive_scores']:.3f}  slope {clf.slope_:.3g}"
            f"{' (fallback)' if clf.slope_fallback_ else ''}  | former CalibratedClassifierCV "
            f"predict_proba {row['legacy_calibrated_cv_auc_predict_proba']:.3f}"
        )
    HERE.joinpath("results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / "svm_calibration_mias.json", json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
