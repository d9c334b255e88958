"""Tiny deterministic synthetic images with exact ground truth for the segmentation tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

SPACING = 0.2  # mm per pixel, as mini-MIAS


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # float64
    truth: np.ndarray  # int32 labels (calcifications) or bool mask (mass)


def tissue(shape: tuple[int, int], seed: int, noise: float = 2.0) -> np.ndarray:
    """Smooth 'tissue' background (grey ~100) with a little white noise."""
    rng = np.random.default_rng(seed)
    base = ndi.gaussian_filter(rng.normal(0, 1, shape), 12)
    base = 100.0 + 15.0 * base / (base.std() + 1e-12)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    base += 0.1 * xx  # a slow gradient the top-hat must remove
    return base + rng.normal(0, noise, shape)


def add_calcifications(
    image: np.ndarray, centres: list[tuple[int, int]], diameters_px: list[float], contrast: float = 40.0
) -> Scene:
    out = image.copy()
    truth = np.zeros(image.shape, dtype=np.int32)
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    for i, ((r, c), d) in enumerate(zip(centres, diameters_px, strict=True), start=1):
        disc = (yy - r) ** 2 + (xx - c) ** 2 <= (d / 2.0) ** 2
        truth[disc] = i
        out[disc] += contrast
    return Scene(out, truth)


def calc_scene() -> Scene:
    """160×160 tissue with six calcifications (0.6-1 mm) forming one cluster."""
    centres = [(70, 70), (75, 84), (86, 76), (64, 90), (90, 92), (80, 60)]
    diameters = [3, 4, 3, 5, 3.5, 4]
    return add_calcifications(tissue((160, 160), seed=1), centres, diameters)


def mass_scene(shape=(200, 200), centre=(100, 100), axes=(30, 22), seed=2, contrast=45.0) -> Scene:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    truth = ((yy - centre[0]) / axes[0]) ** 2 + ((xx - centre[1]) / axes[1]) ** 2 <= 1.0
    blob = ndi.gaussian_filter(truth.astype(float), 2.0) * contrast
    return Scene(tissue(shape, seed=seed) + blob, truth)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else 2.0 * float((a & b).sum()) / float(total)
