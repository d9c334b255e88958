"""Synthetic mammograms with exact ground truth.

:func:`make_case` draws one mammogram — a breast against a dark background, with
parenchymal texture, and microcalcification clusters and/or a mass — together with
the exact mask of everything that was drawn. :func:`make_cohort` writes a folder
of such cases with a lesion table, the default data of ``mammocad demo`` and the
yardstick of segmentation accuracy.

How an image is made
--------------------
1. **Breast.** A half-ellipse against the chest wall (rotated and drooping on MLO),
   with a slightly wavy skin line. Compressed-breast thickness falls off towards
   the skin over a band of about 15 % of the breast depth (a circular-arc
   profile), the skin itself is a thin brighter line, and on MLO a pectoral
   muscle triangle with a convex edge sits in the upper chest-wall corner.
2. **Parenchyma.** Gaussian random fields with a power-law spectrum
   ``P(f) ∝ f^-β`` (β = 3, the exponent measured on real mammograms): one,
   passed through a soft threshold that rises towards the breast centre,
   decides where fibroglandular tissue lies (``density`` 0 = fatty … 1 = extremely
   dense); others modulate the grey level everywhere. Fibrous septa around
   5–9 mm fat lobules are the zero set of a band-limited field, and ducts and
   strands converging on the nipple are added as thin blurred curves.
3. **Lesions**, each defined as a shape evaluated on a super-sampled grid
   (8×8 sub-pixels per pixel for calcifications, 4×4 for masses). The fraction of
   a pixel a shape covers is its *coverage*: the ground-truth mask is
   ``coverage >= 0.5`` and the grey level added is the contrast times the
   coverage-weighted intensity, so the mask is exactly what was drawn.

   - Calcifications, 0.1–1 mm (never thinner than 1.5 pixels, so that each one
     owns at least one pixel). *Benign-like* clusters: 3–8 round, nearly equal,
     larger (0.4–0.9 mm) calcifications spread sparsely over a 3–6 mm disc.
     *Malignant-like* clusters: 8–30 pleomorphic, fine linear and branching
     calcifications of variable size (0.1–0.7 mm) packed along a branching duct
     a few millimetres long.
   - Masses, 3–8 mm in radius. *Benign*: circumscribed smooth oval with a
     sharp-ish margin. *Malignant*: irregular outline with either spicules
     (tapering lines radiating outwards, part of the mask; core and spicules are
     one union on one super-sampled canvas) or an ill-defined margin (the drawn
     intensity is blurred by 0.5–1.5 mm; the mask stays the half-maximum
     outline). The tissue under a mass is blended towards its local mean (a mass
     is a compact, homogeneous density) and a smooth dome of density is added.
4. **Acquisition.** Everything is blurred by a Gaussian point-spread function
   (``psf_sigma_mm``), quantum-like noise whose standard deviation grows with the
   grey level is added (``noise``), and the image is quantised to 8 bits. A film
   label (a bright card with dark glyphs) may sit in the background.

Difficulty
----------
``calc_contrast`` (default 30 grey levels) and ``mass_contrast`` (default 20 grey
levels) are the peak grey-level increments of a fully covered calcification pixel
and of a mass centre over the tissue underneath, before blurring and noise; each
lesion draws its own contrast from ``U(0.7, 1.3)`` times the default. ``noise``
(default 2.5 grey levels) is the noise standard deviation at mid-grey.

Orientation
-----------
As on the mini-MIAS films, a left breast (``laterality="L"``) has its chest wall
at the right image edge and the nipple pointing left; a right breast the mirror
image.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy import ndimage as ndi

from mammocad.errors import SynthesisError
from mammocad.io import ROI, Mammogram

__all__ = [
    "SyntheticLesion",
    "SyntheticCase",
    "make_case",
    "make_cohort",
    "contact_sheet",
    "ABNORMALITIES",
    "PATHOLOGIES",
    "DEFAULT_CALC_CONTRAST",
    "DEFAULT_MASS_CONTRAST",
    "DEFAULT_NOISE",
    "DEFAULT_PSF_SIGMA_MM",
]

#: What :func:`make_case` can draw; ``"both"`` is one mass and one calcification cluster.
ABNORMALITIES: tuple[str, ...] = ("calcification", "mass", "both")
#: Pathologies a synthetic lesion can imitate.
PATHOLOGIES: tuple[str, ...] = ("benign", "malignant")
VIEWS: tuple[str, ...] = ("CC", "MLO")

#: Peak grey-level increment of a fully covered calcification pixel (before PSF and noise).
DEFAULT_CALC_CONTRAST = 30.0
#: Grey-level increment at the centre of a mass over the tissue underneath.
DEFAULT_MASS_CONTRAST = 20.0
#: Standard deviation of the noise at mid-grey (grey levels).
DEFAULT_NOISE = 2.5
#: Standard deviation of the Gaussian point-spread function, in millimetres.
DEFAULT_PSF_SIGMA_MM = 0.05

_CALC_SUPERSAMPLE = 8
_MASS_SUPERSAMPLE = 4
_MIN_CALC_DIAMETER_PX = 1.5
_BACKGROUND_LEVEL = 6.0


# --------------------------------------------------------------------------------------
# values


@dataclass(frozen=True, eq=False)
class SyntheticLesion:
    """One drawn lesion and its exact ground truth.

    Parameters
    ----------
    lesion_id : str
        Unique identifier, ``"<case>_<k>"``.
    abnormality : {"calcification", "mass"}
        What was drawn.
    pathology : {"benign", "malignant"}
        Which appearance was imitated.
    x, y, radius : float
        Circle enclosing every pixel of the mask, in image pixels (origin top-left
        pixel centre, x right, y down).
    mask : ndarray of bool, image-shaped
        Union of the lesion's objects (pixels with ≥ 50 % coverage).
    labels : ndarray of int32, image-shaped
        One label per calcification (1 … n, 0 = background); for a mass the mask
        as 0/1.
    subtype : str
        ``"round"``, ``"pleomorphic"`` (calcifications), ``"circumscribed"``,
        ``"spiculated"`` or ``"ill-defined"`` (masses).
    contrast : float
        Grey-level contrast this lesion was drawn with.
    """

    lesion_id: str
    abnormality: str
    pathology: str
    x: float
    y: float
    radius: float
    mask: np.ndarray
    labels: np.ndarray
    subtype: str = ""
    contrast: float = float("nan")

    @property
    def roi(self) -> ROI:
        """The enclosing circle as an :class:`~mammocad.io.ROI`."""
        return ROI(self.x, self.y, self.radius)

    @property
    def count(self) -> int:
        """Number of objects: calcifications in a cluster, 1 for a mass."""
        return int(self.labels.max()) if self.labels.size else 0


@dataclass(frozen=True, eq=False)
class SyntheticCase:
    """A synthetic mammogram and its ground truth.

    Parameters
    ----------
    mammogram : Mammogram
        ``uint8`` pixels, ``size`` × ``size``, ``pixel_spacing_mm``, laterality and
        view set; ``source`` is None.
    breast_mask : ndarray of bool
        The breast (pectoral muscle included), without background or film label.
    lesions : tuple of SyntheticLesion
        What was drawn, in drawing order.
    seed : int
        The seed that reproduces this case with :func:`make_case`.
    pectoral_mask : ndarray of bool
        The pectoral muscle (empty on CC).
    density : float
        Breast density used, 0 (fatty) … 1 (extremely dense).
    """

    mammogram: Mammogram
    breast_mask: np.ndarray
    lesions: tuple[SyntheticLesion, ...]
    seed: int
    pectoral_mask: np.ndarray | None = None
    density: float = float("nan")


# --------------------------------------------------------------------------------------
# validation


def _check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise SynthesisError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return str(value)


def _check_number(
    name: str, value: object, *, low: float, high: float = math.inf, low_open: bool = False
) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SynthesisError(f"{name} must be a number, got {value!r}") from None
    too_low = number <= low if low_open else number < low
    if not math.isfinite(number) or too_low or number > high:
        bound = f"> {low}" if low_open else f">= {low}"
        upper = "" if math.isinf(high) else f" and <= {high}"
        raise SynthesisError(f"{name} must be a finite number {bound}{upper}, got {value!r}")
    return number


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise SynthesisError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------------------
# super-sampled shapes


def _subpixel_grid(r0: int, c0: int, h: int, w: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of the sub-pixel centres of a patch."""
    offsets = (np.arange(s, dtype=np.float32) + 0.5) / s - 0.5
    rows = (np.arange(r0, r0 + h, dtype=np.float32)[:, None] + offsets[None, :]).reshape(-1)
    cols = (np.arange(c0, c0 + w, dtype=np.float32)[:, None] + offsets[None, :]).reshape(-1)
    return rows[:, None], cols[None, :]


