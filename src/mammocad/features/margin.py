"""Margin features of a mass: spicules, concavities, and how sharp its border is.

A spiculated or ill-defined margin is the strongest mammographic sign of a malignant
mass (BI-RADS), and the paper's 26 mass features barely see it. The seven features
here come from the literature of the field and form, with the paper's 41, the
``"extended"`` feature set (:mod:`mammocad.features.registry`); each is one function
of a :class:`~mammocad.features.mass.MassRegion`, declared with
:func:`~mammocad.features.spec.feature`:

=================================  ==========================================================
``mass_line_convergence``          Karssemeijer & te Brake (1996) *f1*: excess of line-like
                                   structure around the mass pointing at it (z-score)
``mass_line_convergence_spread``   Karssemeijer & te Brake (1996) *f2*: in how many directions
                                   that excess is found (z-score of the sector count)
``mass_radial_gradient_index``     Radial gradient index (Kupinski & Giger 1998, Huo et al.
                                   1995): how consistently the grey gradient across the margin
                                   points at the centre
``mass_acutance``                  Acutance (Rangayyan et al. 1997): grey step across the
                                   outline's normals, weighted towards the border, over the
                                   mass-surround contrast
``mass_spiculation_index``         Spiculation index (after Rangayyan et al. 2000):
                                   length-weighted narrowness ``(1 + cos θ)/2`` of the convex
                                   parts of the outline
``mass_fractional_concavity``      Fractional concavity (Rangayyan et al. 2000): share of the
                                   outline that is concave
``mass_radial_length_entropy``     Entropy of the normalised radial length (Kilday et al.
                                   1993): spread of centre-to-outline distances
=================================  ==========================================================

:func:`margin_features` computes the seven alone from ``(image, mask,
pixel_spacing_mm)``; ``mass_features(..., feature_set="extended")`` computes them with
the 26.

Geometry. ``R`` is the equivalent radius ``sqrt(A/π)`` of the mask (pixels) and ``c``
its centroid. Every length the features use is a fixed fraction of ``R``, so no value
depends on the pixel spacing (they are scale invariant up to resampling). They are
computed on a *canonical grid* (:class:`MarginGrid`): the mean grey level over each
cell of the lattice ``c + (i, j)·R/12`` (exact area weighting through a summed-area
table; ``i, j`` symmetric about 0), so that one equivalent radius is 12 grid steps
whatever the mass's size — the cost per lesion is bounded, and 90° rotations, flips
and integer translations map the grid onto itself (those invariances are exact). The
outline is the 0.5 iso-line of the mask's coverage of each cell (marching squares,
its longest), smoothed along its length by a Gaussian of 1.5 grid steps with
wrap-around, so that nothing depends on where it starts. The grid reaches ``2R`` from
the centroid and ``R/4`` plus the smoothing past the mask: beyond the image edge it
repeats the edge pixels, so a mass that close to the edge is measured on that
extension.

A mask of fewer than :data:`MIN_AREA_PX` pixels has no measurable margin: every
feature is 0 (as for an empty mask).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mammocad.features._shape import check_finite, positive_bbox
from mammocad.features.mass import MassRegion
from mammocad.features.spec import GAIN, GEOMETRIC, cached, feature

__all__ = ["MARGIN_FEATURES", "MIN_AREA_PX", "MarginGrid", "margin_features"]

#: Masks smaller than this (pixels) have no measurable margin: every feature is 0.
MIN_AREA_PX = 12

# The canonical grid: grid steps per equivalent radius R. Every length below is in
# grid steps (so in units of R/12).
_GRID_PER_R = 12
# Line convergence: the band about the centroid (from, to), the radius of the target disc about
# the centre that a line must cross, the scales of the line detector and the
# number of angular sectors (Karssemeijer & te Brake 1996 use 24).
_BAND_FROM = 6.0
_BAND_TO = 24.0
_BAND_FROM_R = _GRID_PER_R / _BAND_FROM  # R/2
_BAND_TO_R = _BAND_TO / _GRID_PER_R  # 2R
_TARGET = 6.0
_LINE_SIGMAS = (1.0, 2.0)
_SECTORS = 24
# Radial gradient index and contrast: half-width of the band along the contour; the
# gradient's scale.
_EDGE_BAND = 3.0
_GRADIENT_SIGMA = 1.0
# Acutance: samples along each normal on each side, and their spacing.
_ACUTANCE_SAMPLES = 6
_ACUTANCE_STEP = 0.5
# Outline: Gaussian smoothing along it, and the half-window of the turning test.
_SMOOTH = 1.5
_TURN = 3.0
_TURN_TOLERANCE = 0.05  # radians
_TIP = 3.0
# Bins of the radial-length histogram on [0, 1].
_RADIAL_BINS = 20


@dataclass(frozen=True)
class _Outline:
    """Closed outline on the grid, counter-clockwise as seen with rows pointing down."""

    points: np.ndarray  # (n, 2) (row, col) grid coordinates, smoothed
    weight: np.ndarray  # (n,) outline length each vertex stands for
    normal: np.ndarray  # (n, 2) outward unit normal (row, col)
    concave: np.ndarray  # (n,) bool
    narrow: np.ndarray  # (n,) (1 + cos θ)/2 of the angle at the vertex, 0 where not convex


@dataclass(frozen=True, eq=False)
class MarginGrid:
    """A mass resampled on its canonical grid (see the module docstring); made by :meth:`of`.

    Parameters
    ----------
    image : ndarray
        Mean grey level of each grid cell.
    mask : ndarray of bool
        Cells at least half covered by the mass.
    centre : (int, int)
        Grid index (row, col) of the centroid.
    inner, outer : ndarray
        Distance (grid steps) to the nearest cell outside / inside the mask.
    outline : _Outline or None
        The smoothed outline, None when it has fewer than 8 vertices.
    """

    image: np.ndarray
    mask: np.ndarray
    centre: tuple[int, int]
    inner: np.ndarray
    outer: np.ndarray
    outline: _Outline | None

    @classmethod
    def of(cls, image: np.ndarray, mask: np.ndarray) -> MarginGrid | None:
        """The grid of the mass ``mask`` (bool) in ``image``; None for fewer than
        :data:`MIN_AREA_PX` mask pixels. Inputs are not checked (see :func:`margin_features`)."""
        return _grid(image, mask)

    @cached
    def convergence(self) -> tuple[float, float]:
        """Karssemeijer & te Brake's *f1* and *f2*."""
        return _convergence(self)


