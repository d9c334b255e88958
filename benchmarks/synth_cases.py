"""Synthetic mammograms: generation time and how hard the drawn lesions are.

For ``--cases`` seeds and every (abnormality, pathology) pair, draws a 1024×1024
case at 0.1 mm/pixel with :func:`mammocad.synth.make_case` and measures

- time: CPU seconds per case (``time.process_time``, robust to a shared machine)
  and wall seconds, side by side with a reference job in the same run — writing
  and re-reading the case's own 8-bit PNG — so the ratio travels between machines;
- calcifications: objects per cluster, equivalent diameter (mm), and *local
  contrast*: mean grey level of each calcification minus that of a 2–4 pixel ring
  around it, and that difference over the ring's standard deviation (CNR);
- masses: mean grey level inside the mask minus a 0.5–3 mm ring outside it, and
  over the ring's standard deviation.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_cases.py            # 10 seeds × 6 kinds
    python benchmarks/synth_cases.py --cases 3                    # quick

Writes ``benchmarks/results/synth_cases.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from mammocad._fileio import atomic_write_text
from mammocad.synth import make_case

ROOT = Path(__file__).resolve().parents[1]
EIGHT = np.ones((3, 3), dtype=bool)


def ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    return ndi.binary_dilation(mask, EIGHT, iterations=outer) & ~ndi.binary_dilation(
        mask, EIGHT, iterations=inner
    )


def png_round_trip(pixels: np.ndarray) -> float:
    start = time.perf_counter()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=3)
    buffer.seek(0)
    with Image.open(buffer) as im:
        np.asarray(im)
    return time.perf_counter() - start


def summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "median": float(np.median(a)),
        "p5": float(np.percentile(a, 5)),
        "p95": float(np.percentile(a, 95)),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10, help="seeds per (abnormality, pathology)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "synth_cases.json")
    args = parser.parse_args()

    spacing = 0.1
    make_case(0, size=1024)  # warm-up: imports and FFT plans
    cpu, wall, reference = [], [], []
    calc: dict[str, dict[str, list[float]]] = {}
    mass: dict[str, dict[str, list[float]]] = {}
    for seed in range(args.cases):
        for abnormality in ("calcification", "mass", "both"):
            for pathology in ("benign", "malignant"):
                t_cpu, t_wall = time.process_time(), time.perf_counter()
                case = make_case(
                    1000 + seed,
                    abnormality=abnormality,
                    pathology=pathology,
                    size=1024,
                    pixel_spacing_mm=spacing,
                    view="MLO" if seed % 2 else "CC",
                )
                cpu.append(time.process_time() - t_cpu)
                wall.append(time.perf_counter() - t_wall)
                reference.append(png_round_trip(case.mammogram.pixels))
                px = case.mammogram.pixels.astype(float)
                for lesion in case.lesions:
                    if lesion.abnormality == "calcification":
                        stats = calc.setdefault(
                            pathology, {"count": [], "diameter_mm": [], "contrast": [], "cnr": []}
                        )
                        stats["count"].append(lesion.count)
                        for k in range(1, lesion.count + 1):
                            obj = lesion.labels == k
                            around = ring(obj, 2, 4) & ~lesion.mask
                            diff = px[obj].mean() - px[around].mean()
                            stats["diameter_mm"].append(2 * math.sqrt(obj.sum() / math.pi) * spacing)
                            stats["contrast"].append(diff)
                            stats["cnr"].append(diff / max(px[around].std(), 1e-6))
                    else:
                        key = f"{pathology}:{lesion.subtype}"
                        stats = mass.setdefault(key, {"radius_mm": [], "contrast": [], "cnr": []})
                        around = ring(lesion.mask, int(0.5 / spacing), int(3 / spacing)) & case.breast_mask
                        diff = px[lesion.mask].mean() - px[around].mean()
                        stats["radius_mm"].append(math.sqrt(lesion.mask.sum() / math.pi) * spacing)
                        stats["contrast"].append(diff)
                        stats["cnr"].append(diff / max(px[around].std(), 1e-6))

    result = {
        "benchmark": "synth_cases",
        "command": f"OMP_NUM_THREADS=1 python benchmarks/synth_cases.py --cases {args.cases}",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_1min": os.getloadavg()[0]},
        "image": {"size": 1024, "pixel_spacing_mm": spacing},
        "time": {
            "make_case_cpu_s": summary(cpu),
            "make_case_wall_s": summary(wall),
            "reference_png_round_trip_wall_s": summary(reference),
            "ratio_make_case_to_png_round_trip_wall": float(np.median(wall) / np.median(reference)),
        },
        "calcifications": {p: {k: summary(v) for k, v in s.items()} for p, s in sorted(calc.items())},
        "masses": {p: {k: summary(v) for k, v in s.items()} for p, s in sorted(mass.items())},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    t = result["time"]
    print(
        f"make_case 1024x1024: median {t['make_case_cpu_s']['median']:.2f} s CPU, "
        f"{t['make_case_wall_s']['median']:.2f} s wall "
        f"({t['ratio_make_case_to_png_round_trip_wall']:.1f}x a PNG write+read); wrote {args.out}"
    )


if __name__ == "__main__":
    main()
