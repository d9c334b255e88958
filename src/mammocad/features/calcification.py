"""The 15 microcalcification features of a cluster.

Computed from a label image (one positive label per calcification, as made by
:func:`mammocad.segment.segment_calcifications`) and the grey values under it.
Definitions, formulas, units and invariances are in
:mod:`mammocad.features.registry`; an ROI with no calcification gives 0 for every
feature.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from mammocad.errors import FeatureError
from mammocad.features._shape import (
    check_finite,
    check_image,
    check_spacing,
    crofton_perimeters,
    median,
    moments,
    positive_bbox,
    radial_cvs,
    row_hulls,
    unit_square_hull_areas,
    unit_square_hull_mask,
)
from mammocad.features.registry import CALCIFICATION_FEATURES
from mammocad.io import ROI

__all__ = [
    "calcification_features",
    "CIRCULAR_THRESHOLD",
    "PUNCTATE_DIAMETER_MM",
    "LINEAR_AXIS_RATIO",
]

#: A calcification with circularity at least this is "circular".
CIRCULAR_THRESHOLD = 0.8
#: A calcification with equivalent diameter below this (mm) is sandy / punctate.
PUNCTATE_DIAMETER_MM = 0.5
#: A calcification with minor/major axis ratio at most this is linear.
LINEAR_AXIS_RATIO = 1.0 / 3.0
# Variance of a uniform unit square along an axis: makes the axes of tiny objects finite.
_PIXEL_VARIANCE = 1.0 / 12.0
# Grey values around the calcifications used as background when no ROI is given.
_BACKGROUND_MARGIN_PX = 5


def calcification_features(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    pixel_spacing_mm: float,
    roi: ROI | None = None,
) -> dict[str, float]:
    """The 15 microcalcification features of the calcifications in ``labels``.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey values (bright = dense), e.g. the 8-bit normalised mammogram.
    labels : int or bool ndarray, same shape
        0 = background, one positive label per calcification. A boolean mask is
        split into 8-connected calcifications.
    pixel_spacing_mm : float
        Pixel edge in millimetres.
    roi : ROI, optional
        The cluster's region of interest; the background grey ``b`` is the median
        of the ROI disc outside the calcifications. Without it, ``b`` is taken in
        the calcifications' bounding box grown by 5 pixels.

    Returns
    -------
    dict
        ``{name: value}`` for the 15 names of
        :data:`~mammocad.features.registry.CALCIFICATION_FEATURES`, in order. All 0
        when there is no calcification. Never NaN.

    Raises
    ------
    FeatureError
        If the shapes differ, the spacing is not positive, or the grey values used
        are not finite.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20)); labels = np.zeros((20, 20), int)
    >>> labels[5:7, 5:7] = 1; labels[12:14, 10:13] = 2; image[labels > 0] = 200
    >>> f = calcification_features(image, labels, pixel_spacing_mm=0.1)
    >>> f["calc_count"], round(f["calc_mean_area_mm2"], 3)
    (2.0, 0.05)
    """
    image = check_image(image, labels, "labels")
    s = check_spacing(pixel_spacing_mm)
    labels = np.asarray(labels)
    if labels.dtype == np.bool_:
        labels = ndi.label(labels, structure=np.ones((3, 3), dtype=bool))[0]
    elif labels.dtype.kind not in "iu":
        raise FeatureError(
            f"labels must be an integer label image or a boolean mask, got dtype {labels.dtype}"
        )
    box = positive_bbox(labels, _BACKGROUND_MARGIN_PX)
    if box is None:
        return dict.fromkeys(CALCIFICATION_FEATURES, 0.0)

    rs, cs = box
    img = image[rs, cs]
    # Relabel 1 … n in increasing order of the original labels.
    lab0 = labels[rs, cs]
    top = int(lab0.max())
    if top <= 4 * lab0.size + 1024:  # labels present, by counting
        present = np.flatnonzero(np.bincount(np.clip(lab0, 0, None).ravel(), minlength=top + 1)[1:]) + 1
    else:
        present = np.unique(lab0)
        present = present[present > 0]
    n = int(present.size)
    if n == int(present[-1]) and present[0] == 1:  # already 1 … n
        lab = np.clip(lab0, 0, None).astype(np.int32)
    else:
        lab = np.searchsorted(np.concatenate(([0], present)), lab0).astype(np.int32)
    calc_crop = lab > 0
    grey = img[calc_crop].astype(np.float64)
    check_finite(grey, "the calcifications")
    mean_grey = float(grey.mean())
    background = _background(image, labels, roi, img, calc_crop)
    if background is None:
        # The calcifications cover every pixel: they are their own background.
        background = mean_grey

    rr, cc = np.nonzero(calc_crop)
    k = lab[rr, cc] - 1
    areas, centroids, big, small = moments(rr, cc, k, n)
    diameters_mm = 2.0 * np.sqrt(areas / math.pi) * s
    perimeters = crofton_perimeters(lab, n)
    # circularity() of each: min(1, 4πA/P²), 1 for a zero perimeter
    with np.errstate(divide="ignore", invalid="ignore"):
        circ = np.where(perimeters > 0, np.minimum(1.0, 4.0 * math.pi * areas / perimeters**2), 1.0)
    # Axes of the pixels taken as unit squares: one- and two-pixel objects get finite axes.
    axis_ratio = np.sqrt((small + _PIXEL_VARIANCE) / (big + _PIXEL_VARIANCE))
    spiculation = radial_cvs(lab, centroids, n)
    # Solidity against the hull of the pixels as unit squares (one pixel: its own hull).
    solidity = areas / unit_square_hull_areas(rr, cc, k, n)

    hull = unit_square_hull_mask(row_hulls(rr, cc)[0], calc_crop.shape) | calc_crop
    check_finite(img[hull], "the calcification cluster")
    excess = np.clip(img.astype(np.float64) - background, 0.0, None)
    hull_excess = float(excess[hull].sum())
    spread = np.sqrt(np.mean(np.sum((centroids - centroids.mean(axis=0)) ** 2, axis=1)))

    values = {
        "calc_count": float(n),
        "calc_mean_diameter_mm": float(diameters_mm.mean()),
        "calc_mean_area_mm2": float(areas.mean() * s * s),
        "calc_density_per_cm2": float(n / (hull.sum() * s * s / 100.0)),
        "calc_mean_circularity": float(circ.mean()),
        "calc_circular_proportion": float(np.mean(circ >= CIRCULAR_THRESHOLD)),
        "calc_mean_solidity": float(solidity.mean()),
        "calc_punctate_proportion": float(np.mean(diameters_mm < PUNCTATE_DIAMETER_MM)),
        "calc_linear_proportion": float(np.mean(axis_ratio <= LINEAR_AXIS_RATIO)),
        "calc_mean_spiculation": float(spiculation.mean()),
        "calc_volume_ratio": float(excess[calc_crop].sum() / hull_excess) if hull_excess > 0 else 0.0,
        "calc_mean_grey": mean_grey,
        "calc_cluster_spread_mm": float(spread * s),
        "calc_area_cv": float(areas.std() / areas.mean()) if n > 1 else 0.0,
        "calc_contrast": mean_grey - background,
    }
    return {name: values[name] for name in CALCIFICATION_FEATURES}


def _background(
    image: np.ndarray, labels: np.ndarray, roi: ROI | None, img_crop: np.ndarray, calc_crop: np.ndarray
) -> float | None:
    """Median grey of the ROI disc (else the grown bounding box) outside the calcifications."""
    if roi is not None:
        rs, cs = roi.bbox(image.shape)
        yy, xx = np.ogrid[rs, cs]
        disc = ((xx - roi.x) ** 2 + (yy - roi.y) ** 2 <= roi.radius**2) & ~(labels[rs, cs] > 0)
        values = image[rs, cs][disc]
    else:
        values = img_crop[~calc_crop]
    if values.size == 0:
        return None
    check_finite(values, "the background around the calcifications")
    return median(values)
