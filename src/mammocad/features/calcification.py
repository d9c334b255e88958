"""The 15 microcalcification features of a cluster, one function each.

Every feature is a function of :class:`Calcifications`: the calcifications of one
ROI (a label image, one positive label per calcification, as made by
:func:`mammocad.segment.segment_calcifications`) and the grey values under them,
with the quantities several features share computed once. Compute them all with
:func:`mammocad.features.calcification_features`; an ROI with no calcification
gives each feature's empty value (0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
)
from mammocad.features.spec import GAIN, GEOMETRIC, cached, feature
from mammocad.io import ROI
from mammocad.segment._hull import cluster_hull, unit_square_hull_areas

__all__ = [
    "Calcifications",
    "CIRCULAR_THRESHOLD",
    "PUNCTATE_DIAMETER_MM",
    "LINEAR_AXIS_RATIO",
    "BACKGROUND_MARGIN_PX",
]

#: A calcification with circularity at least this is "circular".
CIRCULAR_THRESHOLD = 0.8
#: A calcification with equivalent diameter below this (mm) is sandy / punctate.
PUNCTATE_DIAMETER_MM = 0.5
#: A calcification with minor/major axis ratio at most this is linear.
LINEAR_AXIS_RATIO = 1.0 / 3.0
#: Without an ROI, the background is taken in the calcifications' bounding box grown by this (pixels).
BACKGROUND_MARGIN_PX = 5
# Variance of a uniform unit square along an axis: makes the axes of tiny objects finite.
_PIXEL_VARIANCE = 1.0 / 12.0


@dataclass(frozen=True, eq=False)
class Calcifications:
    """The calcifications of one ROI, ready to be measured (made by :meth:`measure`).

    Arrays cover the calcifications' bounding box grown by
    :data:`BACKGROUND_MARGIN_PX`; per-calcification arrays are indexed ``0 … n-1``
    in increasing order of the original labels. Shared quantities are computed on
    first use and kept.

    Parameters
    ----------
    image : ndarray
        Grey values ``I`` of the crop.
    labels : ndarray of int32
        The calcifications relabelled ``1 … n`` (0 elsewhere).
    mask : ndarray of bool
        All calcification pixels (``labels > 0``).
    n : int
        Number of calcifications (≥ 1).
    pixel_spacing_mm : float
        ``s``.
    mean_grey : float
        Mean grey value of the calcification pixels.
    background : float
        ``b``: median grey of the ROI disc outside the calcifications (without an
        ROI, of the crop outside them); ``mean_grey`` when there is no such pixel.
    """

    image: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    n: int
    pixel_spacing_mm: float
    mean_grey: float
    background: float

    @classmethod
    def measure(
        cls, image: np.ndarray, labels: np.ndarray, *, pixel_spacing_mm: float, roi: ROI | None = None
    ) -> Calcifications | None:
        """Check the input and crop it to the calcifications; None if there is none.

        Parameters are those of :func:`mammocad.features.calcification_features`.

        Raises
        ------
        FeatureError
            If the shapes differ, the labels are neither integer nor boolean, the
            spacing is not positive, or the grey values used are not finite.
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
        box = positive_bbox(labels, BACKGROUND_MARGIN_PX)
        if box is None:
            return None
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
        calc = lab > 0
        grey = img[calc].astype(np.float64)
        check_finite(grey, "the calcifications")
        mean_grey = float(grey.mean())
        background = _background(image, labels, roi, img, calc)
        if background is None:
            # The calcifications cover every pixel: they are their own background.
            background = mean_grey
        return cls(img, lab, calc, n, s, mean_grey, background)

    @cached
    def pixels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and calcification index ``0 … n-1`` of every calcification pixel."""
        rr, cc = np.nonzero(self.mask)
        return rr, cc, self.labels[rr, cc] - 1

    @cached
    def _moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rr, cc, k = self.pixels
        return moments(rr, cc, k, self.n)

    @property
    def areas(self) -> np.ndarray:
        """``A_i``: pixel count of each calcification."""
        return self._moments[0]

    @property
    def centroids(self) -> np.ndarray:
        """``c_i``: (row, col) centroid of each calcification, shape (n, 2)."""
        return self._moments[1]

    @property
    def axis_variances(self) -> tuple[np.ndarray, np.ndarray]:
        """Variance of each calcification's pixel centres along its major and minor axis (pixels²)."""
        return self._moments[2], self._moments[3]

    @cached
    def diameters_mm(self) -> np.ndarray:
        """Equivalent-circle diameter ``2·sqrt(A_i/π)·s`` of each calcification."""
        return 2.0 * np.sqrt(self.areas / math.pi) * self.pixel_spacing_mm

    @cached
    def circularity(self) -> np.ndarray:
        """``min(1, 4π·A_i/P_i²)`` of each calcification (1 for a zero perimeter), ``P_i`` the
        4-direction Crofton perimeter (scikit-image's ``perimeter_crofton``)."""
        perimeters = crofton_perimeters(self.labels, self.n)
        drawn = perimeters > 0
        safe = np.where(drawn, perimeters, 1.0)
        return np.where(drawn, np.minimum(1.0, 4.0 * math.pi * self.areas / safe**2), 1.0)

    @cached
    def hull(self) -> np.ndarray:
        """``H``: the cluster hull of all calcification pixels
        (:func:`mammocad.segment._hull.cluster_hull`)."""
        rr, cc, _ = self.pixels
        hull = cluster_hull(self.mask, pixels=(rr, cc))
        check_finite(self.image[hull], "the calcification cluster")
        return hull


