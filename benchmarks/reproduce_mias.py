"""Benchmark: ``mammocad reproduce`` on mini-MIAS from images (features → experiment → report).

Writes the mini-MIAS lesion table (every lesion with coordinates), runs the
command line exactly as a user would, from a fresh output folder (so the
features are extracted from the images), and records the wall time, the load of
the machine, and the three tables next to the paper's.

    MAMMOCAD_DATA=../shared/data python benchmarks/reproduce_mias.py [--out DIR] [--workers N]

Output: ``benchmarks/results/reproduce_mias.json``. Goal: < 600 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mammocad._fileio import atomic_write_text
from mammocad.datasets import load_mias, write_lesion_table
from mammocad.evaluation.paper import PAPER_TABLES
from mammocad.pipeline import MIAS_EXPERIMENT_ABNORMALITIES

HERE = Path(__file__).resolve().parent
GOAL_S = 600.0


_NAMES = {
    "sae": "SAE",
    "svm": "SVM",
    "knn": "KNN",
    "lda": "LDA",
    "logreg": "LogReg",
    "hgb": "HGB (boosted trees)",
}
_TITLES = {
    "calcification": "microcalcification features (15)",
    "mass": "mass features (26)",
    "combined": "both (41)",
}


def markdown_tables(rows: list[dict], results: dict) -> str:
    """The three tables, ours [95 % CI] next to the paper's, as Markdown."""
    from mammocad.evaluation.paper import PAPER_KNN_K, PAPER_TABLE_NUMBERS

    def cell(row: dict, key: str, pct: bool = False) -> str:
        lo, hi = row[f"{key}_ci_low"], row[f"{key}_ci_high"]
        if pct:
            return f"{100 * row[key]:.1f}% [{100 * lo:.0f}, {100 * hi:.0f}]"
        return f"{row[key]:.2f} [{lo:.2f}, {hi:.2f}]"

    out = []
    for sc in ("calcification", "mass", "combined"):
        n_test = results["scenarios"][sc]["n_test"]
        out.append(
            f"**Table {PAPER_TABLE_NUMBERS[sc]} — {_TITLES[sc]}** (mini-MIAS test group: {n_test} lesions)\n"
        )
        out.append(
            "| Model | accuracy | sensitivity | specificity | AUC | DeLong p vs SAE | training CV acc. "
            "| paper: acc. / sens. / spec. / AUC / CV |"
        )
        out.append("|---|---|---|---|---|---|---|---|")
        for row in rows:
            if row["scenario"] != sc:
                continue
            m = row["model"]
            p = row["delong_p_vs_sae"]
            ps = "–" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")
            label = _NAMES.get(m, m)
            if m == "knn":
                params = json.loads(row["best_params"])
                k = next((v for key, v in params.items() if key.endswith("n_neighbors")), "?")
                label = f"KNN (k = {k})"
            paper = row["paper"]
            pp = (
                "not in the paper"
                if paper is None
                else f"{100 * paper['accuracy']:.1f}% / {paper['sensitivity']:.2f} / {paper['specificity']:.2f} / "
                f"{paper['auc']:.2f} / {paper['cv_mean']:.2f} ± {paper['cv_std']:.2f}"
            )
            if m == "knn" and paper is not None:
                pp += f" (k = {PAPER_KNN_K[sc]})"
            out.append(
                f"| {label} | {cell(row, 'accuracy', True)} | {cell(row, 'sensitivity')} | "
                f"{cell(row, 'specificity')} | {cell(row, 'auc')} | {ps} | "
                f"{row['cv_accuracy_mean']:.2f} ± {row['cv_accuracy_std']:.2f} | {pp} |"
            )
        out.append("")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/mammocad-bench/reproduce_mias"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--abnormalities",
        default=",".join(MIAS_EXPERIMENT_ABNORMALITIES),
        help="comma-separated abnormalities to keep, or 'all' (default: the paper's calcifications and masses)",
    )
    args = parser.parse_args()
    root = os.environ.get("MAMMOCAD_DATA")
    if not root or not (Path(root) / "mias" / "Info.txt").is_file():
        print("MAMMOCAD_DATA must point at the shared data (with mias/Info.txt)", file=sys.stderr)
        return 2
    abnormalities = None if args.abnormalities == "all" else tuple(args.abnormalities.split(","))
    with_roi = load_mias(Path(root) / "mias", abnormalities=abnormalities, with_roi=True)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    table = args.out / "mias_lesions.csv"
    write_lesion_table(with_roi, table)
    cmd = [
        sys.executable,
        "-m",
        "mammocad.cli",
        "reproduce",
        str(table),
        "--out",
        str(args.out / "run"),
        "--seed",
        str(args.seed),
        "--quiet",
    ]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    load_before = os.getloadavg()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of the run: on a shared machine wall time includes waiting for a core;
    # the work itself is single-threaded apart from BLAS (OMP_NUM_THREADS), so CPU time
    # approximates the wall time on an idle machine.
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    load_after = os.getloadavg()
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        return proc.returncode
    results = json.loads((args.out / "run" / "results.json").read_text())
    table_csv = pd.read_csv(args.out / "run" / "results.csv")
    rows = []
    for _, r in table_csv.iterrows():
        paper = PAPER_TABLES.get(r["scenario"], {}).get(r["model"])
        rows.append(
            {
                **{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()},
                "paper": paper,
            }
        )
    record = {
        "benchmark": "reproduce_mias",
        "command": " ".join(["mammocad"] + cmd[3:]),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "goal_s": GOAL_S,
        "meets_goal": wall < GOAL_S,
        "cpu_count": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "n_lesions": int(len(with_roi)),
        "dataset": results["dataset"],
        "config": results["config"],
        "versions": results["versions"],
        "results": rows,
        "stderr_tail": proc.stderr[-2000:],
    }
    record["markdown"] = markdown_tables(rows, results)
    HERE.joinpath("results").mkdir(exist_ok=True)
    atomic_write_text(
        HERE / "results" / "reproduce_mias.json", json.dumps(record, indent=2, default=str) + "\n"
    )
    print(
        f"mammocad reproduce on mini-MIAS ({len(with_roi)} lesions): {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"(goal < {GOAL_S:.0f} s; load average {load_before[0]:.1f} -> {load_after[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
