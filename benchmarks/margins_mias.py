"""Margin features on mini-MIAS: issue 14's protocol on the real masses, and the combined scenario.

Every mini-MIAS lesion with coordinates is read, segmented in its annotated ROI and
measured with the extended feature set, as ``mammocad features --feature-set extended``
does: the paper's 41 features and the margin features (:mod:`mammocad.features.margin`). Then, with the
protocol of ``margins_protocol.py`` (patient-grouped stratified 5-fold CV × 10;
SVM, KNN8, LDA, logistic regression, and ``hgb`` where available; AUC with a
patient-bootstrap 95 % CI):

- **masses** (the 58 CIRC/SPIC/MISC rows), benign vs malignant, with the paper's 26
  mass features, the margin features alone, and both (the extended mass scenario);
  for scale, the radiologists' own margin class in Info.txt (CIRC = 0, SPIC/MISC = 1)
  as a score;
- the same feature sets against the radiologists' margin class (do the features see
  what the radiologists saw?);
- **combined** (every lesion), benign vs malignant: the paper's 41 features against
  the extended set (41 + margin features).

Also each margin feature's own AUC (both targets) and the share of segmented mass
contours lying where the old 90 %-of-radius cap was (0.87-0.93 × the ROI radius).

    MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/margins_mias.py

Writes benchmarks/results/margins_mias.json and docs/images/margins_mias_spic_misc.png (the
34 SPIC/MISC masses: ROI circle in cyan, segmented contour in red).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from margins_protocol import (  # noqa: E402
    arguments,
    available_models,
    bootstrap_auc_ci,
    compare_sets,
    contact_sheet,
    cross_validated,
    finish,
)

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "images" / "margins_mias_spic_misc.png"


def measure(data: Path) -> tuple[pd.DataFrame, float]:
    """One row per lesion: ids, label, margin class and the extended set (the 41 and the margin features).

    Each lesion is measured as ``mammocad features --feature-set extended`` measures it
    (:func:`mammocad.pipeline.measure_on_grid` on the analysis grid).
    """
    from mammocad.datasets import load_mias
    from mammocad.io import ROI, read_mammogram
    from mammocad.pipeline import analysis_grid, measure_on_grid

    lesions = load_mias(data / "mias", with_roi=True)
    rows = []
    on_old_cap = []
    tiles: list[tuple] = []
    for _, r in lesions.iterrows():
        mg = read_mammogram(r.image_path, pixel_spacing_mm=r.pixel_spacing_mm)
        grid = analysis_grid(mg)
        roi = ROI(r.x, r.y, r.radius).scaled(grid.scale / mg.scale)
        seg, features = measure_on_grid(grid, roi, feature_set="extended")
        row = {
            "lesion_id": r.lesion_id,
            "patient_id": r.patient_id,
            "abnormality": r.abnormality,
            "mias_class": r.mias_class,
            "label": int(r.pathology == "malignant"),
            "margin_class": int(r.mias_class in ("SPIC", "MISC")),
            **features,
        }
        contour = seg.mass_contour
        if r.abnormality == "mass" and seg.mass_found:
            d = np.hypot(contour[:, 0] - roi.y, contour[:, 1] - roi.x) / roi.radius
            on_old_cap.append(float(np.mean(np.abs(d - 0.9) <= 0.03)))
        if r.mias_class in ("SPIC", "MISC"):
            label = f"{r.lesion_id} {r.mias_class} {r.pathology[0].upper()}"
            tiles.append((grid.pixels, roi, [(contour, (255, 0, 0))], label, True))
        rows.append(row)
    contact_sheet(tiles, FIGURE, columns=8, tile=150)
    return pd.DataFrame(rows), float(np.mean(on_old_cap))


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    from mammocad.features import FEATURE_NAMES
    from mammocad.features.margin import MARGIN_FEATURES

    start = time.perf_counter()
    table, on_old_cap = measure(Path(args.data))
    elapsed = time.perf_counter() - start
    masses = table[table["abnormality"] == "mass"].reset_index(drop=True)
    groups = masses["patient_id"].to_numpy()
    results: dict[str, object] = {}
    for target in ("label", "margin_class"):
        y = masses[target].to_numpy()
        results[f"masses_{target}"] = compare_sets(
            masses, y, groups, repeats=args.repeats, single=list(MARGIN_FEATURES)
        )
    y = masses["label"].to_numpy()
    radiologists = masses["margin_class"].to_numpy(dtype=float)
    lo, hi = bootstrap_auc_ci(y, radiologists, groups)
    from sklearn.metrics import roc_auc_score

    results["masses_label"]["radiologists_margin_class"] = {  # type: ignore[index]
        "auc": round(float(roc_auc_score(y, radiologists)), 4),
        "ci95": [round(lo, 4), round(hi, 4)],
    }
    # The combined scenario: every lesion, the paper's 41 against 41 + margin features.
    y_all = table["label"].to_numpy()
    g_all = table["patient_id"].to_numpy()
    combined = {}
    for set_name, columns in (
        ("paper_41", list(FEATURE_NAMES)),
        (
            f"extended_{len(FEATURE_NAMES) + len(MARGIN_FEATURES)}",
            list(FEATURE_NAMES) + list(MARGIN_FEATURES),
        ),
    ):
        X = table[columns].to_numpy(dtype=float)
        combined[set_name] = {
            m: cross_validated(X, y_all, g_all, m, repeats=args.repeats) for m in available_models()
        }
    results["combined_label"] = combined

    report = {
        "command": "MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/margins_mias.py",
        "protocol": f"patient-grouped stratified 5-fold CV x {args.repeats}; AUC = mean over repeats; ci95 = patient "
        "bootstrap of the repeat-averaged out-of-fold score",
        "n_lesions": int(len(table)),
        "n_masses": int(len(masses)),
        "n_masses_malignant": int(masses["label"].sum()),
        "n_masses_spic_or_misc": int(masses["margin_class"].sum()),
        "mass_contour_share_on_old_cap": round(on_old_cap, 4),
        "results": results,
        "measure_seconds": round(elapsed, 1),
    }
    return finish("margins_mias", report, f"contour share on the old cap: {on_old_cap:.3f}; ")


if __name__ == "__main__":
    sys.exit(main())
