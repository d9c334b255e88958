"""Batch feature extraction: Dask with 2 local workers against one process, same lesions.

A synthetic cohort (``mammocad.synth.make_cohort``, seed 0) of at least 300 lesions
is measured twice with ``mammocad.pipeline.measure_lesion_table``: in one process (``workers=None``, no Dask
overhead: the stronger baseline) and on a local Dask cluster of 2 single-threaded
worker processes (``workers=2``, cluster start-up included). Goal: ≥ 1.7x.

    OMP_NUM_THREADS=1 python benchmarks/features_dask.py

Writes benchmarks/results/features_dask.json. The speed-up can only approach 2 on a
machine with 2 otherwise idle cores; the load average is recorded with the result.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--images", type=int, default=232, help="synthetic images (1-2 lesions each)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--work", default="/tmp/mammocad-dask-232")
    args = parser.parse_args()

    from mammocad._fileio import atomic_write_text
    from mammocad.datasets import read_lesion_table
    from mammocad.pipeline import measure_lesion_table
    from mammocad.synth import make_cohort

    work = Path(args.work)
    table_path = work / "cohort" / "lesions.csv"
    if not table_path.exists():
        make_cohort(args.images, work / "cohort", seed=0, size=args.size, pixel_spacing_mm=0.2, progress=True)
    lesions = read_lesion_table(table_path)

    timings = {}
    for name, workers in (("one_process", None), ("dask_2_workers", 2)):
        out = work / f"features_{name}.parquet"
        out.unlink(missing_ok=True)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        table = measure_lesion_table(lesions, out, workers=workers, progress=True, chunk_size=1000)
        seconds = time.perf_counter() - start
        timings[name] = {
            "seconds": round(seconds, 2),
            "lesions": len(table),
            "lesions_per_second": round(len(table) / seconds, 2),
            "load_average_1min_before": round(load_before, 2),
        }
    speedup = timings["one_process"]["seconds"] / timings["dask_2_workers"]["seconds"]
    report = {
        "benchmark": "features_dask",
        "command": "OMP_NUM_THREADS=1 python benchmarks/features_dask.py",
        "goal": "dask 2 local workers >= 1.7x one process over 300+ lesions",
        "n_lesions": len(lesions),
        "timings": timings,
        "speedup_2_workers": round(speedup, 3),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    path = ROOT / "benchmarks" / "results" / "features_dask.json"
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
