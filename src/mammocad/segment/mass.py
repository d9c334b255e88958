"""Mass contour from a region of interest (or a seed point with a radius).

A mass is a roughly compact region brighter than the tissue around it. Four
contour methods are provided, all seeded at the ROI centre and restricted to the
ROI plus a margin; each gives one connected, hole-free region:

``"polar"`` (default)
    Rays are cast from the seed out to the ROI radius plus the margin, over a
    Gaussian-smoothed image; every candidate boundary radius on a ray is scored by
    the local edge step (the mean grey level over a tenth of the ROI radius inside
    it minus the mean over as much outside) plus half the region step (the mean
    inside it minus the mean in a band just outside, area-weighted so that the
    means are those of disc sectors), less a mild penalty growing with the radius
    and a soft prior past the ROI circle (growing with the square of the distance
    past it; a strong edge outweighs it); dynamic programming then picks one radius
    per ray, maximising the total score while neighbouring rays may differ by only
    3 % of the ROI radius. Star-shaped by construction; robust on textured tissue
    where thresholds leak.
``"region"``
    Region growing on a Gaussian-smoothed image: the grey level half-way between
    the seed (median of the central disc) and the surround (median of a ring just
    outside the ROI), refined with Otsu's threshold between the two, rising past
    the ROI circle (and, with ``shape_prior`` > 0, with distance from the centre);
    keeps the connected region that contains the seed; an opening cuts thin
    attachments (vessels, glandular strands) and holes are filled.
``"chan_vese"``
    The ``"region"`` result evolved by morphological Chan-Vese (an active contour
    without edges, :func:`skimage.segmentation.morphological_chan_vese`).
``"geodesic"``
    The ``"region"`` result evolved by a morphological geodesic active contour on
    the inverse gradient magnitude.

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

MASS_METHODS = ("polar", "region", "chan_vese", "geodesic")
# Tuning constants, chosen on synthetic cases other than the benchmark's (see
# docs/segmentation.md and docs/margins.md): the fraction of the seed-threshold gap
# added to the threshold at the far edge of the margin ("region"); the opening
# radius and the largest smoothing, as fractions of the ROI radius. For "polar": the
# largest radius change between neighbouring rays and the width of the outside band of the region
# step (fractions of the radius); the half-width of the local edge step (fraction
# of the ROI radius) and the weight of the region step beside it; the largest
# smoothing (fraction of the ROI radius); the weight of the mild penalty on the
# boundary radius (in units of the best all-ray step, per ROI radius); the weight
# of the soft prior past the ROI circle (same units, per squared fraction of the
# radius past it); and the number of rays.
_LEAK_PENALTY = 1.0
_OPEN_FRACTION = 0.15
_SIGMA_FRACTION = 0.1
_POLAR_STEP = 0.03
_POLAR_BAND = 0.3
_POLAR_EDGE = 0.1
_POLAR_REGION = 0.5
_POLAR_SIGMA_FRACTION = 0.05
_POLAR_SIZE = 0.4
_POLAR_OUTSIDE = 30.0
_POLAR_ANGLES = 72


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
    method: str = "polar",
    smoothing_mm: float = 0.5,
    margin: float = 0.5,
    iterations: int = 30,
    shape_prior: float = 0.0,
    expected_fraction: float = 0.8,
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
    method : {"polar", "region", "chan_vese", "geodesic"}
        Contour method (see the module documentation).
    smoothing_mm : float
        Standard deviation of the Gaussian smoothing, in millimetres (capped at a
        tenth of the ROI radius, a twentieth for ``"polar"``, so that small masses
        keep their shape).
    margin : float
        How far past the ROI circle the mass may reach, as a fraction of its radius.
    iterations : int
        Iterations of the active contour methods.
    shape_prior : float
        ``"region"`` only: how strongly the threshold rises with distance from the
        centre (in units of the seed-surround contrast at ``expected_fraction`` ×
        radius); 0 = none.
    expected_fraction : float
        ``"region"`` only: expected mass radius as a fraction of the ROI radius.

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
    >>> bool(abs(seg.area_px / (np.pi * 15**2) - 1) < 0.15)  # within a pixel of the radius
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
    if not expected_fraction > 0:
        raise SegmentationError(f"expected_fraction must be > 0, got {expected_fraction}")

    reach = roi.radius * (1.0 + margin)
    ring = max(2.0, 0.25 * roi.radius)
    rows, cols = roi.bbox(pixels.shape, margin=reach - roi.radius + ring)
    crop = pixels[rows, cols]
    yy, xx = np.ogrid[rows.start : rows.stop, cols.start : cols.stop]
    dist = np.sqrt((xx - roi.x) ** 2 + (yy - roi.y) ** 2)
    allowed = dist <= reach
    seed_zone = dist <= max(1.5, 0.2 * roi.radius)
    surround = (dist > roi.radius) & (dist <= roi.radius + ring)
    if not surround.any():  # ROI covering the whole image: use its outer band
        surround = (dist > 0.8 * reach) & allowed
    empty = MassSegmentation(
        mask=np.zeros(pixels.shape, dtype=bool), contour=np.zeros((0, 2)), roi=roi, pixel_spacing_mm=spacing
    )
    if not seed_zone.any() or float(crop.max() - crop.min()) <= 0:
        return empty

    cap = _POLAR_SIGMA_FRACTION if method == "polar" else _SIGMA_FRACTION
    sigma = min(smoothing_mm / spacing, cap * roi.radius)
    smooth = filters.gaussian(crop, sigma=sigma, preserve_range=True) if sigma > 0.3 else crop
    if method == "polar":
        region = _polar_region(smooth, roi.y - rows.start, roi.x - cols.start, roi.radius, reach)
        if not region.any():
            return empty
        mask = np.zeros(pixels.shape, dtype=bool)
        mask[rows, cols] = region
        return MassSegmentation(mask=mask, contour=mask_contour(mask), roi=roi, pixel_spacing_mm=spacing)
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
    prior = shape_prior * ((dist / (expected_fraction * roi.radius)) ** 2 - 1.0) * contrast
    region = (smooth >= threshold + prior + _LEAK_PENALTY * outside * (seed_level - threshold)) & allowed
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


def _component_at_seed(
    region: np.ndarray, seed_zone: np.ndarray, roi: ROI, rows: slice, cols: slice
) -> np.ndarray:
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


def _polar_region(
    smooth: np.ndarray, cy: float, cx: float, radius: float, reach: float, n_angles: int | None = None
) -> np.ndarray:
    """Star-shaped region around (cy, cx) whose outline follows the strongest border.

    Rays are cast from the seed out to ``reach``; along each, every candidate boundary
    radius ``r`` is scored by the local edge step (the mean grey level over
    ``[r - w, r)`` minus the mean over ``[r, r + w)``, ``w`` a tenth of the ROI
    radius) plus half the region step (the mean over the disc sector inside ``r``
    minus the mean over a band 30 % wider). The ROI circle enters only as a soft
    prior: a penalty growing with the square of the distance past it, which a strong
    border outweighs. Dynamic programming picks one radius per ray, maximising the
    total score while neighbouring rays differ by only a few percent of the radius.
    """
    from scipy import ndimage as ndi
    from skimage.draw import polygon

    n_angles = _POLAR_ANGLES if n_angles is None else n_angles
    dr = max(0.5, reach / 120.0)
    n_r = int(np.ceil(1.35 * reach / dr)) + 1
    rho = np.arange(n_r) * dr
    theta = np.linspace(0.0, 2.0 * np.pi, n_angles, endpoint=False)
    rr = cy + rho[None, :] * np.sin(theta)[:, None]
    cc = cx + rho[None, :] * np.cos(theta)[:, None]
    rays = ndi.map_coordinates(smooth, [rr.ravel(), cc.ravel()], order=1, mode="nearest").reshape(rr.shape)
    zero = np.zeros((n_angles, 1))
    # Area-weighted (ρ dρ) sums, so that ray means are the means over disc sectors.
    weight = rho + 0.5 * dr
    csum = np.concatenate([zero, np.cumsum(rays * weight, axis=1)], axis=1)
    wsum = np.concatenate([[0.0], np.cumsum(weight)])
    plain = np.concatenate([zero, np.cumsum(rays, axis=1)], axis=1)
    j = np.arange(n_r)
    j_min = max(2, int(round(0.15 * radius / dr)))
    j_max = min(n_r - 2, int(reach / dr))
    score = np.full((n_angles, n_r), -np.inf)
    cand = j[(j >= j_min) & (j <= j_max)]
    if cand.size == 0:
        return np.zeros(smooth.shape, dtype=bool)
    width = np.maximum(2, np.round(_POLAR_BAND * cand)).astype(int)
    end = np.minimum(cand + width, n_r)
    region_step = csum[:, cand] / wsum[cand] - (csum[:, end] - csum[:, cand]) / (wsum[end] - wsum[cand])
    half = max(2, int(round(_POLAR_EDGE * radius / dr)))
    lo, hi = np.maximum(cand - half, 0), np.minimum(cand + half, n_r)
    edge_step = (plain[:, cand] - plain[:, lo]) / (cand - lo) - (plain[:, hi] - plain[:, cand]) / (hi - cand)
    local = edge_step + _POLAR_REGION * region_step
    score[:, cand] = local
    inside_step = np.full((n_angles, n_r), -np.inf)
    inside_step[:, cand] = region_step
    # A mild penalty on the boundary radius (on textured tissue the step score is flat
    # past the mass, and the smaller of two near-equal outlines is the mass), and the
    # soft prior past the ROI circle.
    scale = max(float(local.mean(axis=0).max()), 0.0)
    frac = cand * dr / radius
    score[:, cand] -= (
        scale * (_POLAR_SIZE * frac + _POLAR_OUTSIDE * np.maximum(frac - 1.0, 0.0) ** 2)[None, :]
    )
    # Circular dynamic programming: three laps, keep the middle one.
    step = max(1, int(round(_POLAR_STEP * radius / dr)))
    laps = np.concatenate([score, score, score], axis=0)
    total = laps[0].copy()
    back = np.zeros(laps.shape, dtype=np.int64)
    for k in range(1, laps.shape[0]):
        best = np.full(n_r, -np.inf)
        arg = np.zeros(n_r, dtype=np.int64)
        for d in range(-step, step + 1):
            shifted = np.full(n_r, -np.inf)
            if d >= 0:
                shifted[d:] = total[: n_r - d]
            else:
                shifted[:d] = total[-d:]
            better = shifted > best
            best = np.where(better, shifted, best)
            arg = np.where(better, j - d, arg)
        total = best + laps[k]
        back[k] = arg
    path = np.zeros(laps.shape[0], dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for k in range(laps.shape[0] - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    radii = path[n_angles : 2 * n_angles].astype(float)
    if float(np.mean(inside_step[np.arange(n_angles), radii.astype(int)])) <= 0:
        return np.zeros(smooth.shape, dtype=bool)  # no brighter region around the seed
    radii = radii * dr
    pr, pc = polygon(cy + radii * np.sin(theta), cx + radii * np.cos(theta), shape=smooth.shape)
    region = np.zeros(smooth.shape, dtype=bool)
    region[pr, pc] = True
    return region


def mask_contour(mask: np.ndarray) -> np.ndarray:
    """Closed outline ``(k, 2)`` of the largest component of a boolean mask, in (row, col).

    The outline is the 0.5 iso-line of the mask (:func:`skimage.measure.find_contours`)
    on a zero-padded copy, so a mask touching the image border still has a closed
    contour. An empty mask gives shape ``(0, 2)``.
    """
    from skimage.measure import find_contours

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise SegmentationError(f"mask: expected a 2-D array, got shape {mask.shape}")
    if not mask.any():
        return np.zeros((0, 2))
    rr, cc = np.nonzero(mask)
    r0, c0 = rr.min(), cc.min()
    local = np.pad(mask[r0 : rr.max() + 1, c0 : cc.max() + 1].astype(np.float32), 1)
    contours = find_contours(local, 0.5)
    best = max(contours, key=len)
    return best + np.array([r0 - 1, c0 - 1], dtype=float)
