"""Masses of known margin inserted into real normal mini-MIAS films: do the features see the margin?

``--pairs`` times, a normal (NORM) mini-MIAS film, a place well inside its breast, a
core radius (4-9 mm) and a contrast (12-24 grey levels) are drawn; at that place one
mass of each margin is inserted into its own copy of the film: **circumscribed**
(smooth oval, sharp edge), **spiculated** (the same core with 8-16 clearly visible
spicules radiating from it) and **ill-defined** (the core blurred by 0.7-1.5 mm). Masses are drawn by the
synthetic generator's own :func:`mammocad.synth.lesions.draw_mass` and composed as
it composes a case: the tissue under a mass is blended towards its local mean (a
mass is a compact density) before its grey levels are added. The ROI is the mass's
enclosing circle grown by 15 %, as an annotator would draw it. Each mass is segmented (:func:`segment_mass`) and measured:
the paper's 26 mass features and the margin features.

Reported, with the protocol of ``margins_protocol.py`` (insertion site = group, so
the three masses of a site never fall in different folds): circumscribed vs
spiculated and circumscribed vs ill-defined, for the 26 mass features, the margin
features and both; each feature's own AUC; and Dice of the segmentation against the
inserted mask. A contact sheet of the first sites goes to docs/images/.

    MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/margins_inserted.py

Writes benchmarks/results/margins_inserted.json and docs/images/margins_inserted.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from margins_protocol import arguments, contact_sheet, finish, margin_contrasts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARGINS = ("circumscribed", "spiculated", "ill-defined")
SPACING = 0.2  # mini-MIAS, mm per pixel


def insert(film: np.ndarray, mass) -> tuple[np.ndarray, np.ndarray]:
    """The film with the mass drawn into it (uint8), as the generator composes a case."""
    from mammocad.synth.lesions import blend_under

    img = film.astype(np.float32)
    blend_under(img, mass)
    img += mass.drawn
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mass.labels > 0


def sites(data: Path, n: int, seed: int):
    """(film name, film, centre, radius_px, contrast) for ``n`` insertion sites."""
    from scipy import ndimage as ndi

    from mammocad.datasets import read_mias_info
    from mammocad.io import read_mammogram
    from mammocad.segment import breast_mask

    info = read_mias_info(data / "mias" / "Info.txt")
    normals = sorted(set(info.loc[info["mias_class"] == "NORM", "film"]))
    rng = np.random.default_rng(seed)
    out = []
    films = rng.permutation(normals)
    px_per_mm = 1 / SPACING
    for film in films:
        if len(out) == n:
            break
        pixels = read_mammogram(data / "mias" / f"{film}.png", pixel_spacing_mm=SPACING).pixels
        breast = breast_mask(pixels, remove_pectoral=True)
        radius = rng.uniform(4.0, 9.0) * px_per_mm
        depth = ndi.distance_transform_edt(np.pad(breast, 1))[1:-1, 1:-1]  # the film edge is not tissue
        ok = np.argwhere(depth > 3.2 * radius + 5 * px_per_mm)
        if len(ok) == 0:
            continue
        cy, cx = ok[rng.integers(len(ok))]
        out.append((film, pixels, (float(cy), float(cx)), float(radius), float(rng.uniform(12, 24))))
    return out, rng


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument(
        "--pairs", type=int, default=20, help="insertion sites (one mass of each margin each)"
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    from mammocad.features import MASS_FEATURES, mass_features
    from mammocad.features.margin import MARGIN_FEATURES, margin_features
    from mammocad.io import ROI
    from mammocad.segment import mask_contour, segment_mass
    from mammocad.synth.lesions import MassCore, draw_mass

    start = time.perf_counter()
    chosen, rng = sites(Path(args.data), args.pairs, args.seed)
    rows, examples = [], []
    for k, (film, pixels, centre, radius, contrast) in enumerate(chosen):
        # One smooth core per site: the three masses differ only in their margin.
        core = MassCore.draw(rng, "circumscribed")
        for margin in MARGINS:
            mass = draw_mass(
                rng, pixels.shape, centre, radius, margin, px_per_mm=1 / SPACING, contrast=contrast, core=core
            )
            if mass is None:
                raise SystemExit(f"error: could not draw a {margin} mass at site {k}")
            img, truth = insert(pixels, mass)
            rr, cc = np.nonzero(truth)
            cy, cx = 0.5 * (rr.min() + rr.max()), 0.5 * (cc.min() + cc.max())
            enclosing = float(np.hypot(rr - cy, cc - cx).max()) + 0.7
            roi = ROI(cx, cy, 1.15 * enclosing)
            seg = segment_mass(img, roi, pixel_spacing_mm=SPACING)
            dice = 2 * float((seg.mask & truth).sum()) / float(seg.mask.sum() + truth.sum())
            row = {
                "site": k,
                "film": film,
                "margin": margin,
                "radius_mm": radius * SPACING,
                "contrast": contrast,
                "dice": dice,
            }
            row.update(mass_features(img, seg.mask, pixel_spacing_mm=SPACING))
            row.update(margin_features(img, seg.mask, pixel_spacing_mm=SPACING))
            rows.append(row)
            if k < 4:
                examples.append((img, roi, mask_contour(truth), seg.contour, margin))
    table = pd.DataFrame(rows)
    elapsed = time.perf_counter() - start

    results = margin_contrasts(
        table, "site", repeats=args.repeats, single=list(MASS_FEATURES) + list(MARGIN_FEATURES)
    )
    figure = ROOT / "docs" / "images" / "margins_inserted.png"
    truth_and_contour = [
        (img, roi, [(truth, (0, 255, 0)), (contour, (255, 0, 0))], label, False)
        for img, roi, truth, contour, label in examples
    ]
    contact_sheet(truth_and_contour, figure, columns=len(MARGINS))
    plain = [(img, roi, [], label, False) for img, roi, _, _, label in examples]
    contact_sheet(plain, figure.with_name("margins_inserted_plain.png"), columns=len(MARGINS))
    report = {
        "command": "MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/margins_inserted.py",
        "sites": int(len(chosen)),
        "seed": args.seed,
        "dice_by_margin": {
            m: round(float(table.loc[table["margin"] == m, "dice"].mean()), 4) for m in MARGINS
        },
        "results": results,
        "figure": str(figure.relative_to(ROOT)),
        "seconds": round(elapsed, 1),
    }
    return finish("margins_inserted", report, f"Dice by margin: {report['dice_by_margin']}; {figure}; ")


if __name__ == "__main__":
    sys.exit(main())
