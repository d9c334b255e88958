"""Segmentation speed on one core: per-ROI segmentation and whole-image candidates.

Times, on 1024×1024 images (synthetic cases from :func:`mammocad.synth.make_case`,
and mini-MIAS films where ``MAMMOCAD_DATA`` is set):

- ``segment_calcifications`` + ``segment_mass`` in each lesion's ROI (per ROI);
- ``detect_candidates`` on the whole image, its breast region (``breast_region``:
  film, markers, pectoral muscle) included (per image).

Alongside, in the same run, a reference operation (a Gaussian filter, sigma 2, of a
1024×1024 float image) is timed so that results can be compared across machines
as ratios. BLAS/OpenMP pools are limited to one thread.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/segmentation_speed.py [--cases 8] [--repeat 3]

Writes ``benchmarks/results/segmentation_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from mammocad._fileio import atomic_write_text  # noqa: E402
from mammocad.io import ROI, read_mammogram  # noqa: E402
from mammocad.segment import detect_candidates, segment_calcifications, segment_mass  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _best_of(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _images(n_cases: int) -> list[tuple[str, np.ndarray, float, list[ROI]]]:
    from mammocad.synth import make_case

    out = []
    for k in range(n_cases):
        case = make_case(2000 + k, abnormality="both", pathology="benign" if k % 2 else "malignant")
        rois = [ROI(les.x, les.y, les.radius) for les in case.lesions]
        out.append((f"synth{2000 + k}", case.mammogram.pixels, float(case.mammogram.pixel_spacing_mm), rois))
    data = os.environ.get("MAMMOCAD_DATA")
    if data and (Path(data) / "mias" / "Info.txt").is_file():
        from mammocad.datasets import load_mias

        table = load_mias(Path(data) / "mias")
        table = table[np.isfinite(table["x"]) & table["abnormality"].isin(["calcification", "mass"])]
        for film, rows in list(table.groupby("image_path"))[:n_cases]:
            img = read_mammogram(film).pixels
            rois = [ROI(float(r.x), float(r.y), float(r.radius)) for r in rows.itertuples()]
            out.append((Path(film).stem, img, 0.2, rois))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=8, help="synthetic cases (and as many mini-MIAS films)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/segmentation_speed.json")
    args = parser.parse_args()

    with threadpool_limits(limits=1):
        ref_img = np.random.default_rng(0).random((1024, 1024))
        from scipy import ndimage as ndi

        reference_s = _best_of(lambda: ndi.gaussian_filter(ref_img, 2.0), args.repeat * 3)
        per_roi, per_calc, per_mass, per_image, rows = [], [], [], [], []
        for name, img, spacing, rois in _images(args.cases):
            for roi in rois:
                tc = _best_of(lambda: segment_calcifications(img, roi, pixel_spacing_mm=spacing), args.repeat)  # noqa: B023
                tm = _best_of(lambda: segment_mass(img, roi, pixel_spacing_mm=spacing), args.repeat)  # noqa: B023
                per_calc.append(tc)
                per_mass.append(tm)
                per_roi.append(tc + tm)
                rows.append({"image": name, "roi_radius_px": roi.radius, "calc_s": tc, "mass_s": tm})

            def whole() -> None:
                detect_candidates(img, pixel_spacing_mm=spacing)  # noqa: B023

            ti = _best_of(whole, args.repeat)
            per_image.append(ti)
            rows.append({"image": name, "candidates_s": ti, "shape": list(img.shape)})

    def stats(values: list[float]) -> dict:
        arr = np.asarray(values)
        return {
            "n": int(arr.size),
            "mean_s": float(arr.mean()),
            "median_s": float(np.median(arr)),
            "max_s": float(arr.max()),
            "mean_over_reference": float(arr.mean() / reference_s),
        }

    result = {
        "benchmark": "segmentation_speed",
        "command": f"OMP_NUM_THREADS=1 python benchmarks/segmentation_speed.py --cases {args.cases} --repeat {args.repeat}",
        "platform": platform.platform(),
        "processor": platform.processor(),
        "threads": 1,
        "reference": {
            "what": "scipy.ndimage.gaussian_filter(1024x1024 float64, sigma=2)",
            "seconds": reference_s,
        },
        "goals": {"per_roi_s": 0.2, "per_image_s": 2.0},
        "per_roi_both": stats(per_roi),
        "per_roi_calcifications": stats(per_calc),
        "per_roi_mass": stats(per_mass),
        "per_image_candidates": stats(per_image),
        "rows": rows,
    }
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
