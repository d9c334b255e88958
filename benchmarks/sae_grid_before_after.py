"""The SAE's full 10-fold CV grid with an earlier version of sae.py and the current one, side by side.

Times ``GridSearchCV`` over ``param_grid("sae")`` (8 settings x 10 patient-grouped folds
+ refit, 2 parallel fits of 1 torch thread) on the 1000 x 41 table of ``sae_speed.py``,
once with the ``StackedDenoisingAutoencoderClassifier`` of ``--before`` (a copy of an
earlier ``src/mammocad/models/sae.py``) and once with the installed one, in the same
run; reports both wall times, their ratio, the per-setting mean CV accuracies and the
selected setting. Pin it to 2 cores on an otherwise idle machine for a clean figure:

    git show abbebc4:src/mammocad/models/sae.py > /tmp/sae_before.py
    OMP_NUM_THREADS=1 taskset -c 0,1 python benchmarks/sae_grid_before_after.py --before /tmp/sae_before.py

Writes benchmarks/results/sae_grid_before_after.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", required=True, help="path of the earlier sae.py")
    parser.add_argument("--order", default="after,before")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sae_grid_before_after.json"))
    args = parser.parse_args()

    import torch
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    from mammocad._fileio import atomic_write_text
    from mammocad.models import param_grid
    from mammocad.models.sae import StackedDenoisingAutoencoderClassifier as After

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from sae_speed import make_data

    # Importable by name so that the parallel workers can unpickle it.
    before_dir = Path(args.before).resolve().parent
    sys.path.insert(0, str(before_dir))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(before_dir), os.environ.get("PYTHONPATH", "")])
    spec = importlib.util.spec_from_file_location(Path(args.before).stem, args.before)
    before = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = before
    spec.loader.exec_module(before)

    torch.set_num_threads(1)
    X, y, groups = make_data()
    out: dict = {
        "cpus_available": len(os.sched_getaffinity(0)),
        "load_average_1min_at_start": os.getloadavg()[0],
    }
    for version in args.order.split(","):
        cls = After if version == "after" else before.StackedDenoisingAutoencoderClassifier
        pipe = Pipeline([("scale", MinMaxScaler()), ("clf", cls(random_state=0))])
        cv = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=0)
        t0 = time.perf_counter()
        search = GridSearchCV(
            pipe, param_grid("sae"), scoring="accuracy", cv=cv, refit=True, n_jobs=2, error_score="raise"
        ).fit(X, y, groups=groups)
        out[version] = {
            "seconds": time.perf_counter() - t0,
            "best_params": {k: str(v) for k, v in search.best_params_.items()},
            "cv_accuracy_best": float(search.best_score_),
            "params": [{k: str(v) for k, v in p.items()} for p in search.cv_results_["params"]],
            "mean_test_accuracy": [float(v) for v in search.cv_results_["mean_test_score"]],
            "mean_fit_time_s": [float(v) for v in search.cv_results_["mean_fit_time"]],
            "load_average_1min_at_end": os.getloadavg()[0],
        }
        print(version, f"{out[version]['seconds']:.1f} s", flush=True)
    if "before" in out and "after" in out:
        out["ratio_after_over_before"] = out["after"]["seconds"] / out["before"]["seconds"]
    out["environment"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }
    atomic_write_text(args.out, json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
