"""Shape helpers shared by the calcification and mass features."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

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


def positive_bbox(values: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """:func:`bbox_slices` of ``values > 0`` (True for a boolean array), or None if there is none.

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
    if not mask.any():
        return np.zeros((h, w), dtype=bool)
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
    run_rows, starts = np.nonzero(edges == 1)
    _, stops = np.nonzero(edges == -1)  # one past each run's end, in the same order
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


def _chain(ys: list[int], xs: list[int]) -> list[int]:
    """Indices of the vertices of the concave majorant of ``(ys, xs)`` (``ys`` increasing).

    Andrew's monotone chain on integer coordinates (exact): points on or below the
    chord of their neighbours are dropped.
    """
    hull: list[int] = []
    for i, (y, x) in enumerate(zip(ys, xs, strict=True)):
        while len(hull) >= 2:
            j, k = hull[-2], hull[-1]
            if (xs[k] - xs[j]) * (y - ys[j]) <= (x - xs[j]) * (ys[k] - ys[j]):
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def _chain_of(ys: np.ndarray, xs: np.ndarray, passes: int = 3) -> list[int]:
    """:func:`_chain` of int64 arrays, after dropping in bulk the points under the chord of
    their two neighbours (never a vertex), a few times over: fewer points for the loop."""
    idx = np.arange(ys.size)
    for _ in range(passes):
        if idx.size < 48:
            break
        y, x = ys[idx], xs[idx]
        under = (x[1:-1] - x[:-2]) * (y[2:] - y[:-2]) <= (x[2:] - x[:-2]) * (y[1:-1] - y[:-2])
        if not under.any():
            break
        keep = np.ones(idx.size, dtype=bool)
        keep[1:-1] = ~under
        idx = idx[keep]
    sub = _chain(ys[idx].tolist(), xs[idx].tolist())
    return idx[sub].tolist()


