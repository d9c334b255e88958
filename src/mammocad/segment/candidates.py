"""Automatic candidates on a whole mammogram (the "automatic detection" of Fig. 1).

Two detectors run inside the breast mask:

Calcification clusters
    The multi-scale Laplacian-of-Gaussian spot filter of
    :func:`mammocad.segment.segment_calcifications` over the whole breast (less
    a 1 mm rim at the skin line), thresholded at ``k_calcification`` robust noise
    levels; spots of calcification size are linked within
    ``cluster_distance_mm`` and a group of at least ``min_cluster_size`` no wider
    than 3 cm is a candidate. Its ROI encloses the group plus 2 mm; its score
    grows with the number of spots and their contrast-to-noise ratio. A proposal
    is kept only where :func:`~mammocad.segment.segment_calcifications`, run in
    its ROI (at least 5 mm in radius), finds a cluster there too; the ROI is then
    centred on that cluster.
Masses
    A scale-normalised Laplacian-of-Gaussian blob detector on a copy downsampled
    to about 0.8 mm pixels, at mass radii of 4-18 mm, in the breast eroded by the
    blob's radius (so the skin line and film edge do not respond); a weaker peak
    inside a stronger blob is dropped. Its score grows
    with the blob's contrast relative to the breast's grey-level spread.

Scores lie in [0, 1); the list is sorted best first. They are heuristic
confidences, not probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mammocad.errors import SegmentationError
from mammocad.io import ROI
from mammocad.segment._common import as_float_image, blob_response, block_mean, check_spacing, group_points

__all__ = ["Candidate", "detect_candidates", "CANDIDATE_KINDS"]

CANDIDATE_KINDS = ("calcification", "mass")
_MASS_RADII_MM = (4.0, 6.0, 9.0, 13.0, 18.0)
_CALC_SCALES_MM = (0.12, 0.2, 0.3)
_MAX_CLUSTER_RADIUS_MM = 15.0
_MIN_CALC_ROI_MM = 5.0


@dataclass(frozen=True)
class Candidate:
    """A proposed lesion.

    Parameters
    ----------
    kind : {"calcification", "mass"}
        ``"calcification"`` for a cluster of microcalcifications.
    roi : ROI
        Circle enclosing it, in the image's pixels.
    score : float
        Confidence in [0, 1); higher is more suspicious.
    """

    kind: str
    roi: ROI
    score: float


def detect_candidates(
    image: np.ndarray,
    *,
    pixel_spacing_mm: float,
    breast: np.ndarray | None = None,
    max_candidates: int = 10,
    kinds: tuple[str, ...] = CANDIDATE_KINDS,
    k_calcification: float = 6.0,
    cluster_distance_mm: float = 3.0,
    min_cluster_size: int = 3,
) -> list[Candidate]:
    """Propose calcification clusters and masses on a whole mammogram.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey mammogram, bright = dense. Not modified.
    pixel_spacing_mm : float
        Pixel edge in millimetres.
    breast : ndarray of bool, optional
        Where to search; computed with :func:`mammocad.segment.breast_mask` when
        None (pass ``breast_mask(image, remove_pectoral=True)`` for MLO views).
    max_candidates : int
        Longest list returned.
    kinds : tuple of str
        Which detectors to run.
    k_calcification : float
        Spot threshold in local robust noise levels of the top-hat response.
    cluster_distance_mm, min_cluster_size :
        Cluster rule, as in :func:`mammocad.segment.segment_calcifications`.

    Returns
    -------
    list of Candidate
        Best first; empty for a blank image.

    Raises
    ------
    SegmentationError
        If the image is not a finite 2-D array, ``breast`` does not match it, the
        spacing is not positive or ``kinds`` names an unknown detector.
    """
    pixels = as_float_image(image)
    spacing = check_spacing(pixel_spacing_mm)
    unknown = set(kinds) - set(CANDIDATE_KINDS)
    if unknown:
        raise SegmentationError(f"kinds: unknown {sorted(unknown)}; expected some of {CANDIDATE_KINDS}")
    if max_candidates < 1:
        raise SegmentationError(f"max_candidates must be >= 1, got {max_candidates}")
    if breast is None:
        from mammocad.segment.breast import breast_mask

        breast = breast_mask(pixels)
    else:
        breast = np.asarray(breast, dtype=bool)
        if breast.shape != pixels.shape:
            raise SegmentationError(f"breast: shape {breast.shape} does not match the image's {pixels.shape}")
    if not breast.any() or float(pixels.max() - pixels.min()) <= 0:
        return []
    found: list[Candidate] = []
    if "calcification" in kinds:
        proposed = _calcification_clusters(
            pixels, breast, spacing, k_calcification, cluster_distance_mm, min_cluster_size
        )
        found += _confirm_clusters(pixels, proposed, spacing, max_candidates)
    if "mass" in kinds:
        found += _masses(pixels, breast, spacing)
    found.sort(key=lambda c: -c.score)
    return found[:max_candidates]


def _calcification_clusters(
    pixels: np.ndarray, breast: np.ndarray, spacing: float, k: float, link_mm: float, min_size: int
) -> list[Candidate]:
    from scipy import ndimage as ndi

    rr, cc = np.nonzero(breast)
    r0, r1, c0, c1 = rr.min(), rr.max() + 1, cc.min(), cc.max() + 1
    crop = pixels[r0:r1, c0:c1]
    # Stay clear of the skin line and film edge, whose step also looks like a spot.
    inside = ndi.binary_erosion(breast[r0:r1, c0:c1], iterations=max(2, int(round(1.0 / spacing))))
    if not inside.any():
        return []
    z = blob_response(crop, inside, spacing, _CALC_SCALES_MM, floor=1e-3 * float(np.ptp(crop)))
    spots = (z > k) & inside
    lab, n = ndi.label(spots)
    if n == 0:
        return []
    index = np.arange(1, n + 1)
    areas = ndi.sum_labels(np.ones(z.shape), lab, index)
    peak = ndi.maximum(z, lab, index)
    centres = np.asarray(ndi.center_of_mass(spots, lab, index)).reshape(-1, 2)
    ok = areas <= math.pi / 4.0 * (1.0 / spacing + 1.0) ** 2
    centres, peak = centres[ok], peak[ok]
    if len(centres) < min_size:
        return []
    groups = group_points(centres * spacing, link_mm)
    out = []
    for g in np.unique(groups):
        members = groups == g
        if members.sum() < min_size:
            continue
        pts = centres[members]
        cy, cx = pts.mean(axis=0)
        reach = float(np.sqrt(((pts - [cy, cx]) ** 2).sum(axis=1)).max())
        if reach * spacing > _MAX_CLUSTER_RADIUS_MM:
            continue  # spots spread over several centimetres are texture, not a cluster
        strength = members.sum() * float(np.median(peak[members])) / k
        out.append(
            Candidate(
                kind="calcification",
                roi=ROI(float(cx + c0), float(cy + r0), max(reach + 2.0 / spacing, 3.0 / spacing)),
                score=float(1.0 - math.exp(-strength / 10.0)),
            )
        )
    return out


def _confirm_clusters(
    pixels: np.ndarray, proposed: list[Candidate], spacing: float, limit: int
) -> list[Candidate]:
    """Keep the proposals in which :func:`segment_calcifications` finds a cluster.

    The whole-image detector judges spots against the whole breast's noise; the
    ROI segmentation judges them against the ROI's own, so a proposal is kept only
    where the two agree, re-centred on the cluster found, with the same score.
    """
    from mammocad.segment.calcifications import segment_calcifications

    out = []
    for cand in sorted(proposed, key=lambda c: -c.score)[: 2 * limit]:
        roi = ROI(cand.roi.x, cand.roi.y, max(cand.roi.radius, _MIN_CALC_ROI_MM / spacing))
        seg = segment_calcifications(pixels, roi, pixel_spacing_mm=spacing)
        if not seg.clusters:
            continue
        best = seg.clusters[0]
        r0, c0, r1, c1 = best.bbox
        reach = 0.5 * math.hypot(r1 - r0, c1 - c0) + 2.0 / spacing
        out.append(
            Candidate(
                kind="calcification",
                roi=ROI(float(best.centre[1]), float(best.centre[0]), max(reach, _MIN_CALC_ROI_MM / spacing)),
                score=cand.score,
            )
        )
    return out


def _masses(pixels: np.ndarray, breast: np.ndarray, spacing: float) -> list[Candidate]:
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max

    step = max(1, int(round(0.8 / spacing)))
    small = block_mean(pixels, step)
    inside = block_mean(breast.astype(float), step) > 0.99
    px_mm = spacing * step
    spread = float(np.std(small[inside])) if inside.any() else 0.0
    if spread <= 0:
        return []
    fill = float(np.median(small[inside]))
    filled = np.where(inside, small, fill)  # the dark background must not make blobs
    best = np.zeros_like(small)
    best_scale = np.zeros(small.shape, dtype=int)
    for i, radius_mm in enumerate(_MASS_RADII_MM):
        sigma = radius_mm / px_mm / math.sqrt(2.0)
        response = -(sigma**2) * ndi.gaussian_laplace(filled, sigma)
        eroded = ndi.binary_erosion(inside, iterations=max(1, int(round(radius_mm / px_mm))))
        response = np.where(eroded, response, 0.0)
        better = response > best
        best = np.where(better, response, best)
        best_scale = np.where(better, i, best_scale)
    min_distance = max(2, int(round(_MASS_RADII_MM[0] / px_mm)))
    peaks = peak_local_max(best, min_distance=min_distance, threshold_abs=0.05 * spread, num_peaks=30)
    out: list[Candidate] = []
    kept: list[tuple[float, float, float]] = []
    for r, c in peaks:  # strongest first; drop peaks inside a stronger blob
        radius_mm = _MASS_RADII_MM[best_scale[r, c]]
        if any(math.hypot(r - kr, c - kc) < kradius for kr, kc, kradius in kept):
            continue
        kept.append((float(r), float(c), radius_mm / px_mm))
        if len(kept) > 10:
            break
        z = float(best[r, c]) / spread
        out.append(
            Candidate(
                kind="mass",
                roi=ROI(
                    float((c + 0.5) * step - 0.5), float((r + 0.5) * step - 0.5), 1.5 * radius_mm / spacing
                ),
                score=float(1.0 - math.exp(-z)),
            )
        )
    return out
