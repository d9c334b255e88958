"""A CBIS-DDSM-sized archive end to end with the plain commands: manifest → features → reproduce.

The synthetic CBIS-DDSM (``mammocad.synth.archive``: TCIA layout, 16-bit RLE films of
~12 MP at 0.05 mm, ROI-mask and cropped DICOMs, the four tables with their quirks;
1,000 lesions by default) is written once (``--build``; seeded, resumable), then:

1. ``mammocad manifest cbis-ddsm <4 tables> --images ... --out lesions.csv``;
2. ``mammocad features lesions.csv --out ...`` three ways, side by side in one run,
   alternating each repeat: one process; ``--workers 2`` (a local cluster started by
   the command, its start-up included); ``--scheduler tcp://...`` on a ``dask
   scheduler`` and two ``dask worker`` processes started before (their start-up
   timed apart). The tables of the three must be equal;
3. ``mammocad reproduce features.parquet --out ... --split-column split``.

Reported: seconds and lesions/s of each way, the ratios to one process (goal ≥ 1.7x
with 2 workers), seconds per lesion in one process (goal ≤ 0.3 s on 12-MP films),
peak memory of the main process and of each worker, the projected time of the real
CBIS-DDSM (3,568 lesions) at the measured rates, and, measured in the same run, the
most two processes could gain on this machine at that moment (a pure-CPU loop, 1 vs
2 processes: other users' load caps every ratio). Load averages are recorded.

    python benchmarks/archive_e2e.py --build [--lesions 1000] [--repeats 1]

Writes benchmarks/results/archive_e2e.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

from _archive_common import BIN, DEFAULT_ARCHIVE, ROOT, DaskCluster, busy_ceiling, load_average, run

REAL_CBIS_LESIONS = 3568


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--build", action="store_true", help="write the archive first if it is not there")
    parser.add_argument("--archive-lesions", type=int, default=1000, help="lesions of the archive to build")
    parser.add_argument(
        "--lesions", type=int, default=None, help="measure only the first N lesions (whole films)"
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-reproduce", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "archive_e2e.json")
    args = parser.parse_args()

    import pandas as pd

    from mammocad._fileio import atomic_write_text
    from mammocad.datasets import read_lesion_table, write_lesion_table
    from mammocad.features import FEATURE_NAMES

    result: dict[str, object] = {"benchmark": "archive_e2e", "command": " ".join(["python", *sys.argv])}
    tables = sorted(args.archive.glob("*_case_description_*_set.csv"))
    if len(tables) != 4:
        if not args.build:
            print(f"no archive at {args.archive}; run with --build", file=sys.stderr)
            return 1
        from mammocad.synth.archive import make_tcia_archive

        start = time.perf_counter()
        made = make_tcia_archive(args.archive, args.archive_lesions, seed=0, workers=2, progress=True)
        result["build"] = {"seconds": round(time.perf_counter() - start, 1), "films": made.films,
                           "lesions": made.lesions, "workers": 2}  # fmt: skip
        tables = sorted(args.archive.glob("*_case_description_*_set.csv"))
    size_gb = sum(p.stat().st_size for p in (args.archive / "images").rglob("*.dcm")) / 1e9
    result["archive"] = {"path": str(args.archive), "dicom_gb": round(size_gb, 2)}
    mammocad = str(BIN / "mammocad")
    work = args.archive.parent / "e2e"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    # 1. manifest
    lesions_csv = work / "lesions.csv"
    manifest = run([mammocad, "manifest", "cbis-ddsm", *map(str, tables), "--images",
                    str(args.archive / "images"), "--out", str(lesions_csv), "--quiet"])  # fmt: skip
    assert manifest.returncode == 0, manifest.stderr_tail
    lesions = read_lesion_table(lesions_csv)
    result["manifest"] = {"seconds": manifest.seconds, "lesions": len(lesions),
                          "films": int(lesions["image_path"].nunique()),
                          "images_found": int(lesions["image_found"].sum()),
                          "masks_found": int(lesions["mask_found"].sum()),
                          "seconds_per_lesion": round(manifest.seconds / len(lesions), 3)}  # fmt: skip
    if args.lesions is not None and args.lesions < len(lesions):
        films = lesions["image_path"].drop_duplicates()
        counts = lesions.groupby("image_path", sort=False).size().loc[films].cumsum()
        keep = set(counts[counts <= args.lesions].index)
        lesions = lesions[lesions["image_path"].isin(keep)].reset_index(drop=True)
        lesions_csv = work / f"lesions_{len(lesions)}.csv"
        write_lesion_table(lesions, lesions_csv)
    n = len(lesions)
    n_films = int(lesions["image_path"].nunique())
    print(f"measuring {n} lesions on {n_films} films", flush=True)

    # 2. features, three ways, alternating
    result["ceiling_before"] = busy_ceiling()
    ways: dict[str, list[dict[str, object]]] = {"one_process": [], "workers_2": [], "scheduler_2": []}
    outputs: dict[str, Path] = {}
    for repeat in range(args.repeats):
        order = list(ways) if repeat % 2 == 0 else list(reversed(ways))
        for way in order:
            out = work / f"features_{way}.parquet"
            for stale in (out, out.with_name(out.stem + ".skipped.csv")):
                stale.unlink(missing_ok=True)
            command = [mammocad, "features", str(lesions_csv), "--out", str(out), "--quiet"]
            cluster = None
            if way == "workers_2":
                command += ["--workers", "2"]
            elif way == "scheduler_2":
                cluster = DaskCluster(2)
                command += ["--scheduler", cluster.address]
            load = load_average()
            try:
                done = run(command, extra=cluster.processes() if cluster else None)
            finally:
                if cluster is not None:
                    cluster.stop()
            assert done.returncode == 0, done.stderr_tail
            table = pd.read_parquet(out)
            record: dict[str, object] = {
                "seconds": done.seconds,
                # CPU of the command and the worker processes it started (--scheduler: its
                # workers are not its children and are not counted here).
                "cpu_seconds": done.cpu_seconds,
                "cpu_seconds_per_lesion": round(done.cpu_seconds / max(len(table), 1), 3),
                "lesions_measured": len(table),
                "lesions_per_second": round(len(table) / done.seconds, 3),
                "seconds_per_lesion": round(done.seconds / len(table), 3),
                "peak_rss_mb_main": done.peak("main"),
                "peak_rss_mb_per_worker": {
                    k: v for k, v in done.peak_rss_mb.items() if k.startswith("worker")
                },
                "load_average_before": load,
            }
            if cluster is not None:
                record["cluster_startup_seconds_not_included"] = cluster.startup_seconds
            ways[way].append(record)
            outputs[way] = out
            print(way, json.dumps(record), flush=True)
    result["ceiling_after"] = busy_ceiling()

    reference = pd.read_parquet(outputs["one_process"]).set_index("lesion_id").sort_index()
    same = {}
    for way in ("workers_2", "scheduler_2"):
        other = pd.read_parquet(outputs[way]).set_index("lesion_id").sort_index()
        same[way] = bool(reference[list(FEATURE_NAMES)].equals(other[list(FEATURE_NAMES)]))
    sources = reference["pixel_spacing_source"].value_counts().to_dict()

    def median(way: str, key: str) -> float:
        values = sorted(float(r[key]) for r in ways[way])  # type: ignore[arg-type]
        return values[len(values) // 2]

    one = median("one_process", "seconds")
    result["features"] = {
        "lesions": n,
        "films": n_films,
        "runs": ways,
        "ratio_workers_2_vs_one_process": [
            round(float(a["seconds"]) / float(b["seconds"]), 3)  # type: ignore[arg-type]
            for a, b in zip(ways["one_process"], ways["workers_2"], strict=True)
        ],
        "ratio_scheduler_2_vs_one_process": [
            round(float(a["seconds"]) / float(b["seconds"]), 3)  # type: ignore[arg-type]
            for a, b in zip(ways["one_process"], ways["scheduler_2"], strict=True)
        ],
        "goal_ratio": 1.7,
        "seconds_per_lesion_one_process": round(one / len(reference), 3),
        "goal_seconds_per_lesion": 0.3,
        "tables_equal_to_one_process": same,
        "pixel_spacing_sources": sources,
        "projected_real_cbis_ddsm_3568_lesions_minutes": {
            way: round(REAL_CBIS_LESIONS / (len(reference) / median(way, "seconds")) / 60, 1) for way in ways
        },
    }

    # 3. reproduce on the feature table
    if not args.skip_reproduce:
        rep = run([mammocad, "reproduce", str(outputs["one_process"]), "--out", str(work / "reproduce"),
                   "--split-column", "split", "--quiet"])  # fmt: skip
        result["reproduce"] = {"seconds": rep.seconds, "returncode": rep.returncode,
                               "report": str(work / "reproduce" / "report.html"),
                               "stderr_tail": rep.stderr_tail[-500:]}  # fmt: skip
        results_json = work / "reproduce" / "results.json"
        if results_json.is_file():
            summary = json.loads(results_json.read_text())
            result["reproduce"]["scenarios"] = {  # type: ignore[index]
                name: {m: round(v["test"]["auc"], 3) for m, v in s.get("models", {}).items()}
                for name, s in summary.get("scenarios", {}).items()
            }
    result["load_average_end"] = load_average()
    result["cpu_count"] = __import__("os").cpu_count()
    result["python"] = sys.version.split()[0]
    result["machine"] = platform.machine()
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("manifest", "features")}, indent=2)[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
