"""Speed of the 41 features against pyradiomics on the same ROIs, side by side in one run.

For every mini-MIAS lesion with coordinates, the image is normalised and its ROI
segmented once (not timed). Then, per lesion, best of ``--repeat`` runs:

- ``mammocad``: all 41 features as the pipeline measures them:
  ``lesion_features`` of the lesion's ``LesionSegmentation`` (its window of the
  image); also reported, the same 41 on the whole 1024-pixel image
  (``calcification_features`` + ``mass_features``, as mammocad 0.1 measured them);
- ``pyradiomics (classes)``: GLCM (binCount 32, force2D, symmetric, distance 1) and
  shape2D on the mass, plus shape2D on the calcification mask, calling the feature
  classes directly on a crop around the lesion (SimpleITK conversion included) —
  pyradiomics at its fastest;
- ``pyradiomics (extractor)``: the same through ``RadiomicsFeatureExtractor``, the
  way pyradiomics is usually run.

pyradiomics computes fewer things (one shape2D for all calcifications together, not
one per calcification). Lesions whose mass segmentation is empty are left out of
the comparison (pyradiomics refuses an empty mask). Also reported: end-to-end time
per lesion (normalise, segment, 41 features) with ``mammocad.pipeline.analyse_lesion``.

    MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/features_speed.py

Writes benchmarks/results/features_speed.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def best_of(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("MAMMOCAD_DATA", "../shared/data"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="first N lesions only")
    args = parser.parse_args()

    import SimpleITK as sitk
    from radiomics import featureextractor, glcm, shape2D

    from mammocad._fileio import atomic_write_text
    from mammocad.datasets import load_mias
    from mammocad.features import calcification_features, lesion_features, mass_features
    from mammocad.features._shape import positive_bbox
    from mammocad.features.mass import ring_width_px
    from mammocad.io import ROI, normalise, read_mammogram
    from mammocad.pipeline import analyse_lesion
    from mammocad.segment import segment_lesion

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    settings = {
        "binCount": 32,
        "force2D": True,
        "force2Ddimension": 0,
        "distances": [1],
        "symmetricalGLCM": True,
    }
    extractor = featureextractor.RadiomicsFeatureExtractor(**settings)
    extractor.disableAllFeatures()
    extractor.enableFeatureClassByName("glcm")
    extractor.enableFeatureClassByName("shape2D")

    lesions = load_mias(Path(args.data) / "mias")
    lesions = lesions[np.isfinite(lesions["radius"].to_numpy(dtype=float))].reset_index(drop=True)
    if args.limit:
        lesions = lesions.iloc[: args.limit]

    ours, full_grid, classes, extractor_t, end_to_end = [], [], [], [], []
    for row in lesions.itertuples():
        mg0 = read_mammogram(row.image_path, pixel_spacing_mm=row.pixel_spacing_mm)
        roi0 = ROI(row.x, row.y, row.radius)
        end_to_end.append(best_of(lambda mg0=mg0, roi0=roi0: analyse_lesion(mg0, roi0), 1))
        mg = normalise(mg0)
        roi = roi0.scaled(mg.scale)
        s = mg.pixel_spacing_mm
        image = mg.pixels
        seg = segment_lesion(image, roi, pixel_spacing_mm=s)
        calcs = seg.calcifications().labels
        mass = seg.mass().mask
        if not mass.any():
            continue

        def run_ours(seg=seg):
            lesion_features(seg)

        def run_full_grid(image=image, calcs=calcs, mass=mass, roi=roi, s=s):
            calcification_features(image, calcs, pixel_spacing_mm=s, roi=roi)
            mass_features(image, mass, pixel_spacing_mm=s)

        # The crop pyradiomics gets: the lesion's box plus the ring mammocad also looks at.
        union = mass | (calcs > 0)
        rs, cs = positive_bbox(union, int(np.ceil(ring_width_px(mass.sum()))) + 1)

        def to_sitk(a):
            return sitk.GetImageFromArray(np.ascontiguousarray(a[None]))

        def run_classes(image=image, calcs=calcs, mass=mass, rs=rs, cs=cs):
            img = to_sitk(image[rs, cs].astype(np.float64))
            m = to_sitk(mass[rs, cs].astype(np.uint8))
            for cls in (glcm.RadiomicsGLCM, shape2D.RadiomicsShape2D):
                ext = cls(img, m, **settings)
                ext.enableAllFeatures()
                ext.execute()
            c = calcs[rs, cs] > 0
            if c.any():
                ext = shape2D.RadiomicsShape2D(img, to_sitk(c.astype(np.uint8)), **settings)
                ext.enableAllFeatures()
                ext.execute()

        def run_extractor(image=image, calcs=calcs, mass=mass, rs=rs, cs=cs):
            img = to_sitk(image[rs, cs].astype(np.float64))
            extractor.execute(img, to_sitk(mass[rs, cs].astype(np.uint8)))
            c = calcs[rs, cs] > 0
            if c.any():
                try:
                    extractor.execute(img, to_sitk(c.astype(np.uint8)))
                except ValueError:  # it refuses masks of one pixel or one line
                    pass

        ours.append(best_of(run_ours, args.repeat))
        full_grid.append(best_of(run_full_grid, args.repeat))
        classes.append(best_of(run_classes, args.repeat))
        extractor_t.append(best_of(run_extractor, args.repeat))

    ours_a, cls_a, ext_a = np.array(ours), np.array(classes), np.array(extractor_t)
    summary = {
        "n_lesions_compared": len(ours),
        "mammocad_41_features_ms": {
            "median": float(np.median(ours_a) * 1e3),
            "mean": float(ours_a.mean() * 1e3),
        },
        "mammocad_41_features_whole_image_ms": {
            "median": float(np.median(full_grid) * 1e3),
            "mean": float(np.mean(full_grid) * 1e3),
        },
        "pyradiomics_classes_ms": {
            "median": float(np.median(cls_a) * 1e3),
            "mean": float(cls_a.mean() * 1e3),
        },
        "pyradiomics_extractor_ms": {
            "median": float(np.median(ext_a) * 1e3),
            "mean": float(ext_a.mean() * 1e3),
        },
        "speedup_vs_pyradiomics_classes": float(cls_a.sum() / ours_a.sum()),
        "speedup_vs_pyradiomics_extractor": float(ext_a.sum() / ours_a.sum()),
        "speedup_per_lesion_median_vs_classes": float(np.median(cls_a / ours_a)),
        "end_to_end_per_lesion_ms": {
            "n_lesions": len(end_to_end),
            "median": float(np.median(end_to_end) * 1e3),
            "mean": float(np.mean(end_to_end) * 1e3),
            "note": "analyse_lesion: normalise to 1024 + segment calcifications and mass + 41 features; one run each",
        },
    }
    report = {
        "benchmark": "features_speed",
        "command": "MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/features_speed.py",
        "goal": "mammocad >= 5x faster than pyradiomics on the same ROIs",
        "summary": summary,
        "repeat": args.repeat,
        "load_average_at_end": list(os.getloadavg()),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    path = ROOT / "benchmarks" / "results" / "features_speed.json"
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
