"""The 13 shape and intensity features of a mass, one function each.

Every mass feature is a function of :class:`MassRegion`: a boolean mass mask (as
made by :func:`mammocad.segment.segment_mass`) and the grey values under and around
it, with the quantities several features share computed once. The 13 GLCM texture
features of the mass group are in :mod:`mammocad.features.texture`. Compute them all
with :func:`mammocad.features.mass_features`; an empty mask gives each feature's
empty value (0).

Shape values equal scikit-image's ``regionprops`` of the mask taken as one region
(perimeters are its 4-direction Crofton estimate, the least orientation-dependent of
its estimators), computed without its per-region overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mammocad.errors import FeatureError
from mammocad.features._shape import (
    boundary_pixels,
    check_finite,
    check_image,
    check_spacing,
    circularity,
    crofton_perimeter,
    positive_bbox,
    radial_cv,
    within_distance,
)
from mammocad.features.spec import GAIN, GEOMETRIC, cached, feature
from mammocad.features.texture import GLCM_LEVELS, CoOccurrence, glcm_distance, quantise_values
from mammocad.segment._hull import RowHull, convex_area_of, mask_hull, unit_square_hull_perimeter

if TYPE_CHECKING:
    from mammocad.features.margin import MarginGrid

__all__ = ["MassRegion", "ring_width_px", "MIN_RING_WIDTH_PX", "RING_WIDTH_FRACTION"]

#: The surrounding ring is at least this wide (pixels).
MIN_RING_WIDTH_PX = 2.0
#: ... and this fraction of the mass's equivalent radius.
RING_WIDTH_FRACTION = 0.5


def ring_width_px(area_px: float) -> float:
    """Width of the ring of surrounding tissue: half the equivalent radius, at least 2 px."""
    return max(MIN_RING_WIDTH_PX, RING_WIDTH_FRACTION * math.sqrt(area_px / math.pi))


@dataclass(frozen=True, eq=False)
class MassRegion:
    """One mass, ready to be measured (made by :meth:`measure`).

    Shared quantities are computed on first use and kept.

    Parameters
    ----------
    source_image, source_mask : ndarray
        The whole image and (boolean) mask as given, not copied, for features that look
        further around the mass.
    box : tuple of slice
        The mask's bounding box in them.
    image, mask : ndarray
        Grey values ``I`` and the mass within ``box``.
    ring_box : tuple of slice
        ``box`` grown by the ring's width (clipped to the image).
    ring : ndarray of bool
        The ring around the mass within ``ring_box``: pixels at most
        :func:`ring_width_px` from the mass, outside it.
    pixel_spacing_mm : float
        ``s``.
    area : int
        ``A``: pixel count of the mass.
    grey : ndarray of float64
        Grey values of the mass pixels.
    background : float
        ``b``: mean grey of the ring; the mass's own mean grey where there is no ring
        (a mass filling the image).
    """

    source_image: np.ndarray
    source_mask: np.ndarray
    box: tuple[slice, slice]
    image: np.ndarray
    mask: np.ndarray
    ring_box: tuple[slice, slice]
    ring: np.ndarray
    pixel_spacing_mm: float
    area: int
    grey: np.ndarray
    background: float

    @classmethod
    def measure(cls, image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> MassRegion | None:
        """Check the input and crop it to the mass and its ring; None for an empty mask.

        Parameters are those of :func:`mammocad.features.mass_features`.

        Raises
        ------
        FeatureError
            If the shapes differ, the mask is not boolean (or 0/1), the spacing is
            not positive, or the grey values used are not finite.
        """
        image = check_image(image, mask, "mask")
        s = check_spacing(pixel_spacing_mm)
        mask = _as_bool(mask)
        box = positive_bbox(mask, 0)
        if box is None:
            return None
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
        # With no tissue around the mass (it fills the image) it is its own background.
        b = float(ring_grey.mean()) if ring_grey.size else float(grey.mean())
        return cls(image, mask, box, img, m, (rs, cs), ring, s, area, grey, b)

    @cached
    def pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of the mass pixels (in :attr:`mask`)."""
        rr, cc = np.nonzero(self.mask)
        return rr, cc

    @cached
    def centroid(self) -> tuple[float, float]:
        """(row, col) centroid of the mass, in :attr:`mask` coordinates."""
        rr, cc = self.pixels
        return float(rr.mean()), float(cc.mean())

    @cached
    def axis_variances(self) -> tuple[float, float]:
        """Variances of the pixel centres along the major and minor axis: the eigenvalues of
        their covariance (``np.cov(..., bias=True)``), largest first."""
        area = self.area
        if area > 1:  # np.cov(..., bias=True), step by step
            rr, cc = self.pixels
            xy = np.empty((2, area))
            xy[0], xy[1] = rr, cc
            xy -= xy.mean(axis=1, keepdims=True)
            cov = np.dot(xy, xy.T) * (1.0 / area)
        else:
            cov = np.zeros((2, 2))
        small, big = np.linalg.eigvalsh(cov)
        return float(big), max(float(small), 0.0)

    @cached
    def perimeter(self) -> float:
        """``P``: Crofton perimeter of the mask (4 directions, pixels)."""
        return crofton_perimeter(self.mask)

    @cached
    def boundary(self) -> np.ndarray:
        """Mass pixels with a 4-neighbour outside it (an 8-connected, one-pixel outline)."""
        return boundary_pixels(self.mask)

    @cached
    def hull(self) -> RowHull:
        """Convex hull of the mass pixels."""
        return mask_hull(self.mask)

    @cached
    def mean_grey(self) -> float:
        """Mean grey value of the mass."""
        return float(self.grey.mean())

    @cached
    def max_grey(self) -> float:
        """Maximum grey value of the mass."""
        return float(self.grey.max())

    @cached
    def margin_grid(self) -> MarginGrid | None:
        """The mass on the canonical grid of the margin features (:mod:`mammocad.features.margin`)."""
        from mammocad.features.margin import MarginGrid

        return MarginGrid.of(self.source_image, self.source_mask)

    @cached
    def glcm(self) -> CoOccurrence:
        """GLCMs of the mass's grey values quantised to :data:`~mammocad.features.texture.GLCM_LEVELS`
        levels, at the offset :func:`~mammocad.features.texture.glcm_distance` of the spacing."""
        q = quantise_values(self.grey, self.mask, GLCM_LEVELS)
        return CoOccurrence.of_region(q, levels=GLCM_LEVELS, distance=glcm_distance(self.pixel_spacing_mm))


