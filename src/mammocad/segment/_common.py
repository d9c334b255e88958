"""Input checks and small helpers shared by the segmentation modules."""

from __future__ import annotations

import math

import numpy as np

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI

__all__ = ["as_float_image", "check_spacing", "check_roi", "disk_area_px", "dynamic_range"]


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
    return value


def check_roi(roi: object, shape: tuple[int, ...]) -> ROI:
    """Validate that ``roi`` is an :class:`ROI` overlapping an image of ``shape``."""
    if not isinstance(roi, ROI):
        raise ROIError(f"roi must be a mammocad.io.ROI, got {type(roi).__name__}")
    roi.bbox(shape)  # raises ROIError naming the ROI when it misses the image
    return roi


def disk_area_px(diameter_mm: float, pixel_spacing_mm: float) -> float:
    """Area in pixels of a disc of the given diameter."""
    return math.pi / 4.0 * (diameter_mm / pixel_spacing_mm) ** 2


def dynamic_range(values: np.ndarray) -> float:
    """max - min of ``values`` (0 for an empty array)."""
    if values.size == 0:
        return 0.0
    return float(values.max() - values.min())
