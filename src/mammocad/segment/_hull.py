"""Convex hulls of pixel sets on the grid, exact and without Qhull.

One definition of the **cluster hull** serves segmentation and features:
:func:`cluster_hull` gives the pixels whose centres lie in the convex hull of a set
of pixels taken as unit squares. :attr:`mammocad.segment.Cluster.area_mm2` is its
pixel count times the pixel area; the calcification features use it as the hull
``H`` (``calc_density_per_cm2``, ``calc_volume_ratio``). Taking pixels as squares,
not as points, gives one- and two-pixel objects and collinear pixels a hull with an
area (Qhull refuses them) and makes the hull of one pixel that pixel.

The hulls are built exactly from each object's first and last pixel on every row
(only those can be vertices) by integer monotone chains, then rasterised row by
row: no per-pixel point-in-polygon test and no floating-point predicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RowHull",
    "mask_hull",
    "pixels_hull",
    "cluster_hull",
    "unit_square_hull_areas",
    "unit_square_hull_perimeter",
    "unit_square_hull_mask",
    "convex_area_of",
]


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


def _chain_length(rows: np.ndarray, xs: np.ndarray, v: list[int]) -> float:
    y, x = rows[v].astype(np.float64), xs[v].astype(np.float64)
    return float(np.hypot(np.diff(y), np.diff(x)).sum())


def mask_hull(mask: np.ndarray) -> RowHull:
    """The :class:`RowHull` of the True pixels of a boolean image taken as one object."""
    present = mask.any(axis=1)
    rows = np.flatnonzero(present)
    sub = mask[rows]
    left = np.argmax(sub, axis=1).astype(np.int64)
    right = (mask.shape[1] - 1 - np.argmax(sub[:, ::-1], axis=1)).astype(np.int64)
    rows = rows.astype(np.int64)
    return RowHull(
        rows=rows, left=left, right=right, left_v=_chain_of(rows, -left), right_v=_chain_of(rows, right)
    )


def _row_groups(rows: np.ndarray, cols: np.ndarray, k: np.ndarray | None, count: int):  # noqa: ANN202
    """First and last column of every (label, row), and where each label's rows start."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if count == 1:
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
    if count == 1:
        return gkey, left, right, [0, gkey.size]
    obj = gkey // height
    return gkey - obj * height, left, right, np.searchsorted(obj, np.arange(count + 1)).tolist()


def pixels_hull(rows: np.ndarray, cols: np.ndarray) -> RowHull:
    """The :class:`RowHull` of pixels given in raster order (as :func:`numpy.nonzero` gives them)."""
    grow, left, right, _ = _row_groups(rows, cols, None, 1)
    return RowHull(
        rows=grow, left=left, right=right, left_v=_chain_of(grow, -left), right_v=_chain_of(grow, right)
    )


def unit_square_hull_areas(rows: np.ndarray, cols: np.ndarray, k: np.ndarray, count: int) -> np.ndarray:
    """Area of the convex hull of each object's pixels taken as unit squares.

    The hull of the squares is the hull ``P`` of the centres grown by a unit square
    (a Minkowski sum): area ``A(P) + width(P) + height(P) + 1``, summed here in
    exact integer arithmetic (twice ``A(P)`` is an integer).

    Parameters
    ----------
    rows, cols : int ndarray
        The pixels in raster order (as :func:`numpy.nonzero` gives them).
    k : int ndarray
        Object index ``0 … count-1`` of each pixel.
    count : int

    Returns
    -------
    ndarray of float, shape (count,)
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


def convex_area_of(hull: RowHull) -> int:
    """Pixel count of ``skimage.morphology.convex_hull_image`` of the object, by scanlines.

    As scikit-image: the hull of the mid-points of the pixel edges (the hull of the
    centres grown by a diamond of radius 1/2), and every pixel centre inside or on it;
    counted row by row instead of testing every pixel.
    """
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


def cluster_hull(mask: np.ndarray, *, pixels: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The cluster hull: pixels whose centres lie in the convex hull of the True pixels as unit squares.

    Parameters
    ----------
    mask : bool ndarray, 2-D, with at least one True pixel
        The pixels of every member of the cluster.
    pixels : tuple of int ndarray, optional
        ``np.nonzero(mask)``, when the caller has it already.

    Returns
    -------
    bool ndarray, same shape
        Holds every True pixel of ``mask`` and lies within its bounding box.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((5, 5), bool); mask[0, 0] = mask[4, 4] = mask[0, 4] = True
    >>> cluster_hull(mask).astype(int)  # the squares' corners reach one diagonal further
    array([[1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1],
           [0, 1, 1, 1, 1],
           [0, 0, 1, 1, 1],
           [0, 0, 0, 1, 1]])
    """
    hull = mask_hull(mask) if pixels is None else pixels_hull(*pixels)
    return unit_square_hull_mask(hull, mask.shape)