@dataclass(frozen=True)
class RowHull:
    """Convex hull of the pixel centres of one object, described by its rows.

    ``rows`` are the rows the object occupies, ``left``/``right`` its first and last
    column on each; ``right_v``/``left_v`` index the vertices of the hull's right
    (concave) and left (convex) chains among them.
    """

    rows: np.ndarray
    left: np.ndarray
    right: np.ndarray
    left_v: list[int]
    right_v: list[int]

    @property
    def area(self) -> float:
        """Area of the hull of the pixel centres (0 for a point or a segment)."""
        return _chain_integral(self.rows, self.right, self.right_v) - _chain_integral(
            self.rows, self.left, self.left_v
        )

    @property
    def perimeter(self) -> float:
        """Perimeter of the hull of the pixel centres (twice the length of a segment)."""
        return (
            _chain_length(self.rows, self.right, self.right_v)
            + _chain_length(self.rows, self.left, self.left_v)
            + float(self.right[0] - self.left[0])
            + float(self.right[-1] - self.left[-1])
        )

    def extents(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every integer row from the first to the last, and the hull's left and right edge on it."""
        y = np.arange(int(self.rows[0]), int(self.rows[-1]) + 1, dtype=np.float64)
        lo = np.interp(y, self.rows[self.left_v], self.left[self.left_v])
        hi = np.interp(y, self.rows[self.right_v], self.right[self.right_v])
        return y.astype(np.int64), lo, hi


def _chain_integral(rows: np.ndarray, xs: np.ndarray, v: list[int]) -> float:
    y, x = rows[v].astype(np.float64), xs[v].astype(np.float64)
    return float(np.sum(np.diff(y) * (x[1:] + x[:-1])) / 2.0)


def _chain_length(rows: np.ndarray, xs: np.ndarray, v: list[int]) -> float:
    y, x = rows[v].astype(np.float64), xs[v].astype(np.float64)
    return float(np.hypot(np.diff(y), np.diff(x)).sum())


def _row_groups(rows: np.ndarray, cols: np.ndarray, k: np.ndarray | None, count: int):  # noqa: ANN202
    """First and last column of every (label, row), and where each label's rows start."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if k is None or count == 1:
        key, c = rows, cols
    else:
        height = int(rows.max()) + 1
        key = np.asarray(k, dtype=np.int64) * height + rows
        order = np.argsort(key, kind="stable")  # keeps columns increasing within a row
        key, c = key[order], cols[order]
    change = np.ones(key.size, dtype=bool)
    np.not_equal(key[1:], key[:-1], out=change[1:])
    first = np.flatnonzero(change)
    last = np.empty_like(first)
    last[:-1] = first[1:] - 1
    last[-1] = key.size - 1
    gkey, left, right = key[first], c[first], c[last]
    if k is None or count == 1:
        return gkey, left, right, [0, gkey.size]
    obj = gkey // height
    return gkey - obj * height, left, right, np.searchsorted(obj, np.arange(count + 1)).tolist()


def row_hulls(
    rows: np.ndarray, cols: np.ndarray, k: np.ndarray | None = None, count: int = 1
) -> list[RowHull]:
    """Convex hulls of the pixel centres of labels ``k = 0 … count-1``, in one pass.

    ``rows``/``cols`` are the pixels in raster order (as :func:`numpy.nonzero` gives
    them); ``k`` their label index (all 0 when omitted). Only the first and last
    pixel of each row of each object can be hull vertices, so the hull is built
    from those, exactly, by a monotone chain on each side.
    """
    grow, left, right, bounds = _row_groups(rows, cols, k, count)
    hulls = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        ys, ls, rs = grow[a:b], left[a:b], right[a:b]
        hulls.append(
            RowHull(rows=ys, left=ls, right=rs, left_v=_chain_of(ys, -ls), right_v=_chain_of(ys, rs))
        )
    return hulls


def unit_square_hull_areas(rows: np.ndarray, cols: np.ndarray, k: np.ndarray, count: int) -> np.ndarray:
    """:func:`unit_square_hull_area` of every label ``k = 0 … count-1`` (pixels in raster order).

    The same hulls as :func:`row_hulls`, with their areas summed in exact integer
    arithmetic (twice the area is an integer) and no per-object arrays.
    """
    grow, left, right, bounds = _row_groups(rows, cols, k, count)
    grow_l, left_l, right_l = grow.tolist(), left.tolist(), right.tolist()
    neg_left = [-x for x in left_l]
    out = np.empty(count)
    for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        ys, rs, ls = grow_l[a:b], right_l[a:b], left_l[a:b]
        twice = 0  # twice the area of the hull of the centres: right chain minus left chain
        v = _chain(ys, rs)
        for p, q in zip(v[:-1], v[1:], strict=True):
            twice += (ys[q] - ys[p]) * (rs[p] + rs[q])
        v = _chain(ys, neg_left[a:b])
        for p, q in zip(v[:-1], v[1:], strict=True):
            twice -= (ys[q] - ys[p]) * (ls[p] + ls[q])
        out[j] = twice / 2.0 + (max(rs) - min(ls)) + (ys[-1] - ys[0]) + 1.0
    return out


def mask_hull(mask: np.ndarray) -> RowHull:
    """:func:`row_hulls` of the True pixels of a boolean image taken as one object."""
    present = mask.any(axis=1)
    rows = np.flatnonzero(present)
    sub = mask[rows]
    left = np.argmax(sub, axis=1).astype(np.int64)
    right = (mask.shape[1] - 1 - np.argmax(sub[:, ::-1], axis=1)).astype(np.int64)
    rows = rows.astype(np.int64)
    return RowHull(
        rows=rows, left=left, right=right, left_v=_chain_of(rows, -left), right_v=_chain_of(rows, right)
    )


def unit_square_hull_area(hull: RowHull) -> float:
    """Area of the convex hull of the object's pixels taken as unit squares.

    The hull of the squares is the hull ``P`` of the centres grown by a unit square
    (a Minkowski sum): area ``A(P) + width(P) + height(P) + 1``.
    """
    width = float(np.max(hull.right) - np.min(hull.left))
    height = float(hull.rows[-1] - hull.rows[0])
    return hull.area + width + height + 1.0


def unit_square_hull_perimeter(hull: RowHull) -> float:
    """Perimeter of the convex hull of the pixels as unit squares: ``perimeter(P) + 4``."""
    return hull.perimeter + 4.0


def _grown_extents(hull: RowHull, reach: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extent, on every integer row, of the hull of the centres grown by a unit square or diamond.

    The grown shape reaches 1/2 sideways at the centre's row and ``reach`` (1/2 for
    the square, 0 for the diamond) at half a row above and below. The hull is
    linear between integer rows, so its grown edge on row ``y`` is the largest of
    its edge on ``y`` pushed out by 1/2 and its edges on ``y ± 1/2`` pushed out by
    ``reach``.
    """
    y, lo, hi = hull.extents()
    hi_half, lo_half = hi.copy(), lo.copy()
    if y.size > 1:
        hi_mid = (hi[1:] + hi[:-1]) / 2.0  # the edge half a row below y, above y + 1
        lo_mid = (lo[1:] + lo[:-1]) / 2.0
        hi_half[1:] = np.maximum(hi_half[1:], hi_mid)
        hi_half[:-1] = np.maximum(hi_half[:-1], hi_mid)
        lo_half[1:] = np.minimum(lo_half[1:], lo_mid)
        lo_half[:-1] = np.minimum(lo_half[:-1], lo_mid)
    right = np.maximum(hi + 0.5, hi_half + reach)
    left = np.minimum(lo - 0.5, lo_half - reach)
    return y, left, right


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


def convex_area_px(mask: np.ndarray, boundary: np.ndarray | None = None) -> int:
    """Number of pixels of ``skimage.morphology.convex_hull_image(mask)``, by scanlines.

    As scikit-image: the hull of the mid-points of the pixel edges (the hull of the
    centres grown by a diamond of radius 1/2), and every pixel centre inside or on it;
    counted row by row instead of testing every pixel. ``boundary`` (the outline
    pixels, optional) gives the same hull with fewer pixels.
    """
    return convex_area_of(mask_hull(np.asarray(mask if boundary is None else boundary, dtype=bool)))


def convex_area_of(hull: RowHull) -> int:
    """:func:`convex_area_px` of an object whose :class:`RowHull` is known."""
    _, lo, hi = _grown_extents(hull, 0.0)
    counts = np.floor(hi + 1e-9) - np.ceil(lo - 1e-9) + 1
    return int(np.clip(counts, 0, None).sum())


def unit_square_hull_mask(hull: RowHull, shape: tuple[int, int]) -> np.ndarray:
    """Pixels of an array of ``shape`` whose centres lie inside or on the hull of the object's squares."""
    rows, lo, hi = _grown_extents(hull, 0.5)
    keep = (rows >= 0) & (rows < shape[0])
    out = np.zeros(shape, dtype=bool)
    cols = np.arange(shape[1])
    out[rows[keep]] = (cols[None] >= np.ceil(lo[keep] - 1e-9)[:, None]) & (
        cols[None] <= np.floor(hi[keep] + 1e-9)[:, None]
    )
    return out
