"""Write the README's example figures of synthetic mammograms into docs/images/.

    python docs/images/make_synth_figures.py

Deterministic: the same mammocad version writes the same PNGs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from mammocad.synth import SyntheticCase, SyntheticLesion, contact_sheet, make_case

HERE = Path(__file__).resolve().parent
TILE = 256


def crop(case: SyntheticCase, lesion: SyntheticLesion, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Image and mask crops of ``2 * half`` pixels centred on the lesion (zero-padded)."""
    y, x = int(round(lesion.y)), int(round(lesion.x))
    image = np.pad(case.mammogram.pixels, half)[y : y + 2 * half, x : x + 2 * half]
    mask = np.pad(lesion.mask, half)[y : y + 2 * half, x : x + 2 * half]
    return image, mask


def tile_pair(case: SyntheticCase, lesion: SyntheticLesion, half: int) -> np.ndarray:
    """The crop, and the crop with the ground-truth outline in red, side by side."""
    image, mask = crop(case, lesion, half)
    plain = Image.fromarray(image).resize((TILE, TILE), Image.Resampling.NEAREST).convert("RGB")
    big = (
        np.asarray(
            Image.fromarray(mask.astype(np.uint8) * 255).resize((TILE, TILE), Image.Resampling.NEAREST)
        )
        > 0
    )
    edge = big & ~ndi.binary_erosion(big, iterations=2)
    outlined = np.asarray(plain).copy()
    outlined[edge] = (255, 40, 40)
    return np.concatenate([np.asarray(plain), outlined], axis=1)


def find(abnormality: str, pathology: str, subtype: str, start: int = 0, **kw: object) -> SyntheticCase:
    """First case from seed ``start`` on whose first lesion has ``subtype``."""
    for seed in range(start, start + 100):
        case = make_case(seed, abnormality=abnormality, pathology=pathology, **kw)
        if case.lesions[0].subtype == subtype:
            return case
    raise RuntimeError(f"no {subtype} lesion in 100 seeds")


def main() -> None:
    overview = [
        make_case(1, abnormality="calcification", pathology="malignant", view="CC", density=0.4),
        make_case(2, abnormality="mass", pathology="benign", view="MLO", density=0.3),
        make_case(3, abnormality="both", pathology="malignant", view="MLO", density=0.7),
        make_case(4, abnormality="calcification", pathology="benign", view="CC", density=0.55),
    ]
    contact_sheet(overview, HERE / "synth_examples.png", columns=2, thumb=TILE)

    calc_rows = []
    for pathology, seed in (("benign", 5), ("malignant", 6)):
        case = make_case(seed, abnormality="calcification", pathology=pathology, density=0.45)
        calc_rows.append(tile_pair(case, case.lesions[0], half=64))
    Image.fromarray(np.concatenate(calc_rows, axis=0)).save(HERE / "synth_calcifications.png")

    mass_rows = []
    for pathology, subtype in (
        ("benign", "circumscribed"),
        ("malignant", "spiculated"),
        ("malignant", "ill-defined"),
    ):
        case = find("mass", pathology, subtype, start=10, density=0.35)
        lesion = case.lesions[0]
        mass_rows.append(tile_pair(case, lesion, half=int(lesion.radius * 1.3)))
    Image.fromarray(np.concatenate(mass_rows, axis=0)).save(HERE / "synth_masses.png")


if __name__ == "__main__":
    main()
