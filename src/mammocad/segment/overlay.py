"""Overlay figures in the style of the paper's Figures 1-3.

The mammogram in grey; the ROI circle in cyan; the mass contour in red; each
calcification outlined in yellow; and, in the corner farthest from the ROI, a
zoomed-in inset of the ROI drawn at the inset's own resolution so that outlines
of sub-millimetre calcifications stay visible.

:func:`render_candidates` (or ``render_overlay(..., candidates=...)``) draws the
automatic candidates: one circle per candidate, green for a calcification cluster
and orange for a mass, labelled with its rank, kind and score, and optionally the
outline of the breast region that was searched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI, to_uint8
from mammocad.segment.calcifications import CalcificationSegmentation
from mammocad.segment.candidates import Candidate
from mammocad.segment.mass import MassSegmentation

__all__ = [
    "render_overlay",
    "render_candidates",
    "ROI_COLOUR",
    "MASS_COLOUR",
    "CALCIFICATION_COLOUR",
    "CANDIDATE_COLOURS",
    "BREAST_COLOUR",
]

ROI_COLOUR = (0, 220, 255)
MASS_COLOUR = (255, 40, 40)
CALCIFICATION_COLOUR = (255, 230, 0)
#: Circle and label colour of a candidate, by kind.
CANDIDATE_COLOURS = {"calcification": (60, 255, 60), "mass": (255, 140, 0)}
#: Outline of the searched breast region.
BREAST_COLOUR = (90, 110, 255)


def render_overlay(
    image: np.ndarray,
    roi: ROI | None,
    calcifications: CalcificationSegmentation | None = None,
    mass: MassSegmentation | None = None,
    *,
    inset: bool = True,
    inset_fraction: float = 0.4,
    candidates: Sequence[Candidate] | None = None,
    breast: np.ndarray | None = None,
) -> np.ndarray:
    """Draw segmentations (and, optionally, the automatic candidates) over a mammogram.

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
    candidates : sequence of Candidate, optional
        Drawn as by :func:`render_candidates` (under the inset).
    breast : ndarray of bool, optional
        Outline of the searched region, drawn with the candidates.

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
    if candidates is not None or breast is not None:
        out = _draw_candidates(out, list(candidates or ()), breast, thick)

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


def render_candidates(
    image: np.ndarray,
    candidates: Sequence[Candidate],
    *,
    breast: np.ndarray | None = None,
) -> np.ndarray:
    """Draw every candidate with its rank, kind and score.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey mammogram (any numeric dtype). Not modified.
    candidates : sequence of Candidate
        As returned by :func:`~mammocad.segment.detect_candidates` (best first);
        each is drawn as its ROI circle (green: calcification cluster, orange:
        mass) labelled ``"#rank kind score"``, e.g. ``"#1 mass 0.83"``.
    breast : ndarray of bool, optional
        Region that was searched; its outline is drawn in blue.

    Returns
    -------
    ndarray of uint8, shape (rows, cols, 3)

    Raises
    ------
    SegmentationError
        If the image is not a 2-D numeric array, ``breast`` does not match it or a
        candidate is of an unknown kind.

    Examples
    --------
    >>> import numpy as np
    >>> from mammocad.io import ROI
    >>> rgb = render_candidates(np.zeros((64, 64)), [Candidate("mass", ROI(32, 32, 10), 0.5)])
    >>> rgb.shape, bool((rgb == CANDIDATE_COLOURS["mass"]).all(axis=-1).any())
    ((64, 64, 3), True)
    """
    return render_overlay(image, None, candidates=list(candidates), breast=breast, inset=False)


def _draw_candidates(
    out: np.ndarray, candidates: list[Candidate], breast: np.ndarray | None, thick: int
) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont
    from scipy import ndimage as ndi
    from skimage.segmentation import find_boundaries

    rows, cols = out.shape[:2]
    if breast is not None:
        region = np.asarray(breast)
        if region.shape != (rows, cols):
            raise SegmentationError(f"breast: shape {region.shape} does not match the image's {(rows, cols)}")
        edge = find_boundaries(region.astype(bool), mode="inner")
        if thick > 1:
            edge = ndi.binary_dilation(edge, iterations=thick - 1)
        out[edge] = BREAST_COLOUR
    for cand in candidates:
        if not isinstance(cand, Candidate) or cand.kind not in CANDIDATE_COLOURS:
            raise SegmentationError(f"candidates: expected Candidate values of a known kind, got {cand!r}")
        _circle(out, cand.roi, CANDIDATE_COLOURS[cand.kind], thick)
    if not candidates:
        return out
    picture = Image.fromarray(out)
    draw = ImageDraw.Draw(picture)
    size = max(8, int(round(min(rows, cols) / 48)))
    font = ImageFont.load_default(size=size)
    placed: list[tuple[float, float, float, float]] = []
    for rank, cand in enumerate(candidates, start=1):
        text = f"#{rank} {'calc' if cand.kind == 'calcification' else cand.kind} {cand.score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        w, h = right - left, bottom - top
        x, y, r = cand.roi.x, cand.roi.y, cand.roi.radius
        # above the circle, below it, to its right, to its left: the first spot free of
        # the labels already written (better candidates' labels win)
        spots = [
            (x - w / 2, y - r - h - 3),
            (x - w / 2, y + r + 3),
            (x + r + 3, y - h / 2),
            (x - r - w - 3, y - h / 2),
        ]
        boxes = []
        for sx, sy in spots:
            sx = float(np.clip(sx, 0, max(cols - w - 1, 0)))
            sy = float(np.clip(sy, 0, max(rows - h - 1, 0)))
            boxes.append((sx, sy, sx + w, sy + h))
        free = [b for b in boxes if not any(_overlap(b, p) for p in placed)]
        box = free[0] if free else boxes[0]
        placed.append(box)
        draw.text(
            (box[0] - left, box[1] - top),
            text,
            font=font,
            fill=CANDIDATE_COLOURS[cand.kind],
            stroke_width=max(1, size // 10),
            stroke_fill=(0, 0, 0),
        )
    return np.asarray(picture).copy()


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