def _along(a: np.ndarray, at: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``a`` along ``axis`` at the positions ``at`` (clamped to its ends)."""
    n = a.shape[axis]
    t = np.clip(at, 0.0, n - 1.0)
    i0 = np.minimum(t.astype(np.intp), n - 2)
    f = t - i0
    if axis == 0:
        return a[i0] * (1.0 - f)[:, None] + a[i0 + 1] * f[:, None]
    return a[:, i0] * (1.0 - f)[None, :] + a[:, i0 + 1] * f[None, :]


def _box_means(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, half_width: float) -> np.ndarray:
    """Mean of the pixel-constant image ``values`` over the square of half-width
    ``half_width`` (pixels) centred on every lattice point ``(rows[i], cols[j])``.

    Exact area weighting: the running sum along the rows is linear between pixel
    edges, so interpolating it gives each box's rows exactly; the same along the
    columns of the (small) result. A half-width of 0.5 is bilinear interpolation.
    Positions past the array see its running sums clamped (nothing beyond).
    """
    # Integer images sum exactly (and faster) in int64.
    dtype = np.int64 if values.dtype.kind in "biu" else np.float64
    down = np.zeros((values.shape[0] + 1, values.shape[1]), dtype=dtype)
    np.cumsum(values, axis=0, dtype=dtype, out=down[1:])
    # Pixel k covers [k - 0.5, k + 0.5]: the sum up to coordinate t is the running sum at t + 0.5.
    strips = _along(down, rows + half_width + 0.5, 0) - _along(down, rows - half_width + 0.5, 0)
    across = np.zeros((rows.size, values.shape[1] + 1))
    np.cumsum(strips, axis=1, out=across[:, 1:])
    total = _along(across, cols + half_width + 0.5, 1) - _along(across, cols - half_width + 0.5, 1)
    return total / (4.0 * half_width * half_width)


def _grid(image: np.ndarray, mask: np.ndarray) -> MarginGrid | None:
    """Resample the mass on ``c + (i, j)·R/12``, ``|i|, |j| <= half`` (None if too small)."""
    box = positive_bbox(mask, 0)
    if box is None:
        return None
    rs, cs = box
    m = mask[rs, cs]
    row_count = m.sum(axis=1, dtype=np.int64)
    col_count = m.sum(axis=0, dtype=np.int64)
    area = int(row_count.sum())
    if area < MIN_AREA_PX:
        return None
    cy = float(row_count @ np.arange(rs.start, rs.stop)) / area
    cx = float(col_count @ np.arange(cs.start, cs.stop)) / area
    step = math.sqrt(area / math.pi) / _GRID_PER_R  # pixels per grid step
    # The grid covers the mask's bounding box with the edge band and its smoothing, and
    # the line-convergence disc with its smoothing, symmetric about the centroid.
    around = _EDGE_BAND + 4 * _GRADIENT_SIGMA + 1
    disc = _BAND_TO + 4 * max(_LINE_SIGMAS) + 1
    half_r = int(math.ceil(max((max(cy - rs.start, rs.stop - 1 - cy) + 0.5) / step + around, disc)))
    half_c = int(math.ceil(max((max(cx - cs.start, cs.stop - 1 - cx) + 0.5) / step + around, disc)))
    off_r = np.arange(-half_r, half_r + 1) * step
    off_c = np.arange(-half_c, half_c + 1) * step
    # Each grid value is the mean over its own grid cell (at least one pixel wide).
    h = 0.5 * max(step, 1.0)
    pad = int(math.ceil(h)) + 1
    lo_r, hi_r = int(math.floor(cy + off_r[0])) - pad, int(math.ceil(cy + off_r[-1])) + pad + 1
    lo_c, hi_c = int(math.floor(cx + off_c[0])) - pad, int(math.ceil(cx + off_c[-1])) + pad + 1
    r0, r1 = max(lo_r, 0), min(hi_r, image.shape[0])
    c0, c1 = max(lo_c, 0), min(hi_c, image.shape[1])
    crop = image[r0:r1, c0:c1]
    check_finite(crop, "the image around the mass")
    edge = ((r0 - lo_r, hi_r - r1), (c0 - lo_c, hi_c - c1))
    if any(v > 0 for pair in edge for v in pair):  # the grid reaches past the image: extend it
        crop = np.pad(crop, edge, mode="edge")
        r0, c0 = lo_r, lo_c
    grid = _box_means(crop, cy - r0 + off_r, cx - c0 + off_c, h)
    # The mask's coverage needs only its bounding box (and a ring of zeros).
    m_pad = np.zeros((m.shape[0] + 2, m.shape[1] + 2), dtype=np.uint8)
    m_pad[1:-1, 1:-1] = m
    cover = _box_means(m_pad, cy - rs.start + 1 + off_r, cx - cs.start + 1 + off_c, h)
    gmask = cover >= 0.5
    if not gmask.any():
        return None
    return MarginGrid(
        image=grid,
        mask=gmask,
        centre=(half_r, half_c),
        inner=ndi.distance_transform_edt(gmask),
        outer=ndi.distance_transform_edt(~gmask),
        outline=_outline(cover),
    )


def _outline(cover: np.ndarray) -> _Outline | None:
    """Smoothed 0.5 iso-line of the mask's coverage on the grid (its longest), with normals
    and concavity."""
    from skimage.measure import find_contours

    # Only the rows and columns the mask touches (and a ring of zeros) hold the iso-line.
    rows = np.flatnonzero(cover.max(axis=1) > 0)
    cols = np.flatnonzero(cover.max(axis=0) > 0)
    r0, c0 = int(rows[0]), int(cols[0])
    contours = find_contours(np.pad(cover[r0 : rows[-1] + 1, c0 : cols[-1] + 1], 1), 0.5)
    raw = max(contours, key=len)[:-1] + np.array([r0 - 1.0, c0 - 1.0])
    n = len(raw)
    if n < 8:
        return None
    # Orient counter-clockwise in (x, y) = (col, -row): positive shoelace area.
    x, y = raw[:, 1], -raw[:, 0]
    if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
        raw = raw[::-1]
    mean_seg = float(np.hypot(*(np.roll(raw, -1, axis=0) - raw).T).mean())
    pts = ndi.gaussian_filter1d(raw, _SMOOTH / mean_seg, axis=0, mode="wrap")
    length = np.hypot(*(np.roll(pts, -1, axis=0) - pts).T)
    weight = 0.5 * (length + np.roll(length, 1))
    # Tangent (central difference); in (x, y) the outward normal of a counter-
    # clockwise outline is the tangent turned clockwise: (tx, ty) -> (ty, -tx).
    tan = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
    norm = np.hypot(tan[:, 0], tan[:, 1])
    norm[norm == 0] = 1.0
    tx, ty = tan[:, 1] / norm, -tan[:, 0] / norm
    normal = np.column_stack([tx, ty])  # (row, col) = (-(-tx), ty)
    # Turning between the chords to the points ± _TURN along the outline: concave
    # where it turns clockwise by more than the tolerance.
    k = max(1, int(round(_TURN / mean_seg)))
    a = pts - np.roll(pts, k, axis=0)
    b = np.roll(pts, -k, axis=0) - pts
    cross = a[:, 1] * -b[:, 0] + a[:, 0] * b[:, 1]  # ax·by - ay·bx in (x, y)
    dot = a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]
    turn = np.arctan2(cross, dot)
    # Angle at each vertex between the chords to the points ± _TIP along the outline
    # (π on a straight stretch, small at the tip of a narrow spicule); 0 where concave.
    k = max(1, int(round(_TIP / mean_seg)))
    u = np.roll(pts, k, axis=0) - pts
    v = np.roll(pts, -k, axis=0) - pts
    cos_tip = (u * v).sum(axis=1) / np.maximum(np.hypot(*u.T) * np.hypot(*v.T), 1e-12)
    narrow = np.where(turn > 0, 0.5 * (1.0 + cos_tip), 0.0)
    return _Outline(points=pts, weight=weight, normal=normal, concave=turn < -_TURN_TOLERANCE, narrow=narrow)


def _offsets(ctx: MarginGrid, where: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column offsets from the centre, and distance, of the True grid points."""
    jr, jc = np.nonzero(where)
    vr = (jr - ctx.centre[0]).astype(np.float64)
    vc = (jc - ctx.centre[1]).astype(np.float64)
    return vr, vc, np.hypot(vr, vc)


@functools.cache
def _kernel(sigma: float, order: int) -> np.ndarray:
    """Sampled Gaussian (derivative) kernel of scipy.ndimage.gaussian_filter1d, truncated at 4σ."""
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * (x / sigma) ** 2)
    phi /= phi.sum()
    if order == 1:
        phi = -x / sigma**2 * phi
    elif order == 2:
        phi = (x * x / sigma**4 - 1.0 / sigma**2) * phi
    # correlate1d correlates: flip so that the result is the convolution gaussian_filter gives.
    return phi[::-1].copy()