def _background(
    image: np.ndarray, labels: np.ndarray, roi: ROI | None, img_crop: np.ndarray, calc_crop: np.ndarray
) -> float | None:
    """Median grey of the ROI disc (else the grown bounding box) outside the calcifications."""
    if roi is not None:
        rs, cs = roi.bbox(image.shape)
        yy = np.arange(rs.start, rs.stop)[:, None]
        xx = np.arange(cs.start, cs.stop)[None, :]
        disc = ((xx - roi.x) ** 2 + (yy - roi.y) ** 2 <= roi.radius**2) & ~(labels[rs, cs] > 0)
        values = image[rs, cs][disc]
    else:
        values = img_crop[~calc_crop]
    if values.size == 0:
        return None
    check_finite(values, "the background around the calcifications")
    return median(values)


_GEO_GAIN = GEOMETRIC + GAIN


@feature(category="shape", unit="count", invariances=_GEO_GAIN)
def calc_count(c: Calcifications) -> float:
    """Number of calcifications segmented in the ROI.

    Formula: ``n``
    """
    return float(c.n)


@feature(category="shape", unit="mm", invariances=_GEO_GAIN)
def calc_mean_diameter_mm(c: Calcifications) -> float:
    """Mean equivalent-circle diameter of the calcifications.

    Formula: ``mean_i 2·sqrt(A_i/π)·s``
    """
    return float(c.diameters_mm.mean())


@feature(category="morphology", unit="mm²", invariances=_GEO_GAIN)
def calc_mean_area_mm2(c: Calcifications) -> float:
    """Mean area of one calcification (the mean, not the total).

    Formula: ``mean_i A_i·s²``
    """
    s = c.pixel_spacing_mm
    return float(c.areas.mean() * s * s)


@feature(category="morphology", unit="1/cm²", invariances=_GEO_GAIN)
def calc_density_per_cm2(c: Calcifications) -> float:
    """Calcifications per cm² of the cluster's convex hull.

    Formula: ``n / (area(H)·s²/100)``
    """
    s = c.pixel_spacing_mm
    return float(c.n / (c.hull.sum() * s * s / 100.0))


@feature(category="shape", unit="unitless", invariances=_GEO_GAIN)
def calc_mean_circularity(c: Calcifications) -> float:
    """Mean circularity (1 for a disc; perimeters by the 4-direction Crofton estimate), capped at 1.

    Formula: ``mean_i min(1, 4π·A_i/P_i²)``
    """
    return float(c.circularity.mean())


