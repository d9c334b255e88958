"""Input checks and small helpers shared by the segmentation modules."""

from __future__ import annotations

import math

import numpy as np

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI

__all__ = [
    "as_float_image",
    "check_spacing",
    "check_roi",
    "disk_area_px",
    "block_mean",
    "blob_response",
    "blob_responses",
    "robust_level",
    "group_points",
]


def as_float_image(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """A float64 copy of a 2-D grey image, refusing what segmentation cannot use.

    Raises
    ------
    SegmentationError
        If ``image`` is not a non-empty 2-D numeric array of finite values.
    """
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise SegmentationError(f"{name}: expected a 2-D greyscale array, got shape {arr.shape}")
    if arr.size == 0:
        raise SegmentationError(f"{name}: the array is empty (shape {arr.shape})")
    if arr.dtype.kind not in "biuf":
        raise SegmentationError(f"{name}: expected numeric pixels, got dtype {arr.dtype}")
    out = arr.astype(np.float64)  # always a copy: inputs are never mutated
    if not np.isfinite(out).all():
        raise SegmentationError(f"{name}: contains NaN or infinite values")
    return out


#: Finest pixel spacing segmentation works on, in millimetres. Filter and structuring-element
#: sizes are physical sizes divided by the spacing: this floor bounds them (a mammogram's
#: pixels are at least 10 micrometres; half that allows a 2x upsampled analysis grid).
MIN_SPACING_MM = 0.005


def check_spacing(pixel_spacing_mm: float) -> float:
    """Validate a pixel spacing in millimetres and return it as a float."""
    try:
        value = float(pixel_spacing_mm)
    except (TypeError, ValueError):
        raise SegmentationError(
            f"pixel_spacing_mm must be a positive number of millimetres, got {pixel_spacing_mm!r}"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise SegmentationError(f"pixel_spacing_mm must be a positive number of millimetres, got {value}")
    if value < MIN_SPACING_MM:
        raise SegmentationError(
            f"pixel_spacing_mm {value:g} is finer than {MIN_SPACING_MM:g} mm: too fine for a mammogram "
            "(an image far smaller than the 1024-pixel analysis grid, or a wrong pixel spacing)"
        )
    return value


def check_roi(roi: object, shape: tuple[int, ...]) -> ROI:
    """Validate that ``roi`` is an :class:`ROI` overlapping an image of ``shape``."""
    if not isinstance(roi, ROI):
        raise ROIError(f"roi must be a mammocad.io.ROI, got {type(roi).__name__}")
    roi.check_size(shape)  # a radius past the image diagonal would make unbounded work
    roi.bbox(shape)  # raises ROIError naming the ROI when it misses the image
    return roi


def disk_area_px(diameter_mm: float, pixel_spacing_mm: float) -> float:
    """Area in pixels of a disc of the given diameter."""
    return math.pi / 4.0 * (diameter_mm / pixel_spacing_mm) ** 2


def block_mean(pixels: np.ndarray, step: int) -> np.ndarray:
    """Mean over ``step`` × ``step`` blocks (edge-padded to whole blocks); ``pixels`` itself when ``step`` is 1."""
    if step == 1:
        return pixels
    rows = -(-pixels.shape[0] // step) * step
    cols = -(-pixels.shape[1] // step) * step
    padded = np.pad(pixels, ((0, rows - pixels.shape[0]), (0, cols - pixels.shape[1])), mode="edge")
    return padded.reshape(rows // step, step, cols // step, step).mean(axis=(1, 3))


def blob_responses(
    crop: np.ndarray, inside: np.ndarray, spacing: float, scales_mm: tuple[float, ...], floor: float
) -> np.ndarray:
    """Negated LoG response at each scale in robust noise units (z-scores), stacked (scale, rows, cols).

    Scales finer than half a pixel are merged; each scale's median and robust
    spread are measured inside ``inside``, its spread never below ``floor / sigma²``.
    """
    from scipy import ndimage as ndi

    sigmas = sorted({max(0.5, round(s / spacing, 2)) for s in scales_mm})
    out = np.empty((len(sigmas), *crop.shape))
    for i, sigma in enumerate(sigmas):
        blob = -ndi.gaussian_laplace(crop, sigma)
        median, noise = robust_level(blob[inside])
        out[i] = (blob - median) / max(noise, floor / sigma**2)
    return out


def blob_response(
    crop: np.ndarray, inside: np.ndarray, spacing: float, scales_mm: tuple[float, ...], floor: float
) -> np.ndarray:
    """Max over scales of :func:`blob_responses`."""
    return np.max(blob_responses(crop, inside, spacing, scales_mm, floor), axis=0)


def robust_level(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 × MAD) of ``values``."""
    median = float(np.median(values))
    return median, 1.4826 * float(np.median(np.abs(values - median)))


def group_points(points_mm: np.ndarray, link_distance_mm: float) -> np.ndarray:
    """Single-linkage groups of points closer than ``link_distance_mm``; one id per point."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(points_mm)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(points_mm).query_pairs(link_distance_mm, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)
