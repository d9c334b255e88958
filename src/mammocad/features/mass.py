"""The 26 mass features: shape, intensity and GLCM texture of one mass.

Computed from a boolean mass mask (as made by :func:`mammocad.segment.segment_mass`)
and the grey values under and around it. Shape values equal scikit-image's
``regionprops`` of the mask taken as one region (perimeters are its 4-direction
Crofton estimate, the least orientation-dependent of its estimators), computed
without its per-region overhead; texture is
:mod:`mammocad.features.texture`. Definitions, formulas, units and invariances are
in :mod:`mammocad.features.registry`; an empty mask gives 0 for every feature.
"""

from __future__ import annotations

import math

import numpy as np

from mammocad.errors import FeatureError
from mammocad.features._shape import (
    boundary_pixels,
    check_finite,
    check_image,
    check_spacing,
    circularity,
    convex_area_of,
    crofton_perimeter,
    mask_hull,
    positive_bbox,
    radial_cv,
    unit_square_hull_perimeter,
    within_distance,
)
from mammocad.features.registry import MASS_FEATURES
from mammocad.features.texture import GLCM_FEATURES, GLCM_LEVELS, glcm_distance, glcm_features, quantise

__all__ = ["mass_features", "ring_width_px", "MIN_RING_WIDTH_PX"]

#: The surrounding ring is at least this wide (pixels).
MIN_RING_WIDTH_PX = 2.0


def ring_width_px(area_px: float) -> float:
    """Width of the ring of surrounding tissue: half the equivalent radius, at least 2 px."""
    return max(MIN_RING_WIDTH_PX, 0.5 * math.sqrt(area_px / math.pi))


def mass_features(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> dict[str, float]:
    """The 26 mass features of the region ``mask``.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey values (bright = dense), e.g. the 8-bit normalised mammogram.
    mask : bool ndarray, same shape
        The mass. Several connected components are measured together as one region.
    pixel_spacing_mm : float
        Pixel edge in millimetres.

    Returns
    -------
    dict
        ``{name: value}`` for the 26 names of
        :data:`~mammocad.features.registry.MASS_FEATURES`, in order. All 0 for an
        empty mask. Never NaN.

    Raises
    ------
    FeatureError
        If the shapes differ, the mask is not boolean (or 0/1), the spacing is not
        positive, or the grey values used are not finite.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:64, :64]
    >>> mask = (yy - 32) ** 2 + (xx - 32) ** 2 <= 15**2
    >>> image = np.where(mask, 180, 60).astype(np.uint8)
    >>> f = mass_features(image, mask, pixel_spacing_mm=0.2)
    >>> round(f["mass_axis_ratio"], 2), round(f["mass_grey_relativity"], 2)
    (1.0, 0.5)
    """
    image = check_image(image, mask, "mask")
    s = check_spacing(pixel_spacing_mm)
    mask = _as_bool(mask)
    box = positive_bbox(mask, 0)
    if box is None:
        return dict.fromkeys(MASS_FEATURES, 0.0)

    trs, tcs = box
    area = int(np.count_nonzero(mask[trs, tcs]))
    width = ring_width_px(area)
    # The ring needs the box grown by its width; everything else the mask's own box.
    margin = int(math.ceil(width)) + 1
    r0, c0 = max(trs.start - margin, 0), max(tcs.start - margin, 0)
    rs = slice(r0, min(trs.stop + margin, mask.shape[0]))
    cs = slice(c0, min(tcs.stop + margin, mask.shape[1]))
    inner = (slice(trs.start - r0, trs.stop - r0), slice(tcs.start - c0, tcs.stop - c0))
    m_ring = mask[rs, cs]
    img_ring = image[rs, cs]
    m = m_ring[inner]
    img = img_ring[inner]
    grey = img[m].astype(np.float64)
    check_finite(grey, "the mass")
    ring = within_distance(m_ring, width) & ~m_ring
    ring_grey = img_ring[ring].astype(np.float64)
    check_finite(ring_grey, "the ring around the mass")

    rr, cc = np.nonzero(m)
    if area > 1:  # np.cov(..., bias=True), step by step
        xy = np.empty((2, area))
        xy[0], xy[1] = rr, cc
        xy -= xy.mean(axis=1, keepdims=True)
        cov = np.dot(xy, xy.T) * (1.0 / area)
    else:
        cov = np.zeros((2, 2))
    small, big = np.linalg.eigvalsh(cov)
    small = max(float(small), 0.0)
    # Second-moment ellipse, as scikit-image's regionprops: axis = 4·sqrt(eigenvalue).
    major, minor = 4.0 * math.sqrt(big), 4.0 * math.sqrt(small)
    eccentricity = math.sqrt(1.0 - small / big) if big > 0 else 0.0
    perim = crofton_perimeter(m)
    boundary = boundary_pixels(m)
    hull = mask_hull(m)
    solidity = area / convex_area_of(hull)
    hull_perim = unit_square_hull_perimeter(hull)
    spiculation = radial_cv(m, boundary=boundary, centre=(float(rr.mean()), float(cc.mean())))

    mean_grey = float(grey.mean())
    max_grey = float(grey.max())
    # With no tissue around the mass (it fills the image) it is its own background.
    b = float(ring_grey.mean()) if ring_grey.size else mean_grey
    peak = max_grey - b
    volume = float(np.clip(grey - b, 0.0, None).sum() / (area * peak)) if peak > 0 else 0.0

    texture = glcm_features(quantise(img, m, GLCM_LEVELS), levels=GLCM_LEVELS, distance=glcm_distance(s))
    values = {
        "mass_area_mm2": area * s * s,
        "mass_perimeter_mm": perim * s,
        "mass_circularity": circularity(area, perim),
        "mass_solidity": solidity,
        "mass_elongation": eccentricity,
        "mass_axis_ratio": minor / major if major > 0 else 1.0,
        "mass_convexity": min(1.0, hull_perim / perim) if perim > 0 else 1.0,
        "mass_spiculation": spiculation,
        "mass_heterogeneity": float(grey.std() / mean_grey) if mean_grey > 0 else 0.0,
        "mass_volume_ratio": volume,
        "mass_mean_grey": mean_grey,
        "mass_max_grey": max_grey,
        "mass_grey_relativity": (mean_grey - b) / (mean_grey + b) if mean_grey + b != 0 else 0.0,
    }
    values.update({f"mass_glcm_{name}": texture[name] for name in GLCM_FEATURES})
    return {name: float(values[name]) for name in MASS_FEATURES}


def _as_bool(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return mask
    if mask.dtype.kind in "iuf":
        values = np.unique(mask)
        if np.all(np.isin(values, (0, 1))):
            return mask.astype(bool)
    raise FeatureError(f"mask must be boolean (or 0/1), got dtype {mask.dtype}")