@feature(category="shape", unit="unitless", invariances=_GEO_GAIN)
def calc_circular_proportion(c: Calcifications) -> float:
    """Fraction of calcifications with circularity ≥ $CIRCULAR_THRESHOLD.

    Formula: ``#{i: circ_i ≥ $CIRCULAR_THRESHOLD} / n``
    """
    return float(np.mean(c.circularity >= CIRCULAR_THRESHOLD))


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def calc_mean_solidity(c: Calcifications) -> float:
    """Mean solidity of the calcifications: area over the area of the convex hull of their pixels
    taken as unit squares.

    Formula: ``mean_i A_i / A_hull,i``
    """
    # One pixel is its own hull; the hull of squares has an area for every shape.
    return float((c.areas / unit_square_hull_areas(*c.pixels, c.n)).mean())


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def calc_punctate_proportion(c: Calcifications) -> float:
    """Fraction of sandy (punctate) calcifications: equivalent diameter < $PUNCTATE_DIAMETER_MM mm.

    Formula: ``#{i: 2·sqrt(A_i/π)·s < $PUNCTATE_DIAMETER_MM} / n``
    """
    return float(np.mean(c.diameters_mm < PUNCTATE_DIAMETER_MM))


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def calc_linear_proportion(c: Calcifications) -> float:
    """Fraction of linear calcifications: minor/major axis ratio ≤ $LINEAR_AXIS_RATIO (axes from second
    moments of the pixels taken as unit squares, so one- and two-pixel objects have finite axes).

    Formula: ``#{i: b_i/a_i ≤ $LINEAR_AXIS_RATIO} / n``
    """
    big, small = c.axis_variances
    axis_ratio = np.sqrt((small + _PIXEL_VARIANCE) / (big + _PIXEL_VARIANCE))
    return float(np.mean(axis_ratio <= LINEAR_AXIS_RATIO))


# Outlines of a few pixels change with the grid under arbitrary rotations (up to ~50%).
@feature(category="morphology", unit="unitless", invariances=("rotation90", "translation", "scale", "gain"))
def calc_mean_spiculation(c: Calcifications) -> float:
    """Mean normalised radial-length deviation of the calcification outlines (0 for a disc).

    Formula: ``mean_i std(d_i)/mean(d_i), d_i = distances from centroid to boundary pixels``
    """
    return float(radial_cvs(c.labels, c.centroids, c.n).mean())


@feature(category="intensity", unit="unitless", invariances=_GEO_GAIN)
def calc_volume_ratio(c: Calcifications) -> float:
    """Share of the cluster hull's excess brightness carried by the calcifications.

    Formula: ``Σ_{calc} max(I-b, 0) / Σ_H max(I-b, 0)``
    """
    b = c.background
    hull_excess = float(np.clip(c.image[c.hull].astype(np.float64) - b, 0.0, None).sum())
    calc_excess = np.clip(c.image[c.mask].astype(np.float64) - b, 0.0, None).sum()
    return float(calc_excess / hull_excess) if hull_excess > 0 else 0.0


@feature(category="intensity", unit="grey", invariances=GEOMETRIC)
def calc_mean_grey(c: Calcifications) -> float:
    """Mean grey value of the calcification pixels.

    Formula: ``mean_{calc} I``
    """
    return c.mean_grey


@feature(category="shape", unit="mm", invariances=_GEO_GAIN)
def calc_cluster_spread_mm(c: Calcifications) -> float:
    """Root-mean-square distance of the calcification centroids from their mean (0 for one).

    Formula: ``sqrt(mean_i |c_i - c̄|²)·s``
    """
    centroids = c.centroids
    spread = np.sqrt(np.mean(np.sum((centroids - centroids.mean(axis=0)) ** 2, axis=1)))
    return float(spread * c.pixel_spacing_mm)


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def calc_area_cv(c: Calcifications) -> float:
    """Coefficient of variation of the calcification areas (0 for fewer than two).

    Formula: ``std_i A_i / mean_i A_i``
    """
    areas = c.areas
    return float(areas.std() / areas.mean()) if c.n > 1 else 0.0


@feature(category="intensity", unit="grey", invariances=GEOMETRIC)
def calc_contrast(c: Calcifications) -> float:
    """Mean grey of the calcifications above the ROI background.

    Formula: ``mean_{calc} I - b``
    """
    return c.mean_grey - c.background
