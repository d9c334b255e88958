"""Per-feature discrimination (AUC, benign vs malignant) on mini-MIAS lesions: the paper's Fig. 4.

Every mini-MIAS lesion with coordinates is segmented in its ROI and measured
(``mammocad.pipeline.measure_lesion_table``); each feature's ROC AUC is computed on the
calcification lesions (the 15 calcification features), on the mass lesions (the 26
mass features) and on all lesions (all 41). AUC is of the raw value (> 0.5: larger in
malignant lesions), with a 95% bootstrap interval (2000 resamples, seed 0).

    MAMMOCAD_DATA=../shared/data python benchmarks/features_auc_mias.py

Writes benchmarks/results/features_auc_mias.json and docs/images/features_roc.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def bootstrap_auc(y: np.ndarray, x: np.ndarray, *, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the AUC over bootstrap resamples (Mann-Whitney, vectorised)."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), (n, len(y)))
    yb, xb = y[idx], x[idx]
    pos = yb.sum(axis=1)
    neg = len(y) - pos
    ok = (pos > 0) & (neg > 0)
    ranks = rankdata(xb, axis=1)
    auc = ((ranks * yb).sum(axis=1) - pos * (pos + 1) / 2.0)[ok] / (pos * neg)[ok]
    lo, hi = np.percentile(auc, [2.5, 97.5])
    return float(lo), float(hi)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("MAMMOCAD_DATA", "../shared/data"))
    parser.add_argument(
        "--work", default="/tmp/mammocad-bench", help="folder for the feature table (resumable)"
    )
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    from mammocad.datasets import load_mias
    from mammocad.features import CALCIFICATION_FEATURES, FEATURE_NAMES, MASS_FEATURES
    from mammocad.pipeline import measure_lesion_table

    lesions = load_mias(Path(args.data) / "mias", with_roi=True)
    out = Path(args.work) / "mias_features.parquet"
    start = time.perf_counter()
    table = measure_lesion_table(lesions, out, workers=args.workers, progress=True)
    elapsed = time.perf_counter() - start

    y_all = table["label"].to_numpy()
    subsets = {
        "calcification": (table["abnormality"] == "calcification", CALCIFICATION_FEATURES),
        "mass": (table["abnormality"] == "mass", MASS_FEATURES),
        "all": (np.ones(len(table), bool), FEATURE_NAMES),
    }
    results: dict[str, object] = {}
    for subset, (rows, names) in subsets.items():
        rows = np.asarray(rows)
        y = y_all[rows]
        per_feature = {}
        for name in names:
            x = table.loc[rows, name].to_numpy(dtype=float)
            auc = float(roc_auc_score(y, x)) if np.ptp(x) > 0 else 0.5
            lo, hi = bootstrap_auc(y, x) if np.ptp(x) > 0 else (0.5, 0.5)
            per_feature[name] = {"auc": round(auc, 4), "ci95": [round(lo, 4), round(hi, 4)]}
        results[subset] = {
            "n_lesions": int(rows.sum()),
            "n_malignant": int(y.sum()),
            "n_benign": int((1 - y).sum()),
            "auc": per_feature,
        }

    # Fig. 4 of the paper: ROC curves of selected microcalcification features.
    calc_rows = np.asarray(subsets["calcification"][0])
    mass_rows = np.asarray(subsets["mass"][0])
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, rows, names, title in (
        (axes[0], calc_rows, CALCIFICATION_FEATURES, "Microcalcification lesions"),
        (axes[1], mass_rows, MASS_FEATURES, "Mass lesions"),
    ):
        y = y_all[rows]
        ranked = sorted(
            names,
            key=lambda n: (
                -abs(results["calcification" if rows is calc_rows else "mass"]["auc"][n]["auc"] - 0.5)
            ),
        )[:5]
        for name in ranked:
            x = table.loc[rows, name].to_numpy(dtype=float)
            auc = roc_auc_score(y, x)
            if auc < 0.5:
                x, auc = -x, 1 - auc
            fpr, tpr, _ = roc_curve(y, x)
            ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.2f})")
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set(
            title=f"{title} (n={rows.sum()}, {int(y.sum())} malignant)",
            xlabel="1 - specificity",
            ylabel="sensitivity",
        )
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("mini-MIAS: ROC of the five most discriminative single features (sign-oriented)")
    fig.tight_layout()
    figure = ROOT / "docs" / "images" / "features_roc.png"
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=110)

    from mammocad._fileio import atomic_write_text

    report = {
        "benchmark": "features_auc_mias",
        "command": "MAMMOCAD_DATA=../shared/data python benchmarks/features_auc_mias.py",
        "dataset": "mini-MIAS lesions with coordinates (Info.txt), ROI as annotated",
        "n_lesions_in": int(len(lesions)),
        "n_lesions_measured": int(len(table)),
        "skipped": table.attrs.get("skipped", []),
        "extraction_seconds_this_run": round(elapsed, 1),
        "note": "AUC of the raw value: > 0.5 means larger in malignant lesions; orient before ranking.",
        "results": results,
        "figure": str(figure.relative_to(ROOT)),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    path = ROOT / "benchmarks" / "results" / "features_auc_mias.json"
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")
    for subset in ("calcification", "mass"):
        r = results[subset]
        best = sorted(r["auc"].items(), key=lambda kv: -abs(kv[1]["auc"] - 0.5))[:5]
        print(f"{subset}: n={r['n_lesions']} ({r['n_malignant']} malignant); most discriminative:")
        for name, v in best:
            print(f"  {name:40s} AUC {v['auc']:.3f}  [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]")
    print(f"wrote {path} and {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
