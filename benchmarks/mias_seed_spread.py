"""How much do mini-MIAS results move with the split seed? (fast models only)

Reruns the experiment on the cached mini-MIAS feature table (written by
``benchmarks/reproduce_mias.py``) for seeds 0..N-1 with the fast models (KNN,
LDA, logistic regression; the SAE and SVM would take minutes per seed) and
records the spread of test accuracy and AUC per scenario and model.

    python benchmarks/mias_seed_spread.py [--features PATH] [--seeds 10]

Output: ``benchmarks/results/mias_seed_spread.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mammocad._fileio import atomic_write_text
from mammocad.evaluation import run_experiment
from mammocad.features.table import read_feature_table

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--features", type=Path, default=Path("/tmp/mammocad-bench/reproduce_mias/run/features.parquet")
    )
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    if not args.features.is_file():
        print(f"{args.features}: run benchmarks/reproduce_mias.py first", file=sys.stderr)
        return 2
    features = read_feature_table(args.features)
    runs = []
    for seed in range(args.seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_experiment(features, models=("knn", "lda", "logreg"), seed=seed, n_bootstrap=200)
        runs.append(res.table()[["scenario", "model", "n_test", "accuracy", "auc"]].assign(seed=seed))
    summary = {}
    for (scenario, model), rows in pd.concat(runs).groupby(["scenario", "model"]):
        summary[f"{scenario}/{model}"] = {
            metric: {
                "min": float(rows[metric].min()),
                "max": float(rows[metric].max()),
                "mean": float(rows[metric].mean()),
                "std": float(rows[metric].std(ddof=1)),
            }
            for metric in ("accuracy", "auc")
        } | {"n_test": [int(v) for v in np.unique(rows["n_test"])]}
    # Out-of-fold AUC of grouped 10-fold CV on all lesions: how much signal each scenario carries.
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

    from mammocad.features import scenario_columns
    from mammocad.models import make_model

    y, groups = features["label"].to_numpy(), features["patient_id"].to_numpy()
    oof = {}
    for scenario in ("calcification", "mass", "combined"):
        X = features[list(scenario_columns(scenario))].to_numpy()
        for model in ("knn", "lda", "logreg"):
            aucs = []
            for seed in range(5):
                cv = StratifiedGroupKFold(10, shuffle=True, random_state=seed)
                proba = cross_val_predict(
                    make_model(model), X, y, groups=groups, cv=cv, method="predict_proba"
                )
                aucs.append(float(roc_auc_score(y, proba[:, 1])))
            oof[f"{scenario}/{model}"] = {"min": min(aucs), "max": max(aucs), "cv_seeds": 5}
            print(
                f"{scenario}/{model:<8} out-of-fold AUC {min(aucs):.2f}-{max(aucs):.2f} (5 CV seeds, all lesions)"
            )
    record = {
        "benchmark": "mias_seed_spread",
        "features": str(args.features),
        "seeds": args.seeds,
        "summary": summary,
        "out_of_fold_auc_all_lesions": oof,
    }
    HERE.joinpath("results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / "mias_seed_spread.json", json.dumps(record, indent=2) + "\n")
    for key, value in summary.items():
        print(
            f"{key:<22} accuracy {value['accuracy']['min']:.2f}-{value['accuracy']['max']:.2f}  "
            f"AUC {value['auc']['min']:.2f}-{value['auc']['max']:.2f} (sd {value['auc']['std']:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
