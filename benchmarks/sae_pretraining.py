"""Does pre-training do anything? SAE with vs without greedy layer-wise pre-training.

For each data set, the same SAE (the paper's ``(200, 200)``, ``make_model("sae")``
defaults otherwise) is trained with ``pretrain=True`` and ``pretrain=False`` on
exactly the same folds and seeds: ``--repeats`` repetitions of stratified,
patient-grouped 5-fold CV (fold seed = repetition; estimator ``random_state`` =
repetition). Reported per arm: out-of-fold accuracy and ROC AUC (pooled over the
folds of a repetition), mean ± std over repetitions, and the paired difference. The
per-layer reconstruction error of pre-training (first and last epoch, and the whole
curve) is recorded from a fit on all rows.

Data sets:

- ``wdbc``: scikit-learn's ``load_breast_cancer`` (the Wisconsin diagnostic breast
  cancer table: 30 nucleus features of 569 breast masses) — a real tabular stand-in.
- ``synthetic``: ``mammocad.synth.make_cohort`` images, segmented and measured with
  ``mammocad.pipeline.measure_lesion_table`` (all 41 features).
- ``mias``: the mini-MIAS feature table (all 41 features, lesions with coordinates),
  read from ``--mias-features`` or extracted from ``$MAMMOCAD_DATA/mias``.

    OMP_NUM_THREADS=1 MAMMOCAD_DATA=../shared/data python benchmarks/sae_pretraining.py

Writes benchmarks/results/sae_pretraining.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def compare(X: np.ndarray, y: np.ndarray, groups: np.ndarray, repeats: int, n_splits: int) -> dict:
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    from mammocad.models import make_model

    arms: dict[str, dict[str, list[float]]] = {
        "pretrained": {"acc": [], "auc": []},
        "not_pretrained": {"acc": [], "auc": []},
    }
    for rep in range(repeats):
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=rep)
        for arm, pretrain in (("pretrained", True), ("not_pretrained", False)):
            proba = np.empty(len(y))
            for train, test in cv.split(X, y, groups):
                model = make_model("sae", random_state=rep, pretrain=pretrain).fit(X[train], y[train])
                proba[test] = model.predict_proba(X[test])[:, 1]
            arms[arm]["acc"].append(float(accuracy_score(y, proba >= 0.5)))
            arms[arm]["auc"].append(float(roc_auc_score(y, proba)))
    out: dict = {}
    for arm, values in arms.items():
        out[arm] = {
            f"{m}_{stat}": float(fn(values[m]))
            for m in ("acc", "auc")
            for stat, fn in (("mean", np.mean), ("std", np.std))
        }
        out[arm]["acc_per_repeat"] = values["acc"]
        out[arm]["auc_per_repeat"] = values["auc"]
    for m in ("acc", "auc"):
        diff = np.array(arms["pretrained"][m]) - np.array(arms["not_pretrained"][m])
        out[f"{m}_difference_mean"] = float(diff.mean())
        out[f"{m}_difference_std"] = float(diff.std())
        out[f"{m}_pretrained_wins"] = int((diff > 0).sum())
        out[f"{m}_ties"] = int((diff == 0).sum())
    model = make_model("sae", random_state=0).fit(X, y)
    curves = model.named_steps["clf"].pretrain_loss_curves_
    out["reconstruction_error_per_layer"] = [
        {
            "layer": k + 1,
            "first_epoch": c[0],
            "last_epoch": c[-1],
            "ratio_last_over_first": c[-1] / c[0],
            "curve": c,
        }
        for k, c in enumerate(curves)
    ]
    return out


def synthetic_table(n_images: int, work: Path):
    from mammocad.pipeline import measure_lesion_table
    from mammocad.synth import make_cohort

    out = work / "synthetic_features.parquet"
    if out.is_file():
        import pandas as pd

        return pd.read_parquet(out)
    lesions = make_cohort(n_images, work / "synthetic", seed=0, size=512, pixel_spacing_mm=0.2)
    return measure_lesion_table(lesions, out, progress=False)


def mias_table(path: str | None, work: Path):
    import pandas as pd

    from mammocad.datasets import load_mias
    from mammocad.pipeline import measure_lesion_table

    if path and Path(path).is_file():
        return pd.read_parquet(path)
    data = Path(os.environ.get("MAMMOCAD_DATA", "../shared/data")) / "mias"
    return measure_lesion_table(load_mias(data), work / "mias_features.parquet", progress=False)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--datasets", default="wdbc,synthetic,mias")
    parser.add_argument("--synthetic-images", type=int, default=96)
    parser.add_argument("--mias-features", default="/tmp/mammocad-bench/mias_features.parquet")
    parser.add_argument("--work", default="/tmp/mammocad-bench/sae_pretraining")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sae_pretraining.json"))
    args = parser.parse_args()

    import torch
    from sklearn.datasets import load_breast_cancer

    from mammocad._fileio import atomic_write_text
    from mammocad.features import FEATURE_NAMES

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "protocol": (
            f"{args.repeats} x stratified patient-grouped {args.folds}-fold CV; same folds and seeds for both arms; "
            "make_model('sae') defaults, hidden_layer_sizes=(200, 200)"
        ),
        "torch_threads": torch.get_num_threads(),
        "datasets": {},
    }
    for name in args.datasets.split(","):
        t0 = time.perf_counter()
        if name == "wdbc":
            X, y = load_breast_cancer(return_X_y=True)
            y = 1 - y  # 1 = malignant, as in mammocad
            groups = np.arange(len(y))
            source = "sklearn.datasets.load_breast_cancer (WDBC)"
        else:
            table = (
                synthetic_table(args.synthetic_images, work)
                if name == "synthetic"
                else mias_table(args.mias_features, work)
            )
            X = table[list(FEATURE_NAMES)].to_numpy(dtype=float)
            y = table["label"].to_numpy(dtype=int)
            groups = table["patient_id"].astype(str).to_numpy()
            source = (
                "mammocad.synth.make_cohort + measure_lesion_table"
                if name == "synthetic"
                else "mini-MIAS, measure_lesion_table"
            )
        entry = compare(X, y, groups, args.repeats, args.folds)
        entry.update(
            source=source,
            n_lesions=int(len(y)),
            n_malignant=int(y.sum()),
            n_features=int(X.shape[1]),
            n_patients=int(np.unique(groups).size),
            seconds=time.perf_counter() - t0,
        )
        result["datasets"][name] = entry
        print(
            f"{name}: acc {entry['pretrained']['acc_mean']:.3f} vs {entry['not_pretrained']['acc_mean']:.3f}, "
            f"AUC {entry['pretrained']['auc_mean']:.3f} vs {entry['not_pretrained']['auc_mean']:.3f} "
            f"(pre-trained vs not; {entry['seconds']:.0f} s)",
            flush=True,
        )
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
