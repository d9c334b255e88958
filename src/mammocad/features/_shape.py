"""Shape helpers shared by the calcification and mass features."""

from __future__ import annotations

import math

import numpy as np

from mammocad.errors import FeatureError


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


def positive_bbox(values: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """Bounding box of ``values > 0`` (True for a boolean array) grown by ``margin``, clipped to
    the array; None if there is no such value.

    Scans the whole array once by rows, then only the band of rows found: no
    full-size temporary.
    """
    if values.dtype == np.bool_:
        rows = np.flatnonzero(values.any(axis=1))
    else:
        rows = np.flatnonzero(values.max(axis=1) > 0) if values.size else np.zeros(0, dtype=np.intp)
    if rows.size == 0:
        return None
    band = values[rows[0] : rows[-1] + 1]
    cols = np.flatnonzero(band.any(axis=0) if band.dtype == np.bool_ else band.max(axis=0) > 0)
    r0, r1 = max(int(rows[0]) - margin, 0), min(int(rows[-1]) + margin + 1, values.shape[0])
    c0, c1 = max(int(cols[0]) - margin, 0), min(int(cols[-1]) + margin + 1, values.shape[1])
    return slice(r0, r1), slice(c0, c1)


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a 1-D array; by counting for small non-negative integers."""
    if values.dtype.kind == "u" or (values.dtype.kind == "i" and values.size and values.min() >= 0):
        if values.size and int(values.max()) < 65536:
            cum = np.cumsum(np.bincount(values.astype(np.intp, copy=False)))
            n = values.size
            low = int(np.searchsorted(cum, (n - 1) // 2, side="right"))
            high = int(np.searchsorted(cum, n // 2, side="right"))
            return float(np.mean(np.array([low, high], dtype=np.float64)))
    return float(np.median(values))


def _pad(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """``np.pad(a, ((before, after), (before, after)))`` with zeros, without its overhead."""
    out = np.zeros((a.shape[0] + before + after, a.shape[1] + before + after), dtype=a.dtype)
    out[before : before + a.shape[0], before : before + a.shape[1]] = a
    return out


def within_distance(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels whose Euclidean distance to the nearest True pixel of ``mask`` is at most ``radius``.

    Equal to ``scipy.ndimage.distance_transform_edt(~mask) <= radius`` (whose distances
    are ``sqrt`` of exact integer squares), without a distance per pixel: each run of
    mask pixels along a row reaches, on the row ``dy`` away, the columns within
    ``sqrt(r² - dy²)`` of it, and the union of these intervals is painted row by
    row. Every True pixel of ``mask`` is included.
    """
    h, w = mask.shape
    # The largest integer squared distance d with sqrt(d) <= radius, as float64 sqrt compares.
    limit = int(math.floor(radius * radius))
    while math.sqrt(float(limit + 1)) <= radius:
        limit += 1
    while limit >= 0 and math.sqrt(float(limit)) > radius:
        limit -= 1
    if limit < 0:
        return np.zeros((h, w), dtype=bool)
    gmax = math.isqrt(limit)
    # Runs of mask pixels along the rows: (row, first column, last column).
    edges = np.zeros((h, w + 1), dtype=np.int8)
    edges[:, :w] = mask
    edges[:, 1:] -= mask
    edge_rows, edge_cols = np.nonzero(edges)
    if edge_rows.size == 0:
        return np.zeros((h, w), dtype=bool)
    # Along each row starts (+1) and stops (-1, one past a run's end) alternate: the k-th
    # start and the k-th stop in raster order bound the same run.
    is_start = edges[edge_rows, edge_cols] == 1
    run_rows, starts, stops = edge_rows[is_start], edge_cols[is_start], edge_cols[~is_start]
    # Row y + dy is within reach of a run on row y where |x - run| <= sqrt(limit - dy²).
    dy = np.arange(-gmax, gmax + 1)
    side = np.array([math.isqrt(limit - d * d) for d in dy.tolist()])
    rows = run_rows[:, None] + dy[None]
    keep = (rows >= 0) & (rows < h)
    lo = np.maximum(starts[:, None] - side[None], 0)[keep]
    hi = np.minimum(stops[:, None] - 1 + side[None], w - 1)[keep]
    rows = rows[keep]
    stride = w + 1
    size = h * stride
    base = rows * stride
    cover = np.bincount(base + lo, minlength=size) - np.bincount(base + hi + 1, minlength=size)
    return np.cumsum(cover.reshape(h, stride), axis=1)[:, :w] > 0


def boundary_pixels(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (an 8-connected, one-pixel outline)."""
    p = _pad(mask, 1, 1)
    interior = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~interior


def circularity(area: float, perimeter: float) -> float:
    """``min(1, 4πA/P²)``; 1 for a zero perimeter (a single pixel)."""
    if perimeter <= 0:
        return 1.0
    return float(min(1.0, 4.0 * math.pi * area / perimeter**2))


def radial_cv(boundary: np.ndarray, centre: tuple[float, float]) -> float:
    """Normalised radial-length deviation: std/mean of the distances from ``centre`` to the
    True pixels of ``boundary`` (an object's outline); 0 when they all coincide with it."""
    cy, cx = centre
    br, bc = np.nonzero(boundary)
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
    q = _pad(labels, 2, 1)
    a, b, c, d = q[1:, 1:], q[:-1, 1:], q[1:, :-1], q[:-1, :-1]
    code = (a > 0) + 2 * (b > 0) + 4 * (c > 0) + 8 * (d > 0)
    owner = np.maximum(np.maximum(a, b), np.maximum(c, d))
    keep = owner > 0
    weights = _CROFTON4[code[keep]]
    return np.bincount(owner[keep], weights=weights, minlength=count + 1)[1:]


def crofton_perimeter(mask: np.ndarray) -> float:
    """:func:`crofton_perimeters` of a boolean image taken as one object (from the histogram
    of its 2x2 configurations, as ``skimage.measure.perimeter_crofton``)."""
    q = _pad(mask, 2, 1).view(np.uint8)
    code = q[1:, 1:] + 2 * q[:-1, 1:] + 4 * q[1:, :-1] + 8 * q[:-1, :-1]
    return float(_CROFTON4 @ np.bincount(code.ravel(), minlength=16))


def radial_cvs(labels: np.ndarray, centroids: np.ndarray, count: int) -> np.ndarray:
    """:func:`radial_cv` of every label ``1 … count`` at once (labels must not touch)."""
    # A pixel is on its calcification's outline if a 4-neighbour has another label (or none).
    p = _pad(labels, 1, 1)
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
    return area, np.column_stack([my, mx]), half_trace + root, np.clip(half_trace - root, 0.0, None)
