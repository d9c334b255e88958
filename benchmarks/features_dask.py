"""Scale-out of ``measure_lesion_table``: where the time goes with 2 Dask workers, side by side.

A synthetic cohort (``mammocad.synth.make_cohort``, seed 0, 512-pixel images, at least
500 lesions: the small-image case, where fixed costs weigh most) is measured in this
process, alternating each repeat, as:

- ``one_process``: ``workers=None`` (BLAS and OpenMP on one thread);
- ``one_process_blas2``: the same with BLAS allowed two threads (is the baseline
  helped by threads? then a 2-worker run competes with it for the second core);
- ``workers_2``: ``workers=2``, a local cluster of 2 single-threaded worker processes
  started by the call (start-up, the workers' imports and shut-down included); its
  workers are forked, so they start with this process's imports;
- ``workers_2_spawn``: the same with the workers spawned (Dask's default, and
  mammocad's before this round): each imports mammocad, NumPy, SciPy, pandas anew;
- ``warm_cluster_2``: the same cluster started and warmed (mammocad imported in its
  workers) before the clock starts, used through ``scheduler=``: the steady state;
- ``per_lesion_tasks_2``: the warm cluster again, with every lesion given its own copy
  of its image path (a symlink), so that tasks are lesions, not images, and a film with
  several lesions is read several times (how mammocad 0.1 split the work).

The ratios to ``one_process`` are reported per repeat, with, measured in the same
run, the most 2 processes could gain on this machine at that moment (a pure-CPU loop,
1 vs 2 processes; other users' load caps every ratio). Goal (issue 12): ≥ 1.7x.

    python benchmarks/features_dask.py [--images 380] [--repeats 2]

Writes benchmarks/results/features_dask.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from _archive_common import ROOT, busy_ceiling, load_average


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=380, help="synthetic images (1-2 lesions each)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mammocad-dask-bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "features_dask.json")
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # the workers inherit it; the BLAS-2 variant lifts it in-process

    import pandas as pd
    from distributed import Client, LocalCluster
    from threadpoolctl import threadpool_limits

    import mammocad.parallel as parallel
    from mammocad._fileio import atomic_write_text
    from mammocad.datasets import read_lesion_table
    from mammocad.pipeline import measure_lesion_table
    from mammocad.synth import make_cohort

    table_path = args.work / "cohort" / "lesions.csv"
    if not table_path.exists():
        make_cohort(
            args.images, args.work / "cohort", seed=0, size=args.size, pixel_spacing_mm=0.2, progress=True
        )
    lesions = read_lesion_table(table_path)
    per_lesion = lesions.copy()
    links = args.work / "per-lesion-links"
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir(parents=True)
    for k, row in per_lesion.iterrows():
        link = links / f"{row['lesion_id']}{Path(row['image_path']).suffix}"
        link.symlink_to(row["image_path"])
        per_lesion.loc[k, "image_path"] = str(link)
    print(f"{len(lesions)} lesions on {lesions['image_path'].nunique()} images", flush=True)

    def warm_cluster() -> tuple[LocalCluster, Client, float]:
        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        )
        client = Client(cluster)
        client.run(lambda: __import__("mammocad.pipeline.measure"))
        return cluster, client, round(time.perf_counter() - start, 2)

    def timed(table: pd.DataFrame, out: Path, **kwargs: object) -> tuple[float, int]:
        for stale in (out, out.with_name(out.stem + ".skipped.csv")):
            stale.unlink(missing_ok=True)
        start = time.perf_counter()
        done = measure_lesion_table(table, out, progress=False, chunk_size=1000, **kwargs)  # type: ignore[arg-type]
        return round(time.perf_counter() - start, 2), len(done)

    variants = [
        "one_process",
        "one_process_blas2",
        "workers_2",
        "workers_2_spawn",
        "warm_cluster_2",
        "per_lesion_tasks_2",
    ]
    runs: dict[str, list[dict[str, object]]] = {v: [] for v in variants}
    ceilings = [busy_ceiling()]
    for repeat in range(args.repeats):
        order = variants if repeat % 2 == 0 else list(reversed(variants))
        for variant in order:
            out = args.work / f"{variant}.parquet"
            load = load_average()
            record: dict[str, object] = {"load_average_before": load}
            if variant == "one_process":
                with threadpool_limits(limits=1):
                    seconds, n = timed(lesions, out)
            elif variant == "one_process_blas2":
                with threadpool_limits(limits=2):
                    seconds, n = timed(lesions, out)
            elif variant == "workers_2":
                seconds, n = timed(lesions, out, workers=2)
            elif variant == "workers_2_spawn":
                forked = parallel._start_method
                parallel._start_method = lambda: "spawn"  # type: ignore[assignment]
                try:
                    seconds, n = timed(lesions, out, workers=2)
                finally:
                    parallel._start_method = forked  # type: ignore[assignment]
            else:
                cluster, client, startup = warm_cluster()
                try:
                    table = lesions if variant == "warm_cluster_2" else per_lesion
                    seconds, n = timed(table, out, scheduler=cluster.scheduler_address)
                finally:
                    client.close()
                    cluster.close()
                record["cluster_startup_seconds_not_included"] = startup
            record.update({"seconds": seconds, "lesions": n, "lesions_per_second": round(n / seconds, 3)})
            runs[variant].append(record)
            print(variant, json.dumps(record), flush=True)
        ceilings.append(busy_ceiling())

    ratios = {
        v: [
            round(float(a["seconds"]) / float(b["seconds"]), 3)
            for a, b in zip(runs["one_process"], runs[v], strict=True)
        ]  # type: ignore[arg-type]
        for v in variants[1:]
    }
    report = {
        "benchmark": "features_dask",
        "command": " ".join(["python", *sys.argv]),
        "goal": "2 workers >= 1.7x one process on >= 500 lesions",
        "lesions": len(lesions),
        "images": int(lesions["image_path"].nunique()),
        "image_size": args.size,
        "runs": runs,
        "ratios_to_one_process": ratios,
        "ceiling_two_processes_vs_one": [c["ratio"] for c in ceilings],
        "load_average_end": load_average(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(
        json.dumps(
            {k: report[k] for k in ("ratios_to_one_process", "ceiling_two_processes_vs_one")}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
