"""Shared helpers of the synth tests: a cache of small cases and mask rings."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mammocad.synth import SyntheticCase, make_case

SIZE = 512
SPACING = 0.1
EIGHT = np.ones((3, 3), dtype=bool)
KINDS = [(a, p) for a in ("calcification", "mass", "both") for p in ("benign", "malignant")]

_cache: dict[tuple, SyntheticCase] = {}


def case(seed: int, abnormality: str, pathology: str, **kw: object) -> SyntheticCase:
    key = (seed, abnormality, pathology, tuple(sorted(kw.items())))
    if key not in _cache:
        _cache[key] = make_case(
            seed, abnormality=abnormality, pathology=pathology, size=SIZE, pixel_spacing_mm=SPACING, **kw
        )
    return _cache[key]


def calcs_of(c: SyntheticCase):
    return [lesion for lesion in c.lesions if lesion.abnormality == "calcification"]


def ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    grown_in = ndi.binary_dilation(mask, EIGHT, iterations=inner)
    grown_out = ndi.binary_dilation(mask, EIGHT, iterations=outer)
    return grown_out & ~grown_in
