"""Overlay figures in the style of the paper's Figures 1-3.

The mammogram in grey; the ROI circle in cyan; the mass contour in red; each
calcification outlined in yellow; and, in the corner farthest from the ROI, a
zoomed-in inset of the ROI drawn at the inset's own resolution so that outlines
of sub-millimetre calcifications stay visible.
"""

from __future__ import annotations

import numpy as np

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI, to_uint8
from mammocad.segment.calcifications import CalcificationSegmentation
from mammocad.segment.mass import MassSegmentation

__all__ = ["render_overlay", "ROI_COLOUR", "MASS_COLOUR", "CALCIFICATION_COLOUR"]

ROI_COLOUR = (0, 220, 255)
MASS_COLOUR = (255, 40, 40)
CALCIFICATION_COLOUR = (255, 230, 0)


def render_overlay(
    image: np.ndarray,
    roi: ROI | None,
    calcifications: CalcificationSegmentation | None = None,
    mass: MassSegmentation | None = None,
    *,
    inset: bool = True,
    inset_fraction: float = 0.4,
) -> np.ndarray:
    """Draw segmentations over a mammogram.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey mammogram (any numeric dtype; mapped to 0-255 with
        :func:`mammocad.io.to_uint8`). Not modified.
    roi : ROI or None
        Circle to draw and to zoom into; None draws no circle and no inset.
    calcifications : CalcificationSegmentation, optional
        Outlined in yellow.
    mass : MassSegmentation, optional
        Contour drawn in red.
    inset : bool
        Add the zoomed view of the ROI.
    inset_fraction : float
        Side of the inset as a fraction of the image's shorter side.

    Returns
    -------
    ndarray of uint8, shape (rows, cols, 3)

    Raises
    ------
    ROIError
        If ``roi`` is neither an ROI nor None.
    SegmentationError
        If the image is not a 2-D numeric array or a segmentation does not match its shape.
    """
    from skimage.transform import resize

    grey = np.asarray(image)
    if grey.ndim != 2 or grey.size == 0:
        raise SegmentationError(f"image: expected a non-empty 2-D array, got shape {grey.shape}")
    if grey.dtype.kind not in "biuf":
        raise SegmentationError(f"image: expected numeric pixels, got dtype {grey.dtype}")
    if roi is not None and not isinstance(roi, ROI):
        raise ROIError(f"roi must be a mammocad.io.ROI or None, got {type(roi).__name__}")
    for name, seg in (("calcifications", calcifications), ("mass", mass)):
        arr = None if seg is None else (seg.labels if name == "calcifications" else seg.mask)  # type: ignore[union-attr]
        if arr is not None and arr.shape != grey.shape:
            raise SegmentationError(f"{name}: shape {arr.shape} does not match the image's {grey.shape}")
    if grey.dtype.kind == "f" and not np.isfinite(grey).all():
        raise SegmentationError("image: contains NaN or infinite values")
    grey8 = to_uint8(grey)  # 8-bit images are returned unchanged
    rows, cols = grey8.shape
    labels = None if calcifications is None else calcifications.labels
    mask = None if mass is None else mass.mask
    thick = max(1, int(round(min(rows, cols) / 400)))
    out = _annotate(grey8, labels, mask, roi, thick)

    if inset and roi is not None and roi.overlaps((rows, cols)):
        margin = 0.25 * roi.radius + 2
        rs, cs = roi.bbox((rows, cols), margin=margin)
        side = max(16, int(inset_fraction * min(rows, cols)))
        h, w = rs.stop - rs.start, cs.stop - cs.start
        zoom = side / max(h, w)
        size = (max(1, int(round(h * zoom))), max(1, int(round(w * zoom))))
        big = resize(grey8[rs, cs].astype(np.float32), size, order=1, preserve_range=True)
        big8 = np.clip(np.rint(big), 0, 255).astype(np.uint8)
        big_labels = None if labels is None else _nearest(labels[rs, cs], size)
        big_mask = None if mask is None else _nearest(mask[rs, cs], size)
        local = ROI(
            (roi.x - cs.start + 0.5) * zoom - 0.5, (roi.y - rs.start + 0.5) * zoom - 0.5, roi.radius * zoom
        )
        panel = _annotate(big8, big_labels, big_mask, local, thick)
        _place_inset(out, panel, roi, thick)
    return out


def _nearest(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    ri = np.minimum((np.arange(size[0]) + 0.5) * arr.shape[0] / size[0], arr.shape[0] - 1).astype(int)
    ci = np.minimum((np.arange(size[1]) + 0.5) * arr.shape[1] / size[1], arr.shape[1] - 1).astype(int)
    return arr[np.ix_(ri, ci)]


def _annotate(
    grey8: np.ndarray,
    labels: np.ndarray | None,
    mask: np.ndarray | None,
    roi: ROI | None,
    thick: int,
) -> np.ndarray:
    from scipy import ndimage as ndi
    from skimage.segmentation import find_boundaries

    out = np.repeat(grey8[:, :, None], 3, axis=2)
    if roi is not None:
        _circle(out, roi, ROI_COLOUR, thick)
    if mask is not None and mask.any():
        edge = find_boundaries(mask, mode="inner")
        if thick > 1:
            edge = ndi.binary_dilation(edge, iterations=thick - 1)
        out[edge] = MASS_COLOUR
    if labels is not None and labels.any():
        out[find_boundaries(labels, mode="outer")] = CALCIFICATION_COLOUR
    return out


def _circle(out: np.ndarray, roi: ROI, colour: tuple[int, int, int], thick: int) -> None:
    rows, cols = out.shape[:2]
    # Two points per pixel of circumference, but never more than the image's perimeter
    # needs: a circle far larger than the image must not cost points in its radius.
    n = max(64, int(2 * np.pi * min(roi.radius, rows + cols) * 2))
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    for dr in range(thick):
        rr = np.rint(roi.y + (roi.radius + dr) * np.sin(t)).astype(int)
        cc = np.rint(roi.x + (roi.radius + dr) * np.cos(t)).astype(int)
        ok = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        out[rr[ok], cc[ok]] = colour


def _place_inset(out: np.ndarray, panel: np.ndarray, roi: ROI, thick: int) -> None:
    """Paste ``panel`` (with a border) into the image corner farthest from the ROI."""
    rows, cols = out.shape[:2]
    h, w = panel.shape[:2]
    pad = max(2, thick * 2)
    h, w = min(h, rows - 2 * pad), min(w, cols - 2 * pad)
    if h <= 0 or w <= 0:
        return
    top = pad if roi.y > rows / 2 else rows - h - pad
    left = pad if roi.x > cols / 2 else cols - w - pad
    b = max(1, thick)
    out[max(0, top - b) : top + h + b, max(0, left - b) : left + w + b] = ROI_COLOUR
    out[top : top + h, left : left + w] = panel[:h, :w]