def _block_mean(values: np.ndarray, h: int, w: int, s: int) -> np.ndarray:
    return values.reshape(h, s, w, s).mean(axis=(1, 3), dtype=np.float32)


@dataclass(frozen=True)
class _Radial:
    """A star-shaped blob: ellipse of radius ``r`` and aspect ``q`` with harmonics."""

    cy: float
    cx: float
    r: float
    q: float
    angle: float
    harmonics: tuple[tuple[int, float, float], ...]

    def extent(self) -> float:
        return self.r * (1.0 + sum(abs(a) for _, a, _ in self.harmonics))

    def evaluate(self, yy: np.ndarray, xx: np.ndarray, dome: float) -> tuple[np.ndarray, np.ndarray]:
        dy, dx = yy - self.cy, xx - self.cx
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        u = dx * ca + dy * sa
        v = (-dx * sa + dy * ca) / self.q
        rho = np.sqrt(u * u + v * v)
        theta = np.arctan2(v, u)
        boundary = np.full(theta.shape, self.r, dtype=np.float32)
        for k, amp, phase in self.harmonics:
            boundary += self.r * amp * np.cos(k * theta + phase)
        frac = rho / boundary
        inside = frac < 1.0
        value = np.where(inside, (1.0 - dome) + dome * np.sqrt(np.clip(1.0 - frac * frac, 0.0, 1.0)), 0.0)
        return inside, value.astype(np.float32)