def _separable(image: np.ndarray, along_rows: np.ndarray, along_cols: np.ndarray) -> np.ndarray:
    """``image`` filtered by ``along_rows`` down its columns (axis 0), then ``along_cols`` (axis 1)."""
    out = ndi.correlate1d(image, along_rows, axis=0, mode="reflect")
    return ndi.correlate1d(out, along_cols, axis=1, mode="reflect")


def _line_orientation(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orientation θ of bright line-like structure (radians; direction (cos θ, sin θ) in
    (row, col)) and its scale-normalised strength (0 where there is no bright line).

    Hessian of Gaussian at each scale of ``_LINE_SIGMAS``; at each point the scale with the largest ``σ²·(-λ1)``
    wins, ``λ1 <= λ2`` the eigenvalues, counted only where ``λ1 < 0`` and
    ``|λ1| > |λ2|`` (across a bright line). The line runs along the eigenvector of ``λ2``.
    """
    best = np.zeros(image.shape)
    angle = np.zeros(image.shape)
    for sigma in _LINE_SIGMAS:
        # Sampled Gaussian-derivative kernels: orientations of noise come out uniform
        # (within 3 %); 3-point differences of a smoothed image favour the axes by 17 %.
        g0, g1, g2 = (_kernel(sigma, order) for order in (0, 1, 2))
        hrr = _separable(image, g2, g0)
        hcc = _separable(image, g0, g2)
        hrc = _separable(image, g1, g1)
        mean = 0.5 * (hrr + hcc)
        root = np.sqrt(0.25 * (hrr - hcc) ** 2 + hrc * hrc)
        l1, l2 = mean - root, mean + root
        strength = np.where((l1 < 0) & (-l1 > np.abs(l2)), -l1 * sigma * sigma, 0.0)
        better = strength > best
        best = np.where(better, strength, best)
        angle = np.where(better, 0.5 * np.arctan2(2.0 * hrc, hrr - hcc), angle)
    return angle, best


def _convergence(ctx: MarginGrid) -> tuple[float, float]:
    """Karssemeijer & te Brake's f1 and f2 on the band around the mass."""
    # The mass's own fall-off (grey level as a function of the signed distance to its
    # border) would read as radial lines to a Hessian: remove it first.
    signed = ctx.outer - ctx.inner
    lo = float(signed.min())
    bins = np.rint((signed - lo) * 2.0).astype(np.int64).ravel()
    counts = np.bincount(bins)
    sums = np.bincount(bins, weights=ctx.image.ravel())
    used = counts > 0
    centres = np.flatnonzero(used) / 2.0 + lo
    profile = np.interp(signed.ravel(), centres, sums[used] / counts[used]).reshape(signed.shape)
    residual = ctx.image - profile
    angle, strength = _line_orientation(residual)
    rows = np.arange(ctx.image.shape[0])[:, None] - ctx.centre[0]
    cols = np.arange(ctx.image.shape[1])[None, :] - ctx.centre[1]
    radial = np.hypot(rows, cols)
    band = (radial > _BAND_FROM) & (radial <= _BAND_TO) & (strength > 0)
    if not band.any():
        return 0.0, 0.0
    vr, vc, dist = _offsets(ctx, band)
    theta = angle[band]
    # The line through the point crosses the target disc when |v × u| <= target;
    # with a random orientation that happens with probability (2/π)·asin(target/|v|).
    hit = np.abs(vr * np.sin(theta) - vc * np.cos(theta)) <= _TARGET
    p = (2.0 / math.pi) * np.arcsin(np.minimum(1.0, _TARGET / np.maximum(dist, 1e-12)))
    var = float((p * (1.0 - p)).sum())
    f1 = float((hit - p).sum() / math.sqrt(var)) if var > 0 else 0.0
    sector = (np.floor((np.arctan2(vr, vc) / (2 * math.pi) + 0.5) * _SECTORS).astype(np.int64)) % _SECTORS
    n_hit = np.bincount(sector, weights=hit.astype(np.float64), minlength=_SECTORS)
    n_exp = np.bincount(sector, weights=p, minlength=_SECTORS)
    occupied = np.bincount(sector, minlength=_SECTORS) > 0
    k = int(occupied.sum())
    above = int(np.count_nonzero((n_hit > n_exp) & occupied))
    return f1, float((above - 0.5 * k) / math.sqrt(0.25 * k))


def _edge_band(ctx: MarginGrid) -> tuple[np.ndarray, np.ndarray]:
    """Grid points within ``_EDGE_BAND`` of the border, inside and outside."""
    inside = ctx.mask & (ctx.inner <= _EDGE_BAND)
    outside = ~ctx.mask & (ctx.outer <= _EDGE_BAND)
    return inside, outside


def _radial_gradient_index(ctx: MarginGrid) -> float:
    inside, outside = _edge_band(ctx)
    band = inside | outside
    g0 = _kernel(_GRADIENT_SIGMA, 0)
    smooth = _separable(ctx.image, g0, g0)
    jr, jc = np.nonzero(band)
    jr = np.clip(jr, 1, smooth.shape[0] - 2)
    jc = np.clip(jc, 1, smooth.shape[1] - 2)
    gr = 0.5 * (smooth[jr + 1, jc] - smooth[jr - 1, jc])
    gc = 0.5 * (smooth[jr, jc + 1] - smooth[jr, jc - 1])
    vr, vc, dist = _offsets(ctx, band)
    dist[dist == 0] = 1.0
    total = float(np.hypot(gr, gc).sum())
    return float(-((gr * vr + gc * vc) / dist).sum() / total) if total > 0 else 0.0


def _acutance(ctx: MarginGrid) -> float:
    o = ctx.outline
    inside, outside = _edge_band(ctx)
    if o is None or not outside.any():
        return 0.0
    contrast = float(ctx.image[ctx.mask].mean() - ctx.image[outside].mean())
    if contrast <= 0:
        return 0.0
    i = np.arange(1, _ACUTANCE_SAMPLES + 1, dtype=np.float64)
    t = i * _ACUTANCE_STEP
    out_r = o.points[:, :1] + o.normal[:, :1] * t
    out_c = o.points[:, 1:] + o.normal[:, 1:] * t
    in_r = o.points[:, :1] - o.normal[:, :1] * t
    in_c = o.points[:, 1:] - o.normal[:, 1:] * t
    coords = [np.concatenate([in_r.ravel(), out_r.ravel()]), np.concatenate([in_c.ravel(), out_c.ravel()])]
    values = ndi.map_coordinates(ctx.image, coords, order=1, mode="nearest").reshape(2, *in_r.shape)
    d = ((values[0] - values[1]) / (2.0 * i)).sum(axis=1)
    rms = math.sqrt(float(np.average(d * d, weights=o.weight)))
    return rms / (contrast * float((1.0 / (2.0 * i)).sum()))


def _spiculation_index(o: _Outline | None) -> float:
    return float(np.average(o.narrow, weights=o.weight)) if o is not None else 0.0


def _fractional_concavity(o: _Outline | None) -> float:
    return float(o.weight[o.concave].sum() / o.weight.sum()) if o is not None else 0.0


def _radial_length_entropy(ctx: MarginGrid) -> float:
    o = ctx.outline
    if o is None:
        return 0.0
    d = np.hypot(o.points[:, 0] - ctx.centre[0], o.points[:, 1] - ctx.centre[1])
    top = float(d.max())
    if top <= 0:
        return 0.0
    bins = np.minimum((d * (_RADIAL_BINS / top)).astype(np.int64), _RADIAL_BINS - 1)
    hist = np.bincount(bins, weights=o.weight, minlength=_RADIAL_BINS)
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


# --------------------------------------------------------------------------------------
# the features


def _grid_of(m: MassRegion) -> MarginGrid | None:
    return m.margin_grid


@feature(category="texture", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_line_convergence(m: MassRegion) -> float:
    """Excess of bright line-like structure around the mass pointing at it (Karssemeijer & te Brake 1996, f1): on the grid points R/$_BAND_FROM_R to $_BAND_TO_R·R from the centroid, each point on a bright line (Hessian ridge at R/12 and R/6, after removing the mass's own fall-off with the distance to its border) points at the mass (x = 1) when the line passes within R/2 of the centroid; a random orientation does so with probability p = (2/π)·asin(R/(2r)) at distance r. Large for spiculated masses.

    Formula: ``Σ (x - p) / sqrt(Σ p(1 - p))``
    """
    grid = _grid_of(m)
    return grid.convergence[0] if grid is not None else 0.0


@feature(category="texture", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_line_convergence_spread(m: MassRegion) -> float:
    """In how many directions the lines around the mass point at it (Karssemeijer & te Brake 1996, f2): the points of mass_line_convergence in $_SECTORS sectors about the centroid; K sectors hold points, K⁺ of them more pointing than expected (Σx > Σp). A z-score against a fair coin per sector.

    Formula: ``(K⁺ - K/2) / sqrt(K/4)``
    """
    grid = _grid_of(m)
    return grid.convergence[1] if grid is not None else 0.0


@feature(category="intensity", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_radial_gradient_index(m: MassRegion) -> float:
    """How consistently the grey gradient across the margin points at the centre (radial gradient index, Kupinski & Giger 1998; Huo et al. 1995): over the grid points within R/4 of the border, ∇I the gradient at scale R/12 and r̂ the unit vector from the centroid. 1 for a bright mass with a clean border; lower where spicules and crossing tissue turn the gradient.

    Formula: ``-Σ ∇I·r̂ / Σ |∇I|``
    """
    grid = _grid_of(m)
    return _radial_gradient_index(grid) if grid is not None else 0.0


@feature(category="intensity", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_acutance(m: MassRegion) -> float:
    """Sharpness of the grey step across the border (acutance, Rangayyan et al. 1997) over the mass-surround contrast C (mean grey of the mass minus that of the R/4 band outside it): along the outward normal at each outline vertex j, f_j(i) and b_j(i) are the grey levels inside and outside at i·R/24, i = 1..$_ACUTANCE_SAMPLES, and d_j = Σ_i (f_j(i) - b_j(i))/(2i); w_j is the outline length at vertex j. 1 for an ideal step, lower for a blurred (ill-defined) border; 0 when C ≤ 0.

    Formula: ``sqrt(Σ_j w_j d_j² / Σ_j w_j) / (C · Σ_i 1/(2i))``
    """
    grid = _grid_of(m)
    return _acutance(grid) if grid is not None else 0.0


@feature(category="shape", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_spiculation_index(m: MassRegion) -> float:
    """Length-weighted narrowness of the convex parts of the outline (after Rangayyan et al. 2000's spiculation index): θ_j is the angle at outline vertex j between the chords to the points R/4 before and after it (π on a straight stretch, small at the tip of a narrow spicule); concave vertices count 0. Rangayyan sums (1 + cos θ) over the spicules of a polygonal model; every convex vertex counting needs neither polygon nor starting point. About 0.02 for a disc.

    Formula: ``Σ_{j convex} w_j (1 + cos θ_j)/2 / Σ_j w_j``
    """
    grid = _grid_of(m)
    return _spiculation_index(grid.outline) if grid is not None else 0.0


@feature(category="shape", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_fractional_concavity(m: MassRegion) -> float:
    """Share of the outline that is concave (fractional concavity, Rangayyan et al. 2000): a vertex is concave where the outline turns inwards by more than $_TURN_TOLERANCE rad between the chords to the points R/4 before and after it. 0 for a convex mass.

    Formula: ``Σ_{j concave} w_j / Σ_j w_j``
    """
    grid = _grid_of(m)
    return _fractional_concavity(grid.outline) if grid is not None else 0.0


@feature(category="shape", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_radial_length_entropy(m: MassRegion) -> float:
    """Entropy of the normalised radial length (Kilday et al. 1993): d_j is the distance from the centroid to outline vertex j; p_k the share of outline length whose d_j / max d falls in bin k of $_RADIAL_BINS on [0, 1]. 0 for a disc, larger for elongated, lobulated and spiculated outlines.

    Formula: ``-Σ_k p_k log2 p_k``
    """
    grid = _grid_of(m)
    return _radial_length_entropy(grid) if grid is not None else 0.0


_FEATURES = (
    mass_line_convergence,
    mass_line_convergence_spread,
    mass_radial_gradient_index,
    mass_acutance,
    mass_spiculation_index,
    mass_fractional_concavity,
    mass_radial_length_entropy,
)
#: Names of the margin features, in table order.
MARGIN_FEATURES: tuple[str, ...] = tuple(f.__name__ for f in _FEATURES)


def margin_features(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> dict[str, float]:
    """The seven margin features of the mass ``mask`` (without the paper's 26).

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey values, bright = dense. Not modified.
    mask : bool ndarray, same shape
        The mass (as :func:`mammocad.segment.segment_mass` makes it).
    pixel_spacing_mm : float
        Pixel edge in millimetres (checked; every length is relative to the mass, so
        no value depends on it).

    Returns
    -------
    dict
        ``{name: value}`` for :data:`MARGIN_FEATURES`, in order; all 0 for a mask of
        fewer than :data:`MIN_AREA_PX` pixels. Never NaN.

    Raises
    ------
    FeatureError
        If the shapes differ, the mask is not boolean (or 0/1), the spacing is not
        positive, or the grey values near the mass are not finite.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:128, :128]
    >>> disc = (yy - 64) ** 2 + (xx - 64) ** 2 <= 20**2
    >>> f = margin_features(np.where(disc, 180.0, 60.0), disc, pixel_spacing_mm=0.2)
    >>> round(f["mass_radial_gradient_index"], 2), f["mass_fractional_concavity"]
    (1.0, 0.0)
    """
    region = MassRegion.measure(image, mask, pixel_spacing_mm=pixel_spacing_mm)
    if region is None:
        return dict.fromkeys(MARGIN_FEATURES, 0.0)
    return {f.__name__: float(f(region)) for f in _FEATURES}
