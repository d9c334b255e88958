"""End-to-end time per lesion of ``mammocad features``, this checkout against another, side by side.

The mini-MIAS calcifications and masses with coordinates (85 lesions on 77 films) are
written as a lesion table; then ``python -m mammocad.cli features LESIONS --out
NEW.parquet --quiet`` runs from scratch (read, normalise, segment, 41 features, write)
with this checkout's interpreter and with ``--before`` (e.g. another checkout's virtual
environment) at the same time, so that both see the same load, ``--repeat`` times. Wall
time and CPU time (user + system of each child) are recorded; on a shared machine the
CPU time is the steadier figure. The two feature tables are also compared value by
value.

    MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 \\
        python benchmarks/features_e2e.py --before ../main/.venv/bin/python

Writes benchmarks/results/features_e2e.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_pair(pythons: dict[str, str], lesions: Path, work: Path) -> dict[str, tuple[float, float]]:
    """Both checkouts' ``mammocad features`` at the same time: wall and CPU seconds of each.

    Running them together puts both under the same load from the rest of the machine.
    """
    started, procs = {}, {}
    for name, python in pythons.items():
        out = work / f"{name}.parquet"
        out.unlink(missing_ok=True)
        cmd = [python, "-m", "mammocad.cli", "features", str(lesions), "--out", str(out), "--quiet"]
        started[name] = time.perf_counter()
        procs[name] = subprocess.Popen(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"))
    by_pid = {p.pid: name for name, p in procs.items()}
    result = {}
    while by_pid:
        pid, status, usage = os.wait4(-1, 0)
        name = by_pid.pop(pid, None)
        if name is None:
            continue
        if status != 0:
            raise SystemExit(f"{name}: mammocad features failed (status {status})")
        procs[name].returncode = 0
        result[name] = (time.perf_counter() - started[name], usage.ru_utime + usage.ru_stime)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("MAMMOCAD_DATA", "../shared/data"))
    parser.add_argument("--before", required=True, help="python of the checkout to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import pandas as pd

    from mammocad._fileio import atomic_write_text
    from mammocad.datasets import load_mias, write_lesion_table
    from mammocad.features import FEATURE_NAMES

    work = Path(tempfile.mkdtemp(prefix="mammocad-features-e2e-"))
    lesions = load_mias(Path(args.data) / "mias", abnormalities=("calcification", "mass"), with_roi=True)
    table = work / "lesions.csv"
    write_lesion_table(lesions, table)
    pythons = {"before": args.before, "after": sys.executable}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in pythons}
    for _ in range(args.repeat):
        for name, (wall, cpu) in run_pair(pythons, table, work).items():
            times[name].append((wall, cpu))

    before = pd.read_parquet(work / "before.parquet").set_index("lesion_id").sort_index()
    after = pd.read_parquet(work / "after.parquet").set_index("lesion_id").sort_index()
    a, b = after[list(FEATURE_NAMES)].to_numpy(), before[list(FEATURE_NAMES)].to_numpy()
    n = len(lesions)
    summary = {
        "n_lesions": n,
        "n_images": int(lesions["image_path"].nunique()),
        **{
            name: {
                "wall_s": [round(w, 2) for w, _ in runs],
                "cpu_s": [round(c, 2) for _, c in runs],
                "wall_per_lesion_ms_median": round(1e3 * float(np.median([w for w, _ in runs])) / n, 1),
                "cpu_per_lesion_ms_median": round(1e3 * float(np.median([c for _, c in runs])) / n, 1),
            }
            for name, runs in times.items()
        },
        "values_identical": bool(list(after.index) == list(before.index) and np.array_equal(a, b)),
    }
    for k, key in enumerate(("wall", "cpu")):
        summary[f"{key}_after_over_before"] = round(
            float(np.median([x[k] for x in times["after"]]))
            / float(np.median([x[k] for x in times["before"]])),
            3,
        )
        summary[f"{key}_after_over_before_per_pair"] = [
            round(a[k] / b[k], 3) for a, b in zip(times["after"], times["before"], strict=True)
        ]
    report = {
        "benchmark": "features_e2e",
        "command": "MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/features_e2e.py "
        "--before ../main/.venv/bin/python",
        "goal": "no regression: after/before <= 1 (within noise) per lesion, same values",
        "summary": summary,
        "load_average_at_end": list(os.getloadavg()),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    atomic_write_text(
        ROOT / "benchmarks" / "results" / "features_e2e.json", json.dumps(report, indent=2) + "\n"
    )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
