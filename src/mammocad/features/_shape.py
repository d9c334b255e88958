"""Shape helpers shared by the calcification and mass features."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import ConvexHull, QhullError

from mammocad.errors import FeatureError

# 4-connected structuring element: the boundary it leaves is 8-connected, one pixel thick.
_CROSS = ndi.generate_binary_structure(2, 1)


def check_spacing(pixel_spacing_mm: float | None) -> float:
    """Return the spacing as a float, or raise FeatureError if it is unusable."""
    try:
        s = float(pixel_spacing_mm)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FeatureError(
            f"pixel_spacing_mm must be a positive number of millimetres, got {pixel_spacing_mm!r}"
        ) from None
    if not (math.isfinite(s) and s > 0):
        raise FeatureError(
            f"pixel_spacing_mm must be a positive number of millimetres, got {pixel_spacing_mm!r}"
        )
    return s


def check_image(image: np.ndarray, other: np.ndarray, other_name: str) -> np.ndarray:
    """Check ``image`` is 2-D, real and shaped like ``other``; return it as an array."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise FeatureError(f"image must be 2-D, got shape {image.shape}")
    if image.dtype.kind not in "uif":
        raise FeatureError(f"image must hold real grey values, got dtype {image.dtype}")
    if np.shape(other) != image.shape:
        raise FeatureError(f"{other_name} shape {np.shape(other)} differs from image shape {image.shape}")
    return image


def check_finite(values: np.ndarray, what: str) -> None:
    """Raise FeatureError if grey values that a feature uses are NaN or infinite."""
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise FeatureError(f"{what} contains NaN or infinite grey values")


