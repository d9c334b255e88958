"""Synthetic masses of known margin: spiculated or ill-defined against circumscribed.

``--per-class`` masses of each margin from :func:`mammocad.synth.make_case` (384 × 384 at
0.15 mm; benign cases give circumscribed masses, malignant ones spiculated or
ill-defined), each segmented in its ROI (:func:`segment_mass`) and measured with the
paper's 26 mass features and the 7 margin features. Protocol of ``margins_protocol.py``
(stratified 5-fold CV × 10; each case is its own group): circumscribed vs spiculated and
circumscribed vs ill-defined, for the 26, the 7, and both (the extended mass scenario).
Issue 14's goal: spiculated vs circumscribed separated with AUC ≥ 0.95.

    OMP_NUM_THREADS=1 python benchmarks/margins_synthetic.py

Writes benchmarks/results/margins_synthetic.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from margins_protocol import arguments, finish, margin_contrasts  # noqa: E402


def main() -> int:
    parser = arguments(__doc__, data=False)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1000, help="first case seed")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    from mammocad.features import mass_features
    from mammocad.features.margin import MARGIN_FEATURES
    from mammocad.io import ROI
    from mammocad.segment import segment_mass
    from mammocad.synth import make_case

    wanted = dict.fromkeys(("circumscribed", "spiculated", "ill-defined"), args.per_class)
    rows, seed = [], args.seed
    while any(wanted.values()):
        malignant_left = max(wanted["spiculated"], wanted["ill-defined"])
        pathology = "benign" if wanted["circumscribed"] >= malignant_left else "malignant"
        case = make_case(seed, abnormality="mass", pathology=pathology, size=384, pixel_spacing_mm=0.15)
        seed += 1
        (lesion,) = case.lesions
        if wanted[lesion.subtype] == 0:
            continue
        wanted[lesion.subtype] -= 1
        image, s = case.mammogram.pixels, case.mammogram.pixel_spacing_mm
        mask = segment_mass(image, ROI(lesion.x, lesion.y, lesion.radius), pixel_spacing_mm=s).mask
        row = {"seed": seed - 1, "margin": lesion.subtype}
        row.update(mass_features(image, mask, pixel_spacing_mm=s, feature_set="extended"))
        rows.append(row)
    table = pd.DataFrame(rows)
    results = margin_contrasts(table, "seed", repeats=args.repeats, single=list(MARGIN_FEATURES))
    report = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/margins_synthetic.py",
        "per_class": args.per_class,
        "seeds": [int(table["seed"].min()), int(table["seed"].max())],
        "results": results,
    }
    return finish("margins_synthetic", report)


if __name__ == "__main__":
    sys.exit(main())
