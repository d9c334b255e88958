"""Margin features of a mass: spicules, concavities, and how sharp its border is.

A spiculated or ill-defined margin is the strongest mammographic sign of a malignant
mass (BI-RADS), and the paper's 26 mass features barely see it. The features here
come from the literature of the field, each a plain function of
``(image, mask, pixel_spacing_mm)``:

=================================  ==========================================================
``mass_line_convergence``          Karssemeijer & te Brake (1996) *f1*: excess of line-like
                                   pixels around the mass pointing at it (z-score)
``mass_line_convergence_spread``   Karssemeijer & te Brake (1996) *f2*: in how many directions
                                   that excess is found (z-score of the sector count)
``mass_radial_gradient_index``     Radial gradient index (Kupinski & Giger 1998, Huo et al.
                                   1995): how consistently the grey gradient across the margin
                                   points at the centre
``mass_acutance``                  Acutance (Rangayyan et al. 1997): grey step across the
                                   contour normals, weighted towards the border, over the
                                   mass-surround contrast
``mass_spiculation_index``         Spiculation index (Rangayyan et al. 2000): length-weighted
                                   narrowness ``(1 + cos θ)/2`` of the convex parts of the
                                   contour between its concavities
``mass_fractional_concavity``      Fractional concavity (Rangayyan et al. 2000): share of the
                                   contour length that is concave
``mass_radial_length_entropy``     Entropy of the normalised radial length (Kilday et al.
                                   1993): spread of centre-to-contour distances
=================================  ==========================================================

Geometry. ``R`` is the equivalent radius ``sqrt(A/π)`` of the mask (pixels) and ``c``
its centroid. Every length a feature uses is a fixed fraction of ``R``, so the values
do not depend on the pixel spacing (they are scale invariant up to resampling) and
the spacing is only checked. The image features are computed on a *canonical grid*:
the image around the mass, box-filtered with an odd integer width where it is
reduced and sampled bilinearly at ``c + (i, j)·R/20`` (``i, j`` symmetric about 0),
so that one equivalent radius is 20 grid steps whatever the mass's size — the cost
per lesion is bounded, and 90° rotations, flips and integer translations map the
grid onto itself (those invariances are exact). The contour features use the
outline of the largest component of the mask (marching squares, as
:func:`mammocad.segment.mask_contour`), smoothed along its length by a Gaussian of
``max(0.05·R, 1.5 px)`` (removes the pixel staircase) with wrap-around, so that
none depends on where the outline starts.

An empty mask, or one of fewer than :data:`MIN_AREA_PX` pixels, gives 0 for every
feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mammocad.errors import FeatureError
from mammocad.features._shape import check_finite, check_image, check_spacing, positive_bbox

__all__ = [
    "MARGIN_FEATURES",
    "MIN_AREA_PX",
    "margin_features",
    "line_convergence",
    "line_convergence_spread",
    "radial_gradient_index",
    "acutance",
    "spiculation_index",
    "fractional_concavity",
    "radial_length_entropy",
]

#: Names of the margin features, in table order.
MARGIN_FEATURES: tuple[str, ...] = (
    "mass_line_convergence",
    "mass_line_convergence_spread",
    "mass_radial_gradient_index",
    "mass_acutance",
    "mass_spiculation_index",
    "mass_fractional_concavity",
    "mass_radial_length_entropy",
)
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


@dataclass(frozen=True)
class _Context:
    """The mass resampled on the canonical grid, and what several features share."""

    image: np.ndarray  # (m, m) grey values on the grid
    mask: np.ndarray  # (m, m) bool
    centre: tuple[int, int]  # grid index (row, col) of the centroid
    inner: np.ndarray  # distance to the outside, inside the mask (grid steps)
    outer: np.ndarray  # distance to the mask, outside it
    outline: _Outline | None


def _check(image: np.ndarray, mask: np.ndarray, pixel_spacing_mm: float) -> tuple[np.ndarray, np.ndarray]:
    image = check_image(image, mask, "mask")
    check_spacing(pixel_spacing_mm)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "iuf" or not np.all(np.isin(np.unique(mask), (0, 1))):
            raise FeatureError(f"mask must be boolean (or 0/1), got dtype {mask.dtype}")
        mask = mask.astype(bool)
    return image, mask


def _lattice(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear values of ``a`` at every ``(rows[i], cols[j])`` (a lattice: separable)."""
    r = np.clip(rows, 0.0, a.shape[0] - 1.0)
    c = np.clip(cols, 0.0, a.shape[1] - 1.0)
    i0 = np.minimum(r.astype(np.intp), a.shape[0] - 2)
    j0 = np.minimum(c.astype(np.intp), a.shape[1] - 2)
    fr = (r - i0)[:, None]
    fc = (c - j0)[None, :]
    tmp = a[i0] * (1.0 - fr) + a[i0 + 1] * fr
    return tmp[:, j0] * (1.0 - fc) + tmp[:, j0 + 1] * fc


