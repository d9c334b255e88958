"""Check: does the SVM's calibrated P(malignant) rank the mini-MIAS test lesions like its decision function?

Refits ``select_model("svm", ...)`` on the training group of the last
``benchmarks/reproduce_mias.py`` run (same features, same split, same seed) and
compares, on the test group, the AUC of ``predict_proba`` (what the experiment
scores) with the AUC of the wrapped SVC's raw decision function.

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
from sklearn.metrics import roc_auc_score

from mammocad._fileio import atomic_write_text
from mammocad.features import scenario_columns
from mammocad.features.extract import read_feature_table
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = select_model(
                "svm",
                train[cols].to_numpy(),
                train["label"].to_numpy(),
                train["patient_id"].to_numpy(),
                random_state=0,
            ).best_estimator
        X = test[cols].to_numpy()
        svc = est.named_steps["clf"].calibrated_classifiers_[0].estimator
        proba_auc = float(roc_auc_score(test["label"], est.predict_proba(X)[:, 1]))
        decision_auc = float(
            roc_auc_score(test["label"], svc.decision_function(est.named_steps["scale"].transform(X)))
        )
        record["scenarios"][scenario] = {
            "auc_predict_proba": proba_auc,
            "auc_decision_function": decision_auc,
        }
        print(
            f"{scenario:<14} AUC predict_proba {proba_auc:.3f}   AUC SVC decision_function {decision_auc:.3f}"
        )
    HERE.joinpath("results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / "svm_calibration_mias.json", json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