@dataclass(frozen=True)
class _Segment:
    """A capsule from ``p0`` to ``p1`` whose half-width tapers from ``w0`` to ``w1``."""

    y0: float
    x0: float
    y1: float
    x1: float
    w0: float
    w1: float

    def evaluate(self, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        vy, vx = self.y1 - self.y0, self.x1 - self.x0
        length2 = max(vy * vy + vx * vx, 1e-9)
        t = np.clip(((yy - self.y0) * vy + (xx - self.x0) * vx) / length2, 0.0, 1.0)
        dy = yy - (self.y0 + t * vy)
        dx = xx - (self.x0 + t * vx)
        return dy * dy + dx * dx < (self.w0 + (self.w1 - self.w0) * t) ** 2

    def bounds(self) -> tuple[float, float, float, float]:
        w = max(self.w0, self.w1)
        return (
            min(self.y0, self.y1) - w,
            max(self.y0, self.y1) + w,
            min(self.x0, self.x1) - w,
            max(self.x0, self.x1) + w,
        )


def _patch_bounds(
    lo_y: float, hi_y: float, lo_x: float, hi_x: float, shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    r0 = max(int(math.floor(lo_y)) - 1, 0)
    r1 = min(int(math.ceil(hi_y)) + 2, shape[0])
    c0 = max(int(math.floor(lo_x)) - 1, 0)
    c1 = min(int(math.ceil(hi_x)) + 2, shape[1])
    return r0, r1, c0, c1


def _render(
    shape: tuple[int, int],
    bounds: tuple[float, float, float, float],
    s: int,
    inside_value: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
    """Coverage and mean intensity of a shape over its bounding patch."""
    return _union_render(shape, s, [(bounds, inside_value)])


def _single_component(mask: np.ndarray) -> bool:
    _, n = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    return n == 1


# --------------------------------------------------------------------------------------
# breast and parenchyma


def _power_law_field(
    rng: np.random.Generator, shape: tuple[int, int], beta: float, f_min: float
) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian field with spectrum ``P(f) ∝ f^-beta``.

    Frequencies below ``f_min`` (cycles per pixel) are flattened so that a single
    huge blob does not dominate the image.
    """
    fy = sp_fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = sp_fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    f = np.maximum(np.sqrt(fy * fy + fx * fx), np.float32(f_min))
    amplitude = f ** np.float32(-beta / 2.0)
    amplitude[0, 0] = 0.0
    noise = rng.standard_normal((2, *amplitude.shape), dtype=np.float32)
    spectrum = (noise[0] + 1j * noise[1]).astype(np.complex64) * amplitude
    field = sp_fft.irfft2(spectrum, s=shape, workers=1).astype(np.float32)
    field -= field.mean()
    field /= field.std() + np.float32(1e-12)
    return field


@dataclass(frozen=True)
class _Anatomy:
    breast: np.ndarray
    pectoral: np.ndarray
    depth_px: np.ndarray  # distance to the skin line, pixels
    nipple: tuple[float, float]  # (y, x)
    depth_scale: float  # breast depth along its axis, pixels
    cy: float


def _anatomy(rng: np.random.Generator, size: int, view: str) -> _Anatomy:
    """Breast and pectoral masks with the chest wall at the left edge (x = 0)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if view == "CC":
        cy = size * rng.uniform(0.46, 0.54)
        a = size * rng.uniform(0.58, 0.8)
        b = size * rng.uniform(0.36, 0.46)
        angle = math.radians(rng.uniform(-5.0, 5.0))
    else:
        cy = size * rng.uniform(0.4, 0.48)
        a = size * rng.uniform(0.62, 0.8)
        b = size * rng.uniform(0.5, 0.58)
        angle = math.radians(rng.uniform(8.0, 18.0))
    ca, sa = math.cos(angle), math.sin(angle)
    u = (xx * ca + (yy - cy) * sa) / a
    v = (-xx * sa + (yy - cy) * ca) / b
    theta = np.arctan2(v, u)
    wobble = np.zeros_like(theta)
    for k in range(2, 7):
        wobble += rng.normal(0.0, 0.012 / k**0.5) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    # A flatter front than an ellipse (compression paddle): exponent slightly above 2 on u.
    p = rng.uniform(2.0, 2.6)
    radius = (np.abs(u) ** p + np.abs(v) ** 2) ** (1.0 / 2.0)
    breast = (radius < 1.0 + wobble) & (xx >= 0)
    pectoral = np.zeros_like(breast)
    if view == "MLO":
        pw = size * rng.uniform(0.14, 0.28)
        ph = size * rng.uniform(0.35, 0.6)
        bulge = rng.uniform(0.2, 0.6)
        px, py = xx / pw, yy / ph
        pectoral = breast & (px + py - bulge * px * py < 1.0)
        # top of the image on MLO is axilla: keep the breast reaching the top edge
    # Distance to the skin at half resolution is ample for smooth profiles and margins.
    half = ndi.distance_transform_edt(breast[::2, ::2]).astype(np.float32) * 2.0
    depth = np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)[:size, :size] * breast
    nipple_y = cy + a * sa
    nipple_x = a * ca
    return _Anatomy(breast, pectoral, depth, (nipple_y, nipple_x), a, cy)


def _strands(
    rng: np.random.Generator, shape: tuple[int, int], anatomy: _Anatomy, n: int, sigma_px: float
) -> np.ndarray:
    """Sum of thin curves converging on the nipple, peak height ≈ 1 each."""
    acc = np.zeros(shape, dtype=np.float32)
    ny, nx = anatomy.nipple
    step = 0.7
    inside = np.flatnonzero(anatomy.breast)
    starts = inside[rng.integers(inside.size, size=n)]
    for flat in starts:
        y0, x0 = float(flat // shape[1]), float(flat % shape[1])
        # Ducts and ligaments run roughly towards the nipple, wandering on the way.
        heading = math.atan2(ny - y0, nx - x0) + rng.normal(0.0, 0.35)
        if rng.random() < 0.5:
            heading += math.pi
        length = anatomy.depth_scale * rng.uniform(0.1, 0.45)
        k = max(int(length / step), 2)
        turns = heading + np.cumsum(rng.normal(0.0, 0.05, size=k))
        y = y0 + np.cumsum(np.sin(turns) * step)
        x = x0 + np.cumsum(np.cos(turns) * step)
        weight = rng.uniform(0.3, 1.0)
        iy = np.rint(y).astype(np.int64)
        ix = np.rint(x).astype(np.int64)
        ok = (iy >= 0) & (iy < shape[0]) & (ix >= 0) & (ix < shape[1])
        np.add.at(acc, (iy[ok], ix[ok]), np.float32(weight * step))
    acc = ndi.gaussian_filter(acc, sigma_px, truncate=3.0)
    return acc * np.float32(math.sqrt(2 * math.pi) * sigma_px)


def _parenchyma(rng: np.random.Generator, anatomy: _Anatomy, density: float, spacing_mm: float) -> np.ndarray:
    """Grey levels of the breast (without lesions), background 0."""
    size = anatomy.breast.shape[0]
    shape = anatomy.breast.shape
    gland_field = _power_law_field(rng, shape, 3.0, 2.0 / size)
    texture = _power_law_field(rng, shape, 3.0, 6.0 / size)
    fine = _power_law_field(rng, shape, 2.4, 24.0 / size)

    depth = anatomy.depth_px
    a = anatomy.depth_scale
    # Fibroglandular tissue sits centrally, behind a subcutaneous fat layer and in
    # front of the retromammary fat near the chest wall.
    xs = np.arange(shape[1], dtype=np.float32)[None, :]
    central = np.clip((depth - 0.04 * a) / (0.3 * a), 0.0, 1.0)
    retro = np.clip((xs - 0.03 * a) / (0.15 * a), 0.0, 1.0)
    envelope = central * retro
    offset = -1.6 + 3.4 * density
    gland = 1.0 / (1.0 + np.exp(-(gland_field + 2.5 * (envelope - 1.0) + offset) / 0.6))

    fat_level = rng.uniform(85.0, 110.0)
    gland_level = rng.uniform(165.0, 195.0)
    tissue = fat_level + (gland_level - fat_level) * gland
    tissue += (5.0 + 5.0 * gland) * texture + (2.0 + 3.0 * gland) * fine

    # Fibrous septa around fat lobules (Cooper's ligaments): the zero set of a
    # band-limited field is a network of closed curves a lobule (~5-10 mm) apart;
    # |F| / |grad F| is the distance to it, giving lines of even width.
    lobule_field = _power_law_field(rng, shape, 3.0, spacing_mm / rng.uniform(5.0, 9.0))
    gy, gx = np.gradient(lobule_field)
    distance = np.abs(lobule_field) / (np.sqrt(gy * gy + gx * gx) + np.float32(1e-6))
    septum_width = max(0.15 / spacing_mm, 0.7)
    septa = np.exp(-0.5 * (distance / septum_width) ** 2)
    tissue += rng.uniform(6.0, 12.0) * septa * (1.0 - 0.6 * gland)

    strand_sigma = max(0.2 / spacing_mm, 0.8)
    n_strands = int(rng.integers(80, 160))
    strands = _strands(rng, shape, anatomy, n_strands, strand_sigma)
    tissue += rng.uniform(10.0, 18.0) * strands * (1.0 - 0.4 * gland)
    tissue += rng.uniform(6.0, 12.0) * _strands(rng, shape, anatomy, n_strands // 4, 2.5 * strand_sigma)

    if anatomy.pectoral.any():
        rows, cols = np.nonzero(anatomy.pectoral)
        sigma = max(1.0, 0.6 / spacing_mm)
        pad = int(3 * sigma) + 1
        sl = (
            slice(0, min(int(rows.max()) + pad + 1, shape[0])),
            slice(0, min(int(cols.max()) + pad + 1, shape[1])),
        )
        # The muscle brightens towards the chest wall, with its own fibrous texture.
        xs_frac = np.clip(1.0 - xs[:, sl[1]] / max(float(cols.max()), 1.0), 0.0, 1.0)
        muscle = gland_level * rng.uniform(0.8, 0.95) + rng.uniform(10.0, 30.0) * xs_frac + 6.0 * texture[sl]
        # Breast tissue overlapping the muscle still shows through a little.
        soft = ndi.gaussian_filter(anatomy.pectoral[sl].astype(np.float32), sigma, truncate=3.0)
        soft *= np.float32(rng.uniform(0.75, 0.9))
        tissue[sl] = tissue[sl] * (1.0 - soft) + muscle * soft

    falloff = max(0.15 * a, 5.0)
    rel = np.clip(depth / falloff, 0.0, 1.0)
    thickness = np.sqrt(1.0 - (1.0 - rel) ** 2)
    skin = 14.0 * np.exp(-depth / max(0.8 / spacing_mm, 1.0)) * anatomy.breast
    return (tissue * thickness + skin) * anatomy.breast


def _film_label(
    rng: np.random.Generator, breast: np.ndarray
) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """A bright card with dark glyphs in a background corner, or None if none fits."""
    size = breast.shape[0]
    h = int(size * rng.uniform(0.07, 0.12))
    w = int(size * rng.uniform(0.09, 0.16))
    margin = int(size * 0.02)
    corners = [(margin, size - w - margin), (size - h - margin, size - w - margin)]
    order = rng.permutation(len(corners))
    clearance = int(size * 0.03)
    for idx in order:
        r0, c0 = corners[idx]
        r0 += int(rng.integers(0, margin + 1))
        c0 -= int(rng.integers(0, 3 * margin + 1))
        rs = slice(max(r0 - clearance, 0), min(r0 + h + clearance, size))
        cs = slice(max(c0 - clearance, 0), min(c0 + w + clearance, size))
        if breast[rs, cs].any():
            continue
        card = np.full((h, w), rng.uniform(200.0, 240.0), dtype=np.float32)
        lines = int(rng.integers(2, 4))
        glyph_h = max(h // (2 * lines + 1), 2)
        glyph_w = max(int(glyph_h * 0.6), 1)
        for line in range(lines):
            top = glyph_h * (2 * line + 1)
            col = max(w // 10, 1)
            while col + glyph_w < w - w // 10:
                if rng.random() < 0.8:
                    card[top : top + glyph_h, col : col + glyph_w] = rng.uniform(20.0, 60.0)
                col += glyph_w + max(glyph_h // 3, 1)
        return (slice(r0, r0 + h), slice(c0, c0 + w)), card
    return None


# --------------------------------------------------------------------------------------
# lesions


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
) -> tuple[Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], float]:
    """One calcification: (inside/value function, extent in pixels)."""
    min_d = _MIN_CALC_DIAMETER_PX
    if pathology == "benign":
        d = max(base_diameter_mm * rng.uniform(0.92, 1.08) * px_per_mm, min_d)
        blob = _Radial(
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
        blob = _Radial(cy, cx, d / 2, rng.uniform(0.45, 1.0), duct_angle + rng.normal(0, 0.4), harmonics)
        return (lambda yy, xx: blob.evaluate(yy, xx, 0.2)), blob.extent()
    # Longest extent stays within 1 mm: rods up to 0.8 mm + width, forks up to 0.55 mm + 60 %.
    length = rng.uniform(0.3, 0.8 if kind == "linear" else 0.55) * px_per_mm
    half_w = max(rng.uniform(0.05, 0.1) * px_per_mm, min_d / 2)
    angle = duct_angle + rng.normal(0, 0.25)
    segments = [
        _Segment(
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
        segments[0] = _Segment(segments[0].y0, segments[0].x0, sy, sx, half_w, half_w)
        segments.append(
            _Segment(sy, sx, sy + blen * math.sin(fork), sx + blen * math.cos(fork), half_w, half_w * 0.8)
        )

    def evaluate(yy: np.ndarray, xx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = segments[0].evaluate(yy, xx)
        for seg in segments[1:]:
            inside = inside | seg.evaluate(yy, xx)
        return inside, inside.astype(np.float32)

    extent = max(math.hypot(seg.y1 - cy, seg.x1 - cx) for seg in segments) + half_w
    extent = max(extent, max(math.hypot(seg.y0 - cy, seg.x0 - cx) for seg in segments) + half_w)
    return evaluate, extent


def _enclosing(mask: np.ndarray) -> tuple[float, float, float]:
    """Centre and radius of a circle enclosing every pixel (square) of ``mask``."""
    rows, cols = np.nonzero(mask)
    cy = 0.5 * (rows.min() + rows.max())
    cx = 0.5 * (cols.min() + cols.max())
    radius = float(np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2).max()) + math.sqrt(0.5)
    return float(cx), float(cy), radius


def _calcification_cluster(
    rng: np.random.Generator,
    shape: tuple[int, int],
    allowed: np.ndarray,
    pathology: str,
    px_per_mm: float,
    contrast: float,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Labels and drawn grey levels of one cluster, or None if it does not fit.

    ``scale`` < 1 shrinks the cluster's extent (not its calcifications) to fit.
    """
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
        rendered = _render(
            shape, (py - extent, py + extent, px - extent, px + extent), _CALC_SUPERSAMPLE, evaluate
        )
        if rendered is None:
            continue
        sl, coverage, intensity = rendered
        obj = coverage >= 0.5
        if not obj.any() or not _single_component(obj):
            continue
        if not allowed[sl][obj].all():
            continue
        # Keep a clear gap to the other objects: benign ones sparse, malignant ones a pixel apart.
        gap = max(int(round(min(1.2 * px_per_mm, 0.3 * cluster_r))), 2) if pathology == "benign" else 1
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
        grown_big = ndi.binary_dilation(grown_big, structure=np.ones((3, 3), dtype=bool), iterations=gap)
        if occupied[big_sl][grown_big].any():
            continue
        occupied[big_sl] |= grown_big
        n += 1
        labels[sl][obj] = n
        drawn[sl] += np.float32(contrast * rng.uniform(0.7, 1.3)) * intensity
    minimum = 3 if pathology == "benign" else 8
    if n < minimum:
        return None
    return labels, drawn, "round" if pathology == "benign" else "pleomorphic"


def _union_render(
    shape: tuple[int, int],
    s: int,
    parts: Sequence[
        tuple[
            tuple[float, float, float, float],
            Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
        ]
    ],
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
    """Exact coverage of a union of shapes, painted on one super-sampled canvas.

    Each part is evaluated only over its own bounding box; the canvas keeps the
    union of the insides and the maximum of the intensities.
    """
    lo_y = min(b[0] for b, _ in parts)
    hi_y = max(b[1] for b, _ in parts)
    lo_x = min(b[2] for b, _ in parts)
    hi_x = max(b[3] for b, _ in parts)
    r0, r1, c0, c1 = _patch_bounds(lo_y, hi_y, lo_x, hi_x, shape)
    if r1 <= r0 or c1 <= c0:
        return None
    h, w = r1 - r0, c1 - c0
    inside_canvas = np.zeros((h * s, w * s), dtype=bool)
    value_canvas = np.zeros((h * s, w * s), dtype=np.float32)
    for bounds, inside_value in parts:
        pr0, pr1, pc0, pc1 = _patch_bounds(*bounds, shape)
        pr0, pr1, pc0, pc1 = max(pr0, r0), min(pr1, r1), max(pc0, c0), min(pc1, c1)
        if pr1 <= pr0 or pc1 <= pc0:
            continue
        yy, xx = _subpixel_grid(pr0, pc0, pr1 - pr0, pc1 - pc0, s)
        inside, value = inside_value(yy, xx)
        region = (slice((pr0 - r0) * s, (pr1 - r0) * s), slice((pc0 - c0) * s, (pc1 - c0) * s))
        inside_canvas[region] |= inside
        np.maximum(value_canvas[region], value, out=value_canvas[region])
    coverage = _block_mean(inside_canvas.astype(np.float32), h, w, s)
    intensity = _block_mean(value_canvas, h, w, s)
    return (slice(r0, r1), slice(c0, c1)), coverage, intensity


@dataclass(frozen=True)
class _DrawnMass:
    labels: np.ndarray
    drawn: np.ndarray  # grey levels added, image-shaped
    weight: np.ndarray  # 0..1: how far the tissue under the mass is made homogeneous
    window: tuple[slice, slice]
    radius: float
    subtype: str


def _mass(
    rng: np.random.Generator,
    shape: tuple[int, int],
    allowed: np.ndarray,
    pathology: str,
    px_per_mm: float,
    contrast: float,
    scale: float = 1.0,
) -> _DrawnMass | None:
    """One mass: mask, added grey levels and homogenisation weight, or None if it does not fit.

    ``scale`` < 1 shrinks the mass to fit.
    """
    size = shape[0]
    radius = min(rng.uniform(3.0, 8.0) * px_per_mm, 0.07 * size) * scale
    if pathology == "benign":
        subtype = "circumscribed"
        harmonics = tuple((k, rng.normal(0, 0.03), rng.uniform(0, 2 * np.pi)) for k in (2, 3, 4))
        aspect = rng.uniform(0.6, 0.95)
        n_spicules = 0
        margin_blur = 0.12 * px_per_mm
        homogeneity = 0.6
    else:
        subtype = "spiculated" if rng.random() < 0.6 else "ill-defined"
        harmonics = tuple(
            (k, rng.uniform(0.04, 0.12) / (k / 3) ** 0.7, rng.uniform(0, 2 * np.pi)) for k in range(2, 11)
        )
        aspect = rng.uniform(0.75, 1.0)
        n_spicules = int(rng.integers(7, 17)) if subtype == "spiculated" else 0
        margin_blur = (0.25 if subtype == "spiculated" else rng.uniform(0.5, 1.5)) * px_per_mm
        homogeneity = 0.5
    spicule_len = 0.8 * radius if n_spicules else 0.0
    reach = radius * 1.6 + spicule_len + 2.0 * margin_blur
    centre = _place_centre(rng, allowed, reach)
    if centre is None:
        return None
    cy, cx = centre
    for _attempt in range(6):
        blob = _Radial(cy, cx, radius, aspect, rng.uniform(0, np.pi), harmonics)
        extent = blob.extent()
        parts: list = [
            (
                (cy - extent, cy + extent, cx - extent, cx + extent),
                lambda yy, xx, blob=blob: blob.evaluate(yy, xx, 0.6),
            )
        ]
        for _ in range(n_spicules):
            theta = rng.uniform(0, 2 * np.pi)
            base = 0.8 * radius
            tip = radius * rng.uniform(1.4, 2.0)
            w0 = max(rng.uniform(0.35, 0.7) * px_per_mm, 1.5)
            seg = _Segment(
                cy + base * math.sin(theta),
                cx + base * math.cos(theta),
                cy + tip * math.sin(theta),
                cx + tip * math.cos(theta),
                w0,
                0.8,
            )

            def spicule(yy: np.ndarray, xx: np.ndarray, seg: _Segment = seg) -> tuple[np.ndarray, np.ndarray]:
                inside = seg.evaluate(yy, xx)
                return inside, np.float32(0.8) * inside

            parts.append((seg.bounds(), spicule))
        rendered = _union_render(shape, _MASS_SUPERSAMPLE, parts)
        if rendered is None:
            return None
        window, coverage, value = rendered
        mask_w = coverage >= 0.5
        if _single_component(mask_w):
            break
        n_spicules = max(n_spicules - 3, 0)
    else:
        return None
    # Room for the margin blur and the homogenisation around the mass.
    pad = int(4 * max(margin_blur, 1.0)) + 1
    r0, r1 = max(window[0].start - pad, 0), min(window[0].stop + pad, shape[0])
    c0, c1 = max(window[1].start - pad, 0), min(window[1].stop + pad, shape[1])
    big = (slice(r0, r1), slice(c0, c1))
    inner = (
        slice(window[0].start - r0, window[0].stop - r0),
        slice(window[1].start - c0, window[1].stop - c0),
    )
    value_big = np.zeros((r1 - r0, c1 - c0), dtype=np.float32)
    value_big[inner] = value
    if margin_blur > 0.3:
        value_big = ndi.gaussian_filter(value_big, margin_blur)
    weight_big = np.zeros_like(value_big)
    weight_big[inner] = coverage
    weight_big = ndi.gaussian_filter(weight_big, max(margin_blur, 1.0)) * np.float32(homogeneity)
    labels = np.zeros(shape, dtype=np.int32)
    labels[window] = mask_w
    drawn = np.zeros(shape, dtype=np.float32)
    drawn[big] = np.float32(contrast) * value_big
    weight = np.zeros(shape, dtype=np.float32)
    weight[big] = weight_big
    return _DrawnMass(labels, drawn, weight, big, radius, subtype)


# --------------------------------------------------------------------------------------
# public API


def _check_rendering(
    size: object,
    pixel_spacing_mm: object,
    density: object,
    calc_contrast: object,
    mass_contrast: object,
    noise: object,
    psf_sigma_mm: object,
) -> tuple[int, float, float | None, float, float, float, float]:
    """Validated size, spacing, density and difficulty arguments of :func:`make_case`."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 256 <= int(size) <= 8192:
        raise SynthesisError(f"size must be an integer from 256 to 8192 pixels, got {size!r}")
    return (
        int(size),
        _check_number("pixel_spacing_mm", pixel_spacing_mm, low=0.02, high=0.5),
        None if density is None else _check_number("density", density, low=0.0, high=1.0),
        _check_number("calc_contrast", calc_contrast, low=0.0, high=255.0),
        _check_number("mass_contrast", mass_contrast, low=0.0, high=255.0),
        _check_number("noise", noise, low=0.0, high=100.0),
        _check_number("psf_sigma_mm", psf_sigma_mm, low=0.0, high=2.0),
    )


def make_case(
    seed: int,
    *,
    abnormality: str = "calcification",
    pathology: str = "benign",
    size: int = 1024,
    pixel_spacing_mm: float = 0.1,
    view: str = "CC",
    laterality: str | None = None,
    density: float | None = None,
    calc_contrast: float = DEFAULT_CALC_CONTRAST,
    mass_contrast: float = DEFAULT_MASS_CONTRAST,
    noise: float = DEFAULT_NOISE,
    psf_sigma_mm: float = DEFAULT_PSF_SIGMA_MM,
    film_label: bool = True,
    case_id: str | None = None,
) -> SyntheticCase:
    """Draw one synthetic mammogram with exact lesion masks.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same arguments give the same pixels.
    abnormality : {"calcification", "mass", "both"}
        A microcalcification cluster, a mass, or one of each.
    pathology : {"benign", "malignant"}
        Appearance imitated by every lesion of the case (see the module docstring).
    size : int
        Edge of the square image in pixels (≥ 256).
    pixel_spacing_mm : float
        Pixel edge in millimetres (0.02–0.5); lesion sizes are physical.
    view : {"CC", "MLO"}
        Projection; MLO adds a pectoral muscle.
    laterality : {"L", "R"} or None
        Which breast; None draws it from the seed. ``"L"`` has the chest wall at
        the right edge (as on mini-MIAS films).
    density : float or None
        Fibroglandular density from 0 (fatty) to 1 (extremely dense); None draws
        it from the seed.
    calc_contrast, mass_contrast : float
        Peak grey-level increment of a calcification / at a mass centre (each
        lesion scales its own by ``U(0.7, 1.3)``); defaults
        :data:`DEFAULT_CALC_CONTRAST`, :data:`DEFAULT_MASS_CONTRAST`.
    noise : float
        Noise standard deviation at mid-grey, in grey levels (grows with grey level).
    psf_sigma_mm : float
        Standard deviation of the Gaussian point-spread function, in millimetres.
    film_label : bool
        Whether to put a film label card in the background.
    case_id : str or None
        Prefix of the lesion ids; default ``"synth<seed>"``.

    Returns
    -------
    SyntheticCase

    Raises
    ------
    SynthesisError
        If an argument is out of range, or the lesions do not fit in the breast
        (only for images far smaller than the lesions).

    Examples
    --------
    >>> case = make_case(3, abnormality="calcification", pathology="malignant", size=512)
    >>> case.mammogram.pixels.dtype, case.lesions[0].count >= 8
    (dtype('uint8'), True)
    """
    seed = _check_seed(seed)
    abnormality = _check_choice("abnormality", abnormality, ABNORMALITIES)
    pathology = _check_choice("pathology", pathology, PATHOLOGIES)
    view = _check_choice("view", view, VIEWS)
    if laterality is not None:
        laterality = _check_choice("laterality", laterality, ("L", "R"))
    size, spacing, density, calc_contrast, mass_contrast, noise, psf_sigma_mm = _check_rendering(
        size, pixel_spacing_mm, density, calc_contrast, mass_contrast, noise, psf_sigma_mm
    )
    case_id = f"synth{seed}" if case_id is None else str(case_id)

    rng = np.random.default_rng(seed)
    if laterality is None:
        laterality = "L" if rng.random() < 0.5 else "R"
    if density is None:
        density = float(rng.beta(2.0, 2.2))
    px_per_mm = 1.0 / spacing
    shape = (size, size)

    anatomy = _anatomy(rng, size, view)
    image = _parenchyma(rng, anatomy, density, spacing)

    # Lesions lie at least 3 mm (4 % of the image on small images) inside the skin, off the pectoral muscle.
    allowed = anatomy.breast & ~anatomy.pectoral & (anatomy.depth_px > min(3.0 * px_per_mm, 0.04 * size))
    if anatomy.pectoral.any():
        grow = max(int(2 * px_per_mm), 1)
        rows, cols = np.nonzero(anatomy.pectoral)
        near = (
            slice(0, min(int(rows.max()) + grow + 2, size)),
            slice(0, min(int(cols.max()) + grow + 2, size)),
        )
        allowed[near] &= ~ndi.binary_dilation(anatomy.pectoral[near], iterations=grow)
    kinds = ["mass", "calcification"] if abnormality == "both" else [abnormality]
    drawn_total = np.zeros(shape, dtype=np.float32)
    found: list[tuple[str, np.ndarray, str, float]] = []
    for kind in kinds:
        contrast = (mass_contrast if kind == "mass" else calc_contrast) * rng.uniform(0.7, 1.3)
        maker = _mass if kind == "mass" else _calcification_cluster
        result = None
        for attempt in range(6):
            # Lesions that do not fit (small images) are tried again, smaller.
            result = maker(rng, shape, allowed, pathology, px_per_mm, contrast, 0.8 ** max(attempt - 1, 0))
            if result is not None:
                break
        if result is None:
            raise SynthesisError(
                f"could not fit a {pathology} {kind} in a {size}x{size} image at {spacing} mm/pixel; "
                "use a larger size or a coarser pixel spacing"
            )
        if isinstance(result, _DrawnMass):
            # A mass is a compact, homogeneous density: the tissue under it is
            # blended towards its local mean before the mass's own density is added.
            sl, weight = result.window, result.weight[result.window]
            local = ndi.gaussian_filter(image[sl], max(0.5 * result.radius, 1.0))
            image[sl] = image[sl] * (1.0 - weight) + local * weight
            labels, drawn, subtype = result.labels, result.drawn, result.subtype
        else:
            labels, drawn, subtype = result
        drawn_total += drawn
        found.append((kind, labels, subtype, float(contrast)))
        # The next lesion keeps clear of this one's enclosing circle.
        x, y, radius = _enclosing(labels > 0)
        yy, xx = np.ogrid[0:size, 0:size]
        allowed &= (yy - y) ** 2 + (xx - x) ** 2 > (radius + min(2.0 * px_per_mm, 0.02 * size)) ** 2

    signal = image + drawn_total + np.float32(_BACKGROUND_LEVEL)
    if film_label:
        placed = _film_label(rng, anatomy.breast)
        if placed is not None:
            sl, card = placed
            signal[sl] = card
    sigma_px = psf_sigma_mm / spacing
    if sigma_px > 0.05:
        signal = ndi.gaussian_filter(signal, sigma_px)
    if noise > 0:
        std = noise * (0.4 + 1.2 * np.clip(signal, 0.0, 255.0) / 255.0)
        signal = signal + rng.standard_normal(shape, dtype=np.float32) * std.astype(np.float32)
    pixels = np.clip(np.rint(signal), 0, 255).astype(np.uint8)

    breast = anatomy.breast
    pectoral = anatomy.pectoral
    flip = laterality == "L"  # drawn with the chest wall at the left; "L" puts it at the right
    if flip:
        pixels, breast, pectoral = pixels[:, ::-1].copy(), breast[:, ::-1].copy(), pectoral[:, ::-1].copy()
    lesions = []
    for k, (kind, labels, subtype, contrast) in enumerate(found, start=1):
        if flip:
            labels = labels[:, ::-1].copy()
        mask = labels > 0
        x, y, radius = _enclosing(mask)
        lesions.append(
            SyntheticLesion(
                lesion_id=f"{case_id}_{k}",
                abnormality=kind,
                pathology=pathology,
                x=x,
                y=y,
                radius=radius,
                mask=mask,
                labels=labels,
                subtype=subtype,
                contrast=contrast,
            )
        )
    mammogram = Mammogram(pixels, pixel_spacing_mm=spacing, laterality=laterality, view=view, source=None)
    return SyntheticCase(mammogram, breast, tuple(lesions), seed, pectoral, float(density))


#: Keyword arguments of :func:`make_case` that :func:`make_cohort` passes through.
_CASE_OPTIONS: tuple[str, ...] = (
    "density",
    "calc_contrast",
    "mass_contrast",
    "noise",
    "psf_sigma_mm",
    "film_label",
)


def _case_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


def _save_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    from mammocad._fileio import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG", compress_level=3)


def _cohort_plan(n: int, seed: int) -> list[tuple[str, str, str, str, str]]:
    """(case_id, patient_id, abnormality, pathology, view) per image.

    Patient ``p`` gets abnormality ``p mod 3`` and pathology ``p mod 2`` (after a
    seeded shuffle of both lists): any six consecutive patients cover all six
    combinations and any two consecutive ones differ in both.
    """
    rng = np.random.default_rng([seed, 2])
    abnormalities = [ABNORMALITIES[i] for i in rng.permutation(len(ABNORMALITIES))]
    pathologies = [PATHOLOGIES[i] for i in rng.permutation(len(PATHOLOGIES))]
    plan = []
    for i in range(n):
        p = i // 2
        view = "CC" if i % 2 == 0 else "MLO"
        plan.append((f"syn{p:05d}_{view}", f"SYN{p:05d}", abnormalities[p % 3], pathologies[p % 2], view))
    return plan


_PROGRESS_DIR = ".synth-progress"


def _write_case_files(
    case: SyntheticCase, case_id: str, images_dir: Path, masks_dir: Path
) -> tuple[Path, dict[str, Path]]:
    """Write the image and one mask per lesion; return their paths."""
    image_path = images_dir / f"{case_id}.png"
    _save_png(image_path, case.mammogram.pixels)
    masks = {}
    for lesion in case.lesions:
        mask_path = masks_dir / f"{lesion.lesion_id}.png"
        if lesion.abnormality == "calcification":
            _save_png(mask_path, lesion.labels.astype(np.uint16))
        else:
            _save_png(mask_path, (lesion.mask * np.uint8(255)).astype(np.uint8))
        masks[lesion.lesion_id] = mask_path
    return image_path, masks


def _resumed_rows(record_path: Path, params: dict[str, object], out: Path) -> list[dict[str, object]] | None:
    """Rows of a case finished by an earlier run with the same parameters, else None."""
    import json

    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(record, dict)
        or record.get("params") != params
        or not isinstance(record.get("rows"), list)
    ):
        return None
    rows = record["rows"]
    for row in rows:
        if not isinstance(row, dict):
            return None
        for column in ("image_path", "mask_path"):
            if not (out / str(row.get(column, ""))).is_file():
                return None
    return [
        {
            **row,
            "image_path": str((out / row["image_path"]).resolve()),
            "mask_path": str((out / row["mask_path"]).resolve()),
        }
        for row in rows
    ]


def make_cohort(
    n: int,
    out_dir: str | Path,
    *,
    seed: int = 0,
    size: int = 1024,
    pixel_spacing_mm: float = 0.1,
    resume: bool = False,
    progress: bool = False,
    **case_options: object,
) -> pd.DataFrame:
    """Write ``n`` synthetic mammograms, their lesion masks and a lesion table.

    Images come in pairs (CC then MLO) of one patient and one breast. Patient
    ``p`` gets the ``p mod 3``-th abnormality (calcification / mass / both) and
    the ``p mod 2``-th pathology of a seeded shuffle of each list, so any six
    consecutive patients cover all six combinations and the cohort is balanced
    benign/malignant. Every image is drawn by :func:`make_case` with a seed
    derived from ``seed`` and its index (column ``case_seed``), so any single
    case can be re-made alone.

    Written under ``out_dir``:

    - ``images/<case>.png`` — 8-bit mammogram;
    - ``masks/<lesion_id>.png`` — a calcification cluster's labels as a 16-bit PNG
      (one value per calcification), a mass as an 8-bit 0/255 PNG;
    - ``lesions.csv`` — the lesion table (:data:`mammocad.datasets.LESION_COLUMNS`
      then ``density``, ``subtype``, ``n_objects``, ``contrast``, ``case_seed``).

    Every file is written atomically and the table last, so a folder with a
    ``lesions.csv`` is complete. While the run lasts, a small JSON record per
    finished case is kept in ``out_dir/.synth-progress/`` (removed at the end) so
    that an interrupted run can be resumed.

    Parameters
    ----------
    n : int
        Number of images (≥ 1).
    out_dir : path-like
        Output folder (created).
    seed : int
        Seed of the whole cohort.
    size, pixel_spacing_mm
        As in :func:`make_case`.
    resume : bool
        Keep the cases an interrupted run with the same arguments has finished
        instead of drawing them again.
    progress : bool
        Show a progress bar.
    **case_options
        Further keyword arguments of :func:`make_case` (``calc_contrast``,
        ``mass_contrast``, ``noise``, ``psf_sigma_mm``, ``density``, ``film_label``).

    Returns
    -------
    DataFrame
        The lesion table, with absolute paths.

    Raises
    ------
    SynthesisError
        If ``n`` or another argument is invalid.

    Examples
    --------
    >>> table = make_cohort(2, "synthetic", seed=1, size=512)  # doctest: +SKIP
    >>> table[["lesion_id", "abnormality", "pathology"]]  # doctest: +SKIP
    """
    import json

    from mammocad import __version__
    from mammocad._fileio import atomic_write_text
    from mammocad.datasets.table import lesion_frame, write_lesion_table

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 1:
        raise SynthesisError(f"n (number of images) must be an integer >= 1, got {n!r}")
    seed = _check_seed(seed)
    forbidden = {"abnormality", "pathology", "view", "case_id", "laterality", "seed"} & set(case_options)
    if forbidden:
        raise SynthesisError(f"make_cohort chooses {', '.join(sorted(forbidden))} itself; do not pass it")
    unknown = set(case_options) - set(_CASE_OPTIONS)
    if unknown:
        raise SynthesisError(
            f"unknown option(s) {', '.join(sorted(unknown))}; expected some of {', '.join(_CASE_OPTIONS)}"
        )
    # Validate every argument before the first file is written.
    defaults = {
        "density": None,
        "calc_contrast": DEFAULT_CALC_CONTRAST,
        "mass_contrast": DEFAULT_MASS_CONTRAST,
        "noise": DEFAULT_NOISE,
        "psf_sigma_mm": DEFAULT_PSF_SIGMA_MM,
    }
    given = {**defaults, **case_options}
    _check_rendering(
        size,
        pixel_spacing_mm,
        given["density"],
        given["calc_contrast"],
        given["mass_contrast"],
        given["noise"],
        given["psf_sigma_mm"],
    )
    out = Path(out_dir)
    images_dir, masks_dir, progress_dir = out / "images", out / "masks", out / _PROGRESS_DIR
    for folder in (images_dir, masks_dir, progress_dir):
        folder.mkdir(parents=True, exist_ok=True)
    plan = _cohort_plan(int(n), seed)
    lateralities = np.random.default_rng([seed, 1]).choice(["L", "R"], size=len(plan))
    rows: list[dict[str, object]] = []
    iterator = enumerate(plan)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(plan), desc="synth", unit="image")
    for index, (case_id, patient_id, abnormality, pathology, view) in iterator:
        case_seed = _case_seed(seed, index)
        laterality = str(lateralities[index // 2])
        params: dict[str, object] = {
            "version": __version__,
            "case_seed": case_seed,
            "abnormality": abnormality,
            "pathology": pathology,
            "size": int(size),
            "pixel_spacing_mm": float(pixel_spacing_mm),
            "view": view,
            "laterality": laterality,
            "options": {k: case_options[k] for k in sorted(case_options)},
        }
        record_path = progress_dir / f"{case_id}.json"
        if resume:
            done = _resumed_rows(record_path, json.loads(json.dumps(params)), out)
            if done is not None:
                rows.extend(done)
                continue
        case = make_case(
            case_seed,
            abnormality=abnormality,
            pathology=pathology,
            size=size,
            pixel_spacing_mm=pixel_spacing_mm,
            view=view,
            laterality=laterality,
            case_id=case_id,
            **case_options,  # type: ignore[arg-type]
        )
        image_path, masks = _write_case_files(case, case_id, images_dir, masks_dir)
        case_rows: list[dict[str, object]] = [
            {
                "lesion_id": lesion.lesion_id,
                "patient_id": patient_id,
                "image_path": str(image_path.resolve()),
                "laterality": case.mammogram.laterality,
                "view": view,
                "abnormality": lesion.abnormality,
                "x": lesion.x,
                "y": lesion.y,
                "radius": lesion.radius,
                "mask_path": str(masks[lesion.lesion_id].resolve()),
                "pathology": lesion.pathology,
                "pixel_spacing_mm": case.mammogram.pixel_spacing_mm,
                "split": "",
                "density": round(case.density, 4),
                "subtype": lesion.subtype,
                "n_objects": lesion.count,
                "contrast": round(lesion.contrast, 3),
                "case_seed": case_seed,
            }
            for lesion in case.lesions
        ]
        rows.extend(case_rows)
        relative = [
            {
                **row,
                "image_path": image_path.relative_to(out).as_posix(),
                "mask_path": masks[str(row["lesion_id"])].relative_to(out).as_posix(),
            }
            for row in case_rows
        ]
        atomic_write_text(record_path, json.dumps({"params": params, "rows": relative}))
    table = lesion_frame(rows, source="synthetic cohort")
    write_lesion_table(table, out / "lesions.csv")
    for record in progress_dir.glob("*.json"):
        record.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        progress_dir.rmdir()
    return table


def contact_sheet(
    cases: Sequence[SyntheticCase],
    path: str | Path,
    *,
    columns: int = 4,
    thumb: int = 256,
    outline: bool = True,
) -> None:
    """Write a PNG with downsampled images of ``cases``, lesion outlines in red.

    Parameters
    ----------
    cases : sequence of SyntheticCase
    path : path-like
        Destination PNG (written atomically).
    columns : int
        Thumbnails per row.
    thumb : int
        Edge of each thumbnail in pixels.
    outline : bool
        Draw each lesion's enclosing circle.
    """
    from PIL import Image, ImageDraw

    if not cases:
        raise SynthesisError("contact_sheet needs at least one case")
    for name, value in (("columns", columns), ("thumb", thumb)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SynthesisError(f"{name} must be an integer >= 1, got {value!r}")
    rows = math.ceil(len(cases) / columns)
    sheet = Image.new("RGB", (columns * thumb, rows * thumb))
    for i, case in enumerate(cases):
        im = (
            Image.fromarray(case.mammogram.pixels)
            .convert("RGB")
            .resize((thumb, thumb), Image.Resampling.BILINEAR)
        )
        if outline:
            draw = ImageDraw.Draw(im)
            f = thumb / case.mammogram.shape[1]
            for lesion in case.lesions:
                r = max(lesion.radius * f, 3)
                draw.ellipse(
                    [lesion.x * f - r, lesion.y * f - r, lesion.x * f + r, lesion.y * f + r],
                    outline=(255, 40, 40),
                )
        sheet.paste(im, ((i % columns) * thumb, (i // columns) * thumb))
    _save_png(Path(path), np.asarray(sheet))