def _as_bool(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return mask
    if mask.dtype.kind in "iuf":
        values = np.unique(mask)
        if np.all(np.isin(values, (0, 1))):
            return mask.astype(bool)
    raise FeatureError(f"mask must be boolean (or 0/1), got dtype {mask.dtype}")


_GEO_GAIN = GEOMETRIC + GAIN


@feature(category="morphology", unit="mm²", invariances=_GEO_GAIN)
def mass_area_mm2(m: MassRegion) -> float:
    """Area of the mass.

    Formula: ``A·s²``
    """
    s = m.pixel_spacing_mm
    return m.area * s * s


@feature(category="shape", unit="mm", invariances=_GEO_GAIN)
def mass_perimeter_mm(m: MassRegion) -> float:
    """Perimeter of the mass outline (Crofton estimate over 4 directions, scikit-image).

    Formula: ``P·s``
    """
    return m.perimeter * m.pixel_spacing_mm


@feature(category="shape", unit="unitless", invariances=_GEO_GAIN)
def mass_circularity(m: MassRegion) -> float:
    """Circularity of the outline, capped at 1 (1 for a disc).

    Formula: ``min(1, 4π·A/P²)``
    """
    return circularity(m.area, m.perimeter)


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def mass_solidity(m: MassRegion) -> float:
    """Area over convex-hull area.

    Formula: ``A / A_hull``
    """
    # The hull's pixel count as scikit-image's convex_hull_image (regionprops' solidity).
    return m.area / convex_area_of(m.hull)


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def mass_elongation(m: MassRegion) -> float:
    """Eccentricity of the ellipse with the same second moments (0 disc, →1 line).

    Formula: ``sqrt(1 - b²/a²)``
    """
    big, small = m.axis_variances
    return math.sqrt(1.0 - small / big) if big > 0 else 0.0


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def mass_axis_ratio(m: MassRegion) -> float:
    """Minor over major axis of the ellipse with the same second moments (1 for a disc).

    Formula: ``b / a``
    """
    big, small = m.axis_variances
    # Second-moment ellipse, as scikit-image's regionprops: axis = 4·sqrt(eigenvalue).
    major, minor = 4.0 * math.sqrt(big), 4.0 * math.sqrt(small)
    return minor / major if major > 0 else 1.0


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def mass_convexity(m: MassRegion) -> float:
    """Perimeter of the convex hull of the mass's pixels (as unit squares) over the perimeter of the
    mass, capped at 1 (1 convex, <1 lobulated).

    Formula: ``min(1, P_hull / P)``
    """
    perim = m.perimeter
    return min(1.0, unit_square_hull_perimeter(m.hull) / perim) if perim > 0 else 1.0


@feature(category="morphology", unit="unitless", invariances=_GEO_GAIN)
def mass_spiculation(m: MassRegion) -> float:
    """Normalised radial-length deviation of the outline (0 for a disc; spiculated margins are high).

    Formula: ``std(d)/mean(d), d = distances from centroid to boundary pixels``
    """
    return radial_cv(m.boundary, m.centroid)


@feature(category="intensity", unit="unitless", invariances=GEOMETRIC)
def mass_heterogeneity(m: MassRegion) -> float:
    """Coefficient of variation of the grey values inside the mass.

    Formula: ``std_{mass} I / mean_{mass} I``
    """
    mean_grey = m.mean_grey
    return float(m.grey.std() / mean_grey) if mean_grey > 0 else 0.0


@feature(category="intensity", unit="unitless", invariances=_GEO_GAIN)
def mass_volume_ratio(m: MassRegion) -> float:
    """Excess brightness over the surrounding ring relative to a flat-topped mass of the same peak.

    Formula: ``Σ_{mass} max(I-b, 0) / (A·(max I - b))``
    """
    b = m.background
    peak = m.max_grey - b
    return float(np.clip(m.grey - b, 0.0, None).sum() / (m.area * peak)) if peak > 0 else 0.0


@feature(category="intensity", unit="grey", invariances=GEOMETRIC)
def mass_mean_grey(m: MassRegion) -> float:
    """Mean grey value inside the mass.

    Formula: ``mean_{mass} I``
    """
    return m.mean_grey


@feature(category="intensity", unit="grey", invariances=GEOMETRIC)
def mass_max_grey(m: MassRegion) -> float:
    """Maximum grey value inside the mass.

    Formula: ``max_{mass} I``
    """
    return m.max_grey


@feature(category="intensity", unit="unitless", invariances=GEOMETRIC)
def mass_grey_relativity(m: MassRegion) -> float:
    """Mass against its surroundings: normalised difference of the mean grey of the mass and of the
    ring of width max($MIN_RING_WIDTH_PX px, $RING_WIDTH_FRACTION·r_eq) around it.

    Formula: ``(mean_{mass} I - b) / (mean_{mass} I + b)``
    """
    mean_grey, b = m.mean_grey, m.background
    return (mean_grey - b) / (mean_grey + b) if mean_grey + b != 0 else 0.0
