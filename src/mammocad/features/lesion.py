"""The features of one segmented lesion (the paper's 41, or the extended set).

:func:`lesion_features` measures a :class:`~mammocad.segment.LesionSegmentation`:
the 15 calcification features on its calcification labels and the 26 mass
features on its mass mask, both on the grey values of its window.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mammocad.errors import FeatureError
from mammocad.features.registry import calcification_features, feature_names, mass_features

if TYPE_CHECKING:
    from mammocad.segment.lesion import LesionSegmentation

__all__ = ["lesion_features"]


def lesion_features(segmentation: LesionSegmentation, *, feature_set: str = "paper") -> dict[str, float]:
    """All features of a feature set of a segmented lesion (the paper's 41 by default).

    Parameters
    ----------
    segmentation : LesionSegmentation
        From :func:`mammocad.segment.segment_lesion`. Its window holds the
        context the features look at, so the values equal those measured on the
        whole image.
    feature_set : {"paper", "extended"}
        The paper's 41, or those and the extended ones (:mod:`mammocad.features.registry`).

    Returns
    -------
    dict
        ``{name: value}`` for :func:`~mammocad.features.feature_names` of the set,
        in registry order; never NaN.

    Raises
    ------
    FeatureError
        If a feature is not finite (naming it).

    Examples
    --------
    >>> import numpy as np
    >>> from mammocad.io import ROI
    >>> from mammocad.segment import segment_lesion
    >>> yy, xx = np.mgrid[:200, :200]
    >>> image = 60.0 + 100.0 * ((yy - 100) ** 2 + (xx - 90) ** 2 < 20**2)
    >>> values = lesion_features(segment_lesion(image, ROI(90, 100, 35), pixel_spacing_mm=0.2))
    >>> true_area_mm2 = np.pi * (20 * 0.2) ** 2  # the disc drawn: radius 20 px of 0.2 mm
    >>> len(values), values["calc_count"], abs(values["mass_area_mm2"] / true_area_mm2 - 1) < 0.15
    (41, 0.0, True)
    """
    seg = segmentation
    spacing = seg.pixel_spacing_mm
    names = feature_names(feature_set)
    values = calcification_features(
        seg.image, seg.labels, pixel_spacing_mm=spacing, roi=seg.window_roi, feature_set=feature_set
    )
    values.update(mass_features(seg.image, seg.mass_mask, pixel_spacing_mm=spacing, feature_set=feature_set))
    bad = [name for name in names if not math.isfinite(values[name])]
    if bad:
        raise FeatureError(f"non-finite feature(s) {', '.join(bad)}")
    return {name: float(values[name]) for name in names}
