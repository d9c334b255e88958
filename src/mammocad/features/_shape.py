"""Shape helpers shared by the calcification and mass features."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from mammocad.errors import FeatureError

# 4-connected structuring element: the boundary it leaves is 8-connected, one pixel thick.
_CROSS = ndi.generate_binary_structure(2, 1)


def check_spacing(pixel_spacing_mm: float | None) -> float:
    """Return the spacing as a float, or raise FeatureError if it is unusable."""
    try:
        s = float(pixel_spacing_mm)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FeatureError(
            f"pixel_spacing_mm must be a positive number of millimetres, got {pixel_spacing_mm!r}"
        ) from None
    if not (math.isfinite(s) and s > 0):
        raise FeatureError(f"pixel_spacing_mm must be a positive number of millimetres, got {pixel_spacing_mm!r}")
    return s


def check_image(image: np.ndarray, other: np.ndarray, other_name: str) -> np.ndarray:
    """Check ``image`` is 2-D, real and shaped like ``other``; return it as an array."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise FeatureError(f"image must be 2-D, got shape {image.shape}")
    if image.dtype.kind not in "uif":
        raise FeatureError(f"image must hold real grey values, got dtype {image.dtype}")
    if np.shape(other) != image.shape:
        raise FeatureError(f"{other_name} shape {np.shape(other)} differs from image shape {image.shape}")
    return image


def check_finite(values: np.ndarray, what: str) -> None:
    """Raise FeatureError if grey values that a feature uses are NaN or infinite."""
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise FeatureError(f"{what} contains NaN or infinite grey values")


def bbox_slices(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Bounding box of the True pixels of ``mask`` grown by ``margin``, clipped to the array."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1 = max(int(rows[0]) - margin, 0), min(int(rows[-1]) + margin + 1, mask.shape[0])
    c0, c1 = max(int(cols[0]) - margin, 0), min(int(cols[-1]) + margin + 1, mask.shape[1])
    return slice(r0, r1), slice(c0, c1)


def circularity(area: float, perimeter: float) -> float:
    """``min(1, 4πA/P²)``; 1 for a zero perimeter (a single pixel)."""
    if perimeter <= 0:
        return 1.0
    return float(min(1.0, 4.0 * math.pi * area / perimeter**2))


def radial_cv(region: np.ndarray) -> float:
    """Normalised radial-length deviation: std/mean of centroid-to-boundary distances.

    ``region`` is a boolean image of one object; boundary pixels are those with a
    4-neighbour outside it. 0 when all boundary pixels coincide with the centroid.
    """
    rr, cc = np.nonzero(region)
    if rr.size == 0:
        return 0.0
    cy, cx = rr.mean(), cc.mean()
    padded = np.pad(region, 1)
    boundary = padded & ~ndi.binary_erosion(padded, structure=_CROSS)
    br, bc = np.nonzero(boundary[1:-1, 1:-1])
    d = np.hypot(br - cy, bc - cx)
    mean = float(d.mean())
    if mean <= 0:
        return 0.0
    return float(d.std() / mean)
