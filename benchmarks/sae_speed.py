"""Speed of the stacked denoising autoencoder: one fit, and the full 10-fold CV grid.

Issue 5's goals: fitting the paper's larger SAE, ``(400, 400)``, on 1000 lesions x 41
features takes < 10 s on the CPU with 2 threads, and the whole 10-fold grid search
(``select_model("sae", ...)``, every architecture x corruption level of
``param_grid("sae")``, 10 folds each, plus the refit) < 3 min. Side by side, in the same
run, scikit-learn's ``MLPClassifier`` with the same hidden layers (no pre-training,
early stopping) is timed on the same data as the reference; ratios are reported. When
torch sees a GPU the same fit is also timed with ``device="auto"``.

    OMP_NUM_THREADS=1 python benchmarks/sae_speed.py --skip-grid
    OMP_NUM_THREADS=1 python benchmarks/sae_speed.py --skip-grid --threads 1 --repeats 7 \
        --before /tmp/sae_before.py --out benchmarks/results/sae_speed_before_after.json
    OMP_NUM_THREADS=1 python benchmarks/sae_speed.py --batch-size 128 --out benchmarks/results/sae_speed_bs128.json

The fit is timed with 2 torch threads, then 1 (``--threads``); the grid runs 2
parallel fits of 1 thread each (``--grid-jobs``), i.e. the 2 cores. The 1-minute load
average is recorded: on a shared machine the 2-thread timing is at the mercy of other
processes (OpenMP threads spin-wait for each other).

``--before PATH`` (a copy of an earlier ``src/mammocad/models/sae.py``) also times that
version's ``(400, 400)`` fit, alternating with the current one in the same process
(before, after, before, after ...), and reports the median of the paired ratios
after ÷ before: on a shared machine the load moves both arms of a pair alike.

Writes benchmarks/results/sae_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_data(n: int = 1000, d: int = 41, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 1000 x 41 feature table with signal in a few correlated features; 2 lesions per patient."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 5))
    X = latent @ rng.normal(size=(5, d)) + 0.5 * rng.normal(size=(n, d))
    y = (latent[:, 0] + 0.5 * latent[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    groups = np.repeat(np.arange(n // 2), 2)
    return X, y, groups


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", default="2,1", help="torch thread counts to time the fit with")
    parser.add_argument("--grid-jobs", type=int, default=2, help="parallel grid fits (1 torch thread each)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="SAE batch size (default: the estimator's)"
    )
    parser.add_argument("--before", default=None, help="an earlier sae.py to time side by side")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sae_speed.json"))
    args = parser.parse_args()

    import sklearn
    import torch
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from mammocad._fileio import atomic_write_text
    from mammocad.models import make_model, param_grid, select_model

    thread_counts = [int(t) for t in str(args.threads).split(",")]
    torch.set_num_threads(thread_counts[0])
    X, y, groups = make_data()
    make_model("sae", hidden_layer_sizes=(8,), pretrain_epochs=1, finetune_epochs=1).fit(
        X[:50], y[:50]
    )  # warm-up

    batch = {} if args.batch_size is None else {"batch_size": args.batch_size}

    def fit_sae(device: str = "cpu"):
        return make_model("sae", hidden_layer_sizes=(400, 400), device=device, **batch).fit(X, y)

    sae_times, sae = timed(fit_sae, args.repeats)
    clf = sae.named_steps["clf"]

    def fit_mlp():
        mlp = MLPClassifier(
            hidden_layer_sizes=(400, 400), activation="logistic", early_stopping=True, random_state=0
        )
        return make_pipeline(MinMaxScaler(), mlp).fit(X, y)

    mlp_times, mlp = timed(fit_mlp, args.repeats)
    result: dict = {
        "data": {
            "n_lesions": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "n_patients": int(np.unique(groups).size),
        },
        "load_average_1min_at_start": os.getloadavg()[0],
        "torch_threads": torch.get_num_threads(),
        "sae_400_400_fit": {
            "seconds": sae_times,
            "median_s": statistics.median(sae_times),
            "goal_s": 10.0,
            "meets_goal": statistics.median(sae_times) < 10.0,
            "batch_size": clf.batch_size,
            "pretrain_epochs_per_layer": clf.pretrain_epochs,
            "finetune_epochs_run": clf.n_iter_,
            "best_epoch": clf.best_epoch_,
            "training_accuracy": float(sae.score(X, y)),
        },
        "reference_sklearn_mlp_400_400_fit": {
            "seconds": mlp_times,
            "median_s": statistics.median(mlp_times),
            "epochs_run": int(mlp.named_steps["mlpclassifier"].n_iter_),
            "training_accuracy": float(mlp.score(X, y)),
        },
        "ratio_sae_over_mlp": statistics.median(sae_times) / statistics.median(mlp_times),
    }
    for threads in thread_counts[1:]:
        torch.set_num_threads(threads)
        other_times, _ = timed(fit_sae, args.repeats)
        result[f"sae_400_400_fit_{threads}_threads"] = {
            "seconds": other_times,
            "median_s": statistics.median(other_times),
        }
    torch.set_num_threads(thread_counts[0])
    if args.before is not None:
        import importlib.util

        spec = importlib.util.spec_from_file_location("sae_before", args.before)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        Before = module.StackedDenoisingAutoencoderClassifier

        def fit_before():
            return make_pipeline(
                MinMaxScaler(), Before(hidden_layer_sizes=(400, 400), random_state=0, **batch)
            ).fit(X, y)

        pairs = []
        for _ in range(args.repeats):
            (t_before,), old = timed(fit_before, 1)
            (t_after,), new = timed(fit_sae, 1)
            pairs.append((t_before, t_after))
        ratios = [a / b for b, a in pairs]
        result["before_after_same_process"] = {
            "before": args.before,
            "torch_threads": torch.get_num_threads(),
            "before_seconds": [b for b, _ in pairs],
            "after_seconds": [a for _, a in pairs],
            "before_median_s": statistics.median(b for b, _ in pairs),
            "after_median_s": statistics.median(a for _, a in pairs),
            "paired_ratios_after_over_before": ratios,
            "median_ratio_after_over_before": statistics.median(ratios),
            "max_abs_probability_difference": float(
                np.abs(old.predict_proba(X) - new.predict_proba(X)).max()
            ),
        }
    if torch.cuda.is_available():
        gpu_times, gpu = timed(lambda: fit_sae("auto"), args.repeats)
        result["sae_400_400_fit_gpu"] = {
            "device": torch.cuda.get_device_name(0),
            "seconds": gpu_times,
            "median_s": statistics.median(gpu_times),
            "ratio_gpu_over_cpu": statistics.median(gpu_times) / statistics.median(sae_times),
            "training_accuracy": float(gpu.score(X, y)),
        }
    if not args.skip_grid:
        grid = param_grid("sae") | {f"clf__{k}": [v] for k, v in batch.items()}
        n_points = int(np.prod([len(v) for v in grid.values()]))
        t0 = time.perf_counter()
        torch.set_num_threads(1)
        sel = select_model("sae", X, y, groups, n_splits=10, random_state=0, n_jobs=args.grid_jobs, grid=grid)
        grid_s = time.perf_counter() - t0
        mean, std = sel.cv_accuracy
        result["sae_grid_10_fold"] = {
            "grid": {k: [list(v) if isinstance(v, tuple) else v for v in vals] for k, vals in grid.items()},
            "n_fits": n_points * 10 + 1,
            "n_jobs": args.grid_jobs,
            "torch_threads_per_job": 1,
            "seconds": grid_s,
            "goal_s": 180.0,
            "meets_goal": grid_s < 180.0,
            "best_params": {k: list(v) if isinstance(v, tuple) else v for k, v in sel.best_params.items()},
            "cv_accuracy_mean": mean,
            "cv_accuracy_std": std,
        }
    result["environment"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "cuda": torch.cuda.is_available(),
        "load_average_1min": os.getloadavg()[0],
    }
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
