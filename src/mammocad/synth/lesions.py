"""Lesions: microcalcification clusters and masses with exact masks.

:func:`draw_lesion` draws one cluster or one mass where a mask allows it, trying
smaller when it does not fit. Every object is a shape from
:mod:`mammocad.synth.shapes` on a super-sampled grid (8×8 sub-pixels per pixel
for calcifications, 4×4 for masses); its mask is the pixels it covers by at least
half, and the grey level it adds is the contrast times the coverage-weighted
intensity of the same shape. See :mod:`mammocad.synth` for the appearances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from scipy import ndimage as ndi

from mammocad.synth.shapes import Bounds, InsideValue, Radial, Segment, single_component, union_render

_CALC_SUPERSAMPLE = 8
_MASS_SUPERSAMPLE = 4
_MIN_CALC_DIAMETER_PX = 1.5
#: How often a lesion that does not fit is tried again (from the third try on, 0.8× smaller each time).
_TRIES = 6


@dataclass(frozen=True)
class DrawnCluster:
    """A calcification cluster as drawn (chest wall at the left edge)."""

    labels: np.ndarray  # int32, image-shaped: one label 1..n per calcification
    drawn: np.ndarray  # grey levels added, image-shaped
    subtype: str


@dataclass(frozen=True)
class DrawnMass:
    """A mass as drawn (chest wall at the left edge)."""

    labels: np.ndarray  # int32, image-shaped: the mask as 0/1
    drawn: np.ndarray  # grey levels added, image-shaped
    weight: np.ndarray  # 0..1: how far the tissue under the mass is made homogeneous
    window: tuple[slice, slice]
    radius: float
    subtype: str


@dataclass(frozen=True)
class _Request:
    """What a lesion is asked to be: where it may lie, its appearance, its scale."""

    allowed: np.ndarray  # bool, image-shaped: pixels the lesion may cover
    pathology: str
    px_per_mm: float
    contrast: float
    scale: float = 1.0  # < 1 shrinks the lesion's extent to fit


def draw_lesion(
    rng: np.random.Generator,
    abnormality: str,
    allowed: np.ndarray,
    pathology: str,
    *,
    px_per_mm: float,
    contrast: float,
) -> DrawnCluster | DrawnMass | None:
    """One calcification cluster or mass inside ``allowed``, or None if none fits.

    A lesion that does not fit (on small images) is tried again, smaller.
    """
    maker = _mass if abnormality == "mass" else _calcification_cluster
    request = _Request(allowed, pathology, px_per_mm, contrast)
    for attempt in range(_TRIES):
        result = maker(rng, replace(request, scale=0.8 ** max(attempt - 1, 0)))
        if result is not None:
            return result
    return None


def _place_centre(
    rng: np.random.Generator, allowed: np.ndarray, margin: float, tries: int = 400
) -> tuple[float, float] | None:
    """A random point whose disc of radius ``margin`` lies inside ``allowed`` and the image."""
    rows, cols = allowed.shape
    m = int(math.ceil(margin))
    idx = np.flatnonzero(allowed)
    if idx.size == 0:
        return None
    yy, xx = np.ogrid[-m : m + 1, -m : m + 1]
    disc = yy * yy + xx * xx <= margin * margin
    for flat in idx[rng.integers(idx.size, size=tries)]:
        cy, cx = int(flat) // cols, int(flat) % cols
        if cy - m < 0 or cx - m < 0 or cy + m >= rows or cx + m >= cols:
            continue
        if allowed[cy - m : cy + m + 1, cx - m : cx + m + 1][disc].all():
            return float(cy), float(cx)
    return None


def _duct_path(rng: np.random.Generator, cy: float, cx: float, length_px: float) -> np.ndarray:
    """Points (y, x) along a gently curving duct with one or two side branches."""
    step = 0.5
    heading = rng.uniform(0, 2 * np.pi)
    paths = []
    k = max(int(length_px / step), 4)
    turns = heading + np.cumsum(rng.normal(0.0, 0.04, size=k))
    y = cy - 0.5 * length_px * math.sin(heading) + np.cumsum(np.sin(turns) * step)
    x = cx - 0.5 * length_px * math.cos(heading) + np.cumsum(np.cos(turns) * step)
    paths.append(np.stack([y, x], axis=1))
    for _ in range(int(rng.integers(1, 3))):
        at = int(rng.integers(k // 4, 3 * k // 4))
        branch_heading = turns[at] + rng.choice([-1, 1]) * rng.uniform(0.4, 0.9)
        kb = max(int(k * rng.uniform(0.3, 0.6)), 2)
        bturns = branch_heading + np.cumsum(rng.normal(0.0, 0.05, size=kb))
        by = y[at] + np.cumsum(np.sin(bturns) * step)
        bx = x[at] + np.cumsum(np.cos(bturns) * step)
        paths.append(np.stack([by, bx], axis=1))
    return np.concatenate(paths, axis=0)


def _calc_shape(
    rng: np.random.Generator,
    cy: float,
    cx: float,
    pathology: str,
    px_per_mm: float,
    base_diameter_mm: float,
    duct_angle: float,
) -> tuple[InsideValue, float]:
    """One calcification: (inside/value function, extent in pixels)."""
    min_d = _MIN_CALC_DIAMETER_PX
    if pathology == "benign":
        d = max(base_diameter_mm * rng.uniform(0.92, 1.08) * px_per_mm, min_d)
        blob = Radial(
            cy,
            cx,
            d / 2,
            rng.uniform(0.85, 1.0),
            rng.uniform(0, np.pi),
            tuple((k, rng.normal(0, 0.02), rng.uniform(0, 2 * np.pi)) for k in (2, 3)),
        )
        return (lambda yy, xx: blob.evaluate(yy, xx, 0.3)), blob.extent()
    kind = rng.choice(["pleomorphic", "linear", "branching"], p=[0.5, 0.32, 0.18])
    if kind == "pleomorphic":
        d = max(math.exp(rng.uniform(math.log(0.12), math.log(0.65))) * px_per_mm, min_d)
        harmonics = tuple(
            (k, rng.uniform(0.06, 0.22) / k**0.5, rng.uniform(0, 2 * np.pi)) for k in (2, 3, 4, 5)
        )
        blob = Radial(cy, cx, d / 2, rng.uniform(0.45, 1.0), duct_angle + rng.normal(0, 0.4), harmonics)
        return (lambda yy, xx: blob.evaluate(yy, xx, 0.2)), blob.extent()
    # Longest extent stays within 1 mm: rods up to 0.8 mm + width, forks up to 0.55 mm + 60 %.
    length = rng.uniform(0.3, 0.8 if kind == "linear" else 0.55) * px_per_mm
    half_w = max(rng.uniform(0.05, 0.1) * px_per_mm, min_d / 2)
    angle = duct_angle + rng.normal(0, 0.25)
    segments = [
        Segment(
            cy - 0.5 * length * math.sin(angle),
            cx - 0.5 * length * math.cos(angle),
            cy + 0.5 * length * math.sin(angle),
            cx + 0.5 * length * math.cos(angle),
            half_w,
            half_w * rng.uniform(0.7, 1.0),
        )
    ]
    if kind == "branching":
        fork = angle + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
        blen = length * rng.uniform(0.35, 0.6)
        sy, sx = segments[0].y1, segments[0].x1
        segments[0] = Segment(segments[0].y0, segments[0].x0, sy, sx, half_w, half_w)
        segments.append(
            Segment(sy, sx, sy + blen * math.sin(fork), sx + blen * math.cos(fork), half_w, half_w * 0.8)
        )

    def evaluate(yy: np.ndarray, xx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = segments[0].evaluate(yy, xx)
        for seg in segments[1:]:
            inside = inside | seg.evaluate(yy, xx)
        return inside, inside.astype(np.float32)

    extent = max(math.hypot(seg.y1 - cy, seg.x1 - cx) for seg in segments) + half_w
    extent = max(extent, max(math.hypot(seg.y0 - cy, seg.x0 - cx) for seg in segments) + half_w)
    return evaluate, extent


def _calcification_cluster(rng: np.random.Generator, request: _Request) -> DrawnCluster | None:
    """Labels and drawn grey levels of one cluster, or None if it does not fit.

    ``request.scale`` < 1 shrinks the cluster's extent (not its calcifications) to fit.
    """
    allowed, pathology, px_per_mm, scale = (
        request.allowed,
        request.pathology,
        request.px_per_mm,
        request.scale,
    )
    shape = allowed.shape
    if pathology == "benign":
        n_target = int(rng.integers(3, 9))
        cluster_r = min(rng.uniform(3.0, 6.0) * px_per_mm, 0.12 * shape[0]) * scale
        base_d = rng.uniform(0.4, 0.9)
        margin = cluster_r + 1.0 * px_per_mm
    else:
        n_target = int(rng.integers(8, 31))
        # Long enough to string the calcifications along it, about half a millimetre apart.
        duct_len = (
            min(min(max(n_target * rng.uniform(0.3, 0.45), 3.0), 9.0) * px_per_mm, 0.12 * shape[0]) * scale
        )
        base_d = 0.0
        margin = 0.5 * duct_len + 0.5 * px_per_mm
    centre = _place_centre(rng, allowed, margin)
    if centre is None:
        return None
    cy, cx = centre
    labels = np.zeros(shape, dtype=np.int32)
    drawn = np.zeros(shape, dtype=np.float32)
    if pathology == "malignant":
        path = _duct_path(rng, cy, cx, duct_len)
        directions = np.gradient(path, axis=0)
    occupied = np.zeros(shape, dtype=bool)  # objects grown by the gap they keep
    n = 0
    attempts = 0
    while n < n_target and attempts < 25 * n_target:
        attempts += 1
        if pathology == "benign":
            rr = cluster_r * math.sqrt(rng.random())
            phi = rng.uniform(0, 2 * np.pi)
            py, px = cy + rr * math.sin(phi), cx + rr * math.cos(phi)
            duct_angle = 0.0
        else:
            i = int(rng.integers(len(path)))
            duct_angle = math.atan2(directions[i, 0], directions[i, 1])
            jitter = rng.normal(0.0, 0.15 * px_per_mm)
            py = path[i, 0] + jitter * math.cos(duct_angle)
            px = path[i, 1] - jitter * math.sin(duct_angle)
        iy, ix = int(round(py)), int(round(px))
        if not (0 <= iy < shape[0] and 0 <= ix < shape[1]) or occupied[iy, ix] or not allowed[iy, ix]:
            continue
        evaluate, extent = _calc_shape(rng, py, px, pathology, px_per_mm, base_d, duct_angle)
        bounds = (py - extent, py + extent, px - extent, px + extent)
        rendered = union_render(shape, _CALC_SUPERSAMPLE, [(bounds, evaluate)])
        if rendered is None:
            continue
        sl, coverage, intensity = rendered
        obj = coverage >= 0.5
        if not obj.any() or not single_component(obj):
            continue
        if not allowed[sl][obj].all():
            continue
        # Keep a clear gap to the other objects: benign ones sparse, malignant ones a pixel apart.
        gap = max(int(round(min(1.2 * px_per_mm, 0.3 * cluster_r))), 2) if pathology == "benign" else 1
        big_sl, grown_big = _grown(obj, sl, gap, shape)
        if occupied[big_sl][grown_big].any():
            continue
        occupied[big_sl] |= grown_big
        n += 1
        labels[sl][obj] = n
        drawn[sl] += np.float32(request.contrast * rng.uniform(0.7, 1.3)) * intensity
    minimum = 3 if pathology == "benign" else 8
    if n < minimum:
        return None
    return DrawnCluster(labels, drawn, "round" if pathology == "benign" else "pleomorphic")


def _grown(
    obj: np.ndarray, sl: tuple[slice, slice], gap: int, shape: tuple[int, ...]
) -> tuple[tuple[slice, slice], np.ndarray]:
    """The object in window ``sl`` grown by ``gap`` pixels: (larger window, grown mask over it)."""
    r0, c0 = sl[0].start, sl[1].start
    big_sl = (
        slice(max(r0 - gap, 0), min(sl[0].stop + gap, shape[0])),
        slice(max(c0 - gap, 0), min(sl[1].stop + gap, shape[1])),
    )
    grown_big = np.zeros((big_sl[0].stop - big_sl[0].start, big_sl[1].stop - big_sl[1].start), dtype=bool)
    grown_big[
        r0 - big_sl[0].start : sl[0].stop - big_sl[0].start,
        c0 - big_sl[1].start : sl[1].stop - big_sl[1].start,
    ] = obj
    return big_sl, ndi.binary_dilation(grown_big, structure=np.ones((3, 3), dtype=bool), iterations=gap)


#: Mass margins :func:`draw_mass` draws (the ``subtype`` of a synthetic mass).
MASS_MARGINS = ("circumscribed", "spiculated", "ill-defined")
# Spiculated masses: number of spicules, where they start (inside the core) and end
# (from the centre), in core radii; their half-width at the base (mm, at least
# _SPICULE_MIN_PX pixels) and at the tip (fraction of the base); and their density
# relative to the core's, at the base and at the tip. Ill-defined masses: the blur
# of their density (mm).
_SPICULES = (8, 17)
_SPICULE_BASE = 0.7
_SPICULE_TIP = (1.6, 2.4)
_SPICULE_HALF_WIDTH_MM = (0.3, 0.5)
_SPICULE_MIN_PX = 1.2
_SPICULE_TAPER = 0.25
_SPICULE_DENSITY = (1.1, 0.6)
_ILL_DEFINED_BLUR_MM = (0.7, 1.5)


@dataclass(frozen=True)
class MassCore:
    """The core outline of a mass: aspect ratio and radial harmonics ``(k, amplitude, phase)``."""

    aspect: float
    harmonics: tuple[tuple[int, float, float], ...]

    @classmethod
    def draw(cls, rng: np.random.Generator, margin: str) -> MassCore:
        """A core as the generator draws it for ``margin``: smooth oval (circumscribed) or irregular."""
        if margin == "circumscribed":
            harmonics = tuple((k, rng.normal(0, 0.03), rng.uniform(0, 2 * np.pi)) for k in (2, 3, 4))
            return cls(rng.uniform(0.6, 0.95), harmonics)
        harmonics = tuple(
            (k, rng.uniform(0.04, 0.12) / (k / 3) ** 0.7, rng.uniform(0, 2 * np.pi)) for k in range(2, 11)
        )
        return cls(rng.uniform(0.75, 1.0), harmonics)


def _mass(rng: np.random.Generator, request: _Request) -> DrawnMass | None:
    """One mass: mask, added grey levels and homogenisation weight, or None if it does not fit.

    ``request.scale`` < 1 shrinks the mass to fit.
    """
    allowed, pathology, px_per_mm = request.allowed, request.pathology, request.px_per_mm
    shape = allowed.shape
    size = shape[0]
    radius = min(rng.uniform(3.0, 8.0) * px_per_mm, 0.07 * size) * request.scale
    if pathology == "benign":
        margin = "circumscribed"
    else:
        margin = "spiculated" if rng.random() < 0.6 else "ill-defined"
    core = MassCore.draw(rng, margin)
    centre = _place_centre(rng, allowed, mass_reach(radius, margin, px_per_mm))
    if centre is None:
        return None
    return draw_mass(
        rng, shape, centre, radius, margin, px_per_mm=px_per_mm, contrast=request.contrast, core=core
    )


def mass_reach(radius_px: float, margin: str, px_per_mm: float) -> float:
    """How far from its centre a mass of core radius ``radius_px`` may draw (pixels)."""
    blur = _ILL_DEFINED_BLUR_MM[1] * px_per_mm if margin == "ill-defined" else 0.25 * px_per_mm
    spicules = radius_px * _SPICULE_TIP[1] if margin == "spiculated" else 0.0
    return max(radius_px * 1.6, spicules) + 2.0 * blur


def draw_mass(
    rng: np.random.Generator,
    shape: tuple[int, int],
    centre: tuple[float, float],
    radius_px: float,
    margin: str,
    *,
    px_per_mm: float,
    contrast: float,
    core: MassCore | None = None,
) -> DrawnMass | None:
    """Draw one mass of a given margin at a given place.

    Parameters
    ----------
    rng : numpy.random.Generator
        Every random choice (orientation, spicules, blur) is drawn from it.
    shape : (int, int)
        Shape of the image the mass is drawn for.
    centre : (float, float)
        ``(row, col)`` of the mass centre, in pixels.
    radius_px : float
        Core radius (before aspect and harmonics), in pixels.
    margin : {"circumscribed", "spiculated", "ill-defined"}
        *Circumscribed*: the core with a sharp-ish edge (blur 0.12 mm).
        *Spiculated*: the core with 8-16 tapering spicules radiating from inside it
        to 1.6-2.4 core radii, as dense as the core at their base and about half
        as dense at their tip, clearly visible; they are part of the mask.
        *Ill-defined*: the core's density blurred by 0.7-1.5 mm; the mask is the
        drawn core outline (the blurred density's half-maximum).
    px_per_mm : float
        Pixels per millimetre.
    contrast : float
        Grey levels added at the centre of a fully covered pixel.
    core : MassCore, optional
        The core outline; drawn from ``rng`` for the margin when not given.

    Returns
    -------
    DrawnMass or None
        None if no single-component mass could be drawn within the image.

    Examples
    --------
    >>> import numpy as np
    >>> m = draw_mass(np.random.default_rng(0), (200, 200), (100.0, 100.0), 20.0, "spiculated",
    ...               px_per_mm=5.0, contrast=20.0)
    >>> m.subtype, bool(m.labels.sum() > np.pi * 20**2 * 0.5)
    ('spiculated', True)
    """
    if margin not in MASS_MARGINS:
        raise ValueError(f"margin must be one of {', '.join(MASS_MARGINS)}, got {margin!r}")
    core = MassCore.draw(rng, margin) if core is None else core
    cy, cx = centre
    if margin == "circumscribed":
        blur, homogeneity = 0.12 * px_per_mm, 0.6
    elif margin == "spiculated":
        blur, homogeneity = 0.15 * px_per_mm, 0.5
    else:
        blur, homogeneity = rng.uniform(*_ILL_DEFINED_BLUR_MM) * px_per_mm, 0.5
    n_spicules = int(rng.integers(*_SPICULES)) if margin == "spiculated" else 0
    for _attempt in range(6):
        blob = Radial(cy, cx, radius_px, core.aspect, rng.uniform(0, np.pi), core.harmonics)
        extent = blob.extent()
        parts: list[tuple[Bounds, InsideValue]] = [
            ((cy - extent, cy + extent, cx - extent, cx + extent), partial(blob.evaluate, dome=0.6))
        ]
        for _ in range(n_spicules):
            theta = rng.uniform(0, 2 * np.pi)
            base = _SPICULE_BASE * radius_px
            tip = radius_px * rng.uniform(*_SPICULE_TIP)
            w0 = max(rng.uniform(*_SPICULE_HALF_WIDTH_MM) * px_per_mm, _SPICULE_MIN_PX)
            seg = Segment(
                cy + base * math.sin(theta),
                cx + base * math.cos(theta),
                cy + tip * math.sin(theta),
                cx + tip * math.cos(theta),
                w0,
                _SPICULE_TAPER * w0,
            )
            parts.append((seg.bounds(), partial(_spicule, seg=seg)))
        rendered = union_render(shape, _MASS_SUPERSAMPLE, parts)
        if rendered is None:
            return None
        window, coverage, value = rendered
        mask_w = coverage >= 0.5
        if single_component(mask_w):
            break
        n_spicules = max(n_spicules - 3, 0)
    else:
        return None
    # Room for the margin blur and the homogenisation around the mass.
    pad = int(4 * max(blur, 1.0)) + 1
    r0, r1 = max(window[0].start - pad, 0), min(window[0].stop + pad, shape[0])
    c0, c1 = max(window[1].start - pad, 0), min(window[1].stop + pad, shape[1])
    big = (slice(r0, r1), slice(c0, c1))
    inner = (
        slice(window[0].start - r0, window[0].stop - r0),
        slice(window[1].start - c0, window[1].stop - c0),
    )
    value_big = np.zeros((r1 - r0, c1 - c0), dtype=np.float32)
    value_big[inner] = value
    if blur > 0.3:
        value_big = ndi.gaussian_filter(value_big, blur)
    weight_big = np.zeros_like(value_big)
    weight_big[inner] = coverage
    weight_big = ndi.gaussian_filter(weight_big, max(blur, 1.0)) * np.float32(homogeneity)
    labels = np.zeros(shape, dtype=np.int32)
    labels[window] = mask_w
    drawn = np.zeros(shape, dtype=np.float32)
    drawn[big] = np.float32(contrast) * value_big
    weight = np.zeros(shape, dtype=np.float32)
    weight[big] = weight_big
    return DrawnMass(labels, drawn, weight, big, radius_px, margin)


def _spicule(yy: np.ndarray, xx: np.ndarray, seg: Segment) -> tuple[np.ndarray, np.ndarray]:
    """Inside and density of a spicule: dense at its base, fading towards its tip."""
    inside = seg.evaluate(yy, xx)
    vy, vx = seg.y1 - seg.y0, seg.x1 - seg.x0
    t = np.clip(((yy - seg.y0) * vy + (xx - seg.x0) * vx) / max(vy * vy + vx * vx, 1e-9), 0.0, 1.0)
    at_base, at_tip = _SPICULE_DENSITY
    return inside, (inside * (at_base + (at_tip - at_base) * t)).astype(np.float32)


def blend_under(image: np.ndarray, mass: DrawnMass) -> None:
    """Make the tissue under a mass homogeneous, in place: blend ``image`` towards its local mean.

    A mass is a compact, homogeneous density; its own grey levels (``mass.drawn``)
    are added afterwards.
    """
    sl, weight = mass.window, mass.weight[mass.window]
    local = ndi.gaussian_filter(image[sl], max(0.5 * mass.radius, 1.0))
    image[sl] = image[sl] * (1.0 - weight) + local * weight
