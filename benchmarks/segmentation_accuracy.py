"""Segmentation accuracy on synthetic ground truth and on mini-MIAS.

Synthetic part: ``--cases`` mammograms from :func:`mammocad.synth.make_case` with
``abnormality="both"`` (one calcification cluster and one mass each; pathologies
alternate benign / malignant), segmented in each lesion's own ROI.

- Calcifications, object matching by overlap: a ground-truth calcification is
  detected if a predicted object overlaps it; a predicted object overlapping no
  ground-truth calcification is a false positive. Sensitivity = detected / all,
  FP per ROI = false positives / ROIs; Dice of each detected calcification with
  the predicted object overlapping it most.
- Masses: Dice and symmetric Hausdorff distance of the mask (pixels and mm).

mini-MIAS part (``MAMMOCAD_DATA`` or ``--mias``): every CALC row with coordinates:
is a cluster found with its centre inside the annotated circle; every CIRC/SPIC/MISC
row: does the segmented mass's centre lie inside the annotated circle. Overlays of
three CALC and three mass cases go to ``docs/images/``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/segmentation_accuracy.py            # all
    python benchmarks/segmentation_accuracy.py --cases 20 --no-mias          # quick

Writes ``benchmarks/results/segmentation_accuracy.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from mammocad._fileio import atomic_path, atomic_write_text
from mammocad.io import ROI, read_mammogram
from mammocad.segment import MASS_METHODS, render_overlay, segment_calcifications, segment_mass

ROOT = Path(__file__).resolve().parents[1]
#: Other settings of segment_calcifications measured alongside the defaults: the rule-based
#: decision that the learned object scorer replaced, and the scorer's trade-off.
OPERATING_POINTS = {
    "rules": {"object_scorer": None},
    "rules_lenient": {"object_scorer": None, "k_high": 4.0, "k_support": 3.1},
    "scorer_0.3": {"min_object_score": 0.3},
    "scorer_0.6": {"min_object_score": 0.6},
    "scorer_0.8": {"min_object_score": 0.8},
}
#: mini-MIAS lesions whose overlays are written to docs/images (3 CALC, 3 masses).
SHOWN_MIAS = ("mdb209", "mdb213", "mdb219", "mdb028", "mdb012", "mdb023")


def calc_scores(truth: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, list[float]]:
    """(n truth objects, n detected, n false-positive objects, Dice of each detected one)."""
    n_truth = int(truth.max())
    detected, dices = 0, []
    for i in range(1, n_truth + 1):
        t = truth == i
        hits = pred[t]
        hits = hits[hits > 0]
        if hits.size == 0:
            continue
        detected += 1
        j = int(np.bincount(hits).argmax())
        p = pred == j
        dices.append(2.0 * float((t & p).sum()) / float(t.sum() + p.sum()))
    fp = 0
    for j in range(1, int(pred.max()) + 1):
        if not truth[pred == j].any():
            fp += 1
    return n_truth, detected, fp, dices


def mass_scores(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """(Dice, symmetric Hausdorff distance in pixels; inf when one mask is empty)."""
    from skimage.metrics import hausdorff_distance

    total = truth.sum() + pred.sum()
    dice = 2.0 * float((truth & pred).sum()) / float(total) if total else 1.0
    if not pred.any() or not truth.any():
        return dice, float("inf")
    return dice, float(hausdorff_distance(truth, pred))


def synthetic(n_cases: int, seed0: int, mass_methods: tuple[str, ...]) -> dict:
    from mammocad.synth import make_case

    totals = {"truth": 0, "detected": 0, "fp": 0, "rois": 0, "dice": []}
    by_path: dict[str, dict] = {}
    mass: dict[str, dict[str, list[float]]] = {
        m: {"dice": [], "hd_px": [], "hd_mm": []} for m in mass_methods
    }
    mass_by_path: dict[str, list[float]] = {}
    sweep: dict[str, dict] = {}
    timing = {"calc_s": [], **{f"mass_{m}_s": [] for m in mass_methods}}
    for k in range(n_cases):
        pathology = "benign" if k % 2 == 0 else "malignant"
        case = make_case(seed0 + k, abnormality="both", pathology=pathology)
        img = case.mammogram.pixels
        spacing = float(case.mammogram.pixel_spacing_mm)
        for lesion in case.lesions:
            roi = ROI(lesion.x, lesion.y, lesion.radius)
            if lesion.abnormality == "calcification":
                t0 = time.perf_counter()
                seg = segment_calcifications(img, roi, pixel_spacing_mm=spacing)
                timing["calc_s"].append(time.perf_counter() - t0)
                n_t, det, fp, dices = calc_scores(lesion.labels, seg.labels)
                for agg in (
                    totals,
                    by_path.setdefault(
                        pathology, {"truth": 0, "detected": 0, "fp": 0, "rois": 0, "dice": []}
                    ),
                ):
                    agg["truth"] += n_t
                    agg["detected"] += det
                    agg["fp"] += fp
                    agg["rois"] += 1
                    agg["dice"] += dices
                for name, params in OPERATING_POINTS.items():
                    alt = segment_calcifications(img, roi, pixel_spacing_mm=spacing, **params)
                    _, a_det, a_fp, _ = calc_scores(lesion.labels, alt.labels)
                    op = sweep.setdefault(name, {"params": params, "detected": 0, "fp": 0})
                    op["detected"] += a_det
                    op["fp"] += a_fp
            else:
                for method in mass_methods:
                    t0 = time.perf_counter()
                    seg = segment_mass(img, roi, pixel_spacing_mm=spacing, method=method)
                    timing[f"mass_{method}_s"].append(time.perf_counter() - t0)
                    dice, hd = mass_scores(lesion.mask, seg.mask)
                    mass[method]["dice"].append(dice)
                    mass[method]["hd_px"].append(hd)
                    mass[method]["hd_mm"].append(hd * spacing)
                    if method == mass_methods[0]:
                        mass_by_path.setdefault(f"{pathology}:{lesion.subtype}", []).append(dice)

    def calc_summary(agg: dict) -> dict:
        return {
            "rois": agg["rois"],
            "calcifications": agg["truth"],
            "sensitivity": agg["detected"] / max(agg["truth"], 1),
            "fp_per_roi": agg["fp"] / max(agg["rois"], 1),
            "dice_mean": float(np.mean(agg["dice"])) if agg["dice"] else None,
            "dice_median": float(np.median(agg["dice"])) if agg["dice"] else None,
        }

    def dist(values: list[float]) -> dict:
        arr = np.asarray(values, dtype=float)
        finite = arr[np.isfinite(arr)]
        return {
            "mean": float(finite.mean()) if finite.size else None,
            "median": float(np.median(arr)) if arr.size else None,
            "p90": float(np.percentile(arr, 90)) if arr.size else None,
            "n_infinite": int((~np.isfinite(arr)).sum()),
        }

    return {
        "cases": n_cases,
        "lesions": totals["rois"] + len(mass[mass_methods[0]]["dice"]),
        "calcification": {
            **calc_summary(totals),
            "by_pathology": {p: calc_summary(a) for p, a in by_path.items()},
        },
        "calcification_operating_points": {
            name: {
                "params": op["params"],
                "sensitivity": op["detected"] / max(totals["truth"], 1),
                "fp_per_roi": op["fp"] / max(totals["rois"], 1),
            }
            for name, op in sweep.items()
        },
        "mass": {
            m: {
                "rois": len(v["dice"]),
                "dice": dist(v["dice"]),
                "hausdorff_px": dist(v["hd_px"]),
                "hausdorff_mm": dist(v["hd_mm"]),
                "fraction_dice_ge_0.85": float(np.mean(np.asarray(v["dice"]) >= 0.85)),
            }
            for m, v in mass.items()
        },
        "mass_dice_by_subtype": {k: float(np.mean(v)) for k, v in sorted(mass_by_path.items())},
        "mean_time_s": {k: float(np.mean(v)) for k, v in timing.items() if v},
    }


def mias(directory: Path, images_out: Path | None) -> dict:
    from mammocad.datasets import load_mias

    table = load_mias(directory)
    table = table[np.isfinite(table["x"]) & np.isfinite(table["radius"])]
    calc_hits, calc_hits_5mm, mass_hits, mass_found, mass_fill = [], [], [], [], []
    figures = []
    for row in table.itertuples():
        if row.abnormality not in ("calcification", "mass"):
            continue
        mg = read_mammogram(row.image_path, pixel_spacing_mm=0.2)
        roi = ROI(float(row.x), float(row.y), float(row.radius))
        spacing = float(mg.pixel_spacing_mm)
        if row.abnormality == "calcification":
            seg = segment_calcifications(mg.pixels, roi, pixel_spacing_mm=spacing)
            hit = any(
                (c.centre[1] - roi.x) ** 2 + (c.centre[0] - roi.y) ** 2 <= roi.radius**2 for c in seg.clusters
            )
            calc_hits.append(hit)
            # Some annotated circles are tiny (radius 3 px = 0.6 mm): also search at least 5 mm.
            wide = ROI(roi.x, roi.y, max(roi.radius, 5.0 / spacing))
            wide_seg = segment_calcifications(mg.pixels, wide, pixel_spacing_mm=spacing)
            calc_hits_5mm.append(
                any(
                    (c.centre[1] - wide.x) ** 2 + (c.centre[0] - wide.y) ** 2 <= wide.radius**2
                    for c in wide_seg.clusters
                )
            )
            calcs, mass = seg, None
        else:
            mass = segment_mass(mg.pixels, roi, pixel_spacing_mm=spacing)
            centre = mass.centre
            hit = centre is not None and (centre[1] - roi.x) ** 2 + (centre[0] - roi.y) ** 2 <= roi.radius**2
            mass_hits.append(hit)
            mass_found.append(mass.found)
            mass_fill.append(mass.area_px / float(roi.mask(mg.shape).sum()))
            calcs = None
        if images_out is not None and row.lesion_id in SHOWN_MIAS:
            name = f"segment_mias_{row.lesion_id}_{row.abnormality}.png"
            _save_overlay(render_overlay(mg.pixels, roi, calcs, mass), images_out / name)
            path = images_out / name
            figures.append(str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path))
    return {
        "calc_rois": len(calc_hits),
        "calc_cluster_in_circle": float(np.mean(calc_hits)) if calc_hits else None,
        "calc_cluster_in_circle_min_5mm": float(np.mean(calc_hits_5mm)) if calc_hits_5mm else None,
        "mass_rois": len(mass_hits),
        "mass_centre_in_circle": float(np.mean(mass_hits)) if mass_hits else None,
        "mass_found": float(np.mean(mass_found)) if mass_found else None,
        "mass_area_over_circle_area_median": float(np.median(mass_fill)) if mass_fill else None,
        "figures": figures,
    }


def _save_overlay(rgb: np.ndarray, path: Path) -> None:
    from PIL import Image

    image = Image.fromarray(rgb).resize((rgb.shape[1] // 2, rgb.shape[0] // 2), Image.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=110, help="synthetic cases (2 lesions each)")
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first synthetic case")
    parser.add_argument("--methods", default=",".join(MASS_METHODS), help="mass methods to compare")
    parser.add_argument(
        "--mias", type=Path, default=None, help="mini-MIAS folder (default $MAMMOCAD_DATA/mias)"
    )
    parser.add_argument("--no-mias", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/segmentation_accuracy.json")
    args = parser.parse_args()

    started = time.perf_counter()
    result: dict = {
        "benchmark": "segmentation_accuracy",
        "command": "OMP_NUM_THREADS=1 python benchmarks/segmentation_accuracy.py "
        f"--cases {args.cases} --seed {args.seed}",
        "platform": platform.platform(),
        "goals": {"calc_sensitivity": 0.90, "calc_fp_per_roi": 1.0, "mass_dice": 0.85},
    }
    result["synthetic"] = synthetic(args.cases, args.seed, tuple(args.methods.split(",")))
    if not args.no_mias:
        folder = args.mias or (
            Path(os.environ["MAMMOCAD_DATA"]) / "mias" if os.environ.get("MAMMOCAD_DATA") else None
        )
        if folder is not None and (folder / "Info.txt").is_file():
            result["mias"] = mias(folder, ROOT / "docs/images")
        else:
            result["mias"] = "skipped: no mini-MIAS folder (set MAMMOCAD_DATA or --mias)"
    result["elapsed_s"] = time.perf_counter() - started
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
