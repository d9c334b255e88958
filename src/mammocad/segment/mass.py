"""Mass contour from a region of interest (or a seed point with a radius).

A mass is a roughly compact region brighter than the tissue around it. Three
contour methods are provided, all seeded at the ROI centre and restricted to the
ROI plus a margin:

``"region"`` (default)
    Region growing on a Gaussian-smoothed image: the grey level half-way between
    the seed (median of the central disc) and the surround (median of a ring just
    outside the ROI), refined with Otsu's threshold between the two, keeps the
    connected region that contains the seed; a small opening cuts thin
    attachments (vessels, glandular strands) and holes are filled.
``"chan_vese"``
    The region above, evolved by morphological Chan-Vese (an active contour
    without edges, :func:`skimage.segmentation.morphological_chan_vese`).
``"geodesic"``
    The region above, evolved by a morphological geodesic active contour on the
    inverse gradient magnitude.

Which is the default was decided by measured Dice on synthetic ground truth
(``benchmarks/segmentation_accuracy.py``; see ``docs/segmentation.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mammocad.errors import SegmentationError
from mammocad.io import ROI
from mammocad.segment._common import as_float_image, check_roi, check_spacing

__all__ = ["MassSegmentation", "segment_mass", "MASS_METHODS", "mask_contour"]

MASS_METHODS = ("region", "chan_vese", "geodesic")
_LEAK_PENALTY = 1.0
_OPEN_FRACTION = 0.15
_RING_AT_ROI = True


@dataclass(frozen=True, eq=False)
class MassSegmentation:
    """Result of :func:`segment_mass`.

    Parameters
    ----------
    mask : ndarray of bool, image-shaped
        Exactly one 8-connected component, or all False when no mass was found.
    contour : ndarray, shape (k, 2)
        Closed outline of ``mask`` as ``(row, col)`` sub-pixel points (first point
        repeated last); shape ``(0, 2)`` when the mask is empty.
    roi : ROI
        The region that was searched.
    pixel_spacing_mm : float
        Pixel spacing used for physical sizes.
    """

    mask: np.ndarray
    contour: np.ndarray
    roi: ROI
    pixel_spacing_mm: float

    @property
    def area_px(self) -> int:
        """Number of mass pixels."""
        return int(self.mask.sum())

    @property
    def area_mm2(self) -> float:
        """Mass area in mm²."""
        return self.area_px * self.pixel_spacing_mm**2

    @property
    def found(self) -> bool:
        """Whether a mass was delineated."""
        return self.area_px > 0

    @property
    def centre(self) -> tuple[float, float] | None:
        """``(row, col)`` centroid of the mask, or None when empty."""
        if not self.found:
            return None
        rr, cc = np.nonzero(self.mask)
        return float(rr.mean()), float(cc.mean())


def segment_mass(
    image: np.ndarray,
    roi: ROI,
    *,
    pixel_spacing_mm: float,
    method: str = "region",
    smoothing_mm: float = 1.0,
    margin: float = 0.5,
    iterations: int = 30,
) -> MassSegmentation:
    """Delineate the mass at the centre of a region of interest.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey image, bright = dense. Not modified.
    roi : ROI
        Circle around the mass; its centre is the seed. The mass may extend up to
        ``margin`` × radius past the circle.
    pixel_spacing_mm : float
        Pixel edge in millimetres.
    method : {"region", "chan_vese", "geodesic"}
        Contour method (see the module documentation).
    smoothing_mm : float
        Standard deviation of the Gaussian smoothing, in millimetres (capped at a
        tenth of the ROI radius so that small masses keep their shape).
    margin : float
        How far past the ROI circle the mass may reach, as a fraction of its radius.
    iterations : int
        Iterations of the active contour methods.

    Returns
    -------
    MassSegmentation

    Raises
    ------
    ROIError
        If ``roi`` is not an ROI or lies wholly outside the image.
    SegmentationError
        If the image is not a finite 2-D array, or a parameter is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from mammocad.io import ROI
    >>> yy, xx = np.mgrid[:100, :100]
    >>> img = 50.0 + 100.0 * ((yy - 50) ** 2 + (xx - 50) ** 2 < 15**2)
    >>> seg = segment_mass(img, ROI(50, 50, 30), pixel_spacing_mm=0.2)
    >>> abs(seg.area_px - np.pi * 15**2) < 60
    True
    """
    from scipy import ndimage as ndi
    from skimage import filters, morphology

    pixels = as_float_image(image)
    spacing = check_spacing(pixel_spacing_mm)
    roi = check_roi(roi, pixels.shape)
    if method not in MASS_METHODS:
        raise SegmentationError(f"method must be one of {', '.join(MASS_METHODS)}, got {method!r}")
    if not (margin >= 0 and smoothing_mm >= 0 and iterations >= 0):
        raise SegmentationError("margin, smoothing_mm and iterations must be >= 0")

    reach = roi.radius * (1.0 + margin)
    ring = max(2.0, 0.25 * roi.radius)
    rows, cols = roi.bbox(pixels.shape, margin=reach - roi.radius + ring)
    crop = pixels[rows, cols]
    yy, xx = np.ogrid[rows.start : rows.stop, cols.start : cols.stop]
    dist = np.sqrt((xx - roi.x) ** 2 + (yy - roi.y) ** 2)
    allowed = dist <= reach
    seed_zone = dist <= max(1.5, 0.2 * roi.radius)
    surround = (dist > roi.radius) & (dist <= roi.radius + ring) if _RING_AT_ROI else (dist > reach) & (dist <= reach + ring)
    if not surround.any():  # ROI covering the whole image: use its outer band
        surround = (dist > 0.8 * reach) & allowed
    empty = MassSegmentation(
        mask=np.zeros(pixels.shape, dtype=bool), contour=np.zeros((0, 2)), roi=roi, pixel_spacing_mm=spacing
    )
    if not seed_zone.any() or float(crop.max() - crop.min()) <= 0:
        return empty

    sigma = min(smoothing_mm / spacing, 0.1 * roi.radius)
    smooth = filters.gaussian(crop, sigma=sigma, preserve_range=True) if sigma > 0.3 else crop
    seed_level = float(np.median(smooth[seed_zone]))
    background = float(np.median(smooth[surround])) if surround.any() else float(np.median(smooth))
    contrast = seed_level - background
    if contrast <= 0.02 * float(crop.max() - crop.min()):
        return empty  # the centre is not brighter than its surround: no mass here
    between = smooth[allowed & (smooth > background) & (smooth < seed_level)]
    threshold = 0.5 * (seed_level + background)
    if between.size > 16 and np.ptp(between) > 0:
        # Otsu within the seed-surround range, kept in its middle half.
        otsu = float(filters.threshold_otsu(between))
        threshold = min(max(otsu, background + 0.25 * contrast), background + 0.75 * contrast)
    # Past the ROI circle the level needed rises towards the seed's, so that the
    # region does not leak along bright tissue that merely touches the mass.
    outside = np.clip((dist - roi.radius) / max(reach - roi.radius, 1.0), 0.0, 1.0)
    region = (smooth >= threshold + _LEAK_PENALTY * outside * (seed_level - threshold)) & allowed
    open_radius = max(1, int(round(_OPEN_FRACTION * roi.radius)))
    region = ndi.binary_opening(region, structure=morphology.disk(open_radius))
    region = _component_at_seed(region, seed_zone, roi, rows, cols)
    if not region.any():
        return empty
    region = ndi.binary_fill_holes(region)

    if method == "chan_vese" and iterations:
        from skimage.segmentation import morphological_chan_vese

        norm = (smooth - smooth.min()) / max(float(np.ptp(smooth)), 1e-12)
        region = morphological_chan_vese(norm, iterations, init_level_set=region, smoothing=2).astype(bool)
    elif method == "geodesic" and iterations:
        from skimage.segmentation import inverse_gaussian_gradient, morphological_geodesic_active_contour

        norm = (smooth - smooth.min()) / max(float(np.ptp(smooth)), 1e-12)
        gimage = inverse_gaussian_gradient(norm, alpha=100.0, sigma=max(1.0, sigma))
        region = morphological_geodesic_active_contour(
            gimage, iterations, init_level_set=region, smoothing=1, balloon=0
        ).astype(bool)
    if method != "region":
        region &= allowed
        region = _component_at_seed(region, seed_zone, roi, rows, cols)
        region = ndi.binary_fill_holes(region)
        if not region.any():
            return empty

    mask = np.zeros(pixels.shape, dtype=bool)
    mask[rows, cols] = region
    return MassSegmentation(mask=mask, contour=mask_contour(mask), roi=roi, pixel_spacing_mm=spacing)


def _component_at_seed(region: np.ndarray, seed_zone: np.ndarray, roi: ROI, rows: slice, cols: slice) -> np.ndarray:
    """The 8-connected component of ``region`` overlapping the seed zone most (else nearest the seed)."""
    from scipy import ndimage as ndi

    lab, n = ndi.label(region, structure=np.ones((3, 3)))
    if n == 0:
        return region
    counts = np.bincount(lab[seed_zone], minlength=n + 1)
    counts[0] = 0
    if counts.max() > 0:
        best = int(np.argmax(counts))
    else:
        centroids = ndi.center_of_mass(region, lab, range(1, n + 1))
        d = [math.hypot(r + rows.start - roi.y, c + cols.start - roi.x) for r, c in centroids]
        best = int(np.argmin(d)) + 1
    return lab == best


def mask_contour(mask: np.ndarray) -> np.ndarray:
    """Closed outline ``(k, 2)`` of the largest component of a boolean mask, in (row, col).

    The outline is the 0.5 iso-line of the mask (:func:`skimage.measure.find_contours`)
    on a zero-padded copy, so a mask touching the image border still has a closed
    contour. An empty mask gives shape ``(0, 2)``.
    """
    from skimage.measure import find_contours

    if not mask.any():
        return np.zeros((0, 2))
    rr, cc = np.nonzero(mask)
    r0, c0 = rr.min(), cc.min()
    local = np.pad(mask[r0 : rr.max() + 1, c0 : cc.max() + 1].astype(np.float32), 1)
    contours = find_contours(local, 0.5)
    best = max(contours, key=len)
    return best + np.array([r0 - 1, c0 - 1], dtype=float)