def bbox_slices(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Bounding box of the True pixels of ``mask`` grown by ``margin``, clipped to the array."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1 = max(int(rows[0]) - margin, 0), min(int(rows[-1]) + margin + 1, mask.shape[0])
    c0, c1 = max(int(cols[0]) - margin, 0), min(int(cols[-1]) + margin + 1, mask.shape[1])
    return slice(r0, r1), slice(c0, c1)


def boundary_pixels(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (an 8-connected, one-pixel outline)."""
    p = np.pad(mask, 1)
    interior = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~interior


def circularity(area: float, perimeter: float) -> float:
    """``min(1, 4πA/P²)``; 1 for a zero perimeter (a single pixel)."""
    if perimeter <= 0:
        return 1.0
    return float(min(1.0, 4.0 * math.pi * area / perimeter**2))


def radial_cv(
    region: np.ndarray, *, boundary: np.ndarray | None = None, centre: tuple[float, float] | None = None
) -> float:
    """Normalised radial-length deviation: std/mean of centroid-to-boundary distances.

    ``region`` is a boolean image of one object; boundary pixels are those with a
    4-neighbour outside it. 0 when all boundary pixels coincide with the centroid.
    """
    if centre is None:
        rr, cc = np.nonzero(region)
        if rr.size == 0:
            return 0.0
        centre = (rr.mean(), cc.mean())
    cy, cx = centre
    br, bc = np.nonzero(boundary_pixels(region) if boundary is None else boundary)
    d = np.hypot(br - cy, bc - cx)
    mean = float(d.mean())
    if mean <= 0:
        return 0.0
    return float(d.std() / mean)


# Crofton weights of the 16 2x2 pixel configurations, 4 directions (as scikit-image).
_CROFTON4 = np.array(
    [
        0,
        np.pi / 4 * (1 + 1 / np.sqrt(2)),
        np.pi / (4 * np.sqrt(2)),
        np.pi / (2 * np.sqrt(2)),
        0,
        np.pi / 4 * (1 + 1 / np.sqrt(2)),
        0,
        np.pi / (4 * np.sqrt(2)),
        np.pi / 4,
        np.pi / 2,
        np.pi / (4 * np.sqrt(2)),
        np.pi / (4 * np.sqrt(2)),
        np.pi / 4,
        np.pi / 2,
        0,
        0,
    ]
)


def crofton_perimeters(labels: np.ndarray, count: int) -> np.ndarray:
    """Crofton perimeter (4 directions) of every label ``1 … count`` at once.

    Equal to ``skimage.measure.perimeter_crofton(labels == k, 4)`` for labels that do
    not touch one another (8-connected components): each 2x2 window then holds one label.
    """
    q = np.pad(labels, ((2, 1), (2, 1)))
    a, b, c, d = q[1:, 1:], q[:-1, 1:], q[1:, :-1], q[:-1, :-1]
    code = (a > 0) + 2 * (b > 0) + 4 * (c > 0) + 8 * (d > 0)
    owner = np.maximum(np.maximum(a, b), np.maximum(c, d))
    keep = owner > 0
    weights = _CROFTON4[code[keep]]
    return np.bincount(owner[keep], weights=weights, minlength=count + 1)[1:]


def radial_cvs(labels: np.ndarray, centroids: np.ndarray, count: int) -> np.ndarray:
    """:func:`radial_cv` of every label ``1 … count`` at once (labels must not touch)."""
    # A pixel is on its calcification's outline if a 4-neighbour has another label (or none).
    p = np.pad(labels, 1)
    centre = p[1:-1, 1:-1]
    same = (
        (centre == p[:-2, 1:-1])
        & (centre == p[2:, 1:-1])
        & (centre == p[1:-1, :-2])
        & (centre == p[1:-1, 2:])
    )
    br, bc = np.nonzero((centre > 0) & ~same)
    k = labels[br, bc] - 1
    d = np.hypot(br - centroids[k, 0], bc - centroids[k, 1])
    n = np.bincount(k, minlength=count).astype(np.float64)
    mean = np.bincount(k, weights=d, minlength=count) / n
    var = np.clip(np.bincount(k, weights=d * d, minlength=count) / n - mean**2, 0.0, None)
    return np.where(mean > 0, np.sqrt(var) / np.where(mean > 0, mean, 1.0), 0.0)


_CORNERS = np.array([(-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5)])
_DIAMOND = np.array([(-0.5, 0.0), (0.5, 0.0), (0.0, -0.5), (0.0, 0.5)])


def _minkowski_hull(rows: np.ndarray, cols: np.ndarray, offsets: np.ndarray):  # noqa: ANN202
    """Convex hull of the points ``(rows, cols) + offsets``.

    The hull of a Minkowski sum is the sum of the hulls, so only the vertices of the
    hull of the pixel centres need their offsets: far fewer points for Qhull.
    """
    pts = np.column_stack([rows, cols]).astype(np.float64)
    if len(pts) >= 3:
        try:
            pts = pts[ConvexHull(pts).vertices]
        except QhullError:  # collinear centres: keep them all
            pass
    return ConvexHull((pts[:, None, :] + offsets[None]).reshape(-1, 2))


def unit_square_hull(rows: np.ndarray, cols: np.ndarray):  # noqa: ANN201 - scipy ConvexHull
    """Convex hull of pixels taken as unit squares (their corners)."""
    return _minkowski_hull(np.asarray(rows), np.asarray(cols), _CORNERS)


def moments(rows: np.ndarray, cols: np.ndarray, k: np.ndarray, count: int):  # noqa: ANN201
    """Areas, centroids (row, col) and covariance eigenvalues (big, small) per label index ``k``."""
    area = np.bincount(k, minlength=count).astype(np.float64)
    my = np.bincount(k, rows, minlength=count) / area
    mx = np.bincount(k, cols, minlength=count) / area
    dy, dx = rows - my[k], cols - mx[k]
    syy = np.bincount(k, dy * dy, minlength=count) / area
    sxx = np.bincount(k, dx * dx, minlength=count) / area
    sxy = np.bincount(k, dy * dx, minlength=count) / area
    half_trace = (syy + sxx) / 2.0
    root = np.sqrt(((syy - sxx) / 2.0) ** 2 + sxy**2)
    return area, np.c_[my, mx], half_trace + root, np.clip(half_trace - root, 0.0, None)


def convex_area_px(mask: np.ndarray, boundary: np.ndarray | None = None) -> int:
    """Number of pixels of ``skimage.morphology.convex_hull_image(mask)``, by scanlines.

    As scikit-image: the hull of the mid-points of the pixel edges, and every pixel
    centre inside or on it; counted row by row instead of testing every pixel.
    """

    rr, cc = np.nonzero(boundary_pixels(mask) if boundary is None else boundary)
    hull = _minkowski_hull(rr, cc, _DIAMOND)
    _, lo, hi = _scanlines(hull.points[hull.vertices])
    counts = np.floor(hi + 1e-9) - np.ceil(lo - 1e-9) + 1
    return int(np.clip(counts, 0, None).sum())


def _scanlines(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer rows crossing a convex polygon (vertices in order) and its extent on each."""
    y0, x0 = v[:, 0], v[:, 1]
    y1, x1 = np.roll(y0, -1), np.roll(x0, -1)
    rows = np.arange(math.ceil(y0.min() - 1e-9), math.floor(y0.max() + 1e-9) + 1, dtype=np.float64)
    dy = y1 - y0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (rows[:, None] - y0[None]) / dy[None]
    slanted = (dy != 0)[None] & (t >= -1e-9) & (t <= 1 + 1e-9)
    xs = x0[None] + np.clip(np.nan_to_num(t), 0, 1) * (x1 - x0)[None]
    flat = (dy == 0)[None] & (np.abs(rows[:, None] - y0[None]) < 1e-9)
    lo = np.minimum(
        np.where(slanted, xs, np.inf).min(axis=1),
        np.where(flat, np.minimum(x0, x1)[None], np.inf).min(axis=1),
    )
    hi = np.maximum(
        np.where(slanted, xs, -np.inf).max(axis=1),
        np.where(flat, np.maximum(x0, x1)[None], -np.inf).max(axis=1),
    )
    return rows.astype(np.int64), lo, hi


def hull_mask(vertices: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels of an array of ``shape`` whose centres lie inside or on a convex polygon."""
    rows, lo, hi = _scanlines(vertices)
    keep = (rows >= 0) & (rows < shape[0])
    out = np.zeros(shape, dtype=bool)
    cols = np.arange(shape[1])
    out[rows[keep]] = (cols[None] >= np.ceil(lo[keep] - 1e-9)[:, None]) & (
        cols[None] <= np.floor(hi[keep] + 1e-9)[:, None]
    )
    return out
