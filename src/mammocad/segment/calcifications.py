"""Individual microcalcifications inside a region of interest, and their clusters.

Microcalcifications are small (0.1-1 mm), bright, compact spots on a slowly varying
background. The method follows the classical CAD recipe:

1. **Background suppression and detection**: a multi-scale Laplacian-of-Gaussian
   spot filter (``scales_mm``; each scale expressed in robust noise units, i.e.
   (response - median) / (1.4826 × MAD) inside the ROI, so the threshold adapts
   to the ROI's own tissue and noise). On synthetic ground truth it separated
   calcifications from tissue texture clearly better than thresholding a
   morphological top-hat directly (see ``docs/segmentation.md``).
2. **Locally adaptive threshold with hysteresis**: detections are grown through
   pixels above ``k_low`` noise levels; a detection is kept if it peaks above
   ``k_high``, or above ``k_support`` within ``support_distance_mm`` of a kept one
   (support spreads along chains: calcifications come in groups, noise peaks do not).
   Detections must also be *sharp*: their peak in the image minus a 0.1 mm Gaussian
   blur of itself must reach 2.5 robust noise levels (a calcification's edge is blurred
   only by the imaging system; tissue blobs of the same spot-filter response are not).
3. **Delineation**: each detection is outlined where the white top-hat (disc just
   larger than ``max_diameter_mm``: the background-suppressed grey level) is at
   least ``edge_fraction`` of its peak, i.e. near the half maximum of the spot.
4. **Physical size limits**: objects whose area is outside the disc areas of
   ``min_diameter_mm`` and ``max_diameter_mm`` (converted with the pixel spacing,
   with one pixel of tolerance for the blurred edge) are dropped, as are long
   objects (vessels, ducts, film scratches; ``max_length_mm``) and fragments of
   larger bright structures (judged on a top-hat three times the size).
5. **Clusters**: calcifications closer than ``cluster_distance_mm`` are linked; a
   group of at least ``min_cluster_size`` linked calcifications is a cluster (the
   usual "three or more within 1 cm²" rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mammocad.io import ROI
from mammocad.segment._common import (
    as_float_image,
    blob_responses,
    check_roi,
    check_spacing,
    disk_area_px,
    group_points,
    robust_level,
)
from mammocad.segment._hull import cluster_hull
from mammocad.segment.scoring import CandidateScorer, default_scorer

__all__ = [
    "Cluster",
    "CalcificationSegmentation",
    "segment_calcifications",
    "PROPERTY_COLUMNS",
    "OBJECT_FEATURES",
    "OBJECT_SCORER",
    "calcification_objects",
]

#: Sharpness test: an object's peak in the image minus a 0.1 mm Gaussian blur of itself
#: must reach this many robust noise levels (tuned on synthetic seeds 5000-5059).
_K_SHARP = 2.5
#: With the learned object scorer, objects peaking above this many noise levels are
#: candidates, judged by the scorer.
_K_CANDIDATE = 2.5
#: The learned object scorer shipped with mammocad, and the kind of its model.
OBJECT_SCORER = "calcification_objects"
_OBJECT_KIND = "calcification_object"

#: Features of a candidate object seen by the learned object scorer.
OBJECT_FEATURES = (
    "peak_z",  # spot-filter peak, in robust noise levels
    "z_finest",  # peak of the finest scale
    "z_coarsest",  # peak of the coarsest scale
    "sharp_z",  # peak of the image minus its 0.1 mm blur, in robust noise levels
    "log_area_mm2",  # log of the delineated area
    "length_mm",  # major axis of the equivalent ellipse
    "eccentricity",
    "tophat_z",  # top-hat peak over the top-hat's robust noise
    "level_rank",  # fraction of the ROI darker than the object's peak pixel
    "strong_distance_mm",  # distance to the nearest other object above k_high (10 if none)
    "near_1mm",  # other candidate objects above k_support within 1 mm
    "near_3mm",  # ... within 3 mm
    "log_roi_strong",  # log(1 + objects above k_high in the ROI)
    "log_roi_candidates",  # log(1 + candidate objects in the ROI)
    "neighbour_z_1mm",  # strongest other candidate's peak within 1 mm (0 if none)
    "neighbour_z_2mm",  # ... within 2 mm
    "neighbour_sum_3mm",  # sum of the other candidates' peaks within 3 mm
    "local_noise",  # mean |finest-scale z| within about 1 mm (textured tissue is high)
    "strong_centre_mm",  # distance to the mean position of the objects above k_high (10 if none)
    "z_second",  # peak of the second-finest scale
    "z_third",  # peak of the third-finest scale (the coarsest when there are three)
    "mean_z",  # mean spot-filter z over the object
    "between",  # strongest pair of candidates above k_support within 2 mm on opposite sides (min of their z)
)

#: Columns of :attr:`CalcificationSegmentation.properties`, in order.
PROPERTY_COLUMNS = (
    "label",
    "x",
    "y",
    "area_px",
    "area_mm2",
    "diameter_mm",
    "contrast",
    "mean_intensity",
    "eccentricity",
    "cluster",
)


@dataclass(frozen=True)
class Cluster:
    """A cluster of microcalcifications.

    Parameters
    ----------
    labels : tuple of int
        Labels (in :attr:`CalcificationSegmentation.labels`) of its members.
    bbox : tuple of int
        ``(row0, col0, row1, col1)`` bounding box of the members' pixels; ``row1``
        and ``col1`` are exclusive, as in slices.
    centre : tuple of float
        ``(row, col)`` mean of the members' centroids, in pixels.
    area_mm2 : float
        Area of the cluster hull, in mm²: the pixels whose centres lie in the convex
        hull of the members' pixels taken as unit squares
        (:func:`mammocad.segment._hull.cluster_hull`, the hull ``H`` of the
        calcification features).
    """

    labels: tuple[int, ...]
    bbox: tuple[int, int, int, int]
    centre: tuple[float, float]
    area_mm2: float

    @property
    def size(self) -> int:
        """Number of calcifications in the cluster."""
        return len(self.labels)


@dataclass(frozen=True, eq=False)
class CalcificationSegmentation:
    """Result of :func:`segment_calcifications`.

    Parameters
    ----------
    labels : ndarray of int32, image-shaped
        0 = background; ``1..count`` one label per calcification, non-zero only
        inside the ROI.
    roi : ROI
        The region that was searched.
    properties : pandas.DataFrame
        One row per calcification, columns :data:`PROPERTY_COLUMNS`: ``label``;
        centroid ``x`` (column) and ``y`` (row) in pixels; ``area_px``;
        ``area_mm2``; ``diameter_mm`` (equivalent-disc diameter); ``contrast``
        (mean white-top-hat response, i.e. brightness above the local background,
        in the image's grey units); ``mean_intensity``; ``eccentricity``;
        ``cluster`` (index into :attr:`clusters`, -1 if in none).
    clusters : tuple of Cluster
        Clusters of at least ``min_cluster_size`` calcifications, largest first.
    pixel_spacing_mm : float
        Pixel spacing the physical sizes were computed with.
    """

    labels: np.ndarray
    roi: ROI
    properties: pd.DataFrame
    clusters: tuple[Cluster, ...]
    pixel_spacing_mm: float

    @property
    def count(self) -> int:
        """Number of calcifications found."""
        return len(self.properties)

    @property
    def mask(self) -> np.ndarray:
        """Boolean image of all calcification pixels."""
        return self.labels > 0


def segment_calcifications(
    image: np.ndarray,
    roi: ROI,
    *,
    pixel_spacing_mm: float,
    min_diameter_mm: float = 0.1,
    max_diameter_mm: float = 1.0,
    k_high: float = 4.2,
    k_low: float = 3.0,
    k_support: float = 3.3,
    support_distance_mm: float = 1.0,
    scales_mm: tuple[float, ...] = (0.08, 0.12, 0.2, 0.3),
    edge_fraction: float = 0.5,
    split: bool = True,
    max_length_mm: float = 2.0,
    max_extent: float = 4.0,
    cluster_distance_mm: float = 5.0,
    min_cluster_size: int = 3,
    mask: np.ndarray | None = None,
    object_scorer: str | CandidateScorer | None = OBJECT_SCORER,
    min_object_score: float | None = None,
) -> CalcificationSegmentation:
    """Find every microcalcification inside a region of interest.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey image, bright = dense (``uint8``, ``uint16`` or float). Not modified.
    roi : ROI
        Circle to search, in the image's pixels; may extend past the image edge.
    pixel_spacing_mm : float
        Pixel edge in millimetres (0.2 for mini-MIAS).
    min_diameter_mm, max_diameter_mm : float
        Physical size limits of a calcification (0.1-1 mm after the literature).
    k_high, k_low : float
        Hysteresis thresholds on the spot-filter response, in robust noise levels
        (1.4826 × MAD) above its median inside the ROI.
    k_support : float
        Objects peaking between ``k_support`` and ``k_high`` are kept only within
        ``support_distance_mm`` of a kept object (one reaching ``k_high``, or a weak
        one kept this way, so support spreads along a chain of calcifications).
    support_distance_mm : float
        See ``k_support``.
    scales_mm : tuple of float
        Standard deviations of the Laplacian-of-Gaussian detection filter, in
        millimetres (scales finer than half a pixel are merged).
    edge_fraction : float
        Each detection is delineated where the top-hat response is at least this
        fraction of its peak (0 = keep the hysteresis region).
    split : bool
        Split objects holding several spot-filter peaks (touching
        calcifications) by a watershed of the top-hat.
    max_length_mm : float
        Objects longer than this (major axis of the equivalent ellipse) are
        linear structures (vessels, ducts, scratches) and are dropped; fine linear
        calcifications are shorter.
    max_extent : float
        An object whose bright region in the top-hat at three times the size
        (above the low threshold) is larger than ``max_extent`` times the largest
        calcification area is the rim of a larger structure and is dropped.
    cluster_distance_mm : float
        Calcifications whose centroids are closer than this are linked.
    min_cluster_size : int
        Smallest number of linked calcifications that makes a cluster.
    mask : ndarray of bool, optional
        Image-shaped; search only where True (e.g. the breast region, so that an
        ROI overlapping the skin line or the film edge finds nothing there).
    object_scorer : str, CandidateScorer or None
        The learned object scorer deciding which detected objects are
        calcifications (by default ``"calcification_objects"``, shipped with
        mammocad; or a :class:`~mammocad.segment.scoring.CandidateScorer` with a
        ``"calcification_object"`` model): every object peaking above 3 noise
        levels is scored from its :data:`OBJECT_FEATURES` and kept when the score
        reaches ``min_object_score``. None: the rule-based decision (``k_high``,
        ``k_support``, ``support_distance_mm`` and the sharpness test); with the
        scorer, ``k_high`` and ``k_support`` only shape its features.
    min_object_score : float or None
        Decision threshold of the object scorer, in [0, 1]: higher keeps fewer
        objects (fewer false positives, lower sensitivity). None: the scorer's
        own default.

    Returns
    -------
    CalcificationSegmentation

    Raises
    ------
    ROIError
        If ``roi`` is not an ROI or lies wholly outside the image.
    SegmentationError
        If the image is not a finite 2-D array, the pixel spacing is not positive
        or a parameter is out of range.

    Examples
    --------
    >>> from mammocad.io import ROI
    >>> import numpy as np
    >>> img = np.full((64, 64), 100.0)
    >>> img[30:32, 30:32] = 200.0
    >>> seg = segment_calcifications(img, ROI(31, 31, 20), pixel_spacing_mm=0.2)
    >>> seg.count
    1
    """
    from skimage import measure

    pixels, spacing, roi, mask = _inputs(image, roi, pixel_spacing_mm, mask)
    _check_params(min_diameter_mm, max_diameter_mm, k_high, k_low, min_cluster_size)
    se_radius = _se_radius(max_diameter_mm, spacing)
    empty = _empty(pixels.shape, roi, spacing)
    learned = object_scorer is not None
    found = _candidates(
        pixels,
        roi,
        spacing,
        se_radius,
        mask,
        scales_mm,
        k_low,
        _K_CANDIDATE if learned else min(k_support, k_high),
        edge_fraction,
        split,
    )
    if found is None:
        return empty
    rows, cols, crop, tophat = found.rows, found.cols, found.crop, found.tophat
    lab, n, peak_z, centres = found.labels, found.n, found.peak_z, found.centres
    if object_scorer is not None:
        scorer = default_scorer(object_scorer) if isinstance(object_scorer, str) else object_scorer
        threshold = min_object_score
        if threshold is None:
            threshold = scorer.thresholds.get(_OBJECT_KIND, 0.5)
        feats = _object_features(found, spacing, k_high, k_support)
        prob = scorer.score(_OBJECT_KIND, feats, OBJECT_FEATURES)
        keep = np.zeros(n + 1, dtype=bool)
        keep[1:] = prob >= threshold
    else:
        # Keep the pieces that reach the high threshold, and weaker ones (down to
        # ``k_support``) linked to a strong one by short steps: calcifications come in
        # groups, noise peaks do not.
        keep = peak_z >= k_high
        keep[0] = False
        weak = (peak_z >= min(k_support, k_high)) & ~keep
        weak[0] = False
        if weak.any() and keep.any():
            keep[1:] = _grow_support(centres * spacing, keep[1:], weak[1:], support_distance_mm)
        keep &= found.sharp_z >= _K_SHARP
    keep &= _physical(
        found, spacing, se_radius, k_low, min_diameter_mm, max_diameter_mm, max_extent, max_length_mm
    )
    lab, n = _relabel(np.where(keep[lab], lab, 0))
    if n == 0:
        return empty

    full = np.zeros(pixels.shape, dtype=np.int32)
    full[rows, cols] = lab
    table = measure.regionprops_table(
        lab,
        intensity_image=np.stack([crop, tophat], axis=-1),
        properties=("label", "centroid", "area", "intensity_mean", "eccentricity"),
    )
    r0, c0 = rows.start, cols.start
    props = pd.DataFrame(
        {
            "label": table["label"].astype(np.int32),
            "x": table["centroid-1"] + c0,
            "y": table["centroid-0"] + r0,
            "area_px": table["area"].astype(np.int64),
            "area_mm2": table["area"] * spacing**2,
            "diameter_mm": np.sqrt(4.0 * table["area"] / math.pi) * spacing,
            "contrast": table["intensity_mean-1"],
            "mean_intensity": table["intensity_mean-0"],
            "eccentricity": table["eccentricity"],
            "cluster": np.full(n, -1, dtype=np.int64),
        }
    )
    clusters = _clusters(full, props, spacing, cluster_distance_mm, min_cluster_size)
    for index, cluster in enumerate(clusters):
        props.loc[props["label"].isin(cluster.labels), "cluster"] = index
    return CalcificationSegmentation(
        labels=full, roi=roi, properties=props, clusters=clusters, pixel_spacing_mm=spacing
    )


def _split_touching(
    lab: np.ndarray, tophat: np.ndarray, response: np.ndarray, spacing: float, k: float
) -> tuple[np.ndarray, int]:
    """Split objects holding several spot-filter peaks (touching calcifications) by watershed."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    distance = max(2, int(round(0.3 / spacing)))
    peaks = peak_local_max(response, min_distance=distance, threshold_abs=k, labels=lab, exclude_border=False)
    if len(peaks) <= lab.max():
        return lab, int(lab.max())
    markers = np.zeros(lab.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # Objects without a peak of their own keep their own marker.
    orphan = (lab > 0) & ~np.isin(lab, np.unique(lab[tuple(peaks.T)]))
    if orphan.any():
        markers[orphan] = lab[orphan] + len(peaks)
    return _relabel(watershed(-tophat, markers, mask=lab > 0))


@dataclass(frozen=True, eq=False)
class _Found:
    """Candidate objects of :func:`segment_calcifications` before the keep decision."""

    rows: slice
    cols: slice
    crop: np.ndarray
    region: np.ndarray  # ROI (and mask) on the crop
    tophat: np.ndarray
    scale: float  # grey-level range of the crop
    per_scale: np.ndarray  # spot-filter z per scale
    labels: np.ndarray  # candidate objects 1..n on the crop
    n: int
    peak_z: np.ndarray  # (n + 1,), index 0 unused
    sharp_z: np.ndarray  # (n + 1,)
    centres: np.ndarray  # (n, 2) row, col on the crop


def _candidates(
    pixels: np.ndarray,
    roi: ROI,
    spacing: float,
    se_radius: int,
    mask: np.ndarray | None,
    scales_mm: tuple[float, ...],
    k_low: float,
    k_seed: float,
    edge_fraction: float,
    split: bool,
) -> _Found | None:
    """Objects peaking above ``k_seed`` in the spot filter, delineated and split; None if none."""
    from scipy import ndimage as ndi
    from skimage import filters, morphology

    rows, cols = roi.bbox(pixels.shape, margin=3 * se_radius + 1)
    crop = pixels[rows, cols]
    inside = roi.mask(pixels.shape)[rows, cols]
    scale = float(crop.max() - crop.min())
    region = inside if mask is None else inside & mask[rows, cols]
    if scale <= 0 or region.sum() < 4:
        return None
    # Past a radius of 16 the exact disc costs memory and time as its area (665 MB, 5 s at
    # 51 pixels); its decomposition into a sequence of small footprints costs as its radius.
    exact = se_radius <= 16
    tophat = morphology.white_tophat(
        crop, morphology.disk(se_radius, decomposition=None if exact else "sequence")
    )
    # Detection: a multi-scale Laplacian-of-Gaussian blob filter, each scale in units of
    # its own robust noise level inside the ROI (measured better than thresholding the
    # top-hat itself: see docs/segmentation.md).
    per_scale = blob_responses(crop, region, spacing, scales_mm, floor=1e-3 * scale)
    response = np.max(per_scale, axis=0)
    detected = filters.apply_hysteresis_threshold(response, min(k_low, k_seed), k_seed) & region
    lab, n = ndi.label(detected)
    if n == 0:
        return None
    if edge_fraction > 0:
        # Delineate each detection where the top-hat reaches a fraction of its peak:
        # the outline of a blurred spot sits near its half maximum whatever its contrast.
        grown = ndi.grey_dilation(lab, size=3) * ~detected + lab
        peaks = np.zeros(n + 1)
        peaks[1:] = ndi.maximum(tophat, grown, np.arange(1, n + 1))
        detected = (grown > 0) & (tophat >= edge_fraction * peaks[grown]) & (tophat > 0) & region
    objects = ndi.binary_fill_holes(detected)
    lab, n = ndi.label(objects)
    if n == 0:
        return None
    if split:
        lab, n = _split_touching(lab, tophat, response, spacing, k_seed)
    index = np.arange(1, n + 1)
    peak_z = np.zeros(n + 1)
    peak_z[1:] = ndi.maximum(response, lab, index)
    # A calcification is sharp (its edge is blurred only by the imaging system):
    # its peak stands out of the image minus a slightly blurred copy, while a
    # tissue blob of the same spot-filter response does not.
    sharp = crop - ndi.gaussian_filter(crop, max(1.0, 0.1 / spacing))
    s_med, s_noise = robust_level(sharp[region])
    s_peak = np.zeros(n + 1)
    s_peak[1:] = ndi.maximum(sharp, lab, index)
    sharp_z = (s_peak - s_med) / max(s_noise, 1e-3 * scale)
    centres = np.asarray(ndi.center_of_mass(objects, lab, index)).reshape(-1, 2)
    return _Found(rows, cols, crop, region, tophat, scale, per_scale, lab, n, peak_z, sharp_z, centres)


def _physical(
    found: _Found,
    spacing: float,
    se_radius: int,
    k_low: float,
    min_diameter_mm: float,
    max_diameter_mm: float,
    max_extent: float,
    max_length_mm: float,
) -> np.ndarray:
    """Per candidate object (index 0 unused): whether it is of calcification size and shape."""
    from scipy import ndimage as ndi
    from skimage import measure, morphology

    crop, region, lab = found.crop, found.region, found.labels
    noise = max(robust_level(found.tophat[region])[1], 1e-3 * found.scale)
    min_area = max(1.0, math.floor(disk_area_px(min_diameter_mm, spacing)))
    max_area = math.pi / 4.0 * (max_diameter_mm / spacing + 1.0) ** 2
    # At three times the size the top-hat keeps whole larger bright structures, whose
    # rims survive the small top-hat as calcification-sized fragments.
    wide = morphology.white_tophat(crop, morphology.disk(3 * se_radius, decomposition="sequence"))
    wide_med, wide_noise = robust_level(wide[region])
    wide_lab, _ = ndi.label(wide > wide_med + k_low * max(wide_noise, noise))
    wide_area = np.bincount(wide_lab.ravel())
    wide_area[0] = 0
    ok = np.zeros(found.n + 1, dtype=bool)
    for obj in measure.regionprops(lab):
        area = obj.area
        if area < min_area or area > max_area:
            continue
        r, c = obj.coords[:, 0], obj.coords[:, 1]
        if wide_area[wide_lab[r, c]].max() > max_extent * max_area:
            continue  # the rim of a larger bright structure, not a calcification
        if obj.axis_major_length * spacing > max_length_mm:
            continue  # a vessel, duct or scratch, not a (even linear) calcification
        ok[obj.label] = True
    return ok


def _inputs(
    image: np.ndarray, roi: ROI, pixel_spacing_mm: float, mask: np.ndarray | None
) -> tuple[np.ndarray, float, ROI, np.ndarray | None]:
    """The checked inputs of :func:`segment_calcifications` and :func:`calcification_objects`.

    Returns the float image, the spacing, the ROI clipped to the image and the
    mask as booleans (refused if its shape is not the image's).
    """
    pixels = as_float_image(image)
    spacing = check_spacing(pixel_spacing_mm)
    roi = check_roi(roi, pixels.shape)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != pixels.shape:
            from mammocad.errors import SegmentationError

            raise SegmentationError(f"mask: shape {mask.shape} does not match the image's {pixels.shape}")
    return pixels, spacing, roi, mask


def _se_radius(max_diameter_mm: float, spacing: float) -> int:
    """Radius in pixels of the structuring element that holds the largest calcification."""
    return max(1, int(math.ceil(max_diameter_mm / spacing / 2.0)) + 1)


def calcification_objects(
    image: np.ndarray,
    roi: ROI,
    *,
    pixel_spacing_mm: float,
    min_diameter_mm: float = 0.1,
    max_diameter_mm: float = 1.0,
    k_high: float = 4.2,
    k_low: float = 3.0,
    k_support: float = 3.3,
    scales_mm: tuple[float, ...] = (0.08, 0.12, 0.2, 0.3),
    edge_fraction: float = 0.5,
    split: bool = True,
    max_length_mm: float = 2.0,
    max_extent: float = 4.0,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate objects the learned object scorer judges, and their features.

    What :func:`segment_calcifications` scores before deciding (same arguments);
    for training and inspecting the scorer.

    Returns
    -------
    labels : ndarray of int32, image-shaped
        Candidate objects ``1..n`` (0 elsewhere).
    features : ndarray, shape (n, len(OBJECT_FEATURES))
        Row ``i`` describes object ``i + 1``.
    physical : ndarray of bool, shape (n,)
        Whether object ``i + 1`` passes the size and shape limits (a kept object
        must also pass them).
    """
    pixels, spacing, roi, mask = _inputs(image, roi, pixel_spacing_mm, mask)
    se_radius = _se_radius(max_diameter_mm, spacing)
    found = _candidates(
        pixels, roi, spacing, se_radius, mask, scales_mm, k_low, _K_CANDIDATE, edge_fraction, split
    )
    full = np.zeros(pixels.shape, dtype=np.int32)
    if found is None:
        return full, np.zeros((0, len(OBJECT_FEATURES))), np.zeros(0, dtype=bool)
    full[found.rows, found.cols] = found.labels
    physical = _physical(
        found, spacing, se_radius, k_low, min_diameter_mm, max_diameter_mm, max_extent, max_length_mm
    )
    return full, _object_features(found, spacing, k_high, k_support), physical[1:]


def _object_features(found: _Found, spacing: float, k_high: float, k_support: float) -> np.ndarray:
    """:data:`OBJECT_FEATURES` of the candidate objects (one row each)."""
    from scipy import ndimage as ndi
    from scipy.spatial import cKDTree
    from skimage import measure

    lab, n, per_scale, peak_z, sharp_z = found.labels, found.n, found.per_scale, found.peak_z, found.sharp_z
    tophat, crop, region, centres = found.tophat, found.crop, found.region, found.centres
    index = np.arange(1, n + 1)
    feats = np.zeros((n, len(OBJECT_FEATURES)))
    if n == 0:
        return feats
    z = peak_z[1:]
    feats[:, 0] = z
    feats[:, 1] = ndi.maximum(per_scale[0], lab, index)
    feats[:, 2] = ndi.maximum(per_scale[-1], lab, index)
    feats[:, 3] = sharp_z[1:]
    table = measure.regionprops_table(lab, properties=("area", "axis_major_length", "eccentricity"))
    feats[:, 4] = np.log(table["area"] * spacing**2)
    feats[:, 5] = table["axis_major_length"] * spacing
    feats[:, 6] = table["eccentricity"]
    t_med, t_noise = robust_level(tophat[region])
    feats[:, 7] = (np.asarray(ndi.maximum(tophat, lab, index)) - t_med) / max(t_noise, 1e-12)
    levels = np.sort(crop[region])
    feats[:, 8] = np.searchsorted(levels, ndi.maximum(crop, lab, index)) / max(levels.size, 1)
    pts = centres * spacing
    strong = z >= k_high
    if strong.any():
        # the second neighbour of a strong object is its nearest other strong one
        dist, _ = cKDTree(pts[strong]).query(pts, k=2)
        feats[:, 9] = np.minimum(np.where(strong, dist[:, 1], dist[:, 0]), 10.0)
    else:
        feats[:, 9] = 10.0
    supported = z >= k_support
    tree = cKDTree(pts[supported]) if supported.any() else None
    for col, radius in ((10, 1.0), (11, 3.0)):
        if tree is None:
            continue
        counts = np.asarray(tree.query_ball_point(pts, r=radius, return_length=True), dtype=float)
        feats[:, col] = counts - supported  # not itself
    feats[:, 12] = math.log1p(float(strong.sum()))
    feats[:, 13] = math.log1p(float(n))
    busy = ndi.gaussian_filter(np.abs(per_scale[0]), max(1.0, 1.0 / spacing))
    rr = np.clip(np.rint(centres[:, 0]).astype(int), 0, lab.shape[0] - 1)
    cc = np.clip(np.rint(centres[:, 1]).astype(int), 0, lab.shape[1] - 1)
    feats[:, 17] = busy[rr, cc]
    feats[:, 18] = np.minimum(np.hypot(*(pts - pts[strong].mean(axis=0)).T), 10.0) if strong.any() else 10.0
    feats[:, 19] = ndi.maximum(per_scale[min(1, len(per_scale) - 1)], lab, index)
    feats[:, 20] = ndi.maximum(per_scale[min(2, len(per_scale) - 1)], lab, index)
    feats[:, 21] = ndi.mean(np.max(per_scale, axis=0), lab, index)
    if supported.any():
        sup_idx = np.nonzero(supported)[0]
        for i, hood in enumerate(tree.query_ball_point(pts, r=2.0)):  # type: ignore[union-attr]
            others = [int(sup_idx[j]) for j in hood if sup_idx[j] != i]
            if len(others) < 2:
                continue
            vec = pts[others] - pts[i]
            unit = vec / np.maximum(np.hypot(vec[:, 0], vec[:, 1]), 1e-9)[:, None]
            cos = unit @ unit.T
            a, b = np.nonzero(np.triu(cos < -0.5, 1))  # more than 120 degrees apart
            if a.size:
                feats[i, 22] = float(np.max(np.minimum(z[others][a], z[others][b])))
    everyone = cKDTree(pts)
    for col, radius in ((14, 1.0), (15, 2.0), (16, 3.0)):
        for i, hood in enumerate(everyone.query_ball_point(pts, r=radius)):
            others = [j for j in hood if j != i]
            if others:
                feats[i, col] = float(z[others].sum()) if col == 16 else float(z[others].max())
    return np.nan_to_num(feats, posinf=10.0, neginf=-10.0)


def _grow_support(
    centres_mm: np.ndarray, strong: np.ndarray, weak: np.ndarray, distance_mm: float
) -> np.ndarray:
    """Strong objects plus the weak ones linked to one by steps of at most ``distance_mm``.

    Support spreads: a weak object next to a weak object that was kept is kept too (the
    members of a cluster support each other along a duct).
    """
    from scipy.spatial import cKDTree

    keep = strong.copy()
    pending = weak & ~strong
    while keep.any() and pending.any():
        dist, _ = cKDTree(centres_mm[keep]).query(centres_mm[pending])
        ids = np.nonzero(pending)[0][dist <= distance_mm]
        if len(ids) == 0:
            break
        keep[ids] = True
        pending[ids] = False
    return keep


def _relabel(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber the labels present 1..n, keeping their order."""
    values = np.unique(labels)
    values = values[values > 0]
    lut = np.zeros(int(labels.max()) + 1, dtype=np.int32)
    lut[values] = np.arange(1, len(values) + 1)
    return lut[labels], len(values)


def _check_params(
    min_diameter_mm: float, max_diameter_mm: float, k_high: float, k_low: float, min_cluster_size: int
) -> None:
    from mammocad.errors import SegmentationError

    if not (0 < min_diameter_mm < max_diameter_mm):
        raise SegmentationError(
            f"need 0 < min_diameter_mm < max_diameter_mm, got {min_diameter_mm} and {max_diameter_mm}"
        )
    if not (0 < k_low <= k_high):
        raise SegmentationError(f"need 0 < k_low <= k_high, got k_low={k_low}, k_high={k_high}")
    if min_cluster_size < 1:
        raise SegmentationError(f"min_cluster_size must be >= 1, got {min_cluster_size}")


def _empty(shape: tuple[int, ...], roi: ROI, spacing: float) -> CalcificationSegmentation:
    props = pd.DataFrame({name: pd.Series(dtype=_dtype(name)) for name in PROPERTY_COLUMNS})
    return CalcificationSegmentation(
        labels=np.zeros(shape, dtype=np.int32),
        roi=roi,
        properties=props,
        clusters=(),
        pixel_spacing_mm=spacing,
    )


def _dtype(column: str) -> str:
    return {"label": "int32", "area_px": "int64", "cluster": "int64"}.get(column, "float64")


def _clusters(
    labels: np.ndarray, props: pd.DataFrame, spacing: float, distance_mm: float, min_size: int
) -> tuple[Cluster, ...]:
    points = props[["y", "x"]].to_numpy() * spacing
    groups = group_points(points, distance_mm)
    found = []
    for group in np.unique(groups):
        members = props["label"].to_numpy()[groups == group]
        if len(members) < min_size:
            continue
        rr, cc = np.nonzero(np.isin(labels, members))
        bbox = (int(rr.min()), int(cc.min()), int(rr.max()) + 1, int(cc.max()) + 1)
        local = np.zeros((bbox[2] - bbox[0], bbox[3] - bbox[1]), dtype=bool)
        local[rr - bbox[0], cc - bbox[1]] = True
        hull_px = int(np.count_nonzero(cluster_hull(local)))
        centre_rows = props["y"].to_numpy()[groups == group]
        centre_cols = props["x"].to_numpy()[groups == group]
        found.append(
            Cluster(
                labels=tuple(int(m) for m in members),
                bbox=bbox,
                centre=(float(centre_rows.mean()), float(centre_cols.mean())),
                area_mm2=hull_px * spacing**2,
            )
        )
    found.sort(key=lambda c: (-c.size, c.bbox))
    return tuple(found)