def _box_means(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, half_width: float) -> np.ndarray:
    """Mean of the pixel-constant image ``values`` over the square of half-width
    ``half_width`` (pixels) centred on every lattice point ``(rows[i], cols[j])``.

    Exact area weighting through the summed-area table, which is bilinear between
    pixel corners; a half-width of 0.5 is bilinear interpolation of the pixels.
    """
    # Integer images sum exactly (and faster) in int64.
    dtype = np.int64 if values.dtype.kind in "biu" else np.float64
    sat = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=dtype)
    sat[1:, 1:] = np.cumsum(np.cumsum(values, axis=0, dtype=dtype), axis=1)
    # Pixel k covers [k - 0.5, k + 0.5]: the integral up to coordinate t is sat at t + 0.5.
    n, k = rows.size, cols.size
    corners = _lattice(
        sat,
        np.concatenate([rows - half_width, rows + half_width]) + 0.5,
        np.concatenate([cols - half_width, cols + half_width]) + 0.5,
    )
    total = corners[n:, k:] - corners[:n, k:] - corners[n:, :k] + corners[:n, :k]
    return total / (4.0 * half_width * half_width)


def _context(image: np.ndarray, mask: np.ndarray) -> _Context | None:
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
    mcrop = mask[r0:r1, c0:c1]
    edge = ((r0 - lo_r, hi_r - r1), (c0 - lo_c, hi_c - c1))
    if any(v > 0 for pair in edge for v in pair):  # the grid reaches past the image: extend it
        crop = np.pad(crop, edge, mode="edge")
        mcrop = np.pad(mcrop, edge)  # False outside
        r0, c0 = lo_r, lo_c
    rows, cols = cy - r0 + off_r, cx - c0 + off_c
    grid = _box_means(crop, rows, cols, h)
    cover = _box_means(mcrop, rows, cols, h)
    gmask = cover >= 0.5
    if not gmask.any():
        return None
    return _Context(
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

    contours = find_contours(np.pad(cover, 1), 0.5)
    raw = max(contours, key=len)[:-1] - 1.0
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


def _offsets(ctx: _Context, where: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column offsets from the centre, and distance, of the True grid points."""
    jr, jc = np.nonzero(where)
    vr = (jr - ctx.centre[0]).astype(np.float64)
    vc = (jc - ctx.centre[1]).astype(np.float64)
    return vr, vc, np.hypot(vr, vc)


def _hessian(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Second differences (rows, cols, mixed) by 3-point stencils; 0 on the grid's edge."""
    hrr, hcc, hrc = np.zeros(a.shape), np.zeros(a.shape), np.zeros(a.shape)
    mid = a[1:-1, 1:-1]
    hrr[1:-1, 1:-1] = a[2:, 1:-1] + a[:-2, 1:-1] - 2.0 * mid
    hcc[1:-1, 1:-1] = a[1:-1, 2:] + a[1:-1, :-2] - 2.0 * mid
    hrc[1:-1, 1:-1] = 0.25 * (a[2:, 2:] + a[:-2, :-2] - a[2:, :-2] - a[:-2, 2:])
    return hrr, hcc, hrc


def _line_orientation(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orientation θ of bright line-like structure (radians; direction (cos θ, sin θ) in
    (row, col)) and its scale-normalised strength (0 where there is no bright line).

    Hessian of the image smoothed by a Gaussian at each scale of ``_LINE_SIGMAS``
    (central differences); at each point the scale with the largest ``σ²·(-λ1)``
    wins, ``λ1 <= λ2`` the eigenvalues, counted only where ``λ1 < 0`` and
    ``|λ1| > |λ2|`` (across a bright line). The line runs along the eigenvector of ``λ2``.
    """
    best = np.zeros(image.shape)
    angle = np.zeros(image.shape)
    for sigma in _LINE_SIGMAS:
        hrr, hcc, hrc = _hessian(ndi.gaussian_filter(image, sigma))
        mean = 0.5 * (hrr + hcc)
        root = np.sqrt(0.25 * (hrr - hcc) ** 2 + hrc * hrc)
        l1, l2 = mean - root, mean + root
        strength = np.where((l1 < 0) & (-l1 > np.abs(l2)), -l1 * sigma * sigma, 0.0)
        better = strength > best
        best = np.where(better, strength, best)
        angle = np.where(better, 0.5 * np.arctan2(2.0 * hrc, hrr - hcc), angle)
    return angle, best


def _convergence(ctx: _Context) -> tuple[float, float]:
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


def _edge_band(ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    """Grid points within ``_EDGE_BAND`` of the border, inside and outside."""
    inside = ctx.mask & (ctx.inner <= _EDGE_BAND)
    outside = ~ctx.mask & (ctx.outer <= _EDGE_BAND)
    return inside, outside


def _radial_gradient_index(ctx: _Context) -> float:
    inside, outside = _edge_band(ctx)
    band = inside | outside
    smooth = ndi.gaussian_filter(ctx.image, _GRADIENT_SIGMA)
    jr, jc = np.nonzero(band)
    jr = np.clip(jr, 1, smooth.shape[0] - 2)
    jc = np.clip(jc, 1, smooth.shape[1] - 2)
    gr = 0.5 * (smooth[jr + 1, jc] - smooth[jr - 1, jc])
    gc = 0.5 * (smooth[jr, jc + 1] - smooth[jr, jc - 1])
    vr, vc, dist = _offsets(ctx, band)
    dist[dist == 0] = 1.0
    total = float(np.hypot(gr, gc).sum())
    return float(-((gr * vr + gc * vc) / dist).sum() / total) if total > 0 else 0.0


def _acutance(ctx: _Context) -> float:
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


def _radial_length_entropy(ctx: _Context) -> float:
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


_COMPUTE = {
    "mass_line_convergence": lambda ctx: _convergence(ctx)[0],
    "mass_line_convergence_spread": lambda ctx: _convergence(ctx)[1],
    "mass_radial_gradient_index": _radial_gradient_index,
    "mass_acutance": _acutance,
    "mass_spiculation_index": lambda ctx: _spiculation_index(ctx.outline),
    "mass_fractional_concavity": lambda ctx: _fractional_concavity(ctx.outline),
    "mass_radial_length_entropy": _radial_length_entropy,
}


def margin_features(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> dict[str, float]:
    """All margin features of the mass ``mask``, sharing the work.

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
    image, mask = _check(image, mask, pixel_spacing_mm)
    ctx = _context(image, mask)
    if ctx is None:
        return dict.fromkeys(MARGIN_FEATURES, 0.0)
    f1, f2 = _convergence(ctx)
    values = {name: fn(ctx) for name, fn in _COMPUTE.items() if not name.startswith("mass_line_convergence")}
    values["mass_line_convergence"], values["mass_line_convergence_spread"] = f1, f2
    return {name: float(values[name]) for name in MARGIN_FEATURES}


def _one(name: str, image: np.ndarray, mask: np.ndarray, pixel_spacing_mm: float) -> float:
    image, mask = _check(image, mask, pixel_spacing_mm)
    ctx = _context(image, mask)
    return 0.0 if ctx is None else float(_COMPUTE[name](ctx))


def line_convergence(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> float:
    """Excess of line-like structure around the mass pointing at it (Karssemeijer & te Brake 1996, *f1*).

    On the band of grid points ``R/2`` to ``2R`` from the centroid (inside and
    outside the mask, so that spicules count whether or not the contour took them
    in), after removing the mass's own fall-off (the mean grey level at each signed
    distance to its border), each point on a bright line (Hessian-of-Gaussian ridge,
    scales ``R/12`` and ``R/6``) gets the line's orientation ``θ_j``. It *points at
    the mass* (``x_j = 1``) when the line through it passes within ``R/2`` of the
    centroid; a random orientation does so with probability
    ``p_j = (2/π)·asin(R/(2·r_j))``, ``r_j`` its distance from the centroid.

    Formula: ``f1 = Σ_j (x_j - p_j) / sqrt(Σ_j p_j (1 - p_j))`` (a z-score).
    Unit: unitless. Invariant to 90° rotations and flips, integer translations and
    a linear grey change ``a·I + c`` (``a > 0``) exactly; to arbitrary rotations and
    resampling (scale) approximately. Spiculated masses: large and positive.
    """
    return _one("mass_line_convergence", image, mask, pixel_spacing_mm)


def line_convergence_spread(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> float:
    """In how many directions the lines around the mass point at it (Karssemeijer & te Brake 1996, *f2*).

    The band of :func:`line_convergence` is cut into 24 sectors about the centroid;
    ``K`` sectors hold band points and ``K⁺`` of them more points pointing at the
    mass than expected (``Σ x_j > Σ p_j`` over the sector).

    Formula: ``f2 = (K⁺ - K/2) / sqrt(K/4)`` (a z-score against a fair coin).
    Unit: unitless. Invariances as :func:`line_convergence`.
    """
    return _one("mass_line_convergence_spread", image, mask, pixel_spacing_mm)


def radial_gradient_index(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> float:
    """How consistently the grey gradient across the margin points at the centre (RGI).

    Kupinski & Giger (1998); Huo et al. (1995) for its use on mass margins. Over
    the grid points within ``R/4`` of the border (both sides), with ``∇I`` the
    gradient of the grid image smoothed at ``R/12`` and ``r̂`` the unit vector from
    the centroid:

    Formula: ``RGI = -Σ ∇I·r̂ / Σ |∇I|``, in ``[-1, 1]``.
    Unit: unitless. 1 for a bright mass with a clean, sharp or blurred, border;
    lower when spicules and neighbouring structures turn the gradient. Invariances
    as :func:`line_convergence`.
    """
    return _one("mass_radial_gradient_index", image, mask, pixel_spacing_mm)


def acutance(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> float:
    """Sharpness of the grey step across the border (Rangayyan et al. 1997), over the contrast.

    Along the outward normal of the smoothed outline at each of its vertices ``j``,
    the grey levels ``f_j(i)`` inside and ``b_j(i)`` outside at ``i·R/24``,
    ``i = 1..6``, give ``d_j = Σ_i (f_j(i) - b_j(i)) / (2i)``. With ``C`` the mean
    grey level of the mass minus that of the ``R/4`` band outside it:

    Formula: ``A = sqrt(Σ_j w_j d_j² / Σ_j w_j) / (C · Σ_i 1/(2i))``, ``w_j`` the
    outline length at vertex ``j``; 1 for an ideal step, lower for a blurred
    (ill-defined) border; 0 when ``C <= 0``.
    Unit: unitless. Invariances as :func:`line_convergence`.
    """
    return _one("mass_acutance", image, mask, pixel_spacing_mm)


def spiculation_index(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> float:
    """Length-weighted narrowness of the convex parts of the outline (after Rangayyan et al. 2000).

    At each vertex ``j`` of the smoothed outline, ``θ_j`` is the angle between the
    chords to the points ``R/4`` before and after it along the outline (π on a
    straight stretch, small at the tip of a narrow spicule). Rangayyan's index sums
    ``(1 + cos θ)`` over the spicules of a polygonal model; here every convex vertex
    counts, which needs no polygon and no starting point.

    Formula: ``SI = Σ_{j convex} w_j (1 + cos θ_j)/2 / Σ_j w_j``, in ``[0, 1)``;
    about 0.02 for a disc.
    Unit: unitless. Depends on the mask only: invariant to 90° rotations, flips,
    translations and grey changes exactly, to arbitrary rotation and resampling
    approximately.
    """
    return _one("mass_spiculation_index", image, mask, pixel_spacing_mm)


def fractional_concavity(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> float:
    """Share of the outline that is concave (after Rangayyan et al. 2000).

    A vertex is concave where the outline turns inwards (clockwise for a
    counter-clockwise outline) by more than 0.05 rad between the chords to the
    points ``R/4`` before and after it.

    Formula: ``f_cc = Σ_{j concave} w_j / Σ_j w_j``, in ``[0, 1]``; 0 for a convex mass.
    Unit: unitless. Invariances as :func:`spiculation_index`.
    """
    return _one("mass_fractional_concavity", image, mask, pixel_spacing_mm)


def radial_length_entropy(image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float) -> float:
    """Entropy of the normalised radial length (Kilday et al. 1993).

    ``d_j`` is the distance from the centroid to vertex ``j`` of the smoothed
    outline; the histogram of ``d_j / max d`` over 20 bins on ``[0, 1]``, each
    vertex weighted by its outline length ``w_j``, has probabilities ``p_k``.

    Formula: ``E = -Σ_k p_k log2 p_k`` (bits); 0 for a disc, larger for elongated,
    lobulated and spiculated outlines.
    Unit: bits. Invariances as :func:`spiculation_index`.
    """
    return _one("mass_radial_length_entropy", image, mask, pixel_spacing_mm)
